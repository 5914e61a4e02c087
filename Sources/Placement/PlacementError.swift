import CodeParameters

/// Why a layout cannot be computed or a change cannot be made.
public enum PlacementError: Error, Equatable, Sendable, CustomStringConvertible {
    case noStorageNodes
    case zeroCapacity(NodeID)
    case duplicateNode(NodeID)
    case invalidCode(CodeParameterError)
    case invalidZoneCap(Int)
    case zoneCapTooSmall(zoneCap: Int, zones: Int, slots: Int)
    case notEnoughRoom(slotsPerPartition: Int, placeable: Int, zoneCap: Int)
    case unknownNode(NodeID)
    case codeFixedAfterFirstApply
    case wrongVersion(given: LayoutVersion, expected: LayoutVersion)
    case nothingStaged
    case noLayoutApplied
    case previousLayoutMismatch(String)

    public var description: String {
        switch self {
        case .noStorageNodes:
            return "no storage node: assign at least one node a zone and a capacity"
        case .zeroCapacity(let id):
            return "node \(id.shortForm) has capacity 0: give it a capacity, or make it a gateway (-g)"
        case .duplicateNode(let id):
            return "node id \(id) appears more than once"
        case .invalidCode(let error):
            return "invalid erasure code: \(error)"
        case .invalidZoneCap(let cap):
            return "zone cap must be at least 1 (got \(cap))"
        case .zoneCapTooSmall(let cap, let zones, let slots):
            return "zone cap \(cap) with \(zones) zone(s) places at most \(cap * zones) of the \(slots) slots of a partition: raise the zone cap or add zones"
        case .notEnoughRoom(let slots, let placeable, let zoneCap):
            return "only \(placeable) of the \(slots) slots of a partition can be placed with zone cap \(zoneCap) and distinct nodes per zone: add nodes to the small zones or raise the zone cap"
        case .unknownNode(let id):
            return "node \(id) has no role in the layout"
        case .codeFixedAfterFirstApply:
            return "the erasure code is fixed once a layout has been applied"
        case .wrongVersion(let given, let expected):
            return "layout version \(given) cannot be applied: the next version is \(expected)"
        case .nothingStaged:
            return "no staged changes: assign or remove roles first"
        case .noLayoutApplied:
            return "no layout has been applied yet"
        case .previousLayoutMismatch(let reason):
            return "the previous layout does not fit: \(reason)"
        }
    }
}
