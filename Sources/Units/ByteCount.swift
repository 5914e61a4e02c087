/// A number of bytes as users write it: `10G`, `500M`, `1.5T` (SI, powers of
/// 1000), `10GiB`, `512MiB` (binary, powers of 1024), or a bare number.
public struct ByteCount: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let bytes: UInt64

    public init(bytes: UInt64) { self.bytes = bytes }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case empty
        case notANumber(String)
        case unknownUnit(String, input: String)
        case negative(String)
        case tooLarge(String)
        case fractionalBytes(String)

        public var description: String {
            switch self {
            case .empty: return "a size is required (e.g. 10G, 512MiB)"
            case .notANumber(let s): return "'\(s)' is not a size: expected a number with an optional unit, e.g. 10G, 1.5T, 512MiB"
            case .unknownUnit(let unit, let s): return "unknown unit '\(unit)' in '\(s)': use B, K, M, G, T, P (powers of 1000) or KiB, MiB, GiB, TiB, PiB (powers of 1024)"
            case .negative(let s): return "size '\(s)' must not be negative"
            case .tooLarge(let s): return "size '\(s)' is too large"
            case .fractionalBytes(let s): return "size '\(s)' is not a whole number of bytes"
            }
        }
    }

    static let units: [String: UInt64] = {
        var table: [String: UInt64] = ["": 1, "B": 1]
        let si = ["K", "M", "G", "T", "P", "E"]
        for (i, prefix) in si.enumerated() {
            var decimal: UInt64 = 1
            var binary: UInt64 = 1
            for _ in 0...i { decimal *= 1000; binary *= 1024 }
            table[prefix] = decimal
            table[prefix + "B"] = decimal
            table[prefix + "IB"] = binary
        }
        return table
    }()

    public init(parsing text: String) throws(ParseError) {
        let trimmed = text.trimmingSpaces
        guard !trimmed.isEmpty else { throw .empty }
        guard !trimmed.hasPrefix("-") else { throw .negative(text) }
        let numberPart = String(trimmed.prefix { $0.isNumber || $0 == "." })
        let unitPart = String(trimmed.dropFirst(numberPart.count)).trimmingSpaces
        guard !numberPart.isEmpty, numberPart.filter({ $0 == "." }).count <= 1, numberPart != "." else {
            throw .notANumber(text)
        }
        guard let multiplier = Self.units[unitPart.uppercased()] else {
            throw .unknownUnit(unitPart, input: text)
        }
        // Exact integer arithmetic: 1.5T must be 1_500_000_000_000, not a float's guess.
        let pieces = numberPart.split(separator: ".", omittingEmptySubsequences: false)
        let whole = pieces[0].isEmpty ? "0" : String(pieces[0])
        let fraction = pieces.count > 1 ? String(pieces[1]) : ""
        guard let wholeValue = UInt64(whole) else { throw .tooLarge(text) }
        var (total, overflow) = wholeValue.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { throw .tooLarge(text) }
        if !fraction.isEmpty {
            guard fraction.count <= 18, let fractionValue = UInt64(fraction) else { throw .notANumber(text) }
            var scale: UInt64 = 1
            for _ in 0..<fraction.count { scale *= 10 }
            let product = fractionValue.multipliedFullWidth(by: multiplier)
            let (quotient, remainder) = scale.dividingFullWidth(product)
            guard remainder == 0 else { throw .fractionalBytes(text) }
            (total, overflow) = total.addingReportingOverflow(quotient)
            guard !overflow else { throw .tooLarge(text) }
        }
        bytes = total
    }

    public static func < (lhs: ByteCount, rhs: ByteCount) -> Bool { lhs.bytes < rhs.bytes }

    /// SI rendering with one decimal, as the guide prints capacities: `10.0 GB`.
    public var description: String { siDescription }

    public var siDescription: String { Self.render(bytes, base: 1000, units: ["B", "KB", "MB", "GB", "TB", "PB", "EB"]) }
    public var binaryDescription: String { Self.render(bytes, base: 1024, units: ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]) }

    private static func render(_ bytes: UInt64, base: Double, units: [String]) -> String {
        if bytes < UInt64(base) { return "\(bytes) B" }
        var value = Double(bytes)
        var index = 0
        while value >= base && index < units.count - 1 { value /= base; index += 1 }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(units[index])"
    }
}

extension String {
    var trimmingSpaces: String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
