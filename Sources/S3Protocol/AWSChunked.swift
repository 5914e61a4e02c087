import Crypto
import Units

/// The `x-amz-content-sha256` values of an `aws-chunked` body: the body
/// arrives as chunks, each signed (`…-PAYLOAD`) or not, possibly followed
/// by trailing headers (a checksum), signed or not.
public enum StreamingPayload: String, Sendable, CaseIterable {
    case signed = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    case signedWithTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    case unsignedWithTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

    public var isSigned: Bool { self != .unsignedWithTrailer }
    public var hasTrailer: Bool { self != .signed }
}

/// What a signed chunk's signature is computed from: the request's signing
/// key, date and scope, and the signature before it (the request's own
/// signature for the first chunk).
public struct ChunkSigning: Sendable {
    public let key: SymmetricKey
    public let amzDate: String
    public let scope: String
    public let seedSignature: String

    public init(key: SymmetricKey, amzDate: String, scope: String, seedSignature: String) {
        self.key = key; self.amzDate = amzDate; self.scope = scope; self.seedSignature = seedSignature
    }

    /// A chunk's signature, chained to the previous one.
    public func chunkSignature(previous: String, dataHash: String) -> String {
        sign(["AWS4-HMAC-SHA256-PAYLOAD", amzDate, scope, previous, SigV4.emptyPayloadHash, dataHash].joined(separator: "\n"))
    }

    /// The trailer's signature: over its `name:value\n` lines, chained to the final chunk's.
    public func trailerSignature(previous: String, trailerHash: String) -> String {
        sign(["AWS4-HMAC-SHA256-TRAILER", amzDate, scope, previous, trailerHash].joined(separator: "\n"))
    }

    private func sign(_ text: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key))
    }
}

public enum AWSChunkedError: Error, Sendable, Equatable {
    /// The framing is not `hex-size[;chunk-signature=…]\r\n data \r\n`, or a trailer line is malformed.
    case malformed(String)
    /// A chunk's or the trailer's signature is not the one its key makes.
    case signatureMismatch
    /// The body ended inside a chunk or before the final one.
    case truncated
}

/// Decodes an `aws-chunked` body as it streams: hands back the data bytes
/// of each piece it is fed (as ranges of that piece, no copy), checks each
/// chunk's signature when the chunks are signed, and reads the trailing
/// headers. Pure: bytes in, ranges and trailers out.
public struct AWSChunkedDecoder: Sendable {
    /// Longest chunk header or trailer line taken (a signature line is ~100 bytes).
    public static let maxLineBytes = 4096
    public static let maxTrailerLines = 16

    private enum State: Sendable {
        case header
        case data(remaining: Int)
        case dataEnd
        case trailer
        case finalLine
        case done
    }

    public let payload: StreamingPayload
    private let signing: ChunkSigning?
    private var state = State.header
    private var line: [UInt8] = []
    private var dataEndSeen = 0
    private var chunkSignature: String?
    private var hasher = SHA256()
    private var previousSignature: String
    private var trailerLines: [(name: String, value: String)] = []
    private var trailerSignature: String?

    /// `signing` is required for the signed payloads.
    public init(payload: StreamingPayload, signing: ChunkSigning?) throws(AWSChunkedError) {
        guard !payload.isSigned || signing != nil else { throw .malformed("signed chunks need the request's signature") }
        self.payload = payload
        self.signing = signing
        previousSignature = signing?.seedSignature ?? ""
    }

    /// The trailing headers, once finished (names lowercase).
    public var trailers: [(name: String, value: String)] { trailerLines }

