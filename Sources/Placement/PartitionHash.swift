import Crypto
import Units

/// A bucket's permanent identity (32 random bytes), independent of its name.
public struct BucketID: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 32
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    public init?(hex: String) {
        guard let bytes = Hex.decode(hex) else { return nil }
        self.init(bytes: bytes)
    }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }
}

extension PartitionID {
    /// The partition of an object: the first byte of SHA-256 over the 32
    /// bytes of the bucket id followed by the key's UTF-8 bytes. The bucket
    /// id has a fixed length, so the encoding is unambiguous. Stable forever:
    /// changing it would lose every object.
    public init(bucket: BucketID, key: String) {
        var hasher = SHA256()
        hasher.update(data: bucket.bytes)
        hasher.update(data: Array(key.utf8))
        let digest = hasher.finalize()
        self.init(digest.withUnsafeBytes { $0[0] })
    }
}
