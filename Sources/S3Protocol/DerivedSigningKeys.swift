import Crypto
import Synchronization

/// SigV4 signing keys already derived, by secret and scope. A key is a pure
/// function of its name, so a remembered one is always right; the secret is
/// part of the name, so a changed or deleted key's entries are simply never
/// asked for again. Bounded: when full it forgets everything (entries live a
/// day at most, and a day's first request per key derives again).
final class DerivedSigningKeys: Sendable {
    struct Name: Hashable, Sendable {
        let secret: String
        let date: String
        let region: String
        let service: String
    }

    /// A derived key, and an HMAC keyed with it that each signature copies.
    struct Entry: Sendable {
        let key: SymmetricKey
        let keyed: HMAC<SHA256>
    }

    private let capacity: Int
    private let keys = Mutex<[Name: Entry]>([:])

    init(capacity: Int) { self.capacity = capacity }

    func entry(for name: Name) -> Entry? {
        keys.withLock { $0[name] }
    }

    func remember(_ entry: Entry, for name: Name) {
        keys.withLock { keys in
            if keys.count >= capacity { keys.removeAll(keepingCapacity: true) }
            keys[name] = entry
        }
    }

    var count: Int { keys.withLock { $0.count } }
}
