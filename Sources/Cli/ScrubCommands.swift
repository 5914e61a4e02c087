import AdminAPI
import ArgumentParser
import Foundation
import Node
import Units

struct ScrubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scrub",
        abstract: "Read every shard on every node, check its CRC32C, and rewrite the bad ones from the others.",
        subcommands: [ScrubStartCommand.self, ScrubStatusCommand.self])

    static func render(_ statuses: [ScrubStatus]) -> String {
        let rows = statuses.map { status -> [String] in
            let state = status.running ? "running \(status.shardsTotal == 0 ? 0 : status.shardsChecked * 100 / status.shardsTotal)%"
                : status.passes == 0 ? "never run" : "finished"
            return [String(status.node.prefix(16)), state, status.finishedMillis.map(RebuildRendering.time) ?? "-", String(status.shardsChecked),
                    String(status.chunksChecked), ByteCount(bytes: status.bytesChecked).description, String(status.bad), String(status.repaired),
                    String(status.unrepairable)]
        }
        var lines = TextTable(headers: ["Node", "State", "Finished", "Shards", "Chunks", "Bytes", "Bad", "Repaired", "Unrepairable"], rows: rows).lines
        let findings = statuses.flatMap { status in status.findings.map { (status.node, $0) } }
        if !findings.isEmpty {
            lines += ["", "Findings:"]
            lines += TextTable(headers: ["Node", "Version", "Slot", "Found", "Outcome"],
                               rows: findings.map { [String($0.0.prefix(16)), String($0.1.versionID.prefix(16)), String($0.1.slot), $0.1.state, $0.1.outcome] }).lines
        }
        return lines.joined(separator: "\n")
    }
}

struct ScrubStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start a scrub pass on every reachable node (at each node's scrub_rate_mib_per_second).")

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = try options.client()
        let (statuses, data) = try await client.send(.POST, AdminPath.scrubStart, EmptyBody(), as: [ScrubStatus].self)
        client.output(data) { ScrubCommand.render(statuses) }
    }
}

struct ScrubStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Every reachable node's scrub: shards and chunks checked, bad found, repaired, unrepairable.")

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = try options.client()
        let (statuses, data) = try await client.get(AdminPath.scrub, as: [ScrubStatus].self)
        client.output(data) { ScrubCommand.render(statuses) }
    }
}
