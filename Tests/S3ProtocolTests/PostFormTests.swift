import Crypto
import Foundation
import S3Protocol
import Testing
import Units

@Suite struct PostFormTests {
    static let boundary = "----shale7MA4YWxkTrZu0gW"

    static func form(_ fields: [(String, String)], file: [UInt8], filename: String = "a b.csv", after: [(String, String)] = []) -> [UInt8] {
        var body: [UInt8] = []
        func part(_ disposition: String, _ value: [UInt8], type: String? = nil) {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; \(disposition)\r\n".utf8)
            if let type { body += Array("Content-Type: \(type)\r\n".utf8) }
            body += Array("\r\n".utf8) + value + Array("\r\n".utf8)
        }
        for (name, value) in fields { part("name=\"\(name)\"", Array(value.utf8)) }
        part("name=\"file\"; filename=\"\(filename)\"", file, type: "text/csv")
        for (name, value) in after { part("name=\"\(name)\"", Array(value.utf8)) }
        return body + Array("--\(boundary)--\r\n".utf8)
    }

    /// Feeds `body` in pieces of `sizes` (cycled); returns the fields, the file's bytes and whether the form ended.
    static func parse(_ body: [UInt8], pieces sizes: [Int]) throws -> (fields: [String: String], file: [UInt8], part: FormDataParser.Part?,
                                                                        ended: Bool, offset: Int?, closing: Int) {
        var parser = try FormDataParser(contentType: "multipart/form-data; boundary=\(boundary)")
        var fields: [String: String] = [:], file: [UInt8] = [], part: FormDataParser.Part?, ended = false
        var index = 0, turn = 0
        while index < body.count {
            let size = sizes[turn % sizes.count]
            turn += 1
            let end = min(body.count, index + size)
            for event in try parser.feed(body[index..<end]) {
                switch event {
                case .field(let name, let value): fields[name] = value
                case .fileStart(let started): part = started
                case .fileData(let bytes): file += bytes
                case .fileEnd: break
                case .end: ended = true
                }
            }
            index = end
        }
        try parser.finish()
        return (fields, file, part, ended, parser.fileOffset, parser.closingLength)
    }

    @Test func parsesAFormWhateverTheChunking() throws {
        // The file holds things that look like a boundary but are not one.
        let file = Array("x\r\n--\(Self.boundary.dropLast())y\r\n-".utf8) + (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let body = Self.form([("key", "uploads/${filename}"), ("policy", "eyJ9"), ("x-amz-meta-owner", "web")], file: file)
        for sizes in [[body.count], [1], [7, 13], [64, 3, 1000], [Self.boundary.count + 3]] {
            let parsed = try Self.parse(body, pieces: sizes)
            #expect(parsed.fields == ["key": "uploads/${filename}", "policy": "eyJ9", "x-amz-meta-owner": "web"], "\(sizes)")
            #expect(parsed.file == file, "\(sizes)")
            #expect(parsed.part == FormDataParser.Part(name: "file", filename: "a b.csv", contentType: "text/csv"))
            #expect(parsed.ended)
            // The file's length follows from the body's length alone.
            #expect(body.count - (parsed.offset ?? 0) - parsed.closing == file.count)
        }
    }

    @Test func refusesWhatIsNotAWellFormedForm() throws {
        let fieldAfter = Self.form([("key", "k")], file: [1, 2], after: [("acl", "public-read")])
        #expect(throws: FormDataParser.Failure.fieldAfterFile("acl")) { try Self.parse(fieldAfter, pieces: [5]) }
        let cut = Array(Self.form([("key", "k")], file: [1, 2]).dropLast(8))
        #expect(throws: FormDataParser.Failure.self) { try Self.parse(cut, pieces: [9]) }
        let huge = Self.form([("key", String(repeating: "k", count: FormDataParser.maxFieldBytes + 1))], file: [1])
        #expect(throws: FormDataParser.Failure.fieldTooLarge("key")) { try Self.parse(huge, pieces: [4096]) }
        #expect(throws: FormDataParser.Failure.self) { try FormDataParser(contentType: "application/x-www-form-urlencoded") }
        #expect(throws: FormDataParser.Failure.self) { try FormDataParser(contentType: "multipart/form-data") }
        #expect(try FormDataParser(contentType: "multipart/form-data; boundary=\"quoted b\"").closingLength == "\r\n--quoted b--\r\n".utf8.count)
    }

    static func signed(_ policy: String, secret: String = "s" + String(repeating: "0", count: 63)) -> [String: String] {
        let encoded = Base64.encode(Array(policy.utf8))
        let key = SigV4.signingKey(secret: secret, date: "20261201", region: "shale", service: "s3")
        return ["policy": encoded, "x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-credential": "GKkey/20261201/shale/s3/aws4_request",
                "x-amz-date": "20261201T100000Z", "x-amz-signature": Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(encoded.utf8), using: key))]
    }

    @Test func checksThePolicyAndItsSignature() throws {
        let document = """
            {"expiration": "2026-12-01T12:00:00.000Z", "conditions": [{"bucket": "web"}, ["starts-with", "$key", "uploads/"],
             {"x-amz-algorithm": "AWS4-HMAC-SHA256"}, {"x-amz-credential": "GKkey/20261201/shale/s3/aws4_request"},
             {"x-amz-date": "20261201T100000Z"}, ["content-length-range", 1, 1048576], ["eq", "$Content-Type", "text/csv"]]}
            """
        var fields = Self.signed(document)
        fields["key"] = "uploads/a.csv"
        fields["content-type"] = "text/csv"
        let secret = "s" + String(repeating: "0", count: 63)
        let now = SigV4.parseAmzDate("20261201T110000Z")!
        #expect(try PostPolicy.verifySignature(fields: fields, secretFor: { _ in secret }, region: "shale", nowSeconds: now) == "GKkey")
        #expect(throws: S3Error.self) { try PostPolicy.verifySignature(fields: fields, secretFor: { _ in "other" }, region: "shale", nowSeconds: now) }
        let policy = try PostPolicy(base64: fields["policy"]!)
        #expect(policy.contentLengthRange == 1...1_048_576)
        try policy.check(fields: fields, bucket: "web", nowSeconds: now)
        var cases: [(String, [String: String], String)] = []
        cases.append(("other bucket", fields, "elsewhere"))
        var outside = fields; outside["key"] = "private/a.csv"; cases.append(("key prefix", outside, "web"))
        var type = fields; type["content-type"] = "text/html"; cases.append(("content type", type, "web"))
        var extra = fields; extra["x-amz-meta-team"] = "x"; cases.append(("a field no condition names", extra, "web"))
        for (what, form, bucket) in cases {
            #expect(throws: S3Error.self, "\(what)") { try policy.check(fields: form, bucket: bucket, nowSeconds: now) }
        }
        #expect(throws: S3Error.self, "expired") { try policy.check(fields: fields, bucket: "web", nowSeconds: now + 3600) }
        var ignored = fields; ignored["x-ignore-tracking"] = "1"
        try policy.check(fields: ignored, bucket: "web", nowSeconds: now)
        #expect(throws: S3Error.self) { try PostPolicy(base64: Base64.encode(Array("{\"conditions\": []}".utf8))) }
    }
}
