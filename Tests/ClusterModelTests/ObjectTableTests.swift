import Checksums
import ClusterModel
import Foundation
import Erasure
import Placement
import Testing
import Units

@Suite struct ListingMergeTests {
    func row(_ key: String, _ millis: UInt64, deleted: Bool = false) -> ObjectRecord {
        let version = deleted ? nil : ObjectVersion(
            versionID: String(repeating: "a", count: 32), size: 1, etag: "e", contentType: nil, userMetadata: [:],
            lastModifiedMillis: millis, dataShards: 4, parityShards: 2, blockSizeBytes: 1 << 20, layoutVersion: LayoutVersion(1),
            storedSlots: [0, 1, 2, 3, 4, 5])
        return ObjectRecord(bucketID: "b", key: key, stamp: Stamp(millis: millis, counter: 0, node: "n"), version: version)
    }

    @Test func keepsTheNewestRowOfEachKeyInByteOrder() {
        let a = [row("a", 1), row("b", 5), row("é", 1)]
        let b = [row("a", 2, deleted: true), row("c", 1), row("z", 1)]
        let merged = ListingMerge.merge([a, b], limit: 10)
        #expect(merged.records.map(\.key) == ["a", "b", "c", "z", "é"])
        #expect(merged.records[0].isTombstone)
        #expect(merged.exhausted)
    }

    @Test func stopsAtTheShortestFullPage() {
        // Replica A sent a full page ending at "c": past it, A may hold rows not sent.
        let a = [row("a", 1), row("c", 1)]
        let b = [row("b", 1), row("d", 1), row("e", 9)]
        let merged = ListingMerge.merge([a, b], limit: 2)
        #expect(merged.records.map(\.key) == ["a", "b", "c"])
        #expect(!merged.exhausted)
    }

    @Test func commonPrefixesUnderADelimiter() {
        #expect(ListingMerge.commonPrefix(of: "logs/2026/a.parquet", prefix: "logs/", delimiter: "/") == "logs/2026/")
        #expect(ListingMerge.commonPrefix(of: "logs/a.parquet", prefix: "logs/", delimiter: "/") == nil)
        #expect(ListingMerge.commonPrefix(of: "a--b--c", prefix: "", delimiter: "--") == "a--")
        #expect(ListingMerge.commonPrefix(of: "abc", prefix: "", delimiter: nil) == nil)
        #expect(ListingMerge.precedes("a/b", ListingMerge.skipPast("a/")) && !ListingMerge.precedes(ListingMerge.skipPast("a/"), "a/z"))
    }

    @Test func newestPicksTheLargerStamp() {
        let old = row("k", 1), new = row("k", 2, deleted: true)
        #expect(ObjectRecord.newest(old, new) == new)
        #expect(ObjectRecord.newest(new, old) == new)
        #expect(ObjectRecord.newest(nil, old) == old)
    }
}

@Suite struct MetadataReplicaTests {
    func layout(nodes: Int, zones: Int, code: String) throws -> Layout {
        var roles: [NodeID: NodeRole] = [:]
        for i in 0..<nodes {
            roles[NodeID("node\(i)")] = NodeRole(zone: ZoneName("z\(i % zones)"), capacity: ByteCount(bytes: 10_000_000_000))
        }
        return try Layout.compute(version: LayoutVersion(1), roles: roles, code: try ErasureCode(parsing: code), zoneCap: nil, previous: nil)
    }

    @Test func survivesWhatTheDataSurvives() throws {
        let layout = try layout(nodes: 6, zones: 3, code: "4+2")
        for seed in 0..<64 {
            let bucket = BucketID(bytes: (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ seed) })!
            let replicas = layout.metadataReplicas(of: bucket, wanted: 3)
            #expect(replicas.count == 5)  // raised to 2m + 1
            #expect(Set(replicas).count == replicas.count)
            let quorum = majority(of: replicas.count)
            // Any zone lost: a majority remains.
            for zone in 0..<3 {
                let left = replicas.filter { layout.roles[$0]!.zone != ZoneName("z\(zone)") }.count
                #expect(left >= quorum)
            }
            // Any two nodes lost: a majority remains.
            #expect(replicas.count - 2 >= quorum)
        }
    }

    @Test func oneNodeHoldsEverything() throws {
        let layout = try layout(nodes: 1, zones: 1, code: "4+2")
        let bucket = BucketID(bytes: Array(repeating: 1, count: 32))!
        #expect(layout.metadataReplicas(of: bucket, wanted: 3) == [NodeID("node0")])
        #expect(majority(of: 1) == 1)
    }

    @Test func spreadsOverZonesFirst() throws {
        let layout = try layout(nodes: 9, zones: 3, code: "2+1")
        let bucket = BucketID(bytes: Array(repeating: 9, count: 32))!
        let replicas = layout.metadataReplicas(of: bucket, wanted: 3)
        #expect(Set(replicas.map { layout.roles[$0]!.zone }).count == 3)
    }
}

