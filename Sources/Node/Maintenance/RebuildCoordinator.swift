import ClusterModel
import Foundation
import Logging
import Metrics
import Placement
import Storage
import Units

/// Runs `shale rebuild` on this node: plans (every row of every bucket, and
/// which holders have which shards whole), then rebuilds the bodies that
/// need it — fewest surviving shards first — a few at a time at the
/// configured transfer rate, then retries what failed, then verifies. Its
/// status and work list are journaled in the metadata store after every
/// step, so a restarted node resumes where it stopped and redoes nothing
/// finished. One job at a time per node.
public actor RebuildCoordinator {
    static let parallelism = 4
    static let retryPasses = 2
    static let retryPauseNanoseconds: UInt64 = 2_000_000_000
    static let unrecoverableListed = 1000

    let objects: ObjectService
    let journal: RebuildJournal
    private var status: RebuildStatus
    private var job: Task<Void, Never>?
    private var samples: [(millis: UInt64, bytes: UInt64)] = []
    /// The newest verify's per-partition findings, for `status`.
    private(set) var lastVerify: RedundancyReport?

    init(objects: ObjectService) {
        self.objects = objects
        journal = RebuildJournal(store: objects.metadataStore)
        status = RebuildStatus(node: objects.node.id.rawValue)
    }

    var logger: Logger { objects.logger }
    var clock: any WallClock { objects.node.wallClock }

    /// At start-up: picks up a job the node was running when it stopped.
    func resume() async {
        guard let data = try? await journal.loadJob(), let saved = try? JSONDecoder().decode(RebuildStatus.self, from: data) else { return }
        status = saved
        status.node = objects.node.id.rawValue
        guard saved.isRunning else { return }
        logger.info("resuming the rebuild", metadata: ["phase": "\(saved.phase.rawValue)", "done": "\(saved.objectsDone)/\(saved.objectsTotal)"])
        await awaitPeers()
        launch(plan: saved.phase == .planning)
    }

    /// A node just started has not heard every peer yet: give the layout's
    /// nodes up to `peerWaitSeconds` to answer, so the job does not take
    /// peers that are merely not heard from yet for lost ones.
    static let peerWaitSeconds = 30

    private func awaitPeers() async {
        for _ in 0..<(Self.peerWaitSeconds * 4) {
            let routing = await objects.node.routing()
            if let layout = routing.current, layout.roles.keys.allSatisfy(routing.reachable) { return }
            try? await Task.sleep(nanoseconds: 250_000_000)
        }
    }

    /// Starts a job (or answers the running one, when it already targets the
    /// current layout); `dryRun` plans without writing and returns the plan.
    func start(dryRun: Bool, reason: String) async throws(ObjectError) -> RebuildStatus {
        if dryRun { return try await plan(dryRun: true, reason: reason) }
        let routing = await objects.node.routing()
        guard let layout = routing.current else { throw .notReady("no layout applied") }
        if status.isRunning {
            if status.layoutVersion == layout.version.rawValue { return await current() }
            // A newer layout: plan again for it (bodies already home are not planned again).
            job?.cancel()
            await job?.value
        }
        status = RebuildStatus(node: objects.node.id.rawValue)
        status.phase = .planning
        status.reason = reason
        status.layoutVersion = layout.version.rawValue
        status.startedMillis = clock.nowMillis()
        samples = []
        await save()
        launch(plan: true)
        return status
    }

    /// The job's status with its counts read from the journal now.
    func current() async -> RebuildStatus {
        if status.isRunning || status.phase == .incomplete { await refresh() }
        return status
    }

    /// `rebuild verify`, remembered for `status`.
    func verify() async throws(ObjectError) -> RedundancyReport {
        let report = try await objects.verifyRedundancy()
        lastVerify = report
        return report
    }

    func waitForJob() async { await job?.value }

    /// Stops the job where it is (the node is shutting down); the journal keeps it for `resume`.
    func stop() async {
        job?.cancel()
        await job?.value
    }

    // MARK: The job

    private func launch(plan: Bool) {
        job = Task { await self.run(plan: plan) }
    }

    private func run(plan: Bool) async {
        do {
            if plan { _ = try await self.plan(dryRun: false, reason: status.reason ?? "by hand") }
            status.phase = .rebuilding
            await refresh()
            await save()
            for pass in 0...Self.retryPasses {
                try await rebuildPending()
                guard pass < Self.retryPasses else { break }
                guard (try? await journal.retryFailed()) ?? 0 > 0 else { break }
                status.errors = 0
                // A peer restarting or a row being written: give it a moment before the next pass.
                try await Task.sleep(nanoseconds: Self.retryPauseNanoseconds)
            }
            try Task.checkCancellation()
            await refresh()
            status.phase = .verifying
            await save()
            let report = try await verify()
            try Task.checkCancellation()
            status.verify = RebuildStatus.Verified(checkedAtMillis: report.checkedAtMillis, fullyRedundant: report.fullyRedundant,
                                                   objects: report.objects, bytes: report.bytes, problems: report.problems.count)
            status.phase = report.fullyRedundant && status.unrecoverableCount == 0 && status.errors == 0 ? .done : .incomplete
        } catch is CancellationError {
            return
        } catch {
            if Task.isCancelled { return }
            status.phase = .incomplete
            status.lastError = "\(error)"
        }
        status.finishedMillis = clock.nowMillis()
        await refresh()
        await save()
        logger.info("rebuild finished", metadata: ["phase": "\(status.phase.rawValue)", "objects": "\(status.objectsDone)/\(status.objectsTotal)",
                                                   "bytes": "\(status.bytesRestored)", "unrecoverable": "\(status.unrecoverableCount)"])
    }

    /// Walks every row; journals (or, dry, counts) every body that needs shards written.
    private func plan(dryRun: Bool, reason: String) async throws(ObjectError) -> RebuildStatus {
        let routing = await objects.node.routing()
        guard let layout = routing.current else { throw .notReady("no layout applied") }
        if !dryRun { do { try await journal.clearWork() } catch { throw .internalError("\(error)") } }
        var planned = RebuildStatus(node: objects.node.id.rawValue)
        planned.dryRun = dryRun
        planned.reason = reason
        planned.layoutVersion = layout.version.rawValue
        planned.startedMillis = clock.nowMillis()
        let survey = ShardSurvey(access: objects.access, peers: objects.peers)
        let buckets = await objects.node.state.liveBuckets.values.sorted { $0.name < $1.name }
        let names = await bucketNames()
        var partitions: Set<Int> = []
        try await BodyWalk(tables: objects.metadata).run(buckets: buckets.map(\.bucketID), routing: routing) { page in
            try Task.checkCancellation()
            let plans = await survey.plans(page, routing: routing)
            var work: [RebuildJournal.Work] = []
            for (placed, plan) in zip(page, plans) where plan.isNeeded {
                let item = RebuildJournal.Work(table: placed.table, rowKey: placed.rowKey, objectKey: placed.objectKey, bucketHex: placed.bucket.hex,
                                               versionID: placed.body.versionID, partition: placed.partition.index, surviving: plan.surviving,
                                               writes: plan.writes, lost: plan.lost, bytes: UInt64(plan.writes.count) * placed.shardBytes,
                                               state: plan.isRecoverable ? .pending : .unrecoverable)
                work.append(item)
                partitions.insert(item.partition)
                planned.objectsTotal += 1
                planned.bytesTotal += item.bytes
                if !plan.isRecoverable {
                    planned.unrecoverableCount += 1
                    if planned.unrecoverable.count < Self.unrecoverableListed {
                        planned.unrecoverable.append(.init(bucket: names[placed.bucket.hex] ?? placed.bucket.hex, key: placed.objectKey,
                                                           versionID: placed.body.versionID, surviving: plan.surviving))
                    }
                }
            }
            planned.partitionsTotal = partitions.count
            planned.bytesRemaining = planned.bytesTotal
            if !dryRun {
                try await journal.add(work)
                self.planningProgress(planned)
            }
        }
        planned.updatedMillis = clock.nowMillis()
        if dryRun { planned.phase = .done; planned.finishedMillis = planned.updatedMillis }
        return planned
    }

    private func planningProgress(_ planned: RebuildStatus) {
        status.objectsTotal = planned.objectsTotal
        status.bytesTotal = planned.bytesTotal
        status.partitionsTotal = planned.partitionsTotal
        status.updatedMillis = clock.nowMillis()
        publish()
    }

    /// Works through the pending bodies, `parallelism` at once, until none is left.
    private func rebuildPending() async throws {
        let rebuilder = objects.bodyRebuilder()
        let journal = journal
        var sinceSave = 0
        while true {
            try Task.checkCancellation()
            let batch = try await journal.work(in: .pending, limit: Self.parallelism * 16)
            guard !batch.isEmpty else { return }
            let routing = await objects.node.routing()
            try await withThrowingTaskGroup(of: Void.self) { group in
                var running = 0
                for item in batch {
                    if running == Self.parallelism {
                        try await group.next()
                        running -= 1
                    }
                    group.addTask {
                        let state: RebuildJournal.Work.State
                        var failure: String?
                        var bytes: UInt64 = 0
                        do {
                            switch try await rebuilder.rebuild(item, routing: routing) {
                            case .rebuilt(let written): state = .done; bytes = written
                            case .alreadyWhole: state = .done
                            case .unrecoverable: state = .unrecoverable
                            }
                        } catch {
                            state = .failed
                            failure = "\(item.objectKey) (\(item.versionID.prefix(8))): \(error)"
                        }
                        try await journal.mark(item, state)
                        await self.finished(item, state: state, bytes: bytes, failure: failure)
                    }
                    running += 1
                }
                try await group.waitForAll()
            }
            sinceSave += batch.count
            if sinceSave >= 64 {
                sinceSave = 0
                await refresh()
                await save()
            }
        }
    }

    private func finished(_ item: RebuildJournal.Work, state: RebuildJournal.Work.State, bytes: UInt64, failure: String?) {
        status.bytesRestored += bytes
        if let failure {
            status.errors += 1
            status.lastError = failure
            logger.warning("rebuild of a body failed; retried on the next pass", metadata: ["body": "\(failure)"])
        }
        let now = clock.nowMillis()
        samples.append((now, status.bytesRestored))
        samples.removeAll { now - $0.millis > 10_000 }
        if let first = samples.first, now > first.millis {
            status.throughputBytesPerSecond = Double(status.bytesRestored - first.bytes) * 1000 / Double(now - first.millis)
        }
        publish()
    }

    /// Counts from the journal: what is done is what the journal says is done.
    private func refresh() async {
        guard let totals = try? await journal.totals() else { return }
        status.objectsTotal = totals.items
        status.objectsDone = totals.itemsDone
        status.partitionsTotal = totals.partitions
        status.partitionsDone = totals.partitionsDone
        status.bytesTotal = totals.bytes
        status.bytesRemaining = totals.bytes - totals.bytesDone
        status.unrecoverableCount = totals.unrecoverable
        if totals.unrecoverable > 0, let lost = try? await journal.work(in: .unrecoverable, limit: Self.unrecoverableListed) {
            let names = await bucketNames()
            status.unrecoverable = lost.map { .init(bucket: names[$0.bucketHex] ?? $0.bucketHex, key: $0.objectKey, versionID: $0.versionID,
                                                    surviving: $0.surviving) }
        }
        status.etaSeconds = status.throughputBytesPerSecond > 0 && status.phase == .rebuilding
            ? Double(status.bytesRemaining) / status.throughputBytesPerSecond : nil
        status.updatedMillis = clock.nowMillis()
        publish()
    }

    /// Bucket names by id (hex), for the unrecoverable list.
    private func bucketNames() async -> [String: String] {
        let buckets = await objects.node.state.liveBuckets.values
        return Dictionary(buckets.map { ($0.bucketID.hex, $0.name.rawValue) }, uniquingKeysWith: { a, _ in a })
    }

    private func save() async {
        status.updatedMillis = clock.nowMillis()
        guard let data = try? JSONEncoder().encode(status) else { return }
        do { try await journal.saveJob(data) } catch {
            logger.error("cannot journal the rebuild's status", metadata: ["error": "\(error)"])
        }
    }

    /// The Prometheus gauges (`/metrics`), made once: `publish` runs after every body.
    private let gauges: [(Gauge, @Sendable (RebuildStatus) -> Double)] = [
        (Gauge(label: "shale_rebuild_running"), { $0.isRunning ? 1 : 0 }),
        (Gauge(label: "shale_rebuild_partitions_total"), { Double($0.partitionsTotal) }),
        (Gauge(label: "shale_rebuild_partitions_done"), { Double($0.partitionsDone) }),
        (Gauge(label: "shale_rebuild_objects_total"), { Double($0.objectsTotal) }),
        (Gauge(label: "shale_rebuild_objects_done"), { Double($0.objectsDone) }),
        (Gauge(label: "shale_rebuild_bytes_total"), { Double($0.bytesTotal) }),
        (Gauge(label: "shale_rebuild_bytes_restored"), { Double($0.bytesRestored) }),
        (Gauge(label: "shale_rebuild_throughput_bytes_per_second"), { $0.throughputBytesPerSecond }),
        (Gauge(label: "shale_rebuild_unrecoverable_objects"), { Double($0.unrecoverableCount) }),
        (Gauge(label: "shale_rebuild_errors"), { Double($0.errors) }),
    ]

    private func publish() {
        for (gauge, value) in gauges { gauge.record(value(status)) }
    }
}
