import ClusterModel
import Crypto
import HTTPTypes
import S3Protocol
@testable import S3Server
import Testing
import Units

/// Object and bucket tagging, the ACL answers, CORS, and the digests of
/// small XML bodies, through the responder over in-memory stores.
extension S3ResponderTests {
    static func tagging(_ pairs: [(String, String)]) -> [UInt8] {
        Array(("<Tagging><TagSet>" + pairs.map { "<Tag><Key>\($0.0)</Key><Value>\($0.1)</Value></Tag>" }.joined() + "</TagSet></Tagging>").utf8)
    }

    @Test func objectTaggingLifecycle() async throws {
        let put = try await send(.put, "/data/t", headers: [("x-amz-tagging", "team=data&tier=gold%20plus")], body: [1, 2, 3])
        #expect(put.status == 200)
        let head = try await send(.head, "/data/t")
        #expect(head.header("x-amz-tagging-count") == "2")
        let got = try await send(.get, "/data/t", query: "tagging")
        #expect(got.status == 200 && got.text.contains("<Tag><Key>team</Key><Value>data</Value></Tag>"))
        #expect(got.text.contains("<Key>tier</Key><Value>gold plus</Value>"))

        let replaced = try await send(.put, "/data/t", query: "tagging", body: Self.tagging([("a", "1")]))
        #expect(replaced.status == 200)
        #expect(try await send(.get, "/data/t", query: "tagging").text.contains("<Key>a</Key><Value>1</Value>"))
        #expect(try await send(.get, "/data/t").body == [1, 2, 3], "tagging leaves the bytes alone")
        // A reader may read tags but not change them.
        #expect(try await send(.get, "/data/t", query: "tagging", key: reader).status == 200)
        #expect(try await send(.put, "/data/t", query: "tagging", body: Self.tagging([("b", "2")]), key: reader).code == "AccessDenied")

        #expect(try await send(.delete, "/data/t", query: "tagging").status == 204)
        #expect(try await send(.head, "/data/t").header("x-amz-tagging-count") == nil)
        #expect(!(try await send(.get, "/data/t", query: "tagging").text.contains("<Tag>")))
        #expect(try await send(.get, "/data/missing", query: "tagging").code == "NoSuchKey")
        #expect(try await send(.put, "/data/missing", query: "tagging", body: Self.tagging([("a", "1")])).code == "NoSuchKey")
    }

    @Test func tagLimitsAreAWSs() async throws {
        _ = try await send(.put, "/data/limits", body: [1])
        let eleven = (0..<11).map { ("k\($0)", "v") }
        let cases: [([(String, String)], String)] = [
            (eleven, "more than 10 tags"), ([("a", "1"), ("a", "2")], "a repeated key"),
            ([(String(repeating: "k", count: 129), "v")], "a 129-character key"), ([("k", String(repeating: "v", count: 257))], "a 257-character value"),
            ([("aws:created", "x")], "an aws: key"), ([("", "v")], "an empty key"),
        ]
        for (tags, what) in cases {
            let answer = try await send(.put, "/data/limits", query: "tagging", body: Self.tagging(tags))
            #expect(answer.status == 400 && answer.code == "InvalidTag", "\(what)")
        }
        let header = try await send(.put, "/data/new", headers: [("x-amz-tagging", "a=1&a=2")], body: [1])
        #expect(header.code == "InvalidTag")
        #expect(try await send(.get, "/data/new").code == "NoSuchKey", "a refused PUT stores nothing")
        let malformed = try await send(.put, "/data/limits", query: "tagging", body: Array("<Tagging><Tag/></Tagging>".utf8))
        #expect(malformed.code == "MalformedXML")
        #expect(try await send(.get, "/data/limits", query: "tagging").text.contains("<TagSet></TagSet>"), "nothing was changed")
    }

