import AsyncHTTPClient
import ClusterModel
import Foundation
import Logging
import Placement
import Storage
import Synchronization
import Testing
import Units
@testable import Node

/// The plan of one body, from who holds what and who should.
@Suite struct BodyRepairPlanTests {
    let ids = (1...7).map { NodeID(String(repeating: String($0), count: 64)) }

    func body(stored: [Int] = Array(0..<6)) -> StoredBody {
        StoredBody(versionID: String(repeating: "a", count: 32), size: 100, dataShards: 4, parityShards: 2, blockSizeBytes: 65536,
                   layoutVersion: LayoutVersion(1), storedSlots: stored)
    }

    @Test func aWholeBodyAtHomeNeedsNothing() {
        let plan = BodyRepairPlan(body(), holders: Array(ids.prefix(6)), owners: Array(ids.prefix(6))) { _ in true }
        #expect(!plan.isNeeded && plan.surviving == 6 && plan.isRecoverable)
    }

    @Test func aReplacedOwnerIsLostAndWrittenToItsSuccessor() {
        var owners = Array(ids.prefix(6))
        owners[5] = ids[6]
        let plan = BodyRepairPlan(body(), holders: Array(ids.prefix(6)), owners: owners) { $0 != 5 }
        #expect(plan.writes == [5] && plan.lost == [5] && plan.surviving == 5)
    }

    @Test func aMovedShardIsCopiedNotDecodedAndAMissingOneIsLost() {
        var owners = Array(ids.prefix(6))
        owners[2] = ids[6]
        // Slot 2 moved (intact at its old holder); slot 4's file is gone; slot 5 was never written.
        let plan = BodyRepairPlan(body(stored: [0, 1, 2, 3, 4]), holders: Array(ids.prefix(6)), owners: owners) { $0 != 4 }
        #expect(plan.writes == [2, 4, 5] && plan.lost == [4, 5] && plan.surviving == 4 && plan.isRecoverable)
    }

    @Test func fewerThanKIntactIsUnrecoverable() {
        let plan = BodyRepairPlan(body(), holders: Array(ids.prefix(6)), owners: Array(ids.prefix(6))) { $0 < 3 }
        #expect(plan.isNeeded && !plan.isRecoverable && plan.surviving == 3)
    }
}

/// The journal's order (fewest surviving first) and its counts.
@Suite struct RebuildJournalTests {
    @Test func pendingWorkComesFewestSurvivingFirstAndTotalsFollowTheStates() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("shale-journal-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let journal = RebuildJournal(store: try MetadataStore(metadataDir: dir))
        func work(_ key: String, partition: Int, surviving: Int, state: RebuildJournal.Work.State = .pending) -> RebuildJournal.Work {
            RebuildJournal.Work(table: "t", rowKey: key, objectKey: key, bucketHex: "t", versionID: key + "v", partition: partition,
                                surviving: surviving, writes: [5], lost: [5], bytes: 10, state: state)
        }
        try await journal.add([work("a", partition: 1, surviving: 5), work("b", partition: 2, surviving: 4), work("c", partition: 2, surviving: 5),
                               work("d", partition: 3, surviving: 3, state: .unrecoverable)])
        #expect(try await journal.work(in: .pending, limit: 10).map(\.rowKey) == ["b", "a", "c"])
        try await journal.mark(work("b", partition: 2, surviving: 4), .done)
        try await journal.mark(work("a", partition: 1, surviving: 5), .failed)
        var totals = try await journal.totals()
        #expect(totals.items == 4 && totals.itemsDone == 1 && totals.failed == 1 && totals.unrecoverable == 1)
        #expect(totals.partitions == 3 && totals.partitionsDone == 1, "partition 3 holds only an unrecoverable body: nothing left to do there")
        #expect(try await journal.retryFailed() == 1)
        try await journal.mark(work("c", partition: 2, surviving: 5), .done)
        totals = try await journal.totals()
        #expect(totals.partitionsDone == 2 && totals.bytes == 40 && totals.bytesDone == 20)
        try await journal.saveJob(Data("{}".utf8))
        #expect(try await journal.loadJob() == Data("{}".utf8))
    }
}

