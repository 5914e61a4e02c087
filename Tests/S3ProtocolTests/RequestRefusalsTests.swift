import Foundation
import S3Protocol
import Testing

@Suite struct RequestRefusalsTests {
    /// The operation a probe's request is routed to.
    func operation(of probe: RequestRefusals.Probe, query: [String: String]) throws -> S3Operation {
        let path: String
        switch probe.target {
        case .existingObject: path = "/data/existing"
        case .newObject: path = "/data/fresh"
        case .existingBucket: path = "/data"
        case .newBucket: path = "/fresh-bucket"
        }
        return try S3Operation.route(method: probe.method, rawPath: path, query: query)
    }

    func parts(of probe: RequestRefusals.Probe) -> (headers: [(name: String, value: String)], query: [String: String]) {
        if probe.field.hasPrefix("?") {
            let pair = probe.field.dropFirst().split(separator: "=", maxSplits: 1).map(String.init)
            return ([], [pair[0]: pair.count > 1 ? pair[1] : ""])
        }
        let pair = probe.field.split(separator: ":", maxSplits: 1).map(String.init)
        return ([(pair[0].lowercased(), pair[1].trimmingCharacters(in: .whitespaces))], [:])
    }

    @Test func everyRuleRefusesItsOwnProbe() throws {
        for rule in RequestRefusals.rules {
            let (headers, query) = parts(of: rule.probe)
            let name = try operation(of: rule.probe, query: query).name
            #expect(throws: S3Error.self, "\(rule.probe.display)") {
                try RequestRefusals.check(name, headers: headers, query: query)
            }
            do { try RequestRefusals.check(name, headers: headers, query: query) } catch {
                #expect(error.code == rule.code)
                #expect(error.message.contains(headers.first?.name ?? "?" + query.keys.first!))
            }
        }
    }

    /// What ordinary clients send is never refused.
    @Test(arguments: [
        [("x-amz-acl", "private")], [("x-amz-acl", "bucket-owner-full-control")], [("x-amz-storage-class", "STANDARD")],
        [("x-amz-checksum-type", "FULL_OBJECT")], [("content-encoding", "gzip")], [("x-amz-sdk-checksum-algorithm", "CRC32")],
        [("x-amz-checksum-crc32", "AAAAAA==")], [("amz-sdk-invocation-id", "5b5d")], [("amz-sdk-request", "attempt=1; max=3")],
        [("x-amz-user-agent", "aws-sdk-cpp")], [("x-amz-request-payer", "requester")], [("content-md5", "XUFAKrxLKna5cZ2REBfFkg==")],
        [("cache-control", "no-cache")], [("expires", "Thu, 01 Jan 2099 00:00:00 GMT")], [("x-amz-meta-a", "b")],
    ])
    func ordinaryPutHeadersPass(_ headers: [(String, String)]) throws {
        try RequestRefusals.check(.putObject, headers: headers.map { (name: $0.0, value: $0.1) }, query: [:])
    }

    @Test func conditionalHeadersAreEvaluatedOnReadsAndConditionalWrites() throws {
        let conditional = [(name: "if-match", value: "\"abc\""), (name: "if-none-match", value: "*"),
                           (name: "if-modified-since", value: "Thu, 01 Jan 2099 00:00:00 GMT")]
        try RequestRefusals.check(.getObject, headers: conditional, query: [:])
        try RequestRefusals.check(.headObject, headers: conditional, query: [:])
        for operation in [S3Operation.Name.putObject, .completeMultipartUpload] {
            try RequestRefusals.check(operation, headers: Array(conditional[0...1]), query: [:])
            #expect(throws: S3Error.self) { try RequestRefusals.check(operation, headers: [conditional[2]], query: [:]) }
        }
        for operation in [S3Operation.Name.deleteObject, .createBucket, .listObjectsV2, .copyObject, .uploadPart] {
            #expect(throws: S3Error.self) { try RequestRefusals.check(operation, headers: [conditional[1]], query: [:]) }
        }
        try RequestRefusals.check(.getObject, headers: [(name: "x-amz-checksum-mode", value: "ENABLED")], query: ["fetch-owner": "false"])
        try RequestRefusals.check(.listObjectsV2, headers: [], query: ["fetch-owner": "false", "list-type": "2"])
    }

    /// Docs/s3-api.md shows exactly the table the code enforces.
    @Test func docsShowTheTable() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Docs/s3-api.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let begin = "<!-- refusals:begin -->\n", end = "\n<!-- refusals:end -->"
        let shown = text.components(separatedBy: begin).dropFirst().first?.components(separatedBy: end).first
        #expect(shown == RequestRefusals.markdownTable, "Docs/s3-api.md should hold, between its markers:\n\(RequestRefusals.markdownTable)")
    }
}

