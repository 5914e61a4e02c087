import Checksums
import ClusterModel
import Crypto
import Foundation
import NIOCore

/// A body's MD5 (its ETag), checksum and digests.
struct BodyDigests: Sendable {
    let md5: [UInt8]
    let checksum: ObjectChecksum?
}

/// Computes a body's digests as its pieces arrive and checks them against
/// what the client sent: the one place a body's digests are checked.
struct BodyDigester {
    private let expected: BodyExpectations
    private var md5 = Insecure.MD5()
    private var sha: SHA256?
    private var checksummer: ChecksumHasher?

    init(_ expected: BodyExpectations) {
        self.expected = expected
        sha = expected.sha256 == nil ? nil : SHA256()
        checksummer = expected.checksumAlgorithm.map(ChecksumHasher.init)
    }

    mutating func update(_ raw: UnsafeRawBufferPointer) {
        md5.update(bufferPointer: raw)
        sha?.update(bufferPointer: raw)
        checksummer?.update(raw)
    }

    /// Checks the digests once the whole body is read.
    func finish() throws(ObjectError) -> BodyDigests {
        let digest = Array(md5.finalize())
        if let wanted = expected.md5, wanted != digest { throw .badDigest }
        if let sha, Array(sha.finalize()) != expected.sha256 { throw .contentSHA256Mismatch }
        let checksum = checksummer.map { ObjectChecksum(algorithm: $0.algorithm, digest: $0.finalize()) }
        var wanted = expected.checksum
        if let trailing = expected.trailingChecksum {
            guard let sent = trailing.value else { throw .bodyRejected(.malformed("the body ended without its trailing checksum")) }
            wanted = sent
        }
        if let checksum, let wanted, wanted != checksum.digest { throw .checksumMismatch(checksum.algorithm) }
        return BodyDigests(md5: digest, checksum: checksum)
    }

    /// Reads a whole small body into memory (an inline object: at most
    /// `inline_max_bytes`), checking its length and digests.
    static func collect<Body: AsyncSequence>(_ body: Body, expecting expected: BodyExpectations) async throws(ObjectError)
        -> (bytes: Data, digests: BodyDigests) where Body.Element == ByteBuffer
    {
        let total = expected.contentLength
        var digester = BodyDigester(expected)
        var bytes = Data(capacity: total)
        do {
            for try await piece in body {
                guard bytes.count + piece.readableBytes <= total else {
                    throw ObjectError.incompleteBody(expected: total, received: bytes.count + piece.readableBytes)
                }
                piece.withUnsafeReadableBytes { raw in
                    digester.update(raw)
                    bytes.append(contentsOf: raw)
                }
            }
        } catch let error as ObjectError {
            throw error
        } catch {
            throw .incompleteBody(expected: total, received: bytes.count)
        }
        guard bytes.count == total else { throw .incompleteBody(expected: total, received: bytes.count) }
        return (bytes, try digester.finish())
    }
}
