import ClusterModel
import Erasure
import Foundation
import Logging
import Metrics
import Placement
import Storage
import Units

extension ObjectService {
    func moveHandoffsHome() async {
        let mover = HandoffMover(tables: metadata, access: access, bytesPerSecond: UInt64(node.config.transferRateMiBPerSecond) << 20,
                                 ballot: { self.stamp(replacing: $0) })
        _ = await mover.run(routing: await node.routing())
    }
}

/// Moves the shards this node holds for absent owners (handoffs) home once
/// the owner is reachable again: copies the shard to its owner chunk by
/// chunk (every chunk's CRC32C checked on the way out and again on
/// arrival), makes it durable there, records in the object's row that the
/// slot is home, and only then deletes the copy here. Resumable: the work
/// list is the node's `handoff_shards` table, and each step can be repeated.
struct HandoffMover: Sendable {
    static let batchSize = 200
    let tables: any ObjectTables
    let access: ShardAccess
    /// 0: no limit.
    let bytesPerSecond: UInt64
    /// Ballots for the row edits (this node's hybrid clock).
    let ballot: @Sendable (Stamp?) -> Stamp

    /// One pass over the handoffs held here; returns how many went home.
    func run(routing: ClusterNode.Routing) async -> Int {
        var moved = 0
        var cursor: (versionID: String, slot: Int)?
        var budget = RateBudget(bytesPerSecond: bytesPerSecond, clock: access.clock)
        while let batch = try? await access.index.handoffShards(after: cursor, limit: Self.batchSize), !batch.isEmpty {
            for shard in batch {
                cursor = (shard.versionID, shard.slot)
                do {
                    if try await move(shard, routing: routing, budget: &budget) { moved += 1 }
                } catch {
                    access.logger.info("handoff not moved home yet", metadata: ["shard": "\(shard.versionID).\(shard.slot)", "error": "\(error)"])
                }
            }
        }
        if moved > 0 {
            access.logger.info("handoff shards moved home", metadata: ["count": "\(moved)"])
            Counter(label: "shale_handoff_shards_moved_home_total").increment(by: moved)
        }
        return moved
    }

    /// Where a handoff shard's row is: the part row of an open upload, or the object's row.
    func row(of shard: MetadataStore.LocalShard, routing: ClusterNode.Routing) async throws(ObjectError)
        -> (table: String, bucket: BucketID, key: String, objectKey: String, record: ObjectRecord?)?
    {
        if let bucketHex = UploadTable.bucketHex(ofTable: shard.bucket) {
            guard let bucket = BucketID(hex: bucketHex), let part = UploadTable.parsePartRowKey(shard.key) else { return nil }
            let partRow = try await tables.read(table: shard.bucket, bucket: bucket, key: shard.key, routing: routing)
            if partRow?.part?.data.versionID == shard.versionID { return (shard.bucket, bucket, shard.key, part.key, partRow) }
            let completed = try await tables.completedObjectRow(bucket: bucket, key: part.key, uploadID: part.uploadID, routing: routing)
            return (completed.table, bucket, completed.rowKey, part.key,
                    try await tables.read(table: completed.table, bucket: bucket, key: completed.rowKey, routing: routing))
        }
        if let bucketHex = VersionTable.bucketHex(ofTable: shard.bucket) {
            guard let bucket = BucketID(hex: bucketHex), let parsed = VersionTable.parseRowKey(shard.key) else { return nil }
            return (shard.bucket, bucket, shard.key, parsed.key, try await tables.read(table: shard.bucket, bucket: bucket, key: shard.key, routing: routing))
        }
        guard let bucket = BucketID(hex: shard.bucket) else { return nil }
        return (shard.bucket, bucket, shard.key, shard.key, try await tables.read(bucket: bucket, key: shard.key, routing: routing))
    }

