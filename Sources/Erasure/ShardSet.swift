/// A set of shard indices (0..<256) as a fixed 256-bit bitmap: a value type that
/// never allocates, so it can key the decode-table cache on every stripe.
public struct ShardSet: Hashable, Sendable, Sequence, ExpressibleByArrayLiteral {
    private var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0

    public init() {}
    public init(arrayLiteral elements: Int...) { for e in elements { insert(e) } }
    public init<S: Sequence>(_ indices: S) where S.Element == Int { for e in indices { insert(e) } }

    @inline(__always) private func word(_ i: Int) -> UInt64 {
        switch i >> 6 { case 0: w0; case 1: w1; case 2: w2; default: w3 }
    }

    public func contains(_ index: Int) -> Bool {
        guard (0..<256).contains(index) else { return false }
        return word(index) & (1 << UInt64(index & 63)) != 0
    }

    public mutating func insert(_ index: Int) {
        precondition((0..<256).contains(index), "shard index \(index) out of range")
        let bit: UInt64 = 1 << UInt64(index & 63)
        switch index >> 6 { case 0: w0 |= bit; case 1: w1 |= bit; case 2: w2 |= bit; default: w3 |= bit }
    }

    public mutating func remove(_ index: Int) {
        guard (0..<256).contains(index) else { return }
        let bit: UInt64 = ~(1 << UInt64(index & 63))
        switch index >> 6 { case 0: w0 &= bit; case 1: w1 &= bit; case 2: w2 &= bit; default: w3 &= bit }
    }

    public var count: Int { w0.nonzeroBitCount + w1.nonzeroBitCount + w2.nonzeroBitCount + w3.nonzeroBitCount }
    public var isEmpty: Bool { (w0 | w1 | w2 | w3) == 0 }
    /// The largest index in the set, if any.
    public var max: Int? {
        if w3 != 0 { return 255 - w3.leadingZeroBitCount }
        if w2 != 0 { return 191 - w2.leadingZeroBitCount }
        if w1 != 0 { return 127 - w1.leadingZeroBitCount }
        if w0 != 0 { return 63 - w0.leadingZeroBitCount }
        return nil
    }

    /// A cheap one-word digest for hashing (the full words decide equality).
    var fingerprint: UInt64 {
        (w0 &* 0x9E37_79B9_7F4A_7C15) ^ (w1 &* 0xC2B2_AE3D_27D4_EB4F) ^ (w2 &* 0x1656_67B1_9E37_79F9) ^ (w3 &* 0x85EB_CA77_C2B2_AE63)
    }

    public func union(_ other: ShardSet) -> ShardSet {
        var result = self
        result.w0 |= other.w0
        result.w1 |= other.w1
        result.w2 |= other.w2
        result.w3 |= other.w3
        return result
    }

    public func isSubset(of other: ShardSet) -> Bool {
        w0 & ~other.w0 == 0 && w1 & ~other.w1 == 0 && w2 & ~other.w2 == 0 && w3 & ~other.w3 == 0
    }

    public struct Iterator: IteratorProtocol {
        fileprivate var set: ShardSet
        fileprivate var position = 0
        public mutating func next() -> Int? {
            while position < 256 {
                let w = set.word(position) >> UInt64(position & 63)
                if w == 0 { position = (position | 63) + 1; continue }
                let found = position + w.trailingZeroBitCount
                position = found + 1
                return found
            }
            return nil
        }
    }
    public func makeIterator() -> Iterator { Iterator(set: self) }
}
