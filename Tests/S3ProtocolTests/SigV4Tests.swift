import S3Protocol
import Testing

@Suite struct SigV4Tests {
    // AWS's documented example: GET Object with a Range header
    // (S3 API reference, "Signature Calculations for the Authorization Header").
    let awsExample = SigV4.Request(
        method: "GET", rawPath: "/test.txt", rawQuery: "",
        headers: [
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("Range", "bytes=0-9"),
            ("x-amz-content-sha256", SigV4.emptyPayloadHash),
            ("x-amz-date", "20130524T000000Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
        ])
    let awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    let awsNow = SigV4.parseAmzDate("20130524T000000Z")!

    @Test func awsDocumentedExampleVerifies() throws {
        let (authorization, payloadHash) = try SigV4.verify(awsExample, secretFor: { $0 == "AKIAIOSFODNN7EXAMPLE" ? awsSecret : nil },
                                                            region: nil, nowSeconds: awsNow + 60)
        #expect(authorization.accessKey == "AKIAIOSFODNN7EXAMPLE")
        #expect(authorization.region == "us-east-1")
        #expect(payloadHash == SigV4.emptyPayloadHash)
    }

    @Test func awsExampleCanonicalRequest() {
        let canonical = SigV4.canonicalRequest(awsExample, signedHeaders: ["host", "range", "x-amz-content-sha256", "x-amz-date"],
                                               payloadHash: SigV4.emptyPayloadHash)
        #expect(canonical == """
        GET
        /test.txt

        host:examplebucket.s3.amazonaws.com
        range:bytes=0-9
        x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
        x-amz-date:20130524T000000Z

        host;range;x-amz-content-sha256;x-amz-date
        e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
        """)
    }

    // Signed by botocore (the AWS CLI's signer) for a ListObjectsV2 with encoded query values.
    @Test func botocoreListRequestWithEncodedQueryVerifies() throws {
        let request = SigV4.Request(
            method: "GET", rawPath: "/my-bucket",
            rawQuery: "list-type=2&prefix=a%20b%2Fc&delimiter=%2F&continuation-token=x%2By",
            headers: [
                ("Host", "127.0.0.1:3900"),
                ("X-Amz-Date", "20261126T105801Z"),
                ("X-Amz-Content-SHA256", SigV4.emptyPayloadHash),
                ("Authorization", "AWS4-HMAC-SHA256 Credential=GK1234567890abcdef12345678/20261126/shale/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=ab792773ad4865a0c4c6d8cda23813c4def515b7f34b1e8de8e9bb140468cb39"),
            ])
        let now = SigV4.parseAmzDate("20261126T105801Z")!
        _ = try SigV4.verify(request, secretFor: { _ in String(repeating: "ab", count: 32) }, region: "shale", nowSeconds: now)
        #expect(throws: SigV4Error.wrongRegion(expected: "us-east-1")) {
            try SigV4.verify(request, secretFor: { _ in String(repeating: "ab", count: 32) }, region: "us-east-1", nowSeconds: now)
        }
    }

    @Test func tamperingWrongSecretSkewAndUnknownKeyAreRefused() {
        let secretFor: (String) -> String? = { $0 == "AKIAIOSFODNN7EXAMPLE" ? self.awsSecret : nil }
        #expect(throws: SigV4Error.signatureMismatch) {
            try SigV4.verify(awsExample, secretFor: { _ in "other" }, region: nil, nowSeconds: awsNow)
        }
        var headers = awsExample.headers
        headers[1] = ("Range", "bytes=0-99")
        let tampered = SigV4.Request(method: "GET", rawPath: "/test.txt", rawQuery: "", headers: headers)
        #expect(throws: SigV4Error.signatureMismatch) { try SigV4.verify(tampered, secretFor: secretFor, region: nil, nowSeconds: awsNow) }
        #expect(throws: SigV4Error.requestTimeTooSkewed) {
            try SigV4.verify(awsExample, secretFor: secretFor, region: nil, nowSeconds: awsNow + SigV4.clockSkewLimitSeconds + 1)
        }
        #expect(throws: SigV4Error.unknownAccessKey) { try SigV4.verify(awsExample, secretFor: { _ in nil }, region: nil, nowSeconds: awsNow) }
        let unsigned = SigV4.Request(method: "GET", rawPath: "/", rawQuery: "", headers: [("Host", "h")])
        #expect(throws: SigV4Error.missingAuthorization) { try SigV4.verify(unsigned, secretFor: secretFor, region: nil, nowSeconds: awsNow) }
    }

    @Test(arguments: ["AWS4-HMAC-SHA1 Credential=a/20130524/r/s3/aws4_request,SignedHeaders=host,Signature=00",
                      "AWS4-HMAC-SHA256 Credential=a/2013/r/s3/aws4_request,SignedHeaders=host,Signature=" + String(repeating: "0", count: 64),
                      "AWS4-HMAC-SHA256 SignedHeaders=host,Signature=" + String(repeating: "0", count: 64),
                      "AWS4-HMAC-SHA256 Credential=a/20130524/r/s3/aws4_request,SignedHeaders=host,Signature=xyz",
                      // Fullwidth hex digits are not hex, and a signature of 64 of them is not a signature.
                      "AWS4-HMAC-SHA256 Credential=a/20130524/r/s3/aws4_request,SignedHeaders=host,Signature=" + String(repeating: "\u{FF10}", count: 64),
                      "AWS4-HMAC-SHA256 Credential=/20130524/r/s3/aws4_request,SignedHeaders=host,Signature=" + String(repeating: "0", count: 64),
                      "AWS4-HMAC-SHA256 Credential=a/20130524/r/s3/aws4_request/x,SignedHeaders=host,Signature=" + String(repeating: "0", count: 64),
                      "AWS4-HMAC-SHA256Credential=a/20130524/r/s3/aws4_request,SignedHeaders=host,Signature=" + String(repeating: "0", count: 64)])
    func malformedAuthorizationHeaders(_ header: String) {
        #expect(throws: SigV4Error.self) { try SigV4.Authorization(header: header) }
    }

    /// The header's fields in any order, spaced or not, unknown ones skipped;
    /// a part without '=' refused.
    @Test func authorizationFieldsParseWhateverTheSpacing() throws {
        let signature = String(repeating: "ab", count: 32)
        for header in ["AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request,SignedHeaders=Host;x-amz-date,Signature=\(signature)",
                       "AWS4-HMAC-SHA256   Signature=\(signature) ,  Other=x,SignedHeaders=host;X-Amz-Date  , Credential=AK/20130524/us-east-1/s3/aws4_request  "] {
            let parsed = try SigV4.Authorization(header: header)
            #expect(parsed.accessKey == "AK" && parsed.date == "20130524" && parsed.region == "us-east-1" && parsed.service == "s3")
            #expect(parsed.signedHeaders == ["host", "x-amz-date"])
            #expect(parsed.signature == signature)
        }
        #expect(throws: SigV4Error.malformedAuthorization) {
            try SigV4.Authorization(header: "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=\(signature),junk")
        }
        let trailingComma = try SigV4.Authorization(header: "AWS4-HMAC-SHA256 Credential=AK/20130524/r/s3/aws4_request,SignedHeaders=host,Signature=\(signature.uppercased()),")
        #expect(trailingComma.signature == signature && trailingComma.region == "r")
    }

    /// The access key a request presents (for the failure limiter), from the
    /// header's credential or else the presigned query's.
    @Test func presentedAccessKeyFromHeaderOrQuery() {
        let header = "AWS4-HMAC-SHA256 SignedHeaders=host, Credential=GKabc/20130524/r/s3/aws4_request, Signature=00"
        #expect(SigV4.presentedAccessKey(authorization: header, query: [:]) == "GKabc")
        #expect(SigV4.presentedAccessKey(authorization: "AWS4-HMAC-SHA256 Credential=GKé", query: [:]) == "GKé")
        #expect(SigV4.presentedAccessKey(authorization: "Bearer x", query: ["X-Amz-Credential": "GKq/20130524/r/s3/aws4_request"]) == "GKq")
        #expect(SigV4.presentedAccessKey(authorization: nil, query: ["X-Amz-Credential": "GKq/20130524"]) == "GKq")
        #expect(SigV4.presentedAccessKey(authorization: "Bearer x", query: [:]) == nil)
    }

    @Test func encodingAndDates() {
        #expect(SigV4.uriEncode("a b/c~d*é", keepSlash: true) == "a%20b/c~d%2A%C3%A9")
        #expect(SigV4.uriEncode("a/b", keepSlash: false) == "a%2Fb")
        #expect(SigV4.percentDecode("a%2fb+c", plusIsSpace: true) == "a/b c")
        #expect(SigV4.percentDecode("%zz") == nil)
        #expect(SigV4.parseAmzDate("19700101T000000Z") == 0)
        #expect(SigV4.parseAmzDate("20130524T000000Z") == 1_369_353_600)
        #expect(SigV4.parseAmzDate("2013-05-24T00:00:00Z") == nil)
    }

    /// Signs `headers` (plus host and the payload hash) the way a client does, with `amzDate` in the string to sign.
    func signed(headers: [(String, String)], amzDate: String) -> SigV4.Request {
        let all = [("host", "127.0.0.1:3900"), ("x-amz-content-sha256", SigV4.unsignedPayload)] + headers
        let names = all.map { $0.0.lowercased() }.sorted()
        let unsigned = SigV4.Request(method: "GET", rawPath: "/b", rawQuery: "", headers: all)
        let canonical = SigV4.canonicalRequest(unsigned, signedHeaders: names, payloadHash: SigV4.unsignedPayload)
        let header = "AWS4-HMAC-SHA256 Credential=GK1/\(amzDate.prefix(8))/us-east-1/s3/aws4_request,SignedHeaders=\(names.joined(separator: ";")),Signature=" + String(repeating: "0", count: 64)
        let authorization = try! SigV4.Authorization(header: header)
        let signature = SigV4.signature(secret: "secret", authorization: authorization, amzDate: amzDate, canonicalRequest: canonical)
        return SigV4.Request(method: "GET", rawPath: "/b", rawQuery: "", headers: all + [("Authorization", header.replacingOccurrences(String(repeating: "0", count: 64), with: signature))])
    }

    /// X-Amz-Date wins over Date when both are sent and signed (it used to be refused).
    @Test func xAmzDateWinsOverDate() throws {
        let now = SigV4.parseAmzDate("20261130T120000Z")!
        let request = signed(headers: [("Date", "Mon, 30 Nov 2026 10:00:00 GMT"), ("X-Amz-Date", "20261130T120000Z")], amzDate: "20261130T120000Z")
        _ = try SigV4.verify(request, secretFor: { _ in "secret" }, region: nil, nowSeconds: now)
    }

    /// Without X-Amz-Date, the Date header (an HTTP date) is the request time.
    @Test func dateHeaderAlone() throws {
        let now = SigV4.parseAmzDate("20261130T120000Z")!
        let request = signed(headers: [("Date", "Mon, 30 Nov 2026 12:00:00 GMT")], amzDate: "20261130T120000Z")
        _ = try SigV4.verify(request, secretFor: { _ in "secret" }, region: nil, nowSeconds: now)
        #expect(throws: SigV4Error.requestTimeTooSkewed) {
            try SigV4.verify(request, secretFor: { _ in "secret" }, region: nil, nowSeconds: now + 3600)
        }
    }
}

extension SigV4Tests {
    /// AWS's documented presigned-URL example (S3 API reference, "Authenticating Requests: Using Query Parameters").
    static let presignedQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

    func presigned(_ rawQuery: String = presignedQuery) -> (SigV4.Request, [String: String]) {
        var query: [String: String] = [:]
        for pair in rawQuery.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            query[parts[0]] = SigV4.percentDecode(parts[1])
        }
        return (SigV4.Request(method: "GET", rawPath: "/test.txt", rawQuery: rawQuery, headers: [("Host", "examplebucket.s3.amazonaws.com")]), query)
    }

    @Test func awsDocumentedPresignedURLVerifies() throws {
        let (request, query) = presigned()
        let secretFor: (String) -> String? = { $0 == "AKIAIOSFODNN7EXAMPLE" ? "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" : nil }
        let authorization = try SigV4.verifyPresigned(request, query: query, secretFor: secretFor, region: nil, nowSeconds: awsNow + 3600)
        #expect(authorization.accessKey == "AKIAIOSFODNN7EXAMPLE")
        #expect(throws: SigV4Error.expired) {
            try SigV4.verifyPresigned(request, query: query, secretFor: secretFor, region: nil, nowSeconds: awsNow + 86401)
        }
        #expect(throws: SigV4Error.requestTimeTooSkewed) {
            try SigV4.verifyPresigned(request, query: query, secretFor: secretFor, region: nil, nowSeconds: awsNow - 3600)
        }
        let (tampered, tamperedQuery) = presigned(Self.presignedQuery.replacingOccurrences("X-Amz-Expires=86400", with: "X-Amz-Expires=86399"))
        #expect(throws: SigV4Error.signatureMismatch) {
            try SigV4.verifyPresigned(tampered, query: tamperedQuery, secretFor: secretFor, region: nil, nowSeconds: awsNow + 60)
        }
        let (tooLong, tooLongQuery) = presigned(Self.presignedQuery.replacingOccurrences("X-Amz-Expires=86400", with: "X-Amz-Expires=604801"))
        #expect(throws: SigV4Error.malformedAuthorization) {
            try SigV4.verifyPresigned(tooLong, query: tooLongQuery, secretFor: secretFor, region: nil, nowSeconds: awsNow + 60)
        }
    }
}

extension String {
    func replacingOccurrences(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

@Suite struct SigV4SigningTests {
    /// The client's signer gives AWS's documented signature for its GET example.
    @Test func theAWSExampleIsSignedAsDocumented() {
        let signed = SigV4.sign(method: "GET", host: "examplebucket.s3.amazonaws.com", rawPath: "/test.txt", rawQuery: "",
                                headers: [(name: "Range", value: "bytes=0-9")], payloadHash: SigV4.emptyPayloadHash,
                                accessKey: "AKIAIOSFODNN7EXAMPLE", secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1",
                                amzDate: "20130524T000000Z")
        #expect(signed.first { $0.name == "authorization" }?.value == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    /// What a client signs, the server's verify accepts; any change to what was signed is refused.
    @Test func signedRequestsVerify() throws {
        let signed = SigV4.sign(method: "PUT", host: "127.0.0.1:3900", rawPath: "/bench/a%20b", rawQuery: "partNumber=1&uploadId=x",
                                headers: [(name: "Content-Length", value: "5")], payloadHash: SigV4.unsignedPayload,
                                accessKey: "GKtest", secret: "secret", region: "us-east-1", amzDate: "20261201T010203Z")
        let headers = [(name: "host", value: "127.0.0.1:3900"), (name: "content-length", value: "5")] + signed
        let request = SigV4.Request(method: "PUT", rawPath: "/bench/a%20b", rawQuery: "partNumber=1&uploadId=x", headers: headers)
        let now = try #require(SigV4.parseAmzDate("20261201T010203Z"))
        let (authorization, payload) = try SigV4.verify(request, secretFor: { $0 == "GKtest" ? "secret" : nil }, region: "us-east-1", nowSeconds: now)
        #expect(authorization.accessKey == "GKtest" && payload.uppercased() == SigV4.unsignedPayload)
        #expect(authorization.signedHeaders == ["content-length", "host", "x-amz-content-sha256", "x-amz-date"])
        let altered = SigV4.Request(method: "PUT", rawPath: "/bench/a%20c", rawQuery: "partNumber=1&uploadId=x", headers: headers)
        #expect(throws: SigV4Error.signatureMismatch) {
            _ = try SigV4.verify(altered, secretFor: { _ in "secret" }, region: nil, nowSeconds: now)
        }
    }
}

@Suite struct PresentedAccessKeyTests {
    @Test func theKeyANameIsReadFromTheHeaderOrThePresignedQuery() {
        let header = "AWS4-HMAC-SHA256 Credential=GK0123/20261201/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=ab"
        #expect(SigV4.presentedAccessKey(authorization: header, query: ["X-Amz-Credential": "GKother/x"]) == "GK0123")
        #expect(SigV4.presentedAccessKey(authorization: nil, query: ["X-Amz-Credential": "GKq/20261201/r/s3/aws4_request"]) == "GKq")
        #expect(SigV4.presentedAccessKey(authorization: "Bearer x", query: [:]) == nil)
        #expect(SigV4.presentedAccessKey(authorization: nil, query: [:]) == nil)
    }
}
