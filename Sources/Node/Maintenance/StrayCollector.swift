import ClusterModel
import Foundation
import Logging
import Metrics
import Placement
import Storage

extension ObjectService {
    func collectStrays() async {
        let graceSeconds = max(node.config.strayShardGraceSeconds, node.config.shardDeletionDelaySeconds)
        let collector = StrayCollector(tables: metadata, access: access, graceMillis: UInt64(graceSeconds) * 1000)
        _ = await collector.collect(routing: await node.routing())
    }
}

/// Deletes shards on this node that no current object version names:
/// left by a write whose coordinator died before its metadata, by a
/// deletion this node missed while down, or by a delayed deletion lost in a
/// restart. Only shards older than the grace period are looked at, so a
/// PUT in flight or a GET of a replaced version is safe; a shard found live
/// is looked at again one grace period later. Needs only the object tables
/// and this node's shards and index.
struct StrayCollector: Sendable {
    static let batchSize = 1000
    let tables: any ObjectTables
    let access: ShardAccess
    let graceMillis: UInt64

    /// One round; returns how many shards it deleted.
    func collect(routing: ClusterNode.Routing) async -> Int {
        let now = access.clock.nowMillis()
        guard now > graceMillis,
              let candidates = try? await access.index.shards(createdBefore: now - graceMillis, limit: Self.batchSize),
              !candidates.isEmpty else { return 0 }
        var collected = 0
        var live: [MetadataStore.LocalShard] = []
        // One metadata read per object, however many of its slots live here.
        var current: [ObjectName: CurrentVersion] = [:]
        for shard in candidates {
            let object = ObjectName(bucket: shard.bucket, key: shard.key)
            if current[object] == nil {
                guard let bucket = BucketID(hex: shard.bucket) else { continue }
                // A failed read (no quorum) decides nothing; a missing row means no version names the shard.
                do { current[object] = CurrentVersion(id: try await tables.read(bucket: bucket, key: shard.key, routing: routing)?.version?.versionID) } catch {
                    continue
                }
            }
            if current[object]?.id == shard.versionID {
                live.append(MetadataStore.LocalShard(versionID: shard.versionID, slot: shard.slot, bucket: shard.bucket,
                                                     key: shard.key, createdMillis: now))
                continue
            }
            do {
                try await access.deleteLocal(ShardDeleteMessage(versionID: shard.versionID, slots: [shard.slot]))
                collected += 1
            } catch {
                access.logger.warning("cannot collect a stray shard", metadata: ["shard": "\(shard.versionID).\(shard.slot)", "error": "\(error)"])
            }
        }
        try? await access.index.recordShards(live)
        if collected > 0 {
            access.logger.info("stray shards collected", metadata: ["count": "\(collected)"])
            Counter(label: "shale_stray_shards_collected_total").increment(by: collected)
        }
        return collected
    }
}

/// An object's newest version id as a quorum read found it (nil: deleted or never written).
struct CurrentVersion {
    let id: String?
}