@Suite struct ObjectVersionFormatTests {
    let version = ObjectVersion(
        versionID: String(repeating: "b", count: 32), size: 5, etag: "e", contentType: "text/plain", userMetadata: ["x": "Hello Worldé"],
        lastModifiedMillis: 1, dataShards: 4, parityShards: 2, blockSizeBytes: 1 << 20, layoutVersion: LayoutVersion(1),
        storedSlots: [0, 1, 2, 3, 4, 5], checksum: ObjectChecksum(algorithm: .crc32, digest: [1, 2, 3, 4]),
        contentHeaders: ContentHeaders(cacheControl: "no-cache", expires: "Thu, 01 Jan 2099 00:00:00 GMT"))

    @Test func checksumAndContentHeadersRoundTrip() throws {
        let decoded = try JSONDecoder().decode(ObjectVersion.self, from: JSONEncoder().encode(version))
        #expect(decoded == version)
    }

    /// Rows written before checksums and content headers were stored still decode.
    @Test func rowsOfOlderWritersDecode() throws {
        var object = try #require(JSONSerialization.jsonObject(with: JSONEncoder().encode(version)) as? [String: Any])
        object["checksum"] = nil
        object["contentHeaders"] = nil
        let old = try JSONDecoder().decode(ObjectVersion.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(old.checksum == nil && old.contentHeaders == nil && old.etag == "e" && old.userMetadata == ["x": "Hello Worldé"])
    }
}

@Suite struct FormatVersionTests {
    /// A row exactly as the previous format wrote it (no `format`, no checksum, no content headers).
    let previousFormatRow = """
        {"bucketID":"00ff","key":"a/b.parquet","stamp":{"millis":1764000000000,"counter":2,"node":"n1"},
         "version":{"versionID":"0123456789abcdef0123456789abcdef","size":5,"etag":"5d41402abc4b2a76b9719d911017c592",
         "contentType":"text/plain","userMetadata":{"x":"y"},"lastModifiedMillis":1764000000000,"dataShards":4,
         "parityShards":2,"blockSizeBytes":1048576,"layoutVersion":1,"storedSlots":[0,1,2,3,4,5]}}
        """

    @Test func rowsOfThePreviousFormatAreRead() throws {
        let record = try JSONDecoder().decode(ObjectRecord.self, from: Data(previousFormatRow.utf8))
        #expect(record.format == 1 && record.key == "a/b.parquet" && record.stamp.counter == 2)
        #expect(record.version?.size == 5 && record.version?.checksum == nil && record.version?.contentHeaders == nil)
        let rewritten = try JSONDecoder().decode(ObjectRecord.self, from: JSONEncoder().encode(
            ObjectRecord(bucketID: record.bucketID, key: record.key, stamp: record.stamp, version: record.version)))
        #expect(rewritten.format == ObjectRecord.currentFormat && rewritten.version == record.version)
    }

