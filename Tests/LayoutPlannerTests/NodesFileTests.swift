import Foundation
import LayoutPlanner
import Placement
import Testing
import Units

@Suite("Nodes file and planner")
struct NodesFileTests {
    static let six = (["dc1", "dc2", "dc3"].flatMap { z in (1...2).map { "[[node]]\nid = \"\(z)-\($0)\"\nzone = \"\(z)\"\ncapacity = \"10T\"\n" } }).joined()
        + "[[node]]\nid = \"gw\"\nzone = \"dc1\"\ngateway = true\ntags = [\"edge\"]\n"

    @Test("reads nodes, gateways and tags")
    func reads() throws {
        let file = try NodesFile(toml: Self.six)
        #expect(file.roles.count == 7)
        #expect(file.roles[NodeID("gw")]?.isGateway == true)
        #expect(file.roles[NodeID("gw")]?.tags == ["edge"])
        #expect(file.roles[NodeID("dc2-1")]?.capacity == ByteCount(bytes: 10_000_000_000_000))
        let bytes = try NodesFile(toml: "[[node]]\nid = \"a\"\nzone = \"z\"\ncapacity = 4096\n")
        #expect(bytes.roles[NodeID("a")]?.capacity == ByteCount(bytes: 4096))
    }

    @Test("bad files get errors that name the problem")
    func rejects() {
        func error(_ toml: String) -> NodesFile.Error? {
            do { _ = try NodesFile(toml: toml); return nil } catch { return error }
        }
        #expect(error("") == .noNodes)
        #expect(error("title = \"x\"") == .unknownTopLevelKey("title"))
        #expect(error("[[node]]\nzone = \"z\"\n") == .missingKey(key: "id", node: 0))
        #expect(error("[[node]]\nid = \"a\"\n") == .missingKey(key: "zone", node: 0))
        #expect(error("[[node]]\nid = \"a\"\nzone = \"z\"\ncolour = 1\n") == .unknownKey(key: "colour", node: 0))
        #expect(error("[[node]]\nid = 5\nzone = \"z\"\n") == .wrongType(key: "id", node: 0, expected: "a non-empty string"))
        #expect(error("[[node]]\nid = \"a\"\nzone = \"z\"\ncapacity = \"10T\"\ngateway = true\n") == .gatewayWithCapacity(node: "a"))
        #expect(error("[[node]]\nid = \"a\"\nzone = \"z\"\ncapacity = \"0\"\n") == .zeroCapacity(node: "a"))
        #expect(error("[[node]]\nid = \"a\"\nzone = \"z\"\n[[node]]\nid = \"a\"\nzone = \"y\"\n") == .duplicateID("a"))
        if case .badCapacity(let node, let reason)? = error("[[node]]\nid = \"a\"\nzone = \"z\"\ncapacity = \"ten\"\n") {
            #expect(node == "a" && reason.contains("not a size"))
        } else { Issue.record("bad capacity not reported") }
        if case .syntax(let line, _, _)? = error("[[node]]\nid = \"a\n") { #expect(line == 2) } else { Issue.record("syntax error not reported") }
    }

    @Test("plan, JSON round trip, and moves against a previous plan")
    func planAndPrevious() throws {
        let first = try LayoutPlanner.plan(nodes: try NodesFile(toml: Self.six), code: nil, zoneCap: nil, previous: nil)
        let document = first.document
        #expect(document.version == 1)
        #expect(document.ec.k == 4 && document.ec.m == 2)
        #expect(document.partitions.count == 256 && document.partitions.allSatisfy { $0.count == 6 })
        #expect(document.usableCapacityBytes == 40_000_000_000_000)
        #expect(document.nodeTolerance == 2 && document.zoneTolerance == 1)
        #expect(document.slotsMoved == 1536)
        let json = try JSONEncoder().encode(document)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(Set(object.keys) == ["version", "ec", "zone_cap", "partitions", "nodes", "usable_capacity_bytes", "node_tolerance", "zone_tolerance", "slots_moved"])
        let gateway = (object["nodes"] as? [[String: Any]])?.first { $0["id"] as? String == "gw" }
        #expect(gateway?["capacity_bytes"] is NSNull)
        let decoded = try JSONDecoder().decode(LayoutDocument.self, from: json)
        #expect(decoded == document)

        let again = try LayoutPlanner.plan(nodes: try NodesFile(toml: Self.six), code: nil, zoneCap: nil, previous: decoded)
        #expect(again.document.version == 2)
        #expect(again.document.slotsMoved == 0)

        let grown = Self.six + "[[node]]\nid = \"dc4-1\"\nzone = \"dc4\"\ncapacity = \"10T\"\n"
        let third = try LayoutPlanner.plan(nodes: try NodesFile(toml: grown), code: nil, zoneCap: nil, previous: decoded)
        let received = third.document.nodes.first { $0.id == "dc4-1" }!.slots
        #expect(received > 0)
        #expect(Double(third.document.slotsMoved) <= 1.1 * Double(received))
    }

    @Test("a previous plan that does not fit is refused")
    func badPrevious() throws {
        let document = try LayoutPlanner.plan(nodes: try NodesFile(toml: Self.six), code: nil, zoneCap: nil, previous: nil).document
        var object = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(document)) as? [String: Any])
        object["nodes"] = (object["nodes"] as? [[String: Any]])?.filter { $0["id"] as? String != "dc1-1" }
        let missingNode = try JSONDecoder().decode(LayoutDocument.self, from: try JSONSerialization.data(withJSONObject: object))
        #expect(throws: PlacementError.previousLayoutMismatch("node dc1-1 holds slots but is not in its node list")) { try missingNode.layout() }
        object["partitions"] = Array(repeating: ["a"], count: 3)
        let short = try JSONDecoder().decode(LayoutDocument.self, from: try JSONSerialization.data(withJSONObject: object))
        #expect(throws: PlacementError.previousLayoutMismatch("it has 3 partitions, not 256")) { try short.layout() }
    }
}
