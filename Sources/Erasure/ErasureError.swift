/// Everything the erasure layer can refuse, with a message fit for a user.
public enum ErasureError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidDataShardCount(Int)
    case invalidParityShardCount(Int)
    case tooManyShards(total: Int)
    case tooManyMissing(missing: Int, tolerated: Int)
    case shardIndexOutOfRange(index: Int, shardCount: Int)
    case invalidShardLength(Int)
    case bufferTooSmall(needed: Int, available: Int)
    case backendUnavailable(ErasureBackendKind)
    case unknownBackendName(String)
    case unparsableCode(String)

    public var description: String {
        switch self {
        case .invalidDataShardCount(let k):
            return "data shard count k must be at least 1 (got \(k))"
        case .invalidParityShardCount(let m):
            return "parity shard count m must be at least 0 (got \(m))"
        case .tooManyShards(let total):
            return "k + m must be at most \(ErasureCode.maxTotalShards) (got \(total))"
        case .tooManyMissing(let missing, let tolerated):
            return "\(missing) shards are missing but this code tolerates at most \(tolerated): the stripe cannot be reconstructed"
        case .shardIndexOutOfRange(let index, let shardCount):
            return "shard index \(index) is outside 0..<\(shardCount)"
        case .invalidShardLength(let length):
            return "shard length must be zero or more (got \(length))"
        case .bufferTooSmall(let needed, let available):
            return "buffer holds \(available) bytes but \(needed) are needed"
        case .backendUnavailable(let kind):
            return "erasure backend '\(kind.rawValue)' is not available in this build (built without the ISAL trait)"
        case .unparsableCode(let text):
            return "'\(text)' is not an erasure code: write K+M, e.g. 4+2 (k data shards, m parity shards)"
        case .unknownBackendName(let name):
            return "unknown erasure backend '\(name)': use 'isal' or 'swift'"
        }
    }
}
