import Checksums
import FoundationEssentials

/// The `Range: bytes=…` header of a GET (one range; S3 serves no multi-range).
public enum ByteRange: Equatable, Sendable {
    case from(UInt64, through: UInt64?)
    case suffix(UInt64)

    /// nil for a header S3 ignores (another unit, several ranges, bad syntax).
    public init?(header: String) {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return nil }
        let spec = header.dropFirst("bytes=".count)
        guard let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash], last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            guard let n = UInt64(last) else { return nil }
            self = .suffix(n)
        } else {
            guard let start = UInt64(first) else { return nil }
            if last.isEmpty { self = .from(start, through: nil); return }
            guard let end = UInt64(last), end >= start else { return nil }
            self = .from(start, through: end)
        }
    }

    /// The bytes selected from an object of `size`; nil: not satisfiable (416).
    public func resolve(size: UInt64) -> Range<UInt64>? {
        switch self {
        case .from(let start, let through):
            guard start < size else { return nil }
            return start..<min(size, (through ?? UInt64.max - 1) + 1)
        case .suffix(let n):
            guard n > 0, size > 0 else { return nil }
            return (size - min(n, size))..<size
        }
    }
}

/// Opaque listing continuation tokens: the cursor, base64-encoded.
public enum ContinuationToken {
    public static func encode(_ cursor: String) -> String { Base64.encode(Array(cursor.utf8)) }
    public static func decode(_ token: String) -> String? {
        guard let bytes = Base64.decode(token) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// Standard base64 (RFC 4648), for tokens and Content-MD5: Foundation's
/// codec, made strict: only the canonical encoding of some bytes decodes
/// (Foundation alone takes data after padding, such as `Zg=v`).
public enum Base64 {
    public static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    public static func decode(_ text: String) -> [UInt8]? {
        guard let data = Data(base64Encoded: text), data.base64EncodedString() == text else { return nil }
        return Array(data)
    }
}

extension ObjectChecksum {
    /// The header or XML value: base64, with `-N` for a COMPOSITE checksum.
    public var displayValue: String {
        let base = Base64.encode(digest)
        if checksumType == .composite, let partCount { return "\(base)-\(partCount)" }
        return base
    }
}

/// One page of ListBuckets: names in order, those after the continuation
/// token's cursor that start with `prefix`, at most `maxBuckets`.
public enum BucketPage {
    public static let maxBucketsLimit = 10_000

    /// Returns the page and the cursor of the next page (nil on the last).
    public static func select(_ sortedNames: [String], prefix: String?, after cursor: String?, maxBuckets: Int) -> (page: [String], next: String?) {
        var page: [String] = []
        for name in sortedNames {
            if let prefix, !name.hasPrefix(prefix) { continue }
            if let cursor, name <= cursor { continue }
            if page.count == maxBuckets { return (page, page.last) }
            page.append(name)
        }
        return (page, nil)
    }
}
