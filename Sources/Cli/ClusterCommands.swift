import AdminAPI
import ArgumentParser
import Foundation
import Units

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "List the cluster's nodes: healthy ones, with their role, and failed ones, with when they were last seen.")

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = try options.client()
        let (status, data) = try await client.get(AdminPath.status, as: StatusDocument.self)
        client.output(data) { Self.render(status) }
    }

    static func render(_ status: StatusDocument) -> String {
        let anyRole = status.nodes.contains { $0.role != nil }
        var lines = ["==== HEALTHY NODES ===="]
        var headers = ["ID", "Hostname", "Address", "Tags", "Zone", "Capacity"]
        if anyRole { headers += ["DataAvail", "Shards"] }
        let healthy = status.nodes.filter(\.healthy).map { node -> [String] in
            var row = roleCells(node)
            if anyRole {
                row.append(node.role != nil ? node.dataAvailableBytes.map { ByteCount(bytes: $0).description } ?? "?" : "")
                // Disk used by the node's shard files (counted every minute; "?" until the first count).
                row.append(node.shardBytes.map { ByteCount(bytes: $0).description } ?? "?")
            }
            return row
        }
        lines += TextTable(headers: headers, rows: healthy).lines
        let failed = status.nodes.filter { !$0.healthy }
        if !failed.isEmpty {
            lines += ["", "==== FAILED NODES ===="]
            let rows = failed.map { node in roleCells(node) + [node.lastSeenSecondsAgo.map(Self.ago) ?? "never seen"] }
            lines += TextTable(headers: ["ID", "Hostname", "Address", "Tags", "Zone", "Capacity", "Last seen"], rows: rows).lines
        }
        lines += ["", "==== PARTITIONS ===="]
        if let now = status.availability {
            lines.append("By the nodes answering now: \(now.full) full, \(now.degraded) degraded (readable, some owners down), "
                         + "\(now.unavailable) unavailable (fewer than k owners up)")
        }
        if let health = status.partitions {
            let when = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(health.checkedAtMillis) / 1000))
            let degraded = health.degraded.values.reduce(0, +)
            lines.append("As of the last 'shale rebuild verify' on this node (\(when)):")
            lines.append("  full redundancy: \(health.full)")
            let detail = health.degraded.sorted { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) }
                .map { "\($0.value) short by \($0.key) shard\($0.key == "1" ? "" : "s")" }.joined(separator: ", ")
            lines.append("  degraded:        \(degraded)\(detail.isEmpty ? "" : " (\(detail))")")
            lines.append("  unavailable:     \(health.unavailable)")
        } else {
            lines.append("Not checked since this node started: run 'shale rebuild verify'.")
        }
        return lines.joined(separator: "\n")
    }

    static func roleCells(_ node: NodeStatusDocument) -> [String] {
        let start = [String(node.id.prefix(16)), node.hostname.isEmpty ? "?" : node.hostname, node.address.isEmpty ? "?" : node.address]
        guard let role = node.role else { return start + ["", "NO ROLE ASSIGNED", ""] }
        return start + [role.tags.joined(separator: ","), role.zone, role.capacityBytes.map { ByteCount(bytes: $0).description } ?? "gateway"]
    }

    static func ago(_ seconds: Double) -> String {
        let s = Int(seconds)
        if s < 120 { return "\(s)s ago" }
        if s < 7200 { return "\(s / 60)m ago" }
        if s < 172_800 { return "\(s / 3600)h ago" }
        return "\(s / 86400)d ago"
    }
}

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "This node's identity, and connecting nodes.",
        subcommands: [NodeIDCommand.self, NodeConnectCommand.self])
}

struct NodeIDCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "id", abstract: "Print this node's id as ID@HOST:PORT, the form `node connect` and `layout assign` take.")

    @OptionGroup var options: ClientOptions
    @Flag(name: .short, help: "Print only the id line, no hints.")
    var quiet = false

    func run() async throws {
        let client = try options.client()
        let (node, data) = try await client.get(AdminPath.nodeID, as: NodeIDDocument.self)
        client.output(data) { node.connectString }
        if !quiet && !options.json {
            StandardError.print("""

            To connect another node to this one, run there:
                shale node connect \(node.connectString)
            To give this node a role:
                shale layout assign -z ZONE -c CAPACITY \(node.id.prefix(16))
            """)
        }
    }
}

struct NodeConnectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect", abstract: "Connect this node to another one, given as ID@HOST:PORT (from `shale node id` there).")

    @OptionGroup var options: ClientOptions
    @Argument(help: "The other node, as ID@HOST:PORT.")
    var node: String

    func run() async throws {
        let client = try options.client()
        let (peer, data) = try await client.send(.POST, AdminPath.nodeConnect, ConnectRequest(node: node), as: NodeIDDocument.self)
        client.output(data) { "Success. Node \(peer.id.prefix(16)) at \(peer.address) is connected." }
    }
}
