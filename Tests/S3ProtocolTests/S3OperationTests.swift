import S3Protocol
import Testing

@Suite struct S3OperationTests {
    func route(_ method: String, _ path: String, _ query: [String: String] = [:]) throws -> S3Operation {
        try S3Operation.route(method: method, rawPath: path, query: query)
    }

    @Test func routesPathStyleRequests() throws {
        #expect(try route("GET", "/") == .listBuckets)
        #expect(try route("PUT", "/b1") == .createBucket(bucket: "b1"))
        #expect(try route("HEAD", "/b1") == .headBucket(bucket: "b1"))
        #expect(try route("DELETE", "/b1/") == .deleteBucket(bucket: "b1"))
        #expect(try route("GET", "/b1", ["list-type": "2"]) == .listObjectsV2(bucket: "b1"))
        #expect(try route("GET", "/b1") == .listObjects(bucket: "b1"))
        #expect(try route("GET", "/b1", ["location": ""]) == .getBucketLocation(bucket: "b1"))
        #expect(try route("PUT", "/b1/a/b%20c.parquet") == .putObject(bucket: "b1", key: "a/b c.parquet"))
        #expect(try route("GET", "/b1/%E2%82%AC") == .getObject(bucket: "b1", key: "€"))
        #expect(try route("HEAD", "/b1/k") == .headObject(bucket: "b1", key: "k"))
        #expect(try route("DELETE", "/b1/k") == .deleteObject(bucket: "b1", key: "k"))
    }

    @Test func derivesThePermissionFromTheOperation() throws {
        #expect(try route("GET", "/b/k").access == .read)
        #expect(try route("GET", "/b", ["list-type": "2"]).access == .read)
        #expect(try route("PUT", "/b/k").access == .write)
        #expect(try route("DELETE", "/b/k").access == .write)
        #expect(try route("DELETE", "/b").access == .owner)
        #expect(try route("PUT", "/b").access == .createBucket)
        #expect(try route("GET", "/").access == .authenticated)
    }

    @Test func answersOperationsNotOfferedAsNotImplemented() throws {
        #expect(try route("POST", "/b", ["delete": ""]) == .deleteObjects(bucket: "b"))
        #expect(try route("POST", "/b", ["delete": ""]).access == .write)
        #expect(try route("GET", "/b", ["delete": ""]) == .notImplemented("GET bucket ?delete"))
        #expect(try route("PUT", "/b/k", ["partNumber": "1", "uploadId": "x"]) == .uploadPart(bucket: "b", key: "k"))
        #expect(try route("POST", "/b/k", ["uploads": ""]) == .createMultipartUpload(bucket: "b", key: "k"))
        #expect(try route("POST", "/b/k", ["uploadId": "x"]) == .completeMultipartUpload(bucket: "b", key: "k"))
        #expect(try route("DELETE", "/b/k", ["uploadId": "x"]) == .abortMultipartUpload(bucket: "b", key: "k"))
        #expect(try route("GET", "/b/k", ["uploadId": "x"]) == .listParts(bucket: "b", key: "k"))
        #expect(try route("GET", "/b", ["uploads": ""]) == .listMultipartUploads(bucket: "b"))
        #expect(try route("GET", "/b", ["uploads": ""]).access == .read)
        #expect(throws: S3Error.self) { try route("PUT", "/b/k", ["uploadId": "x"]) }
        #expect(throws: S3Error.self) { try route("PUT", "/b/k", ["partNumber": "1"]) }
        #expect(try route("GET", "/b", ["website": ""]) == .notImplemented("GET bucket ?website"))
        #expect(try route("GET", "/b", ["versioning": ""]) == .getBucketVersioning(bucket: "b"))
        #expect(try route("PUT", "/b", ["versioning": ""]).access == .owner)
        #expect(try route("GET", "/b", ["versions": ""]) == .listObjectVersions(bucket: "b"))
        #expect(throws: S3Error.self) { try route("PUT", "/b/a\u{1}b") }
    }

    @Test func rejectsBadRequests() {
        #expect(throws: S3Error(.methodNotAllowed, "The specified method is not allowed against this resource.")) { try route("PUT", "/") }
        #expect(throws: S3Error.self) { try route("GET", "/b/%zz") }
        #expect(throws: S3Error(.keyTooLongError, "Your key is too long.")) { try route("PUT", "/b/" + String(repeating: "k", count: 1025)) }
    }

