import ClusterModel
import Foundation
import Logging
import Metrics
import Placement
import Storage
import Units

/// A scrub of one node's shards as `shale scrub status` shows it.
public struct ScrubStatus: Codable, Sendable, Equatable {
    /// A shard the scrub found bad, and what became of it.
    public struct Finding: Codable, Sendable, Equatable {
        public let versionID: String
        public let slot: Int
        /// "missing", "damaged" (a chunk's CRC32C does not match) or "truncated".
        public let state: String
        /// "repaired", or why not.
        public let outcome: String
    }

    public var node: String
    public var running = false
    public var startedMillis: UInt64?
    public var finishedMillis: UInt64?
    public var passes = 0
    /// Shards in this node's index when the pass began (its progress is `shardsChecked` of these).
    public var shardsTotal = 0
    public var shardsChecked = 0
    public var chunksChecked = 0
    public var bytesChecked: UInt64 = 0
    /// Shards this node should hold (a row names it) found missing, damaged or truncated.
    public var bad = 0
    public var repaired = 0
    public var unrepairable = 0
    /// Temporary files of writes that never finished (a crash), removed.
    public var leftoversRemoved = 0
    /// Shard-named files this node never noted writing: left in place and
    /// reported, never deleted (they may be the only copy if the metadata
    /// directory was lost while the data directory survived).
    public var unindexedFiles = 0
    /// The first hundred findings of the pass.
    public var findings: [Finding] = []

    public init(node: String) { self.node = node }
}

/// Reads every shard file of this node at a limited rate, checking every
/// chunk's CRC32C; a shard that is bad (or missing, where its row names this
/// node) is rebuilt in place from the others. Passes run in the background
/// every `scrub_interval_hours` and on `shale scrub start`.
public actor Scrubber {
    static let batchSize = 500
    static let findingsListed = 100

    let access: ShardAccess
    let tables: any ObjectTables
    let node: ClusterNode
    private var status: ScrubStatus
    private var pass: Task<Void, Never>?

    init(access: ShardAccess, tables: any ObjectTables, node: ClusterNode) {
        self.access = access
        self.tables = tables
        self.node = node
        status = ScrubStatus(node: node.id.rawValue)
    }

    func current() -> ScrubStatus { status }

    /// Starts a pass unless one runs; returns the status.
    func start() -> ScrubStatus {
        guard !status.running else { return status }
        var fresh = ScrubStatus(node: status.node)
        fresh.passes = status.passes
        fresh.running = true
        fresh.startedMillis = node.wallClock.nowMillis()
        status = fresh
        pass = Task { await self.run() }
        return status
    }

    func waitForPass() async { await pass?.value }

    private func run() async {
        var budget = RateBudget(bytesPerSecond: UInt64(node.config.scrubRateMiBPerSecond) << 20, clock: node.wallClock)
        status.shardsTotal = (try? await access.index.shardCount()) ?? 0
        var cursor: (versionID: String, slot: Int)?
        while !Task.isCancelled, let batch = try? await access.index.localShards(after: cursor, limit: Self.batchSize), !batch.isEmpty {
            for shard in batch {
                cursor = (shard.versionID, shard.slot)
                guard let key = ShardKey(versionID: shard.versionID, slot: shard.slot) else { continue }
                let scan = access.shards.scan(key)
                status.shardsChecked += 1
                status.chunksChecked += scan.read.chunks
                status.bytesChecked += scan.read.bytes
                await budget.spend(scan.read.bytes)
                switch scan {
                case .intact: break
                case .missing: await handle(shard, state: "missing")
                case .truncated: await handle(shard, state: "truncated")
                case .damaged: await handle(shard, state: "damaged")
                }
            }
        }
        await sweepFiles(startedMillis: status.startedMillis ?? 0)
        status.running = false
        status.passes += 1
        status.finishedMillis = node.wallClock.nowMillis()
        access.logger.info("scrub pass finished", metadata: ["shards": "\(status.shardsChecked)", "bad": "\(status.bad)",
                                                              "repaired": "\(status.repaired)", "unrepairable": "\(status.unrepairable)"])
    }

    /// Walks the shard directories: temporary files untouched for the stray grace period are
    /// leftovers of writes that never finished (their shard was never
    /// renamed into place, so never acknowledged) and go; shard files not in
    /// the index are counted.
    private func sweepFiles(startedMillis: UInt64) async {
        // Untouched for the stray grace period: no write is still filling it.
        let grace = UInt64(node.config.strayShardGraceSeconds) * 1000
        for file in access.shards.files() {
            if file.temporary {
                guard file.modifiedMillis + grace < startedMillis, unlink(file.path) == 0 else { continue }
                status.leftoversRemoved += 1
                access.logger.info("removed the temporary file of an unfinished write", metadata: ["path": "\(file.path)"])
            } else if let key = file.key, (try? await access.index.hasShard(versionID: key.versionID, slot: key.slot)) == false {
                status.unindexedFiles += 1
            }
        }
    }

    /// A bad shard: rebuilt here when a row names this node for it; a
    /// shard no row names is a stray, left to the collector.
    private func handle(_ shard: MetadataStore.LocalShard, state: String) async {
        let routing = await node.routing()
        let table = shard.bucket
        // A part's shard is noted under its upload table and part row; an object's under its bucket and key.
        let uploadsOf = UploadTable.bucketHex(ofTable: table)
        let versionsOf = VersionTable.bucketHex(ofTable: table)
        let bucketHex = uploadsOf ?? versionsOf ?? table
        guard let bucket = BucketID(hex: bucketHex) else { return }
        let objectKey = uploadsOf != nil ? UploadTable.parsePartRowKey(shard.key)?.key ?? shard.key
            : versionsOf != nil ? VersionTable.parseRowKey(shard.key)?.key ?? shard.key : shard.key
        let repairer = ShardRepairer(tables: tables, access: access)
        let outcome: String
        do {
            var repaired = try await repairer.repair(table: table, rowKey: shard.key, objectKey: objectKey, bucket: bucket,
                                                     versionID: shard.versionID, slot: shard.slot, onlyOn: routing.selfID, routing: routing)
            if !repaired, uploadsOf != nil, let part = UploadTable.parsePartRowKey(shard.key) {
                // A part of a completed upload: its object's row (or its version's) names the shard now.
                let completed = try await tables.completedObjectRow(bucket: bucket, key: part.key, uploadID: part.uploadID, routing: routing)
                repaired = try await repairer.repair(table: completed.table, rowKey: completed.rowKey, objectKey: objectKey, bucket: bucket,
                                                     versionID: shard.versionID, slot: shard.slot, onlyOn: routing.selfID, routing: routing)
            }
            guard repaired else { return }
            outcome = "repaired"
            status.repaired += 1
            Counter(label: "shale_scrub_repaired_total").increment()
        } catch {
            outcome = "\(error)"
            status.unrepairable += 1
            Counter(label: "shale_scrub_unrepairable_total").increment()
        }
        status.bad += 1
        Counter(label: "shale_scrub_bad_shards_total").increment()
        if status.findings.count < Self.findingsListed {
            status.findings.append(.init(versionID: shard.versionID, slot: shard.slot, state: state, outcome: outcome))
        }
    }
}
