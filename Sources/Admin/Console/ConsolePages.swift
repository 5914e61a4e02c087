import AdminAPI
import ClusterModel
import Foundation
import Hummingbird
import Node
import Placement
import Units

/// The bodies of the console's pages (`render` puts them in the page), each from the same documents the admin API answers.
extension AdminConsole {
    typealias H = ConsoleHTML

    /// A whole page around `body`, with the message or error a redirect carried.
    func render(_ page: String, _ request: Request, body: String, error: String? = nil) -> String {
        let title = ConsoleHTML.pages.first { $0.path == page }?.title ?? page
        return H.page(page, title: title, node: node.id.shortForm, message: request.uri.queryParameters.get("msg"),
                      error: error ?? request.uri.queryParameters.get("err"), body: body)
    }

    func clusterBody() async -> String {
        let status = await handlers.statusDocument()
        var zones: [String: [NodeStatusDocument]] = [:]
        for node in status.nodes { zones[node.role?.zone ?? "", default: []].append(node) }
        var body = "<p class=\"summary\">Layout version <b id=\"layout-version\">\(status.layoutVersion)</b> · "
            + "<span id=\"nodes-healthy\">\(status.nodes.filter(\.healthy).count)</span> of \(status.nodes.count) nodes healthy"
        if let availability = status.availability {
            body += " · partitions: \(availability.full) full, \(availability.degraded) degraded, \(availability.unavailable) unavailable"
        }
        body += "</p>"
        for zone in zones.keys.sorted(by: { ($0.isEmpty ? "~" : $0) < ($1.isEmpty ? "~" : $1) }) {
            let nodes = zones[zone]!.sorted { $0.id < $1.id }
            body += "<section class=\"zone\" data-zone=\"\(H.escape(zone))\"><h2>\(zone.isEmpty ? "No role assigned" : "Zone " + H.escape(zone))</h2>"
            body += H.table(["", "Node", "Hostname", "Address", "Capacity", "Shards on disk", "Disk available", "Last seen"], nodes.map { node in
                let capacity = node.role.map { $0.capacityBytes.map { H.bytes($0) } ?? "gateway" } ?? "—"
                let seen = node.isSelf ? "this node" : node.lastSeenSecondsAgo.map { String(format: "%.0f s ago", $0) } ?? "never"
                return ["<span class=\"dot \(node.healthy ? "up" : "down")\" title=\"\(node.healthy ? "healthy" : "failed")\"></span>",
                        "<code class=\"node-id\">\(H.escape(String(node.id.prefix(16))))</code>", H.escape(node.hostname), H.escape(node.address),
                        capacity, H.bytes(node.shardBytes), H.bytes(node.dataAvailableBytes), H.escape(seen)]
            })
            body += "</section>"
        }
        body += """
            <section><h2>S3 traffic on this node</h2><p class="hint">Requests per second and mean time to the response head, \
            sampled every 2 s while this page is open.</p>
            <svg id="chart" viewBox="0 0 600 160" role="img" aria-label="requests per second and latency">
            <polyline id="chart-rate" class="rate" points=""/><polyline id="chart-latency" class="latency" points=""/></svg>
            <p class="legend"><span class="rate">requests/s: <b id="rate-now">–</b></span> \
            <span class="latency">mean latency: <b id="latency-now">–</b> ms</span> \
            <span>errors/s: <b id="errors-now">–</b></span></p></section>
            """
        return body
    }

