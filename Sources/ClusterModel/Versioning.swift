import Foundation

/// A bucket's S3 versioning state. A bucket that never had one is
/// unversioned; once set it moves between these two and never back.
public enum VersioningState: String, Codable, Sendable {
    case enabled = "Enabled"
    case suspended = "Suspended"
}

/// An S3 version id as Shale makes them: the write's stamp inverted, so
/// that a key's versions sort newest first in its version table. "null"
/// names the key's null version (written while the bucket was unversioned
/// or suspended), which lives in the object table, not here.
public struct S3VersionID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let null = "null"
    /// 16 hex digits of inverted milliseconds, 8 of inverted counter, 8 of inverted node hash.
    public static let length = 32

    public let rawValue: String

    public init?(_ text: String) {
        guard text.utf8.count == Self.length, text.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else { return nil }
        rawValue = text
    }

    /// The id of a version written at `stamp`.
    public init(stamp: Stamp) {
        let node = UInt32(truncatingIfNeeded: Self.nodeHash(stamp.node))
        rawValue = Self.hex(~stamp.millis, digits: 16) + Self.hex(UInt64(~stamp.counter), digits: 8) + Self.hex(UInt64(~node), digits: 8)
    }

    /// The time order of the write (milliseconds, counter): larger is newer.
    public var order: VersionOrder {
        let utf8 = Array(rawValue.utf8)
        let millis = ~Self.parseHex(utf8[0..<16])
        let counter = ~UInt32(truncatingIfNeeded: Self.parseHex(utf8[16..<24]))
        return VersionOrder(millis: millis, counter: counter)
    }

    public var description: String { rawValue }

    /// Byte order of the ids is newest first.
    public static func < (a: S3VersionID, b: S3VersionID) -> Bool { a.rawValue < b.rawValue }

    public static func hex(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text.suffix(digits)
    }

    static func parseHex(_ digits: ArraySlice<UInt8>) -> UInt64 {
        digits.reduce(0) { value, digit in value << 4 | UInt64(digit <= 57 ? digit - 48 : digit - 87) }
    }

    /// FNV-1a: stable across processes (Swift's hasher is seeded per process).
    static func nodeHash(_ node: String) -> UInt64 {
        node.utf8.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
}

/// When a version was written, as far as ordering a key's versions goes.
public struct VersionOrder: Comparable, Sendable, Hashable {
    public let millis: UInt64
    public let counter: UInt32
    public init(millis: UInt64, counter: UInt32) { self.millis = millis; self.counter = counter }
    public init(_ stamp: Stamp) { millis = stamp.millis; counter = stamp.counter }
    public static func < (a: VersionOrder, b: VersionOrder) -> Bool { (a.millis, a.counter) < (b.millis, b.counter) }
}

/// Where a versioned bucket's versions live: a third table per bucket on
/// the bucket's metadata replicas, one row per version or delete marker,
/// keyed `KEY \u{1} VERSIONID`, so a key's versions are one prefix, newest
/// first. Versions are never edited but for their tags and handoffs;
/// deleting one writes a tombstone over its row. The key's null version
/// stays in the object table (its row there is the null version).
public enum VersionTable {
    public static let separator = "\u{1}"
    static let suffix = ".versions"

    public static func name(of bucketHex: String) -> String { bucketHex + suffix }

    /// The bucket hex of a version table's name, nil for any other table.
    public static func bucketHex(ofTable name: String) -> String? {
        name.hasSuffix(suffix) ? String(name.dropLast(suffix.count)) : nil
    }

    public static func rowKey(key: String, versionID: S3VersionID) -> String { key + separator + versionID.rawValue }

    /// The prefix of every row of `key`'s versions.
    public static func prefix(of key: String) -> String { key + separator }

    /// A row key just past every version of `key` (listings resume there).
    public static func past(_ key: String) -> String { key + "\u{2}" }

    /// (object key, version id) of a row key.
    public static func parseRowKey(_ rowKey: String) -> (key: String, versionID: S3VersionID)? {
        let utf8 = rowKey.utf8
        guard utf8.count > S3VersionID.length else { return nil }
        let idStart = utf8.index(utf8.endIndex, offsetBy: -S3VersionID.length)
        let separatorIndex = utf8.index(before: idStart)
        guard utf8[separatorIndex] == 1, let id = S3VersionID(String(rowKey[idStart...])) else { return nil }
        return (String(rowKey[..<separatorIndex]), id)
    }
}

/// A delete marker: the row of a key's latest "version" when a versioned
/// bucket's DELETE named no version. It has no bytes.
public struct DeleteMarker: Codable, Sendable, Equatable {
    public var lastModifiedMillis: UInt64
    /// The marker's version id; nil for the null version's marker (Suspended).
    public var s3VersionID: String?
    public init(lastModifiedMillis: UInt64, s3VersionID: String?) { self.lastModifiedMillis = lastModifiedMillis; self.s3VersionID = s3VersionID }
}

/// Every table a bucket has on its metadata replicas.
public enum BucketTables {
    public static func names(of bucketHex: String) -> [String] {
        [bucketHex, UploadTable.name(of: bucketHex), VersionTable.name(of: bucketHex)]
    }
}
