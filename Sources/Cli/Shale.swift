import ArgumentParser

@main
struct Shale: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shale",
        abstract: "Shale: an S3-compatible, erasure-coded, multi-zone object store.",
        subcommands: [Bench.self, LayoutCommand.self]
    )
}
