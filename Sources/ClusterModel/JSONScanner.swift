import Foundation

/// A forward reader of one JSON document's bytes for the documents Shale
/// writes itself (rows, a metadata read's answer): each value is read as
/// the type the caller expects, with no tree in between. It reads exactly
/// what `JSONDecoder` reads the same way, and gives up (`Miss`) on anything
/// it does not read the same way (a fraction or exponent where an integer
/// is expected, a lone surrogate, bytes that are not UTF-8, nesting past 64);
/// a caller that misses decodes the document with `JSONDecoder`, which then
/// reads it or reports the error. Values skipped over are checked for their
/// shape only, so a document broken inside a value nobody reads may pass.
public struct JSONScanner {
    /// The document is not one this reader takes on; `JSONDecoder` decides.
    public struct Miss: Error { public init() {} }

    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// `data` read whole by `read`, or by `JSONDecoder` when the scanner misses.
    public static func decode<Value: Decodable>(_: Value.Type, from data: Data,
                                                _ read: (inout JSONScanner) throws(Miss) -> Value) throws -> Value {
        let scanned = data.withUnsafeBytes { bytes -> Value? in
            var scanner = JSONScanner(bytes)
            do throws(Miss) {
                let value = try read(&scanner)
                try scanner.end()
                return value
            } catch {
                return nil
            }
        }
        if let scanned { return scanned }
        return try JSONDecoder().decode(Value.self, from: data)
    }

    private static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    /// The next byte that is not white space, not consumed.
    public mutating func peek() throws(Miss) -> UInt8 {
        skipSpace()
        guard index < bytes.count else { throw Miss() }
        return bytes[index]
    }

    private mutating func expect(_ byte: UInt8) throws(Miss) {
        guard try peek() == byte else { throw Miss() }
        index += 1
    }

    /// The end of the document: nothing but white space left.
    public mutating func end() throws(Miss) {
        skipSpace()
        guard index == bytes.count else { throw Miss() }
    }

