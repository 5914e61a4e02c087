import ClusterModel
import Erasure
import Foundation
import Logging
import Placement
import Storage
import Units

/// This node's way to shards anywhere: its own shard files and shard index,
/// and the shard transport to the others. The data path and the
/// maintenance workers use it alike, so neither needs the other.
struct ShardAccess: Sendable {
    let shards: ShardStore
    /// The local shard index lives in the metadata store's SQLite file.
    let index: MetadataStore
    let transport: any ShardTransport
    let clock: any WallClock
    let readerSettings: StripeReaderSettings

    var logger: Logger { readerSettings.logger }

    /// Notes shards of `object` in this node's shard index, in one
    /// transaction, before their files are written: a shard no version
    /// references can then be found and collected.
    func note(_ keys: [ShardKey], of object: ObjectName) async throws(NodeError) {
        let now = clock.nowMillis()
        let notes = keys.map {
            MetadataStore.LocalShard(versionID: $0.versionID, slot: $0.slot, bucket: object.bucket, key: object.key, createdMillis: now)
        }
        do {
            try await index.recordShards(notes)
            if object.handoff { try await index.recordHandoffs(notes) }
        } catch { throw .disk(error) }
    }

    /// A sink for each of `slots` of a new shard set: a file where the owner
    /// is this node, the transport's upload to the owner otherwise. A slot
    /// whose sink cannot be opened is left out (and logged); the caller counts.
    /// `handoffs`: slots written for an owner that is away (their holder notes them for the handoff mover).
    func openSinks(versionID: String, slots: [Int], owners: [NodeID], format: ShardFileFormat, object: ObjectName,
                   routing: ClusterNode.Routing, handoffs: Set<Int> = []) async -> [Int: any ShardSink] {
        let keys = Dictionary(uniqueKeysWithValues: slots.map { ($0, ShardKey(versionID: versionID, slot: $0)!) })
        var handoffObject = object
        handoffObject.handoff = true
        let local = slots.filter { owners[$0] == routing.selfID }
        var sinks: [Int: any ShardSink] = [:]
        do {
            try await note(local.filter { !handoffs.contains($0) }.map { keys[$0]! }, of: object)
            try await note(local.filter { handoffs.contains($0) }.map { keys[$0]! }, of: handoffObject)
        } catch {
            logger.error("cannot note shards in the shard index", metadata: ["error": "\(error)"])
        }
        for slot in slots {
            let owner = owners[slot]
            if owner == routing.selfID {
                do { sinks[slot] = try LocalShardSink(store: shards, key: keys[slot]!, format: format) } catch {
                    logger.error("cannot create shard file", metadata: ["error": "\(error)"])
                }
            } else if let address = routing.addresses[owner] {
                sinks[slot] = await transport.sink(for: keys[slot]!, format: format, object: handoffs.contains(slot) ? handoffObject : object,
                                                   on: owner, at: address)
            }
        }
        return sinks
    }

    /// Writes `slots` of `body` to their nodes in `owners`, block by block,
    /// each slot read or decoded by `reader`; every shard is durable on its
    /// node when this returns, and on any failure every one is aborted.
    /// `pace` hears of each piece written (a rate budget). Returns the shard
    /// bytes written. Repairs and rebuilds share it.
    func writeSlots(_ slots: [Int], of body: StoredBody, from reader: StripeReader, to owners: [NodeID], object: ObjectName,
                    routing: ClusterNode.Routing, pace: (UInt64) async -> Void = { _ in }) async throws(ObjectError) -> UInt64 {
        let sinks = await openSinks(versionID: body.versionID, slots: slots, owners: owners, format: reader.format, object: object, routing: routing)
        guard sinks.count == slots.count else {
            for sink in sinks.values { await sink.abort() }
            let missing = slots.filter { sinks[$0] == nil }.map { owners[$0].shortForm }
            throw .unavailable("cannot open shards on \(missing.joined(separator: ", "))")
        }
        var written: UInt64 = 0
        do throws(ObjectError) {
            let targets = ShardSet(slots)
            for block in 0..<body.blockCount {
                let stripe = try await reader.read(block: block, rebuilding: targets)
                for slot in slots {
                    let shard = UnsafeRawBufferPointer(stripe.shard(slot))
                    do { try await sinks[slot]!.write(shard, crc: CRC32C.checksum(shard)) } catch {
                        throw .unavailable("writing slot \(slot) to \(owners[slot].shortForm): \(error)")
                    }
                    written += UInt64(shard.count)
                    await pace(UInt64(shard.count))
                }
            }
            for slot in slots {
                do { try await sinks[slot]!.finish() } catch { throw .unavailable("finishing slot \(slot) on \(owners[slot].shortForm): \(error)") }
            }
        } catch {
            for sink in sinks.values { await sink.abort() }
            throw error
        }
        return written
    }

    /// A reader of a body's shards on its owners as `routing` sees them.
    func stripeReader(_ body: StoredBody, owners: [NodeID], routing: ClusterNode.Routing, blocks: ClosedRange<Int>,
                      excluding excluded: Set<Int> = []) throws(ObjectError) -> StripeReader {
        let opener = ClusterShardOpener(shards: shards, transport: transport, routing: routing,
                                        slowShardTimeoutMillis: readerSettings.slowShardTimeoutMillis, logger: logger)
        return try StripeReader(body, owners: owners, opener: opener, settings: readerSettings, blocks: blocks, excluding: excluded)
    }

    /// Deletes shards of this node and forgets them in the index.
    func deleteLocal(_ message: ShardDeleteMessage) async throws(NodeError) {
        for slot in message.slots {
            guard let key = ShardKey(versionID: message.versionID, slot: slot) else { throw .invalidRequest("bad shard name") }
            do { try shards.delete(key) } catch { throw .disk(error) }
        }
        do { try await index.forgetShards(versionID: message.versionID, slots: message.slots) } catch { throw .disk(error) }
    }
}

extension ClusterNode.Routing {
    /// The nodes holding a body's slots: the partition's owners under the
    /// layout the body was written with, with its handoffs in their place.
    func owners(of body: StoredBody, bucket: BucketID, key: String) throws(ObjectError) -> [NodeID] {
        body.holders(owners: try homeOwners(of: body, bucket: bucket, key: key))
    }

    /// The slots' owners under the body's layout, handoffs aside.
    func homeOwners(of body: StoredBody, bucket: BucketID, key: String) throws(ObjectError) -> [NodeID] {
        guard let layout = layout(body.layoutVersion) else {
            throw .unreadable("layout version \(body.layoutVersion) is unknown here")
        }
        return layout.owners(of: PartitionID(bucket: bucket, key: key))
    }
}
