import CodeParameters
import Units

/// The input to one layout computation.
public struct PlacementRequest: Sendable {
    public var roles: [NodeID: NodeRole]
    public var code: ErasureCode
    /// Most slots one zone may hold in one partition; nil: ceil(N / zones).
    public var zoneCap: Int?
    /// The previous assignment (256 lists of N node ids), to move as little as possible.
    public var previous: [[NodeID]]?

    public init(roles: [NodeID: NodeRole], code: ErasureCode, zoneCap: Int? = nil, previous: [[NodeID]]? = nil) {
        self.roles = roles
        self.code = code
        self.zoneCap = zoneCap
        self.previous = previous
    }
}

/// A computed assignment: slot i of partition p lives on `partitions[p][i]`.
public struct PlacementAssignment: Sendable, Equatable {
    public let code: ErasureCode
    public let zoneCap: Int
    /// Most slots one node may hold in one partition (1 unless there are fewer nodes than slots).
    public let nodeCap: Int
    public let partitions: [[NodeID]]
}

/// Computes assignments. Pure and deterministic.
///
/// Usable capacity is 256·k·s where s, the bytes each slot may hold, is the
/// minimum over nodes of capacity / slots. For a candidate s each node can
/// take L(n) = floor(capacity / s) slots. Because all 256 partitions face the
/// same constraints, the flow network source → partition → (partition, zone)
/// → node → sink is a tree per partition, and its max flow has a closed form:
///   256 · min(N, Σ_zone min(zoneCap, Σ_node∈zone min(nodeCap, L(n)/256)))
/// — integral by the integrality theorem. The solver bisects the finite set
/// of candidates s = capacity(n) / c with it to find the largest feasible s
/// (the exact optimum), then runs one min-cost flow at that s where keeping a
/// node's previous slot costs 0 and a new slot costs 1: the optimal layout
/// with the fewest moves.
public enum LayoutSolver {
    struct StorageNode {
        let id: NodeID
        let zone: Int
        let capacity: UInt64
    }

    public static func solve(_ request: PlacementRequest) throws(PlacementError) -> PlacementAssignment {
        let n = request.code.totalShards
        var nodes: [StorageNode] = []
        let zoneNames = Array(Set(request.roles.values.filter { !$0.isGateway }.map(\.zone))).sorted()
        let zoneIndex = Dictionary(uniqueKeysWithValues: zoneNames.enumerated().map { ($1, $0) })
        for (id, role) in request.roles.sorted(by: { $0.key < $1.key }) {
            guard let capacity = role.capacity else { continue }
            guard capacity.bytes > 0 else { throw .zeroCapacity(id) }
            nodes.append(StorageNode(id: id, zone: zoneIndex[role.zone]!, capacity: capacity.bytes))
        }
        guard !nodes.isEmpty else { throw .noStorageNodes }

        let zoneCap = request.zoneCap ?? (n + zoneNames.count - 1) / zoneNames.count
        guard zoneCap >= 1 else { throw .invalidZoneCap(zoneCap) }
        guard zoneCap * zoneNames.count >= n else {
            throw .zoneCapTooSmall(zoneCap: zoneCap, zones: zoneNames.count, slots: n)
        }
        let nodeCap = nodes.count >= n ? 1 : (n + nodes.count - 1) / nodes.count
        let perPartitionRoom = placeable(nodes: nodes, zones: zoneNames.count, zoneCap: zoneCap, nodeCap: nodeCap) { _ in
            nodeCap * PartitionID.count
        }
        guard perPartitionRoom >= n * PartitionID.count else {
            throw .notEnoughRoom(slotsPerPartition: n, placeable: perPartitionRoom / PartitionID.count, zoneCap: zoneCap)
        }

        let slotSize = optimalSlotSize(nodes: nodes, zones: zoneNames.count, zoneCap: zoneCap, nodeCap: nodeCap, slotsPerPartition: n)
        let limits = nodes.map { slotSize.slotsFitting(in: $0.capacity, cap: nodeCap * PartitionID.count) }
        let partitions = assign(nodes: nodes, limits: limits, zones: zoneNames.count, zoneCap: zoneCap,
                                nodeCap: nodeCap, slotsPerPartition: n, previous: request.previous)
        return PlacementAssignment(code: request.code, zoneCap: zoneCap, nodeCap: nodeCap, partitions: partitions)
    }

    /// Total slots (over all 256 partitions) the closed-form max flow places
    /// when node i may take `limit(i)` slots in all.
    static func placeable(nodes: [StorageNode], zones: Int, zoneCap: Int, nodeCap: Int, limit: (Int) -> Int) -> Int {
        var perZone = [Int](repeating: 0, count: zones)
        for (i, node) in nodes.enumerated() {
            perZone[node.zone] += min(nodeCap * PartitionID.count, limit(i))
        }
        return perZone.reduce(0) { $0 + min(zoneCap * PartitionID.count, $1) }
    }

