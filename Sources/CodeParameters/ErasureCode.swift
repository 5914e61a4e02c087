/// The parameters of a Reed-Solomon code: k data shards and m parity shards.
/// k = 1 is replication with m + 1 copies. A value type below both Erasure
/// (which encodes with it) and Placement (which places its k + m slots).
public struct ErasureCode: Hashable, Sendable, CustomStringConvertible {
    /// GF(2^8) has 255 non-zero elements; the Cauchy construction needs i ^ j ≠ 0
    /// over distinct row/column indices, which holds up to 255 rows here.
    public static let maxTotalShards = 255

    public let dataShards: Int
    public let parityShards: Int

    public init(dataShards: Int, parityShards: Int) throws(CodeParameterError) {
        guard dataShards >= 1 else { throw .invalidDataShardCount(dataShards) }
        guard parityShards >= 0 else { throw .invalidParityShardCount(parityShards) }
        guard dataShards + parityShards <= Self.maxTotalShards else {
            throw .tooManyShards(total: dataShards + parityShards)
        }
        self.dataShards = dataShards
        self.parityShards = parityShards
    }

    /// Parses "K+M", e.g. "4+2".
    public init(parsing text: String) throws(CodeParameterError) {
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

/// Why k and m do not make a code, with a message fit for a user.
public enum CodeParameterError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidDataShardCount(Int)
    case invalidParityShardCount(Int)
    case tooManyShards(total: Int)
    case unparsableCode(String)

    public var description: String {
        switch self {
        case .invalidDataShardCount(let k): return "data shard count k must be at least 1 (got \(k))"
        case .invalidParityShardCount(let m): return "parity shard count m must be at least 0 (got \(m))"
        case .tooManyShards(let total): return "k + m must be at most \(ErasureCode.maxTotalShards) (got \(total))"
        case .unparsableCode(let text):
            return "'\(text)' is not an erasure code: write K+M, e.g. 4+2 (k data shards, m parity shards)"
        }
    }
}
