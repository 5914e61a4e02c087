import Benchmark
import Erasure
import Placement
import Units

// One iteration = one full layout computation (Layout.compute: candidate
// search, min-cost flow, slot ordering). Targets (issue 3, release build):
// ≤ 100 ms for 20 nodes, ≤ 2 s for 1000 nodes in 20 zones with 12+4.

func cluster(nodes: Int, zones: Int, seed: UInt64) -> [NodeID: NodeRole] {
    var random = SplitMix64(seed: seed)
    var roles: [NodeID: NodeRole] = [:]
    for i in 0..<nodes {
        let capacity = UInt64.random(in: 100...20_000, using: &random) * 1_000_000_000
        roles[NodeID("node-\(i)")] = NodeRole(zone: ZoneName("dc\(i % zones)"), capacity: ByteCount(bytes: capacity))
    }
    return roles
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal],
        timeUnits: .milliseconds,
        warmupIterations: 1,
        maxDuration: .seconds(10),
        maxIterations: 30
    )

    for (nodes, zones, k, m) in [(20, 4, 4, 2), (1000, 20, 12, 4)] {
        let code = try! ErasureCode(dataShards: k, parityShards: m)
        let roles = cluster(nodes: nodes, zones: zones, seed: UInt64(nodes))
        Benchmark("layout \(nodes) nodes \(zones) zones \(k)+\(m)") { b in
            for _ in b.scaledIterations {
                blackHole(try! Layout.compute(version: LayoutVersion(1), roles: roles, code: code, zoneCap: nil, previous: nil))
            }
        }
        // A change against a previous layout: one node added.
        let previous = try! Layout.compute(version: LayoutVersion(1), roles: roles, code: code, zoneCap: nil, previous: nil)
        var grown = roles
        grown[NodeID("added")] = NodeRole(zone: ZoneName("dc0"), capacity: ByteCount(bytes: 10_000_000_000_000))
        Benchmark("relayout +1 node \(nodes) nodes \(zones) zones \(k)+\(m)") { b in
            for _ in b.scaledIterations {
                blackHole(try! Layout.compute(version: LayoutVersion(2), roles: grown, code: code, zoneCap: nil, previous: previous))
            }
        }
    }
}
