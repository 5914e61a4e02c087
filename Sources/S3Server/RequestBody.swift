import Checksums
import Crypto
import HTTPTypes
import Hummingbird
import NIOCore
import Node
import S3Protocol
import Units

/// What a PutObject or UploadPart body is, read from the headers before
/// any byte of it: its length, the digests it must have, and, for an
/// `aws-chunked` body, how to decode it (the HTTP body is then the framed
/// chunks, and `x-amz-decoded-content-length` the length of the data).
struct BodyPlan {
    let expectations: BodyExpectations
    let decoder: AWSChunkedDecoder?
    /// The header the trailer carries the checksum in (`x-amz-checksum-crc32`, …).
    let trailerName: String?
    /// Content-Encoding without `aws-chunked` (what is stored with the object).
    let contentEncoding: String?

    /// The body as the data path reads it: decoded when aws-chunked.
    func stream<Base: AsyncSequence & Sendable>(_ base: Base) -> RequestBodyStream<Base> where Base.Element == ByteBuffer {
        RequestBodyStream(base: base, decoder: decoder, trailerName: trailerName, trailing: expectations.trailingChecksum,
                          algorithm: expectations.checksumAlgorithm)
    }
}

extension S3Handlers {
    /// Reads the length, Content-MD5, checksum and aws-chunked headers of a
    /// body. `maxBytes`: the largest body the operation takes.
    func bodyPlan(_ request: Request, maxBytes: Int, tooLarge: String) throws -> BodyPlan {
        let streaming = StreamingPayload(rawValue: caller.payloadHash)
        let lengthText = streaming == nil ? request.headers[.contentLength] : header("x-amz-decoded-content-length")
        guard let lengthText, let length = Int(lengthText), length >= 0 else {
            if streaming != nil {
                throw S3Error(.missingContentLength, "An aws-chunked body needs x-amz-decoded-content-length, the length of its data.")
            }
            if request.headers[.transferEncoding] != nil {
                throw S3Error(.missingContentLength, "You must provide the Content-Length HTTP header: a Transfer-Encoding: chunked body needs aws-chunked framing and x-amz-decoded-content-length, or a Content-Length (for unknown lengths, buffer the body or use a multipart upload).")
            }
            throw S3Error(.missingContentLength, "You must provide the Content-Length HTTP header.")
        }
        guard length <= maxBytes else { throw S3Error(.entityTooLarge, tooLarge) }
        var checksum = try RequestedChecksum.parse(headers)
        var trailerName: String?
        var trailing: TrailingChecksum?
        let trailerHeader = header("x-amz-trailer")
        if let streaming, streaming.hasTrailer {
            guard let name = trailerHeader?.trimmingCharacters(in: .whitespaces).lowercased(), name.hasPrefix("x-amz-checksum-"),
                  let algorithm = ChecksumAlgorithm(name: String(name.dropFirst("x-amz-checksum-".count))) else {
                throw S3Error(.invalidRequest, "\(streaming.rawValue) needs x-amz-trailer naming one x-amz-checksum-* header.")
            }
            if let named = checksum, named.expected != nil || named.algorithm != algorithm {
                throw S3Error(.invalidRequest, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
            }
            checksum = RequestedChecksum(algorithm: algorithm, expected: nil)
            trailerName = name
            trailing = TrailingChecksum()
        } else if trailerHeader != nil {
            throw S3Error(.invalidRequest, "x-amz-trailer needs an aws-chunked body with a trailer (x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER or STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER).")
        }
        if streaming == nil, header("x-amz-decoded-content-length") != nil {
            throw S3Error(.invalidRequest, "x-amz-decoded-content-length belongs to aws-chunked bodies (x-amz-content-sha256: STREAMING-…).")
        }
        var decoder: AWSChunkedDecoder?
        if let streaming {
            do { decoder = try AWSChunkedDecoder(payload: streaming, signing: caller.chunkSigning) } catch {
                throw S3Error(.internalError, S3Error.internalMessage, logDetail: "signed chunks without a signing context")
            }
        }
        let chunkedEncoding = header("content-encoding")?.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "aws-chunked" } ?? false
        if chunkedEncoding && streaming == nil {
            throw S3Error(.invalidRequest, "Content-Encoding: aws-chunked needs x-amz-content-sha256 naming the chunked payload (STREAMING-…); the body would otherwise be stored with its framing.")
        }
        var encodings = header("content-encoding").map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } } ?? []
        encodings.removeAll { $0.lowercased() == "aws-chunked" }
        let plain = streaming == nil && caller.payloadHash != SigV4.unsignedPayload
        var expectations = BodyExpectations(
            contentLength: length, md5: try contentMD5(), sha256: plain ? Hex.decode(caller.payloadHash) : nil,
            checksumAlgorithm: checksum?.algorithm, checksum: checksum?.expected)
        expectations.trailingChecksum = trailing
        return BodyPlan(expectations: expectations, decoder: decoder, trailerName: trailerName,
                        contentEncoding: encodings.isEmpty ? nil : encodings.joined(separator: ", "))
    }
}

