import ClusterModel
import Foundation
import Synchronization

/// Group commit of row merges. Every commit syncs the WAL (`synchronous =
/// FULL`), and the store has one writing connection, so merges that arrive
/// while a transaction is being committed wait and then go together in the
/// next one: one transaction and one sync for all of them. A lone merge
/// waits for nothing. Each caller's rows are applied in its own order and
/// callers in the order they arrived, so every outcome is what the merges
/// would have given one after another.
///
/// A group whose transaction fails is tried again one caller at a time, so
/// one caller's bad row fails that caller only.
final class MergeGroup: Sendable {
    typealias Rows = [(head: ObjectRowHead, json: Data)]
    /// For each row: whether it was stored, and the row it replaced or lost to (its JSON; nil: none).
    typealias Outcomes = [(stored: Bool, held: Data?)]
    /// Applies rows in one transaction.
    typealias Commit = @Sendable (Rows) async throws -> Outcomes

    /// Rows per transaction at most (a caller's rows are never split).
    static let maxRows = 512

    private struct Waiting: Sendable {
        let rows: Rows
        let reply: CheckedContinuation<Outcomes, any Error>
    }

    private struct State: Sendable {
        var waiting: [Waiting] = []
        var committing = false

        /// The callers of the next transaction, oldest first, up to `maxRows` rows (at least one caller).
        mutating func nextGroup() -> [Waiting] {
            var rows = 0
            var taken = 0
            for waiting in self.waiting {
                if taken > 0 && rows + waiting.rows.count > MergeGroup.maxRows { break }
                rows += waiting.rows.count
                taken += 1
            }
            let group = Array(self.waiting.prefix(taken))
            self.waiting.removeFirst(taken)
            return group
        }
    }

    private let state = Mutex(State())
    private let commit: Commit

    init(commit: @escaping Commit) { self.commit = commit }

    /// Merges `rows` in the next transaction; their outcomes, in order.
    func merge(_ rows: Rows) async throws -> Outcomes {
        try await withCheckedThrowingContinuation { reply in
            let group = state.withLock { state -> [Waiting]? in
                state.waiting.append(Waiting(rows: rows, reply: reply))
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
            let outcomes = try await commit(group.flatMap(\.rows))
            guard outcomes.count == group.reduce(0, { $0 + $1.rows.count }) else { throw StorageError.database(path: "", reason: "outcomes miscounted") }
            var start = 0
            for waiting in group {
                waiting.reply.resume(returning: Array(outcomes[start..<(start + waiting.rows.count)]))
                start += waiting.rows.count
            }
        } catch {
            guard group.count > 1 else {
                group[0].reply.resume(throwing: error)
                return
            }
            for waiting in group {
                do { waiting.reply.resume(returning: try await commit(waiting.rows)) } catch { waiting.reply.resume(throwing: error) }
            }
        }
    }

    /// Callers waiting for the next transaction (for tests).
    var waitingCount: Int { state.withLock { $0.waiting.count } }
}
