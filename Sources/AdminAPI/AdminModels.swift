import Placement

// The JSON documents of the admin API (Docs/admin-api.md), shared by the
// server and the CLI. Field names are the wire names; changing one is a
// breaking change of the API version.

public enum AdminPath {
    public static let version = "v1"
    public static let status = "/v1/status"
    public static let nodeID = "/v1/node/id"
    public static let nodeConnect = "/v1/node/connect"
    public static let layout = "/v1/layout"
    public static let layoutAssign = "/v1/layout/assign"
    public static let layoutRemove = "/v1/layout/remove"
    public static let layoutApply = "/v1/layout/apply"
    public static let layoutRevert = "/v1/layout/revert"
    public static let layoutHistory = "/v1/layout/history"
    public static let layoutConfig = "/v1/layout/config"
    public static let buckets = "/v1/buckets"
    public static let keys = "/v1/keys"
    public static let keysImport = "/v1/keys/import"
    public static let rebuild = "/v1/rebuild"
    public static let rebuildStart = "/v1/rebuild/start"
    public static let rebuildVerify = "/v1/rebuild/verify"
    public static let scrub = "/v1/scrub"
    public static let scrubStart = "/v1/scrub/start"
    public static let adminTokens = "/v1/admin-tokens"
    public static let health = "/health"
    public static let metrics = "/metrics"
}

public struct ErrorDocument: Codable, Sendable {
    public let error: String
    public let code: String
    public init(error: String, code: String) { self.error = error; self.code = code }
}

public struct RoleDocument: Codable, Sendable, Equatable {
    public let zone: String
    public let capacityBytes: UInt64?
    public let tags: [String]
    public init(_ role: NodeRole) { zone = role.zone.rawValue; capacityBytes = role.capacity?.bytes; tags = role.tags }
}

public struct NodeStatusDocument: Codable, Sendable {
    public let id: String
    public let hostname: String
    public let address: String
    public let isSelf: Bool
    public let healthy: Bool
    /// Seconds since the node last answered; nil if never reached.
    public let lastSeenSecondsAgo: Double?
    public let role: RoleDocument?
    public let dataAvailableBytes: UInt64?
    /// Disk used by the node's shard files, as it last reported (nil: not counted yet).
    public let shardBytes: UInt64?
    public init(id: String, hostname: String, address: String, isSelf: Bool, healthy: Bool, lastSeenSecondsAgo: Double?,
                role: RoleDocument?, dataAvailableBytes: UInt64?, shardBytes: UInt64? = nil) {
        self.id = id; self.hostname = hostname; self.address = address; self.isSelf = isSelf; self.healthy = healthy
        self.lastSeenSecondsAgo = lastSeenSecondsAgo; self.role = role; self.dataAvailableBytes = dataAvailableBytes
        self.shardBytes = shardBytes
    }
}

public struct StatusDocument: Codable, Sendable {
    public let node: String
    public let layoutVersion: UInt64
    public let nodes: [NodeStatusDocument]
    /// Per-partition health as the newest `rebuild verify` on this node found it (nil: none since the node started).
    public let partitions: PartitionHealthDocument?
    /// Partitions by the nodes answering now (nil: no layout applied yet).
    public let availability: PartitionAvailabilityDocument?
    public init(node: String, layoutVersion: UInt64, nodes: [NodeStatusDocument], partitions: PartitionHealthDocument?,
                availability: PartitionAvailabilityDocument? = nil) {
        self.node = node; self.layoutVersion = layoutVersion; self.nodes = nodes; self.partitions = partitions
        self.availability = availability
    }
}

/// Partitions by what the nodes answering heartbeats now allow (`Layout.availability`).
public struct PartitionAvailabilityDocument: Codable, Sendable, Equatable {
    public let full: Int
    public let degraded: Int
    public let unavailable: Int
    /// One letter per partition, 0 to 255: f(ull), d(egraded), u(navailable).
    public let map: String
    public init(_ states: [PartitionAvailability]) {
        full = states.filter { $0 == .full }.count
        degraded = states.filter { $0 == .degraded }.count
        unavailable = states.filter { $0 == .unavailable }.count
        map = String(states.map { $0.rawValue.first! })
    }
}

/// Partitions by the worst of their objects: every shard intact on its
/// current owner (full), short by some shards (degraded), or with fewer
/// than k intact (unavailable).
public struct PartitionHealthDocument: Codable, Sendable {
    public let checkedAtMillis: UInt64
    public let full: Int
    /// Shards short (as text, a JSON key) → partitions.
    public let degraded: [String: Int]
    public let unavailable: Int
    public init(checkedAtMillis: UInt64, full: Int, degraded: [String: Int], unavailable: Int) {
        self.checkedAtMillis = checkedAtMillis; self.full = full; self.degraded = degraded; self.unavailable = unavailable
    }
}

public struct RebuildStartRequest: Codable, Sendable {
    public let dryRun: Bool
    public init(dryRun: Bool) { self.dryRun = dryRun }
}

public struct NodeIDDocument: Codable, Sendable {
    public let id: String
    public let address: String
    public init(id: String, address: String) { self.id = id; self.address = address }
    public var connectString: String { "\(id)@\(address)" }
}

public struct ConnectRequest: Codable, Sendable {
    public let node: String
    public init(node: String) { self.node = node }
}

public struct StagedRoleDocument: Codable, Sendable {
    public let node: String
    /// "assign" or "remove".
    public let change: String
    public let role: RoleDocument?
    public init(node: String, change: String, role: RoleDocument?) { self.node = node; self.change = change; self.role = role }
}

