import Checksums
import ClusterModel
import Crypto
import Erasure
import Foundation
import Logging
import Metrics
import NIOCore
import Placement
import Storage
import Synchronization
import Units

/// The data path: PUT, GET, DELETE and LIST of objects across the cluster.
/// A single node runs the same code; its owners just happen to be local.
public final class ObjectService: Sendable {
    let node: ClusterNode
    let shards: ShardStore
    let metadataStore: MetadataStore
    let metadata: any ObjectTables
    /// Answers other nodes' calls on this node's object-table replica.
    let replica: MetadataReplica
    let logger: Logger
    let blockSizeBytes: Int
    let writeQuorumSetting: Int?
    let inlineMaxBytes: Int
    let repairs = RepairQueue()
    let shortWrites = ShortWriteQueue()
    let clock: Mutex<HybridClock>

    /// How JSON calls reach other nodes (shard streams go through `access`).
    let peers: any PeerTransport
    /// Shards here and on the other nodes, for the data path and the workers.
    let access: ShardAccess
    /// This node's scrub (started here, or by another node's `scrub start`).
    let scrubber: Scrubber

    public convenience init(node: ClusterNode, logger: Logger) throws(NodeError) {
        try self.init(node: node, logger: logger, peers: node.client, shardTransport: RPCShardTransport(client: node.client))
    }

    /// With other transports: the simulated cluster's in-memory network.
    init(node: ClusterNode, logger: Logger, peers: any PeerTransport, shardTransport: any ShardTransport) throws(NodeError) {
        self.node = node
        self.logger = logger
        self.peers = peers
        shards = ShardStore(dataDir: node.config.dataDir)
        do { metadataStore = try MetadataStore(metadataDir: node.config.metadataDir) } catch { throw .disk(error) }
        metadata = MetadataClient(store: metadataStore, transport: peers, wantedReplicas: node.config.metadataReplicas, logger: logger)
        replica = MetadataReplica(store: metadataStore)
        blockSizeBytes = node.config.blockSizeBytes
        writeQuorumSetting = node.config.writeQuorum
        inlineMaxBytes = node.config.inlineMaxBytes
        access = ShardAccess(shards: shards, index: metadataStore, transport: shardTransport, clock: node.wallClock,
                             readerSettings: StripeReaderSettings(backend: node.config.erasureBackend,
                                                                  slowShardTimeoutMillis: node.config.slowShardTimeoutMillis, logger: logger,
                                                                  clock: node.wallClock))
        clock = Mutex(HybridClock(node: node.id.rawValue))
        scrubber = Scrubber(access: access, tables: metadata, node: node)
    }

    /// A stamp above the wall clock, above this node's last one, and above
    /// `replaced`: a write never loses to the row it replaces, whatever the
    /// skew between the nodes' clocks.
    func stamp(replacing replaced: Stamp?) -> Stamp {
        clock.withLock { clock in
            if let replaced { clock.observe(replaced) }
            return clock.next(wallMillis: node.wallClock.nowMillis())
        }
    }

    static func writeQuorum(_ setting: Int?, code: ErasureCode) -> Int {
        min(max(setting ?? code.dataShards + 1, code.dataShards), code.totalShards)
    }

    /// The geometry every shard file of an object shares: one chunk per block.
    static func shardFormat(size: UInt64, blockSize: Int, code: ErasureCode) -> ShardFileFormat? {
        guard size > 0 else { return nil }
        let blocks = Int((size + UInt64(blockSize) - 1) / UInt64(blockSize))
        let lastBlock = Int(size - UInt64(blocks - 1) * UInt64(blockSize))
        let chunk = Striping.shardLength(blockLength: blockSize, dataShards: code.dataShards)
        let last = Striping.shardLength(blockLength: lastBlock, dataShards: code.dataShards)
        return ShardFileFormat(chunkSize: chunk, dataLength: (blocks - 1) * chunk + last)
    }

    static func newVersionID() -> String { Hex.encode(randomBytes(ShardKey.versionIDHexDigits / 2)) }

    // MARK: PUT

