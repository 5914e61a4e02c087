import Crypto
import Erasure

/// A running checksum of one algorithm over a body fed in pieces.
public struct ChecksumHasher: Sendable {
    public let algorithm: ChecksumAlgorithm
    private var state: State

    private enum State: Sendable {
        case crc32(UInt32)
        case crc32c(UInt32)
        case crc64(UInt64)
        case sha1(Insecure.SHA1)
        case sha256(SHA256)
    }

    public init(_ algorithm: ChecksumAlgorithm) {
        self.algorithm = algorithm
        switch algorithm {
        case .crc32: state = .crc32(0)
        case .crc32c: state = .crc32c(0)
        case .crc64nvme: state = .crc64(0)
        case .sha1: state = .sha1(Insecure.SHA1())
        case .sha256: state = .sha256(SHA256())
        }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        switch state {
        case .crc32(let crc): state = .crc32(CRC32.checksum(bytes, continuing: crc))
        case .crc32c(let crc): state = .crc32c(CRC32C.checksum(bytes, continuing: crc))
        case .crc64(let crc): state = .crc64(CRC64NVME.checksum(bytes, continuing: crc))
        case .sha1(var hash):
            hash.update(bufferPointer: bytes)
            state = .sha1(hash)
        case .sha256(var hash):
            hash.update(bufferPointer: bytes)
            state = .sha256(hash)
        }
    }

    /// The digest as S3 sends it before base64: CRCs big-endian.
    public func finalize() -> [UInt8] {
        switch state {
        case .crc32(let crc), .crc32c(let crc): return withUnsafeBytes(of: crc.bigEndian, Array.init)
        case .crc64(let crc): return withUnsafeBytes(of: crc.bigEndian, Array.init)
        case .sha1(let hash): return Array(hash.finalize())
        case .sha256(let hash): return Array(hash.finalize())
        }
    }

    /// The digest of `bytes` in one go.
    public static func digest(_ algorithm: ChecksumAlgorithm, of bytes: [UInt8]) -> [UInt8] {
        var hasher = ChecksumHasher(algorithm)
        bytes.withUnsafeBytes { hasher.update($0) }
        return hasher.finalize()
    }
}

/// A body's checksum as stored with its object: the algorithm and the digest.
public struct ObjectChecksum: Codable, Sendable, Equatable {
    public let algorithm: ChecksumAlgorithm
    public let digest: [UInt8]
    /// nil: FULL_OBJECT (every single-part body). A multipart object's
    /// COMPOSITE checksum is the checksum of its parts' digests.
    public let type: ChecksumType?
    /// A COMPOSITE checksum's part count (S3 shows it as `<base64>-N`).
    public let partCount: Int?

    public init(algorithm: ChecksumAlgorithm, digest: [UInt8], type: ChecksumType? = nil, partCount: Int? = nil) {
        self.algorithm = algorithm
        self.digest = digest
        self.type = type == .fullObject ? nil : type
        self.partCount = partCount
    }

    public var checksumType: ChecksumType { type ?? .fullObject }
}

/// How a multipart object's checksum covers it: of the whole body
/// (FULL_OBJECT, CRCs only, combined from the parts' CRCs) or of the
/// parts' checksums (COMPOSITE).
public enum ChecksumType: String, Codable, Sendable, CaseIterable {
    case fullObject = "FULL_OBJECT"
    case composite = "COMPOSITE"
}
