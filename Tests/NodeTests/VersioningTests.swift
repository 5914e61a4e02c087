import ClusterModel
import Foundation
import NIOCore
@testable import Node
import Storage
import Synchronization
import Testing

/// S3 versioning on the simulated six-node, three-zone cluster: versions in
/// the bucket's version table, delete markers, the null version, listings
/// and the maintenance that must keep noncurrent versions' shards.
@Suite(.serialized) struct VersioningTests {
    func body(_ size: Int, seed: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: ($0 &* 2654435761 &+ seed) >> 7) } }

    func setVersioning(_ sim: SimulatedCluster, _ state: VersioningState) async throws {
        try await sim.nodes[0].setBucketConfig(BucketConfig(versioning: state), kind: .versioning, bucket: "sim")
        let sync = try JSONEncoder().encode(SyncMessage(state: await sim.nodes[0].state))
        for node in sim.nodes.dropFirst() { _ = try await node.answerSync(sync, from: sim.nodes[0].id) }
    }

    func read(_ sim: SimulatedCluster, _ key: String, version: String?, via index: Int) async throws -> [UInt8] {
        let service = sim.services[index]
        let found = try await service.head(bucket: sim.bucket, key: key, versionID: version)
        let plan = try await service.planRead(found, bucket: sim.bucket, key: key)
        let collected = Mutex<[UInt8]>([])
        try await service.read(plan, range: 0..<found.size) { buffer in collected.withLock { $0 += buffer.readableBytesView } }
        return collected.withLock { $0 }
    }

    @Test func versionIDsSortNewestFirstAndParseBack() throws {
        let older = S3VersionID(stamp: Stamp(millis: 1_000, counter: 7, node: "a"))
        let newer = S3VersionID(stamp: Stamp(millis: 1_000, counter: 8, node: "a"))
        let newest = S3VersionID(stamp: Stamp(millis: 2_000, counter: 0, node: "b"))
        #expect(newest < newer && newer < older)
        #expect(older.order == VersionOrder(millis: 1_000, counter: 7))
        #expect(S3VersionID(older.rawValue) == older)
        #expect(S3VersionID("null") == nil && S3VersionID("XYZ") == nil)
        let row = VersionTable.rowKey(key: "a/b\u{2}c", versionID: older)
        #expect(VersionTable.parseRowKey(row)?.key == "a/b\u{2}c" && VersionTable.parseRowKey(row)?.versionID == older)
        #expect(VersionTable.past("k") > VersionTable.rowKey(key: "k", versionID: older))
    }

    /// Every PUT a version, DELETE a marker, each readable by id; the null
    /// version from before versioning stays addressable; removing versions
    /// by id brings the older ones back as latest.
    @Test func versionsMarkersAndTheNullVersion() async throws {
        let sim = try await SimulatedCluster.start()
        let plain = body(3 * 65536 + 1, seed: 1)
        _ = try await sim.put("k", plain, via: 0)
        try await setVersioning(sim, .enabled)
        var ids: [String] = []
        for i in 0..<3 {
            let version = try await sim.put("k", body(i == 1 ? 700 : 65536 + i, seed: 10 + i), via: i)
            ids.append(try #require(version.s3VersionID))
        }
        #expect(Set(ids).count == 3 && !ids.contains("null"))
        #expect(try await read(sim, "k", version: nil, via: 4) == body(65538, seed: 12))
        #expect(try await read(sim, "k", version: ids[1], via: 5) == body(700, seed: 11))
        #expect(try await read(sim, "k", version: "null", via: 3) == plain)

        let deleted = try await sim.services[2].delete(bucket: sim.bucket, key: "k", versionID: nil)
        #expect(deleted.deleteMarker, "a DELETE without a version id writes a marker")
        let markerID = try #require(deleted.s3VersionID)
        await #expect(throws: ObjectError.deleteMarker(s3VersionID: markerID, addressed: false)) {
            try await sim.services[0].head(bucket: sim.bucket, key: "k", versionID: nil)
        }
        await #expect(throws: ObjectError.deleteMarker(s3VersionID: markerID, addressed: true)) {
            try await sim.services[1].head(bucket: sim.bucket, key: "k", versionID: markerID)
        }
        #expect(try await sim.services[0].list(bucket: sim.bucket, prefix: "", delimiter: nil, after: nil, maxKeys: 10).objects.isEmpty)
        #expect(try await sim.services[0].isEmpty(bucket: sim.bucket) == false, "versions and markers keep a bucket from being empty")

        let listed = try await sim.services[3].listVersions(bucket: sim.bucket, prefix: "", delimiter: nil, keyMarker: nil, versionIDMarker: nil,
                                                            maxKeys: 100)
        #expect(listed.entries.map(\.s3VersionID) == [markerID, ids[2], ids[1], ids[0], "null"])
        #expect(listed.entries.map(\.isLatest) == [true, false, false, false, false])
        #expect(listed.entries.first?.version == nil)

        // Removing the marker brings the newest version back; removing it by id, the one before.
        #expect(try await sim.services[4].delete(bucket: sim.bucket, key: "k", versionID: markerID).deleteMarker)
        #expect(try await read(sim, "k", version: nil, via: 0) == body(65538, seed: 12))
        _ = try await sim.services[4].delete(bucket: sim.bucket, key: "k", versionID: ids[2])
        #expect(try await read(sim, "k", version: nil, via: 1) == body(700, seed: 11))
        await #expect(throws: ObjectError.noSuchVersion) { try await sim.services[2].head(bucket: sim.bucket, key: "k", versionID: ids[2]) }
        await #expect(throws: ObjectError.invalidVersionID) { try await sim.services[2].head(bucket: sim.bucket, key: "k", versionID: "nope") }
        // Deleting a version that is not there succeeds and changes nothing.
        #expect(try await sim.services[2].delete(bucket: sim.bucket, key: "k", versionID: ids[2]).s3VersionID == ids[2])

        // Tags address one version; the others keep theirs.
        _ = try await sim.services[0].setTags(bucket: sim.bucket, key: "k", versionID: ids[0], tags: [ObjectTag(key: "v", value: "0")])
        #expect(try await sim.services[5].head(bucket: sim.bucket, key: "k", versionID: ids[0]).tags == [ObjectTag(key: "v", value: "0")])
        #expect(try await sim.services[5].head(bucket: sim.bucket, key: "k", versionID: nil).tags == nil)
    }

    /// Suspended: writes replace the null version only; a DELETE makes the
    /// null version a marker; the Enabled-era versions stay.
    @Test func suspendedWritesReplaceOnlyTheNullVersion() async throws {
        let sim = try await SimulatedCluster.start()
        try await setVersioning(sim, .enabled)
        let kept = try await sim.put("s", body(2 * 65536, seed: 1), via: 0)
        try await setVersioning(sim, .suspended)
        let firstNull = try await sim.put("s", body(65536 + 9, seed: 2), via: 1)
        #expect(firstNull.s3VersionID == "null")
        let secondNull = try await sim.put("s", body(65536 + 10, seed: 3), via: 2)
        #expect(try await read(sim, "s", version: nil, via: 3) == body(65536 + 10, seed: 3))
        let listed = try await sim.services[0].listVersions(bucket: sim.bucket, prefix: "", delimiter: nil, keyMarker: nil, versionIDMarker: nil,
                                                            maxKeys: 10)
        #expect(listed.entries.map(\.s3VersionID) == ["null", kept.s3VersionID!])
        #expect(listed.entries.first?.version?.versionID == secondNull.versionID)
        let marker = try await sim.services[4].delete(bucket: sim.bucket, key: "s", versionID: nil)
        #expect(marker == ObjectService.DeleteOutcome(s3VersionID: "null", deleteMarker: true))
        await #expect(throws: ObjectError.deleteMarker(s3VersionID: "null", addressed: false)) {
            try await sim.services[0].head(bucket: sim.bucket, key: "s", versionID: nil)
        }
        #expect(try await read(sim, "s", version: kept.s3VersionID, via: 5) == body(2 * 65536, seed: 1))

        // The replaced null versions' shards go; the Enabled-era version's stay through collection.
        sim.clock.advance(byMillis: 4 * 3_600_000)
        try await SimulatedCluster.heartbeat(sim.nodes)
        for service in sim.services { await service.collectStrays() }
        #expect(sim.shardFiles(of: firstNull.versionID) == 0)
        #expect(sim.shardFiles(of: secondNull.versionID) == 0)
        #expect(sim.shardFiles(of: kept.versionID) == 6)
    }

    /// Concurrent writers of one key through every node: each acknowledged
    /// write is a version, and every node agrees on the latest, the newest
    /// id. Noncurrent versions' shards survive stray collection.
    @Test func concurrentWritersEachAddAVersion() async throws {
        let sim = try await SimulatedCluster.start()
        try await setVersioning(sim, .enabled)
        let written = try await withThrowingTaskGroup(of: ObjectVersion.self) { group in
            for i in 0..<12 { group.addTask { try await sim.put("hot", self.body(65536 + i, seed: i), via: i % 6) } }
            var all: [ObjectVersion] = []
            for try await version in group { all.append(version) }
            return all
        }
        let listed = try await sim.services[0].listVersions(bucket: sim.bucket, prefix: "", delimiter: nil, keyMarker: nil, versionIDMarker: nil,
                                                            maxKeys: 100)
        #expect(Set(listed.entries.map(\.s3VersionID)) == Set(written.compactMap(\.s3VersionID)))
        let newest = try #require(written.compactMap { $0.s3VersionID.flatMap(S3VersionID.init) }.min())
        for i in 0..<6 {
            #expect(try await sim.services[i].head(bucket: sim.bucket, key: "hot", versionID: nil).s3VersionID == newest.rawValue, "node \(i)")
        }
        sim.clock.advance(byMillis: 4 * 3_600_000)
        try await SimulatedCluster.heartbeat(sim.nodes)
        for service in sim.services { await service.collectStrays() }
        for version in written { #expect(sim.shardFiles(of: version.versionID) == 6, "a noncurrent version keeps its shards") }
        let oldest = try #require(written.min { ($0.s3VersionID ?? "") > ($1.s3VersionID ?? "") })
        #expect(try await read(sim, "hot", version: oldest.s3VersionID, via: 2) == body(Int(oldest.size), seed: Int(oldest.size) - 65536))
    }

    /// 10 versions of 20 keys with a zone stopped: all written and read back byte-exact; deletes after it returns.
    @Test func versionsThroughAZoneOutage() async throws {
        let sim = try await SimulatedCluster.start()
        try await setVersioning(sim, .enabled)
        let zone3 = Set(sim.nodes.suffix(2).map(\.id))
        sim.network.faults.setDown(zone3)
        sim.clock.advance(byMillis: 60_000)
        try await SimulatedCluster.heartbeat(Array(sim.nodes.prefix(4)))
        var ids: [String: [String]] = [:]
        for key in 0..<20 {
            for v in 0..<10 {
                let size = v % 3 == 0 ? 300 + key : 65536 + key * 10 + v
                ids["k\(key)", default: []].append(try #require(try await sim.put("k\(key)", body(size, seed: key * 100 + v), via: v % 4).s3VersionID))
            }
        }
        for key in 0..<20 {
            for v in 0..<10 {
                let size = v % 3 == 0 ? 300 + key : 65536 + key * 10 + v
                #expect(try await read(sim, "k\(key)", version: ids["k\(key)"]![v], via: (key + v) % 4) == body(size, seed: key * 100 + v))
            }
        }
        sim.network.faults.setDown([])
        sim.clock.advance(byMillis: 60_000)
        try await SimulatedCluster.heartbeat(sim.nodes)
        _ = try await sim.services[5].delete(bucket: sim.bucket, key: "k0", versionID: nil)
        _ = try await sim.services[4].delete(bucket: sim.bucket, key: "k1", versionID: ids["k1"]![9])
        #expect(try await read(sim, "k1", version: nil, via: 5) == body(65536 + 10 + 8, seed: 108))
        let listing = try await sim.services[4].list(bucket: sim.bucket, prefix: "", delimiter: nil, after: nil, maxKeys: 100)
        #expect(listing.objects.map(\.key) == (1..<20).map { "k\($0)" }.sorted())
    }

    /// ListObjectVersions pages through one key's many versions (and the
    /// keys around it) without a gap or a repeat, IsLatest only once.
    @Test func listingVersionsInPages() async throws {
        let sim = try await SimulatedCluster.start()
        _ = try await sim.put("m", body(10, seed: 0), via: 0)
        try await setVersioning(sim, .enabled)
        _ = try await sim.put("a", body(10, seed: 1), via: 0)
        var ids: [String] = []
        for i in 0..<45 { ids.append(try #require(try await sim.put("m", body(20, seed: i), via: i % 6).s3VersionID)) }
        _ = try await sim.services[1].delete(bucket: sim.bucket, key: "m", versionID: ids[20])
        _ = try await sim.put("z/1", body(10, seed: 2), via: 0)
        _ = try await sim.put("z/2", body(10, seed: 3), via: 0)
        var seen: [(String, String, Bool)] = []
        var keyMarker: String?, idMarker: String?
        var pages = 0
        repeat {
            let page = try await sim.services[pages % 6].listVersions(bucket: sim.bucket, prefix: "", delimiter: "/", keyMarker: keyMarker,
                                                                     versionIDMarker: idMarker, maxKeys: 7)
            seen += page.entries.map { ($0.key, $0.s3VersionID, $0.isLatest) }
            seen += page.commonPrefixes.map { ($0, "", false) }
            pages += 1
            guard page.isTruncated else { break }
            keyMarker = page.nextKeyMarker
            idMarker = page.nextVersionIDMarker
        } while pages < 50
        let expectedM = ids.enumerated().filter { $0.offset != 20 }.map(\.element).reversed() + ["null"]
        #expect(seen.map(\.0) == ["a"] + Array(repeating: "m", count: expectedM.count) + ["z/"])
        #expect(seen.filter { $0.0 == "m" }.map(\.1) == expectedM)
        #expect(seen.filter(\.2).map(\.0) == ["a", "m"])
    }
}

extension VersioningTests {
    /// A noncurrent version's lost shard: `rebuild verify` sees it, a read
    /// of that version queues it, and the repair rebuilds it from the
    /// version's own row (in the version table).
    @Test func aNoncurrentVersionsShardIsFoundAndRepaired() async throws {
        let sim = try await SimulatedCluster.start()
        try await setVersioning(sim, .enabled)
        let old = try await sim.put("r", body(2 * 65536 + 3, seed: 1), via: 0)
        _ = try await sim.put("r", body(10, seed: 2), via: 1)
        let lost = try #require(ShardKey(versionID: old.versionID, slot: 1))
        for service in sim.services { try? service.shards.delete(lost) }
        #expect(sim.shardFiles(of: old.versionID) == 5)
        let report = try await sim.services[2].verifyRedundancy()
        #expect(report.objects == 2 && report.problems.map { "\($0.key) \($0.slot) \($0.state)" } == ["r 1 missing"], "\(report.problems)")

        #expect(try await read(sim, "r", version: old.s3VersionID, via: 3) == body(2 * 65536 + 3, seed: 1))
        let item = try #require(sim.services[3].repairs.next())
        #expect(item.s3VersionID == old.s3VersionID && item.slot == 1)
        try await sim.services[3].repair(item)
        #expect(sim.shardFiles(of: old.versionID) == 6)
        #expect(try await sim.services[4].verifyRedundancy().fullyRedundant)
    }
}

extension VersioningTests {
    func upload(_ sim: SimulatedCluster, key: String, bytes: [UInt8], via index: Int) async throws -> (ObjectVersion, ObjectPart, String) {
        let settings = ObjectService.UploadSettings(contentType: nil, userMetadata: [:], contentHeaders: nil, checksumAlgorithm: nil, checksumType: nil)
        let created = try await sim.services[index].createUpload(bucket: sim.bucket, key: key, settings: settings)
        let request = ObjectService.PartRequest(bucket: sim.bucket, key: key, uploadID: created.uploadID, partNumber: 1,
                                                body: BodyExpectations(contentLength: bytes.count, md5: nil, sha256: nil))
        let part = try await sim.services[index].uploadPart(request, body: AsyncStream { $0.yield(ByteBuffer(bytes: bytes)); $0.finish() })
        let version = try await sim.services[index].completeUpload(bucket: sim.bucket, key: key, uploadID: created.uploadID,
                                                                    parts: [MultipartUpload.ChosenPart(number: 1, etag: part.etag)])
        return (version, part, created.uploadID)
    }

    /// A completed upload is a version like a PUT: its parts' shards (noted
    /// under the upload table) stay through stray collection while the
    /// version does, a retried completion answers the same version, and the
    /// version's removal by id lets the collector take them.
    @Test func multipartCompletionsAreVersionsWhosePartsStay() async throws {
        let sim = try await SimulatedCluster.start()
        try await setVersioning(sim, .enabled)
        let (first, firstPart, uploadID) = try await upload(sim, key: "mp", bytes: body(2 * 65536 + 5, seed: 1), via: 0)
        let id = try #require(first.s3VersionID)
        let again = try await sim.services[2].completeUpload(bucket: sim.bucket, key: "mp", uploadID: uploadID,
                                                             parts: [MultipartUpload.ChosenPart(number: 1, etag: firstPart.etag)])
        #expect(again.s3VersionID == id && again.versionID == first.versionID, "a retried completion answers the same version")
        _ = try await sim.put("mp", body(100, seed: 2), via: 1)
        sim.clock.advance(byMillis: 4 * 3_600_000)
        try await SimulatedCluster.heartbeat(sim.nodes)
        for service in sim.services { await service.collectStrays() }
        #expect(sim.shardFiles(of: firstPart.data.versionID) == 6, "the noncurrent multipart version keeps its part's shards")
        #expect(try await read(sim, "mp", version: id, via: 4) == body(2 * 65536 + 5, seed: 1))

        _ = try await sim.services[3].delete(bucket: sim.bucket, key: "mp", versionID: id)
        sim.clock.advance(byMillis: 4 * 3_600_000)
        try await SimulatedCluster.heartbeat(sim.nodes)
        for service in sim.services { await service.collectStrays() }
        #expect(sim.shardFiles(of: firstPart.data.versionID) == 0)
    }
}

extension VersioningTests {
    /// The latest version is found past any number of deleted ones, and a
    /// replica that missed some deletes (down while they were written)
    /// does not bring a deleted version back as the latest.
    @Test func theLatestSkipsDeletedVersionsAndStaleReplicas() async throws {
        let sim = try await SimulatedCluster.start()
        try await setVersioning(sim, .enabled)
        var ids: [String] = []
        for i in 0..<30 { ids.append(try #require(try await sim.put("t", body(50 + i, seed: i), via: i % 6).s3VersionID)) }
        let routing = await sim.nodes[0].routing()
        let replicas = try sim.services[0].metadata.replicas(of: sim.bucket, routing: routing).current
        let stale = try #require(replicas.last)
        let staleIndex = try #require(sim.nodes.firstIndex { $0.id == stale })
        sim.network.faults.setDown([stale])
        let via = (staleIndex + 1) % 6
        for id in ids[10...] { _ = try await sim.services[via].delete(bucket: sim.bucket, key: "t", versionID: id) }
        sim.network.faults.setDown([])
        // The stale replica still holds versions 10...29 live; every node answers version 9.
        let held = try await sim.services[staleIndex].metadataStore.get(bucket: VersionTable.name(of: sim.bucket.hex),
                                                                         key: VersionTable.rowKey(key: "t", versionID: S3VersionID(ids[29])!))
        #expect(held?.version != nil, "the replica that was down missed the deletes")
        for i in 0..<6 {
            #expect(try await sim.services[i].head(bucket: sim.bucket, key: "t", versionID: nil).s3VersionID == ids[9], "node \(i)")
        }
        #expect(try await read(sim, "t", version: nil, via: staleIndex) == body(59, seed: 9))
        _ = try await sim.put("u", body(10, seed: 99), via: 0)
        let listed = try await sim.services[1].list(bucket: sim.bucket, prefix: "", delimiter: nil, after: nil, maxKeys: 10)
        #expect(listed.objects.map(\.key) == ["t", "u"] && listed.objects.first?.version.s3VersionID == ids[9])
        for id in ids[..<10] { _ = try await sim.services[2].delete(bucket: sim.bucket, key: "t", versionID: id) }
        await #expect(throws: ObjectError.noSuchKey) { try await sim.services[3].head(bucket: sim.bucket, key: "t", versionID: nil) }
        #expect(try await sim.services[4].list(bucket: sim.bucket, prefix: "", delimiter: nil, after: nil, maxKeys: 10).objects.map(\.key) == ["u"])
    }
}

extension VersioningTests {
    /// A Suspended write after Enabled-era versions is the latest even from
    /// a node whose clock runs behind the one that wrote them: it stamps
    /// above the key's newest version, not only above the null row.
    @Test func aSuspendedWriteFromASlowClockIsTheLatest() async throws {
        let sim = try await SimulatedCluster.start(skewMillis: [0: 30_000])
        try await setVersioning(sim, .enabled)
        let fast = try await sim.put("skew", body(100, seed: 1), via: 0)
        try await setVersioning(sim, .suspended)
        let null = try await sim.put("skew", body(200, seed: 2), via: 3)
        for i in 0..<6 {
            let latest = try await sim.services[i].head(bucket: sim.bucket, key: "skew", versionID: nil)
            #expect(latest.s3VersionID == nil && latest.versionID == null.versionID, "node \(i)")
        }
        #expect(try await read(sim, "skew", version: fast.s3VersionID, via: 2) == body(100, seed: 1))
        let marker = try await sim.services[4].delete(bucket: sim.bucket, key: "skew", versionID: nil)
        #expect(marker.deleteMarker)
        await #expect(throws: ObjectError.deleteMarker(s3VersionID: "null", addressed: false)) {
            try await sim.services[5].head(bucket: sim.bucket, key: "skew", versionID: nil)
        }
    }
}
