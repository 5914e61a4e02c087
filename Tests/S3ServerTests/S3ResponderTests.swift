import Checksums
import ClusterModel
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Node
@testable import S3Server
import S3Protocol
import Synchronization
import Testing
import Units

/// Collects a response body in memory.
struct CollectingWriter: ResponseBodyWriter {
    let into: Collected
    mutating func write(_ buffer: ByteBuffer) async throws { into.bytes.withLock { $0 += buffer.readableBytesView } }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

final class Collected: Sendable {
    let bytes = Mutex<[UInt8]>([])
}

/// How many times the responder asked for 100 Continue.
final class ContinueCount: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

/// The S3 responder over in-memory stores: routing, permissions, errors,
/// ranges, conditions, refusals and headers, without sockets or nodes.
@Suite struct S3ResponderTests {
    let cluster = MemoryCluster()
    let objects: MemoryObjectStore
    let responder: S3Responder
    let writer: AccessKeyRecord
    let reader: AccessKeyRecord

    init() async throws {
        objects = MemoryObjectStore(clock: cluster.clock)
        responder = S3Responder(cluster: cluster, objects: objects, region: "shale", logger: Logger(label: "test"))
        writer = try cluster.addKey(name: "writer")
        reader = try cluster.addKey(name: "reader")
        _ = try await cluster.createBucket(name: "data")
        try await cluster.setPermissions(bucket: "data", key: writer.id.rawValue, permissions: [.read, .write, .owner], allowed: true)
        try await cluster.setPermissions(bucket: "data", key: reader.id.rawValue, permissions: [.read], allowed: true)
    }

    struct Answer {
        let status: Int
        let headers: HTTPFields
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var code: String? {
            guard let start = text.firstRange(of: "<Code>"), let end = text.firstRange(of: "</Code>") else { return nil }
            return String(text[start.upperBound..<end.lowerBound])
        }
        func header(_ name: String) -> String? { headers[HTTPField.Name(name)!] }
    }

