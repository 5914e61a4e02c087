import Foundation
import Synchronization

/// Group commit of one kind of write (row merges, shard notes). Every
/// commit syncs the WAL (`synchronous = FULL`), and the store has one
/// writing connection, so writes that arrive while a transaction of their
/// kind is being committed wait and then go together in the next one: one
/// transaction and one sync for all of them. A lone write waits for
/// nothing. Each caller's items are applied in its own order and callers in
/// the order they arrived, so every outcome is what the writes would have
/// given one after another.
///
/// A group whose transaction fails is tried again one caller at a time, so
/// one caller's bad item fails that caller only.
final class CommitGroup<Item: Sendable, Outcome: Sendable>: Sendable {
    typealias Items = [Item]
    /// One outcome per item, in order.
    typealias Outcomes = [Outcome]
    /// Applies items in one transaction.
    typealias Commit = @Sendable (Items) async throws -> Outcomes

    /// Items per transaction at most (a caller's items are never split).
    static var maxItems: Int { 512 }

    private struct Waiting: Sendable {
        let items: Items
        let reply: CheckedContinuation<Outcomes, any Error>
    }

    private struct State: Sendable {
        var waiting: [Waiting] = []
        var committing = false

        /// The callers of the next transaction, oldest first, up to `maxItems` items (at least one caller).
        mutating func nextGroup() -> [Waiting] {
            var count = 0
            var taken = 0
            for waiting in self.waiting {
                if taken > 0 && count + waiting.items.count > CommitGroup.maxItems { break }
                count += waiting.items.count
                taken += 1
            }
            let group = Array(self.waiting.prefix(taken))
            self.waiting.removeFirst(taken)
            return group
        }
    }

    private let state = Mutex(State())
    private let write: Commit

    init(write: @escaping Commit) { self.write = write }

    /// Writes `items` in the next transaction; their outcomes, in order.
    func commit(_ items: Items) async throws -> Outcomes {
        try await withCheckedThrowingContinuation { reply in
            let group = state.withLock { state -> [Waiting]? in
                state.waiting.append(Waiting(items: items, reply: reply))
                guard !state.committing else { return nil }
                state.committing = true
                return state.nextGroup()
            }
            // The committer is a task of its own, so no caller's answer waits for later groups.
            if let group { Task { await self.run(group) } }
        }
    }

    private func run(_ first: [Waiting]) async {
        var group = first
        while true {
            await commitTogether(group)
            let next = state.withLock { state -> [Waiting]? in
                guard !state.waiting.isEmpty else {
                    state.committing = false
                    return nil
                }
                return state.nextGroup()
            }
            guard let next else { return }
            group = next
        }
    }

    private func commitTogether(_ group: [Waiting]) async {
        do {
            let outcomes = try await write(group.flatMap(\.items))
            guard outcomes.count == group.reduce(0, { $0 + $1.items.count }) else { throw StorageError.database(path: "", reason: "outcomes miscounted") }
            var start = 0
            for waiting in group {
                waiting.reply.resume(returning: Array(outcomes[start..<(start + waiting.items.count)]))
                start += waiting.items.count
            }
        } catch {
            guard group.count > 1 else {
                group[0].reply.resume(throwing: error)
                return
            }
            for waiting in group {
                do { waiting.reply.resume(returning: try await write(waiting.items)) } catch { waiting.reply.resume(throwing: error) }
            }
        }
    }

    /// Callers waiting for the next transaction (for tests).
    var waitingCount: Int { state.withLock { $0.waiting.count } }
}
