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
public struct AdminTokenID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public static let hexDigits = 16
    public let rawValue: String

    public init?(_ text: String) {
        guard text.count == 2 + Self.hexDigits, text.hasPrefix("AT"),
              text.dropFirst(2).allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
        rawValue = text
    }

    public init(randomBytes bytes: [UInt8]) {
        precondition(bytes.count == Self.hexDigits / 2)
        rawValue = "AT" + bytes.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }

    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = AdminTokenID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad admin token id \(text)"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

extension ClusterState {
    /// Live (not revoked) tokens, expired ones included (`list` shows them as expired).
    public var liveAdminTokens: [AdminTokenRecord] {
        adminTokens.entries.values.map(\.value).filter { !$0.revoked }.sorted { $0.id < $1.id }
    }

    /// A token by its id, its name, or a unique prefix of its id.
    public func adminToken(matching text: String) throws(ClusterError) -> AdminTokenRecord {
        let live = liveAdminTokens
        if let exact = live.first(where: { $0.id.rawValue == text }) { return exact }
        let named = live.filter { $0.name == text }
        if named.count == 1 { return named[0] }
        if named.count > 1 { throw .ambiguousAdminToken(text, matches: named.map(\.id.rawValue)) }
        guard text.count >= 4, text.hasPrefix("AT") else { throw .noSuchAdminToken(text) }
        let prefixed = live.filter { $0.id.rawValue.hasPrefix(text) }
        if prefixed.count == 1 { return prefixed[0] }
        if prefixed.count > 1 { throw .ambiguousAdminToken(text, matches: prefixed.map(\.id.rawValue)) }
        throw .noSuchAdminToken(text)
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
