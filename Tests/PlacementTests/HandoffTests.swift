import CodeParameters
@testable import Placement
import Testing
import Units

@Suite struct HandoffTests {
    /// Nine nodes, three zones, 4+2: a partition whose owners are a0 a1 b0 b1 c0 c1.
    let roles: [NodeID: NodeRole] = Dictionary(uniqueKeysWithValues: ["a", "b", "c"].flatMap { zone in
        (0..<3).map { (NodeID("\(zone)\($0)"), role(zone, "1T")) }
    })
    let owners = ["a0", "a1", "b0", "b1", "c0", "c1"].map(NodeID.init)
    var layout: Layout {
        Layout(version: LayoutVersion(1), code: code(4, 2), zoneCap: 2, roles: roles, partitions: Array(repeating: owners, count: 256))
    }

    @Test func absentOwnersGoToNodesHoldingNothingOfTheStripeInOtherZones() {
        let down: Set<NodeID> = [NodeID("c0"), NodeID("c1"), NodeID("c2")]
        let chosen = layout.handoffTargets(owners: owners, away: [4, 5], partition: PartitionID(7), isReachable: { !down.contains($0) })
        #expect(Set(chosen.keys) == [4, 5])
        #expect(Set(chosen.values) == [NodeID("a2"), NodeID("b2")], "the spare nodes of the zones that are up")
        // Deterministic: the same question, the same answer.
        #expect(chosen == layout.handoffTargets(owners: owners, away: [4, 5], partition: PartitionID(7), isReachable: { !down.contains($0) }))
    }

    @Test func withNoSpareNodeTheLeastLoadedDoubleUp() {
        // Six nodes only: each holds one slot; a zone out leaves four, two of which take a second shard.
        let six = roles.filter { owners.contains($0.key) }
        let small = Layout(version: LayoutVersion(1), code: code(4, 2), zoneCap: 2, roles: six, partitions: Array(repeating: owners, count: 256))
        let down: Set<NodeID> = [NodeID("c0"), NodeID("c1")]
        let chosen = small.handoffTargets(owners: owners, away: [4, 5], partition: PartitionID(3), isReachable: { !down.contains($0) })
        #expect(chosen.count == 2 && Set(chosen.values).count == 2, "two different nodes take one extra shard each: \(chosen)")
        #expect(chosen.values.allSatisfy { !down.contains($0) })
        // Nothing reachable: nothing chosen.
        #expect(small.handoffTargets(owners: owners, away: [0], partition: PartitionID(3), isReachable: { _ in false }).isEmpty)
    }

    @Test func writesSpreadOverPartitions() {
        let down: Set<NodeID> = [NodeID("a0")]
        var used: Set<NodeID> = []
        for p in 0..<32 {
            let chosen = layout.handoffTargets(owners: owners, away: [0], partition: PartitionID(UInt8(p)), isReachable: { !down.contains($0) })
            used.formUnion(chosen.values)
        }
        #expect(used == [NodeID("b2"), NodeID("c2")], "the nodes holding nothing of the stripe outside zone a share the load")
    }
}
