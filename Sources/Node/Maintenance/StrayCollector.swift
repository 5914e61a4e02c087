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

/// Deletes shards on this node that no current object version, and no part
/// of an open multipart upload, names:
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
        // One metadata read per row, however many of its slots live here.
        var rows: [ObjectName: RowLookup] = [:]
        func row(table: String, bucket: BucketID, key: String) async -> RowLookup {
            let name = ObjectName(bucket: table, key: key)
            if let known = rows[name] { return known }
            // A failed read (no quorum) decides nothing; a missing row names no shard.
            let found: RowLookup
            do { found = .found(try await tables.read(table: table, bucket: bucket, key: key, routing: routing)) } catch { found = .unknown }
            rows[name] = found
            return found
        }
        // Live only where the row puts it: a copy left behind by a handoff moved home is a stray.
        func heldHere(_ record: ObjectRecord?, _ shard: MetadataStore.LocalShard, bucket: BucketID, objectKey: String) -> Bool {
            guard let body = record?.body(named: shard.versionID) else { return false }
            guard let holders = try? routing.owners(of: body, bucket: bucket, key: objectKey) else { return true }
            return shard.slot < holders.count && holders[shard.slot] == routing.selfID
        }
        for shard in candidates {
            let isLive: Bool
            if let bucketHex = UploadTable.bucketHex(ofTable: shard.bucket) {
                // A part's shard: live while its upload is open and the part row names it, or once a completed object does.
                guard let bucket = BucketID(hex: bucketHex), let part = UploadTable.parsePartRowKey(shard.key) else { continue }
                guard case .found(let object) = await row(table: bucketHex, bucket: bucket, key: part.key) else { continue }
                if object?.body(named: shard.versionID) != nil {
                    isLive = heldHere(object, shard, bucket: bucket, objectKey: part.key)
                } else {
                    let uploadKey = UploadTable.uploadRowKey(key: part.key, uploadID: part.uploadID)
                    guard case .found(let upload) = await row(table: shard.bucket, bucket: bucket, key: uploadKey),
                          case .found(let partRow) = await row(table: shard.bucket, bucket: bucket, key: shard.key) else { continue }
                    let open = upload?.upload.map { $0.state == .inProgress || $0.state == .completing } ?? false
                    var inVersion: ObjectRecord?
                    if let id = upload?.upload?.completion?.s3VersionID.flatMap(S3VersionID.init) {
                        // Completed into a versioning-enabled bucket: the part lives on in its version's row.
                        guard case .found(let version) = await row(table: VersionTable.name(of: bucketHex), bucket: bucket,
                                                                   key: VersionTable.rowKey(key: part.key, versionID: id)) else { continue }
                        inVersion = version?.body(named: shard.versionID) != nil ? version : nil
                    }
                    if let inVersion {
                        isLive = heldHere(inVersion, shard, bucket: bucket, objectKey: part.key)
                    } else {
                        isLive = open && partRow?.part?.data.versionID == shard.versionID
                            && heldHere(partRow, shard, bucket: bucket, objectKey: part.key)
                    }
                }
            } else if let bucketHex = VersionTable.bucketHex(ofTable: shard.bucket) {
                // A version's shard (versioned bucket): live while its version row names it.
                guard let bucket = BucketID(hex: bucketHex), let parsed = VersionTable.parseRowKey(shard.key),
                      case .found(let version) = await row(table: shard.bucket, bucket: bucket, key: shard.key) else { continue }
                isLive = heldHere(version, shard, bucket: bucket, objectKey: parsed.key)
            } else {
                guard let bucket = BucketID(hex: shard.bucket),
                      case .found(let object) = await row(table: shard.bucket, bucket: bucket, key: shard.key) else { continue }
                isLive = heldHere(object, shard, bucket: bucket, objectKey: shard.key)
            }
            if isLive {
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

/// A table row as a quorum read found it (nil: deleted or never written),
/// or unknown when no quorum answered.
enum RowLookup {
    case found(ObjectRecord?)
    case unknown
}
