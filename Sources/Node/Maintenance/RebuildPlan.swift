import ClusterModel
import Erasure
import Foundation
import Placement
import Storage

/// What one erasure-coded body needs to be whole where the current layout
/// puts it: which slots to write on their current owner, and which of those
/// have no intact copy left to read (they are decoded from the others).
/// Pure: the holders, the owners and which shards are whole come in.
struct BodyRepairPlan: Equatable, Sendable {
    /// Slots to write on their current owner: moved (held elsewhere) or lost.
    var writes: [Int] = []
    /// Of `writes`, the slots with no intact copy anywhere readable.
    var lost: [Int] = []
    /// Intact shards readable now.
    var surviving = 0
    let dataShards: Int

    var isNeeded: Bool { !writes.isEmpty }
    /// k intact shards are enough to decode every other.
    var isRecoverable: Bool { surviving >= dataShards }

    /// `holders`: who holds each slot (the row's layout, handoffs in place);
    /// `owners`: each slot's owner under the current layout; `whole(slot)`:
    /// whether the holder has that shard intact and can be reached.
    init(_ body: StoredBody, holders: [NodeID], owners: [NodeID], whole: (Int) -> Bool) {
        dataShards = body.dataShards
        for slot in 0..<(body.dataShards + body.parityShards) {
            let intact = body.storedSlots.contains(slot) && slot < holders.count && whole(slot)
            if intact { surviving += 1 }
            let home = intact && slot < owners.count && holders[slot] == owners[slot]
            guard !home else { continue }
            writes.append(slot)
            if !intact { lost.append(slot) }
        }
    }
}

/// One body found in a table row, with where its shards are and should be.
struct PlacedBody: Sendable {
    let table: String
    let rowKey: String
    /// The key whose partition places the shards (a part row's object key).
    let objectKey: String
    let bucket: BucketID
    let body: StoredBody
    let holders: [NodeID]
    let owners: [NodeID]
    let partition: PartitionID

    init?(table: String, rowKey: String, objectKey: String, bucket: BucketID, body: StoredBody, routing: ClusterNode.Routing) {
        guard body.blockCount > 0, let current = routing.current,
              let holders = try? routing.owners(of: body, bucket: bucket, key: objectKey) else { return nil }
        self.table = table; self.rowKey = rowKey; self.objectKey = objectKey; self.bucket = bucket; self.body = body
        self.holders = holders
        partition = PartitionID(bucket: bucket, key: objectKey)
        owners = current.owners(of: partition)
    }

    /// Data bytes of one shard of this body (what a rebuild writes per slot).
    var shardBytes: UInt64 {
        guard let code = try? ErasureCode(dataShards: body.dataShards, parityShards: body.parityShards),
              let format = ObjectService.shardFormat(size: body.size, blockSize: body.blockSizeBytes, code: code) else { return 0 }
        return UInt64(format.dataLength)
    }
}

/// Asks each holder, in one call per node, which of a batch of shards it
/// holds whole. An unreachable node holds nothing, as far as a plan goes.
struct ShardSurvey: Sendable {
    let access: ShardAccess
    let peers: any PeerTransport

    struct Held: Hashable { let node: NodeID; let ref: ShardRef }

    func whole(_ bodies: [PlacedBody], routing: ClusterNode.Routing) async -> Set<Held> {
        var asked: [NodeID: [ShardRef]] = [:]
        for placed in bodies {
            for slot in placed.body.storedSlots where slot < placed.holders.count && routing.reachable(placed.holders[slot]) {
                asked[placed.holders[slot], default: []].append(ShardRef(versionID: placed.body.versionID, slot: slot))
            }
        }
        var held: Set<Held> = []
        for (node, refs) in asked {
            let answer: [Bool]
            if node == routing.selfID {
                answer = access.statLocal(refs)
            } else if let address = routing.addresses[node], let request = try? JSONEncoder().encode(ShardStatMessage(shards: refs)),
                      let data = try? await peers.call(.shardStat, to: node, at: address, body: request),
                      let reply = try? JSONDecoder().decode(ShardStatReply.self, from: data), reply.whole.count == refs.count {
                answer = reply.whole
            } else {
                continue
            }
            for (ref, whole) in zip(refs, answer) where whole { held.insert(Held(node: node, ref: ref)) }
        }
        return held
    }

    /// Each body's plan, from one survey of all of them.
    func plans(_ bodies: [PlacedBody], routing: ClusterNode.Routing) async -> [BodyRepairPlan] {
        let held = await whole(bodies, routing: routing)
        return bodies.map { placed in
            BodyRepairPlan(placed.body, holders: placed.holders, owners: placed.owners) { slot in
                held.contains(Held(node: placed.holders[slot], ref: ShardRef(versionID: placed.body.versionID, slot: slot)))
            }
        }
    }
}

extension ShardAccess {
    func statLocal(_ refs: [ShardRef]) -> [Bool] {
        refs.map { ref in ShardKey(versionID: ref.versionID, slot: ref.slot).map { shards.isWhole($0) } ?? false }
    }
}

extension ObjectService {
    func answerShardStat(_ body: Data) async throws(NodeError) -> Data {
        try await answerJSON(body, as: ShardStatMessage.self) { message in ShardStatReply(whole: access.statLocal(message.shards)) }
    }
}

/// Walks every table row of every bucket — object versions, and the parts
/// of uploads still open — and hands over the bodies in pages.
struct BodyWalk: Sendable {
    static let pageSize = 200
    let tables: any ObjectTables

    /// Runs on its caller's actor, so `page` may touch the caller's state.
    func run(buckets: [BucketID], routing: ClusterNode.Routing, isolation: isolated (any Actor)? = #isolation,
             page: ([PlacedBody]) async throws -> Void) async throws(ObjectError) {
        for bucket in buckets {
            for table in BucketTables.names(of: bucket.hex) {
                var after: String?
                // Upload rows sort just before their part rows: the last one seen says whether its parts are live.
                var openUpload: String?
                while true {
                    let listed = try await tables.listPage(table: table, bucket: bucket, prefix: "", after: after, limit: Self.pageSize, routing: routing)
                    var bodies: [PlacedBody] = []
                    for record in listed.records {
                        after = record.key
                        if let upload = record.upload {
                            openUpload = upload.state == .inProgress || upload.state == .completing
                                ? UploadTable.uploadRowKey(key: upload.key, uploadID: upload.uploadID) : nil
                        }
                        if let part = record.part, let parsed = UploadTable.parsePartRowKey(record.key),
                           openUpload == UploadTable.uploadRowKey(key: parsed.key, uploadID: parsed.uploadID),
                           let placed = PlacedBody(table: table, rowKey: record.key, objectKey: parsed.key, bucket: bucket, body: part.data,
                                                   routing: routing) {
                            bodies.append(placed)
                        }
                        // A version table's row key is the object key and the version id; placement goes by the object key.
                        let objectKey = VersionTable.bucketHex(ofTable: table) != nil ? VersionTable.parseRowKey(record.key)?.key ?? record.key : record.key
                        for body in record.version?.bodies ?? [] {
                            if let placed = PlacedBody(table: table, rowKey: record.key, objectKey: objectKey, bucket: bucket, body: body,
                                                       routing: routing) {
                                bodies.append(placed)
                            }
                        }
                    }
                    if !bodies.isEmpty {
                        do { try await page(bodies) } catch let error as ObjectError { throw error } catch { throw .internalError("\(error)") }
                    }
                    if listed.exhausted || listed.records.isEmpty { break }
                }
            }
        }
    }
}
