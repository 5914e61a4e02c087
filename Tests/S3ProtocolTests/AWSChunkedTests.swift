import Crypto
import Foundation
import S3Protocol
import Testing
import Units

@Suite struct AWSChunkedTests {
    /// Decodes `body` fed in pieces of `piece` bytes; returns the data.
    func decode(_ body: [UInt8], _ decoder: inout AWSChunkedDecoder, piece: Int) throws -> [UInt8] {
        var data: [UInt8] = []
        var offset = 0
        while offset < body.count {
            let end = min(body.count, offset + piece)
            let slice = Array(body[offset..<end])
            try slice.withUnsafeBytes { raw in
                for range in try decoder.feed(raw) { data += raw[range] }
            }
            offset = end
        }
        try decoder.finish()
        return data
    }

    // AWS's published example of a signed chunked upload (66560 bytes of 'a' in chunks of 64 KiB and 1 KiB).
    let example = ChunkSigning(
        key: SigV4.signingKey(secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", date: "20130524", region: "us-east-1", service: "s3"),
        amzDate: "20130524T000000Z", scope: "20130524/us-east-1/s3/aws4_request",
        seedSignature: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
    let exampleSignatures = ["ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
                             "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
                             "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"]

    var exampleBody: [UInt8] {
        var body: [UInt8] = []
        for (size, signature) in zip([65536, 1024, 0], exampleSignatures) {
            body += Array("\(String(size, radix: 16));chunk-signature=\(signature)\r\n".utf8)
            body += [UInt8](repeating: UInt8(ascii: "a"), count: size) + Array("\r\n".utf8)
        }
        return body
    }

    @Test func awsExampleOfSignedChunksDecodes() throws {
        #expect(exampleBody.count == 66824)  // the example's Content-Length
        for piece in [1, 7, 1000, 65536, 100_000] {
            var decoder = try AWSChunkedDecoder(payload: .signed, signing: example)
            #expect(try decode(exampleBody, &decoder, piece: piece) == [UInt8](repeating: UInt8(ascii: "a"), count: 66560))
        }
    }

    @Test func aTamperedChunkFailsItsSignature() throws {
        var body = exampleBody
        body[200] = UInt8(ascii: "b")
        var decoder = try AWSChunkedDecoder(payload: .signed, signing: example)
        #expect(throws: AWSChunkedError.signatureMismatch) { try decode(body, &decoder, piece: 4096) }
        var unsignedDecoder = try AWSChunkedDecoder(payload: .unsignedWithTrailer, signing: nil)
        #expect(throws: AWSChunkedError.self) { try decode(exampleBody, &unsignedDecoder, piece: 4096) }
    }

    @Test func unsignedChunksWithATrailer() throws {
        let body = Array("5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n".utf8)
        for piece in [1, 3, 64] {
            var decoder = try AWSChunkedDecoder(payload: .unsignedWithTrailer, signing: nil)
            #expect(try decode(body, &decoder, piece: piece) == Array("hello world".utf8))
            #expect(decoder.trailers.map(\.name) == ["x-amz-checksum-crc32"] && decoder.trailers.map(\.value) == ["DUoRhQ=="])
        }
    }

    /// Signs chunks and a trailer as the SDKs do, from the request's signature on.
    func signedWithTrailer(_ chunks: [[UInt8]], trailer: String, tamperTrailer: Bool = false) -> [UInt8] {
        var previous = example.seedSignature
        var body: [UInt8] = []
        for chunk in chunks + [[]] {
            let signature = example.chunkSignature(previous: previous, dataHash: Hex.encode(SHA256.hash(data: chunk)))
            body += Array("\(String(chunk.count, radix: 16));chunk-signature=\(signature)\r\n".utf8) + chunk
            if !chunk.isEmpty { body += Array("\r\n".utf8) }
            previous = signature
        }
        let signature = example.trailerSignature(previous: previous, trailerHash: Hex.encode(SHA256.hash(data: Array("\(trailer)\n".utf8))))
        let sent = tamperTrailer ? trailer.replacingOccurrences(of: "A", with: "B") : trailer
        return body + Array("\(sent)\r\nx-amz-trailer-signature:\(signature)\r\n\r\n".utf8)
    }

    @Test func signedChunksWithASignedTrailer() throws {
        let chunks = [Array("hello".utf8), Array(" world".utf8)]
        var decoder = try AWSChunkedDecoder(payload: .signedWithTrailer, signing: example)
        #expect(try decode(signedWithTrailer(chunks, trailer: "x-amz-checksum-crc32:DUoRhQ=="), &decoder, piece: 5) == Array("hello world".utf8))
        #expect(decoder.trailers.first?.value == "DUoRhQ==")
        var tampered = try AWSChunkedDecoder(payload: .signedWithTrailer, signing: example)
        #expect(throws: AWSChunkedError.signatureMismatch) {
            try decode(signedWithTrailer(chunks, trailer: "x-amz-checksum-crc32:AAAAAA==", tamperTrailer: true), &tampered, piece: 5)
        }
    }

    @Test func badFramingIsRefused() throws {
        let cases: [(String, AWSChunkedError?)] = [
            ("5\r\nhel", .truncated),
            ("zz\r\nhello\r\n0\r\n\r\n", nil),
            ("5\r\nhelloXY0\r\n\r\n", nil),
            ("5;ext=1\r\nhello\r\n0\r\n\r\n", nil),
            ("5\r\nhello\r\n0\r\n\r\nextra", nil),
            ("5\r\nhello\r\n0\r\nno-colon\r\n\r\n", nil),
            (String(repeating: "f", count: 5000), nil),
        ]
        for (text, expected) in cases {
            var decoder = try AWSChunkedDecoder(payload: .unsignedWithTrailer, signing: nil)
            do {
                _ = try decode(Array(text.utf8), &decoder, piece: 3)
                Issue.record("'\(text.prefix(20))' was accepted")
            } catch let error as AWSChunkedError {
                if let expected { #expect(error == expected) }
            }
        }
    }

    /// A seeded fuzz run: valid bodies with bytes flipped, cut or spliced in
    /// never crash the decoder; each ends in data or a typed error.
    /// `make fuzz` runs it longer (SHALE_FUZZ_ITERATIONS).
    @Test func seededMutationsNeverCrash() throws {
        let iterations = ProcessInfo.processInfo.environment["SHALE_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 2000
        var generator = SplitMix64(seed: UInt64(ProcessInfo.processInfo.environment["SHALE_FUZZ_SEED"].flatMap(Int.init) ?? 7))
        let seeds = [exampleBody.prefix(400) + exampleBody.suffix(200),
                     signedWithTrailer([Array("abc".utf8), Array("defgh".utf8)], trailer: "x-amz-checksum-crc64nvme:AAAAAAAAAAA="),
                     Array("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n".utf8)]
        for _ in 0..<iterations {
            var body = Array(seeds[Int.random(in: 0..<seeds.count, using: &generator)])
            for _ in 0..<Int.random(in: 1...4, using: &generator) where !body.isEmpty {
                let at = Int.random(in: 0..<body.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: body[at] = UInt8.random(in: 0...255, using: &generator)
                case 1: body.removeSubrange(at..<min(body.count, at + Int.random(in: 1...16, using: &generator)))
                default: body.insert(contentsOf: [UInt8](repeating: UInt8.random(in: 0...255, using: &generator), count: 3), at: at)
                }
            }
            let payload = StreamingPayload.allCases[Int.random(in: 0..<3, using: &generator)]
            var decoder = try AWSChunkedDecoder(payload: payload, signing: example)
            _ = try? decode(body, &decoder, piece: Int.random(in: 1...64, using: &generator))
        }
    }
}
