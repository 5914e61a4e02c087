import ClusterModel
import Foundation
import Logging
import Metrics
import Placement
import ServiceLifecycle
import Units

/// What one lifecycle pass did on this node.
public struct LifecycleReport: Sendable, Equatable, Codable {
    public var buckets = 0
    public var objectsExpired = 0
    public var uploadsAborted = 0
    /// Versioned buckets: noncurrent versions and delete markers removed for good.
    public var versionsRemoved = 0
}

extension ObjectService {
    /// Deletes the key's object only if it is still `versionID`: a
    /// compare-and-set, so an object written since the pass saw the key is
    /// left alone. Returns whether it deleted.
    func deleteIfCurrent(bucket: BucketID, key: String, versionID: String) async throws(ObjectError) -> Bool {
        let routing = await node.routing()
        let result: (written: ObjectRecord, replaced: ObjectRecord?)
        do {
            result = try await metadata.compareAndSet(table: bucket.hex, bucket: bucket, key: key, routing: routing,
                                                      ballot: { self.stamp(replacing: $0) }) { current throws(ObjectError) in
                guard let current, let version = current.version, version.versionID == versionID else { throw .preconditionFailed }
                return ObjectRecord(bucketID: bucket.hex, key: key, stamp: self.stamp(replacing: current.stamp), version: nil)
            }
        } catch {
            if error == .preconditionFailed { return false }
            throw error
        }
        if let old = result.replaced?.version { scheduleShardDeletion(of: old, bucket: bucket, key: key) }
        return true
    }

    /// One lifecycle pass over the buckets this node leads (`LifecycleWorker`).
    public func applyLifecycle() async -> LifecycleReport {
        await LifecycleWorker(service: self).pass()
    }
}

/// Applies buckets' lifecycle rules: expires current objects whose rule
/// says they are due (by the injected clock) and aborts multipart uploads
/// initiated too long ago. Each bucket is worked by one node, the first
/// reachable of its metadata replicas (two nodes that disagree on that only
/// do the same conditional deletes twice). Paced to
/// `lifecycle_deletes_per_second`, and resumable: the position in each
/// bucket's tables is kept in `lifecycle-cursors.json` after every page, so
/// a restarted node goes on where it stopped.
struct LifecycleWorker {
    static let pageSize = 200
    let service: ObjectService

    var node: ClusterNode { service.node }

    /// Where a pass is in one bucket.
    struct Cursor: Codable, Equatable {
        /// "objects" or "uploads".
        var table: String
        var after: String?
    }

    var cursorFile: URL { URL(fileURLWithPath: node.config.metadataDir).appendingPathComponent("lifecycle-cursors.json") }

    func loadCursors() -> [String: Cursor] {
        guard let data = try? Data(contentsOf: cursorFile) else { return [:] }
        return (try? JSONDecoder().decode([String: Cursor].self, from: data)) ?? [:]
    }

    func save(_ cursors: [String: Cursor]) {
        guard let data = try? JSONEncoder().encode(cursors) else { return }
        try? data.write(to: cursorFile, options: .atomic)
    }

    func pass() async -> LifecycleReport {
        var report = LifecycleReport()
        let state = await node.state
        let routing = await node.routing()
        var cursors = loadCursors()
        var budget = RateBudget(bytesPerSecond: UInt64(node.config.lifecycleDeletesPerSecond), clock: node.wallClock)
        for bucket in state.liveBuckets.values.sorted(by: { $0.id < $1.id }) {
            guard let rules = state.bucketConfig(.lifecycle, of: bucket.id)?.lifecycle, rules.contains(where: \.enabled),
                  let replicas = try? service.metadata.replicas(of: bucket.bucketID, routing: routing),
                  replicas.current.first(where: { routing.reachable($0) }) == routing.selfID else { continue }
            report.buckets += 1
            var cursor = cursors[bucket.id] ?? Cursor(table: "objects", after: nil)
            do throws(ObjectError) {
                if cursor.table == "objects", state.bucketConfig(.versioning, of: bucket.id) != nil {
                    try await expireVersions(bucket.bucketID, rules: rules, cursor: &cursor, report: &report, budget: &budget) { position in
                        cursors[bucket.id] = position
                        save(cursors)
                    }
                    cursor = Cursor(table: "uploads", after: nil)
                }
                if cursor.table == "objects" {
                    try await expireObjects(bucket.bucketID, rules: rules, cursor: &cursor, report: &report, budget: &budget) { position in
                        cursors[bucket.id] = position
                        save(cursors)
                    }
                    cursor = Cursor(table: "uploads", after: nil)
                }
                try await abortUploads(bucket.bucketID, rules: rules, cursor: &cursor, report: &report, budget: &budget) { position in
                    cursors[bucket.id] = position
                    save(cursors)
                }
                cursors[bucket.id] = nil
                save(cursors)
            } catch {
                // Left where it stopped: the next pass resumes from the saved cursor.
                service.logger.warning("lifecycle pass stopped", metadata: ["bucket": "\(bucket.name)", "error": "\(error)"])
            }
        }
        return report
    }

