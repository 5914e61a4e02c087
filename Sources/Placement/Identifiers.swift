import Units

/// A node's identity. In a cluster it is the hex of the node's public key;
/// in an offline plan any unique string.
public struct NodeID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
    /// The first 16 characters, as status tables print ids.
    public var shortForm: String { String(rawValue.prefix(16)) }

    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A failure domain: a datacenter, a room, a rack.
public struct ZoneName: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public static func < (lhs: ZoneName, rhs: ZoneName) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// One of the 256 partitions of the key space.
public struct PartitionID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let count = 256
    public static var all: [PartitionID] { (0..<count).map { PartitionID(UInt8($0)) } }

    public let rawValue: UInt8
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }
    public var index: Int { Int(rawValue) }
    public static func < (lhs: PartitionID, rhs: PartitionID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
}

/// The number of an applied layout; 0 means none has been applied yet.
public struct LayoutVersion: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public static let none = LayoutVersion(0)
    public let rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var next: LayoutVersion { LayoutVersion(rawValue + 1) }
    public static func < (lhs: LayoutVersion, rhs: LayoutVersion) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }

    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(UInt64.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// What a node contributes: its zone, and its capacity (nil for a gateway,
/// which serves requests but stores nothing).
public struct NodeRole: Hashable, Sendable, Codable {
    public var zone: ZoneName
    public var capacity: ByteCount?
    public var tags: [String]

    public init(zone: ZoneName, capacity: ByteCount?, tags: [String] = []) {
        self.zone = zone
        self.capacity = capacity
        self.tags = tags
    }

    public var isGateway: Bool { capacity == nil }

    enum CodingKeys: String, CodingKey { case zone, capacityBytes = "capacity_bytes", tags }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        zone = try c.decode(ZoneName.self, forKey: .zone)
        capacity = try c.decodeIfPresent(UInt64.self, forKey: .capacityBytes).map { ByteCount(bytes: $0) }
        tags = try c.decodeIfPresent([String].self, forKey: .tags) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(zone, forKey: .zone)
        try c.encode(capacity?.bytes, forKey: .capacityBytes)
        try c.encode(tags, forKey: .tags)
    }
}
