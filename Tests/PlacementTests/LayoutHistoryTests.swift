import CodeParameters
import Testing
@testable import Placement
import Units

@Suite("Layout workflow")
struct LayoutHistoryTests {
    @Test("stage, preview, apply with the next version, revert, history")
    func workflow() throws {
        var history = LayoutHistory()
        #expect(history.currentVersion == .none)
        #expect(throws: PlacementError.nothingStaged) { try history.apply(version: LayoutVersion(1)) }
        history.stageAssign(NodeID("a"), role: role("dc1", "10G"))
        #expect(throws: PlacementError.wrongVersion(given: LayoutVersion(2), expected: LayoutVersion(1))) {
            try history.apply(version: LayoutVersion(2))
        }
        let preview = try history.preview()
        #expect(preview.version == LayoutVersion(1))
        try history.apply(version: LayoutVersion(1))
        #expect(history.currentVersion == LayoutVersion(1))
        #expect(!history.hasStagedChanges)
        #expect(throws: PlacementError.wrongVersion(given: LayoutVersion(1), expected: LayoutVersion(2))) {
            try history.apply(version: LayoutVersion(1))
        }
        #expect(throws: PlacementError.codeFixedAfterFirstApply) { try history.stageCode(code(8, 3)) }

        history.stageAssign(NodeID("b"), role: role("dc2", "10G"))
        try history.revert()
        #expect(history.proposedRoles.count == 1)
        #expect(throws: PlacementError.nothingStaged) { try history.revert() }

        history.stageAssign(NodeID("b"), role: role("dc2", "10G"))
        try history.stageRemove(NodeID("a"))
        try history.apply(version: LayoutVersion(2))
        #expect(history.applied.map(\.version) == [LayoutVersion(1), LayoutVersion(2)])
        #expect(Set(history.current!.partitions.flatMap { $0 }) == [NodeID("b")])
        #expect(throws: PlacementError.unknownNode(NodeID("zz"))) { try history.stageRemove(NodeID("zz")) }
        #expect(throws: PlacementError.invalidZoneCap(0)) { try history.stageZoneCap(0) }
    }

    @Test("replace hands a node's role and slots to a new node")
    func replace() throws {
        var history = LayoutHistory(code: code(2, 1))
        for (i, zone) in ["a", "b", "c"].enumerated() { history.stageAssign(NodeID("n\(i)"), role: role(zone, "1T")) }
        let v1 = try history.apply(version: LayoutVersion(1))
        try history.stageReplace(NodeID("n1"), with: NodeID("fresh"))
        #expect(history.proposedRoles[NodeID("fresh")] == role("b", "1T"))
        #expect(history.proposedRoles[NodeID("n1")] == nil)
        let v2 = try history.apply(version: LayoutVersion(2))
        // Exactly the old node's slots move, each to the same position.
        #expect(v2.slotsMoved(from: v1.partitions) == v1.slotCounts[NodeID("n1")])
        for (p, list) in v1.partitions.enumerated() {
            for (i, id) in list.enumerated() {
                #expect(v2.partitions[p][i] == (id == NodeID("n1") ? NodeID("fresh") : id))
            }
        }
        #expect(throws: PlacementError.unknownNode(NodeID("ghost"))) { try history.stageReplace(NodeID("ghost"), with: NodeID("x")) }
    }

    @Test("the erasure code can be set before the first apply")
    func codeBeforeApply() throws {
        var history = LayoutHistory()
        try history.stageCode(code(1, 2))
        for (i, zone) in ["a", "b", "c"].enumerated() { history.stageAssign(NodeID("n\(i)"), role: role(zone, "1T")) }
        let layout = try history.apply(version: LayoutVersion(1))
        #expect(layout.code == code(1, 2))
        #expect(layout.partitions.allSatisfy { $0.count == 3 })
    }
}