    @Test func errorCodesCarryTheirStatus() {
        #expect(S3Error.Code.noSuchKey.status == 404)
        #expect(S3Error.Code.serviceUnavailable.status == 503)
        #expect(S3Error.Code.invalidRange.status == 416)
        #expect(S3Error.Code.missingContentLength.status == 411)
        #expect(S3Error.Code.bucketNotEmpty.status == 409)
        #expect(S3Error.Code.signatureDoesNotMatch.status == 403)
        #expect(S3Error(SigV4Error.signatureMismatch).code == .signatureDoesNotMatch)
        #expect(S3Error(SigV4Error.unsupportedPayload("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")).code == .notImplemented)
    }
}

@Suite struct ByteRangeTests {
    @Test func resolvesTheThreeForms() {
        #expect(ByteRange(header: "bytes=0-9")?.resolve(size: 100) == 0..<10)
        #expect(ByteRange(header: "bytes=90-")?.resolve(size: 100) == 90..<100)
        #expect(ByteRange(header: "bytes=-10")?.resolve(size: 100) == 90..<100)
        #expect(ByteRange(header: "bytes=-500")?.resolve(size: 100) == 0..<100)
        #expect(ByteRange(header: "bytes=50-500")?.resolve(size: 100) == 50..<100)
    }

    @Test func unsatisfiableAndIgnoredRanges() {
        #expect(ByteRange(header: "bytes=100-")?.resolve(size: 100) == nil)
        #expect(ByteRange(header: "bytes=0-0")?.resolve(size: 0) == nil)
        #expect(ByteRange(header: "bytes=-0")?.resolve(size: 10) == nil)
        #expect(ByteRange(header: "bytes=5-2") == nil)
        #expect(ByteRange(header: "bytes=0-1,4-5") == nil)
        #expect(ByteRange(header: "items=0-1") == nil)
    }
}

@Suite struct EncodingTests {
    @Test func base64MatchesRFC4648Vectors() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
        }
        #expect(Base64.decode("Zm9") == nil)
        #expect(Base64.decode("Zm9v!A==") == nil)
        #expect(Base64.decode("Zg=v") == nil)
    }

    @Test func continuationTokensRoundTrip() {
        for cursor in ["", "a/b/", "€ and spaces", "x\u{10FFFF}"] {
            #expect(ContinuationToken.decode(ContinuationToken.encode(cursor)) == cursor)
        }
        #expect(ContinuationToken.decode("not base64!") == nil)
    }

    @Test func datesInBothShapes() {
        // 2009-10-12T17:50:30Z, a Monday (S3's documentation examples).
        let millis: UInt64 = 1_255_369_830_000
        #expect(S3Dates.iso8601(millis) == "2009-10-12T17:50:30.000Z")
        #expect(S3Dates.rfc1123(millis) == "Mon, 12 Oct 2009 17:50:30 GMT")
        #expect(S3Dates.iso8601(951_782_400_123) == "2000-02-29T00:00:00.123Z")
    }

    @Test func virtualHostRequests() throws {
        #expect(S3Operation.virtualHostBucket(host: "data.s3.example.com:3900", rootDomain: "s3.example.com") == "data")
        #expect(S3Operation.virtualHostBucket(host: "My.Bucket.S3.example.com", rootDomain: "s3.example.com") == "my.bucket")
        #expect(S3Operation.virtualHostBucket(host: "s3.example.com:3900", rootDomain: "s3.example.com") == nil)
        #expect(S3Operation.virtualHostBucket(host: "127.0.0.1:3900", rootDomain: "s3.example.com") == nil)
        #expect(S3Operation.virtualHostBucket(host: "data.s3.example.com", rootDomain: nil) == nil)
        #expect(try S3Operation.route(method: "GET", rawPath: "/a/b%20c", query: [:], virtualBucket: "data") == .getObject(bucket: "data", key: "a/b c"))
        #expect(try S3Operation.route(method: "GET", rawPath: "/", query: ["list-type": "2"], virtualBucket: "data") == .listObjectsV2(bucket: "data"))
        #expect(try S3Operation.route(method: "PUT", rawPath: "/", query: [:], virtualBucket: "new") == .createBucket(bucket: "new"))
        #expect(try S3Operation.route(method: "POST", rawPath: "/", query: ["delete": ""], virtualBucket: "data") == .deleteObjects(bucket: "data"))
    }
}
