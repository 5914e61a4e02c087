import Node
import Synchronization
import Testing

@Suite struct AuthFailureLimiterTests {
    func client(_ api: String, _ source: String, _ credential: String) -> AuthFailureLimiter.Client {
        AuthFailureLimiter.Client(api: api, source: source, credential: credential)
    }

    final class FakeClock: Sendable {
        let seconds = Mutex(0.0)
        func advance(_ by: Double) { seconds.withLock { $0 += by } }
        func now() -> Double { seconds.withLock { $0 } }
    }

    @Test func aClientIsRefusedOnceItsBudgetIsSpentAndLetBackAsItRefills() {
        let clock = FakeClock()
        let limiter = AuthFailureLimiter(policy: .init(burst: 5, refillPerSecond: 1, maxClients: 100), now: { clock.now() })
        for _ in 0..<5 {
            #expect(!limiter.isLimited(client("s3", "10.0.0.1", "GK1")))
            limiter.recordFailure(client("s3", "10.0.0.1", "GK1"))
        }
        #expect(limiter.isLimited(client("s3", "10.0.0.1", "GK1")))
        // Other clients, and the same address with another key, are untouched.
        #expect(!limiter.isLimited(client("s3", "10.0.0.1", "GK2")))
        #expect(!limiter.isLimited(client("s3", "10.0.0.2", "GK1")))
        clock.advance(1)
        #expect(!limiter.isLimited(client("s3", "10.0.0.1", "GK1")))
        limiter.recordFailure(client("s3", "10.0.0.1", "GK1"))
        #expect(limiter.isLimited(client("s3", "10.0.0.1", "GK1")))
        let top = limiter.topClients(1)
        #expect(top.first?.client == client("s3", "10.0.0.1", "GK1") && top.first?.entry.failures == 6 && top.first?.entry.refused == 2)
    }

    @Test func theTableStaysBoundedUnderASprayOfClients() {
        let clock = FakeClock()
        let limiter = AuthFailureLimiter(policy: .init(burst: 3, refillPerSecond: 1, maxClients: 64), now: { clock.now() })
        // A client that keeps failing stays tracked while thousands of one-off clients come and go.
        for round in 0..<5000 {
            limiter.recordFailure(client("admin", "10.1.\(round / 256).\(round % 256)", "master"))
            if round % 50 == 0 { limiter.recordFailure(client("admin", "10.9.9.9", "master")) }
            clock.advance(0.001)
            #expect(limiter.trackedCount <= 64)
        }
        #expect(limiter.isLimited(client("admin", "10.9.9.9", "master")))
    }
}