    @Test func copyKeepsOrReplacesTags() async throws {
        _ = try await send(.put, "/data/src", headers: [("x-amz-tagging", "a=1")], body: [7])
        _ = try await send(.put, "/data/copy1", headers: [("x-amz-copy-source", "/data/src")])
        #expect(try await send(.get, "/data/copy1", query: "tagging").text.contains("<Key>a</Key><Value>1</Value>"))
        _ = try await send(.put, "/data/copy2", headers: [("x-amz-copy-source", "/data/src"), ("x-amz-tagging-directive", "REPLACE"),
                                                          ("x-amz-tagging", "b=2")])
        let replaced = try await send(.get, "/data/copy2", query: "tagging").text
        #expect(replaced.contains("<Key>b</Key>") && !replaced.contains("<Key>a</Key>"))
        let ignored = try await send(.put, "/data/copy3", headers: [("x-amz-copy-source", "/data/src"), ("x-amz-tagging", "b=2")])
        #expect(ignored.code == "InvalidArgument", "tags with COPY would be ignored: refused")
        #expect(try await send(.get, "/data/copy3").code == "NoSuchKey")
    }

    @Test func multipartUploadCarriesTags() async throws {
        let created = try await send(.post, "/data/mp", query: "uploads", headers: [("x-amz-tagging", "stage=raw")])
        let uploadID = try #require(created.text.firstRange(of: "<UploadId>").map { range in
            String(created.text[range.upperBound...].prefix { $0 != "<" })
        })
        let part = try await send(.put, "/data/mp", query: "partNumber=1&uploadId=\(uploadID)", body: [1, 2])
        let etag = try #require(part.header("etag"))
        let complete = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\(etag)</ETag></Part></CompleteMultipartUpload>"
        #expect(try await send(.post, "/data/mp", query: "uploadId=\(uploadID)", body: Array(complete.utf8)).status == 200)
        #expect(try await send(.head, "/data/mp").header("x-amz-tagging-count") == "1")
    }

    @Test func bucketTagging() async throws {
        #expect(try await send(.get, "/data", query: "tagging").code == "NoSuchTagSet")
        #expect(try await send(.put, "/data", query: "tagging", body: Self.tagging([("cost", "lake")])).status == 204)
        #expect(try await send(.get, "/data", query: "tagging", key: reader).text.contains("<Key>cost</Key><Value>lake</Value>"))
        #expect(try await send(.put, "/data", query: "tagging", body: Self.tagging([("x", "y")]), key: reader).code == "AccessDenied",
                "a bucket's configuration is its owner's")
        let fiftyOne = (0..<51).map { ("k\($0)", "v") }
        #expect(try await send(.put, "/data", query: "tagging", body: Self.tagging(fiftyOne)).code == "InvalidTag")
        #expect(try await send(.delete, "/data", query: "tagging").status == 204)
        #expect(try await send(.get, "/data", query: "tagging").code == "NoSuchTagSet")
    }

    @Test func aclAnswersTheOwnerAndRefusesGrantsToOthers() async throws {
        _ = try await send(.put, "/data/acl", body: [1])
        let bucketACL = try await send(.get, "/data", query: "acl")
        #expect(bucketACL.status == 200 && bucketACL.text.contains("<ID>\(writer.id.rawValue)</ID>") && bucketACL.text.contains("FULL_CONTROL"))
        #expect(try await send(.get, "/data/acl", query: "acl").text.contains("FULL_CONTROL"))
        #expect(try await send(.get, "/data/none", query: "acl").code == "NoSuchKey")
        #expect(try await send(.put, "/data", query: "acl", headers: [("x-amz-acl", "private")]).status == 200)
        #expect(try await send(.put, "/data/acl", query: "acl", headers: [("x-amz-acl", "bucket-owner-full-control")]).status == 200)
        #expect(try await send(.put, "/data", query: "acl", headers: [("x-amz-acl", "public-read")]).code == "NotImplemented")
        let owner = "<Grantee xsi:type=\"CanonicalUser\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><ID>\(writer.id.rawValue)</ID></Grantee>"
        let ownerOnly = "<AccessControlPolicy><AccessControlList><Grant>\(owner)<Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>"
        #expect(try await send(.put, "/data", query: "acl", body: Array(ownerOnly.utf8)).status == 200)
        let everyone = "<Grant><Grantee xsi:type=\"Group\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>"
        let publicRead = ownerOnly.replacingOccurrences(of: "</AccessControlList>", with: everyone + "</AccessControlList>")
        #expect(try await send(.put, "/data", query: "acl", body: Array(publicRead.utf8)).code == "NotImplemented")
        #expect(try await send(.put, "/data", query: "acl").code == "MissingSecurityHeader")
        #expect(try await send(.put, "/data", query: "acl", body: Array(ownerOnly.utf8), key: reader).code == "AccessDenied")
    }

    static let corsRules = """
        <CORSConfiguration><CORSRule><AllowedOrigin>https://app.example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>\
        <AllowedMethod>GET</AllowedMethod><AllowedHeader>content-*</AllowedHeader><AllowedHeader>x-amz-*</AllowedHeader>\
        <ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule>\
        <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>
        """

    func preflight(_ path: String, origin: String?, method: String?, headers: String? = nil) async throws -> Answer {
        var fields = HTTPFields()
        if let origin { fields[.origin] = origin }
        if let method { fields[HTTPField.Name("Access-Control-Request-Method")!] = method }
        if let headers { fields[HTTPField.Name("Access-Control-Request-Headers")!] = headers }
        return try await deliver(HTTPRequest(method: .options, scheme: "http", authority: "127.0.0.1:3900", path: path, headerFields: fields))
    }

    @Test func corsConfigurationAndPreflight() async throws {
        #expect(try await send(.get, "/data", query: "cors").code == "NoSuchCORSConfiguration")
        #expect(try await preflight("/data/k", origin: "https://app.example.com", method: "PUT").status == 403, "no configuration: refused")
        #expect(try await send(.put, "/data", query: "cors", body: Array(Self.corsRules.utf8)).status == 200)
        #expect(try await send(.get, "/data", query: "cors").text.contains("<AllowedHeader>x-amz-*</AllowedHeader>"))

        let allowed = try await preflight("/data/k", origin: "https://app.example.com", method: "PUT", headers: "Content-Type, X-Amz-Date")
        #expect(allowed.status == 200)
        #expect(allowed.header("access-control-allow-origin") == "https://app.example.com")
        #expect(allowed.header("access-control-allow-methods") == "PUT, GET")
        #expect(allowed.header("access-control-allow-headers") == "content-type, x-amz-date")
        #expect(allowed.header("access-control-expose-headers") == "ETag" && allowed.header("access-control-max-age") == "600")
        let anyOrigin = try await preflight("/data/k", origin: "https://elsewhere.example", method: "GET")
        #expect(anyOrigin.status == 200 && anyOrigin.header("access-control-allow-origin") == "*")

        let wrongHeader = try await preflight("/data/k", origin: "https://app.example.com", method: "PUT", headers: "authorization-extra")
        #expect(wrongHeader.status == 403 && wrongHeader.code == "AccessForbidden")
        #expect(try await preflight("/data/k", origin: "https://elsewhere.example", method: "PUT").status == 403)
        #expect(try await preflight("/nowhere/k", origin: "https://app.example.com", method: "GET").status == 403)
        #expect(try await preflight("/data/k", origin: nil, method: "GET").code == "BadRequest")

        // The request itself gets the headers, errors included; without Origin, none.
        _ = try await send(.put, "/data/k", body: [1])
        let get = try await send(.get, "/data/k", headers: [("origin", "https://app.example.com")])
        #expect(get.header("access-control-allow-origin") == "https://app.example.com" && get.header("access-control-expose-headers") == "ETag")
        let missing = try await send(.get, "/data/none", headers: [("origin", "https://app.example.com")])
        #expect(missing.status == 404 && missing.header("access-control-allow-origin") == "https://app.example.com")
        #expect(try await send(.get, "/data/k").header("access-control-allow-origin") == nil)

        #expect(try await send(.put, "/data", query: "cors", body: Array(Self.corsRules.utf8), key: reader).code == "AccessDenied")
        let badMethod = Self.corsRules.replacingOccurrences(of: "<AllowedMethod>PUT</AllowedMethod>", with: "<AllowedMethod>PATCH</AllowedMethod>")
        #expect(try await send(.put, "/data", query: "cors", body: Array(badMethod.utf8)).code == "InvalidRequest")
        #expect(try await send(.delete, "/data", query: "cors").status == 204)
        #expect(try await preflight("/data/k", origin: "https://app.example.com", method: "GET").status == 403)
    }

    /// Bug fix: a signed small body (CreateBucket, DeleteObjects,
    /// CompleteMultipartUpload, the configuration documents) was never
    /// checked against its signed SHA-256.
    @Test func signedSmallBodiesAreCheckedAgainstTheirHash() async throws {
        let body = Self.tagging([("a", "1")])
        let right = Hex.encode(Array(SHA256.hash(data: body)))
        let wrong = Hex.encode(Array(SHA256.hash(data: Array("other".utf8))))
        #expect(try await send(.put, "/data", query: "tagging", body: body, payloadHash: right).status == 204)
        let refused = try await send(.put, "/data", query: "tagging", body: Self.tagging([("b", "2")]), payloadHash: right)
        #expect(refused.status == 400 && refused.code == "XAmzContentSHA256Mismatch")
        #expect(try await send(.get, "/data", query: "tagging").text.contains("<Key>a</Key>"), "the refused document changed nothing")
        _ = try await send(.put, "/data/keep", body: [1])
        let delete = Array("<Delete><Object><Key>keep</Key></Object></Delete>".utf8)
        #expect(try await send(.post, "/data", query: "delete", body: delete, payloadHash: wrong).code == "XAmzContentSHA256Mismatch")
        #expect(try await send(.get, "/data/keep").status == 200)
    }

    @Test func lifecycleConfigurationAndTheExpirationHeader() async throws {
        #expect(try await send(.get, "/data", query: "lifecycle").code == "NoSuchLifecycleConfiguration")
        let rules = """
            <LifecycleConfiguration><Rule><ID>tmp-rule</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status>\
            <Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>
            """
        #expect(try await send(.put, "/data", query: "lifecycle", body: Array(rules.utf8), key: reader).code == "AccessDenied")
        #expect(try await send(.put, "/data", query: "lifecycle", body: Array(rules.utf8)).status == 200)
        #expect(try await send(.get, "/data", query: "lifecycle").text.contains("<ID>tmp-rule</ID>"))
        _ = try await send(.put, "/data/tmp/a", body: [1])
        _ = try await send(.put, "/data/keep/a", body: [1])
        let expiring = try await send(.head, "/data/tmp/a")
        let due = Lifecycle.due(afterDays: 1, from: cluster.clock.nowMillis())
        #expect(expiring.header("x-amz-expiration") == "expiry-date=\"\(S3Dates.rfc1123(due))\", rule-id=\"tmp-rule\"")
        #expect(try await send(.head, "/data/keep/a").header("x-amz-expiration") == nil)
        let transition = rules.replacingOccurrences(of: "<Expiration><Days>1</Days></Expiration>",
                                                    with: "<Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition>")
        #expect(try await send(.put, "/data", query: "lifecycle", body: Array(transition.utf8)).code == "NotImplemented")
        #expect(try await send(.get, "/data", query: "lifecycle").text.contains("<Days>1</Days>"), "the refused document changed nothing")
        #expect(try await send(.delete, "/data", query: "lifecycle").status == 204)
        #expect(try await send(.head, "/data/tmp/a").header("x-amz-expiration") == nil)
    }

    static func customerKey(_ seed: UInt8) -> [(String, String)] {
        let key = [UInt8](repeating: seed, count: 32)
        return [("x-amz-server-side-encryption-customer-algorithm", "AES256"),
                ("x-amz-server-side-encryption-customer-key", Base64.encode(key)),
                ("x-amz-server-side-encryption-customer-key-md5", Base64.encode(Array(Insecure.MD5.hash(data: key))))]
    }

    @Test func sseCNeedsTheRightKeyAndIsRefusedOverHTTPUnlessAllowed() async throws {
        let body = Array("the quarterly numbers, in confidence".utf8)
        let refused = try await send(.put, "/data/secret", headers: Self.customerKey(7), body: body)
        #expect(refused.status == 400 && refused.text.contains("secure connection"))
        #expect(objects.count == 0)

        var allowing = responder
        allowing.sseCAllowHTTP = true
        let put = try await send(.put, "/data/secret", headers: Self.customerKey(7), body: body, through: allowing)
        #expect(put.status == 200 && put.header("x-amz-server-side-encryption-customer-algorithm") == "AES256")
        #expect(put.header("etag") != "\"\(Hex.encode(Array(Insecure.MD5.hash(data: body))))\"", "the ETag is not the plaintext's MD5")
        let got = try await send(.get, "/data/secret", headers: Self.customerKey(7), through: allowing)
        #expect(got.status == 200 && got.body == body)
        let range = try await send(.get, "/data/secret", headers: Self.customerKey(7) + [("range", "bytes=4-12")], through: allowing)
        #expect(range.body == Array(body[4...12]))
        #expect(try await send(.head, "/data/secret", headers: Self.customerKey(7), through: allowing).status == 200)

        let wrong = try await send(.get, "/data/secret", headers: Self.customerKey(8), through: allowing)
        #expect(wrong.status == 403 && wrong.body.count < 400 && !wrong.text.contains("quarterly"))
        let none = try await send(.get, "/data/secret", through: allowing)
        #expect(none.status == 400 && !none.text.contains("quarterly"))
        #expect(try await send(.head, "/data/secret", through: allowing).status == 400)
        var badMD5 = Self.customerKey(7)
        badMD5[2].1 = Base64.encode(Array(Insecure.MD5.hash(data: [1])))
        #expect(try await send(.get, "/data/secret", headers: badMD5, through: allowing).code == "InvalidArgument")

        _ = try await send(.put, "/data/plain", body: [1])
        #expect(try await send(.get, "/data/plain", headers: Self.customerKey(7), through: allowing).code == "InvalidRequest")
        // A copy reads its source with the source's key, never copies the ciphertext as the object.
        let copy = try await send(.put, "/data/copy", headers: [("x-amz-copy-source", "/data/secret")], through: allowing)
        #expect(copy.code == "InvalidRequest")
        let sourceKey = Self.customerKey(7).map { ("x-amz-copy-source-" + $0.0.dropFirst("x-amz-".count), $0.1) }
        #expect(try await send(.put, "/data/copy", headers: [("x-amz-copy-source", "/data/secret")] + sourceKey, through: allowing).status == 200)
        #expect(try await send(.get, "/data/copy", through: allowing).body == body, "copied without a destination key: plain")
        let reencrypted = [("x-amz-copy-source", "/data/secret")] + sourceKey + Self.customerKey(9)
        #expect(try await send(.put, "/data/copy2", headers: reencrypted, through: allowing).status == 200)
        #expect(try await send(.get, "/data/copy2", headers: Self.customerKey(9), through: allowing).body == body)
        #expect(try await send(.get, "/data/copy2", headers: Self.customerKey(7), through: allowing).status == 403)
    }
}
