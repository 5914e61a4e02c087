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

/// Standard base64 (RFC 4648), for tokens and Content-MD5.
public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i]), b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0, b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let n = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(i + 1 < bytes.count ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(n & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < chars.count {
            var n: UInt32 = 0
            var pad = 0
            for j in 0..<4 {
                let c = chars[i + j]
                let v: UInt32
                switch c {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - UInt8(ascii: "A"))
                case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - UInt8(ascii: "a")) + 26
                case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - UInt8(ascii: "0")) + 52
                case UInt8(ascii: "+"): v = 62
                case UInt8(ascii: "/"): v = 63
                case UInt8(ascii: "=") where i + 4 == chars.count && j >= 2: v = 0; pad += 1
                default: return nil
                }
                if pad > 0 && c != UInt8(ascii: "=") { return nil }
                n = n << 6 | v
            }
            out.append(UInt8(n >> 16 & 0xFF))
            if pad < 2 { out.append(UInt8(n >> 8 & 0xFF)) }
            if pad < 1 { out.append(UInt8(n & 0xFF)) }
            i += 4
        }
        return out
    }
}
