import Logging
import ServiceLifecycle

/// The heartbeat loop: every second, ping every peer and candidate. Stops
/// on graceful shutdown.
public struct MembershipService: Service {
    public static let intervalMillis = 1000
    let node: ClusterNode

    public init(node: ClusterNode) { self.node = node }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await node.heartbeatRound()
            try? await cancelWhenGracefulShutdown { try await node.wallClock.sleep(millis: UInt64(Self.intervalMillis)) }
        }
    }
}