    public struct PutRequest: Sendable {
        public let bucket: BucketID
        public let key: String
        public let contentLength: Int
        public let contentType: String?
        public let userMetadata: [String: String]
        /// Content-MD5, decoded.
        public let expectedMD5: [UInt8]?
        /// A signed payload's SHA-256, decoded (nil for UNSIGNED-PAYLOAD).
        public let expectedSHA256: [UInt8]?
        /// The `x-amz-checksum-*` algorithm to compute and store, and the
        /// digest the body must have when the client sent one.
        public let checksumAlgorithm: ChecksumAlgorithm?
        public let expectedChecksum: [UInt8]?
        public let contentHeaders: ContentHeaders?
        /// A checksum that follows the body (aws-chunked trailer).
        public var trailingChecksum: TrailingChecksum?
        /// If-None-Match / If-Match: checked and written atomically.
        public var condition: WriteCondition?
        /// `x-amz-tagging`: the new object's tags.
        public var tags: [ObjectTag]?
        /// SSE-C: the key the bytes are encrypted under (never stored).
        public var customerKey: CustomerKey?

        public init(bucket: BucketID, key: String, contentLength: Int, contentType: String?, userMetadata: [String: String],
                    expectedMD5: [UInt8]?, expectedSHA256: [UInt8]?, checksumAlgorithm: ChecksumAlgorithm? = nil,
                    expectedChecksum: [UInt8]? = nil, contentHeaders: ContentHeaders? = nil) {
            self.bucket = bucket; self.key = key; self.contentLength = contentLength; self.contentType = contentType
            self.userMetadata = userMetadata; self.expectedMD5 = expectedMD5; self.expectedSHA256 = expectedSHA256
            self.checksumAlgorithm = checksumAlgorithm; self.expectedChecksum = expectedChecksum; self.contentHeaders = contentHeaders
        }
    }

    /// Streams `body` into shards on the partition's owners, one block at a
    /// time; acknowledged once a write quorum of shards and a majority of
    /// metadata replicas are durable. The last block is held back until the
    /// body's digests are checked, so a body that fails them never completes
    /// a shard file anywhere.
    public func put<Body: AsyncSequence>(_ request: PutRequest, body: Body) async throws(ObjectError) -> ObjectVersion
        where Body.Element == ByteBuffer
    {
        let routing = await node.routing()
        guard let layout = routing.current else { throw .notReady("no layout applied: run `shale layout apply`") }
        let versioning = await versioning(of: request.bucket)
        if versioning != nil, request.condition != nil {
            throw .notImplemented("Conditional writes (If-None-Match, If-Match) to a bucket with versioning are not implemented: nothing was written.")
        }
        // Enabled: the new version's row (and so its id) is fixed before its shards name it.
        let target = versioning == .enabled ? try await versionTarget(bucket: request.bucket, key: request.key, routing: routing) : nil
        if versioning == .suspended { try await observeNewestVersion(bucket: request.bucket, key: request.key, routing: routing) }

        var expectations = BodyExpectations(
            contentLength: request.contentLength, md5: request.expectedMD5, sha256: request.expectedSHA256,
            checksumAlgorithm: request.checksumAlgorithm, checksum: request.expectedChecksum)
        expectations.trailingChecksum = request.trailingChecksum
        var encryption: CustomerEncryption?
        var cipher: ObjectCipher?
        if let customerKey = request.customerKey {
            let fresh = customerKey.newEncryption()
            encryption = fresh
            cipher = try customerKey.cipher(for: fresh)
        }
        let written: WrittenBody
        if isInline(size: request.contentLength) {
            // A small body goes into the row: one quorum write of metadata, no shard files.
            var (bytes, digests) = try await BodyDigester.collect(body, expecting: expectations)
            if let cipher { bytes = Data(try cipher.apply(bytes, at: 0)) }
            written = WrittenBody(body: StoredBody(versionID: Self.newVersionID(), size: UInt64(bytes.count), dataShards: layout.code.dataShards,
                                                   parityShards: layout.code.parityShards, blockSizeBytes: blockSizeBytes,
                                                   layoutVersion: layout.version, storedSlots: []),
                                  holders: [], md5: digests.md5, checksum: digests.checksum, inline: bytes)
        } else {
            written = try await writeBody(expectations, body: body, partition: PartitionID(bucket: request.bucket, key: request.key),
                                          layout: layout, object: target?.object ?? ObjectName(bucket: request.bucket.hex, key: request.key),
                                          routing: routing, cipher: cipher)
        }
        let stored = written.body

        var version = ObjectVersion(
            versionID: stored.versionID, size: stored.size, etag: request.customerKey?.etag(md5: written.md5) ?? Hex.encode(written.md5),
            contentType: request.contentType,
            userMetadata: request.userMetadata, lastModifiedMillis: node.wallClock.nowMillis(), dataShards: stored.dataShards,
            parityShards: stored.parityShards, blockSizeBytes: stored.blockSizeBytes, layoutVersion: stored.layoutVersion,
            storedSlots: stored.storedSlots, checksum: written.checksum, contentHeaders: request.contentHeaders, handoffs: stored.handoffs)
        version.inlineData = written.inline
        version.tags = request.tags
        version.encryption = encryption
        let replaced: ObjectRecord?
        do throws(ObjectError) {
            replaced = try await writeObjectRow(version, bucket: request.bucket, key: request.key,
                                                condition: request.condition, target: target, routing: routing)
        } catch {
            await discard(written, routing: routing)
            throw error
        }
        if let old = replaced?.version { scheduleShardDeletion(of: old, bucket: request.bucket, key: request.key) }
        version.s3VersionID = target?.id.rawValue ?? (versioning == nil ? nil : S3VersionID.null)
        Counter(label: "shale_objects_put_total").increment()
        if version.inlineData != nil { Counter(label: "shale_objects_inline_put_total").increment() }
        return version
    }

