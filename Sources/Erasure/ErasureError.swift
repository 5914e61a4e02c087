/// Everything the erasure layer can refuse, with a message fit for a user.
public enum ErasureError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooManyMissing(missing: Int, tolerated: Int)
    case shardIndexOutOfRange(index: Int, shardCount: Int)
    case invalidShardLength(Int)
    case bufferTooSmall(needed: Int, available: Int)
    case backendUnavailable(ErasureBackendKind)
    case unknownBackendName(String)

    public var description: String {
        switch self {
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
        case .unknownBackendName(let name):
            return "unknown erasure backend '\(name)': use 'isal' or 'swift'"
        }
    }
}
