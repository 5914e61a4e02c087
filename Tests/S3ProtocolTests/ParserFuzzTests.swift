import Checksums
import Foundation
import S3Protocol
import Testing
import Units

/// Seeded fuzz runs of the parsers that read what clients send: request
/// bodies (CompleteMultipartUpload, DeleteObjects, CreateBucketConfiguration),
/// presigned queries, byte ranges, copy sources and conditional headers.
/// Each input is a valid one mutated (bytes flipped, cut, repeated, spliced);
/// a parser may refuse it with its typed error, never crash or hang. The
/// aws-chunked decoder has its own run in AWSChunkedTests. `make fuzz` runs
/// them longer: SHALE_FUZZ_ITERATIONS, SHALE_FUZZ_SEED.
@Suite struct ParserFuzzTests {
    static var iterations: Int { ProcessInfo.processInfo.environment["SHALE_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 2000 }
    static var seed: UInt64 { UInt64(ProcessInfo.processInfo.environment["SHALE_FUZZ_SEED"].flatMap(Int.init) ?? 11) }

    static let pieces = ["<", ">", "</", "&amp;", "&#x0;", "&#xD800;", "<![CDATA[", "]]>", "<?xml version=\"1.0\"?>", "\u{0}", "\u{FEFF}",
                         "=", "%", "%zz", "%2F", "/", "?", ",", "*", "\"", "W/", "-", "bytes=", "99999999999999999999", "\r\n", "é", "\u{10FFFF}"]

    /// `seed` mutated a few times.
    static func mutate(_ seed: String, _ random: inout SplitMix64) -> String {
        var text = Array(seed.unicodeScalars)
        for _ in 0..<Int.random(in: 1...5, using: &random) {
            let at = text.isEmpty ? 0 : Int.random(in: 0...text.count, using: &random)
            switch Int.random(in: 0..<5, using: &random) {
            case 0 where !text.isEmpty: text.remove(at: min(at, text.count - 1))
            case 1: text.insert(contentsOf: pieces[Int.random(in: 0..<pieces.count, using: &random)].unicodeScalars, at: at)
            case 2 where at < text.count: text.replaceSubrange(at..<text.count, with: [])
            case 3 where !text.isEmpty:
                let from = Int.random(in: 0..<text.count, using: &random)
                text.insert(contentsOf: text[from..<min(text.count, from + 40)], at: at)
            default: text.insert(Unicode.Scalar(UInt8.random(in: 32...126, using: &random)), at: at)
            }
        }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: text)
        return String(out)
    }

    func run(_ seeds: [String], _ body: (String) -> Void) {
        var random = SplitMix64(seed: Self.seed)
        for seed in seeds { body(seed) }
        for _ in 0..<Self.iterations { body(Self.mutate(seeds[Int.random(in: 0..<seeds.count, using: &random)], &random)) }
    }

    @Test func xmlBodies() {
        let complete = """
            <CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber>\
            <ETag>"a54357aff0632cce46d942af68356b38"</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>\
            <Part><PartNumber>2</PartNumber><ETag>"0c78aef83f66abc1fa1e8477f296d394"</ETag></Part></CompleteMultipartUpload>
            """
        let delete = "<Delete><Quiet>true</Quiet><Object><Key>a&amp;b</Key></Object><Object><Key>c</Key><VersionId>v</VersionId></Object></Delete>"
        let bucket = "<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>"
        run([complete, delete, bucket]) { text in
            _ = try? CompleteMultipartUploadRequest.parse(text)
            _ = try? DeleteObjectsRequest.parse(text)
            _ = try? BucketConfiguration.check(text, region: "us-east-1")
        }
    }

    @Test func presignedQueries() {
        let seed = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=GK0123%2F20261130%2Fus-east-1%2Fs3%2Faws4_request"
            + "&X-Amz-Date=20261130T120000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
            + "&X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
        run([seed]) { text in
            var query: [String: String] = [:]
            for pair in text.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                query[SigV4.percentDecode(parts[0]) ?? parts[0]] = parts.count > 1 ? SigV4.percentDecode(parts[1]) ?? parts[1] : ""
            }
            let request = SigV4.Request(method: "GET", rawPath: "/b/k", rawQuery: text, headers: [("host", "127.0.0.1:3900")])
            _ = try? SigV4.verifyPresigned(request, query: query, secretFor: { _ in "secret" }, region: nil, nowSeconds: 1_796_040_000)
        }
    }

    @Test func rangesCopySourcesAndConditions() {
        run(["bytes=0-99", "bytes=-5", "bytes=7-", "/bucket/some%20key?versionId=1", "bucket/k", "\"abc\", W/\"def\"",
             "Thu, 01 Jan 2099 00:00:00 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"]) { text in
            _ = ByteRange(header: text)?.resolve(size: 1000)
            _ = try? CopySource.range(text, size: 1000)
            _ = try? CopySource.parse(text)
            _ = HTTPDate.parse(text)
            _ = ReadConditions(ifMatch: text, ifNoneMatch: text, ifModifiedSince: HTTPDate.parse(text)).evaluate(etag: "abc", lastModifiedSeconds: 0)
            _ = try? ObjectAttributes.requested(text)
        }
    }
}