@Suite(.serialized) struct SimulatedRebuildTests {
    func body(_ size: Int, seed: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: ($0 &* 2654435761 &+ seed) >> 7) } }

    /// Node 6 is lost with its disk and replaced by a new node 7: the dry
    /// run counts what is missing, the rebuild writes it, verify finds
    /// every shard intact on its current owner, and with two more nodes
    /// down every object still reads back (redundancy really restored).
    @Test func aReplacedNodeIsRebuiltAndRedundancyIsReal() async throws {
        let sim = try await SimulatedCluster.start()
        var objects: [String: [UInt8]] = [:]
        for i in 0..<12 {
            let bytes = body(i % 3 == 0 ? 3 * 65536 + i : 1000 + i, seed: i)
            _ = try await sim.put("r/\(i)", bytes, via: i % 6)
            objects["r/\(i)"] = bytes
        }
        let lost = sim.nodes[5]
        sim.network.faults.setDown([lost.id])
        try FileManager.default.removeItem(atPath: lost.config.dataDir)
        sim.clock.advance(byMillis: 60_000)
        let (newcomer, newService) = try SimulatedCluster.makeNode(7, root: sim.root, network: sim.network, clock: sim.clock)
        let nodes = Array(sim.nodes.prefix(5)) + [newcomer]
        let services = Array(sim.services.prefix(5)) + [newService]
        try await SimulatedCluster.heartbeat(nodes)
        let first = sim.nodes[0]
        try await first.layoutAssign(nodes: [newcomer.id.rawValue], role: NodeRole(zone: ZoneName("dc3"), capacity: ByteCount(bytes: 1 << 40)),
                                     replace: lost.id.rawValue)
        _ = try await first.layoutApply(version: LayoutVersion(2))
        let state = try JSONEncoder().encode(SyncMessage(state: await first.state))
        for node in nodes.dropFirst() { _ = try await node.answerSync(state, from: first.id) }

        let before = try await services[1].verifyRedundancy()
        #expect(!before.fullyRedundant && before.unrecoverable == 0 && before.partitionsFull < PartitionID.count)

        let maintenance = Maintenance(objects: services[0])
        let plan = try await maintenance.startRebuild(dryRun: true, reason: "test")
        #expect(plan.dryRun && plan.objectsTotal > 0 && plan.unrecoverableCount == 0 && plan.bytesTotal > 0, "\(plan)")
        #expect(await maintenance.rebuildStatus().phase == .idle, "a dry run is not a job")

        _ = try await maintenance.startRebuild(dryRun: false, reason: "test")
        await maintenance.rebuild.waitForJob()
        let done = await maintenance.rebuildStatus()
        #expect(done.phase == .done, "\(done)")
        #expect(done.objectsDone == plan.objectsTotal && done.objectsTotal == plan.objectsTotal && done.bytesRestored == plan.bytesTotal)
        #expect(done.partitionsDone == done.partitionsTotal && done.verify?.fullyRedundant == true)
        let after = try await services[4].verifyRedundancy()
        #expect(after.fullyRedundant && after.partitionsFull == PartitionID.count, "\(after.problems.prefix(5))")

        // Nothing is left to do, and a second run says so.
        let again = try await maintenance.startRebuild(dryRun: true, reason: "test")
        #expect(again.objectsTotal == 0)

        // Two more nodes down: every object still reads, from four of its six shards.
        sim.network.faults.setDown([lost.id, nodes[0].id, nodes[1].id])
        for (key, bytes) in objects {
            let version = try await services[3].head(bucket: sim.bucket, key: key)
            let plan = try await services[3].planRead(version, bucket: sim.bucket, key: key)
            let collected = Mutex<[UInt8]>([])
            try await services[3].read(plan, range: 0..<version.size) { buffer in collected.withLock { $0 += buffer.readableBytesView } }
            #expect(collected.withLock { $0 } == bytes, "\(key)")
        }
    }

    /// A rebuild stopped in the middle (the node shutting down) is resumed
    /// by a new coordinator from the journal and finishes; nothing it had
    /// finished is counted again.
    @Test func anInterruptedRebuildResumesFromItsJournal() async throws {
        let sim = try await SimulatedCluster.start()
        for i in 0..<20 { _ = try await sim.put("j/\(i)", body(2 * 65536, seed: i), via: 0) }
        // Slot files of node 2 gone (its disk replaced, same id): every object is a shard short there.
        try FileManager.default.removeItem(atPath: sim.nodes[1].config.dataDir)
        try FileManager.default.createDirectory(atPath: sim.nodes[1].config.dataDir, withIntermediateDirectories: true)

        let first = Maintenance(objects: sim.services[0])
        let started = try await first.startRebuild(dryRun: false, reason: "test")
        #expect(started.phase == .planning)
        await first.rebuild.stop()
        let stopped = await first.rebuildStatus()
        #expect(stopped.isRunning, "a stopped job stays open in the journal: \(stopped.phase)")

        let second = Maintenance(objects: sim.services[0])
        await second.rebuild.resume()
        await second.rebuild.waitForJob()
        let done = await second.rebuildStatus()
        #expect(done.phase == .done, "\(done)")
        #expect(done.objectsDone == done.objectsTotal && done.objectsTotal == 20, "\(done)")
        #expect(done.bytesRestored <= done.bytesTotal)
        #expect(try await sim.services[5].verifyRedundancy().fullyRedundant)
    }

    /// A node this one has not heard from lately (just restarted, say)
    /// may well hold its shards: the rebuild does not rewrite them onto it
    /// behind its back; those bodies fail, are retried, and the job ends
    /// incomplete, having written nothing.
    @Test func anOwnerNotHeardFromIsNotRewritten() async throws {
        let sim = try await SimulatedCluster.start()
        for i in 0..<4 { _ = try await sim.put("q/\(i)", body(65536 + i, seed: i), via: 0) }
        // Node 6 still answers on the network, but node 1 has not had its heartbeat for a minute.
        sim.clock.advance(byMillis: 60_000)
        try await SimulatedCluster.heartbeat(Array(sim.nodes.prefix(5)))
        let maintenance = Maintenance(objects: sim.services[0])
        _ = try await maintenance.startRebuild(dryRun: false, reason: "test")
        await maintenance.rebuild.waitForJob()
        let status = await maintenance.rebuildStatus()
        #expect(status.phase == .incomplete && status.bytesRestored == 0 && status.objectsTotal == 4, "\(status)")
        #expect(status.lastError?.contains("not reachable") == true, "\(status.lastError ?? "")")
    }

    /// Scrub finds a flipped byte, a truncated file and a missing file (that
    /// its row names here), rebuilds each from the others, and verify then
    /// finds every shard intact.
    @Test func scrubRepairsBitRotTruncationAndLoss() async throws {
        let sim = try await SimulatedCluster.start()
        let version = try await sim.put("s/a", body(3 * 65536 + 7, seed: 4), via: 0)
        let other = try await sim.put("s/b", body(65536 + 7, seed: 5), via: 1)
        var damaged: [String] = []
        // Two of s/a's shards (m = 2: it stays readable), one of s/b's.
        for slot in 0..<3 {
            let key = ShardKey(versionID: slot < 2 ? version.versionID : other.versionID, slot: slot)!
            guard let service = sim.services.first(where: { FileManager.default.fileExists(atPath: $0.shards.path(of: key)) }) else { continue }
            let path = service.shards.path(of: key)
            switch slot {
            case 0:
                let handle = try #require(FileHandle(forUpdatingAtPath: path))
                try handle.seek(toOffset: UInt64(ShardFileFormat.headerBytes + 100))
                let byte = try #require(try handle.read(upToCount: 1))
                try handle.seek(toOffset: UInt64(ShardFileFormat.headerBytes + 100))
                try handle.write(contentsOf: Data([byte[0] ^ 0x5A]))
                try handle.close()
            case 1: #expect(truncate(path, off_t(ShardFileFormat.headerBytes + 10)) == 0)
            default: try FileManager.default.removeItem(atPath: path)
            }
            damaged.append(path)
        }
        #expect(damaged.count == 3)
        #expect(!(try await sim.services[0].verifyRedundancy().fullyRedundant))
        var bad = 0, repaired = 0
        for service in sim.services {
            _ = await service.scrubber.start()
            await service.scrubber.waitForPass()
            let status = await service.scrubber.current()
            #expect(status.shardsChecked == status.shardsTotal && !status.running)
            bad += status.bad
            repaired += status.repaired
        }
        #expect(bad == 3 && repaired == 3)
        #expect(try await sim.services[0].verifyRedundancy().fullyRedundant)
        #expect(try await sim.get("s/a", via: 3) == body(3 * 65536 + 7, seed: 4))
        #expect(try await sim.get("s/b", via: 4) == body(65536 + 7, seed: 5))
    }
}
