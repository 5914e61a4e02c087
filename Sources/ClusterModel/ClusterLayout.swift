import CodeParameters
import Placement
import Units

/// An applied layout as it is replicated and persisted.
public struct StoredLayout: Codable, Sendable, Equatable {
    public var version: LayoutVersion
    public var dataShards: Int
    public var parityShards: Int
    public var zoneCap: Int
    public var explicitZoneCap: Bool
    public var roles: [String: NodeRole]
    public var partitions: [[String]]

    public init(_ layout: Layout, explicitZoneCap: Bool) {
        version = layout.version
        dataShards = layout.code.dataShards
        parityShards = layout.code.parityShards
        zoneCap = layout.zoneCap
        self.explicitZoneCap = explicitZoneCap
        roles = Dictionary(uniqueKeysWithValues: layout.roles.map { ($0.key.rawValue, $0.value) })
        partitions = layout.partitions.map { $0.map(\.rawValue) }
    }

    public var layout: Layout {
        // Written only from a validated Layout, so the code is valid.
        let code = try! ErasureCode(dataShards: dataShards, parityShards: parityShards)
        return Layout(version: version, code: code, zoneCap: zoneCap,
                      roles: Dictionary(uniqueKeysWithValues: roles.map { (NodeID($0.key), $0.value) }),
                      partitions: partitions.map { $0.map(NodeID.init) })
    }
}

/// A staged change to one node's role; `cleared` is a revert's tombstone.
public enum StagedRoleChange: Codable, Sendable, Equatable {
    case assign(NodeRole)
    case remove
    case cleared
}

/// A staged change counts only while the layout it was staged against is
/// still the current one: applying a new version retires every older change
/// without having to delete it.
public struct Staged<Change: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var change: Change
    public var base: LayoutVersion
}

/// A staged erasure-code or zone-cap setting (nil: cleared by a revert).
public struct StagedCode: Codable, Sendable, Equatable { public var dataShards: Int; public var parityShards: Int }
public enum StagedZoneCap: Codable, Sendable, Equatable { case cap(Int), automatic, cleared }

/// The layout workflow as replicated state: applied versions and staged
/// changes, each a last-writer-wins entry, so changes staged on different
/// nodes combine and any node can apply them.
public struct ClusterLayout: Codable, Sendable, Equatable {
    static let zoneCapKey = "zone_cap"
    static let codeKey = "ec"

    /// Applied layouts by version number (decimal string).
    public var applied = LWWMap<StoredLayout>()
    /// Staged role changes by node id.
    public var stagedRoles = LWWMap<Staged<StagedRoleChange>>()
    public var stagedZoneCap = LWWMap<Staged<StagedZoneCap>>()
    public var stagedCode = LWWMap<Staged<StagedCode?>>()

    public init() {}

    /// Applied layouts in version order, up to the first gap.
    public var appliedLayouts: [StoredLayout] {
        var result: [StoredLayout] = []
        while let next = applied[String(result.count + 1)] { result.append(next) }
        return result
    }

    public var currentVersion: LayoutVersion { LayoutVersion(UInt64(appliedLayouts.count)) }

    /// The workflow with every staged change still in force replayed on it.
    public func history(defaultCode: ErasureCode = LayoutHistory.defaultCode) -> LayoutHistory {
        let stored = appliedLayouts
        var history = LayoutHistory(applied: stored.map(\.layout), explicitZoneCap: stored.last?.explicitZoneCap ?? false,
                                    code: defaultCode)
        let base = history.currentVersion
        if let staged = stagedCode[Self.codeKey], staged.base == base, let code = staged.change,
           let parsed = try? ErasureCode(dataShards: code.dataShards, parityShards: code.parityShards) {
            try? history.stageCode(parsed)
        }
        if let staged = stagedZoneCap[Self.zoneCapKey], staged.base == base {
            switch staged.change {
            case .cap(let cap): try? history.stageZoneCap(cap)
            case .automatic: try? history.stageZoneCap(nil)
            case .cleared: break
            }
        }
        // Assignments first, so a staged replace (remove old, assign new) replays whole.
        let entries = stagedRoles.entries.filter { $0.value.value.base == base }.sorted { $0.key < $1.key }
        for (node, entry) in entries {
            if case .assign(let role) = entry.value.change { history.stageAssign(NodeID(node), role: role) }
        }
        for (node, entry) in entries where entry.value.change == .remove {
            try? history.stageRemove(NodeID(node))
        }
        return history
    }

    public mutating func stageAssign(_ node: NodeID, role: NodeRole, stamp: Stamp) {
        stagedRoles.set(node.rawValue, Staged(change: .assign(role), base: currentVersion), stamp: stamp)
    }

    public mutating func stageRemove(_ node: NodeID, stamp: Stamp) throws(ClusterError) {
        let history = history()
        guard history.proposedRoles[node] != nil else { throw .layout(.unknownNode(node)) }
        let inCurrent = history.current?.roles[node] != nil
        stagedRoles.set(node.rawValue, Staged(change: inCurrent ? .remove : .cleared, base: currentVersion), stamp: stamp)
    }

    public mutating func stageCode(_ code: ErasureCode, stamp: Stamp) throws(ClusterError) {
        guard currentVersion == .none else { throw .layout(.codeFixedAfterFirstApply) }
        stagedCode.set(Self.codeKey, Staged(change: StagedCode(dataShards: code.dataShards, parityShards: code.parityShards),
                                            base: currentVersion), stamp: stamp)
    }

    public mutating func stageZoneCap(_ cap: Int?, stamp: Stamp) throws(ClusterError) {
        if let cap, cap < 1 { throw .layout(.invalidZoneCap(cap)) }
        stagedZoneCap.set(Self.zoneCapKey, Staged(change: cap.map(StagedZoneCap.cap) ?? .automatic, base: currentVersion), stamp: stamp)
    }

    /// Applies the staged changes as `version`, which must be the next one.
    @discardableResult
    public mutating func apply(version: LayoutVersion, stamp: Stamp) throws(ClusterError) -> Layout {
        var history = history()
        let layout: Layout
        do { layout = try history.apply(version: version) } catch { throw .layout(error) }
        applied.set(String(version.rawValue), StoredLayout(layout, explicitZoneCap: history.explicitZoneCap), stamp: stamp)
        return layout
    }

    public mutating func revert(stamp: Stamp) throws(ClusterError) {
        let history = history()
        guard history.hasStagedChanges else { throw .layout(.nothingStaged) }
        let base = currentVersion
        for (node, entry) in stagedRoles.entries where entry.value.base == base && entry.value.change != .cleared {
            stagedRoles.set(node, Staged(change: .cleared, base: base), stamp: stamp)
        }
        if let entry = stagedZoneCap[Self.zoneCapKey], entry.base == base {
            stagedZoneCap.set(Self.zoneCapKey, Staged(change: .cleared, base: base), stamp: stamp)
        }
        if let entry = stagedCode[Self.codeKey], entry.base == base {
            stagedCode.set(Self.codeKey, Staged(change: nil, base: base), stamp: stamp)
        }
    }

    @discardableResult
    public mutating func merge(_ other: ClusterLayout) -> Bool {
        let a = applied.merge(other.applied)
        let b = stagedRoles.merge(other.stagedRoles)
        let c = stagedZoneCap.merge(other.stagedZoneCap)
        let d = stagedCode.merge(other.stagedCode)
        return a || b || c || d
    }
}