@Suite struct ChecksumHeaderTests {
    func parse(_ headers: [(String, String)]) throws -> RequestedChecksum? {
        try RequestedChecksum.parse(headers.map { (name: $0.0, value: $0.1) })
    }

    @Test func readsTheValueAndTheAlgorithm() throws {
        #expect(try parse([("x-amz-checksum-crc32", "i9aeUg=="), ("x-amz-sdk-checksum-algorithm", "CRC32")])
            == RequestedChecksum(algorithm: .crc32, expected: [0x8B, 0xD6, 0x9E, 0x52]))
        #expect(try parse([("x-amz-sdk-checksum-algorithm", "crc64nvme")]) == RequestedChecksum(algorithm: .crc64nvme, expected: nil))
        #expect(try parse([("x-amz-checksum-mode", "ENABLED"), ("content-md5", "x")]) == nil)
    }

    @Test func refusesWhatCannotBeVerified() {
        let cases: [[(String, String)]] = [
            [("x-amz-checksum-crc32", "i9aeUg=="), ("x-amz-checksum-sha1", "e1AsOh9IyGCa4hLN+2Od7jlnP14=")],
            [("x-amz-checksum-crc32", "not base64")],
            [("x-amz-checksum-crc32", "e1AsOh9IyGCa4hLN+2Od7jlnP14=")],
            [("x-amz-checksum-md5", "XUFAKrxLKna5cZ2REBfFkg==")],
            [("x-amz-sdk-checksum-algorithm", "MD5")],
            [("x-amz-checksum-crc32", "i9aeUg=="), ("x-amz-sdk-checksum-algorithm", "SHA256")],
        ]
        for headers in cases {
            #expect(throws: S3Error.self, "\(headers)") { try parse(headers) }
        }
    }
}

@Suite struct ConditionTests {
    let etag = "0123abcd"
    let modified: Int64 = 1_000_000

    func outcome(_ conditions: ReadConditions) -> ReadConditions.Outcome {
        conditions.evaluate(etag: etag, lastModifiedSeconds: modified)
    }

