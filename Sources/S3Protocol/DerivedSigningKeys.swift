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

    private let capacity: Int
    private let keys = Mutex<[Name: SymmetricKey]>([:])

    init(capacity: Int) { self.capacity = capacity }

    func key(for name: Name) -> SymmetricKey? {
        keys.withLock { $0[name] }
    }

    func remember(_ key: SymmetricKey, for name: Name) {
        keys.withLock { keys in
            if keys.count >= capacity { keys.removeAll(keepingCapacity: true) }
            keys[name] = key
        }
    }

    var count: Int { keys.withLock { $0.count } }
}
