import AdminAPI
import ArgumentParser
import Foundation
import Node
import Units

struct RebuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Restore and check the cluster's redundancy.",
        discussion: """
        'shale rebuild' starts a rebuild on the node it talks to (or shows the one running): every object \
        whose shards are not all intact on their current owners is rebuilt there, fewest surviving shards \
        first; the job ends with 'rebuild verify'. Applying a layout starts one by itself.
        """,
        subcommands: [RebuildStartCommand.self, RebuildStatusCommand.self, RebuildVerifyCommand.self],
        defaultSubcommand: RebuildStartCommand.self)
}

struct RebuildStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start (or resume) a rebuild; with --dry-run, only report what it would rebuild.")

    @OptionGroup var options: ClientOptions

    @Flag(help: "Plan only: count the objects and bytes to rebuild, and list the unrecoverable ones; write nothing.")
    var dryRun = false

    @Flag(help: "Follow the job with a progress bar until it ends; exit 0 only if it ends fully redundant.")
    var follow = false

    func run() async throws {
        let client = try options.client()
        // A dry run walks every row of the cluster before it answers.
        let data = try await client.call(.POST, AdminPath.rebuildStart, body: RebuildStartRequest(dryRun: dryRun), timeout: .hours(24))
        let status = try client.decode(RebuildStatus.self, data)
        if dryRun {
            client.output(data) { RebuildRendering.dryRun(status) }
            return
        }
        try await RebuildRendering.show(status, data, client: client, follow: follow && !options.json)
    }
}

struct RebuildStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the rebuild job: partitions and objects done, bytes restored, throughput, ETA, errors, unrecoverable objects.")

    @OptionGroup var options: ClientOptions

    @Flag(help: "Redraw a progress bar until the job ends; exit 0 only if it ends fully redundant.")
    var follow = false

    func run() async throws {
        let client = try options.client()
        let (status, data) = try await client.get(AdminPath.rebuild, as: RebuildStatus.self)
        try await RebuildRendering.show(status, data, client: client, follow: follow && !options.json)
    }
}

/// `shale rebuild verify`: every live object version's every shard read on
/// its holder, header and CRCs checked. Exit 0 only when all are intact.
struct RebuildVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that every shard of every object is intact on its current owner; exit 0 only when the cluster is fully redundant.")

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
        let when = RebuildRendering.time(report.checkedAtMillis)
        let size = ByteCount(bytes: report.bytes).description
        guard !report.fullyRedundant else {
            return "fully redundant as of \(when): \(report.objects) objects, \(size), \(report.shards) shards intact"
        }
        var lines = ["NOT fully redundant as of \(when): \(report.problems.count) of \(report.shards) shards missing, damaged or misplaced "
                     + "in \(report.objects) objects (\(size)); \(report.unrecoverable) with fewer than k shards left"]
        let rows = report.problems.prefix(1000).map { [$0.bucket, $0.key, String($0.versionID.prefix(16)), String($0.slot), String($0.node.prefix(16)), $0.state] }
        lines += TextTable(headers: ["Bucket", "Key", "Version", "Slot", "Node", "State"], rows: Array(rows)).lines
        if report.problems.count > 1000 { lines.append("… and \(report.problems.count - 1000) more (--json lists all)") }
        return lines.joined(separator: "\n")
    }
}

enum RebuildRendering {
    static func time(_ millis: UInt64) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    static func size(_ bytes: UInt64) -> String { ByteCount(bytes: bytes).description }

    static func dryRun(_ status: RebuildStatus) -> String {
        var lines = ["Dry run under layout version \(status.layoutVersion): nothing written."]
        if status.objectsTotal == 0 {
            lines.append("Nothing to rebuild: every object's shards are intact on their current owners (as far as a header check tells; 'shale rebuild verify' reads them).")
        } else {
            lines.append("Would rebuild \(status.objectsTotal - status.unrecoverableCount) objects in \(status.partitionsTotal) partitions: "
                         + "\(size(status.bytesTotal)) of shards to write.")
        }
        lines += unrecoverable(status)
        return lines.joined(separator: "\n")
    }

