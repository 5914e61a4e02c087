import Foundation

/// Latencies of one kind of request, and the percentiles a report shows
/// (nearest rank: the smallest sample at or above the fraction).
public struct LatencySummary: Codable, Sendable, Equatable {
    public let count: Int
    public let p50Millis: Double
    public let p90Millis: Double
    public let p99Millis: Double
    public let maxMillis: Double

    public init(secondsSamples samples: [Double]) {
        let sorted = samples.sorted()
        count = sorted.count
        func rank(_ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = min(sorted.count - 1, max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1))
            return sorted[index] * 1000
        }
        p50Millis = rank(0.50)
        p90Millis = rank(0.90)
        p99Millis = rank(0.99)
        maxMillis = (sorted.last ?? 0) * 1000
    }
}

/// The S3 operations the benchmark sends.
public enum BenchOperation: String, Codable, Sendable, CaseIterable {
    case put = "PUT"
    case get = "GET"
    case delete = "DELETE"
}

/// `--mixed P/G/D`: the share of PUT, GET and DELETE, picked per request.
public struct OperationMix: Sendable, Equatable {
    public let weights: [(BenchOperation, Int)]

    public static func == (a: OperationMix, b: OperationMix) -> Bool {
        a.weights.map(\.0) == b.weights.map(\.0) && a.weights.map(\.1) == b.weights.map(\.1)
    }

    public init(only operation: BenchOperation) { weights = [(operation, 1)] }

    /// "45/45/10" → PUT 45, GET 45, DELETE 10 (whole numbers, at least one above 0).
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 3, parts.allSatisfy({ $0 != nil && $0! >= 0 }), parts.reduce(0, { $0 + $1! }) > 0 else { return nil }
        weights = zip(BenchOperation.allCases, parts.map { $0! }).filter { $0.1 > 0 }
    }

    /// The operation for a number drawn uniformly from 0..<total.
    public func pick(_ draw: Int) -> BenchOperation {
        var left = draw % total
        for (operation, weight) in weights {
            if left < weight { return operation }
            left -= weight
        }
        return weights.last!.0
    }

    public var total: Int { weights.reduce(0) { $0 + $1.1 } }
    public func includes(_ operation: BenchOperation) -> Bool { weights.contains { $0.0 == operation } }
}

/// What `shale bench s3 --json` prints: one run's figures.
public struct BenchReport: Codable, Sendable {
    public struct PerOperation: Codable, Sendable {
        public let operation: BenchOperation
        public let requests: Int
        public let errors: Int
        public let bytes: UInt64
        public let opsPerSecond: Double
        /// Payload bytes per second in MiB/s (bodies sent for PUT, received for GET).
        public let mibPerSecond: Double
        public let latency: LatencySummary
    }

    public let endpoint: String
    public let objectSizeBytes: UInt64
    public let concurrency: Int
    public let seconds: Double
    public let operations: [PerOperation]
    /// The first few error messages, for the reader.
    public let errorSamples: [String]
}
