import AdminAPI
import ArgumentParser
import Foundation
import LayoutPlanner
import Units

/// What the Helm chart's layout Job runs after an install or a scale-up:
/// the guide's `layout assign` for every node that has no role yet, with
/// zones from the pods' ordinals, then `layout apply` of the next version.
struct LayoutAutoAssign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auto-assign",
        abstract: "Stage a role for every healthy node without one (zone by pod ordinal), and apply with --apply.",
        discussion: """
            A node's zone is ZONES[n % count] where n ends its hostname (a StatefulSet pod, `shale-4`); nodes \
            whose hostname ends in no number follow in id order. Nodes with a role are left alone. With --wait-for N \
            it first waits (up to --timeout seconds) until this node sees N healthy nodes.
            """)

    @OptionGroup var options: ClientOptions
    @Option(help: "Zones, comma-separated, e.g. dc1,dc2,dc3.")
    var zones: String
    @Option(name: [.short, .long], help: "Storage capacity of each new node, e.g. 100G.")
    var capacity: String
    @Option(name: .customLong("wait-for"), help: "Wait until this many nodes are healthy first.")
    var waitFor: Int?
    @Option(help: "Seconds to wait for --wait-for.")
    var timeout: Int = 300
    @Option(name: .customLong("ec"), help: "Erasure code K+M of the first layout (ignored once a layout is applied).")
    var code: String?
    @Flag(help: "Apply the staged changes as the next layout version.")
    var apply = false

    var zoneList: [String] { zones.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }

    func validate() throws {
        guard !zoneList.isEmpty else { throw ValidationError("--zones names no zone") }
        do { _ = try ByteCount(parsing: capacity) } catch { throw ValidationError("-c: \(error)") }
        if let waitFor, waitFor < 1 { throw ValidationError("--wait-for must be at least 1") }
    }

    func run() async throws {
        let client = try options.client()
        var status = try await client.get(AdminPath.status, as: StatusDocument.self).0
        if let waitFor {
            let deadline = Date().addingTimeInterval(TimeInterval(timeout))
            while status.nodes.filter(\.healthy).count < waitFor {
                guard Date() < deadline else {
                    throw CommandFailure("only \(status.nodes.filter(\.healthy).count) of \(waitFor) nodes healthy after \(timeout) s")
                }
                try await Task.sleep(nanoseconds: 1_000_000_000)
                status = try await client.get(AdminPath.status, as: StatusDocument.self).0
            }
        }
        var staged = try await client.get(AdminPath.layout, as: LayoutShowDocument.self).0
        var lines: [String] = []
        if let code, staged.currentVersion == 0, staged.stagedCode != code {
            staged = try await client.send(.POST, AdminPath.layoutConfig, LayoutConfigRequest(ec: code, zoneCap: nil), as: LayoutShowDocument.self).0
            lines.append("erasure code \(code) staged for the first layout")
        }
        let alreadyStaged = Set(staged.staged.map(\.node))
        let newcomers = status.nodes.filter { $0.healthy && $0.role == nil && !alreadyStaged.contains($0.id) }
        let chosen = AutoAssignment.zones(for: newcomers.map { AutoAssignment.Node(id: $0.id, hostname: $0.hostname) }, zones: zoneList)
        for zone in Set(chosen.values).sorted() {
            let nodes = chosen.filter { $0.value == zone }.map(\.key).sorted()
            let request = AssignRequest(nodes: nodes, zone: zone, capacity: capacity, gateway: false, tags: nil, replace: nil)
            _ = try await client.send(.POST, AdminPath.layoutAssign, request, as: LayoutShowDocument.self)
            for node in nodes {
                let host = newcomers.first { $0.id == node }?.hostname ?? ""
                lines.append("\(String(node.prefix(16)))  \(host)  zone \(zone)  capacity \(capacity)")
            }
        }
        var report = lines.isEmpty ? "Every healthy node has a role: nothing staged." : "Roles staged:\n" + lines.joined(separator: "\n")
        var document = try await client.get(AdminPath.layout, as: LayoutShowDocument.self)
        if apply, !document.0.staged.isEmpty || document.0.stagedCode != nil || document.0.stagedZoneCap != nil {
            let version = document.0.currentVersion + 1
            document = try await client.send(.POST, AdminPath.layoutApply, ApplyRequest(version: version), as: LayoutShowDocument.self)
            report += "\nNew cluster layout (version \(version)) applied."
        } else if apply {
            report += "\nNothing staged: the layout stays at version \(document.0.currentVersion)."
        }
        client.output(document.1) { report }
    }
}
