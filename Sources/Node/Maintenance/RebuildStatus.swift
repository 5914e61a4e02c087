import Foundation

/// A rebuild job as `shale rebuild status` and the admin API show it. Every
/// figure is counted by the job itself: its plan (totals), its journal
/// (what is done) and the bytes it wrote (restored, throughput).
public struct RebuildStatus: Codable, Sendable, Equatable {
    public enum Phase: String, Codable, Sendable {
        /// No rebuild has run on this node.
        case idle
        /// Walking every row and asking every holder which shards it has whole.
        case planning
        case rebuilding
        /// The job's own work is over; `rebuild verify` decides whether it is done.
        case verifying
        /// Verify found every shard intact on its current owner.
        case done
        /// Finished, but not fully redundant: unrecoverable objects, failures, or verify's findings.
        case incomplete
    }

    /// An object version (or a part of an open upload) with fewer than k intact shards anywhere.
    public struct Lost: Codable, Sendable, Equatable {
        public let bucket: String
        public let key: String
        public let versionID: String
        public let surviving: Int
    }

    /// What the verify at the end of the job found.
    public struct Verified: Codable, Sendable, Equatable {
        public let checkedAtMillis: UInt64
        public let fullyRedundant: Bool
        public let objects: Int
        public let bytes: UInt64
        public let problems: Int
    }

    public var phase: Phase = .idle
    /// A plan only (`--dry-run`): nothing was written.
    public var dryRun = false
    /// The node running the job.
    public var node: String
    /// Why it started: by hand, or the layout version whose apply started it.
    public var reason: String?
    /// The layout the job makes the data whole under.
    public var layoutVersion: UInt64 = 0
    public var startedMillis: UInt64?
    public var finishedMillis: UInt64?
    public var updatedMillis: UInt64 = 0
    /// Partitions with bodies to rebuild, and those with none left to do.
    public var partitionsTotal = 0
    public var partitionsDone = 0
    /// Bodies (object versions; each part of a multipart object counts) that need shards written.
    public var objectsTotal = 0
    public var objectsDone = 0
    /// Shard bytes the plan found to write; bytes left of bodies not done; bytes written so far.
    public var bytesTotal: UInt64 = 0
    public var bytesRemaining: UInt64 = 0
    public var bytesRestored: UInt64 = 0
    /// Bytes written per second over the last ten seconds.
    public var throughputBytesPerSecond: Double = 0
    public var etaSeconds: Double?
    /// Bodies that failed this pass (retried by the next), and the last failure.
    public var errors = 0
    public var lastError: String?
    public var unrecoverableCount = 0
    /// The first thousand of them.
    public var unrecoverable: [Lost] = []
    public var verify: Verified?

    public init(node: String) { self.node = node }

    public var isRunning: Bool { phase == .planning || phase == .rebuilding || phase == .verifying }
}
