import ClusterModel
import Foundation
import Logging
import Metrics
import Placement
import ServiceLifecycle
import Erasure
import Storage
import Synchronization

/// Shards that a read found corrupt or missing, waiting to be rebuilt.
/// Bounded and de-duplicated; what does not fit is left to `shale rebuild`
/// and scrub, which find the same damage by walking the partitions.
final class RepairQueue: Sendable {
    static let capacity = 10_000

    struct Item: Hashable, Sendable {
        let bucket: BucketID
        let key: String
        let versionID: String
        let slot: Int
        /// The S3 version read: its row is in the bucket's version table (nil or "null": the object table's).
        var s3VersionID: String? = nil
    }

    private struct State {
        var order: [Item] = []
        var queued: Set<Item> = []
    }

    private let state = Mutex(State())

    func enqueue(_ item: Item) {
        state.withLock { state in
            guard !state.queued.contains(item), state.order.count < Self.capacity else { return }
            state.queued.insert(item)
            state.order.append(item)
        }
    }

    func next() -> Item? {
        state.withLock { state in
            guard !state.order.isEmpty else { return nil }
            let item = state.order.removeFirst()
            state.queued.remove(item)
            return item
        }
    }

}

/// Works through the repair queue in the background.
public struct RepairService: Service {
    static let idleMillis = 500
    let objects: ObjectService

    public init(objects: ObjectService) { self.objects = objects }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            guard let item = objects.repairs.next() else {
                try? await cancelWhenGracefulShutdown { try await objects.node.wallClock.sleep(millis: UInt64(Self.idleMillis)) }
                continue
            }
            do { try await objects.repair(item) } catch {
                objects.logger.warning("shard repair failed", metadata: ["shard": "\(item.versionID).\(item.slot)", "error": "\(error)"])
            }
        }
    }
}

extension ObjectService {
    func repair(_ item: RepairQueue.Item) async throws(ObjectError) {
        try await ShardRepairer(tables: metadata, access: access).repair(item, routing: await node.routing())
    }
}

/// Rebuilds one shard of an object's current version (of its body, or of
/// one of its parts) from k others and writes it to the slot's owner,
/// replacing what is there. Needs only the object tables and the shards
/// (here and through the transport).
struct ShardRepairer: Sendable {
    let tables: any ObjectTables
    let access: ShardAccess

    func repair(_ item: RepairQueue.Item, routing: ClusterNode.Routing) async throws(ObjectError) {
        var (table, rowKey) = (item.bucket.hex, item.key)
        if let id = item.s3VersionID.flatMap(S3VersionID.init) {
            (table, rowKey) = (VersionTable.name(of: item.bucket.hex), VersionTable.rowKey(key: item.key, versionID: id))
        }
        _ = try await repair(table: table, rowKey: rowKey, objectKey: item.key, bucket: item.bucket, versionID: item.versionID,
                             slot: item.slot, onlyOn: nil, routing: routing)
    }

    /// Rebuilds slot `slot` of the body `versionID` of a row (an object's, or
    /// a part row of an open upload) on the node the row names for it —
    /// only if that is `onlyOn`, when given. False when no row names the
    /// body there (the shard is nobody's: a stray, not a loss).
    func repair(table: String, rowKey: String, objectKey: String, bucket: BucketID, versionID: String, slot: Int, onlyOn node: NodeID?,
                routing: ClusterNode.Routing) async throws(ObjectError) -> Bool {
        guard let record = try await tables.read(table: table, bucket: bucket, key: rowKey, routing: routing),
              let body = record.body(named: versionID), body.blockCount > 0 else { return false }
        let owners = try routing.owners(of: body, bucket: bucket, key: objectKey)
        guard slot < owners.count, body.storedSlots.contains(slot) else { return false }
        if let node, owners[slot] != node { return false }
        guard routing.reachable(owners[slot]) else { throw .unavailable("the owner of slot \(slot) is not reachable") }
        let reader = try access.stripeReader(body, owners: owners, routing: routing, blocks: 0...(body.blockCount - 1), excluding: [slot])
        _ = try await access.writeSlots([slot], of: body, from: reader, to: owners, object: ObjectName(bucket: table, key: rowKey), routing: routing)
        access.logger.info("shard repaired", metadata: ["shard": "\(versionID).\(slot)", "owner": "\(owners[slot].shortForm)"])
        Counter(label: "shale_shards_repaired_total").increment()
        return true
    }
}