    /// Consumes `bytes`; returns the ranges of it that are body data, in order.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(AWSChunkedError) -> [Range<Int>] {
        var data: [Range<Int>] = []
        var index = 0
        while index < bytes.count {
            switch state {
            case .header, .trailer, .finalLine:
                let byte = bytes[index]
                index += 1
                line.append(byte)
                guard line.count <= Self.maxLineBytes else { throw .malformed("a chunk header or trailer line is too long") }
                if line.count >= 2 && line[line.count - 2] == 0x0D && byte == 0x0A {
                    let text = line.dropLast(2)
                    line.removeAll(keepingCapacity: true)
                    try endOfLine(Array(text))
                }
            case .data(let remaining):
                let n = min(remaining, bytes.count - index)
                data.append(index..<(index + n))
                if payload.isSigned { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: bytes[index..<(index + n)])) }
                index += n
                state = remaining == n ? .dataEnd : .data(remaining: remaining - n)
            case .dataEnd:
                let expected: UInt8 = dataEndSeen == 0 ? 0x0D : 0x0A
                guard bytes[index] == expected else { throw .malformed("a chunk's data is not followed by CRLF") }
                index += 1
                dataEndSeen += 1
                if dataEndSeen == 2 {
                    dataEndSeen = 0
                    try checkChunkSignature()
                    state = .header
                }
            case .done:
                throw .malformed("bytes after the final chunk")
            }
        }
        return data
    }

    /// Called when the body ends: it must have ended exactly after the final chunk (and trailer).
    public mutating func finish() throws(AWSChunkedError) {
        switch state {
        case .done: return
        case .trailer where line.isEmpty:
            // Some writers end the trailer without its closing empty line.
            try closeTrailer()
        default: throw .truncated
        }
    }

    private mutating func endOfLine(_ text: [UInt8]) throws(AWSChunkedError) {
        switch state {
        case .header:
            guard !text.isEmpty else { throw .malformed("an empty chunk header") }
            let header = String(decoding: text, as: UTF8.self)
            let fields = header.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)
            guard let sizeText = fields.first, !sizeText.isEmpty, sizeText.count <= 16, let size = Int(sizeText, radix: 16), size >= 0 else {
                throw .malformed("the chunk size '\(header.prefix(32))' is not hexadecimal")
            }
            if payload.isSigned {
                guard fields.count == 2, fields[1].hasPrefix("chunk-signature=") else { throw .malformed("a signed chunk without chunk-signature") }
                let signature = String(fields[1].dropFirst("chunk-signature=".count)).lowercased()
                guard signature.count == 64, signature.allSatisfy(\.isHexDigit) else { throw .malformed("a malformed chunk-signature") }
                chunkSignature = signature
            } else if fields.count == 2 {
                throw .malformed("a chunk extension on an unsigned body")
            }
            if size > 0 {
                state = .data(remaining: size)
            } else {
                try checkChunkSignature()
                state = payload.hasTrailer ? .trailer : .finalLine
            }
        case .trailer:
            if text.isEmpty {
                try closeTrailer()
                return
            }
            let entry = String(decoding: text, as: UTF8.self)
            guard let colon = entry.firstIndex(of: ":") else { throw .malformed("a trailer line without ':'") }
            let name = entry[..<colon].lowercased()
            let value = String(entry[entry.index(after: colon)...]).trimmed
            if name == "x-amz-trailer-signature" {
                guard payload.isSigned, trailerSignature == nil else { throw .malformed("an unexpected trailer signature") }
                trailerSignature = value.lowercased()
            } else {
                guard trailerSignature == nil, trailerLines.count < Self.maxTrailerLines else { throw .malformed("a trailer after its signature") }
                trailerLines.append((name, value))
            }
        case .finalLine:
            guard text.isEmpty else { throw .malformed("bytes after the final chunk") }
            state = .done
        case .data, .dataEnd, .done:
            throw .malformed("unexpected framing")
        }
    }

    private mutating func checkChunkSignature() throws(AWSChunkedError) {
        guard payload.isSigned, let signing else { return }
        let dataHash = Hex.encode(hasher.finalize())
        hasher = SHA256()
        let expected = signing.chunkSignature(previous: previousSignature, dataHash: dataHash)
        guard let sent = chunkSignature, constantTimeEqual(expected, sent) else { throw .signatureMismatch }
        previousSignature = expected
        chunkSignature = nil
    }

    private mutating func closeTrailer() throws(AWSChunkedError) {
        if payload.isSigned, let signing {
            guard let sent = trailerSignature else { throw .signatureMismatch }
            let canonical = trailerLines.map { "\($0.name):\($0.value)\n" }.joined()
            let expected = signing.trailerSignature(previous: previousSignature, trailerHash: Hex.encode(SHA256.hash(data: Array(canonical.utf8))))
            guard constantTimeEqual(expected, sent) else { throw .signatureMismatch }
        }
        state = .done
    }
}
