/// The parameters of a Reed-Solomon code: k data shards and m parity shards.
/// k = 1 is replication with m + 1 copies.
public struct ErasureCode: Hashable, Sendable, CustomStringConvertible {
    /// GF(2^8) has 255 non-zero elements; the Cauchy construction needs i ^ j ≠ 0
    /// over distinct row/column indices, which holds up to 255 rows here.
    public static let maxTotalShards = 255

    public let dataShards: Int
    public let parityShards: Int

    public init(dataShards: Int, parityShards: Int) throws(ErasureError) {
        guard dataShards >= 1 else { throw .invalidDataShardCount(dataShards) }
        guard parityShards >= 0 else { throw .invalidParityShardCount(parityShards) }
        guard dataShards + parityShards <= Self.maxTotalShards else {
            throw .tooManyShards(total: dataShards + parityShards)
        }
        self.dataShards = dataShards
        self.parityShards = parityShards
    }

    /// Parses "K+M", e.g. "4+2".
    public init(parsing text: String) throws(ErasureError) {
        let parts = text.split(separator: "+", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let m = Int(parts[1]) else { throw .unparsableCode(text) }
        try self.init(dataShards: k, parityShards: m)
    }

    public var totalShards: Int { dataShards + parityShards }
    /// Raw bytes stored per byte of user data.
    public var storageOverhead: Double { Double(totalShards) / Double(dataShards) }
    /// How many shards of a stripe may be lost with the data still readable.
    public var toleratedLosses: Int { parityShards }
    public var description: String { "\(dataShards)+\(parityShards)" }
}

/// A shard's position in a stripe: 0..<k are data, k..<k+m parity.
public struct ShardIndex: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    public static func < (lhs: ShardIndex, rhs: ShardIndex) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
}
