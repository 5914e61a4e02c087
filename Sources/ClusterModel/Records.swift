import Placement
import Units

/// An S3 access key id: "GK" followed by 24 lowercase hex digits.
public struct AccessKeyID: PrefixedHexID {
    public static let prefix = "GK"
    public static let hexDigits = 24
    public let rawValue: String
    public init(validated text: String) { rawValue = text }
}

/// A secret access key: 64 lowercase hex digits.
public struct SecretKey: Hashable, Sendable, Codable {
    public static let hexDigits = 64
    public let rawValue: String

    public init?(_ text: String) {
        guard text.count == Self.hexDigits, text.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
        rawValue = text
    }

    public init(randomBytes: [UInt8]) {
        precondition(randomBytes.count == Self.hexDigits / 2)
        rawValue = Hex.encode(randomBytes)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let secret = SecretKey(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a secret key"))
        }
        self = secret
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A bucket's global name, checked against S3's naming rules.
public struct BucketName: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public static let lengthLimits = 3...63
    public let rawValue: String

    /// Checked on UTF-8 bytes (every allowed character is ASCII): with
    /// Character properties this was a visible part of every S3 request.
    public init(validating text: String) throws(ClusterError) {
        func isLetterOrDigit(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        let utf8 = text.utf8
        let allowed = utf8.allSatisfy { isLetterOrDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
        guard Self.lengthLimits.contains(allowed ? utf8.count : text.count) else {
            throw .invalidBucketName(text, reason: "a bucket name has 3 to 63 characters")
        }
        guard allowed else {
            throw .invalidBucketName(text, reason: "use only lowercase letters, digits, '.' and '-'")
        }
        guard let first = utf8.first, let last = utf8.last, isLetterOrDigit(first), isLetterOrDigit(last) else {
            throw .invalidBucketName(text, reason: "a bucket name starts and ends with a letter or digit")
        }
        guard !text.contains("..") else { throw .invalidBucketName(text, reason: "a bucket name has no '..'") }
        let parts = text.split(separator: ".")
        if parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) {
            throw .invalidBucketName(text, reason: "a bucket name is not an IP address")
        }
        rawValue = text
    }

    public static func < (lhs: BucketName, rhs: BucketName) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// What a key may do on a bucket.
public enum Permission: String, CaseIterable, Sendable, Codable, Comparable {
    case read, write, owner

    public static func < (lhs: Permission, rhs: Permission) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

public struct BucketRecord: Codable, Sendable, Equatable {
    public var id: String
    public var name: BucketName
    public var createdMillis: UInt64
    public var deleted: Bool

    public init(id: BucketID, name: BucketName, createdMillis: UInt64) {
        self.id = id.hex
        self.name = name
        self.createdMillis = createdMillis
        self.deleted = false
    }

    public var bucketID: BucketID { BucketID(hex: id)! }
}

public struct AccessKeyRecord: Codable, Sendable, Equatable {
    public var id: AccessKeyID
    public var name: String
    public var secret: SecretKey
    public var createdMillis: UInt64
    public var deleted: Bool

    public init(id: AccessKeyID, name: String, secret: SecretKey, createdMillis: UInt64) {
        self.id = id
        self.name = name
        self.secret = secret
        self.createdMillis = createdMillis
        self.deleted = false
    }
}

/// A bucket configuration S3 sets as a whole document: its tags, its CORS
/// rules (kept as the validated `<CORSConfiguration>`, which the S3 layer
/// reads) or its lifecycle rules (which the lifecycle worker applies). An
/// empty one is a removal (a tombstone).
public struct BucketConfig: Codable, Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case tagging, cors, lifecycle, versioning }

    public var tags: [ObjectTag]?
    public var corsXML: String?
    public var lifecycle: [LifecycleRule]?
    public var versioning: VersioningState?

    public init(tags: [ObjectTag]? = nil, corsXML: String? = nil, lifecycle: [LifecycleRule]? = nil, versioning: VersioningState? = nil) {
        self.tags = tags; self.corsXML = corsXML; self.lifecycle = lifecycle; self.versioning = versioning
    }

    public var isEmpty: Bool { tags == nil && corsXML == nil && lifecycle == nil && versioning == nil }

    static func entryKey(_ bucketID: String, _ kind: Kind) -> String { "\(bucketID)/\(kind.rawValue)" }
}