    func layoutBody(_ session: ConsoleSessions.Session, _ caller: AdminCaller) async -> String {
        let layout = await handlers.layoutShowDocument()
        var body = ""
        if let current = layout.current {
            body += "<section id=\"current\"><h2>Current: version \(current.version)</h2>" + summary(current)
            body += H.table(["Node", "Zone", "Capacity", "Partition slots"], current.nodes.map {
                ["<code>\(H.escape(String($0.id.prefix(16))))</code>", H.escape($0.zone), $0.capacityBytes.map { H.bytes($0) } ?? "gateway", "\($0.slots)"]
            }) + "</section>"
        } else {
            body += "<p>No layout applied yet: stage roles below, then apply version 1.</p>"
        }
        body += "<section id=\"staged\"><h2>Staged changes</h2>"
        if layout.staged.isEmpty && layout.stagedCode == nil && layout.stagedZoneCap == nil {
            body += "<p>Nothing staged.</p>"
        } else {
            body += H.table(["Node", "Change", "Zone", "Capacity"], layout.staged.map {
                ["<code>\(H.escape(String($0.node.prefix(16))))</code>", H.escape($0.change), H.escape($0.role?.zone ?? ""),
                 $0.role.map { $0.capacityBytes.map { H.bytes($0) } ?? "gateway" } ?? ""]
            }, id: "staged-table")
            if let code = layout.stagedCode { body += "<p>Erasure code: \(H.escape(code))</p>" }
            if let cap = layout.stagedZoneCap { body += "<p>Zone cap: \(H.escape(cap))</p>" }
            if let preview = layout.preview {
                body += "<div id=\"preview\"><h3>Preview of version \(preview.version)</h3>" + summary(preview)
                    + "<p>Partition slots moved: <b id=\"slots-moved\">\(preview.slotsMoved)</b></p></div>"
                body += H.form("/ui/layout/apply", csrf: session.csrf, id: "apply", class: "inline",
                               H.hidden("version", "\(layout.currentVersion + 1)"), button: "Apply version \(layout.currentVersion + 1)")
            }
            if let error = layout.previewError { body += "<p class=\"error\" id=\"preview-error\">\(H.escape(error))</p>" }
            body += H.form("/ui/layout/revert", csrf: session.csrf, id: "revert", class: "inline", "", button: "Revert staged changes")
        }
        body += "</section><section><h2>Stage a role</h2>"
        let nodes = caller.allows(.getClusterStatus) ? await node.nodeViews() : []
        let options = nodes.sorted { $0.id < $1.id }.map { view in
            "<option value=\"\(H.escape(view.id.rawValue))\">\(H.escape(view.id.shortForm)) \(H.escape(view.hostname)) \(view.role.map { "(" + H.escape($0.zone.rawValue) + ")" } ?? "(no role)")</option>"
        }.joined()
        body += H.form("/ui/layout/assign", csrf: session.csrf, id: "assign",
                       (nodes.isEmpty ? "<label>Node id <input name=\"node\" id=\"assign-node\" required></label>"
                        : "<label>Node <select name=\"node\" id=\"assign-node\">\(options)</select></label>")
                       + "<label>Zone <input name=\"zone\" id=\"assign-zone\" required></label>"
                       + "<label>Capacity <input name=\"capacity\" id=\"assign-capacity\" placeholder=\"10G\" required></label>",
                       button: "Stage")
        body += "</section>"
        return body
    }

    func summary(_ layout: LayoutDocument) -> String {
        let zones = Set(layout.nodes.map(\.zone)).count
        return "<p class=\"summary\">Erasure code \(layout.ec.k)+\(layout.ec.m) · \(layout.nodes.count) nodes in \(zones) zone\(zones == 1 ? "" : "s") · "
            + "usable capacity <b class=\"usable\">\(H.bytes(layout.usableCapacityBytes))</b> · survives the loss of "
            + "<b class=\"node-tolerance\">\(layout.nodeTolerance)</b> node\(layout.nodeTolerance == 1 ? "" : "s") or "
            + "<b class=\"zone-tolerance\">\(layout.zoneTolerance)</b> zone\(layout.zoneTolerance == 1 ? "" : "s")</p>"
    }

