import Foundation
import Placement

/// Everything every node knows alike: the layout workflow, buckets, access
/// keys and their permissions. Small, replicated whole to every node, and
/// merged entry by entry (last writer wins), so changes made on both sides
/// of a network partition all survive once it heals.
public struct ClusterState: Codable, Sendable, Equatable {
    public static let maxKeyNameLength = 128

    public var layout = ClusterLayout()
    /// Buckets by id (hex); deletion leaves a tombstone.
    public var buckets = LWWMap<BucketRecord>()
    /// Access keys by id; deletion leaves a tombstone.
    public var keys = LWWMap<AccessKeyRecord>()
    /// One flag per (key, bucket, permission): "GK…/bucket-id/read" → allowed.
    public var permissions = LWWMap<Bool>()
    /// A bucket's configurations, one entry per kind: "bucket-id/tagging" → its tags.
    public var bucketConfigs = LWWMap<BucketConfig>()
    /// Named admin tokens by id; revocation leaves a tombstone.
    public var adminTokens = LWWMap<AdminTokenRecord>()

    public init() {}

    enum CodingKeys: String, CodingKey { case layout, buckets, keys, permissions, bucketConfigs, adminTokens }

    /// States written before a field existed read it as empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        layout = try container.decode(ClusterLayout.self, forKey: .layout)
        buckets = try container.decode(LWWMap<BucketRecord>.self, forKey: .buckets)
        keys = try container.decode(LWWMap<AccessKeyRecord>.self, forKey: .keys)
        permissions = try container.decode(LWWMap<Bool>.self, forKey: .permissions)
        bucketConfigs = try container.decodeIfPresent(LWWMap<BucketConfig>.self, forKey: .bucketConfigs) ?? LWWMap()
        adminTokens = try container.decodeIfPresent(LWWMap<AdminTokenRecord>.self, forKey: .adminTokens) ?? LWWMap()
    }

    @discardableResult
    public mutating func merge(_ other: ClusterState) -> Bool {
        let a = layout.merge(other.layout)
        let b = buckets.merge(other.buckets)
        let c = keys.merge(other.keys)
        let d = permissions.merge(other.permissions)
        let e = bucketConfigs.merge(other.bucketConfigs)
        let f = adminTokens.merge(other.adminTokens)
        return a || b || c || d || e || f
    }

    /// The newest stamp anywhere in the state, so a clock can move past it.
    public var newestStamp: Stamp {
        [layout.applied.newestStamp, layout.stagedRoles.newestStamp, layout.stagedZoneCap.newestStamp,
         layout.stagedCode.newestStamp, buckets.newestStamp, keys.newestStamp, permissions.newestStamp, bucketConfigs.newestStamp, adminTokens.newestStamp]
            .compactMap { $0 }.max() ?? .zero
    }

    // MARK: Buckets

    /// Live buckets by name. Two buckets given one name on both sides of a
    /// partition: the older one keeps the name, the other is hidden.
    public var liveBuckets: [BucketName: BucketRecord] {
        var byName: [BucketName: BucketRecord] = [:]
        for record in buckets.entries.values.map(\.value) where !record.deleted {
            if let existing = byName[record.name],
               (existing.createdMillis, existing.id) < (record.createdMillis, record.id) { continue }
            byName[record.name] = record
        }
        return byName
    }

    /// The live bucket of that name (of two made at once, the first, as
    /// `liveBuckets` chooses), found without building that whole map: every
    /// S3 request asks.
    public func bucket(named name: String) throws(ClusterError) -> BucketRecord {
        let parsed = try BucketName(validating: name)
        var found: BucketRecord?
        for entry in buckets.entries.values where !entry.value.deleted && entry.value.name == parsed {
            if let existing = found, (existing.createdMillis, existing.id) < (entry.value.createdMillis, entry.value.id) { continue }
            found = entry.value
        }
        guard let found else { throw .noSuchBucket(name) }
        return found
    }

    public mutating func createBucket(name: String, id: BucketID, createdMillis: UInt64, stamp: Stamp) throws(ClusterError) -> BucketRecord {
        let parsed = try BucketName(validating: name)
        guard liveBuckets[parsed] == nil else { throw .bucketExists(name) }
        let record = BucketRecord(id: id, name: parsed, createdMillis: createdMillis)
        buckets.set(record.id, record, stamp: stamp)
        return record
    }

    public mutating func deleteBucket(name: String, stamp: Stamp) throws(ClusterError) {
        var record = try bucket(named: name)
        record.deleted = true
        buckets.set(record.id, record, stamp: stamp)
    }

    /// One of a bucket's configurations (nil when it has none of that kind).
    public func bucketConfig(_ kind: BucketConfig.Kind, of bucketID: String) -> BucketConfig? {
        guard let config = bucketConfigs[BucketConfig.entryKey(bucketID, kind)], !config.isEmpty else { return nil }
        return config
    }

    /// Sets (or, with nil, removes) one of a live bucket's configurations.
    public mutating func setBucketConfig(_ config: BucketConfig?, kind: BucketConfig.Kind, bucket name: String, stamp: Stamp) throws(ClusterError) {
        let record = try bucket(named: name)
        bucketConfigs.set(BucketConfig.entryKey(record.id, kind), config ?? BucketConfig(), stamp: stamp)
    }

    // MARK: Keys

    public var liveKeys: [AccessKeyRecord] {
        keys.entries.values.map(\.value).filter { !$0.deleted }.sorted { $0.id < $1.id }
    }

    /// A key by its full id, its name, or a unique prefix of its id.
    public func key(matching text: String) throws(ClusterError) -> AccessKeyRecord {
        try uniqueMatch(text, among: liveKeys, id: \.id.rawValue, name: \.name, idPrefix: AccessKeyID.prefix,
                        none: .noSuchKey(text), ambiguous: { .ambiguousKey($0, matches: $1) })
    }

    public static func validateKeyName(_ name: String) throws(ClusterError) {
        guard !name.isEmpty, name.count <= maxKeyNameLength, !name.contains(where: { $0.isNewline || $0 == "\t" }) else {
            throw .invalidKeyName(name)
        }
    }

    /// Adds a key with the given id and secret (created or imported).
    public mutating func addKey(_ record: AccessKeyRecord, stamp: Stamp) throws(ClusterError) {
        try Self.validateKeyName(record.name)
        if let existing = keys[record.id.rawValue], !existing.deleted { throw .keyExists(record.id.rawValue) }
        keys.set(record.id.rawValue, record, stamp: stamp)
    }

    public mutating func deleteKey(matching text: String, stamp: Stamp) throws(ClusterError) -> AccessKeyRecord {
        var record = try key(matching: text)
        record.deleted = true
        keys.set(record.id.rawValue, record, stamp: stamp)
        return record
    }

    /// The secret of a live key, for request signing checks.
    public func secret(for id: AccessKeyID) -> SecretKey? {
        guard let record = keys[id.rawValue], !record.deleted else { return nil }
        return record.secret
    }

    // MARK: Permissions

    static func permissionKey(_ key: AccessKeyID, _ bucketID: String, _ permission: Permission) -> String {
        "\(key.rawValue)/\(bucketID)/\(permission.rawValue)"
    }

    public func permissions(of key: AccessKeyID, on bucketID: String) -> Set<Permission> {
        guard let record = keys[key.rawValue], !record.deleted else { return [] }
        return Set(Permission.allCases.filter { permissions[Self.permissionKey(key, bucketID, $0)] == true })
    }

    public mutating func setPermissions(_ changed: Set<Permission>, allowed: Bool, key: AccessKeyID, bucketID: String, stamp: Stamp) throws(ClusterError) {
        guard !changed.isEmpty else { throw .noPermissionGiven }
        for permission in changed {
            permissions.set(Self.permissionKey(key, bucketID, permission), allowed, stamp: stamp)
        }
    }

    /// Every live key with some permission on `bucketID`.
    public func grants(on bucketID: String) -> [(key: AccessKeyRecord, permissions: Set<Permission>)] {
        liveKeys.compactMap { key in
            let granted = permissions(of: key.id, on: bucketID)
            return granted.isEmpty ? nil : (key, granted)
        }
    }

    /// Every live bucket `key` has some permission on.
    public func grants(of key: AccessKeyID) -> [(bucket: BucketRecord, permissions: Set<Permission>)] {
        liveBuckets.values.sorted { $0.name < $1.name }.compactMap { bucket in
            let granted = permissions(of: key, on: bucket.id)
            return granted.isEmpty ? nil : (bucket, granted)
        }
    }
}

