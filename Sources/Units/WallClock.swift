import Foundation

/// Where a node reads the time: stamps, Last-Modified, signature skew
/// windows, liveness, grace periods. Production uses `SystemClock`; tests
/// use `ManualClock` to move time without waiting for it.
public protocol WallClock: Sendable {
    /// Unix time in milliseconds.
    func nowMillis() -> UInt64
    /// Waits until this clock has moved `millis` on; throws CancellationError when the task is cancelled first.
    func sleep(millis: UInt64) async throws
}

extension WallClock {
    public var now: Date { Date(timeIntervalSince1970: Double(nowMillis()) / 1000) }
    public var nowSeconds: Int64 { Int64(nowMillis() / 1000) }
}

/// The system's wall clock.
public struct SystemClock: WallClock {
    public init() {}
    public func nowMillis() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }
    public func sleep(millis: UInt64) async throws { try await Task.sleep(for: .milliseconds(Int64(clamping: millis))) }
}

/// A clock that moves only when told to; its sleepers wake when it is
/// moved past their deadline (or when their task is cancelled).
public final class ManualClock: WallClock, @unchecked Sendable {
    private struct Sleeper { let deadline: UInt64; let continuation: CheckedContinuation<Void, any Error> }
    private let lock = NSLock()
    private var millis: UInt64
    private var sleepers: [Int: Sleeper] = [:]
    private var nextSleeper = 0

    public init(millis: UInt64 = 1_800_000_000_000) { self.millis = millis }

    public func nowMillis() -> UInt64 { lock.withLock { millis } }

    /// How many tasks are sleeping on this clock (a test waits for them before moving it).
    public var sleeperCount: Int { lock.withLock { sleepers.count } }

    public func advance(byMillis delta: UInt64) { set(millis: nowMillis() + delta) }

    public func set(millis: UInt64) {
        let due = lock.withLock { () -> [CheckedContinuation<Void, any Error>] in
            self.millis = millis
            let woken = sleepers.filter { $0.value.deadline <= millis }
            for id in woken.keys { sleepers[id] = nil }
            return woken.values.map(\.continuation)
        }
        for continuation in due { continuation.resume() }
    }

    public func sleep(millis delay: UInt64) async throws {
        let id = lock.withLock { () -> Int in
            nextSleeper += 1
            return nextSleeper
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = lock.withLock { () -> Bool in
                    if Task.isCancelled || delay == 0 { return true }
                    sleepers[id] = Sleeper(deadline: millis + delay, continuation: continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            try Task.checkCancellation()
        } onCancel: {
            lock.withLock { sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }
}
