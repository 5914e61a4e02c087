import Foundation
import Placement

/// What this node knows of another: where it is, when it last answered.
public struct Peer: Sendable, Equatable {
    public var id: NodeID
    public var address: HostPort
    public var hostname: String
    public var dataAvailableBytes: UInt64?
    public var shardBytes: UInt64?
    /// Wall-clock time of the last authenticated exchange with it.
    public var lastSeen: Date?
}

/// The membership view: known peers and their liveness. Pure; the times are passed in.
public struct PeerTable: Sendable {
    /// A peer not heard from for this long is listed as failed.
    public static let failureAfterSeconds: TimeInterval = 5

    public private(set) var peers: [NodeID: Peer] = [:]
    /// Addresses to try that have not answered yet (bootstrap peers, gossip).
    public private(set) var candidates: Set<HostPort> = []

    public init() {}

    public mutating func addCandidate(_ address: HostPort) {
        if !peers.values.contains(where: { $0.address == address }) { candidates.insert(address) }
    }

    public mutating func dropCandidate(_ address: HostPort) { candidates.remove(address) }

    /// Records an authenticated exchange with `info`'s node.
    public mutating func heard(from id: NodeID, address: HostPort, hostname: String, dataAvailableBytes: UInt64?, shardBytes: UInt64? = nil,
                               at now: Date) {
        // An address now held by a different node (a machine rebuilt) no longer points at the old one.
        for (other, peer) in peers where other != id && peer.address == address { peers[other] = nil }
        peers[id] = Peer(id: id, address: address, hostname: hostname, dataAvailableBytes: dataAvailableBytes, shardBytes: shardBytes, lastSeen: now)
        candidates.remove(address)
    }

    /// Restores a peer from disk, not yet seen in this run.
    public mutating func remember(_ id: NodeID, address: HostPort) {
        guard peers[id] == nil else { return }
        peers[id] = Peer(id: id, address: address, hostname: "", dataAvailableBytes: nil, shardBytes: nil, lastSeen: nil)
    }

    public func isHealthy(_ id: NodeID, now: Date) -> Bool {
        guard let seen = peers[id]?.lastSeen else { return false }
        return now.timeIntervalSince(seen) <= Self.failureAfterSeconds
    }

    public var addresses: [PeerAddress] {
        peers.values.map { PeerAddress(id: $0.id.rawValue, address: $0.address.description) }.sorted { $0.id < $1.id }
    }
}
