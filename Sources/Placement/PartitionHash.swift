import Crypto

/// A bucket's permanent identity (32 random bytes), independent of its name.
public struct BucketID: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 32
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    public init?(hex: String) {
        var bytes: [UInt8] = []
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next() {
            guard let low = iterator.next(), let h = Self.nibble(high), let l = Self.nibble(low) else { return nil }
            bytes.append(h << 4 | l)
        }
        self.init(bytes: bytes)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }
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
