import ClusterModel
import Foundation
import NIOCore
@testable import Node
import Placement
import Storage
import Synchronization
import Testing

/// Small objects kept in their metadata row (`inline_max_bytes`, 16 KiB by
/// default) on the simulated six-node cluster: no shard files, readable
/// through every node and in ranges, replicated and repaired as rows.
@Suite(.serialized) struct InlineObjectTests {
    func body(_ size: Int, seed: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: ($0 &* 2654435761 &+ seed) >> 7) } }

    func rangeRead(_ sim: SimulatedCluster, _ key: String, _ range: Range<UInt64>, via index: Int) async throws -> [UInt8] {
        let service = sim.services[index]
        let version = try await service.head(bucket: sim.bucket, key: key)
        let plan = try await service.planRead(version, bucket: sim.bucket, key: key)
        let collected = Mutex<[UInt8]>([])
        try await service.read(plan, range: range) { buffer in collected.withLock { $0 += buffer.readableBytesView } }
        return collected.withLock { $0 }
    }

    @Test func aSmallObjectLivesInItsRowAndReadsEverywhere() async throws {
        let sim = try await SimulatedCluster.start()
        let bytes = body(5000, seed: 3)
        let version = try await sim.put("small", bytes, via: 0)
        #expect(version.isInline && version.storedSlots.isEmpty && version.bodies.isEmpty)
        #expect(sim.shardFiles(of: version.versionID) == 0, "no shard file for an inline object")
        for i in 0..<6 { #expect(try await sim.get("small", via: i) == bytes) }
        #expect(try await rangeRead(sim, "small", 100..<164, via: 4) == Array(bytes[100..<164]))
        #expect(try await rangeRead(sim, "small", 4999..<5000, via: 2) == [bytes[4999]])

        // Exactly at the threshold inline, one byte above in shards.
        let atLimit = try await sim.put("at", body(16 << 10, seed: 4), via: 1)
        let above = try await sim.put("above", body((16 << 10) + 1, seed: 5), via: 1)
        #expect(atLimit.isInline && !above.isInline && above.storedSlots.count == 6)
        #expect(try await sim.get("above", via: 3) == body((16 << 10) + 1, seed: 5))

        // A listing shows the object, its page carries no bytes.
        let listing = try await sim.services[5].list(bucket: sim.bucket, prefix: "", delimiter: nil, after: nil, maxKeys: 10)
        #expect(listing.objects.map(\.key) == ["above", "at", "small"])
        #expect(listing.objects.first { $0.key == "small" }?.version.size == 5000)
        #expect(listing.objects.allSatisfy { $0.version.inlineData == nil })
        #expect(listing.objects.first { $0.key == "small" }?.version.inlineOmitted == true)

        // The verify pass has nothing to say about rows without shards.
        let report = try await sim.services[2].verifyRedundancy()
        #expect(report.fullyRedundant && report.objects == 3 && report.shards == 6, "\(report)")
    }

    /// Inline → shards → inline → deleted: each overwrite reads back exactly,
    /// and the shard version's files go when it is replaced.
    @Test func overwritesCrossTheThresholdBothWays() async throws {
        let sim = try await SimulatedCluster.start()
        _ = try await sim.put("k", body(10, seed: 1), via: 0)
        let large = try await sim.put("k", body(3 * 65536, seed: 2), via: 1)
        #expect(try await sim.get("k", via: 2) == body(3 * 65536, seed: 2))
        _ = try await sim.put("k", body(700, seed: 3), via: 2)
        #expect(try await sim.get("k", via: 5) == body(700, seed: 3))
        try await sim.services[3].delete(bucket: sim.bucket, key: "k")
        await #expect(throws: ObjectError.noSuchKey) { _ = try await sim.get("k", via: 0) }
        // The shard version's files are deleted after the delay (120 s by default).
        for _ in 0..<200 where sim.clock.sleeperCount == 0 { try await Task.sleep(nanoseconds: 10_000_000) }
        sim.clock.advance(byMillis: 121_000)
        for _ in 0..<200 where sim.shardFiles(of: large.versionID) > 0 { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(sim.shardFiles(of: large.versionID) == 0)
    }

    /// A metadata replica down during the write gets the row, bytes and all,
    /// from anti-entropy; with two other replicas then down it still serves.
    @Test func aReplicaThatMissedTheWriteGetsTheBytesFromAntiEntropy() async throws {
        let sim = try await SimulatedCluster.start()
        let routing = await sim.nodes[0].routing()
        let replicas = try sim.services[0].metadata.replicas(of: sim.bucket, routing: routing).current
        #expect(replicas.count == 5)
        let missed = replicas[0]
        sim.network.faults.setDown([missed])
        let bytes = body(9000, seed: 7)
        _ = try await sim.put("late", bytes, via: sim.nodes.firstIndex { $0.id == replicas[1] }!)
        sim.network.faults.setDown([])
        let missedIndex = sim.nodes.firstIndex { $0.id == missed }!
        #expect(try await sim.services[missedIndex].metadataStore.get(bucket: sim.bucket.hex, key: "late") == nil)
        await sim.services[missedIndex].antiEntropyRound()
        let pulled = try #require(try await sim.services[missedIndex].metadataStore.get(bucket: sim.bucket.hex, key: "late"))
        #expect(pulled.version?.inlineData == Data(bytes))
        // Two of the other replicas down: the three left (a majority) still read it.
        sim.network.faults.setDown([replicas[1], replicas[2]])
        #expect(try await sim.get("late", via: missedIndex) == bytes)
    }

    @Test func aListingsCopyWithoutBytesIsNeverStored() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("shale-inline-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try MetadataStore(metadataDir: dir)
        var version = ObjectVersion(versionID: String(repeating: "a", count: 32), size: 3, etag: "e", contentType: nil, userMetadata: [:],
                                    lastModifiedMillis: 1, dataShards: 4, parityShards: 2, blockSizeBytes: 1 << 20,
                                    layoutVersion: LayoutVersion(1), storedSlots: [])
        version.inlineData = Data([1, 2, 3])
        let record = ObjectRecord(bucketID: "b", key: "k", stamp: Stamp(millis: 1, counter: 0, node: "n"), version: version)
        try await store.merge([record])
        let listed = try await store.list(bucket: "b", prefix: "", after: nil, limit: 10, inlineBytes: false)
        #expect(listed.first?.version?.inlineData == nil && listed.first?.version?.isInline == true)
        var newer = listed[0]
        newer.stamp = Stamp(millis: 2, counter: 0, node: "n")
        await #expect(throws: StorageError.self) { try await store.merge([newer]) }
        await #expect(throws: StorageError.self) { _ = try await store.accept(newer, ballot: newer.stamp) }
        #expect(try await store.get(bucket: "b", key: "k") == record)
        #expect(try await store.list(bucket: "b", prefix: "", after: nil, limit: 10) == [record])
    }
}
