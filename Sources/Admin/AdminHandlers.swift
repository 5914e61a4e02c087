import AdminAPI
import ClusterModel
import Erasure
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Node
import Placement
import Units

/// One function per admin operation; each decodes, calls the node, encodes.
struct AdminHandlers: Sendable {
    let node: any ClusterAdministration
    let objects: any ObjectStore
    let maintenance: any MaintenanceControl
    let metrics: AdminMetrics
    let limiter: AuthFailureLimiter

    func register(on router: Router<AdminContext>) {
        router.get(RouterPath(stringLiteral: AdminPath.health)) { _, _ in await health() }
        router.get(RouterPath(stringLiteral: AdminPath.metrics)) { _, _ in
            var fields = HTTPFields()
            fields[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: await metrics.render(node: node, limiter: limiter))))
        }
        router.get(RouterPath(stringLiteral: AdminPath.status)) { _, _ in await status() }
        router.get(RouterPath(stringLiteral: AdminPath.nodeID)) { _, _ in
            jsonResponse(NodeIDDocument(id: node.id.rawValue, address: node.config.advertisedRPCAddr.description))
        }
        router.post(RouterPath(stringLiteral: AdminPath.nodeConnect)) { request, context in
            try await run(request, context, ConnectRequest.self) { body throws(NodeError) in
                let peer = try await node.connect(body.node)
                return jsonResponse(NodeIDDocument(id: peer.id.rawValue, address: peer.address.description))
            }
        }
        router.get(RouterPath(stringLiteral: AdminPath.layout)) { _, _ in await layoutShow() }
        router.get(RouterPath(stringLiteral: AdminPath.layoutHistory)) { _, _ in await layoutHistory() }
        router.post(RouterPath(stringLiteral: AdminPath.layoutAssign)) { request, context in
            try await run(request, context, AssignRequest.self) { body throws(NodeError) in
                try await node.layoutAssign(nodes: body.nodes, role: try Self.role(from: body), replace: body.replace)
                return await layoutShow()
            }
        }
        router.post(RouterPath(stringLiteral: AdminPath.layoutRemove)) { request, context in
            try await run(request, context, RemoveRequest.self) { body throws(NodeError) in
                guard !body.nodes.isEmpty else { throw .invalidRequest("name at least one node") }
                try await node.layoutRemove(nodes: body.nodes)
                return await layoutShow()
            }
        }
        router.post(RouterPath(stringLiteral: AdminPath.layoutApply)) { request, context in
            try await run(request, context, ApplyRequest.self) { body throws(NodeError) in
                if let warning = try await applyLayout(version: body.version) { return jsonError(.serviceUnavailable, code: "Unavailable", warning) }
                return await layoutShow()
            }
        }
        router.post(RouterPath(stringLiteral: AdminPath.layoutRevert)) { request, context in
            try await run(request, context, EmptyRequest.self) { _ throws(NodeError) in
                try await node.layoutRevert()
                return await layoutShow()
            }
        }
        router.post(RouterPath(stringLiteral: AdminPath.layoutConfig)) { request, context in
            try await run(request, context, LayoutConfigRequest.self) { body throws(NodeError) in
                var code: ErasureCode?
                if let ec = body.ec {
                    do { code = try ErasureCode(parsing: ec) } catch { throw .invalidRequest("--ec: \(error)") }
                }
                guard code != nil || body.zoneCap != nil else { throw .invalidRequest("give --ec K+M and/or --zone-cap N") }
                try await node.layoutConfig(code: code, zoneCap: body.zoneCap)
                return await layoutShow()
            }
        }
        router.post(RouterPath(stringLiteral: AdminPath.rebuildVerify)) { _, _ in
            do throws(ObjectError) { return jsonResponse(try await maintenance.verifyRedundancy()) } catch {
                return jsonError(.serviceUnavailable, code: "Unavailable", error.description)
            }
        }
        router.get(RouterPath(stringLiteral: AdminPath.rebuild)) { _, _ in jsonResponse(await maintenance.rebuildStatus()) }
        router.post(RouterPath(stringLiteral: AdminPath.rebuildStart)) { request, context in
            try await run(request, context, RebuildStartRequest.self) { body throws(NodeError) in
                do throws(ObjectError) {
                    return jsonResponse(try await maintenance.startRebuild(dryRun: body.dryRun, reason: body.dryRun ? "dry run" : "started by hand"))
                } catch {
                    return jsonError(.serviceUnavailable, code: "Unavailable", error.description)
                }
            }
        }
        router.get(RouterPath(stringLiteral: AdminPath.scrub)) { _, _ in jsonResponse(await maintenance.scrubStatus()) }
        router.post(RouterPath(stringLiteral: AdminPath.scrubStart)) { request, context in
            try await run(request, context, EmptyRequest.self) { _ throws(NodeError) in jsonResponse(await maintenance.startScrub()) }
        }
        registerBuckets(on: router)
        registerKeys(on: router)
        registerAdminTokens(on: router)
    }

    func registerAdminTokens(on router: Router<AdminContext>) {
        router.get(RouterPath(stringLiteral: AdminPath.adminTokens)) { _, _ in
            let state = await node.state
            let now = node.wallClock.nowMillis()
            return jsonResponse(state.liveAdminTokens.map { Self.summary($0, now: now) })
        }
        router.post(RouterPath(stringLiteral: AdminPath.adminTokens)) { request, context in
            try await run(request, context, CreateAdminTokenRequest.self) { body throws(NodeError) in
                let scope: AdminScope
                do throws(AdminScope.ParseError) { scope = try AdminScope(parsing: body.scope) } catch { throw .invalidRequest(error.description) }
                if let seconds = body.expiresInSeconds, seconds == 0 || seconds > Self.maxTokenLifetimeSeconds {
                    throw .invalidRequest("expiry must be between 1 second and 100 years")
                }
                let (record, text) = try await node.createAdminToken(name: body.name, scope: scope.stored, expiresInSeconds: body.expiresInSeconds)
                return jsonResponse(CreatedAdminTokenDocument(token: Self.summary(record, now: node.wallClock.nowMillis()), secretToken: text),
                                    status: .created)
            }
        }
        router.delete(RouterPath(stringLiteral: AdminPath.adminTokens + "/:token")) { _, context in
            await respond { () throws(NodeError) in
                let record = try await node.revokeAdminToken(matching: try name(context, "token"))
                return jsonResponse(Self.summary(record, now: node.wallClock.nowMillis()))
            }
        }
    }

    func registerBuckets(on router: Router<AdminContext>) {
        router.get(RouterPath(stringLiteral: AdminPath.buckets)) { _, _ in
            let state = await node.state
            return jsonResponse(state.liveBuckets.values.sorted { $0.name < $1.name }.map(Self.summary))
        }
        router.post(RouterPath(stringLiteral: AdminPath.buckets)) { request, context in
            try await run(request, context, CreateBucketRequest.self) { body throws(NodeError) in
                let record = try await node.createBucket(name: body.name)
                return jsonResponse(BucketInfoDocument(bucket: Self.summary(record), grants: []), status: .created)
            }
        }
        router.get(RouterPath(stringLiteral: AdminPath.buckets + "/:name")) { _, context in
            await respond { () throws(NodeError) in
                try await bucketInfo(try name(context))
            }
        }
        router.delete(RouterPath(stringLiteral: AdminPath.buckets + "/:name")) { _, context in
            await respond { () throws(NodeError) in
                try await deleteBucket(try name(context))
                return Response(status: .noContent)
            }
        }
        for (verb, allowed) in [("allow", true), ("deny", false)] {
            router.post(RouterPath(stringLiteral: AdminPath.buckets + "/:name/" + verb)) { request, context in
                try await run(request, context, PermissionRequest.self) { body throws(NodeError) in
                    var permissions: Set<Permission> = []
                    if body.read { permissions.insert(.read) }
                    if body.write { permissions.insert(.write) }
                    if body.owner { permissions.insert(.owner) }
                    let bucket = try name(context)
                    try await node.setPermissions(bucket: bucket, key: body.key, permissions: permissions, allowed: allowed)
                    return try await bucketInfo(bucket)
                }
            }
        }
    }

    func registerKeys(on router: Router<AdminContext>) {
        router.get(RouterPath(stringLiteral: AdminPath.keys)) { _, _ in
            let state = await node.state
            return jsonResponse(state.liveKeys.map(Self.summary))
        }
        router.post(RouterPath(stringLiteral: AdminPath.keys)) { request, context in
            try await run(request, context, CreateKeyRequest.self) { body throws(NodeError) in
                let record = try await node.createKey(name: body.name)
                return jsonResponse(KeyInfoDocument(key: Self.summary(record), secret: record.secret.rawValue, grants: []), status: .created)
            }
        }
        router.post(RouterPath(stringLiteral: AdminPath.keysImport)) { request, context in
            try await run(request, context, ImportKeyRequest.self) { body throws(NodeError) in
                let record = try await node.importKey(id: body.id, secret: body.secret, name: body.name)
                return jsonResponse(KeyInfoDocument(key: Self.summary(record), secret: record.secret.rawValue, grants: []), status: .created)
            }
        }
        router.get(RouterPath(stringLiteral: AdminPath.keys + "/:key")) { request, context in
            await respond { () throws(NodeError) in
                let state = await node.state
                let record: AccessKeyRecord
                let text = try name(context, "key")
                do throws(ClusterError) { record = try state.key(matching: text) } catch { throw .cluster(error) }
                let showSecret = request.uri.queryParameters.get("show_secret") == "true"
                let grants = state.grants(of: record.id).map {
                    GrantDocument(keyID: record.id.rawValue, keyName: record.name, bucket: $0.bucket.name.rawValue,
                                  permissions: $0.permissions.sorted().map(\.rawValue))
                }
                return jsonResponse(KeyInfoDocument(key: Self.summary(record), secret: showSecret ? record.secret.rawValue : nil, grants: grants))
            }
        }
        router.delete(RouterPath(stringLiteral: AdminPath.keys + "/:key")) { _, context in
            await respond { () throws(NodeError) in
                let record = try await node.deleteKey(matching: try name(context, "key"))
                return jsonResponse(KeyInfoDocument(key: Self.summary(record), secret: nil, grants: []))
            }
        }
    }

    /// Deletes a bucket once the object service says it holds nothing.
    func deleteBucket(_ name: String) async throws(NodeError) {
        try await node.deleteBucket(name: name) { (bucket: BucketRecord) throws(NodeError) in
            do { return try await objects.emptyForDeletion(bucket: bucket.bucketID) } catch {
                throw .notReady("cannot tell whether the bucket is empty: \(error)")
            }
        }
    }

    // MARK: Views

    func health() async -> Response {
        let health = await node.health()
        let version = await node.state.layout.currentVersion.rawValue
        let document = HealthDocument(status: health.ready ? "ok" : "unavailable", reason: health.reason, layoutVersion: version,
                                      reachableNodes: health.reachable, layoutNodes: health.total)
        return jsonResponse(document, status: health.ready ? .ok : .serviceUnavailable)
    }

    func status() async -> Response { jsonResponse(await statusDocument()) }

    func statusDocument() async -> StatusDocument {
        let views = await node.nodeViews()
        let state = await node.state
        let version = state.layout.currentVersion.rawValue
        let now = node.wallClock.now
        let nodes = views.map { view in
            NodeStatusDocument(id: view.id.rawValue, hostname: view.hostname, address: view.address, isSelf: view.isSelf,
                               healthy: view.healthy, lastSeenSecondsAgo: view.lastSeen.map { max(0, now.timeIntervalSince($0)) },
                               role: view.role.map(RoleDocument.init), dataAvailableBytes: view.dataAvailableBytes,
                               shardBytes: view.shardBytes)
        }
        let partitions = await maintenance.lastVerify().map { report in
            PartitionHealthDocument(checkedAtMillis: report.checkedAtMillis, full: report.partitionsFull,
                                    degraded: Dictionary(uniqueKeysWithValues: report.partitionsDegraded.map { (String($0.key), $0.value) }),
                                    unavailable: report.partitionsUnavailable)
        }
        let reachable = Set(views.filter(\.healthy).map(\.id))
        let availability = state.layout.history().current.map { PartitionAvailabilityDocument($0.availability(reachable: reachable)) }
        return StatusDocument(node: node.id.rawValue, layoutVersion: version, nodes: nodes, partitions: partitions, availability: availability)
    }

    /// Applies a layout version and starts the rebuild that moves data to it;
    /// answers a warning when the rebuild did not start (the layout is applied).
    func applyLayout(version: UInt64) async throws(NodeError) -> String? {
        let applied = try await node.layoutApply(version: LayoutVersion(version))
        // Data written under the old layout is moved and rebuilt where the new one puts it.
        do throws(ObjectError) {
            _ = try await maintenance.startRebuild(dryRun: false, reason: "layout version \(applied.version.rawValue) applied")
            return nil
        } catch {
            return "layout version \(applied.version.rawValue) applied, but its rebuild did not start: \(error); run 'shale rebuild'"
        }
    }

    func layoutShow() async -> Response { jsonResponse(await layoutShowDocument()) }

    func layoutShowDocument() async -> LayoutShowDocument {
        let state = await node.state
        let history = state.layout.history()
        let current = history.current.map { LayoutDocument(LayoutReport(layout: $0, previous: history.applied.dropLast().last)) }
        var staged: [StagedRoleDocument] = []
        for (id, change) in history.stagedRoles.sorted(by: { $0.key < $1.key }) {
            switch change {
            case .assign(let role): staged.append(StagedRoleDocument(node: id.rawValue, change: "assign", role: RoleDocument(role)))
            case .remove: staged.append(StagedRoleDocument(node: id.rawValue, change: "remove", role: nil))
            }
        }
        var preview: LayoutDocument?
        var previewError: String?
        if history.hasStagedChanges {
            do { preview = LayoutDocument(LayoutReport(layout: try history.preview(), previous: history.current)) } catch {
                previewError = error.description
            }
        }
        let zoneCap: String? = history.stagedZoneCap.map { $0.map(String.init) ?? "automatic" }
        return LayoutShowDocument(
            currentVersion: history.currentVersion.rawValue, current: current, staged: staged,
            stagedCode: history.stagedCode?.description, stagedZoneCap: zoneCap, preview: preview, previewError: previewError)
    }

    func layoutHistory() async -> Response {
        let history = await node.state.layout.history()
        let versions = history.applied.map { layout in
            LayoutHistoryDocument.Version(
                version: layout.version.rawValue, ec: layout.code.description, zoneCap: layout.zoneCap,
                storageNodes: layout.roles.values.filter { !$0.isGateway }.count,
                gatewayNodes: layout.roles.values.filter(\.isGateway).count,
                usableCapacityBytes: layout.usableCapacity.bytes)
        }
        return jsonResponse(LayoutHistoryDocument(currentVersion: history.currentVersion.rawValue, versions: versions))
    }

    func bucketInfo(_ name: String) async throws(NodeError) -> Response {
        let state = await node.state
        let record: BucketRecord
        do { record = try state.bucket(named: name) } catch { throw .cluster(error) }
        let grants = state.grants(on: record.id).map {
            GrantDocument(keyID: $0.key.id.rawValue, keyName: $0.key.name, bucket: record.name.rawValue,
                          permissions: $0.permissions.sorted().map(\.rawValue))
        }
        return jsonResponse(BucketInfoDocument(bucket: Self.summary(record), grants: grants))
    }

    // MARK: Helpers

    static func role(from body: AssignRequest) throws(NodeError) -> NodeRole {
        guard !body.nodes.isEmpty else { throw .invalidRequest("name at least one node") }
        guard let zone = body.zone, !zone.isEmpty else { throw .invalidRequest("a zone is required (-z ZONE)") }
        if body.gateway {
            guard body.capacity == nil else { throw .invalidRequest("a gateway (-g) stores nothing: drop -c") }
            return NodeRole(zone: ZoneName(zone), capacity: nil, tags: body.tags ?? [])
        }
        guard let text = body.capacity else { throw .invalidRequest("a capacity is required (-c 10G), or -g for a gateway") }
        let capacity: ByteCount
        do { capacity = try ByteCount(parsing: text) } catch { throw .invalidRequest("bad capacity: \(error)") }
        guard capacity.bytes > 0 else { throw .invalidRequest("capacity must be above 0 (or -g for a gateway)") }
        return NodeRole(zone: ZoneName(zone), capacity: capacity, tags: body.tags ?? [])
    }

    static func iso(_ millis: UInt64) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    static func summary(_ record: BucketRecord) -> BucketSummaryDocument {
        BucketSummaryDocument(name: record.name.rawValue, id: record.id, created: iso(record.createdMillis))
    }

    static let maxTokenLifetimeSeconds: UInt64 = 100 * 365 * 86_400

    static func summary(_ record: AdminTokenRecord, now: UInt64) -> AdminTokenDocument {
        AdminTokenDocument(id: record.id.rawValue, name: record.name, scope: record.scope, created: iso(record.createdMillis),
                           expires: record.expiresMillis.map(iso), expired: record.isExpired(atMillis: now))
    }

    static func summary(_ record: AccessKeyRecord) -> KeySummaryDocument {
        KeySummaryDocument(id: record.id.rawValue, name: record.name, created: iso(record.createdMillis))
    }

    func name(_ context: AdminContext, _ parameter: String = "name") throws(NodeError) -> String {
        guard let value = context.parameters.get(parameter)?.removingPercentEncoding else { throw .invalidRequest("missing \(parameter)") }
        return value
    }

    /// Decodes a JSON body of type `T`, runs `body`, maps errors to JSON.
    func run<T: Decodable>(_ request: Request, _ context: AdminContext, _ type: T.Type,
                           _ body: (T) async throws(NodeError) -> Response) async throws -> Response {
        var request = request
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: AdminServer.maxRequestBytes) } catch {
            return jsonError(.contentTooLarge, code: "BadRequest", "request body too large")
        }
        let value: T
        do {
            value = try JSONDecoder().decode(T.self, from: buffer.readableBytes == 0 ? Data("{}".utf8) : Data(buffer: buffer))
        } catch {
            return jsonError(.badRequest, code: "BadRequest", "malformed JSON body: \(Self.describe(error))")
        }
        return await respond { () throws(NodeError) in try await body(value) }
    }

    func respond(_ body: () async throws(NodeError) -> Response) async -> Response {
        do { return try await body() } catch { return Self.errorResponse(error) }
    }

    static func errorResponse(_ error: NodeError) -> Response {
        switch error {
        case .cluster(let cluster):
            switch cluster {
            case .noSuchBucket, .noSuchKey, .unknownNode, .noSuchAdminToken: return jsonError(.notFound, code: "NotFound", cluster.description)
            case .bucketExists, .keyExists, .bucketNotEmpty, .adminTokenExists: return jsonError(.conflict, code: "Conflict", cluster.description)
            case .layout(.wrongVersion), .layout(.nothingStaged), .layout(.codeFixedAfterFirstApply):
                return jsonError(.conflict, code: "Conflict", cluster.description)
            default: return jsonError(.badRequest, code: "BadRequest", cluster.description)
            }
        case .invalidRequest(let message): return jsonError(.badRequest, code: "BadRequest", message)
        case .peer(let message): return jsonError(.badGateway, code: "PeerUnreachable", message)
        case .notReady(let message): return jsonError(.serviceUnavailable, code: "NotReady", message)
        case .disk, .storage, .corruptTransfer, .shardMissing: return jsonError(.internalServerError, code: "InternalError", error.description)
        }
    }

    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .keyNotFound(let key, _): return "missing field '\(key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        case .dataCorrupted(let context): return context.debugDescription
        @unknown default: return "\(error)"
        }
    }
}

struct EmptyRequest: Decodable {}
