import AsyncHTTPClient
import ClusterModel
import Crypto
import Erasure
import Foundation
import Logging
import Metrics
import Placement
import Storage
import Synchronization
import Units

/// One node's view of the cluster: its identity, its peers, and the
/// replicated cluster-wide state (layout, buckets, keys). Every change is
/// stamped, persisted, then pushed to the peers; heartbeats find and heal
/// any difference that a push missed.
public actor ClusterNode {
    static let stateFile = "cluster_state.json"
    static let peersFile = "peers.json"

    public nonisolated let config: NodeConfig
    public nonisolated let identity: NodeIdentity
    public nonisolated let hostname: String
    nonisolated let logger: Logger
    nonisolated let client: RPCClient
    /// Where this node reads the time (the system clock but in tests).
    public nonisolated let wallClock: any WallClock

    public private(set) var state: ClusterState
    public private(set) var peerTable = PeerTable()
    private var clock: HybridClock
    private var stateDigest: String
    private var syncsInFlight: Set<NodeID> = []
    /// Disk used by this node's shard files at the last count (`countShardBytes`).
    private nonisolated let shardBytes = Mutex<UInt64?>(nil)
    private nonisolated let shardCounting = Mutex(false)

    /// `frames` carries JSON calls to peers, `http` those to peers that do not
    /// speak frames (and all of them without `frames`), `streamHTTP` (by
    /// default `http`) shard streams.
    public init(config: NodeConfig, identity: NodeIdentity, logger: Logger, http: HTTPClient, streamHTTP: HTTPClient? = nil,
                frames: RPCFrameClient? = nil, clock wallClock: any WallClock = SystemClock()) throws(NodeError) {
        self.wallClock = wallClock
        self.config = config
        self.identity = identity
        self.logger = logger
        self.hostname = ProcessInfo.processInfo.hostName
        client = RPCClient(http: http, streams: streamHTTP ?? http, frames: frames)
        let loaded = try Self.loadState(metadataDir: config.metadataDir)
        state = loaded
        clock = HybridClock(node: identity.id.rawValue)
        clock.observe(loaded.newestStamp)
        stateDigest = Self.digest(loaded)
        for peer in Self.loadPeers(metadataDir: config.metadataDir) {
            guard let address = HostPort(peer.address), peer.id != identity.id.rawValue else { continue }
            peerTable.remember(NodeID(peer.id), address: address)
        }
        for peer in config.bootstrapPeers {
            if let entry = NodeConfig.bootstrapAddress(peer), entry.id != identity.id.rawValue { peerTable.addCandidate(entry.address) }
        }
    }

    public nonisolated var id: NodeID { identity.id }

    // MARK: Persistence

    static func loadState(metadataDir: String) throws(NodeError) -> ClusterState {
        let path = (metadataDir as NSString).appendingPathComponent(stateFile)
        guard let data = FileManager.default.contents(atPath: path) else { return ClusterState() }
        do {
            return try ClusterStateFile.decode(data)
        } catch {
            throw .storage("\(path) is damaged (\(error)); restore it from a backup, or move it away to rejoin with the state of the other nodes")
        }
    }

    static func loadPeers(metadataDir: String) -> [PeerAddress] {
        let path = (metadataDir as NSString).appendingPathComponent(peersFile)
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return (try? JSONDecoder().decode([PeerAddress].self, from: data)) ?? []
    }

    static func encode(_ state: ClusterState) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(ClusterStateFile(state: state))) ?? Data()
    }

    static func digest(_ state: ClusterState) -> String { digest(encoded: encode(state)) }
    static func digest(encoded: Data) -> String { hex(SHA256.hash(data: encoded)) }

    private func persistState() throws(NodeError) {
        let encoded = Self.encode(state)
        try writeDurably(encoded, to: (config.metadataDir as NSString).appendingPathComponent(Self.stateFile))
        stateDigest = Self.digest(encoded: encoded)
    }

    private func persistPeers() {
        let data = (try? JSONEncoder().encode(peerTable.addresses)) ?? Data()
        do {
            try writeDurably(data, to: (config.metadataDir as NSString).appendingPathComponent(Self.peersFile))
        } catch {
            logger.warning("cannot save the peer list", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Changing the cluster state

    private func nowMillis() -> UInt64 { wallClock.nowMillis() }

    /// Applies a local change with a fresh stamp, persists it, and pushes it to the peers.
    private func update<T>(_ what: String, _ body: (inout ClusterState, Stamp) throws(ClusterError) -> T) throws(NodeError) -> T {
        let stamp = clock.next(wallMillis: nowMillis())
        var next = state
        let result: T
        do { result = try body(&next, stamp) } catch { throw .cluster(error) }
        state = next
        try persistState()
        logger.info("cluster state changed", metadata: ["change": "\(what)"])
        Task { await self.pushState() }
        return result
    }

    /// Every node id this node knows of: itself, its peers, the layout's.
    public var knownNodeIDs: Set<NodeID> {
        var ids = Set(peerTable.peers.keys)
        ids.insert(id)
        let history = state.layout.history()
        ids.formUnion(history.proposedRoles.keys)
        if let current = history.current { ids.formUnion(current.roles.keys) }
        return ids
    }

    public func resolve(_ text: String) throws(NodeError) -> NodeID {
        do { return try resolveNode(text, among: knownNodeIDs) } catch { throw .cluster(error) }
    }

    public func layoutAssign(nodes: [String], role: NodeRole, replace: String?) throws(NodeError) {
        let targets = try nodes.map { (text: String) throws(NodeError) -> NodeID in try resolve(text) }
        let replaced = try replace.map { (text: String) throws(NodeError) -> NodeID in try resolve(text) }
        if replaced != nil && targets.count != 1 { throw .invalidRequest("--replace takes exactly one new node") }
        try update("layout assign") { (state: inout ClusterState, stamp: Stamp) throws(ClusterError) in
            if let replaced { try state.layout.stageRemove(replaced, stamp: stamp) }
            for target in targets { state.layout.stageAssign(target, role: role, stamp: stamp) }
        }
    }

    public func layoutRemove(nodes: [String]) throws(NodeError) {
        let targets = try nodes.map { (text: String) throws(NodeError) -> NodeID in try resolve(text) }
        try update("layout remove") { (state: inout ClusterState, stamp: Stamp) throws(ClusterError) in
            for target in targets { try state.layout.stageRemove(target, stamp: stamp) }
        }
    }

    public func layoutConfig(code: ErasureCode?, zoneCap: Int?) throws(NodeError) {
        try update("layout config") { (state: inout ClusterState, stamp: Stamp) throws(ClusterError) in
            if let code { try state.layout.stageCode(code, stamp: stamp) }
            if let zoneCap { try state.layout.stageZoneCap(zoneCap, stamp: stamp) }
        }
    }

    @discardableResult
    public func layoutApply(version: LayoutVersion) throws(NodeError) -> Layout {
        try update("layout apply \(version)") { (state: inout ClusterState, stamp: Stamp) throws(ClusterError) in
            try state.layout.apply(version: version, stamp: stamp)
        }
    }

    public func layoutRevert() throws(NodeError) {
        try update("layout revert") { (state: inout ClusterState, stamp: Stamp) throws(ClusterError) in
            try state.layout.revert(stamp: stamp)
        }
    }

    public func createBucket(name: String) throws(NodeError) -> BucketRecord {
        let id = BucketID(bytes: randomBytes(BucketID.byteCount))!
        let now = nowMillis()
        return try update("bucket create \(name)") { (state: inout ClusterState, stamp: Stamp) throws(ClusterError) in
            try state.createBucket(name: name, id: id, createdMillis: now, stamp: stamp)
        }
    }

    /// Deletes a bucket; `isEmpty` is asked before the tombstone is written.
    public func deleteBucket(name: String, isEmpty: @Sendable (BucketRecord) async throws(NodeError) -> Bool) async throws(NodeError) {
        let record: BucketRecord
        do { record = try state.bucket(named: name) } catch { throw .cluster(error) }
        guard try await isEmpty(record) else { throw .cluster(.bucketNotEmpty(name)) }
        try update("bucket delete \(name)") { (state: inout ClusterState, stamp: Stamp) throws(ClusterError) in
            try state.deleteBucket(name: name, stamp: stamp)
        }
    }

    public func setBucketConfig(_ config: BucketConfig?, kind: BucketConfig.Kind, bucket: String) throws(NodeError) {
        try update("bucket \(kind.rawValue) \(config == nil ? "delete" : "set") \(bucket)") { (state: inout ClusterState, stamp: Stamp) throws(ClusterError) in
            try state.setBucketConfig(config, kind: kind, bucket: bucket, stamp: stamp)
        }
    }

    public func setPermissions(bucket: String, key: String, permissions: Set<Permission>, allowed: Bool) throws(NodeError) {
        try update("bucket \(allowed ? "allow" : "deny") \(bucket)") { (state: inout ClusterState, stamp: Stamp) throws(ClusterError) in
            let record = try state.bucket(named: bucket)
            let keyRecord = try state.key(matching: key)
            try state.setPermissions(permissions, allowed: allowed, key: keyRecord.id, bucketID: record.id, stamp: stamp)
        }
    }

    public func createKey(name: String) throws(NodeError) -> AccessKeyRecord {
        let record = AccessKeyRecord(id: AccessKeyID(randomBytes: randomBytes(AccessKeyID.hexDigits / 2)), name: name,
                                     secret: SecretKey(randomBytes: randomBytes(SecretKey.hexDigits / 2)),
                                     createdMillis: nowMillis())
        try update("key create \(name)") { (state: inout ClusterState, stamp: Stamp) throws(ClusterError) in
            try state.addKey(record, stamp: stamp)
        }
        return record
    }

    public func importKey(id: String, secret: String, name: String) throws(NodeError) -> AccessKeyRecord {
        guard let keyID = AccessKeyID(id) else { throw .cluster(.invalidKeyID(id)) }
        guard let secretKey = SecretKey(secret) else { throw .cluster(.invalidSecret) }
        let record = AccessKeyRecord(id: keyID, name: name, secret: secretKey, createdMillis: nowMillis())
        try update("key import \(id)") { (state: inout ClusterState, stamp: Stamp) throws(ClusterError) in
            try state.addKey(record, stamp: stamp)
        }
        return record
    }

    public func deleteKey(matching text: String) throws(NodeError) -> AccessKeyRecord {
        try update("key delete \(text)") { (state: inout ClusterState, stamp: Stamp) throws(ClusterError) in
            try state.deleteKey(matching: text, stamp: stamp)
        }
    }

    /// Creates a named admin token and answers its record and its text
    /// (`ID.SECRET`), which is shown this once: only the secret's SHA-256 is kept.
    public func createAdminToken(name: String, scope: [String], expiresInSeconds: UInt64?) throws(NodeError) -> (AdminTokenRecord, String) {
        let id = AdminTokenID(randomBytes: randomBytes(AdminTokenID.hexDigits / 2))
        let secret = Hex.encode(randomBytes(Self.adminTokenSecretBytes))
        let now = nowMillis()
        let expires = expiresInSeconds.map { now + $0 * 1000 }
        let record = AdminTokenRecord(id: id, name: name, secretSHA256: Self.adminTokenDigest(secret), scope: scope,
                                      createdMillis: now, expiresMillis: expires)
        try update("admin-token create \(name)") { (state: inout ClusterState, stamp: Stamp) throws(ClusterError) in
            try state.addAdminToken(record, stamp: stamp)
        }
        return (record, "\(id.rawValue).\(secret)")
    }

    public func revokeAdminToken(matching text: String) throws(NodeError) -> AdminTokenRecord {
        try update("admin-token revoke \(text)") { (state: inout ClusterState, stamp: Stamp) throws(ClusterError) in
            try state.revokeAdminToken(matching: text, stamp: stamp)
        }
    }

    static let adminTokenSecretBytes = 24

    /// The stored form of a named token's secret.
    public static func adminTokenDigest(_ secret: String) -> String {
        Hex.encode(Array(SHA256.hash(data: Array(secret.utf8))))
    }

    // MARK: Membership

    public nonisolated var selfInfo: PeerInfo {
        var info = PeerInfo(id: id.rawValue, address: config.advertisedRPCAddr.description, hostname: hostname,
                            dataAvailableBytes: DiskSpace.available(at: config.dataDir))
        info.shardBytes = shardBytes.withLock { $0 }
        return info
    }

    /// Counts the disk the shard files take (a walk of the shard directories), for `status`.
    public nonisolated func countShardBytes() {
        guard shardCounting.withLock({ busy in defer { busy = true }; return !busy }) else { return }
        defer { shardCounting.withLock { $0 = false } }
        let bytes = ShardStore(dataDir: config.dataDir).usedBytes()
        shardBytes.withLock { $0 = bytes }
    }

    private func pingMessage() -> PingMessage {
        PingMessage(node: selfInfo, knownPeers: peerTable.addresses, stateDigest: stateDigest)
    }

    private func heard(_ info: PeerInfo, from sender: NodeID) {
        // A node pinging its own address (a bootstrap list that names every pod) is not its own peer.
        guard let address = HostPort(info.address), info.id == sender.rawValue, sender != id else { return }
        let isNew = peerTable.peers[sender]?.address != address
        peerTable.heard(from: sender, address: address, hostname: info.hostname, dataAvailableBytes: info.dataAvailableBytes,
                        shardBytes: info.shardBytes, at: wallClock.now)
        if isNew {
            logger.info("peer joined", metadata: ["node": "\(sender.shortForm)", "address": "\(address)"])
            persistPeers()
        }
    }

    private func learn(_ addresses: [PeerAddress]) {
        for peer in addresses where peer.id != id.rawValue && peerTable.peers[NodeID(peer.id)] == nil {
            if let address = HostPort(peer.address) { peerTable.addCandidate(address) }
        }
    }

    /// One heartbeat: ping every peer and candidate at once.
    public func heartbeatRound() async {
        let message = pingMessage()
        let targets: [(HostPort, NodeID?)] = peerTable.peers.values.map { ($0.address, $0.id) } + peerTable.candidates.map { ($0, nil) }
        let body = (try? JSONEncoder().encode(message)) ?? Data()
        await withTaskGroup(of: Void.self) { group in
            for (address, expected) in targets {
                group.addTask { await self.ping(address, expected: expected, body: body) }
            }
        }
    }

    private nonisolated func ping(_ address: HostPort, expected: NodeID?, body: Data) async {
        do {
            let (data, responder) = try await client.call(.ping, at: address, body: body, expected: expected)
            // A bootstrap address that turned out to be this node (a pod listed among its peers): not tried again.
            guard responder != id else { return await dropCandidate(address) }
            let reply = try JSONDecoder().decode(PingMessage.self, from: data)
            await received(reply, from: responder)
        } catch {
            logger.debug("ping failed", metadata: ["address": "\(address)", "error": "\(error)"])
            Counter(label: "shale_heartbeat_failures_total").increment()
        }
    }

    private func dropCandidate(_ address: HostPort) { peerTable.dropCandidate(address) }

    private func received(_ reply: PingMessage, from responder: NodeID) {
        guard responder != id else { return }
        heard(reply.node, from: responder)
        learn(reply.knownPeers)
        if reply.stateDigest != stateDigest, let peer = peerTable.peers[responder] {
            Task { await self.sync(with: peer.id, at: peer.address) }
        }
    }

    /// Exchanges full states with one peer; both sides end up with the merge.
    private func sync(with peer: NodeID, at address: HostPort) async {
        guard !syncsInFlight.contains(peer) else { return }
        syncsInFlight.insert(peer)
        defer { syncsInFlight.remove(peer) }
        let body = (try? JSONEncoder().encode(SyncMessage(state: state))) ?? Data()
        do {
            let (data, _) = try await client.call(.sync, at: address, body: body, expected: peer)
            let reply = try JSONDecoder().decode(SyncMessage.self, from: data)
            merge(reply.state, from: peer)
        } catch {
            logger.debug("state sync failed", metadata: ["node": "\(peer.shortForm)", "error": "\(error)"])
        }
    }

    private func merge(_ other: ClusterState, from peer: NodeID) {
        var next = state
        guard next.merge(other) else { return }
        state = next
        clock.observe(state.newestStamp)
        do {
            try persistState()
            logger.info("cluster state merged", metadata: ["from": "\(peer.shortForm)"])
            Counter(label: "shale_cluster_state_merges_total").increment()
        } catch {
            logger.error("cannot persist the cluster state", metadata: ["error": "\(error)"])
        }
    }

    /// Pushes the state to every healthy peer (after a local change).
    private func pushState() async {
        let now = wallClock.now
        let targets = peerTable.peers.values.filter { peerTable.isHealthy($0.id, now: now) }
        await withTaskGroup(of: Void.self) { group in
            for peer in targets { group.addTask { await self.sync(with: peer.id, at: peer.address) } }
        }
    }

    /// `node connect`: reaches `id@host:port`, checks it is that node, adds it.
    public func connect(_ text: String) async throws(NodeError) -> Peer {
        let parts = text.split(separator: "@", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[0].count == 64, parts[0].allSatisfy(\.isHexDigit), let address = HostPort(parts[1]) else {
            throw .invalidRequest("'\(text)' is not NODE_ID@HOST:PORT (as `shale node id` prints it on that node)")
        }
        let expected = NodeID(parts[0].lowercased())
        guard expected != id else { throw .invalidRequest("that is this node itself") }
        let body = (try? JSONEncoder().encode(pingMessage())) ?? Data()
        let (data, responder) = try await client.call(.ping, at: address, body: body, expected: expected)
        guard let reply = try? JSONDecoder().decode(PingMessage.self, from: data) else { throw .peer("\(address) sent a malformed answer") }
        received(reply, from: responder)
        guard let peer = peerTable.peers[responder] else { throw .peer("\(address) answered with an unusable address") }
        return peer
    }

    // MARK: Serving RPC

    /// `ping`: a peer's heartbeat; answered with this node's.
    func answerPing(_ body: Data, from sender: NodeID) throws(NodeError) -> Data {
        guard let message = try? JSONDecoder().decode(PingMessage.self, from: body), message.node.id == sender.rawValue else {
            throw .invalidRequest("malformed ping")
        }
        heard(message.node, from: sender)
        learn(message.knownPeers)
        return (try? JSONEncoder().encode(pingMessage())) ?? Data()
    }

    /// `sync`: a peer's cluster state, merged; answered with the merged state.
    func answerSync(_ body: Data, from sender: NodeID) throws(NodeError) -> Data {
        guard let message = try? JSONDecoder().decode(SyncMessage.self, from: body) else { throw .invalidRequest("malformed state") }
        merge(message.state, from: sender)
        return (try? JSONEncoder().encode(SyncMessage(state: state))) ?? Data()
    }

    // MARK: Routing

    /// What the data path needs to reach a partition's owners: every applied
    /// layout (oldest first), peer addresses, and who answers heartbeats.
    public struct Routing: Sendable {
        public let selfID: NodeID
        public let layouts: [Layout]
        public let addresses: [NodeID: HostPort]
        public let healthy: Set<NodeID>
        public var current: Layout? { layouts.last }
        public func layout(_ version: LayoutVersion) -> Layout? { layouts.first { $0.version == version } }
        /// Whether a call to `node` can be tried: itself, or a healthy peer with an address.
        public func reachable(_ node: NodeID) -> Bool { node == selfID || (healthy.contains(node) && addresses[node] != nil) }
    }

    private var cachedLayouts: (digest: String, layouts: [Layout])?

    public func routing() -> Routing {
        let layouts: [Layout]
        if let cachedLayouts, cachedLayouts.digest == stateDigest {
            layouts = cachedLayouts.layouts
        } else {
            layouts = state.layout.history().applied
            cachedLayouts = (stateDigest, layouts)
        }
        let now = wallClock.now
        var addresses: [NodeID: HostPort] = [:]
        var healthy: Set<NodeID> = []
        for peer in peerTable.peers.values {
            addresses[peer.id] = peer.address
            if peerTable.isHealthy(peer.id, now: now) { healthy.insert(peer.id) }
        }
        return Routing(selfID: id, layouts: layouts, addresses: addresses, healthy: healthy)
    }

    // MARK: Views

    public struct NodeView: Sendable {
        public let id: NodeID
        public let hostname: String
        public let address: String
        public let isSelf: Bool
        public let healthy: Bool
        public let lastSeen: Date?
        public let role: NodeRole?
        public let dataAvailableBytes: UInt64?
        /// Disk used by its shard files, as it last reported.
        public var shardBytes: UInt64? = nil
    }

    /// Every node this one knows, with its liveness and applied role.
    public func nodeViews() -> [NodeView] {
        let now = wallClock.now
        let roles = state.layout.history().current?.roles ?? [:]
        var views: [NodeView] = []
        let me = selfInfo
        views.append(NodeView(id: id, hostname: me.hostname, address: me.address, isSelf: true, healthy: true, lastSeen: now,
                              role: roles[id], dataAvailableBytes: me.dataAvailableBytes, shardBytes: me.shardBytes))
        var listed: Set<NodeID> = [id]
        for peer in peerTable.peers.values.sorted(by: { $0.id < $1.id }) {
            listed.insert(peer.id)
            views.append(NodeView(id: peer.id, hostname: peer.hostname, address: peer.address.description, isSelf: false,
                                  healthy: peerTable.isHealthy(peer.id, now: now), lastSeen: peer.lastSeen,
                                  role: roles[peer.id], dataAvailableBytes: peer.dataAvailableBytes, shardBytes: peer.shardBytes))
        }
        for (node, role) in roles.sorted(by: { $0.key < $1.key }) where !listed.contains(node) {
            views.append(NodeView(id: node, hostname: "", address: "", isSelf: false, healthy: false, lastSeen: nil,
                                  role: role, dataAvailableBytes: nil))
        }
        return views
    }

    /// Ready to serve: a layout is applied and a majority of its nodes answer.
    public func health() -> (ready: Bool, reason: String?, reachable: Int, total: Int) {
        guard let layout = state.layout.history().current else {
            return (false, "no layout applied: assign roles and run `shale layout apply`", 0, 0)
        }
        let now = wallClock.now
        let members = Array(layout.roles.keys)
        let reachable = members.filter { $0 == id || peerTable.isHealthy($0, now: now) }.count
        let quorum = members.count / 2 + 1
        guard reachable >= quorum else {
            return (false, "only \(reachable) of the layout's \(members.count) nodes reachable (quorum \(quorum))", reachable, members.count)
        }
        return (true, nil, reachable, members.count)
    }
}

/// Bytes from the system's cryptographic generator (ids, secrets), eight
/// to a call: each of the generator's words is a `getrandom` system call,
/// and drawing one per byte made a PUT's version and request ids 24 calls,
/// 2.8% of a one-node small PUT's CPU.
public func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count + 7)
    while bytes.count < count { withUnsafeBytes(of: generator.next()) { bytes.append(contentsOf: $0) } }
    bytes.removeLast(bytes.count - count)
    return bytes
}

/// Replaces a small state file durably (Storage's temp, fsync, rename, directory fsync).
func writeDurably(_ data: Data, to path: String, permissions: mode_t = 0o644) throws(NodeError) {
    do { try DurableFile.replace(path, with: Array(data), permissions: permissions) } catch { throw .disk(error) }
}
