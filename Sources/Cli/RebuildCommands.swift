import AdminAPI
import ArgumentParser
import Foundation
import Node
import Units

struct RebuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Restore and check the cluster's redundancy.",
        subcommands: [RebuildVerifyCommand.self])
}

/// `shale rebuild verify`: every live object version's every shard read on
/// its holder, header and CRCs checked. Exit 0 only when all are intact.
struct RebuildVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that every shard of every object is on its node and intact; exit 0 only when the cluster is fully redundant.")

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = try options.client()
        // Reading every shard of the cluster takes as long as it takes: no 30 s limit here.
        let data = try await client.call(.POST, AdminPath.rebuildVerify, timeout: .hours(24))
        let report = try client.decode(RedundancyReport.self, data)
        client.output(data) { Self.render(report) }
        if !report.fullyRedundant { throw ExitCode(1) }
    }

    static func render(_ report: RedundancyReport) -> String {
        let when = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(report.checkedAtMillis) / 1000))
        let size = ByteCount(bytes: report.bytes).description
        guard !report.fullyRedundant else {
            return "fully redundant as of \(when): \(report.objects) objects, \(size), \(report.shards) shards intact"
        }
        var lines = ["NOT fully redundant as of \(when): \(report.problems.count) of \(report.shards) shards missing or damaged "
                     + "in \(report.objects) objects (\(size)); \(report.unrecoverable) with fewer than k shards left"]
        let rows = report.problems.prefix(1000).map { [$0.bucket, $0.key, String($0.versionID.prefix(16)), String($0.slot), String($0.node.prefix(16)), $0.state] }
        lines += TextTable(headers: ["Bucket", "Key", "Version", "Slot", "Node", "State"], rows: Array(rows)).lines
        if report.problems.count > 1000 { lines.append("… and \(report.problems.count - 1000) more (--json lists all)") }
        return lines.joined(separator: "\n")
    }
}
