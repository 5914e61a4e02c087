import Placement

/// Why a change to the cluster-wide state was refused. Every case reads as
/// one line an operator can act on.
public enum ClusterError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidBucketName(String, reason: String)
    case bucketExists(String)
    case noSuchBucket(String)
    case bucketNotEmpty(String)
    case noSuchKey(String)
    case ambiguousKey(String, matches: [String])
    case keyExists(String)
    case invalidKeyID(String)
    case invalidSecret
    case invalidKeyName(String)
    case noPermissionGiven
    case unknownNode(String)
    case ambiguousNode(String, matches: [String])
    case noSuchAdminToken(String)
    case ambiguousAdminToken(String, matches: [String])
    case adminTokenExists(String)
    case layout(PlacementError)

    public var description: String {
        switch self {
        case .invalidBucketName(let name, let reason): return "invalid bucket name '\(name)': \(reason)"
        case .bucketExists(let name): return "bucket '\(name)' already exists"
        case .noSuchBucket(let name): return "no bucket named '\(name)'"
        case .bucketNotEmpty(let name): return "bucket '\(name)' is not empty: delete its objects first"
        case .noSuchKey(let text): return "no access key with id or name '\(text)'"
        case .ambiguousKey(let text, let matches): return "'\(text)' matches several keys (\(matches.joined(separator: ", "))): give the key id"
        case .keyExists(let id): return "access key \(id) already exists"
        case .invalidKeyID(let text): return "'\(text)' is not an access key id: expected GK followed by 24 lowercase hex digits"
        case .invalidSecret: return "a secret key is 64 lowercase hex digits"
        case .invalidKeyName(let name): return "invalid key name '\(name)': use 1 to 128 printable characters"
        case .noPermissionGiven: return "give at least one of --read, --write, --owner"
        case .unknownNode(let text): return "no known node matches '\(text)'"
        case .ambiguousNode(let text, let matches): return "'\(text)' matches several nodes (\(matches.joined(separator: ", "))): give more of the id"
        case .noSuchAdminToken(let text): return "no admin token with id or name '\(text)'"
        case .ambiguousAdminToken(let text, let matches):
            return "'\(text)' matches several admin tokens (\(matches.joined(separator: ", "))): give the token id"
        case .adminTokenExists(let text): return "an admin token '\(text)' already exists"
        case .layout(let error): return error.description
        }
    }
}
