import CodeParameters
@testable import Placement
import Units

typealias SeededRandom = SplitMix64

func role(_ zone: String, _ capacity: String?) -> NodeRole {
    NodeRole(zone: ZoneName(zone), capacity: capacity.map { try! ByteCount(parsing: $0) })
}

func code(_ k: Int, _ m: Int) -> ErasureCode { try! ErasureCode(dataShards: k, parityShards: m) }

/// A random cluster: `nodes` storage nodes over `zones` zones (every zone
/// used), capacities from 100 GB to 20 TB.
func randomCluster(nodes: Int, zones: Int, random: inout SeededRandom) -> [NodeID: NodeRole] {
    var roles: [NodeID: NodeRole] = [:]
    for i in 0..<nodes {
        let zone = i < zones ? i : Int.random(in: 0..<zones, using: &random)
        let capacity = UInt64.random(in: 100_000_000_000...20_000_000_000_000, using: &random)
        roles[NodeID("node-\(i)")] = NodeRole(zone: ZoneName("z\(zone)"), capacity: ByteCount(bytes: capacity))
    }
    return roles
}

/// Plain Edmonds-Karp max flow on an explicit graph: the test's own method,
/// sharing no code with the solver.
struct ReferenceFlow {
    var capacity: [[Int: Int]]
    init(vertices: Int) { capacity = Array(repeating: [:], count: vertices) }
    mutating func add(_ u: Int, _ v: Int, _ c: Int) {
        capacity[u][v, default: 0] += c
        capacity[v][u, default: 0] += 0
    }
    mutating func maxFlow(_ s: Int, _ t: Int) -> Int {
        var total = 0
        while true {
            var parent = [Int](repeating: -1, count: capacity.count)
            parent[s] = s
            var queue = [s], head = 0
            while head < queue.count, parent[t] < 0 {
                let u = queue[head]; head += 1
                for (v, c) in capacity[u] where c > 0 && parent[v] < 0 { parent[v] = u; queue.append(v) }
            }
            guard parent[t] >= 0 else { return total }
            var amount = Int.max, v = t
            while v != s { amount = min(amount, capacity[parent[v]][v]!); v = parent[v] }
            v = t
            while v != s { capacity[parent[v]][v]! -= amount; capacity[v][parent[v]]! += amount; v = parent[v] }
            total += amount
        }
    }
}

/// Whether every partition's N slots fit when node n may hold
/// floor(capacity(n) · slots / capacity) slots in all: the full network.
func referenceFeasible(roles: [NodeID: NodeRole], code: ErasureCode, zoneCap: Int, nodeCap: Int,
                       slotCapacity: UInt64, slotCount: UInt64) -> Bool {
    let nodes = roles.filter { !$0.value.isGateway }.sorted { $0.key < $1.key }
    let zones = Array(Set(nodes.map(\.value.zone))).sorted()
    let n = code.totalShards
    let source = 0, sink = 1, pBase = 2, zBase = pBase + 256, nBase = zBase + 256 * zones.count
    var flow = ReferenceFlow(vertices: nBase + nodes.count)
    for p in 0..<256 {
        flow.add(source, pBase + p, n)
        for (z, zone) in zones.enumerated() {
            flow.add(pBase + p, zBase + p * zones.count + z, zoneCap)
            for (i, node) in nodes.enumerated() where node.value.zone == zone {
                flow.add(zBase + p * zones.count + z, nBase + i, nodeCap)
            }
        }
    }
    for (i, node) in nodes.enumerated() {
        let limit = node.value.capacity!.bytes.multipliedFullWidth(by: slotCount)
        let slots = limit.high >= slotCapacity ? 256 * nodeCap : Int(min(UInt64(256 * nodeCap), slotCapacity.dividingFullWidth(limit).quotient))
        flow.add(nBase + i, sink, slots)
    }
    return flow.maxFlow(source, sink) == 256 * n
}