    /// Moves one shard home; false when its owner is still away. A shard
    /// whose version's row no longer names it as a handoff here is only
    /// forgotten (the stray collector judges its file). A shard whose
    /// version no row names is kept on the list: its PUT may have written
    /// the shards and not yet the row (a mover that forgot it then left it
    /// on this node for good). If the row never comes, the stray collector
    /// deletes the file after its grace, and the note with it.
    func move(_ shard: MetadataStore.LocalShard, routing: ClusterNode.Routing, budget: inout RateBudget) async throws -> Bool {
        guard let found = try await row(of: shard, routing: routing) else {
            try await access.index.forgetHandoff(versionID: shard.versionID, slot: shard.slot)
            return false
        }
        guard let record = found.record, let body = record.body(named: shard.versionID) else { return false }
        guard body.handoffs?.contains(where: { $0.slot == shard.slot && $0.node == routing.selfID }) == true else {
            try await access.index.forgetHandoff(versionID: shard.versionID, slot: shard.slot)
            return false
        }
        let home = try routing.homeOwners(of: body, bucket: found.bucket, key: found.objectKey)
        guard shard.slot < home.count, home[shard.slot] != routing.selfID, routing.reachable(home[shard.slot]) else { return false }
        guard let key = ShardKey(versionID: shard.versionID, slot: shard.slot) else { return false }

        let reader: ShardFileReader
        do { reader = try access.shards.reader(for: key) } catch { throw ObjectError.unreadable("\(error)") }
        let sinks = await access.openSinks(versionID: shard.versionID, slots: [shard.slot], owners: home, format: reader.format,
                                           object: ObjectName(bucket: shard.bucket, key: shard.key), routing: routing)
        guard let sink = sinks[shard.slot] else { throw ObjectError.unavailable("cannot open the shard on its owner") }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: reader.format.chunkSize, alignment: 64)
        defer { buffer.deallocate() }
        do {
            for chunk in 0..<reader.format.chunkCount {
                let (length, crc) = try reader.readChunk(chunk, into: buffer)
                try await sink.write(UnsafeRawBufferPointer(rebasing: buffer[0..<length]), crc: crc)
                await budget.spend(UInt64(length))
            }
            try await sink.finish()
        } catch {
            await sink.abort()
            throw error
        }
        // The row edit: a compare-and-set, so movers of other slots of the same row never undo each
        // other's edits; stamped just above the row it edits, so any write that read that row outranks
        // it and a new version written meanwhile is never undone (the edit then finds no handoff to move,
        // and the copy here is a stray).
        do throws(ObjectError) {
            _ = try await tables.compareAndSet(table: found.table, bucket: found.bucket, key: found.key, routing: routing, ballot: ballot,
                                               keepDecidedStamp: true) { current throws(ObjectError) in
                guard let current, var edited = current.movingHome(versionID: shard.versionID, slot: shard.slot) else { throw .preconditionFailed }
                edited.stamp = current.stamp.justAbove
                return edited
            }
        } catch {
            guard error == .preconditionFailed else { throw error }
            try await access.index.forgetHandoff(versionID: shard.versionID, slot: shard.slot)
            return false
        }
        // Only now, with the quorum's row naming the owner, does the copy here go.
        try await access.deleteLocal(ShardDeleteMessage(versionID: shard.versionID, slots: [shard.slot]))
        return true
    }
}

/// Paces background transfers to a rate: after each piece, sleeps as long
/// as the bytes sent so far are ahead of the rate.
struct RateBudget {
    let bytesPerSecond: UInt64
    let clock: any WallClock
    var started: UInt64?
    var sent: UInt64 = 0

    init(bytesPerSecond: UInt64, clock: any WallClock) {
        self.bytesPerSecond = bytesPerSecond
        self.clock = clock
    }

    mutating func spend(_ bytes: UInt64) async {
        let delay = account(bytes)
        if delay > 0 { try? await clock.sleep(millis: delay) }
    }

    /// Counts `bytes` as sent; returns how long to wait before sending more.
    mutating func account(_ bytes: UInt64) -> UInt64 {
        guard bytesPerSecond > 0 else { return 0 }
        let now = clock.nowMillis()
        let start = started ?? now
        started = start
        sent += bytes
        let due = start + sent * 1000 / bytesPerSecond
        return due > now ? due - now : 0
    }
}