    @Test func rowsOfANewerFormatAreRefused() {
        let newer = previousFormatRow.replacingOccurrences(of: "{\"bucketID\"", with: "{\"format\":99,\"bucketID\"")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ObjectRecord.self, from: Data(newer.utf8)) }
    }

    @Test func clusterStateFilesOfEveryFormat() throws {
        var state = ClusterState()
        let id = try #require(BucketID(hex: String(repeating: "0f", count: BucketID.byteCount)))
        _ = state.buckets.set(id.hex, BucketRecord(id: id, name: try BucketName(validating: "lake"), createdMillis: 5),
                              stamp: Stamp(millis: 5, counter: 0, node: "n"))
        // Format 1: the bare state, as files written before the format was recorded.
        let bare = try JSONEncoder().encode(state)
        #expect(try ClusterStateFile.decode(bare) == state)
        let current = try JSONEncoder().encode(ClusterStateFile(state: state))
        #expect(String(decoding: current, as: UTF8.self).contains("\"format\":2"))
        #expect(try ClusterStateFile.decode(current) == state)
        let newer = Data(#"{"format":3,"state":{}}"#.utf8)
        #expect(throws: ClusterStateFile.FormatError.self) { try ClusterStateFile.decode(newer) }
    }

    /// Bucket configurations (tags, CORS) came after the state's format 2:
    /// a state written without them reads as having none.
    @Test func bucketConfigsAreOptionalInStoredStatesAndMergeByKind() throws {
        var state = ClusterState()
        let id = try #require(BucketID(hex: String(repeating: "0e", count: BucketID.byteCount)))
        _ = state.buckets.set(id.hex, BucketRecord(id: id, name: try BucketName(validating: "lake"), createdMillis: 5),
                              stamp: Stamp(millis: 5, counter: 0, node: "n"))
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(state)) as! [String: Any]
        json.removeValue(forKey: "bucketConfigs")
        let older = try JSONSerialization.data(withJSONObject: json)
        #expect(try ClusterStateFile.decode(older) == state)

        var a = state, b = state
        try a.setBucketConfig(BucketConfig(tags: [ObjectTag(key: "k", value: "v")]), kind: .tagging, bucket: "lake", stamp: Stamp(millis: 6, counter: 0, node: "a"))
        try b.setBucketConfig(BucketConfig(corsXML: "<CORSConfiguration/>"), kind: .cors, bucket: "lake", stamp: Stamp(millis: 7, counter: 0, node: "b"))
        a.merge(b)
        #expect(a.bucketConfig(.tagging, of: id.hex)?.tags == [ObjectTag(key: "k", value: "v")], "changes of different kinds both survive")
        #expect(a.bucketConfig(.cors, of: id.hex)?.corsXML == "<CORSConfiguration/>")
        try a.setBucketConfig(nil, kind: .tagging, bucket: "lake", stamp: Stamp(millis: 8, counter: 0, node: "a"))
        #expect(a.bucketConfig(.tagging, of: id.hex) == nil)
        #expect(throws: ClusterError.self) { try a.setBucketConfig(nil, kind: .cors, bucket: "nowhere", stamp: Stamp(millis: 9, counter: 0, node: "a")) }
    }
}

@Suite struct HandoffRowTests {
    func body(_ id: String, handoffs: [StoredBody.Handoff]?) -> StoredBody {
        StoredBody(versionID: id, size: 10, dataShards: 4, parityShards: 2, blockSizeBytes: 1 << 20, layoutVersion: LayoutVersion(1),
                   storedSlots: [0, 1, 2, 3, 4, 5], handoffs: handoffs)
    }

    @Test func movingHomeEditsOnlyTheNamedHandoff() throws {
        let two = [StoredBody.Handoff(slot: 4, node: NodeID("x")), StoredBody.Handoff(slot: 5, node: NodeID("y"))]
        let single = body(String(repeating: "a", count: 32), handoffs: two)
        let version = ObjectVersion(versionID: single.versionID, size: 10, etag: "e", contentType: nil, userMetadata: [:], lastModifiedMillis: 1,
                                    dataShards: 4, parityShards: 2, blockSizeBytes: 1 << 20, layoutVersion: LayoutVersion(1),
                                    storedSlots: single.storedSlots, handoffs: two)
        let row = ObjectRecord(bucketID: "b", key: "k", stamp: Stamp(millis: 5, counter: 0, node: "n"), version: version)
        let moved = try #require(row.movingHome(versionID: single.versionID, slot: 4))
        #expect(moved.version?.handoffs == [two[1]])
        #expect(moved.version?.body.holders(owners: (0..<6).map { NodeID("o\($0)") })[5] == NodeID("y"))
        #expect(try #require(moved.movingHome(versionID: single.versionID, slot: 5)).version?.handoffs == nil)
        #expect(row.movingHome(versionID: single.versionID, slot: 3) == nil, "no handoff at that slot")
        #expect(row.movingHome(versionID: String(repeating: "b", count: 32), slot: 4) == nil, "another version")

        // A multipart object: the part's body is edited, the others left alone.
        var multi = version
        multi.parts = [ObjectPart(number: 1, etag: "p1", checksum: nil, lastModifiedMillis: 1, data: body(String(repeating: "c", count: 32), handoffs: nil)),
                       ObjectPart(number: 2, etag: "p2", checksum: nil, lastModifiedMillis: 1, data: body(String(repeating: "d", count: 32), handoffs: two))]
        let multiRow = ObjectRecord(bucketID: "b", key: "k", stamp: Stamp(millis: 5, counter: 0, node: "n"), version: multi)
        let movedPart = try #require(multiRow.movingHome(versionID: String(repeating: "d", count: 32), slot: 5))
        #expect(movedPart.version?.parts?[1].data.handoffs == [two[0]] && movedPart.version?.parts?[0] == multi.parts?[0])
    }
}

