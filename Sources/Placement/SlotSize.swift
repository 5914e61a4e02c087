/// Bytes per slot as an exact fraction capacity / slots, so comparing two
/// candidates and deriving node limits never rounds.
struct SlotSize: Comparable, Sendable {
    let capacity: UInt64
    let slots: UInt64

    static func < (a: SlotSize, b: SlotSize) -> Bool {
        // a.capacity / a.slots < b.capacity / b.slots, in 128 bits.
        let left = a.capacity.multipliedFullWidth(by: b.slots)
        let right = b.capacity.multipliedFullWidth(by: a.slots)
        return (left.high, left.low) < (right.high, right.low)
    }

    static func == (a: SlotSize, b: SlotSize) -> Bool { !(a < b) && !(b < a) }

    /// How many whole slots of this size fit in `bytes`, capped at `cap`.
    func slotsFitting(in bytes: UInt64, cap: Int) -> Int {
        // floor(bytes * slots / capacity)
        let product = bytes.multipliedFullWidth(by: slots)
        if product.high >= capacity { return cap }
        let quotient = capacity.dividingFullWidth(product).quotient
        return quotient >= UInt64(cap) ? cap : Int(quotient)
    }

    /// 256 · k · capacity / slots, the usable bytes of a layout whose
    /// bottleneck node stores `capacity` bytes in `slots` slots.
    func usableBytes(dataShards k: Int) -> UInt64 {
        let numerator = capacity.multipliedFullWidth(by: UInt64(PartitionID.count * k))
        if numerator.high >= slots { return .max }
        return slots.dividingFullWidth(numerator).quotient
    }
}