    func partitionsBody() async -> String {
        let status = await handlers.statusDocument()
        var body = ""
        if let availability = status.availability {
            body += "<p class=\"summary\">By the nodes answering now: <span class=\"p-full\">full <b id=\"count-full\">\(availability.full)</b></span> "
                + "<span class=\"p-degraded\">degraded <b id=\"count-degraded\">\(availability.degraded)</b></span> "
                + "<span class=\"p-unavailable\">unavailable <b id=\"count-unavailable\">\(availability.unavailable)</b></span></p>"
            body += "<div class=\"partition-map\" id=\"partition-map\">"
            for (index, letter) in availability.map.enumerated() {
                let state = letter == "f" ? "full" : letter == "d" ? "degraded" : "unavailable"
                body += "<div class=\"p-\(state)\" id=\"p-\(index)\" title=\"partition \(index): \(state)\"></div>"
            }
            body += "</div><p class=\"hint\">Full: every owner of the partition answers. Degraded: at least k do, so its objects "
                + "read and rebuild. Unavailable: fewer than k. Refreshed every 2 s.</p>"
        } else {
            body += "<p>No layout applied yet.</p>"
        }
        if let verified = status.partitions {
            let when = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(verified.checkedAtMillis) / 1000))
            body += "<section><h2>Last shard check on this node (\(H.escape(when)))</h2><p>Full redundancy: \(verified.full); degraded: "
                + "\(verified.degraded.values.reduce(0, +)); unavailable: \(verified.unavailable).</p></section>"
        }
        return body
    }

    func bucketsBody(_ session: ConsoleSessions.Session, _ caller: AdminCaller, secret: (String, String)? = nil) async -> String {
        let state = await node.state
        var body = ""
        if let (id, value) = secret {
            body += "<section class=\"secret\" id=\"new-key\"><h2>New key</h2><p>Access key ID: <code id=\"new-key-id\">\(H.escape(id))</code></p>"
                + "<p>Secret access key: <code id=\"new-key-secret\">\(H.escape(value))</code></p>"
                + "<p class=\"hint\">Copy the secret now: it is shown this once here.</p></section>"
        }
        let buckets = state.liveBuckets.values.sorted { $0.name < $1.name }
        body += "<section><h2>Buckets</h2>"
        // Each part shows only what the token's scope may read through the API.
        let showGrants = caller.allows(.getBucketInfo), showKeys = caller.allows(.listKeys)
        body += H.table(["Bucket", "Created", showGrants ? "Keys allowed" : "", ""], buckets.map { bucket in
            let grants = !showGrants ? [] : state.grants(on: bucket.id).map {
                "\(H.escape($0.key.name)) (\($0.permissions.sorted().map(\.rawValue).joined(separator: ",")))"
            }
            return ["<span class=\"bucket-name\">\(H.escape(bucket.name.rawValue))</span>", AdminHandlers.iso(bucket.createdMillis),
                    grants.joined(separator: "<br>"),
                    H.form("/ui/buckets/delete", csrf: session.csrf, class: "inline", H.hidden("name", bucket.name.rawValue), button: "Delete")]
        }, id: "buckets")
        body += H.form("/ui/buckets/create", csrf: session.csrf, id: "create-bucket",
                       "<label>New bucket <input name=\"name\" id=\"bucket-name\" required></label>", button: "Create bucket")
        guard showKeys else {
            body += "</section><p class=\"hint\" id=\"keys-hidden\">Access keys are not shown: this token's scope does not include ListKeys.</p>"
            return body
        }
        body += "</section><section><h2>Access keys</h2>"
        body += H.table(["Key", "Name", "Created", ""], state.liveKeys.map { key in
            ["<code>\(H.escape(key.id.rawValue))</code>", "<span class=\"key-name\">\(H.escape(key.name))</span>", AdminHandlers.iso(key.createdMillis),
             H.form("/ui/keys/delete", csrf: session.csrf, class: "inline", H.hidden("key", key.id.rawValue), button: "Delete")]
        }, id: "keys")
        body += H.form("/ui/keys/create", csrf: session.csrf, id: "create-key",
                       "<label>New key name <input name=\"name\" id=\"key-name\" required></label>", button: "Create key")
        body += "</section><section><h2>Allow or deny</h2>"
        let bucketOptions = buckets.map { "<option>\(H.escape($0.name.rawValue))</option>" }.joined()
        let keyOptions = state.liveKeys.map { "<option value=\"\(H.escape($0.id.rawValue))\">\(H.escape($0.name))</option>" }.joined()
        body += H.form("/ui/buckets/permissions", csrf: session.csrf, id: "permissions",
                       "<label>Bucket <select name=\"bucket\" id=\"perm-bucket\">\(bucketOptions)</select></label>"
                       + "<label>Key <select name=\"key\" id=\"perm-key\">\(keyOptions)</select></label>"
                       + "<label><input type=\"checkbox\" name=\"read\" id=\"perm-read\"> read</label>"
                       + "<label><input type=\"checkbox\" name=\"write\" id=\"perm-write\"> write</label>"
                       + "<label><input type=\"checkbox\" name=\"owner\" id=\"perm-owner\"> owner</label>"
                       + "<label>Action <select name=\"action\" id=\"perm-action\"><option>allow</option><option>deny</option></select></label>",
                       button: "Apply")
        body += "</section>"
        return body
    }

    func maintenanceBody(_ session: ConsoleSessions.Session, _ caller: AdminCaller) async -> String {
        let rebuild = await handlers.maintenance.rebuildStatus()
        let scrub = caller.allows(.getScrubStatus) ? await handlers.maintenance.scrubStatus() : []
        var body = "<section id=\"rebuild\"><h2>Rebuild on this node</h2>"
            + "<p>Phase: <b id=\"rebuild-phase\">\(H.escape(rebuild.phase.rawValue))</b>"
            + "\(rebuild.reason.map { " · " + H.escape($0) } ?? "")</p>"
            + "<p><label>Partitions <progress id=\"rebuild-partitions\" max=\"\(max(1, rebuild.partitionsTotal))\" value=\"\(rebuild.partitionsDone)\"></progress></label> "
            + "<span id=\"rebuild-partitions-text\">\(rebuild.partitionsDone) / \(rebuild.partitionsTotal)</span></p>"
            + "<p><label>Bytes <progress id=\"rebuild-bytes\" max=\"\(max(1, rebuild.bytesTotal))\" value=\"\(rebuild.bytesTotal - rebuild.bytesRemaining)\"></progress></label> "
            + "<span id=\"rebuild-bytes-text\">\(H.bytes(rebuild.bytesRestored)) restored</span></p>"
            + H.form("/ui/maintenance/rebuild", csrf: session.csrf, class: "inline", "", button: "Start a rebuild")
            + "</section><section id=\"scrub\"><h2>Scrub</h2>"
        body += H.table(["Node", "Running", "Progress", "Bad", "Repaired"], scrub.map { status in
            ["<code>\(H.escape(String(status.node.prefix(16))))</code>", status.running ? "yes" : "no",
             "<progress class=\"scrub-progress\" max=\"\(max(1, status.shardsTotal))\" value=\"\(status.shardsChecked)\"></progress> \(status.shardsChecked) / \(status.shardsTotal)",
             "\(status.bad)", "\(status.repaired)"]
        }, id: "scrub-table")
        body += H.form("/ui/maintenance/scrub", csrf: session.csrf, class: "inline", "", button: "Start a scrub pass") + "</section>"
        return body
    }
}