@Suite struct ObjectRowHeadTests {
    let stamp = Stamp(millis: 1_764_000_000_000, counter: 3, node: "n2")
    var version: ObjectVersion { ObjectVersionFormatTests().version }

    /// Every kind of row: its head read from the JSON is the head of the decoded record.
    var rows: [ObjectRecord] {
        var inline = version
        inline.inlineData = Data(repeating: 0xAB, count: 4096)
        let part = ObjectPart(number: 2, etag: "p", checksum: nil, lastModifiedMillis: 1, data: version.body)
        let upload = MultipartUpload(uploadID: "u1", key: "k", initiatedMillis: 1, contentType: nil, userMetadata: [:],
                                     contentHeaders: nil, checksumAlgorithm: nil, checksumType: nil)
        return [
            ObjectRecord(bucketID: "00ff", key: "a/b.parquet", stamp: stamp, version: version),
            ObjectRecord(bucketID: "00ff", key: "small", stamp: stamp, version: inline),
            ObjectRecord(bucketID: "00ff", key: "listed", stamp: stamp, version: inline.withoutInlineData),
            ObjectRecord(bucketID: "00ff", key: "gone", stamp: stamp, version: nil),
            ObjectRecord(uploadTable: "00ff.uploads", key: "k\u{1}u1", stamp: stamp, upload: upload),
            ObjectRecord(uploadTable: "00ff.uploads", key: "k\u{1}u1\u{1}2", stamp: stamp, part: part),
            ObjectRecord(table: "00ff", key: "marked", stamp: stamp, marker: DeleteMarker(lastModifiedMillis: 1, s3VersionID: "v")),
        ]
    }

    @Test func theHeadOfEveryKindOfRowIsReadFromItsJSON() throws {
        for record in rows {
            let json = try JSONEncoder.rows().encode(record)
            let head = try JSONDecoder().decode(ObjectRowHead.self, from: json)
            #expect(head == ObjectRowHead(of: record), "\(record.key)")
        }
        let heads = try rows.map { try JSONDecoder().decode(ObjectRowHead.self, from: JSONEncoder.rows().encode($0)) }
        #expect(heads.map(\.isTombstone) == [false, false, false, true, false, false, false])
        #expect(heads.map(\.inlineOmitted) == [false, false, true, false, false, false, false])
    }

    @Test func aNullVersionIsATombstoneAndAnOldRowHasFormatOne() throws {
        let tombstone = #"{"bucketID":"00ff","key":"x","stamp":{"millis":1,"counter":0,"node":"n"},"version":null,"format":8}"#
        let head = try JSONDecoder().decode(ObjectRowHead.self, from: Data(tombstone.utf8))
        #expect(head.isTombstone && !head.inlineOmitted && head.format == 8)
        let old = try JSONDecoder().decode(ObjectRowHead.self, from: Data(FormatVersionTests().previousFormatRow.utf8))
        #expect(old.format == 1 && !old.isTombstone && old.key == "a/b.parquet")
    }

    @Test func aNewerFormatOrAMissingKeyIsRefused() {
        let row = FormatVersionTests().previousFormatRow
        let newer = row.replacingOccurrences(of: "{\"bucketID\"", with: "{\"format\":99,\"bucketID\"")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ObjectRowHead.self, from: Data(newer.utf8)) }
        let keyless = row.replacingOccurrences(of: "\"key\":\"a/b.parquet\",", with: "")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ObjectRowHead.self, from: Data(keyless.utf8)) }
        #expect(throws: (any Error).self) { try JSONDecoder().decode(ObjectRowHead.self, from: Data(row.dropLast(3).utf8)) }
    }
}

@Suite struct RowJSONTests {
    let stamp = Stamp(millis: 1_764_000_000_000, counter: 7, node: "node\u{1}é\"\\/")

