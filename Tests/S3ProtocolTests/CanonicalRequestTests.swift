@testable import S3Protocol
import Testing

/// The canonical request is built on UTF-8 bytes; it must be, byte for byte,
/// what the String-joining form it replaced built (kept here as the reference),
/// for paths, queries and header values of every shape a client sends.
@Suite struct CanonicalRequestTests {
    /// The former construction: joined Strings, Character-wise trimming.
    static func reference(_ request: SigV4.Request, signedHeaders: [String], payloadHash: String) -> String {
        let headerLines = signedHeaders.map { name -> String in
            let values = request.headers.filter { $0.name == name }.map { header in
                header.value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            }
            return "\(name):\(values.joined(separator: ","))"
        }
        let path = SigV4.uriEncode(SigV4.percentDecode(request.rawPath) ?? request.rawPath, keepSlash: true)
        return [request.method, path, SigV4.canonicalQuery(request.rawQuery)].joined(separator: "\n") + "\n"
            + headerLines.joined(separator: "\n") + "\n\n" + signedHeaders.joined(separator: ";") + "\n" + payloadHash
    }

    struct Draw: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state ^ (state >> 29)
        }
    }

    static let pathPieces = ["/", "bucket", "key", "a b", "%20", "%2F", "%2f", "~", "%7E", "ü", "%C3%BC", "+", "!", "=", "&", "%", "%zz",
                             "%FF", "é", "..", "-_.", "//"]
    static let valuePieces = [" ", "  ", "a", "b c", "\t", "bytes=0-9", "ü", ",", "x  y"]

    @Test func bytesAreWhatJoinedStringsGave() {
        var draw = Draw(state: 0x5EED)
        for _ in 0..<3000 {
            let path = (0..<Int.random(in: 0...6, using: &draw)).map { _ in Self.pathPieces.randomElement(using: &draw)! }.joined()
            let query = Bool.random(using: &draw) ? "" : "list-type=2&prefix=a%20b&delimiter=%2F"
            let values = (0..<3).map { _ in (0..<Int.random(in: 0...5, using: &draw)).map { _ in Self.valuePieces.randomElement(using: &draw)! }.joined() }
            let request = SigV4.Request(method: ["GET", "PUT"].randomElement(using: &draw)!, rawPath: path, rawQuery: query,
                                        headers: [("Host", "127.0.0.1:3900"), ("X-Amz-Meta-A", values[0]), ("x-amz-meta-a", values[1]),
                                                  ("range", values[2]), ("x-amz-date", "20261202T000000Z")])
            let signed = ["host", "range", "x-amz-date", "x-amz-meta-a"]
            let bytes = SigV4.canonicalRequestBytes(request, signedHeaders: signed, payloadHash: SigV4.unsignedPayload)
            #expect(String(decoding: bytes, as: UTF8.self) == Self.reference(request, signedHeaders: signed, payloadHash: SigV4.unsignedPayload),
                    "path \(path.debugDescription), values \(values)")
        }
    }

    /// Spaces are trimmed and collapsed as code points, as botocore does
    /// (`' '.join(value.split(' '))`-like on its str): a space before a combining
    /// mark is a space, where Swift's Characters saw one grapheme " \u{301}".
    @Test func aSpaceBeforeACombiningMarkIsASpace() {
        let request = SigV4.Request(method: "GET", rawPath: "/", rawQuery: "", headers: [("x-amz-meta-a", "a  \u{301} ")])
        var out: [UInt8] = []
        SigV4.appendCanonicalHeaderValue(request, "x-amz-meta-a", to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "a \u{301}")
    }

    @Test func headerNamesAreLowercasedOnlyWhenTheyNeedIt() {
        #expect(SigV4.lowercased("x-amz-date") == "x-amz-date")
        #expect(SigV4.lowercased("X-Amz-Date") == "x-amz-date")
        #expect(SigV4.lowercased("X-ÄÖ") == "x-äö")
        #expect(SigV4.Request(method: "GET", rawPath: "/", rawQuery: "", headers: [("Range", "a")]).header("RANGE") == "a")
    }

    @Test func pathsAlreadyCanonicalAreCopied() {
        for path in ["/", "/bucket/key", "/b/a-b_c.d~e", ""] {
            var out: [UInt8] = []
            SigV4.appendCanonicalPath(path, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == SigV4.canonicalPath(path))
        }
        var out: [UInt8] = []
        SigV4.appendCanonicalPath("/b/a%7eb%2fc d", to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "/b/a~b/c%20d")
    }
}