    /// Whether a body of `size` bytes is kept in its row (`inline_max_bytes`); an empty one has no bytes to keep anywhere.
    func isInline(size: Int) -> Bool { size > 0 && size <= inlineMaxBytes }

    /// Makes `version` the key's row: a quorum write stamped above the row it
    /// replaces (one round, `writeReplacing`), or, with a condition, a compare-and-set that checks the
    /// condition against the row the quorum holds. Returns the row replaced.
    /// In a versioning-enabled bucket (`target`), the version's own row, which replaces none.
    func writeObjectRow(_ version: ObjectVersion, bucket: BucketID, key: String, condition: WriteCondition?,
                        target: VersionTarget? = nil, routing: ClusterNode.Routing) async throws(ObjectError) -> ObjectRecord? {
        if let target {
            var version = version
            version.s3VersionID = target.id.rawValue
            try await metadata.write(ObjectRecord(bucketID: target.table, key: target.rowKey, stamp: target.stamp, version: version),
                                     bucket: bucket, routing: routing)
            noteShortBodies(version.bodies, table: target.table, rowKey: target.rowKey, objectKey: key, bucket: bucket)
            return nil
        }
        let replaced: ObjectRecord?
        if let condition {
            let result = try await metadata.compareAndSet(table: bucket.hex, bucket: bucket, key: key, routing: routing,
                                                          ballot: { self.stamp(replacing: $0) }) { current throws(ObjectError) in
                try condition.check(current?.version)
                return ObjectRecord(bucketID: bucket.hex, key: key, stamp: self.stamp(replacing: current?.stamp), version: version)
            }
            Counter(label: "shale_conditional_writes_total").increment()
            replaced = result.replaced
        } else {
            replaced = try await metadata.writeReplacing(bucket: bucket, routing: routing) { above in
                ObjectRecord(bucketID: bucket.hex, key: key, stamp: self.stamp(replacing: above), version: version)
            }
        }
        noteShortBodies(version.bodies, table: bucket.hex, rowKey: key, objectKey: key, bucket: bucket)
        return replaced
    }

    /// What `writeBody` stored: the body's shards, the nodes holding them, and its digests.
    struct WrittenBody {
        let body: StoredBody
        let holders: [NodeID]
        let md5: [UInt8]
        let checksum: ObjectChecksum?
        /// An inline body's bytes (it has no shards).
        var inline: Data? = nil
    }

