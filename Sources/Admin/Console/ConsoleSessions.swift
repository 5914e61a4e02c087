import Node
import Synchronization
import Units

/// The console's logins: a random session id in an HttpOnly cookie, mapped
/// here (in memory, never on disk) to the admin token it was opened with and
/// a CSRF token every change must carry. The token is checked again on
/// every request, so a revoked or expired token ends its sessions at once.
/// Bounded: the oldest session makes room when the table is full.
final class ConsoleSessions: Sendable {
    struct Session: Sendable {
        let token: String
        let csrf: String
        let createdSeconds: Double
        var lastUsedSeconds: Double
    }

    static let maxSessions = 256
    static let lifetimeSeconds = 12.0 * 3600
    static let idleSeconds = 3600.0

    private let sessions = Mutex<[String: Session]>([:])
    private let now: @Sendable () -> Double

    init(now: @escaping @Sendable () -> Double = AuthFailureLimiter.monotonicSeconds) { self.now = now }

    /// Opens a session for a token already authenticated; answers its id.
    func open(token: String) -> String {
        let id = Hex.encode(randomBytes(32))
        let time = now()
        let session = Session(token: token, csrf: Hex.encode(randomBytes(32)), createdSeconds: time, lastUsedSeconds: time)
        sessions.withLock { table in
            table = table.filter { !Self.isStale($0.value, at: time) }
            if table.count >= Self.maxSessions, let oldest = table.min(by: { $0.value.lastUsedSeconds < $1.value.lastUsedSeconds })?.key {
                table[oldest] = nil
            }
            table[id] = session
        }
        return id
    }

    func session(_ id: String) -> Session? {
        sessions.withLock { table in
            let time = now()
            guard var session = table[id] else { return nil }
            guard !Self.isStale(session, at: time) else { table[id] = nil; return nil }
            session.lastUsedSeconds = time
            table[id] = session
            return session
        }
    }

    func close(_ id: String) { sessions.withLock { $0[id] = nil } }

    static func isStale(_ session: Session, at time: Double) -> Bool {
        time - session.createdSeconds > lifetimeSeconds || time - session.lastUsedSeconds > idleSeconds
    }
}
