/// A value with the stamp of the write that set it.
public struct Stamped<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var value: Value
    public var stamp: Stamp

    public init(_ value: Value, stamp: Stamp) {
        self.value = value
        self.stamp = stamp
    }
}

/// A last-writer-wins map: every entry merges independently, the entry with
/// the larger stamp wins, deletions are values (tombstones), so two replicas
/// that have seen the same writes hold the same map whatever the order.
public struct LWWMap<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public private(set) var entries: [String: Stamped<Value>]

    public init() { entries = [:] }

    public subscript(key: String) -> Value? { entries[key]?.value }

    /// Sets `key` if `stamp` is newer than what is there; returns whether it changed.
    @discardableResult
    public mutating func set(_ key: String, _ value: Value, stamp: Stamp) -> Bool {
        if let existing = entries[key], existing.stamp >= stamp { return false }
        entries[key] = Stamped(value, stamp: stamp)
        return true
    }

    /// Takes every entry of `other` that is newer; returns whether anything changed.
    @discardableResult
    public mutating func merge(_ other: LWWMap<Value>) -> Bool {
        var changed = false
        for (key, entry) in other.entries where set(key, entry.value, stamp: entry.stamp) { changed = true }
        return changed
    }

    public var newestStamp: Stamp? { entries.values.map(\.stamp).max() }

    public init(from decoder: any Decoder) throws {
        entries = try decoder.singleValueContainer().decode([String: Stamped<Value>].self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(entries)
    }
}
