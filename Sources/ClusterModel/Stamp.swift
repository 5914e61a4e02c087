/// A hybrid logical timestamp: wall-clock milliseconds, a counter for events
/// within one millisecond, and the writing node as the final tie-break. Every
/// replicated value carries one; the larger stamp wins a merge.
public struct Stamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let millis: UInt64
    public let counter: UInt32
    public let node: String

    public init(millis: UInt64, counter: UInt32, node: String) {
        self.millis = millis
        self.counter = counter
        self.node = node
    }

    public static let zero = Stamp(millis: 0, counter: 0, node: "")

    public static func < (lhs: Stamp, rhs: Stamp) -> Bool {
        (lhs.millis, lhs.counter, lhs.node) < (rhs.millis, rhs.counter, rhs.node)
    }

    public var description: String { "\(millis).\(counter)@\(node.prefix(8))" }

    /// The lowest stamp above this one: for an edit of a row's bookkeeping
    /// (its tags, where its shards are) that must outrank the row it edits
    /// and lose to any write that read that row, whose stamp is higher.
    public var justAbove: Stamp { Stamp(millis: millis, counter: counter &+ 1, node: "") }
}

/// The clock that issues stamps. A new stamp is above every stamp this node
/// has issued or observed, so a node whose wall clock is behind can never
/// write a value that loses to the one it replaces.
public struct HybridClock: Sendable {
    public let node: String
    public private(set) var last: Stamp

    public init(node: String) {
        self.node = node
        self.last = Stamp(millis: 0, counter: 0, node: node)
    }

    public mutating func next(wallMillis: UInt64) -> Stamp {
        if wallMillis > last.millis {
            last = Stamp(millis: wallMillis, counter: 0, node: node)
        } else {
            last = Stamp(millis: last.millis, counter: last.counter &+ 1, node: node)
        }
        return last
    }

    /// Moves the clock past a stamp seen from elsewhere.
    public mutating func observe(_ stamp: Stamp) {
        if stamp.millis > last.millis || (stamp.millis == last.millis && stamp.counter > last.counter) {
            last = Stamp(millis: stamp.millis, counter: stamp.counter, node: node)
        }
    }
}