    /// Deletes a written body that no row will name (its write failed after the shards).
    func discard(_ written: WrittenBody, routing: ClusterNode.Routing) async {
        guard written.inline == nil else { return }
        await deleteShards(versionID: written.body.versionID, slots: written.body.storedSlots, owners: written.holders, routing: routing)
    }

    /// Erasure-codes a body (an object's or a part's) onto `owners` under a
    /// new version id; `object` is what the owners' shard indexes note it as.
    /// Nothing refers to the shards yet: the caller records them, or deletes them.
    func writeBody<Body: AsyncSequence>(_ expectations: BodyExpectations, body: Body, partition: PartitionID, layout: Layout,
                                        object: ObjectName, routing: ClusterNode.Routing, cipher: ObjectCipher? = nil) async throws(ObjectError) -> WrittenBody
        where Body.Element == ByteBuffer
    {
        let code = layout.code
        let owners = layout.owners(of: partition)
        let versionID = Self.newVersionID()
        let size = UInt64(expectations.contentLength)
        let quorum = Self.writeQuorum(writeQuorumSetting, code: code)
        var sinks: [Int: any ShardSink] = [:]
        var handoffs: [Int: NodeID] = [:]
        if let format = Self.shardFormat(size: size, blockSize: blockSizeBytes, code: code) {
            // An owner that is away gets its shard written to a handoff node, so the write keeps all k + m shards —
            // for up to m absent owners, the failures the code is built to take; beyond them the write is refused.
            let away = owners.indices.filter { !routing.reachable(owners[$0]) }
            if !away.isEmpty && away.count <= code.parityShards {
                handoffs = layout.handoffTargets(owners: owners, away: away, partition: partition, isReachable: routing.reachable)
            }
            var targets = owners
            for (slot, node) in handoffs { targets[slot] = node }
            let slots = owners.indices.filter { routing.reachable(targets[$0]) }
            guard slots.count >= quorum else {
                throw .unavailable("\(slots.count) of \(owners.count) shards can be placed on reachable nodes, write quorum is \(quorum)")
            }
            sinks = await access.openSinks(versionID: versionID, slots: slots, owners: targets, format: format, object: object, routing: routing,
                                           handoffs: Set(handoffs.keys))
        }
        var pipeline = PutPipeline(code: code, blockSizeBytes: blockSizeBytes, backend: access.readerSettings.backend, quorum: quorum,
                                   slowWriteMillis: access.readerSettings.slowShardTimeoutMillis, logger: logger, clock: node.wallClock)
        pipeline.cipher = cipher
        let outcome = try await pipeline.run(body, expecting: expectations, sinks: sinks)
        let durable = Set(outcome.durableSlots)
        let stored = StoredBody(versionID: versionID, size: size, dataShards: code.dataShards, parityShards: code.parityShards,
                                blockSizeBytes: blockSizeBytes, layoutVersion: layout.version, storedSlots: outcome.durableSlots,
                                handoffs: handoffs.filter { durable.contains($0.key) }.sorted { $0.key < $1.key }
                                    .map { StoredBody.Handoff(slot: $0.key, node: $0.value) })
        if !handoffs.isEmpty { Counter(label: "shale_handoff_shards_written_total").increment(by: stored.handoffs?.count ?? 0) }
        return WrittenBody(body: stored, holders: stored.holders(owners: owners), md5: outcome.md5, checksum: outcome.checksum)
    }
}

/// A conditional write's precondition on the key's current object.
public enum WriteCondition: Sendable, Equatable {
    /// `If-None-Match: *`: the key has no object.
    case noObject
    /// `If-Match`: the key's object has this ETag (without quotes), or any ETag (`*`).
    case etag(String?)

    public func check(_ current: ObjectVersion?) throws(ObjectError) {
        switch self {
        case .noObject:
            if current != nil { throw .preconditionFailed }
        case .etag(let wanted):
            guard let current else { throw .noSuchKey }
            if let wanted, wanted != current.etag { throw .preconditionFailed }
        }
    }
}
