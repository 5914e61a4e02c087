import CodeParameters
import Units

/// A change to one node's role, waiting for `apply`.
public enum StagedChange: Sendable, Equatable {
    case assign(NodeRole)
    case remove
}

/// The layout workflow as a state machine: changes are staged, previewed,
/// applied with an explicit next version, or reverted. Applied layouts are
/// kept so data written under an older version can still be found.
public struct LayoutHistory: Sendable, Equatable {
    public static let defaultCode = try! ErasureCode(dataShards: 4, parityShards: 2)

    public private(set) var applied: [Layout] = []
    public private(set) var stagedRoles: [NodeID: StagedChange] = [:]
    /// nil: unchanged; .some(nil): back to the default zone cap.
    public private(set) var stagedZoneCap: Int?? = nil
    public private(set) var stagedCode: ErasureCode? = nil
    /// Whether the current zone cap was set by hand (kept) or derived (recomputed).
    public private(set) var explicitZoneCap = false
    private var defaultCode: ErasureCode

    public init(code: ErasureCode = LayoutHistory.defaultCode) { defaultCode = code }

    /// Restores a history from its applied layouts (oldest first, versions
    /// 1, 2, …); `explicitZoneCap` tells whether the newest one's zone cap
    /// was set by hand. Staged changes are then replayed with the stage calls.
    public init(applied: [Layout], explicitZoneCap: Bool, code: ErasureCode = LayoutHistory.defaultCode) {
        for (i, layout) in applied.enumerated() {
            precondition(layout.version == LayoutVersion(UInt64(i + 1)), "applied layouts must be versions 1, 2, … in order")
        }
        self.applied = applied
        self.explicitZoneCap = explicitZoneCap
        defaultCode = code
    }

    public var current: Layout? { applied.last }
    public var currentVersion: LayoutVersion { current?.version ?? .none }
    public var code: ErasureCode { stagedCode ?? current?.code ?? defaultCode }
    public var hasStagedChanges: Bool { !stagedRoles.isEmpty || stagedZoneCap != nil || stagedCode != nil }

    /// Roles as they will be once the staged changes apply.
    public var proposedRoles: [NodeID: NodeRole] {
        var roles = current?.roles ?? [:]
        for (id, change) in stagedRoles {
            switch change {
            case .assign(let role): roles[id] = role
            case .remove: roles[id] = nil
            }
        }
        return roles
    }

    public var proposedZoneCap: Int? {
        if let staged = stagedZoneCap { return staged }
        return explicitZoneCap ? current?.zoneCap : nil
    }

    public mutating func stageAssign(_ id: NodeID, role: NodeRole) {
        stagedRoles[id] = .assign(role)
    }

    public mutating func stageRemove(_ id: NodeID) throws(PlacementError) {
        guard proposedRoles[id] != nil || stagedRoles[id] != nil else { throw .unknownNode(id) }
        if current?.roles[id] == nil { stagedRoles[id] = nil } else { stagedRoles[id] = .remove }
    }

    /// Hands `old`'s role to `new` (a replacement machine): `old` leaves the
    /// layout and `new` takes its zone and capacity unless `role` is given.
    public mutating func stageReplace(_ old: NodeID, with new: NodeID, role: NodeRole? = nil) throws(PlacementError) {
        guard let oldRole = proposedRoles[old] else { throw .unknownNode(old) }
        try stageRemove(old)
        stageAssign(new, role: role ?? oldRole)
    }

    public mutating func stageZoneCap(_ cap: Int?) throws(PlacementError) {
        if let cap, cap < 1 { throw .invalidZoneCap(cap) }
        stagedZoneCap = .some(cap)
    }

    public mutating func stageCode(_ code: ErasureCode) throws(PlacementError) {
        guard current == nil else { throw .codeFixedAfterFirstApply }
        stagedCode = code
    }

    /// The layout that `apply` would install.
    public func preview() throws(PlacementError) -> Layout {
        try Layout.compute(version: currentVersion.next, roles: proposedRoles, code: code,
                           zoneCap: proposedZoneCap, previous: current)
    }

    @discardableResult
    public mutating func apply(version: LayoutVersion) throws(PlacementError) -> Layout {
        guard version == currentVersion.next else { throw .wrongVersion(given: version, expected: currentVersion.next) }
        guard hasStagedChanges else { throw .nothingStaged }
        let layout = try preview()
        if let staged = stagedZoneCap { explicitZoneCap = staged != nil }
        applied.append(layout)
        stagedRoles = [:]
        stagedZoneCap = nil
        stagedCode = nil
        return layout
    }

    public mutating func revert() throws(PlacementError) {
        guard hasStagedChanges else { throw .nothingStaged }
        stagedRoles = [:]
        stagedZoneCap = nil
        stagedCode = nil
    }
}