    /// `null`, consumed if it is next; false (nothing consumed) otherwise.
    public mutating func null() throws(Miss) -> Bool {
        guard try peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    private mutating func literal(_ word: StaticString) throws(Miss) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw Miss() }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { throw Miss() }
        index += count
    }

    // MARK: Containers

    /// Reads an object, calling `member` with each key; `member` must read
    /// the key's value. A key given twice is a miss (JSONDecoder's choice
    /// between the two is not this reader's to guess).
    public mutating func object(_ member: (inout JSONScanner, String) throws(Miss) -> Void) throws(Miss) {
        try expect(UInt8(ascii: "{"))
        if try peek() == UInt8(ascii: "}") { index += 1; return }
        var seen: [String] = []
        while true {
            let key = try string()
            guard !seen.contains(key) else { throw Miss() }
            seen.append(key)
            try expect(UInt8(ascii: ":"))
            try member(&self, key)
            switch try peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return
            default: throw Miss()
            }
        }
    }

    /// Reads an array, calling `element` for each element, which it must read.
    public mutating func array(_ element: (inout JSONScanner) throws(Miss) -> Void) throws(Miss) {
        try expect(UInt8(ascii: "["))
        if try peek() == UInt8(ascii: "]") { index += 1; return }
        while true {
            try element(&self)
            switch try peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return
            default: throw Miss()
            }
        }
    }

    /// An array's elements, each read by `element`.
    public mutating func list<Element>(_ element: (inout JSONScanner) throws(Miss) -> Element) throws(Miss) -> [Element] {
        var elements: [Element] = []
        try array { (scanner: inout JSONScanner) throws(Miss) in elements.append(try element(&scanner)) }
        return elements
    }

    /// Passes over one value of any kind.
    public mutating func skip(depth: Int = 0) throws(Miss) {
        guard depth < 64 else { throw Miss() }
        switch try peek() {
        case Self.quote: try skipString()
        case UInt8(ascii: "{"): try object { (scanner: inout JSONScanner, _: String) throws(Miss) in try scanner.skip(depth: depth + 1) }
        case UInt8(ascii: "["): try array { (scanner: inout JSONScanner) throws(Miss) in try scanner.skip(depth: depth + 1) }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default:
            let start = index
            while index < bytes.count, Self.isNumberByte(bytes[index]) { index += 1 }
            guard index > start else { throw Miss() }
        }
    }

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "e"),
             UInt8(ascii: "E"): true
        default: false
        }
    }

    // MARK: Scalars

    public mutating func bool() throws(Miss) -> Bool {
        switch try peek() {
        case UInt8(ascii: "t"): try literal("true"); return true
        case UInt8(ascii: "f"): try literal("false"); return false
        default: throw Miss()
        }
    }

    /// A non-negative integer written as plain digits, at most `limit`.
    public mutating func unsigned(upTo limit: UInt64 = .max) throws(Miss) -> UInt64 {
        skipSpace()
        let start = index
        var value: UInt64 = 0
        while index < bytes.count, case let digit = bytes[index] &- UInt8(ascii: "0"), digit < 10 {
            let (times, overflowTimes) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowSum) = times.addingReportingOverflow(UInt64(digit))
            guard !overflowTimes, !overflowSum else { throw Miss() }
            value = sum
            index += 1
        }
        // No digits, a leading zero, or a fraction or exponent after them: JSONDecoder's to read.
        guard index > start, bytes[start] != UInt8(ascii: "0") || index == start + 1, value <= limit else { throw Miss() }
        if index < bytes.count, Self.isNumberByte(bytes[index]) { throw Miss() }
        return value
    }

    public mutating func int() throws(Miss) -> Int { Int(try unsigned(upTo: UInt64(Int.max))) }

    public mutating func string() throws(Miss) -> String {
        try expect(Self.quote)
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == Self.quote {
                defer { index += 1 }
                return try Self.text(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
            }
            if byte == Self.backslash { return try escapedString(from: start) }
            guard byte >= 0x20 else { throw Miss() }
            index += 1
        }
        throw Miss()
    }

    /// A base64 string's bytes (JSONDecoder's reading of `Data`), decoded
    /// from the document's bytes when the string holds no escapes.
    public mutating func base64() throws(Miss) -> Data {
        let start = try peek() == Self.quote ? index : -1
        var end = start + 1
        while start >= 0, end < bytes.count, bytes[end] != Self.quote, bytes[end] != Self.backslash { end += 1 }
        let data: Data?
        if start >= 0, end < bytes.count, bytes[end] == Self.quote {
            data = Data(base64Encoded: Data(UnsafeRawBufferPointer(rebasing: bytes[(start + 1)..<end])))
            index = end + 1
        } else {
            data = Data(base64Encoded: try string())
        }
        guard let data else { throw Miss() }
        return data
    }

    private static func text(_ raw: UnsafeRawBufferPointer) throws(Miss) -> String {
        let utf8 = UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
        guard let text = String(validating: utf8, as: UTF8.self) else { throw Miss() }
        return text
    }

    private mutating func escapedString(from start: Int) throws(Miss) -> String {
        var decoded = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case Self.quote:
                guard let text = String(validating: decoded, as: UTF8.self) else { throw Miss() }
                return text
            case Self.backslash:
                guard index < bytes.count else { throw Miss() }
                let escape = bytes[index]
                index += 1
                switch escape {
                case Self.quote, Self.backslash, UInt8(ascii: "/"): decoded.append(escape)
                case UInt8(ascii: "b"): decoded.append(0x08)
                case UInt8(ascii: "f"): decoded.append(0x0C)
                case UInt8(ascii: "n"): decoded.append(0x0A)
                case UInt8(ascii: "r"): decoded.append(0x0D)
                case UInt8(ascii: "t"): decoded.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hexQuad()
                    if (0xD800..<0xDC00).contains(scalar) {
                        try literal("\\u")
                        let low = try hexQuad()
                        guard (0xDC00..<0xE000).contains(low) else { throw Miss() }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw Miss() }
                    decoded.append(contentsOf: String(Character(unicode)).utf8)
                default: throw Miss()
                }
            default:
                guard byte >= 0x20 else { throw Miss() }
                decoded.append(byte)
            }
        }
        throw Miss()
    }

    private mutating func hexQuad() throws(Miss) -> UInt32 {
        guard index + 4 <= bytes.count else { throw Miss() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Miss()
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    private mutating func skipString() throws(Miss) {
        try expect(Self.quote)
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == Self.quote { return }
            if byte == Self.backslash { index += 1 } else if byte < 0x20 { throw Miss() }
        }
        throw Miss()
    }
}
