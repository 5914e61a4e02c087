import CodeParameters
import Placement

/// `shale layout plan`: a layout computed from a nodes file, with no cluster.
public enum LayoutPlanner {
    public struct Plan: Sendable {
        public let layout: Layout
        public let report: LayoutReport
        public var document: LayoutDocument { LayoutDocument(report) }
    }

    public static let defaultCode = LayoutHistory.defaultCode

    /// Computes the plan. The code is `code`, else the previous plan's, else 4+2.
    /// A previous plan with another code moves every slot.
    public static func plan(nodes: NodesFile, code: ErasureCode?, zoneCap: Int?,
                            previous: LayoutDocument?) throws(PlacementError) -> Plan {
        let previousLayout = try previous?.layout()
        let chosenCode = code ?? previousLayout?.code ?? defaultCode
        let version = previousLayout?.version.next ?? LayoutVersion(1)
        let layout = try Layout.compute(version: version, roles: nodes.roles, code: chosenCode,
                                        zoneCap: zoneCap, previous: previousLayout)
        return Plan(layout: layout, report: LayoutReport(layout: layout, previous: previousLayout))
    }
}
