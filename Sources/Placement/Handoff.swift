/// Where shards go while their owners are away: a write during an outage
/// puts the shard of each unreachable owner on a reachable storage node
/// instead (a *handoff*), so it is acknowledged with all k + m shards, and
/// a worker moves each one home when its owner is back.
extension Layout {
    /// The handoff node of each slot in `away` (slots whose owner cannot be
    /// reached), chosen among the reachable storage nodes of this layout:
    /// first those holding no shard of the stripe yet, then those holding
    /// the fewest; among equals, a zone other than the absent owner's (its
    /// zone may be the one that is out), then an order fixed by the
    /// partition and slot, so that writes spread and the choice is
    /// deterministic. Slots with no candidate at all are left out.
    public func handoffTargets(owners: [NodeID], away: [Int], partition: PartitionID, isReachable: (NodeID) -> Bool) -> [Int: NodeID] {
        let candidates = roles.filter { $0.value.capacity != nil && isReachable($0.key) }.map(\.key).sorted()
        guard !candidates.isEmpty else { return [:] }
        let awaySet = Set(away)
        var held: [NodeID: Int] = [:]
        for (slot, owner) in owners.enumerated() where !awaySet.contains(slot) { held[owner, default: 0] += 1 }
        var chosen: [Int: NodeID] = [:]
        for slot in away.sorted() where slot < owners.count {
            let absentZone = roles[owners[slot]]?.zone
            let best = candidates.min { a, b in
                let ka = (held[a, default: 0], roles[a]?.zone == absentZone ? 1 : 0, Self.spread(a, partition: partition, slot: slot))
                let kb = (held[b, default: 0], roles[b]?.zone == absentZone ? 1 : 0, Self.spread(b, partition: partition, slot: slot))
                return ka < kb
            }
            guard let best else { continue }
            chosen[slot] = best
            held[best, default: 0] += 1
        }
        return chosen
    }

    /// A stable pseudo-random order of nodes per (partition, slot): FNV-1a
    /// over the three, then SplitMix64's finalizer so that every input bit
    /// reaches the high bits the order compares first.
    static func spread(_ node: NodeID, partition: PartitionID, slot: Int) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in [UInt8(partition.index), UInt8(truncatingIfNeeded: slot)] + Array(node.rawValue.utf8) {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        hash = (hash ^ (hash >> 30)) &* 0xBF58_476D_1CE4_E5B9
        hash = (hash ^ (hash >> 27)) &* 0x94D0_49BB_1331_11EB
        return hash ^ (hash >> 31)
    }
}
