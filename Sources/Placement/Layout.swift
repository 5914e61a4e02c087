import CodeParameters
import Units

/// An applied (or proposed) cluster layout: who stores what.
public struct Layout: Sendable, Equatable {
    public let version: LayoutVersion
    public let code: ErasureCode
    public let zoneCap: Int
    public let roles: [NodeID: NodeRole]
    /// 256 ordered lists of N = k + m node ids: slot i holds shard i.
    public let partitions: [[NodeID]]

    public init(version: LayoutVersion, code: ErasureCode, zoneCap: Int, roles: [NodeID: NodeRole], partitions: [[NodeID]]) {
        self.version = version
        self.code = code
        self.zoneCap = zoneCap
        self.roles = roles
        self.partitions = partitions
    }

    /// The nodes holding partition `p`, slot by slot.
    public func owners(of partition: PartitionID) -> [NodeID] { partitions[partition.index] }

    /// Slots each node holds across all partitions.
    public var slotCounts: [NodeID: Int] {
        var counts: [NodeID: Int] = [:]
        for list in partitions { for id in list { counts[id, default: 0] += 1 } }
        return counts
    }

    /// Bytes of user data the cluster holds when its fullest node is full:
    /// 256 · k · min over storage nodes of capacity / slots held.
    public var usableCapacity: ByteCount {
        let counts = slotCounts
        var best: SlotSize?
        for (id, slots) in counts where slots > 0 {
            guard let capacity = roles[id]?.capacity?.bytes else { continue }
            let size = SlotSize(capacity: capacity, slots: UInt64(slots))
            if best == nil || size < best! { best = size }
        }
        return ByteCount(bytes: best?.usableBytes(dataShards: code.dataShards) ?? 0)
    }

    /// How many arbitrary nodes can fail with every partition keeping ≥ k slots.
    public var nodeTolerance: Int {
        tolerance { id in id.rawValue }
    }

    /// How many whole zones can fail with every partition keeping ≥ k slots.
    public var zoneTolerance: Int {
        tolerance { id in roles[id]?.zone.rawValue ?? "" }
    }

    /// Per partition: the largest t such that the t domains holding the most
    /// of its slots hold at most m of them; the minimum over partitions.
    private func tolerance(domain: (NodeID) -> String) -> Int {
        guard !partitions.isEmpty else { return 0 }
        var result = Int.max
        for list in partitions {
            var perDomain: [String: Int] = [:]
            for id in list { perDomain[domain(id), default: 0] += 1 }
            var lost = 0, t = 0
            for count in perDomain.values.sorted(by: >) {
                guard lost + count <= code.parityShards else { break }
                lost += count
                t += 1
            }
            result = min(result, t)
        }
        return result
    }

    /// Slots whose node differs from `other`'s at the same position.
    public func slotsMoved(from other: [[NodeID]]?) -> Int {
        guard let other else { return partitions.reduce(0) { $0 + $1.count } }
        var moved = 0
        for (p, list) in partitions.enumerated() {
            for (i, id) in list.enumerated() where p >= other.count || i >= other[p].count || other[p][i] != id {
                moved += 1
            }
        }
        return moved
    }

    /// Computes a layout for `roles` with the solver.
    public static func compute(version: LayoutVersion, roles: [NodeID: NodeRole], code: ErasureCode,
                               zoneCap: Int?, previous: Layout?) throws(PlacementError) -> Layout {
        let previousPartitions = previous.flatMap { $0.code == code ? $0.partitions : nil }
        let assignment = try LayoutSolver.solve(PlacementRequest(roles: roles, code: code, zoneCap: zoneCap, previous: previousPartitions))
        return Layout(version: version, code: code, zoneCap: assignment.zoneCap, roles: roles, partitions: assignment.partitions)
    }
}