    func version(metadata: [String: String] = ["x": "Hello Worldé"]) -> ObjectVersion {
        var version = ObjectVersionFormatTests().version
        version.userMetadata = metadata
        return version
    }

    /// Rows the hand-written path writes, with strings that need every kind of escape.
    var commonRows: [ObjectRecord] {
        var inline = version()
        inline.inlineData = Data((0..<4096).map { UInt8($0 % 251) })
        inline.storedSlots = []
        inline.checksum = ObjectChecksum(algorithm: .crc64nvme, digest: [0, 255, 16, 1, 2, 3, 4, 5])
        var bare = version(metadata: [:])
        bare.contentType = nil
        bare.checksum = nil
        bare.contentHeaders = ContentHeaders()
        var versioned = version(metadata: ["tab\tnew\nline": "quote\" back\\ slash/ ctl\u{7}\u{1F} del\u{7F} é 😀"])
        versioned.s3VersionID = "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"
        versioned.contentHeaders = ContentHeaders(contentDisposition: "attachment; filename=\"a b.txt\"", contentLanguage: "de")
        return [
            ObjectRecord(bucketID: "00ff", key: "a/b c/é\u{0}\u{8}\u{C}\r.parquet", stamp: stamp, version: version()),
            ObjectRecord(bucketID: "00ff", key: "small", stamp: stamp, version: inline),
            ObjectRecord(bucketID: "00ff", key: "listed", stamp: stamp, version: inline.withoutInlineData),
            ObjectRecord(bucketID: "00ff", key: "bare", stamp: stamp, version: bare),
            ObjectRecord(bucketID: "00ff.v", key: "k\u{1}0001", stamp: stamp, version: versioned),
            ObjectRecord(bucketID: "00ff", key: "gone", stamp: stamp, version: nil),
        ]
    }

    static func document(_ json: Data) throws -> NSDictionary {
        try #require(JSONSerialization.jsonObject(with: json) as? NSDictionary)
    }

    @Test func commonRowsAreWrittenAsJSONEncoderWritesThem() throws {
        for record in commonRows {
            let written = try record.rowJSON()
            // The same document (JSONEncoder's own key order varies from one encoding to the next).
            #expect(try Self.document(written) == Self.document(JSONEncoder.rows().encode(record)), "\(String(decoding: written, as: UTF8.self))")
            #expect(try JSONDecoder().decode(ObjectRecord.self, from: written) == record)
        }
    }

    @Test func userMetadataIsWrittenSortedAndReadBack() throws {
        let metadata = Dictionary(uniqueKeysWithValues: (0..<20).map { ("k\($0)", "v\($0)") })
        let record = ObjectRecord(bucketID: "00ff", key: "m", stamp: stamp, version: version(metadata: metadata))
        let written = try record.rowJSON()
        #expect(try JSONDecoder().decode(ObjectRecord.self, from: written) == record)
        let text = String(decoding: written, as: UTF8.self)
        let positions = metadata.keys.sorted().map { text.range(of: "\"\($0)\":")!.lowerBound }
        #expect(positions == positions.sorted())
    }

    /// Rows with parts, handoffs, tags, SSE-C, uploads or markers go through JSONEncoder.
    @Test func otherRowsGoThroughJSONEncoder() throws {
        var tagged = version()
        tagged.tags = [ObjectTag(key: "t", value: "v")]
        var encrypted = version()
        encrypted.encryption = CustomerEncryption(keyMD5: "m", keyCheck: "c", nonce: "n")
        var handedOff = version()
        handedOff.handoffs = [StoredBody.Handoff(slot: 1, node: NodeID("n9"))]
        var multipart = version()
        multipart.parts = [ObjectPart(number: 1, etag: "p", checksum: nil, lastModifiedMillis: 1, data: multipart.body)]
        let others = ObjectRowHeadTests().rows.filter { $0.upload != nil || $0.part != nil || $0.marker != nil }
            + [tagged, encrypted, handedOff, multipart].map { ObjectRecord(bucketID: "00ff", key: "o", stamp: stamp, version: $0) }
        #expect(others.count == 7)
        for record in others {
            #expect(try Self.document(record.rowJSON()) == Self.document(JSONEncoder.rows().encode(record)))
            #expect(try JSONDecoder().decode(ObjectRecord.self, from: record.rowJSON()) == record)
        }
    }
}
