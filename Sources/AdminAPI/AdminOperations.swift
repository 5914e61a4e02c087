// Every admin API call has one operation name (the names a Garage v2 user
// knows where the call is the same). A named admin token's scope is a list
// of these; the server decides which operation a request is here, once,
// before any handler runs.

public enum AdminOperation: String, CaseIterable, Sendable, Codable, Comparable {
    case getClusterStatus = "GetClusterStatus"
    case getNodeInfo = "GetNodeInfo"
    case connectClusterNodes = "ConnectClusterNodes"
    case getClusterLayout = "GetClusterLayout"
    case getClusterLayoutHistory = "GetClusterLayoutHistory"
    case updateClusterLayout = "UpdateClusterLayout"
    case applyClusterLayout = "ApplyClusterLayout"
    case revertClusterLayout = "RevertClusterLayout"
    case getRebuildStatus = "GetRebuildStatus"
    case startRebuild = "StartRebuild"
    case verifyRedundancy = "VerifyRedundancy"
    case getScrubStatus = "GetScrubStatus"
    case startScrub = "StartScrub"
    case listBuckets = "ListBuckets"
    case createBucket = "CreateBucket"
    case getBucketInfo = "GetBucketInfo"
    case deleteBucket = "DeleteBucket"
    case allowBucketKey = "AllowBucketKey"
    case denyBucketKey = "DenyBucketKey"
    case listKeys = "ListKeys"
    case createKey = "CreateKey"
    case importKey = "ImportKey"
    case getKeyInfo = "GetKeyInfo"
    /// `GET /v1/keys/ID?show_secret=true`: apart from GetKeyInfo, so a monitoring token never reads a secret.
    case getKeySecret = "GetKeySecret"
    case deleteKey = "DeleteKey"
    case metrics = "Metrics"
    case listAdminTokens = "ListAdminTokens"
    case createAdminToken = "CreateAdminToken"
    case revokeAdminToken = "RevokeAdminToken"

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Operations no scope can name one by one: a token allowed to mint
    /// tokens could mint itself a wider one, so only `*` (and the master
    /// token) include them.
    public static let tokenManagement: Set<AdminOperation> = [.listAdminTokens, .createAdminToken, .revokeAdminToken]

    /// Whether calling it changes nothing (the read-only scope holds these).
    public var isReadOnly: Bool {
        switch self {
        case .getClusterStatus, .getNodeInfo, .getClusterLayout, .getClusterLayoutHistory, .getRebuildStatus, .getScrubStatus,
             .listBuckets, .getBucketInfo, .listKeys, .getKeyInfo, .metrics:
            return true
        default:
            return false
        }
    }

    /// The operation a request is, from its method, path and query; nil
    /// for anything the API does not have (`/health` is open and has none).
    public static func route(method: String, path: String, query: [String: String] = [:]) -> AdminOperation? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        switch (method, parts) {
        case ("GET", ["metrics"]): return .metrics
        case ("GET", ["v1", "status"]): return .getClusterStatus
        case ("GET", ["v1", "node", "id"]): return .getNodeInfo
        case ("POST", ["v1", "node", "connect"]): return .connectClusterNodes
        case ("GET", ["v1", "layout"]): return .getClusterLayout
        case ("GET", ["v1", "layout", "history"]): return .getClusterLayoutHistory
        case ("POST", ["v1", "layout", "assign"]), ("POST", ["v1", "layout", "remove"]), ("POST", ["v1", "layout", "config"]):
            return .updateClusterLayout
        case ("POST", ["v1", "layout", "apply"]): return .applyClusterLayout
        case ("POST", ["v1", "layout", "revert"]): return .revertClusterLayout
        case ("GET", ["v1", "rebuild"]): return .getRebuildStatus
        case ("POST", ["v1", "rebuild", "start"]): return .startRebuild
        case ("POST", ["v1", "rebuild", "verify"]): return .verifyRedundancy
        case ("GET", ["v1", "scrub"]): return .getScrubStatus
        case ("POST", ["v1", "scrub", "start"]): return .startScrub
        case ("GET", ["v1", "buckets"]): return .listBuckets
        case ("POST", ["v1", "buckets"]): return .createBucket
        case ("GET", let p) where p.count == 3 && p[0] == "v1" && p[1] == "buckets": return .getBucketInfo
        case ("DELETE", let p) where p.count == 3 && p[0] == "v1" && p[1] == "buckets": return .deleteBucket
        case ("POST", let p) where p.count == 4 && p[0] == "v1" && p[1] == "buckets" && p[3] == "allow": return .allowBucketKey
        case ("POST", let p) where p.count == 4 && p[0] == "v1" && p[1] == "buckets" && p[3] == "deny": return .denyBucketKey
        case ("GET", ["v1", "keys"]): return .listKeys
        case ("POST", ["v1", "keys"]): return .createKey
        case ("POST", ["v1", "keys", "import"]): return .importKey
        case ("GET", let p) where p.count == 3 && p[0] == "v1" && p[1] == "keys":
            return query["show_secret"] == "true" ? .getKeySecret : .getKeyInfo
        case ("DELETE", let p) where p.count == 3 && p[0] == "v1" && p[1] == "keys": return .deleteKey
        case ("GET", ["v1", "admin-tokens"]): return .listAdminTokens
        case ("POST", ["v1", "admin-tokens"]): return .createAdminToken
        case ("DELETE", let p) where p.count == 3 && p[0] == "v1" && p[1] == "admin-tokens": return .revokeAdminToken
        default: return nil
        }
    }
}