public struct LayoutShowDocument: Codable, Sendable {
    public let currentVersion: UInt64
    public let current: LayoutDocument?
    public let staged: [StagedRoleDocument]
    public let stagedCode: String?
    public let stagedZoneCap: String?
    /// The layout `apply --version currentVersion+1` would install.
    public let preview: LayoutDocument?
    /// Why the staged changes cannot be applied, if they cannot.
    public let previewError: String?
    public init(currentVersion: UInt64, current: LayoutDocument?, staged: [StagedRoleDocument], stagedCode: String?,
                stagedZoneCap: String?, preview: LayoutDocument?, previewError: String?) {
        self.currentVersion = currentVersion; self.current = current; self.staged = staged; self.stagedCode = stagedCode
        self.stagedZoneCap = stagedZoneCap; self.preview = preview; self.previewError = previewError
    }
}

public struct AssignRequest: Codable, Sendable {
    public let nodes: [String]
    public let zone: String?
    public let capacity: String?
    public let gateway: Bool
    public let tags: [String]?
    public let replace: String?
    public init(nodes: [String], zone: String?, capacity: String?, gateway: Bool, tags: [String]?, replace: String?) {
        self.nodes = nodes; self.zone = zone; self.capacity = capacity; self.gateway = gateway; self.tags = tags; self.replace = replace
    }
}

public struct RemoveRequest: Codable, Sendable {
    public let nodes: [String]
    public init(nodes: [String]) { self.nodes = nodes }
}

public struct ApplyRequest: Codable, Sendable {
    public let version: UInt64
    public init(version: UInt64) { self.version = version }
}

public struct LayoutConfigRequest: Codable, Sendable {
    public let ec: String?
    public let zoneCap: Int?
    public init(ec: String?, zoneCap: Int?) { self.ec = ec; self.zoneCap = zoneCap }
}

public struct LayoutHistoryDocument: Codable, Sendable {
    public struct Version: Codable, Sendable {
        public let version: UInt64
        public let ec: String
        public let zoneCap: Int
        public let storageNodes: Int
        public let gatewayNodes: Int
        public let usableCapacityBytes: UInt64
        public init(version: UInt64, ec: String, zoneCap: Int, storageNodes: Int, gatewayNodes: Int, usableCapacityBytes: UInt64) {
            self.version = version; self.ec = ec; self.zoneCap = zoneCap; self.storageNodes = storageNodes
            self.gatewayNodes = gatewayNodes; self.usableCapacityBytes = usableCapacityBytes
        }
    }
    public let currentVersion: UInt64
    public let versions: [Version]
    public init(currentVersion: UInt64, versions: [Version]) { self.currentVersion = currentVersion; self.versions = versions }
}

public struct CreateBucketRequest: Codable, Sendable {
    public let name: String
    public init(name: String) { self.name = name }
}

public struct BucketSummaryDocument: Codable, Sendable {
    public let name: String
    public let id: String
    public let created: String
    public let visibility: String
    public init(name: String, id: String, created: String) { self.name = name; self.id = id; self.created = created; visibility = "private" }
}

public struct GrantDocument: Codable, Sendable {
    public let keyID: String
    public let keyName: String
    public let bucket: String
    public let permissions: [String]
    public init(keyID: String, keyName: String, bucket: String, permissions: [String]) {
        self.keyID = keyID; self.keyName = keyName; self.bucket = bucket; self.permissions = permissions
    }
}

public struct BucketInfoDocument: Codable, Sendable {
    public let bucket: BucketSummaryDocument
    public let grants: [GrantDocument]
    public init(bucket: BucketSummaryDocument, grants: [GrantDocument]) { self.bucket = bucket; self.grants = grants }
}

public struct PermissionRequest: Codable, Sendable {
    public let key: String
    public let read: Bool
    public let write: Bool
    public let owner: Bool
    public init(key: String, read: Bool, write: Bool, owner: Bool) { self.key = key; self.read = read; self.write = write; self.owner = owner }
}

public struct CreateKeyRequest: Codable, Sendable {
    public let name: String
    public init(name: String) { self.name = name }
}

public struct ImportKeyRequest: Codable, Sendable {
    public let id: String
    public let secret: String
    public let name: String
    public init(id: String, secret: String, name: String) { self.id = id; self.secret = secret; self.name = name }
}

public struct KeySummaryDocument: Codable, Sendable {
    public let id: String
    public let name: String
    public let created: String
    public init(id: String, name: String, created: String) { self.id = id; self.name = name; self.created = created }
}

public struct KeyInfoDocument: Codable, Sendable {
    public let key: KeySummaryDocument
    /// Present when the key was just created or imported, or asked for with `show_secret`.
    public let secret: String?
    public let grants: [GrantDocument]
    public init(key: KeySummaryDocument, secret: String?, grants: [GrantDocument]) { self.key = key; self.secret = secret; self.grants = grants }
}

public struct HealthDocument: Codable, Sendable {
    public let status: String
    public let reason: String?
    public let layoutVersion: UInt64
    public let reachableNodes: Int
    public let layoutNodes: Int
    public init(status: String, reason: String?, layoutVersion: UInt64, reachableNodes: Int, layoutNodes: Int) {
        self.status = status; self.reason = reason; self.layoutVersion = layoutVersion
        self.reachableNodes = reachableNodes; self.layoutNodes = layoutNodes
    }
}