    /// The largest s = capacity / c at which every partition's N slots fit.
    static func optimalSlotSize(nodes: [StorageNode], zones: Int, zoneCap: Int, nodeCap: Int, slotsPerPartition n: Int) -> SlotSize {
        let maxSlotsPerNode = nodeCap * PartitionID.count
        var candidates: [SlotSize] = []
        candidates.reserveCapacity(nodes.count * maxSlotsPerNode)
        for node in nodes {
            for c in 1...maxSlotsPerNode { candidates.append(SlotSize(capacity: node.capacity, slots: UInt64(c))) }
        }
        candidates.sort(by: >)
        func feasible(_ s: SlotSize) -> Bool {
            placeable(nodes: nodes, zones: zones, zoneCap: zoneCap, nodeCap: nodeCap) {
                s.slotsFitting(in: nodes[$0].capacity, cap: maxSlotsPerNode)
            } >= n * PartitionID.count
        }
        // Feasibility only grows as s shrinks; the smallest candidate lets
        // every node take its maximum, which the caller checked fits.
        var low = 0, high = candidates.count - 1
        while low < high {
            let mid = (low + high) / 2
            if feasible(candidates[mid]) { high = mid } else { low = mid + 1 }
        }
        return candidates[low]
    }

    static func assign(nodes: [StorageNode], limits: [Int], zones: Int, zoneCap: Int, nodeCap: Int,
                       slotsPerPartition n: Int, previous: [[NodeID]]?) -> [[NodeID]] {
        let partitionCount = PartitionID.count
        let nodesByZone = (0..<zones).map { z in nodes.indices.filter { nodes[$0].zone == z } }
        let nodeIndex = Dictionary(uniqueKeysWithValues: nodes.enumerated().map { ($1.id, $0) })

        // Vertices: source, sink, partitions, (partition, zone), nodes.
        let source = 0, sink = 1
        let partitionBase = 2
        let zoneBase = partitionBase + partitionCount
        let nodeBase = zoneBase + partitionCount * zones
        var graph = MinCostFlow(vertexCount: nodeBase + nodes.count)
        var slotEdges: [(partition: Int, node: Int, edge: Int)] = []
        for p in 0..<partitionCount {
            graph.addEdge(from: source, to: partitionBase + p, capacity: n)
            var heldBefore = [Int: Int]()
            if let previous, p < previous.count {
                for id in previous[p] { if let i = nodeIndex[id] { heldBefore[i, default: 0] += 1 } }
            }
            for z in 0..<zones where !nodesByZone[z].isEmpty {
                let pz = zoneBase + p * zones + z
                graph.addEdge(from: partitionBase + p, to: pz, capacity: zoneCap)
                for i in nodesByZone[z] {
                    let kept = min(heldBefore[i] ?? 0, nodeCap)
                    if kept > 0 { slotEdges.append((p, i, graph.addEdge(from: pz, to: nodeBase + i, capacity: kept, cost: 0))) }
                    if nodeCap > kept { slotEdges.append((p, i, graph.addEdge(from: pz, to: nodeBase + i, capacity: nodeCap - kept, cost: 1))) }
                }
            }
        }
        for (i, limit) in limits.enumerated() { graph.addEdge(from: nodeBase + i, to: sink, capacity: limit) }
        let placed = graph.solve(from: source, to: sink, limit: n * partitionCount)
        precondition(placed == n * partitionCount, "the closed-form bound promised a full assignment")

        var counts = [[Int: Int]](repeating: [:], count: partitionCount)
        for (p, i, edge) in slotEdges {
            let f = graph.flow(on: edge)
            if f > 0 { counts[p][i, default: 0] += f }
        }
        return (0..<partitionCount).map { p in
            orderSlots(counts: counts[p], nodes: nodes, previous: previous.flatMap { p < $0.count ? $0[p] : nil }, slots: n, partition: p)
        }
    }

    /// Keeps every node that stays in a partition at the slot it had, so its
    /// shards do not move; newcomers take the free slots in id order rotated
    /// by the partition's index. Which slot a node holds matters: the k data
    /// slots are what every healthy GET reads, and the metadata replicas are
    /// picked in slot order. In plain id order the same nodes held slots
    /// 0..<k of every partition of a fresh layout, served every read, and
    /// the others none; rotated, each node holds data slots in about k/N of
    /// the partitions it is in.
    static func orderSlots(counts: [Int: Int], nodes: [StorageNode], previous: [NodeID]?, slots n: Int, partition: Int) -> [NodeID] {
        var remaining = Dictionary(uniqueKeysWithValues: counts.map { (nodes[$0.key].id, $0.value) })
        var result = [NodeID?](repeating: nil, count: n)
        if let previous, previous.count == n {
            for (slot, id) in previous.enumerated() where (remaining[id] ?? 0) > 0 {
                result[slot] = id
                remaining[id]! -= 1
            }
        }
        let inIDOrder = remaining.keys.sorted().flatMap { id in Array(repeating: id, count: remaining[id]!) }
        let turn = inIDOrder.isEmpty ? 0 : partition % inIDOrder.count
        var newcomers = (inIDOrder[turn...] + inIDOrder[..<turn])[...]
        for slot in 0..<n where result[slot] == nil { result[slot] = newcomers.popFirst() }
        return result.map { $0! }
    }
}