/// What a named admin token may do: every operation (`*`) or a set of them.
public struct AdminScope: Sendable, Equatable, CustomStringConvertible {
    public static let everything = "*"
    /// Shorthands accepted on creation and stored expanded, so a token's
    /// rights never grow when a later version adds an operation to a group.
    public static let groups: [String: Set<AdminOperation>] = [
        "read-only": Set(AdminOperation.allCases.filter(\.isReadOnly)),
        "buckets-and-keys": [.listBuckets, .createBucket, .getBucketInfo, .deleteBucket, .allowBucketKey, .denyBucketKey,
                             .listKeys, .createKey, .importKey, .getKeyInfo, .getKeySecret, .deleteKey],
        "monitoring": [.getClusterStatus, .getClusterLayout, .getClusterLayoutHistory, .getRebuildStatus, .getScrubStatus, .metrics],
    ]

    public let all: Bool
    public let operations: Set<AdminOperation>

    public init(all: Bool, operations: Set<AdminOperation>) { self.all = all; self.operations = operations }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case empty
        case unknown(String)
        case tokenManagement(String)
        public var description: String {
            switch self {
            case .empty: return "give a scope: '*', a group (read-only, monitoring, buckets-and-keys) or operation names"
            case .unknown(let name):
                return "unknown admin operation or group '\(name)' (groups: \(AdminScope.groups.keys.sorted().joined(separator: ", ")); operations: \(AdminOperation.allCases.map(\.rawValue).joined(separator: ", ")))"
            case .tokenManagement(let name): return "'\(name)' cannot be granted alone: only '*' includes managing admin tokens"
            }
        }
    }

    /// Parses what a user gives (`*`, group names, operation names; case-insensitive).
    public init(parsing items: [String]) throws(ParseError) {
        let names = items.flatMap { $0.split(separator: ",") }.map { String($0.filter { $0 != " " }) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw .empty }
        if names.contains(Self.everything) { self.init(all: true, operations: []); return }
        var operations: Set<AdminOperation> = []
        for name in names {
            if let group = Self.groups[name.lowercased()] { operations.formUnion(group); continue }
            guard let operation = AdminOperation.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else {
                throw .unknown(name)
            }
            guard !AdminOperation.tokenManagement.contains(operation) else { throw .tokenManagement(operation.rawValue) }
            operations.insert(operation)
        }
        self.init(all: false, operations: operations)
    }

    /// The stored form: `["*"]` or sorted operation names.
    public var stored: [String] { all ? [Self.everything] : operations.sorted().map(\.rawValue) }

    /// Reads a stored scope; names this version does not know grant nothing.
    public init(stored: [String]) {
        if stored.contains(Self.everything) { self.init(all: true, operations: []); return }
        self.init(all: false, operations: Set(stored.compactMap { AdminOperation(rawValue: $0) }.filter { !AdminOperation.tokenManagement.contains($0) }))
    }

    public func allows(_ operation: AdminOperation) -> Bool { all || operations.contains(operation) }

    public var description: String { stored.joined(separator: ",") }
}

/// The text of a named token as clients send it: `AT<16 hex>.<secret>`.
public struct PresentedAdminToken: Sendable, Equatable {
    public let id: String
    public let secret: String

    /// Nil when the text is not shaped like a named token (it may be the master token).
    public init?(_ text: String) {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 18, parts[0].hasPrefix("AT"), !parts[1].isEmpty else { return nil }
        id = String(parts[0]); secret = String(parts[1])
    }
}

/// `POST /v1/admin-tokens`.
public struct CreateAdminTokenRequest: Codable, Sendable {
    public let name: String
    public let scope: [String]
    /// Seconds from now; nil: the token does not expire.
    public let expiresInSeconds: UInt64?
    public init(name: String, scope: [String], expiresInSeconds: UInt64?) {
        self.name = name; self.scope = scope; self.expiresInSeconds = expiresInSeconds
    }
}

public struct AdminTokenDocument: Codable, Sendable {
    public let id: String
    public let name: String
    public let scope: [String]
    public let created: String
    /// ISO 8601; nil: never.
    public let expires: String?
    public let expired: Bool
    public init(id: String, name: String, scope: [String], created: String, expires: String?, expired: Bool) {
        self.id = id; self.name = name; self.scope = scope; self.created = created; self.expires = expires; self.expired = expired
    }
}

/// The answer to a creation: the only time the token's text is shown.
public struct CreatedAdminTokenDocument: Codable, Sendable {
    public let token: AdminTokenDocument
    public let secretToken: String
    public init(token: AdminTokenDocument, secretToken: String) { self.token = token; self.secretToken = secretToken }
}
