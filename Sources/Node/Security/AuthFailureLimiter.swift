import Synchronization

/// Counts failed authentications per client (a source address, with the
/// access key or token it named) and refuses a client that fails too often,
/// so secrets cannot be guessed at line rate. Each client has a bucket of
/// `burst` failures that refills at `refillPerSecond`; while it is empty the
/// client's requests are refused before any signature work. Clients that do
/// not fail are never tracked, so valid requests pay one table lookup.
/// Memory is bounded: at most `maxClients` entries; when full, refilled
/// entries are dropped first, then the least recently failing one.
public final class AuthFailureLimiter: Sendable {
    /// Who failed: the API, the source address, and the credential named
    /// (an existing access key or a token id; `?` or `master` otherwise).
    public struct Client: Hashable, Sendable {
        public let api: String
        public let source: String
        public let credential: String
        public init(api: String, source: String?, credential: String) {
            self.api = api; self.source = source ?? "?"; self.credential = credential
        }
    }

    public struct Policy: Sendable {
        public var burst: Double
        public var refillPerSecond: Double
        public var maxClients: Int
        public init(burst: Double = 30, refillPerSecond: Double = 0.2, maxClients: Int = 4096) {
            self.burst = burst; self.refillPerSecond = refillPerSecond; self.maxClients = maxClients
        }
    }

    /// One tracked client.
    public struct Entry: Sendable, Equatable {
        public var tokens: Double
        public var updatedSeconds: Double
        public var failures: UInt64
        public var refused: UInt64
    }

    public let policy: Policy
    private let now: @Sendable () -> Double
    private let entries = Mutex<[Client: Entry]>([:])

    /// `now` is a monotonic clock in seconds (injected for tests).
    public init(policy: Policy = Policy(), now: @escaping @Sendable () -> Double = AuthFailureLimiter.monotonicSeconds) {
        self.policy = policy
        self.now = now
    }

    public static func monotonicSeconds() -> Double { (ContinuousClock.now - processStart) / .seconds(1) }

    private static let processStart = ContinuousClock.now

    /// Whether `client` must be refused now (its failure budget is spent).
    /// A refusal is counted against the client but does not spend more budget.
    public func isLimited(_ client: Client) -> Bool {
        let time = now()
        return entries.withLock { table in
            guard var entry = table[client] else { return false }
            refill(&entry, at: time)
            let limited = entry.tokens < 1
            if limited { entry.refused += 1 }
            table[client] = entry
            return limited
        }
    }

    /// Records one failed authentication of `client`.
    public func recordFailure(_ client: Client) {
        let time = now()
        entries.withLock { table in
            var entry = table[client] ?? Entry(tokens: policy.burst, updatedSeconds: time, failures: 0, refused: 0)
            refill(&entry, at: time)
            entry.tokens = max(0, entry.tokens - 1)
            entry.failures += 1
            if table[client] == nil, table.count >= policy.maxClients { evict(from: &table, at: time) }
            table[client] = entry
        }
    }

    /// The clients with the most failures still tracked, most first.
    public func topClients(_ count: Int) -> [(client: Client, entry: Entry)] {
        entries.withLock { table in
            // Ties in a stable order, so a scrape lists the same clients twice running.
            table.sorted { ($0.value.failures, $1.key.api, $1.key.source, $1.key.credential)
                > ($1.value.failures, $0.key.api, $0.key.source, $0.key.credential) }
                .prefix(count).map { ($0.key, $0.value) }
        }
    }

    public var trackedCount: Int { entries.withLock { $0.count } }

    private func refill(_ entry: inout Entry, at time: Double) {
        let elapsed = max(0, time - entry.updatedSeconds)
        entry.tokens = min(policy.burst, entry.tokens + elapsed * policy.refillPerSecond)
        entry.updatedSeconds = time
    }

    private func evict(from table: inout [Client: Entry], at time: Double) {
        // Entries whose budget refilled hold nothing worth keeping but their count.
        let refilled = table.filter { $0.value.tokens + max(0, time - $0.value.updatedSeconds) * policy.refillPerSecond >= policy.burst }
        if !refilled.isEmpty {
            for key in refilled.keys { table[key] = nil }
            return
        }
        if let oldest = table.min(by: { $0.value.updatedSeconds < $1.value.updatedSeconds })?.key { table[oldest] = nil }
    }
}
