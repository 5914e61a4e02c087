import Logging
import ServiceLifecycle

/// The heartbeat loop: every second, ping every peer and candidate. Stops
/// on graceful shutdown.
public struct MembershipService: Service {
    public static let intervalMillis = 1000
    let node: ClusterNode

    public init(node: ClusterNode) { self.node = node }

    public func run() async throws {
        var beats = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // The disk used by shards travels with the heartbeats; counting it walks the shard directories: once a
            // minute, beside the heartbeats (never delaying them; a count still running is not started twice).
            if beats % Self.shardCountEveryBeats == 0 {
                let node = self.node
                Task.detached(priority: .background) { node.countShardBytes() }
            }
            beats += 1
            await node.heartbeatRound()
            try? await cancelWhenGracefulShutdown { try await node.wallClock.sleep(millis: UInt64(Self.intervalMillis)) }
        }
    }

    static let shardCountEveryBeats = 60
}
