import CodeParameters
import Units

/// The stable JSON form of a layout (`shale layout plan --json`, `--output`,
/// `--previous`). Documented in Docs/operations.md; scripts depend on it.
public struct LayoutDocument: Codable, Sendable, Equatable {
    public struct Code: Codable, Sendable, Equatable { public let k: Int; public let m: Int }
    public struct Node: Codable, Sendable, Equatable {
        public let id: String
        public let zone: String
        public let capacityBytes: UInt64?
        public let slots: Int
        enum CodingKeys: String, CodingKey { case id, zone, capacityBytes = "capacity_bytes", slots }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(zone, forKey: .zone)
            try c.encode(capacityBytes, forKey: .capacityBytes)  // null for a gateway, not omitted
            try c.encode(slots, forKey: .slots)
        }
    }

    public let version: UInt64
    public let ec: Code
    public let zoneCap: Int
    public let partitions: [[String]]
    public let nodes: [Node]
    public let usableCapacityBytes: UInt64
    public let nodeTolerance: Int
    public let zoneTolerance: Int
    public let slotsMoved: Int

    enum CodingKeys: String, CodingKey {
        case version, ec, zoneCap = "zone_cap", partitions, nodes
        case usableCapacityBytes = "usable_capacity_bytes", nodeTolerance = "node_tolerance"
        case zoneTolerance = "zone_tolerance", slotsMoved = "slots_moved"
    }

    public init(_ report: LayoutReport) {
        let layout = report.layout
        version = layout.version.rawValue
        ec = Code(k: layout.code.dataShards, m: layout.code.parityShards)
        zoneCap = layout.zoneCap
        partitions = layout.partitions.map { $0.map(\.rawValue) }
        nodes = report.nodes.map { Node(id: $0.id.rawValue, zone: $0.role.zone.rawValue, capacityBytes: $0.role.capacity?.bytes, slots: $0.slots) }
        usableCapacityBytes = report.usableCapacity.bytes
        nodeTolerance = report.nodeTolerance
        zoneTolerance = report.zoneTolerance
        slotsMoved = report.slotsMoved
    }

    /// Reads a document back as a layout, checking it is whole.
    public func layout() throws(PlacementError) -> Layout {
        let code: ErasureCode
        do { code = try ErasureCode(dataShards: ec.k, parityShards: ec.m) } catch { throw .invalidCode(error) }
        guard partitions.count == PartitionID.count else {
            throw .previousLayoutMismatch("it has \(partitions.count) partitions, not \(PartitionID.count)")
        }
        var roles: [NodeID: NodeRole] = [:]
        for node in nodes {
            let id = NodeID(node.id)
            guard roles[id] == nil else { throw .duplicateNode(id) }
            roles[id] = NodeRole(zone: ZoneName(node.zone), capacity: node.capacityBytes.map { ByteCount(bytes: $0) })
        }
        for list in partitions {
            guard list.count == code.totalShards else {
                throw .previousLayoutMismatch("a partition lists \(list.count) nodes but \(code) has \(code.totalShards) slots")
            }
            for id in list where roles[NodeID(id)] == nil {
                throw .previousLayoutMismatch("node \(id) holds slots but is not in its node list")
            }
        }
        return Layout(version: LayoutVersion(version), code: code, zoneCap: zoneCap, roles: roles,
                      partitions: partitions.map { $0.map(NodeID.init) })
    }
}
