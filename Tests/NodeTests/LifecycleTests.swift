import ClusterModel
import Foundation
import NIOCore
@testable import Node
import Placement
import Testing
import Units

/// Lifecycle rules on the simulated six-node cluster, driven by its manual
/// clock: objects expire once the clock passes their rule, uploads started
/// long enough ago are aborted, nothing else is touched, and an object
/// written after the pass saw its key is never deleted for the old one.
@Suite(.serialized) struct LifecycleTests {
    func body(_ size: Int, seed: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: ($0 &* 2654435761 &+ seed) >> 7) } }

    func configure(_ sim: SimulatedCluster, _ rules: [LifecycleRule]) async throws {
        try await sim.nodes[0].setBucketConfig(BucketConfig(lifecycle: rules), kind: .lifecycle, bucket: "sim")
        let state = try JSONEncoder().encode(SyncMessage(state: await sim.nodes[0].state))
        for node in sim.nodes.dropFirst() { _ = try await node.answerSync(state, from: sim.nodes[0].id) }
    }

    /// Moves the clock on; the nodes hear each other again (they would have kept heartbeating).
    func advance(_ sim: SimulatedCluster, days: UInt64) async throws {
        sim.clock.advance(byMillis: days * Lifecycle.dayMillis)
        try await SimulatedCluster.heartbeat(sim.nodes)
    }

    func keys(_ sim: SimulatedCluster) async throws -> [String] {
        try await sim.services[3].list(bucket: sim.bucket, prefix: "", delimiter: nil, after: nil, maxKeys: 1000).objects.map(\.key)
    }

    /// Every node runs its pass; only the bucket's leader does the work.
    func passEverywhere(_ sim: SimulatedCluster) async -> LifecycleReport {
        var total = LifecycleReport()
        for service in sim.services {
            let report = await service.applyLifecycle()
            total.buckets += report.buckets
            total.objectsExpired += report.objectsExpired
            total.uploadsAborted += report.uploadsAborted
            total.versionsRemoved += report.versionsRemoved
        }
        return total
    }

    @Test func objectsExpireWhenTheClockPassesTheirRuleAndNothingElseIsTouched() async throws {
        let sim = try await SimulatedCluster.start()
        for i in 0..<3 { _ = try await sim.put("tmp/\(i)", body(3000 + 70_000 * i, seed: i), via: i) }
        _ = try await sim.put("keep/a", body(100, seed: 9), via: 0)
        _ = try await sim.put("tagged/x", body(100, seed: 10), via: 0)
        _ = try await sim.put("tagged/y", body(100, seed: 11), via: 0)
        _ = try await sim.services[0].setTags(bucket: sim.bucket, key: "tagged/x", tags: [ObjectTag(key: "class", value: "scratch")])
        var tmp = LifecycleRule(id: "tmp", enabled: true, prefix: "tmp/")
        tmp.expirationDays = 1
        var scratch = LifecycleRule(id: "scratch", enabled: true, prefix: "tagged/", tags: [ObjectTag(key: "class", value: "scratch")])
        scratch.expirationDays = 3
        var disabled = LifecycleRule(id: "off", enabled: false, prefix: "keep/")
        disabled.expirationDays = 1
        try await configure(sim, [tmp, scratch, disabled])

        #expect(await passEverywhere(sim) == LifecycleReport(buckets: 1, objectsExpired: 0, uploadsAborted: 0), "one node leads the bucket")
        try await advance(sim, days: 2)
        let first = await passEverywhere(sim)
        #expect(first.objectsExpired == 3)
        #expect(try await keys(sim) == ["keep/a", "tagged/x", "tagged/y"])
        try await advance(sim, days: 2)
        #expect(await passEverywhere(sim).objectsExpired == 1)
        #expect(try await keys(sim) == ["keep/a", "tagged/y"], "the tagged object went, its untagged neighbour and the disabled rule's did not")
        #expect(try await sim.get("keep/a", via: 5) == body(100, seed: 9))
    }

    @Test func anObjectWrittenAfterThePassSawItsKeyIsNotDeleted() async throws {
        let sim = try await SimulatedCluster.start()
        let old = try await sim.put("tmp/k", body(500, seed: 1), via: 0)
        let new = try await sim.put("tmp/k", body(600, seed: 2), via: 1)
        #expect(try await sim.services[2].deleteIfCurrent(bucket: sim.bucket, key: "tmp/k", versionID: old.versionID) == false)
        #expect(try await sim.get("tmp/k", via: 3) == body(600, seed: 2))
        #expect(try await sim.services[2].deleteIfCurrent(bucket: sim.bucket, key: "tmp/k", versionID: new.versionID))
        await #expect(throws: ObjectError.noSuchKey) { try await sim.services[4].head(bucket: sim.bucket, key: "tmp/k") }
    }

    @Test func oldUploadsAreAbortedAndTheirPartsCollected() async throws {
        let sim = try await SimulatedCluster.start()
        let settings = ObjectService.UploadSettings(contentType: nil, userMetadata: [:], contentHeaders: nil, checksumAlgorithm: nil, checksumType: nil)
        let stale = try await sim.services[0].createUpload(bucket: sim.bucket, key: "ingest/a.parquet", settings: settings)
        let bytes = body(200_000, seed: 3)
        let request = ObjectService.PartRequest(bucket: sim.bucket, key: "ingest/a.parquet", uploadID: stale.uploadID, partNumber: 1,
                                                body: BodyExpectations(contentLength: bytes.count, md5: nil, sha256: nil))
        let part = try await sim.services[0].uploadPart(request, body: AsyncStream { $0.yield(ByteBuffer(bytes: bytes)); $0.finish() })
        #expect(sim.shardFiles(of: part.data.versionID) == 6)
        var abort = LifecycleRule(id: "abort", enabled: true, prefix: "ingest/")
        abort.abortIncompleteDays = 1
        try await configure(sim, [abort])
        try await advance(sim, days: 1)
        let fresh = try await sim.services[1].createUpload(bucket: sim.bucket, key: "ingest/b.parquet", settings: settings)
        let other = try await sim.services[1].createUpload(bucket: sim.bucket, key: "raw/c.parquet", settings: settings)
        try await advance(sim, days: 1)

        #expect(await passEverywhere(sim).uploadsAborted == 1)
        let open = try await sim.services[2].listUploads(bucket: sim.bucket, prefix: "", delimiter: nil, keyMarker: nil, uploadIDMarker: nil,
                                                         maxUploads: 100)
        #expect(Set(open.uploads.map(\.uploadID)) == [fresh.uploadID, other.uploadID])
        // The aborted upload's part shards go after the deletion delay.
        for _ in 0..<200 where sim.shardFiles(of: part.data.versionID) > 0 {
            sim.clock.advance(byMillis: 200_000)
            try await SimulatedCluster.heartbeat(sim.nodes)
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        #expect(sim.shardFiles(of: part.data.versionID) == 0)
    }

    @Test func dueTimesFollowAWSsRounding() {
        let created: UInt64 = 1_767_261_600_000  // 2026-01-01T10:00:00Z
        #expect(Lifecycle.due(afterDays: 1, from: created) == 1_767_398_400_000)  // 2026-01-03T00:00:00Z
        #expect(Lifecycle.due(afterDays: 1, from: 1_767_225_600_000) == 1_767_312_000_000, "exactly midnight stays")
        var rule = LifecycleRule(id: "r", enabled: true, prefix: "a/")
        rule.expirationDateMillis = 1_800_000_000_000
        rule.sizeGreaterThan = 10
        let version = ObjectVersion(versionID: String(repeating: "a", count: 32), size: 11, etag: "", contentType: nil, userMetadata: [:],
                                    lastModifiedMillis: created, dataShards: 4, parityShards: 2, blockSizeBytes: 1 << 20,
                                    layoutVersion: LayoutVersion(1), storedSlots: [])
        #expect(Lifecycle.expiry(of: version, key: "a/b", rules: [rule])?.millis == 1_800_000_000_000)
        #expect(Lifecycle.expiry(of: version, key: "b/b", rules: [rule]) == nil)
        var small = version
        small.size = 10
        #expect(Lifecycle.expiry(of: small, key: "a/b", rules: [rule]) == nil, "ObjectSizeGreaterThan is strict")
    }
}