/// A request body as the data path reads it: as sent, or decoded from
/// aws-chunked framing, with the trailer's checksum handed to the pipeline
/// when the body ends. A framing or signature error ends the stream with
/// `ObjectError.bodyRejected`, so the pipeline stores nothing.
struct RequestBodyStream<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base
    let decoder: AWSChunkedDecoder?
    let trailerName: String?
    let trailing: TrailingChecksum?
    let algorithm: ChecksumAlgorithm?

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        var decoder: AWSChunkedDecoder?
        let trailerName: String?
        let trailing: TrailingChecksum?
        let algorithm: ChecksumAlgorithm?
        var pending: [ByteBuffer] = []
        var ended = false

        mutating func next() async throws -> ByteBuffer? {
            guard var decoder else { return try await base.next() }
            while pending.isEmpty {
                if ended { return nil }
                guard let piece = try await base.next() else {
                    ended = true
                    do { try decoder.finish() } catch { throw Self.rejection(error) }
                    try handOverTrailer(decoder)
                    return nil
                }
                let ranges: [Range<Int>]
                do { ranges = try piece.withUnsafeReadableBytes { raw throws(AWSChunkedError) in try decoder.feed(raw) } } catch {
                    throw Self.rejection(error)
                }
                self.decoder = decoder
                for range in ranges {
                    if let slice = piece.getSlice(at: piece.readerIndex + range.lowerBound, length: range.count) { pending.append(slice) }
                }
            }
            return pending.removeFirst()
        }

        func handOverTrailer(_ decoder: AWSChunkedDecoder) throws {
            guard let trailerName, let trailing, let algorithm else { return }
            guard let value = decoder.trailers.first(where: { $0.name == trailerName })?.value else {
                throw ObjectError.bodyRejected(.malformed("the trailer has no \(trailerName)"))
            }
            guard let digest = Base64.decode(value), digest.count == algorithm.digestByteCount else {
                throw ObjectError.bodyRejected(.malformed("\(trailerName) in the trailer is not a base64 \(algorithm.rawValue)"))
            }
            trailing.set(digest)
        }

        static func rejection(_ error: AWSChunkedError) -> ObjectError {
            switch error {
            case .signatureMismatch: return .bodyRejected(.signatureMismatch)
            case .malformed(let why): return .bodyRejected(.malformed(why))
            case .truncated: return .bodyRejected(.malformed("the body ended before its final chunk"))
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), decoder: decoder, trailerName: trailerName, trailing: trailing, algorithm: algorithm)
    }
}

extension S3Handlers {
    /// A small request body (an XML document) read whole, once nothing else
    /// can refuse the request, with every digest the request declares
    /// checked: the signed payload's SHA-256, Content-MD5, an `x-amz-checksum-*`.
    func smallBody(_ request: Request, upTo limit: Int, what: String) async throws -> [UInt8] {
        try await sendContinue()
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch {
            throw S3Error(.malformedXML, "The \(what) could not be read, or is larger than \(limit) bytes.")
        }
        let bytes = Array(buffer.readableBytesView)
        // The declared hash is a hex SHA-256 or UNSIGNED-PAYLOAD (aws-chunked bodies are refused here).
        if caller.payloadHash.count == 64, Hex.encode(Array(SHA256.hash(data: bytes))) != caller.payloadHash {
            throw S3Error(.xAmzContentSHA256Mismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.")
        }
        if let expected = try contentMD5(), Array(Insecure.MD5.hash(data: bytes)) != expected { throw S3Error(ObjectError.badDigest) }
        if let checksum = try RequestedChecksum.parse(headers), let expected = checksum.expected,
           ChecksumHasher.digest(checksum.algorithm, of: bytes) != expected {
            throw S3Error(ObjectError.checksumMismatch(checksum.algorithm))
        }
        return bytes
    }
}