    private func expireObjects(_ bucket: BucketID, rules: [LifecycleRule], cursor: inout Cursor, report: inout LifecycleReport,
                               budget: inout RateBudget, saved: (Cursor) -> Void) async throws(ObjectError) {
        while true {
            let routing = await node.routing()
            let page = try await service.metadata.listPage(bucket: bucket, prefix: "", after: cursor.after, limit: Self.pageSize, routing: routing)
            let now = node.wallClock.nowMillis()
            for record in page.records {
                guard let version = record.version, let due = Lifecycle.expiry(of: version, key: record.key, rules: rules), due.millis <= now else { continue }
                if try await service.deleteIfCurrent(bucket: bucket, key: record.key, versionID: version.versionID) {
                    report.objectsExpired += 1
                    Counter(label: "shale_lifecycle_objects_expired_total").increment()
                    await budget.spend(1)
                }
            }
            cursor.after = page.records.last?.key ?? cursor.after
            saved(cursor)
            if page.exhausted || page.records.isEmpty { return }
        }
    }

    /// A versioned bucket's keys, every entry newest first: the latest
    /// version expires into a delete marker, noncurrent entries and lone
    /// markers go for good (`VersionedLifecycleWalk`). The cursor moves at
    /// key boundaries, so a resumed pass starts a key from its latest.
    private func expireVersions(_ bucket: BucketID, rules: [LifecycleRule], cursor: inout Cursor, report: inout LifecycleReport,
                                budget: inout RateBudget, saved: (Cursor) -> Void) async throws(ObjectError) {
        guard rules.contains(where: { $0.enabled && $0.expiresObjects }) else { return }
        var walk = VersionedLifecycleWalk(rules: rules, now: node.wallClock.nowMillis())
        var keyMarker = cursor.after, versionMarker: String?
        var lastMarker: (key: String, id: String)?
        func finishKey(_ cursor: inout Cursor) async throws(ObjectError) {
            guard let key = walk.key else { return }
            if walk.removesLoneMarker(), let marker = lastMarker, marker.key == key {
                _ = try await service.delete(bucket: bucket, key: key, versionID: marker.id)
                report.versionsRemoved += 1
                Counter(label: "shale_lifecycle_versions_removed_total").increment()
                await budget.spend(1)
            }
            cursor.after = key
        }
        while true {
            let page = try await service.listVersions(bucket: bucket, prefix: "", delimiter: nil, keyMarker: keyMarker, versionIDMarker: versionMarker,
                                                      maxKeys: Self.pageSize)
            for entry in page.entries {
                if entry.key != walk.key { try await finishKey(&cursor); saved(cursor) }
                lastMarker = entry.isLatest && entry.version == nil ? (entry.key, entry.s3VersionID) : lastMarker
                switch walk.next(key: entry.key, isLatest: entry.isLatest, version: entry.version, lastModifiedMillis: entry.lastModifiedMillis) {
                case .keep: continue
                case .expireLatest:
                    _ = try await service.delete(bucket: bucket, key: entry.key, versionID: nil)
                    report.objectsExpired += 1
                    Counter(label: "shale_lifecycle_objects_expired_total").increment()
                case .removeNoncurrent:
                    _ = try await service.delete(bucket: bucket, key: entry.key, versionID: entry.s3VersionID)
                    report.versionsRemoved += 1
                    Counter(label: "shale_lifecycle_versions_removed_total").increment()
                }
                await budget.spend(1)
            }
            guard page.isTruncated else { break }
            keyMarker = page.nextKeyMarker
            versionMarker = page.nextVersionIDMarker
        }
        try await finishKey(&cursor)
        saved(cursor)
    }

    private func abortUploads(_ bucket: BucketID, rules: [LifecycleRule], cursor: inout Cursor, report: inout LifecycleReport,
                              budget: inout RateBudget, saved: (Cursor) -> Void) async throws(ObjectError) {
        guard rules.contains(where: { $0.enabled && $0.abortIncompleteDays != nil }) else { return }
        let table = UploadTable.name(of: bucket.hex)
        while true {
            let routing = await node.routing()
            let page = try await service.metadata.listPage(table: table, bucket: bucket, prefix: "", after: cursor.after, limit: Self.pageSize,
                                                           routing: routing)
            let now = node.wallClock.nowMillis()
            for record in page.records {
                guard let upload = record.upload, upload.state == .inProgress,
                      let due = Lifecycle.abortDue(key: upload.key, initiatedMillis: upload.initiatedMillis, rules: rules), due <= now else { continue }
                do throws(ObjectError) {
                    try await service.abortUpload(bucket: bucket, key: upload.key, uploadID: upload.uploadID)
                    report.uploadsAborted += 1
                    Counter(label: "shale_lifecycle_uploads_aborted_total").increment()
                    await budget.spend(1)
                } catch {
                    // Completed or aborted meanwhile: nothing left to do for it.
                    guard error == .noSuchUpload else { throw error }
                }
            }
            cursor.after = page.records.last?.key ?? cursor.after
            saved(cursor)
            if page.exhausted || page.records.isEmpty { return }
        }
    }
}

/// Runs a lifecycle pass every `lifecycle_interval_seconds`.
public struct LifecycleService: Service {
    let objects: ObjectService

    public init(objects: ObjectService) { self.objects = objects }

    public func run() async throws {
        let interval = objects.node.config.lifecycleIntervalSeconds
        guard interval > 0 else {
            // Returning would end the node's service group: wait for shutdown instead.
            try? await gracefulShutdown()
            return
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await objects.node.wallClock.sleep(millis: UInt64(interval) * 1000) }
            guard !Task.isShuttingDownGracefully && !Task.isCancelled else { return }
            _ = await objects.applyLifecycle()
        }
    }
}