extension LifecycleTests {
    func versionIDs(_ sim: SimulatedCluster, prefix: String) async throws -> [String] {
        try await sim.services[2].listVersions(bucket: sim.bucket, prefix: prefix, delimiter: nil, keyMarker: nil, versionIDMarker: nil,
                                               maxKeys: 1000).entries.map(\.s3VersionID)
    }

    /// A versioned bucket: noncurrent versions go some days after they
    /// became noncurrent (keeping the newest N when asked), the latest
    /// expires into a delete marker, a lone delete marker is removed.
    @Test func versionedBucketsExpireNoncurrentVersionsAndMarkers() async throws {
        let sim = try await SimulatedCluster.start()
        try await sim.nodes[0].setBucketConfig(BucketConfig(versioning: .enabled), kind: .versioning, bucket: "sim")
        var logs = LifecycleRule(id: "logs", enabled: true, prefix: "logs/")
        logs.expirationDays = 10
        logs.noncurrentDays = 2
        var keep = LifecycleRule(id: "keep", enabled: true, prefix: "keep/")
        keep.noncurrentDays = 1
        keep.newerNoncurrentVersions = 2
        var markers = LifecycleRule(id: "markers", enabled: true, prefix: "gone/")
        markers.expiredObjectDeleteMarker = true
        try await configure(sim, [logs, keep, markers])

        let v1 = try #require(try await sim.put("logs/a", body(70_000, seed: 1), via: 0).s3VersionID)
        var kept: [String] = []
        for i in 0..<5 { kept.append(try #require(try await sim.put("keep/k", body(10, seed: i), via: i % 6).s3VersionID)) }
        let goneVersion = try #require(try await sim.put("gone/x", body(10, seed: 7), via: 1).s3VersionID)
        let marker = try #require(try await sim.services[0].delete(bucket: sim.bucket, key: "gone/x", versionID: nil).s3VersionID)
        try await advance(sim, days: 5)
        let v2 = try #require(try await sim.put("logs/a", body(70_001, seed: 2), via: 1).s3VersionID)
        try await advance(sim, days: 5)
        let v3 = try #require(try await sim.put("logs/a", body(70_002, seed: 3), via: 2).s3VersionID)

        var report = await passEverywhere(sim)
        // v1 noncurrent for 5 days (2 allowed); keep/k's two oldest noncurrent; the marker over gone/x's version is not alone.
        #expect(report.versionsRemoved == 3 && report.objectsExpired == 0, "\(report)")
        #expect(try await versionIDs(sim, prefix: "logs/") == [v3, v2])
        #expect(try await versionIDs(sim, prefix: "keep/") == Array(kept.reversed().prefix(3)))
        #expect(try await versionIDs(sim, prefix: "gone/") == [marker, goneVersion])

        _ = try await sim.services[3].delete(bucket: sim.bucket, key: "gone/x", versionID: goneVersion)
        try await advance(sim, days: 11)
        report = await passEverywhere(sim)
        // v3 expires into a marker; v2 (noncurrent 11 days) goes; the marker left alone on gone/x goes.
        #expect(report.objectsExpired == 1 && report.versionsRemoved == 2, "\(report)")
        let logsNow = try await versionIDs(sim, prefix: "logs/")
        #expect(logsNow.count == 2 && logsNow[1] == v3)
        await #expect(throws: ObjectError.deleteMarker(s3VersionID: logsNow[0], addressed: false)) {
            try await sim.services[4].head(bucket: sim.bucket, key: "logs/a", versionID: nil)
        }
        #expect(try await versionIDs(sim, prefix: "gone/").isEmpty)
        #expect(try await keys(sim) == ["keep/k"])
        _ = v1
    }
}