    /// Signs and sends one request (UNSIGNED-PAYLOAD); counts the 100-continues asked for.
    func send(_ method: HTTPRequest.Method, _ path: String, query: String = "", headers extra: [(String, String)] = [], body: [UInt8] = [],
              key: AccessKeyRecord? = nil, continues: ContinueCount? = nil, signedAtMillis: UInt64? = nil, host: String = "127.0.0.1:3900",
              through responder: S3Responder? = nil, payloadHash: String = SigV4.unsignedPayload) async throws -> Answer {
        let key = key ?? writer
        let now = signedAtMillis ?? cluster.clock.nowMillis()
        let amzDate = S3Dates.amzDate(now)
        var all: [(String, String)] = [("host", host), ("x-amz-content-sha256", payloadHash), ("x-amz-date", amzDate)]
        all += extra.map { ($0.0.lowercased(), $0.1) }
        if method == .put || method == .post { all.append(("content-length", String(body.count))) }
        let names = all.map(\.0).sorted()
        let unsigned = SigV4.Request(method: method.rawValue, rawPath: path, rawQuery: query, headers: all)
        let canonical = SigV4.canonicalRequest(unsigned, signedHeaders: names, payloadHash: payloadHash)
        let scope = "\(amzDate.prefix(8))/shale/s3/aws4_request"
        let draft = "AWS4-HMAC-SHA256 Credential=\(key.id.rawValue)/\(scope),SignedHeaders=\(names.joined(separator: ";")),Signature=" + String(repeating: "0", count: 64)
        let signature = SigV4.signature(secret: key.secret.rawValue, authorization: try SigV4.Authorization(header: draft), amzDate: amzDate,
                                        canonicalRequest: canonical)
        var fields = HTTPFields()
        for (name, value) in all where name != "host" { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        fields[.authorization] = String(draft.dropLast(64)) + signature
        return try await deliver(HTTPRequest(method: method, scheme: "http", authority: host, path: path + (query.isEmpty ? "" : "?" + query),
                                             headerFields: fields), body: body, continues: continues, through: responder)
    }

    /// Sends a request as it is, unsigned (a browser's CORS preflight).
    func deliver(_ head: HTTPRequest, body: [UInt8] = [], continues: ContinueCount? = nil, through responder: S3Responder? = nil) async throws -> Answer {
        let request = Request(head: head, body: RequestBody(buffer: ByteBuffer(bytes: body)))
        let response = await (responder ?? self.responder).answer(request, sendContinue: { continues?.increment() })
        let collected = Collected()
        try await response.body.write(CollectingWriter(into: collected))
        return Answer(status: Int(response.status.code), headers: response.headers, body: collected.bytes.withLock { $0 })
    }

    @Test func putGetRangeAndHeaders() async throws {
        let body = Array("0123456789abcdef".utf8)
        let put = try await send(.put, "/data/a/b.csv", headers: [("content-type", "text/csv"), ("x-amz-meta-owner", "dbt"),
                                                                  ("cache-control", "max-age=5"), ("x-amz-checksum-crc32", crc32(body))], body: body)
        #expect(put.status == 200 && put.header("etag") == "\"\(Hex.encode(Array(Insecure.MD5.hash(data: body))))\"")
        #expect(put.header("x-amz-checksum-crc32") == crc32(body))
        let whole = try await send(.get, "/data/a/b.csv", headers: [("x-amz-checksum-mode", "ENABLED")])
        #expect(whole.status == 200 && whole.body == body)
        #expect(whole.header("content-type") == "text/csv" && whole.header("x-amz-meta-owner") == "dbt" && whole.header("cache-control") == "max-age=5")
        #expect(whole.header("x-amz-checksum-crc32") == crc32(body))
        let part = try await send(.get, "/data/a/b.csv", headers: [("range", "bytes=4-7"), ("x-amz-checksum-mode", "ENABLED")])
        #expect(part.status == 206 && part.text == "4567" && part.header("content-range") == "bytes 4-7/16")
        #expect(part.header("x-amz-checksum-crc32") == nil)
        let tail = try await send(.get, "/data/a/b.csv", headers: [("range", "bytes=16-")])
        #expect(tail.status == 416 && tail.code == "InvalidRange")
        let listed = try await send(.get, "/data", query: "delimiter=%2F&list-type=2")
        #expect(listed.text.contains("<Prefix>a/</Prefix>"))
    }

    @Test func permissionsAndMissingThings() async throws {
        _ = try await send(.put, "/data/k", body: [1])
        #expect(try await send(.get, "/data/k", key: reader).status == 200)
        let denied = try await send(.put, "/data/k", body: [2], key: reader)
        #expect(denied.status == 403 && denied.code == "AccessDenied")
        #expect(try await send(.get, "/data/k").body == [1])
        #expect(try await send(.get, "/nowhere/k").code == "NoSuchBucket")
        #expect(try await send(.get, "/data/missing").code == "NoSuchKey")
        #expect(try await send(.delete, "/data", key: reader).code == "AccessDenied")
        #expect(try await send(.delete, "/data").code == "BucketNotEmpty")
    }

    @Test func conditionalReads() async throws {
        let put = try await send(.put, "/data/c", body: Array("v1".utf8))
        let etag = try #require(put.header("etag"))
        #expect(try await send(.get, "/data/c", headers: [("if-match", etag)]).status == 200)
        #expect(try await send(.get, "/data/c", headers: [("if-match", "\"x\"")]).code == "PreconditionFailed")
        #expect(try await send(.head, "/data/c", headers: [("if-none-match", etag)]).status == 304)
        #expect(try await send(.get, "/data/c", headers: [("if-modified-since", "Thu, 01 Jan 2099 00:00:00 GMT")]).status == 304)
        #expect(try await send(.get, "/data/c", headers: [("if-unmodified-since", "Thu, 01 Jan 1970 00:00:00 GMT")]).status == 412)
    }

    /// If-None-Match: * and If-Match on PUT decide whether the write happens.
    @Test func conditionalWrites() async throws {
        #expect(try await send(.put, "/data/w", headers: [("if-none-match", "*")], body: Array("v1".utf8)).status == 200)
        #expect(try await send(.put, "/data/w", headers: [("if-none-match", "*")], body: Array("v2".utf8)).code == "PreconditionFailed")
        let etag = try #require(try await send(.head, "/data/w").header("etag"))
        #expect(try await send(.put, "/data/w", headers: [("if-match", "\"0123\"")], body: Array("v3".utf8)).code == "PreconditionFailed")
        #expect(try await send(.get, "/data/w").text == "v1")
        #expect(try await send(.put, "/data/w", headers: [("if-match", etag)], body: Array("v4".utf8)).status == 200)
        #expect(try await send(.get, "/data/w").text == "v4")
        #expect(try await send(.put, "/data/absent", headers: [("if-match", "*")], body: [1]).code == "NoSuchKey")
        #expect(try await send(.put, "/data/w", headers: [("if-none-match", etag)], body: [1]).code == "NotImplemented")
    }

    /// A refused request never reaches a handler: nothing stored, no 100 Continue asked for.
    @Test func refusalsStoreNothingAndNeverLetTheBodyIn() async throws {
        let continues = ContinueCount()
        for (name, value) in [("x-amz-server-side-encryption", "AES256"), ("if-modified-since", "Thu, 01 Jan 2099 00:00:00 GMT"),
                              ("x-amz-metadata-directive", "REPLACE"),
                              ("x-amz-website-redirect-location", "/b"), ("x-amz-storage-class", "GLACIER")] {
            let answer = try await send(.put, "/data/refused", headers: [(name, value)], body: [1, 2, 3], continues: continues)
            #expect(answer.status == 501 && answer.code == "NotImplemented" && answer.text.contains(name), "\(name)")
        }
        let badSignature = try await send(.put, "/data/refused", body: [1], key: AccessKeyRecord(
            id: writer.id, name: "w", secret: SecretKey(randomBytes: randomBytes(SecretKey.hexDigits / 2)), createdMillis: 0), continues: continues)
        #expect(badSignature.code == "SignatureDoesNotMatch")
        #expect(try await send(.put, "/data/refused", body: [1], key: reader, continues: continues).code == "AccessDenied")
        #expect(continues.value == 0)
        #expect(objects.count == 0)
        #expect(try await send(.put, "/data/accepted", body: [1], continues: continues).status == 200)
        #expect(continues.value == 1)
    }

    @Test func aWrongChecksumStoresNothing() async throws {
        let answer = try await send(.put, "/data/bad", headers: [("x-amz-checksum-crc32", crc32(Array("other".utf8)))], body: Array("body".utf8))
        #expect(answer.status == 400 && answer.code == "BadDigest")
        #expect(objects.count == 0)
    }

    /// The skew window is checked against the cluster's injected clock.
    @Test func signatureSkewUsesTheInjectedClock() async throws {
        let now = cluster.clock.nowMillis()
        #expect(try await send(.get, "/data", query: "list-type=2", signedAtMillis: now - 60_000).status == 200)
        let late = try await send(.get, "/data", query: "list-type=2", signedAtMillis: now - 3_600_000)
        #expect(late.status == 403 && late.code == "RequestTimeTooSkewed")
        // Moving the cluster's clock moves the window: 14 minutes on, a request signed at `now` still passes; 16 on, it does not.
        cluster.clock.advance(byMillis: 14 * 60_000)
        #expect(try await send(.get, "/data", query: "list-type=2", signedAtMillis: now).status == 200)
        cluster.clock.advance(byMillis: 2 * 60_000)
        #expect(try await send(.get, "/data", query: "list-type=2", signedAtMillis: now).code == "RequestTimeTooSkewed")
    }

    @Test func deleteObjectsAnswersEveryKey() async throws {
        for key in ["a", "b&c"] { _ = try await send(.put, "/data/" + (key == "a" ? "a" : "b%26c"), body: [1]) }
        let body = Array("<Delete><Object><Key>a</Key></Object><Object><Key>b&amp;c</Key></Object><Object><Key>never</Key></Object><Object><Key>a</Key><VersionId>v1</VersionId></Object></Delete>".utf8)
        let answer = try await send(.post, "/data", query: "delete=", body: body)
        #expect(answer.status == 200)
        #expect(answer.text.contains("<Deleted><Key>a</Key></Deleted>") && answer.text.contains("<Deleted><Key>b&amp;c</Key></Deleted>"))
        #expect(answer.text.contains("<Deleted><Key>never</Key></Deleted>"))
        // A version id is passed on: the (unversioned) store deletes no such version, and says so as S3 does.
        #expect(answer.text.contains("<Deleted><Key>a</Key><VersionId>v1</VersionId></Deleted>"))
        #expect(objects.count == 0)
        let quiet = try await send(.post, "/data", query: "delete=", body: Array("<Delete><Quiet>true</Quiet><Object><Key>x</Key></Object></Delete>".utf8))
        #expect(quiet.status == 200 && !quiet.text.contains("<Deleted>"))
    }

    @Test func deleteObjectsChecksItsDigestsAndPermissions() async throws {
        _ = try await send(.put, "/data/keep", body: [1])
        let body = Array("<Delete><Object><Key>keep</Key></Object></Delete>".utf8)
        let wrongMD5 = Base64.encode(Array(Insecure.MD5.hash(data: Array("other".utf8))))
        #expect(try await send(.post, "/data", query: "delete=", headers: [("content-md5", wrongMD5)], body: body).code == "BadDigest")
        #expect(try await send(.post, "/data", query: "delete=", headers: [("x-amz-checksum-crc32", crc32(Array("x".utf8)))], body: body).code == "BadDigest")
        #expect(try await send(.post, "/data", query: "delete=", body: body, key: reader).code == "AccessDenied")
        #expect(try await send(.post, "/data", query: "delete=", body: Array("<Delete/>".utf8)).code == "MalformedXML")
        #expect(objects.count == 1)
        let md5 = Base64.encode(Array(Insecure.MD5.hash(data: body)))
        #expect(try await send(.post, "/data", query: "delete=", headers: [("content-md5", md5), ("x-amz-checksum-crc32", crc32(body))], body: body).status == 200)
        #expect(objects.count == 0)
    }

    @Test func responseHeaderOverrides() async throws {
        _ = try await send(.put, "/data/r", headers: [("content-type", "application/octet-stream")], body: [1, 2])
        let answer = try await send(.get, "/data/r", query: "response-cache-control=no-store&response-content-disposition=attachment%3B%20filename%3Dr.csv&response-content-type=text%2Fcsv")
        #expect(answer.status == 200 && answer.header("content-type") == "text/csv")
        #expect(answer.header("content-disposition") == "attachment; filename=r.csv" && answer.header("cache-control") == "no-store")
        #expect(try await send(.head, "/data/r", query: "response-content-language=de").header("content-language") == "de")
        #expect(try await send(.get, "/data/r", query: "response-bogus=1").code == "InvalidArgument")
        #expect(try await send(.get, "/data", query: "response-content-type=x").code == "NotImplemented")
    }

    /// With a root domain, `BUCKET.<root domain>` names the bucket; path-style keeps working beside it.
    @Test func virtualHostAddressing() async throws {
        let virtual = S3Responder(cluster: cluster, objects: objects, region: "shale", rootDomain: "s3.test", logger: Logger(label: "test"))
        let put = try await send(.put, "/vee/k.csv", body: Array("vh".utf8), host: "data.s3.test:3900", through: virtual)
        #expect(put.status == 200)
        #expect(try await send(.get, "/data/vee/k.csv", through: virtual).text == "vh")
        #expect(try await send(.get, "/", query: "list-type=2", host: "data.s3.test:3900", through: virtual).text.contains("<Key>vee/k.csv</Key>"))
        #expect(try await send(.get, "/vee/k.csv", host: "nowhere.s3.test", through: virtual).code == "NoSuchBucket")
        // Without a root domain, the same Host is not read as a bucket: the path's first segment is.
        #expect(try await send(.get, "/vee/k.csv", host: "data.s3.test:3900").code == "NoSuchBucket")
    }

    func crc32(_ bytes: [UInt8]) -> String { Base64.encode(ChecksumHasher.digest(.crc32, of: bytes)) }
}