    static func summary(_ status: RebuildStatus) -> String {
        guard status.phase != .idle else { return "No rebuild has run on this node since its journal began." }
        var lines = ["Rebuild on \(status.node.prefix(16)) (\(status.reason ?? "by hand")), layout version \(status.layoutVersion): \(status.phase.rawValue)"]
        if let started = status.startedMillis { lines.append("  started:     \(time(started))") }
        if let finished = status.finishedMillis { lines.append("  finished:    \(time(finished))") }
        lines.append("  partitions:  \(status.partitionsDone) / \(status.partitionsTotal) done")
        lines.append("  objects:     \(status.objectsDone) / \(status.objectsTotal) done")
        lines.append("  bytes:       \(size(status.bytesRestored)) restored; \(size(status.bytesRemaining)) of \(size(status.bytesTotal)) left")
        if status.isRunning {
            let eta = status.etaSeconds.map { "ETA \(Int($0.rounded()))s" } ?? "ETA unknown"
            lines.append("  throughput:  \(size(UInt64(status.throughputBytesPerSecond)))/s, \(eta)")
        }
        lines.append("  errors:      \(status.errors)\(status.lastError.map { " (last: \($0))" } ?? "")")
        if let verify = status.verify {
            lines.append(verify.fullyRedundant
                ? "  verified:    fully redundant as of \(time(verify.checkedAtMillis)): \(verify.objects) objects, \(size(verify.bytes))"
                : "  verified:    NOT fully redundant as of \(time(verify.checkedAtMillis)): \(verify.problems) shards missing, damaged or misplaced")
        }
        lines += unrecoverable(status)
        return lines.joined(separator: "\n")
    }

    static func unrecoverable(_ status: RebuildStatus) -> [String] {
        guard status.unrecoverableCount > 0 else { return [] }
        var lines = ["", "\(status.unrecoverableCount) unrecoverable (fewer than k shards left anywhere):"]
        lines += TextTable(headers: ["Bucket", "Key", "Version", "Shards left"],
                           rows: status.unrecoverable.map { [$0.bucket, $0.key, String($0.versionID.prefix(16)), String($0.surviving)] }).lines
        if status.unrecoverableCount > status.unrecoverable.count {
            lines.append("… and \(status.unrecoverableCount - status.unrecoverable.count) more")
        }
        return lines
    }

    /// The summary (or the JSON with --json), or with `follow` the bar until the job ends.
    static func show(_ status: RebuildStatus, _ data: Data, client: AdminClient, follow following: Bool) async throws {
        if following { try await follow(client) } else { client.output(data) { summary(status) } }
    }

    /// A bar redrawn every second until the job leaves its running phases.
    static func follow(_ client: AdminClient) async throws {
        let terminal = isatty(STDOUT_FILENO) != 0
        while true {
            let (status, _) = try await client.get(AdminPath.rebuild, as: RebuildStatus.self)
            let fraction = status.objectsTotal == 0 ? (status.isRunning ? 0 : 1) : Double(status.objectsDone) / Double(status.objectsTotal)
            let width = 30
            let filled = Int((fraction * Double(width)).rounded(.down))
            let eta = status.etaSeconds.map { " ETA \(Int($0.rounded()))s" } ?? ""
            let line = "[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] "
                + "\(status.phase.rawValue) \(status.objectsDone)/\(status.objectsTotal) objects, \(size(status.bytesRestored)) restored, "
                + "\(size(UInt64(status.throughputBytesPerSecond)))/s\(eta), \(status.errors) errors"
            if terminal { print("\r\u{1B}[K" + line, terminator: "") } else { print(line) }
            fflush(nil)
            if !status.isRunning {
                if terminal { print("") }
                print(summary(status))
                if status.phase != .done { throw ExitCode(1) }
                return
            }
            try await Task.sleep(nanoseconds: 1_000_000_000)
        }
    }
}
