import Units

/// An identifier written as a fixed prefix and lowercase hex digits (access
/// key ids `GK…`, admin token ids `AT…`): parsed, made from random bytes,
/// ordered and coded as its text, all in one place.
public protocol PrefixedHexID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    static var prefix: String { get }
    static var hexDigits: Int { get }
    var rawValue: String { get }
    init(validated text: String)
}

extension PrefixedHexID {
    /// On UTF-8 bytes: ids are ASCII, and Character properties made this
    /// check (three per S3 request) 3% of a small GET.
    public init?(_ text: String) {
        let utf8 = text.utf8, prefix = Self.prefix.utf8
        guard utf8.count == prefix.count + Self.hexDigits, utf8.starts(with: prefix),
              utf8.dropFirst(prefix.count).allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                                                          || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }) else { return nil }
        self.init(validated: text)
    }

    public init(randomBytes: [UInt8]) {
        precondition(randomBytes.count == Self.hexDigits / 2)
        self.init(validated: Self.prefix + Hex.encode(randomBytes))
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = Self(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a \(Self.prefix)… id: \(text)"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The record a user means by `text`: its exact id, its unique name, or a
/// unique prefix of its id (at least the id's prefix and two more characters).
func uniqueMatch<Record>(_ text: String, among live: [Record], id: (Record) -> String, name: (Record) -> String, idPrefix: String,
                         none: ClusterError, ambiguous: (String, [String]) -> ClusterError) throws(ClusterError) -> Record {
    if let exact = live.first(where: { id($0) == text }) { return exact }
    let named = live.filter { name($0) == text }
    if named.count == 1 { return named[0] }
    if named.count > 1 { throw ambiguous(text, named.map(id)) }
    guard text.count >= idPrefix.count + 2, text.hasPrefix(idPrefix) else { throw none }
    let prefixed = live.filter { id($0).hasPrefix(text) }
    if prefixed.count == 1 { return prefixed[0] }
    if prefixed.count > 1 { throw ambiguous(text, prefixed.map(id)) }
    throw none
}
