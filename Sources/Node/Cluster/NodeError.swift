import ClusterModel
import Storage

/// Why a node operation failed, in words an operator can act on.
public enum NodeError: Error, Sendable, CustomStringConvertible {
    /// A disk or database failure, with its typed cause.
    case disk(StorageError)
    /// A node file that cannot be used, said in words an operator can act on.
    case storage(String)
    case cluster(ClusterError)
    case peer(String)
    case invalidRequest(String)
    case notReady(String)
    /// A shard chunk arrived with a CRC32C that does not match its bytes.
    case corruptTransfer
    /// The node holds no such shard.
    case shardMissing(String)

    public var description: String {
        switch self {
        case .disk(let error): return error.description
        case .storage(let message): return message
        case .cluster(let error): return error.description
        case .peer(let message): return message
        case .invalidRequest(let message): return message
        case .notReady(let message): return message
        case .corruptTransfer: return "a shard chunk failed its CRC32C in transfer"
        case .shardMissing(let what): return "shard missing: \(what)"
        }
    }
}
