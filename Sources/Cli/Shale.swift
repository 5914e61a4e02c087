import ArgumentParser

@main
struct Shale: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shale",
        abstract: "Shale: an S3-compatible, erasure-coded, multi-zone object store.",
        subcommands: [ServerCommand.self, StatusCommand.self, NodeCommand.self, LayoutCommand.self,
                      BucketCommand.self, KeyCommand.self, RebuildCommand.self, ScrubCommand.self, Bench.self,
                      AdminTokenCommand.self, CompletionsCommand.self]
    )
}
