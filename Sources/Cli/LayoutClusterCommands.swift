import AdminAPI
import ArgumentParser
import Foundation
import Placement
import Units

struct LayoutAssign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assign",
        abstract: "Stage a role for one or more nodes: zone, capacity (or gateway), tags.",
        discussion: "NODE is a full id, a unique prefix of one, or ID@HOST:PORT as `shale node id` prints it. Nothing changes until `layout apply`.")

    @OptionGroup var options: ClientOptions
    @Option(name: [.short, .long], help: "Zone (failure domain) of the node(s).")
    var zone: String
    @Option(name: [.short, .long], help: "Storage capacity, e.g. 10G, 2T, 512GiB.")
    var capacity: String?
    @Option(name: [.short, .long], help: "A tag (repeat for several).")
    var tag: [String] = []
    @Flag(name: [.short, .long], help: "Gateway: serves requests, stores nothing.")
    var gateway = false
    @Option(help: "A node leaving the layout whose place the (single) new node takes.")
    var replace: String?
    @Argument(help: "The node(s) to assign.")
    var nodes: [String]

    func validate() throws {
        guard !nodes.isEmpty else { throw ValidationError("name at least one node") }
        if gateway && capacity != nil { throw ValidationError("a gateway (-g) stores nothing: drop -c") }
        if !gateway && capacity == nil { throw ValidationError("give a capacity (-c 10G), or -g for a gateway") }
        if let capacity {
            do { _ = try ByteCount(parsing: capacity) } catch { throw ValidationError("-c: \(error)") }
        }
    }

    func run() async throws {
        let client = try options.client()
        let request = AssignRequest(nodes: nodes, zone: zone, capacity: capacity, gateway: gateway, tags: tag.isEmpty ? nil : tag, replace: replace)
        let (show, data) = try await client.send(.POST, AdminPath.layoutAssign, request, as: LayoutShowDocument.self)
        client.output(data) { "Role change staged. Review it with `shale layout show`.\n\n" + LayoutRender.staged(show) }
    }
}

struct LayoutRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Stage the removal of node(s) from the layout.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "The node(s) to remove.")
    var nodes: [String]

    func validate() throws { guard !nodes.isEmpty else { throw ValidationError("name at least one node") } }

    func run() async throws {
        let client = try options.client()
        let (show, data) = try await client.send(.POST, AdminPath.layoutRemove, RemoveRequest(nodes: nodes), as: LayoutShowDocument.self)
        client.output(data) { "Removal staged. Review it with `shale layout show`.\n\n" + LayoutRender.staged(show) }
    }
}

struct LayoutShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show the current layout, staged changes, and the layout they would give.")
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = try options.client()
        let (show, data) = try await client.get(AdminPath.layout, as: LayoutShowDocument.self)
        client.output(data) { LayoutRender.full(show) }
    }
}

struct LayoutApply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apply", abstract: "Apply the staged changes as the next layout version.")
    @OptionGroup var options: ClientOptions
    @Option(help: "The version to apply: the current one plus 1 (a guard against applying twice).")
    var version: UInt64

    func run() async throws {
        let client = try options.client()
        let (show, data) = try await client.send(.POST, AdminPath.layoutApply, ApplyRequest(version: version), as: LayoutShowDocument.self)
        client.output(data) {
            var text = "New cluster layout (version \(show.currentVersion)) applied."
            if let current = show.current { text += "\n\n" + LayoutRender.report(current, previous: nil, title: "CURRENT CLUSTER LAYOUT (version \(show.currentVersion))") }
            return text
        }
    }
}

struct LayoutRevert: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revert", abstract: "Drop every staged change.")
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = try options.client()
        let (show, data) = try await client.send(.POST, AdminPath.layoutRevert, EmptyBody(), as: LayoutShowDocument.self)
        client.output(data) { "Staged changes dropped; the layout stays at version \(show.currentVersion)." }
    }
}

struct LayoutHistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "List the applied layout versions.")
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = try options.client()
        let (history, data) = try await client.get(AdminPath.layoutHistory, as: LayoutHistoryDocument.self)
        client.output(data) {
            guard !history.versions.isEmpty else { return "No layout applied yet." }
            let rows = history.versions.map { v in
                [String(v.version) + (v.version == history.currentVersion ? " (current)" : ""), v.ec, String(v.zoneCap),
                 String(v.storageNodes), String(v.gatewayNodes), ByteCount(bytes: v.usableCapacityBytes).description]
            }
            return (["==== LAYOUT HISTORY ===="] + TextTable(headers: ["Version", "EC", "Zone cap", "Storage nodes", "Gateways", "Usable capacity"], rows: rows).lines)
                .joined(separator: "\n")
        }
    }
}

