import Synchronization

/// Running totals of the S3 requests this node answered, for the console's
/// throughput and latency chart (the browser takes differences between two
/// readings). Latency is to the response head: a streamed body's transfer
/// is not in it.
public final class RequestStats: Sendable {
    public struct Snapshot: Codable, Sendable, Equatable {
        public var requests: UInt64 = 0
        public var errors: UInt64 = 0
        public var bytesIn: UInt64 = 0
        public var bytesOut: UInt64 = 0
        public var latencyMicros: UInt64 = 0
        public init() {}
    }

    private let totals = Mutex(Snapshot())

    public init() {}

    public func record(latencyMicros: UInt64, failed: Bool, bytesIn: UInt64, bytesOut: UInt64) {
        totals.withLock { totals in
            totals.requests &+= 1
            if failed { totals.errors &+= 1 }
            totals.bytesIn &+= bytesIn
            totals.bytesOut &+= bytesOut
            totals.latencyMicros &+= latencyMicros
        }
    }

    public var snapshot: Snapshot { totals.withLock { $0 } }
}
