/// A named admin token: besides the node's master `admin_token`, tokens an
/// operator hands out with a scope (the admin operations they may call) and
/// an optional expiry. The secret is kept only as its SHA-256, so a copy of
/// the cluster state does not give the tokens away. Revocation leaves a
/// tombstone, like every other entry of the replicated state.
public struct AdminTokenRecord: Codable, Sendable, Equatable {
    public var id: AdminTokenID
    public var name: String
    /// Lowercase hex SHA-256 of the secret part of the token.
    public var secretSHA256: String
    /// Admin operation names, or `*` for every operation (the admin layer validates them).
    public var scope: [String]
    public var createdMillis: UInt64
    /// Wall-clock milliseconds after which the token is refused (nil: never).
    public var expiresMillis: UInt64?
    public var revoked: Bool

    public init(id: AdminTokenID, name: String, secretSHA256: String, scope: [String], createdMillis: UInt64, expiresMillis: UInt64?) {
        self.id = id; self.name = name; self.secretSHA256 = secretSHA256; self.scope = scope
        self.createdMillis = createdMillis; self.expiresMillis = expiresMillis; self.revoked = false
    }

    public func isExpired(atMillis now: UInt64) -> Bool { expiresMillis.map { now >= $0 } ?? false }
}

/// An admin token's public id: "AT" and 16 lowercase hex digits. The token a
/// client sends is `ID.SECRET`, so the id finds the record without a scan.
public struct AdminTokenID: PrefixedHexID {
    public static let prefix = "AT"
    public static let hexDigits = 16
    public let rawValue: String
    public init(validated text: String) { rawValue = text }
}

extension ClusterState {
    /// Live (not revoked) tokens, expired ones included (`list` shows them as expired).
    public var liveAdminTokens: [AdminTokenRecord] {
        adminTokens.entries.values.map(\.value).filter { !$0.revoked }.sorted { $0.id < $1.id }
    }

    /// A token by its id, its name, or a unique prefix of its id.
    public func adminToken(matching text: String) throws(ClusterError) -> AdminTokenRecord {
        try uniqueMatch(text, among: liveAdminTokens, id: \.id.rawValue, name: \.name, idPrefix: AdminTokenID.prefix,
                        none: .noSuchAdminToken(text), ambiguous: { .ambiguousAdminToken($0, matches: $1) })
    }

    public mutating func addAdminToken(_ record: AdminTokenRecord, stamp: Stamp) throws(ClusterError) {
        try Self.validateKeyName(record.name)
        guard adminTokens[record.id.rawValue] == nil else { throw .adminTokenExists(record.id.rawValue) }
        if liveAdminTokens.contains(where: { $0.name == record.name }) { throw .adminTokenExists(record.name) }
        adminTokens.set(record.id.rawValue, record, stamp: stamp)
    }

    public mutating func revokeAdminToken(matching text: String, stamp: Stamp) throws(ClusterError) -> AdminTokenRecord {
        var record = try adminToken(matching: text)
        record.revoked = true
        adminTokens.set(record.id.rawValue, record, stamp: stamp)
        return record
    }
}
