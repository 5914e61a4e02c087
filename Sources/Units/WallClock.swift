import Foundation

/// Where a node reads the time: stamps, Last-Modified, signature skew
/// windows, liveness, grace periods. Production uses `SystemClock`; tests
/// use `ManualClock` to move time without waiting for it.
public protocol WallClock: Sendable {
    /// Unix time in milliseconds.
    func nowMillis() -> UInt64
}

extension WallClock {
    public var now: Date { Date(timeIntervalSince1970: Double(nowMillis()) / 1000) }
    public var nowSeconds: Int64 { Int64(nowMillis() / 1000) }
}

/// The system's wall clock.
public struct SystemClock: WallClock {
    public init() {}
    public func nowMillis() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }
}

/// A clock that moves only when told to.
public final class ManualClock: WallClock, @unchecked Sendable {
    private let lock = NSLock()
    private var millis: UInt64

    public init(millis: UInt64 = 1_800_000_000_000) { self.millis = millis }

    public func nowMillis() -> UInt64 { lock.withLock { millis } }

    public func advance(byMillis delta: UInt64) { lock.withLock { millis += delta } }

    public func set(millis: UInt64) { lock.withLock { self.millis = millis } }
}
