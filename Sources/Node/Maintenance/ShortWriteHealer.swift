import ClusterModel
import Foundation
import Logging
import Metrics
import Placement
import ServiceLifecycle
import Synchronization
import Units

/// Bodies acknowledged with fewer than their k + m shards (a quorum write
/// whose other slots failed or were too slow, `slow_shard_timeout_millis`),
/// to be made whole in the background, each retried
/// with a growing pause while its missing owners stay away. Bounded, kept in
/// memory only: what does not fit, what the node forgets when it stops and
/// what stays short past `giveUpMillis` is left to `shale rebuild`, which
/// finds the same bodies by walking every row (`rebuild verify` names them
/// "not written").
final class ShortWriteQueue: Sendable {
    static let capacity = 10_000
    /// The first attempt waits this long: the owner that missed the write was failing or slow a moment ago.
    static let firstPauseMillis: UInt64 = 1_000
    static let longestPauseMillis: UInt64 = 60_000
    static let giveUpMillis: UInt64 = 30 * 60_000

    struct Entry: Sendable {
        let body: BodyRef
        let queuedMillis: UInt64
        var attempts = 0
        var dueMillis: UInt64
    }

    private struct State {
        var entries: [Entry] = []
        var queued: Set<BodyRef> = []
    }

    private let state = Mutex(State())

    /// Queues `body` (once); false when the queue is full.
    @discardableResult
    func enqueue(_ body: BodyRef, now: UInt64) -> Bool {
        state.withLock { state in
            guard !state.queued.contains(body) else { return true }
            guard state.entries.count < Self.capacity else { return false }
            state.queued.insert(body)
            state.entries.append(Entry(body: body, queuedMillis: now, dueMillis: now + Self.firstPauseMillis))
            return true
        }
    }

    /// Takes every entry due by `now` off the queue.
    func takeDue(now: UInt64) -> [Entry] {
        state.withLock { state in
            var due: [Entry] = []
            state.entries.removeAll { entry in
                guard entry.dueMillis <= now else { return false }
                due.append(entry)
                return true
            }
            for entry in due { state.queued.remove(entry.body) }
            return due
        }
    }

    /// Puts a taken entry back for a later attempt, its pause doubled; false
    /// (and not queued) once it has waited `giveUpMillis`, or the queue is full
    /// or already holds the body again.
    func retry(_ entry: Entry, now: UInt64) -> Bool {
        guard now < entry.queuedMillis + Self.giveUpMillis else { return false }
        var next = entry
        next.attempts += 1
        next.dueMillis = now + min(Self.longestPauseMillis, Self.firstPauseMillis << min(next.attempts, 16))
        return state.withLock { state in
            guard !state.queued.contains(next.body), state.entries.count < Self.capacity else { return false }
            state.queued.insert(next.body)
            state.entries.append(next)
            return true
        }
    }

    var count: Int { state.withLock { $0.entries.count } }
}

/// What one pass over the due short bodies did.
struct ShortWritePass: Equatable, Sendable {
    /// Bodies whose missing shards were written and whose row now names every slot.
    var healed = 0
    /// Bodies with nothing left to do: whole already, or no row names them any more (overwritten, deleted).
    var settled = 0
    /// Bodies put back for a later attempt (an owner away, the row changed meanwhile).
    var retried = 0
    /// Bodies left to `shale rebuild`: short too long, or fewer than k shards readable.
    var abandoned = 0
}

extension ObjectService {
    /// Queues the bodies of a row just written that have fewer shards than
    /// their code's k + m, to be completed in the background.
    func noteShortBodies(_ bodies: [StoredBody], table: String, rowKey: String, objectKey: String, bucket: BucketID) {
        for body in bodies where !body.storedSlots.isEmpty && body.storedSlots.count < body.dataShards + body.parityShards {
            let queued = shortWrites.enqueue(BodyRef(table: table, rowKey: rowKey, objectKey: objectKey, bucket: bucket, versionID: body.versionID),
                                             now: node.wallClock.nowMillis())
            Counter(label: queued ? "shale_short_writes_queued_total" : "shale_short_writes_abandoned_total").increment()
        }
    }

    /// The rebuild's step for one body (shards written to the current owners,
    /// then the row edited by compare-and-set), paced by
    /// `transfer_rate_mib_per_second`: the rebuild job's and the short writes'.
    func bodyRebuilder() -> BodyRebuilder {
        BodyRebuilder(tables: metadata, access: access, survey: ShardSurvey(access: access, peers: peers),
                      budget: SharedRateBudget(bytesPerSecond: UInt64(node.config.transferRateMiBPerSecond) << 20, clock: node.wallClock),
                      ballot: { self.stamp(replacing: $0) })
    }

    /// Works through every short body due now, one after another.
    func healShortWrites(with rebuilder: BodyRebuilder) async -> ShortWritePass {
        var pass = ShortWritePass()
        let due = shortWrites.takeDue(now: node.wallClock.nowMillis())
        guard !due.isEmpty else { return pass }
        let routing = await node.routing()
        for entry in due {
            let body = entry.body
            let outcome: BodyRebuilder.Outcome
            do {
                outcome = try await rebuilder.rebuild(body, routing: routing)
            } catch {
                if shortWrites.retry(entry, now: node.wallClock.nowMillis()) {
                    pass.retried += 1
                } else {
                    pass.abandoned += 1
                    logger.warning("short write left to `shale rebuild`", metadata: ["version": "\(body.versionID)", "error": "\(error)"])
                }
                continue
            }
            switch outcome {
            case .rebuilt: pass.healed += 1
            case .alreadyWhole: pass.settled += 1
            case .unrecoverable(let surviving):
                pass.abandoned += 1
                logger.error("short write has fewer than k shards readable", metadata: ["version": "\(body.versionID)", "surviving": "\(surviving)"])
            }
        }
        Counter(label: "shale_short_writes_healed_total").increment(by: pass.healed)
        Counter(label: "shale_short_writes_abandoned_total").increment(by: pass.abandoned)
        if pass.healed > 0 { logger.info("short writes completed", metadata: ["bodies": "\(pass.healed)"]) }
        return pass
    }
}

/// Completes short writes in the background (see `ShortWriteQueue`).
public struct ShortWriteHealService: Service {
    static let idleMillis: UInt64 = 500
    let objects: ObjectService

    public init(objects: ObjectService) { self.objects = objects }

    public func run() async throws {
        let rebuilder = objects.bodyRebuilder()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            _ = await objects.healShortWrites(with: rebuilder)
            try? await cancelWhenGracefulShutdown { try await objects.node.wallClock.sleep(millis: Self.idleMillis) }
        }
    }
}
