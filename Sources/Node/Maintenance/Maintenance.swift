import ClusterModel
import Foundation
import Logging
import Placement
import ServiceLifecycle
import Units

/// What the admin API needs for the cluster's redundancy: verify, the
/// rebuild job, and the scrub on every node. `Maintenance` is the real one.
public protocol MaintenanceControl: Sendable {
    /// Every live object's shards, checked on their holders (`shale rebuild verify`).
    func verifyRedundancy() async throws(ObjectError) -> RedundancyReport
    /// The newest verify's findings on this node (nil: none since it started), for `status`.
    func lastVerify() async -> RedundancyReport?
    func startRebuild(dryRun: Bool, reason: String) async throws(ObjectError) -> RebuildStatus
    func rebuildStatus() async -> RebuildStatus
    /// Starts a scrub pass on every reachable node; their statuses.
    func startScrub() async -> [ScrubStatus]
    func scrubStatus() async -> [ScrubStatus]
}

/// The node's redundancy work: the rebuild coordinator, the scrub schedule,
/// and a service that resumes an interrupted rebuild at start-up.
public final class Maintenance: MaintenanceControl, Service {
    let objects: ObjectService
    let rebuild: RebuildCoordinator

    public init(objects: ObjectService) {
        self.objects = objects
        rebuild = RebuildCoordinator(objects: objects)
    }

    public func verifyRedundancy() async throws(ObjectError) -> RedundancyReport { try await rebuild.verify() }
    public func lastVerify() async -> RedundancyReport? { await rebuild.lastVerify }
    public func startRebuild(dryRun: Bool, reason: String) async throws(ObjectError) -> RebuildStatus {
        try await rebuild.start(dryRun: dryRun, reason: reason)
    }
    public func rebuildStatus() async -> RebuildStatus { await rebuild.current() }

    public func startScrub() async -> [ScrubStatus] { await everyNode(.scrubStart) { await $0.start() } }
    public func scrubStatus() async -> [ScrubStatus] { await everyNode(.scrubStatus) { await $0.current() } }

    /// This node's answer and every reachable peer's, in node order.
    private func everyNode(_ method: RPCMethod, local: (Scrubber) async -> ScrubStatus) async -> [ScrubStatus] {
        let routing = await objects.node.routing()
        var answers = [await local(objects.scrubber)]
        let peers = (routing.current?.roles.keys.sorted() ?? []).filter { $0 != routing.selfID && routing.reachable($0) }
        for peer in peers {
            guard let address = routing.addresses[peer], let data = try? await objects.peers.call(method, to: peer, at: address, body: Data("{}".utf8)),
                  let status = try? JSONDecoder().decode(ScrubStatus.self, from: data) else { continue }
            answers.append(status)
        }
        return answers.sorted { $0.node < $1.node }
    }

    public func run() async throws {
        await rebuild.resume()
        let hours = objects.node.config.scrubIntervalHours
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            guard hours > 0 else {
                try? await gracefulShutdown()
                break
            }
            try? await cancelWhenGracefulShutdown { try await self.objects.node.wallClock.sleep(millis: UInt64(hours) * 3_600_000) }
            guard !Task.isShuttingDownGracefully && !Task.isCancelled else { break }
            _ = await objects.scrubber.start()
        }
        await rebuild.stop()
    }
}