struct LayoutConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Stage the erasure code (before the first apply only) or the zone cap.")
    @OptionGroup var options: ClientOptions
    @Option(name: .customLong("ec"), help: "Erasure code K+M, e.g. 4+2 (fixed once a layout is applied).")
    var code: String?
    @Option(name: .customLong("zone-cap"), help: "Most slots one zone may hold in a partition.")
    var zoneCap: Int?

    func validate() throws {
        guard code != nil || zoneCap != nil else { throw ValidationError("give --ec K+M and/or --zone-cap N") }
        if let zoneCap, zoneCap < 1 { throw ValidationError("--zone-cap must be at least 1") }
    }

    func run() async throws {
        let client = try options.client()
        let (show, data) = try await client.send(.POST, AdminPath.layoutConfig, LayoutConfigRequest(ec: code, zoneCap: zoneCap), as: LayoutShowDocument.self)
        client.output(data) { "Layout parameters staged. Review them with `shale layout show`.\n\n" + LayoutRender.staged(show) }
    }
}

/// Renders the admin API's layout documents in the shape of the guide.
enum LayoutRender {
    static func report(_ document: LayoutDocument, previous: LayoutDocument?, title: String) -> String {
        guard let layout = try? document.layout() else { return "==== \(title) ====\n(unreadable layout)" }
        let previousLayout = previous.flatMap { try? $0.layout() }
        var text = LayoutReport(layout: layout, previous: previousLayout).render(title: title)
        // The current layout comes without its predecessor's partitions: the node counted the moves.
        if previousLayout == nil, document.version > 1, let range = text.range(of: "Slots moved:      ", options: .backwards) {
            text = String(text[..<range.lowerBound])
                + "Slots moved:      \(document.slotsMoved) of \(document.partitions.reduce(0) { $0 + $1.count }) from version \(document.version - 1)"
        }
        return text
    }

    static func staged(_ show: LayoutShowDocument) -> String {
        var lines = ["==== STAGED ROLE CHANGES ===="]
        if show.staged.isEmpty && show.stagedCode == nil && show.stagedZoneCap == nil {
            lines.append("(none)")
            return lines.joined(separator: "\n")
        }
        let rows = show.staged.map { change -> [String] in
            let id = String(change.node.prefix(16))
            guard let role = change.role else { return [id, "", "", "REMOVED"] }
            return [id, role.tags.joined(separator: ","), role.zone, role.capacityBytes.map { ByteCount(bytes: $0).description } ?? "gateway"]
        }
        if !rows.isEmpty { lines += TextTable(headers: ["ID", "Tags", "Zone", "Capacity"], rows: rows).lines }
        if let code = show.stagedCode { lines.append("Erasure code: \(code)") }
        if let cap = show.stagedZoneCap { lines.append("Zone cap:     \(cap)") }
        return lines.joined(separator: "\n")
    }

    static func full(_ show: LayoutShowDocument) -> String {
        var parts: [String] = []
        if let current = show.current {
            parts.append(report(current, previous: nil, title: "CURRENT CLUSTER LAYOUT (version \(show.currentVersion))"))
        } else {
            parts.append("==== CURRENT CLUSTER LAYOUT ====\nNo layout applied yet (version 0).")
        }
        let hasStaged = !show.staged.isEmpty || show.stagedCode != nil || show.stagedZoneCap != nil
        guard hasStaged else {
            parts.append("No staged changes. Stage some with `shale layout assign` or `shale layout remove`.")
            return parts.joined(separator: "\n\n")
        }
        parts.append(staged(show))
        let next = show.currentVersion + 1
        if let preview = show.preview {
            parts.append(report(preview, previous: show.current, title: "NEW CLUSTER LAYOUT AFTER APPLYING CHANGES (version \(next))"))
            parts.append("To apply these changes:  shale layout apply --version \(next)\nTo drop them:            shale layout revert")
        } else if let error = show.previewError {
            parts.append("These changes cannot be applied: \(error)")
        }
        return parts.joined(separator: "\n\n")
    }
}
