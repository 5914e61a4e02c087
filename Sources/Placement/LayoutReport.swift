import Units

/// The figures an operator reads before applying a layout, and their
/// rendering in the shape of the guide's `layout show`.
public struct LayoutReport: Sendable {
    public struct NodeLine: Sendable, Equatable {
        public let id: NodeID
        public let role: NodeRole
        public let slots: Int
        /// Share of all slots of all partitions, 0...1.
        public let share: Double
        /// Fraction of the node's capacity used when the cluster is full, 0...1.
        public let usedAtFull: Double?
    }

    public let layout: Layout
    public let nodes: [NodeLine]
    public let usableCapacity: ByteCount
    public let nodeTolerance: Int
    public let zoneTolerance: Int
    /// Slots moved from the previous version (every slot for a first layout).
    public let slotsMoved: Int
    public let previousVersion: LayoutVersion?

    public init(layout: Layout, previous: Layout?) {
        self.init(layout: layout, previousPartitions: previous?.partitions, previousVersion: previous?.version)
    }

    public init(layout: Layout, previousPartitions: [[NodeID]]?, previousVersion: LayoutVersion?) {
        self.layout = layout
        self.previousVersion = previousVersion
        let counts = layout.slotCounts
        let totalSlots = max(1, layout.partitions.reduce(0) { $0 + $1.count })
        let usable = layout.usableCapacity
        usableCapacity = usable
        // Bytes one slot holds when the cluster is full.
        let slotBytes = Double(usable.bytes) / Double(PartitionID.count * layout.code.dataShards)
        nodes = layout.roles.keys.sorted().map { id in
            let role = layout.roles[id]!
            let slots = counts[id] ?? 0
            let used = role.capacity.map { $0.bytes == 0 ? 0 : Double(slots) * slotBytes / Double($0.bytes) }
            return NodeLine(id: id, role: role, slots: slots, share: Double(slots) / Double(totalSlots), usedAtFull: used)
        }
        nodeTolerance = layout.nodeTolerance
        zoneTolerance = layout.zoneTolerance
        slotsMoved = layout.slotsMoved(from: previousPartitions)
    }

    /// Whether some partition holds several slots on one node (too few nodes).
    public var sharesNodes: Bool { layout.partitions.contains { Set($0).count < $0.count } }

    public func render(title: String) -> String {
        var lines = ["==== \(title) ===="]
        let rows = nodes.map { line -> [String] in
            [line.id.shortForm, line.role.tags.joined(separator: ","), line.role.zone.rawValue,
             line.role.capacity.map { $0.description } ?? "gateway",
             line.role.isGateway ? "-" : String(line.slots),
             line.role.isGateway ? "-" : percent(line.share),
             line.usedAtFull.map(percent) ?? "-"]
        }
        lines.append(contentsOf: TextTable(headers: ["ID", "Tags", "Zone", "Capacity", "Slots", "Share", "Used at full"], rows: rows).lines)
        let code = layout.code
        lines.append("")
        lines.append("Erasure code:     \(code) (\(code.totalShards) slots per partition, \(fixed(code.storageOverhead, decimals: 2))x raw overhead)")
        lines.append("Zone cap:         \(layout.zoneCap) slot(s) per zone per partition")
        lines.append("Usable capacity:  \(usableCapacity)")
        lines.append("Fault tolerance:  any \(nodeTolerance) node(s), or any \(zoneTolerance) zone(s), lost with every partition readable")
        if sharesNodes {
            lines.append("Warning:          fewer storage nodes than the \(code.totalShards) slots of a partition: some nodes hold several slots of one partition, so losing one of them costs more than one shard")
        }
        if let previousVersion {
            lines.append("Slots moved:      \(slotsMoved) of \(layout.partitions.reduce(0) { $0 + $1.count }) from version \(previousVersion)")
        } else {
            lines.append("Slots moved:      \(slotsMoved) (first layout)")
        }
        return lines.joined(separator: "\n")
    }

    private func percent(_ value: Double) -> String { fixed(value * 100, decimals: 1) + "%" }
}
