import ClusterModel
import Foundation
import Logging
import Placement
import Storage
import Units

/// `shale rebuild verify`: for every live object version, every slot of
/// every body must have an intact shard (header and every chunk's CRC32C)
/// on the node its row names. The answer is a fact about the disks, read
/// now, not a count kept by a job.
public struct RedundancyReport: Codable, Sendable, Equatable {
    public struct Problem: Codable, Sendable, Equatable {
        public let bucket: String
        public let key: String
        public let versionID: String
        public let slot: Int
        public let node: String
        /// "missing", "damaged", "unreachable", "not written", or "misplaced"
        /// (intact, but on a handoff node or a former owner, not the slot's
        /// owner under the current layout: a rebuild or the handoff mover moves it).
        public let state: String
        public let detail: String?
    }

    public var checkedAtMillis: UInt64
    public var objects: Int = 0
    public var bytes: UInt64 = 0
    public var shards: Int = 0
    public var problems: [Problem] = []
    /// Objects with fewer than k good shards: data lost unless a node comes back.
    public var unrecoverable: Int = 0
    /// Per partition, the worst of its bodies: all k + m shards intact and
    /// home (full), some short (degraded, by how many shards), or fewer
    /// than k intact (unavailable). Partitions without objects are full.
    public var partitionsFull: Int = PartitionID.count
    /// Shards short → partitions.
    public var partitionsDegraded: [Int: Int] = [:]
    public var partitionsUnavailable: Int = 0

    public init(checkedAtMillis: UInt64) { self.checkedAtMillis = checkedAtMillis }

    public var fullyRedundant: Bool { problems.isEmpty }
}

extension ObjectService {
    /// Checks every live object version of every bucket (see `RedundancyReport`).
    public func verifyRedundancy() async throws(ObjectError) -> RedundancyReport {
        let routing = await node.routing()
        var report = RedundancyReport(checkedAtMillis: node.wallClock.nowMillis())
        let buckets = await node.state.liveBuckets.values.sorted { $0.name < $1.name }
        var shortest: [Int: Int] = [:]
        for bucket in buckets {
            // The objects, and in a versioned bucket every version (noncurrent ones need their redundancy too).
            for table in [bucket.bucketID.hex, VersionTable.name(of: bucket.bucketID.hex)] {
                let versions = table != bucket.bucketID.hex
                var after: String?
                while true {
                    let page = try await metadata.listPage(table: table, bucket: bucket.bucketID, prefix: "", after: after, limit: 500,
                                                           routing: routing)
                    for record in page.records {
                        after = record.key
                        guard let version = record.version else { continue }
                        let key = versions ? VersionTable.parseRowKey(record.key)?.key ?? record.key : record.key
                        report.objects += 1
                        report.bytes += version.size
                        let partition = PartitionID(bucket: bucket.bucketID, key: key).index
                        for body in version.bodies {
                            let (intact, home) = await check(body, bucket: bucket, key: key, routing: routing, into: &report)
                            if intact < body.dataShards { report.unrecoverable += 1 }
                            let short = intact < body.dataShards ? Int.max : body.dataShards + body.parityShards - home
                            shortest[partition] = max(shortest[partition] ?? 0, short)
                        }
                    }
                    if page.exhausted || page.records.isEmpty { break }
                }
            }
        }
        for short in shortest.values where short > 0 {
            report.partitionsFull -= 1
            if short == Int.max { report.partitionsUnavailable += 1 } else { report.partitionsDegraded[short, default: 0] += 1 }
        }
        return report
    }

    /// Checks one body's slots; returns how many are intact, and how many of those on their current owner.
    private func check(_ body: StoredBody, bucket: BucketRecord, key: String, routing: ClusterNode.Routing,
                       into report: inout RedundancyReport) async -> (intact: Int, home: Int) {
        let holders: [NodeID]
        do { holders = try routing.owners(of: body, bucket: bucket.bucketID, key: key) } catch { holders = [] }
        let owners = routing.current?.owners(of: PartitionID(bucket: bucket.bucketID, key: key)) ?? []
        var intact = 0, home = 0
        for slot in 0..<(body.dataShards + body.parityShards) {
            report.shards += 1
            let holder = slot < holders.count ? holders[slot] : nil
            func problem(_ state: String, _ detail: String?) {
                report.problems.append(.init(bucket: bucket.name.rawValue, key: key, versionID: body.versionID, slot: slot,
                                             node: holder?.rawValue ?? "-", state: state, detail: detail))
            }
            guard body.storedSlots.contains(slot), let holder else { problem("not written", "the write did not reach this slot"); continue }
            let answer: ShardCheckReply
            if holder == routing.selfID {
                answer = checkLocal(ShardCheckMessage(versionID: body.versionID, slot: slot))
            } else if routing.reachable(holder), let address = routing.addresses[holder],
                      let body = try? JSONEncoder().encode(ShardCheckMessage(versionID: body.versionID, slot: slot)),
                      let data = try? await peers.call(.shardCheck, to: holder, at: address, body: body),
                      let decoded = try? JSONDecoder().decode(ShardCheckReply.self, from: data) {
                answer = decoded
            } else {
                problem("unreachable", "the holder did not answer")
                continue
            }
            guard answer.state == "intact" else { problem(answer.state, answer.detail); continue }
            intact += 1
            if slot < owners.count, owners[slot] == holder {
                home += 1
            } else {
                problem("misplaced", "intact, but its owner is \(slot < owners.count ? owners[slot].shortForm : "-")")
            }
        }
        return (intact, home)
    }

    /// Reads a shard of this node whole, every chunk's CRC checked.
    func checkLocal(_ message: ShardCheckMessage) -> ShardCheckReply {
        guard let key = ShardKey(versionID: message.versionID, slot: message.slot) else { return ShardCheckReply(state: "missing", detail: "bad shard name") }
        switch shards.scan(key) {
        case .intact: return ShardCheckReply(state: "intact", detail: nil)
        case .missing: return ShardCheckReply(state: "missing", detail: nil)
        case .truncated: return ShardCheckReply(state: "damaged", detail: "cut short")
        case .damaged(_, _, let reason): return ShardCheckReply(state: "damaged", detail: reason)
        }
    }

    func answerShardCheck(_ body: Data) async throws(NodeError) -> Data {
        try await answerJSON(body, as: ShardCheckMessage.self) { message in checkLocal(message) }
    }
}
