import ClusterModel

/// A node as it describes itself to peers.
public struct PeerInfo: Codable, Sendable, Equatable {
    public let id: String
    public let address: String
    public let hostname: String
    public let dataAvailableBytes: UInt64?
}

public struct PeerAddress: Codable, Sendable, Hashable {
    public let id: String
    public let address: String
}

/// The heartbeat, both ways: who I am, whom I know, what state I hold.
struct PingMessage: Codable, Sendable {
    let node: PeerInfo
    let knownPeers: [PeerAddress]
    let stateDigest: String
}

struct SyncMessage: Codable, Sendable {
    let state: ClusterState
}

enum RPCMethod: String, Sendable {
    case ping
    case sync

    static let pathPrefix = "/rpc/v1/"
    var path: String { Self.pathPrefix + rawValue }
}
