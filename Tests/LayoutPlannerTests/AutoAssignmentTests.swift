import LayoutPlanner
import Testing

struct AutoAssignmentTests {
    @Test func podOrdinalsPickZonesRoundRobin() {
        #expect(AutoAssignment.ordinal(of: "shale-12") == 12)
        #expect(AutoAssignment.ordinal(of: "shale-3.shale-headless.default.svc.cluster.local") == 3)
        #expect(AutoAssignment.ordinal(of: "shale") == nil && AutoAssignment.ordinal(of: "shale-") == nil && AutoAssignment.ordinal(of: "a-b1") == nil)
        let pods = (0..<6).map { AutoAssignment.Node(id: "id\(5 - $0)", hostname: "shale-\($0)") }
        let zones = AutoAssignment.zones(for: pods, zones: ["dc1", "dc2", "dc3"])
        #expect((0..<6).map { zones["id\(5 - $0)"] } == ["dc1", "dc2", "dc3", "dc1", "dc2", "dc3"])
        // A scale-up assigns only the new pods, and they continue the pattern.
        let added = AutoAssignment.zones(for: [AutoAssignment.Node(id: "x", hostname: "shale-7")], zones: ["dc1", "dc2", "dc3"])
        #expect(added == ["x": "dc2"])
        // Hostnames without ordinals (bare metal): id order, round-robin.
        let plain = AutoAssignment.zones(for: [.init(id: "b", hostname: "host"), .init(id: "a", hostname: "host")], zones: ["z1", "z2"])
        #expect(plain == ["a": "z1", "b": "z2"])
        #expect(AutoAssignment.zones(for: pods, zones: []).isEmpty)
    }
}