/// Finds the node a user means: a full id, `id@host:port` (as `node id`
/// prints it), or a unique prefix of an id.
public func resolveNode(_ text: String, among candidates: some Collection<NodeID>) throws(ClusterError) -> NodeID {
    let idPart = text.split(separator: "@", maxSplits: 1).first.map(String.init) ?? text
    let wanted = idPart.lowercased()
    guard !wanted.isEmpty, wanted.allSatisfy(\.isHexDigit) else { throw .unknownNode(text) }
    if let exact = candidates.first(where: { $0.rawValue == wanted }) { return exact }
    let matches = Set(candidates.filter { $0.rawValue.hasPrefix(wanted) })
    if matches.count == 1 { return matches.first! }
    if matches.count > 1 { throw .ambiguousNode(text, matches: matches.sorted().map(\.shortForm)) }
    throw .unknownNode(text)
}

/// `cluster_state.json`: the state with the format it was written in.
/// Format 1 is the bare state (files written before the format was
/// recorded); format 2 wraps it as `{"format": 2, "state": …}`.
public struct ClusterStateFile: Codable, Sendable {
    public static let currentFormat = 2

    public let format: Int
    public let state: ClusterState

    public init(state: ClusterState) {
        format = Self.currentFormat
        self.state = state
    }

    public enum FormatError: Error, CustomStringConvertible {
        case newer(Int)
        public var description: String {
            switch self {
            case .newer(let format):
                return "it was written by a newer Shale (format \(format)); this one reads formats 1...\(ClusterStateFile.currentFormat)"
            }
        }
    }

    /// Reads a file of any known format.
    public static func decode(_ data: Data) throws -> ClusterState {
        struct Probe: Decodable { let format: Int? }
        let decoder = JSONDecoder()
        guard let format = try decoder.decode(Probe.self, from: data).format else {
            return try decoder.decode(ClusterState.self, from: data)
        }
        guard format <= currentFormat else { throw FormatError.newer(format) }
        return try decoder.decode(ClusterStateFile.self, from: data).state
    }
}