    @Test func rfc7232Order() {
        #expect(outcome(ReadConditions()) == .proceed)
        #expect(outcome(ReadConditions(ifMatch: "\"0123abcd\"")) == .proceed)
        #expect(outcome(ReadConditions(ifMatch: "0123abcd")) == .proceed)
        #expect(outcome(ReadConditions(ifMatch: "\"x\", \"0123abcd\"")) == .proceed)
        #expect(outcome(ReadConditions(ifMatch: "*")) == .proceed)
        #expect(outcome(ReadConditions(ifMatch: "\"wrong\"")) == .preconditionFailed(header: "If-Match"))
        // If-Match holds: If-Unmodified-Since is not looked at (S3 answers 200).
        #expect(outcome(ReadConditions(ifMatch: "\"0123abcd\"", ifUnmodifiedSince: modified - 10)) == .proceed)
        #expect(outcome(ReadConditions(ifUnmodifiedSince: modified - 10)) == .preconditionFailed(header: "If-Unmodified-Since"))
        #expect(outcome(ReadConditions(ifUnmodifiedSince: modified)) == .proceed)
        #expect(outcome(ReadConditions(ifNoneMatch: "\"0123abcd\"")) == .notModified)
        #expect(outcome(ReadConditions(ifNoneMatch: "W/\"0123abcd\"")) == .notModified)
        #expect(outcome(ReadConditions(ifNoneMatch: "*")) == .notModified)
        #expect(outcome(ReadConditions(ifNoneMatch: "\"other\"")) == .proceed)
        // If-None-Match fails: If-Modified-Since is not looked at (S3 answers 304).
        #expect(outcome(ReadConditions(ifNoneMatch: "\"0123abcd\"", ifModifiedSince: modified - 10)) == .notModified)
        #expect(outcome(ReadConditions(ifNoneMatch: "\"other\"", ifModifiedSince: modified + 10)) == .proceed)
        #expect(outcome(ReadConditions(ifModifiedSince: modified)) == .notModified)
        #expect(outcome(ReadConditions(ifModifiedSince: modified - 1)) == .proceed)
        #expect(outcome(ReadConditions(ifMatch: "\"wrong\"", ifNoneMatch: "\"0123abcd\"")) == .preconditionFailed(header: "If-Match"))
    }

    @Test func headersAndDates() {
        let conditions = ReadConditions(headers: [(name: "if-modified-since", value: "Sun, 06 Nov 1994 08:49:37 GMT"),
                                                  (name: "if-unmodified-since", value: "not a date")])
        #expect(conditions.ifModifiedSince == 784_111_777)
        #expect(conditions.ifUnmodifiedSince == nil)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994") == 784_111_777)
        #expect(HTTPDate.parse("19941106T084937Z") == 784_111_777)
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 25:49:37 GMT") == nil)
        #expect(HTTPDate.parse("Sun, 06 Foo 1994 08:49:37 GMT") == nil)
    }
}

@Suite struct BucketListingTests {
    @Test func pages() {
        let names = ["a1", "a2", "b1", "b2", "b3"]
        #expect(BucketPage.select(names, prefix: nil, after: nil, maxBuckets: 10).page == names)
        let first = BucketPage.select(names, prefix: "b", after: nil, maxBuckets: 2)
        #expect(first.page == ["b1", "b2"] && first.next == "b2")
        let second = BucketPage.select(names, prefix: "b", after: first.next, maxBuckets: 2)
        #expect(second.page == ["b3"] && second.next == nil)
        let exact = BucketPage.select(names, prefix: "a", after: nil, maxBuckets: 2)
        #expect(exact.page == ["a1", "a2"] && exact.next == nil)
    }

    @Test func xmlCarriesTokenPrefixAndRegion() {
        let xml = S3XML.listBuckets([S3XML.BucketEntry(name: "b1", created: "2026-01-01T00:00:00.000Z")], ownerID: "GK1", ownerName: "k",
                                    continuationToken: "YjE=", prefix: "b", region: "shale")
        #expect(xml.contains("<ContinuationToken>YjE=</ContinuationToken>"))
        #expect(xml.contains("<Prefix>b</Prefix>"))
        #expect(xml.contains("<BucketRegion>shale</BucketRegion>"))
    }

    @Test func createBucketConfiguration() throws {
        try BucketConfiguration.check("", region: "shale")
        let body = { (constraint: String) in
            "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>\(constraint)</LocationConstraint></CreateBucketConfiguration>"
        }
        try BucketConfiguration.check(body("shale"), region: "shale")
        try BucketConfiguration.check(body("eu-west-1"), region: nil)
        #expect(throws: S3Error.self) { try BucketConfiguration.check(body("eu-west-1"), region: "shale") }
        #expect(throws: S3Error.self) { try BucketConfiguration.check("garbage", region: nil) }
        #expect(throws: S3Error.self) {
            try BucketConfiguration.check("<CreateBucketConfiguration><Location><Name>x</Name></Location></CreateBucketConfiguration>", region: nil)
        }
    }
}
