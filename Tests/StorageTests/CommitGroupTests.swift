import ClusterModel
import Foundation
import Placement
@testable import Storage
import Synchronization
import Testing

@Suite struct CommitGroupTests {
    struct Refused: Error {}

    func rows(_ keys: String...) -> MergeGroup.Items {
        keys.map { key in
            let record = ObjectRecord(bucketID: "b", key: key, stamp: Stamp(millis: 1, counter: 0, node: "n"), version: nil)
            return (ObjectRowHead(of: record), Data(key.utf8))
        }
    }

    /// A commit that waits for `release` the first time it is called, and notes the rows of every call.
    final class Committer: Sendable {
        let calls = Mutex<[[String]]>([])
        let release: AsyncStream<Void>
        let releaser: AsyncStream<Void>.Continuation
        init() { (release, releaser) = AsyncStream<Void>.makeStream() }

        func commit(_ rows: MergeGroup.Items) async throws -> MergeGroup.Outcomes {
            let first = calls.withLock { calls in
                calls.append(rows.map(\.head.key))
                return calls.count == 1
            }
            if first { for await _ in release { break } }
            if rows.contains(where: { $0.head.key == "bad" }) { throw Refused() }
            return rows.map { (stored: true, held: $0.json) }
        }
    }

    /// Merges that arrive while a transaction commits wait, and then go
    /// together in one; each caller gets its own rows' outcomes, in order.
    @Test func mergesArrivingDuringACommitShareTheNext() async throws {
        let committer = Committer()
        let group = MergeGroup(write: { try await committer.commit($0) })
        let lone = Task { try await group.commit(rows("lone")) }
        while committer.calls.withLock({ $0.count }) == 0 { await Task.yield() }
        let later = (0..<9).map { i in Task { try await group.commit(rows("k\(i)a", "k\(i)b")) } }
        while group.waitingCount < 9 { await Task.yield() }
        committer.releaser.yield()
        #expect(try await lone.value.map(\.held) == [Data("lone".utf8)])
        for (i, task) in later.enumerated() {
            #expect(try await task.value.map(\.held) == [Data("k\(i)a".utf8), Data("k\(i)b".utf8)])
        }
        let calls = committer.calls.withLock { $0 }
        #expect(calls.count == 2, "the nine that waited went in one transaction: \(calls)")
        #expect(calls.last?.count == 18)
    }

    /// A group whose transaction fails is tried again caller by caller: only
    /// the caller with the bad row fails.
    @Test func aFailedGroupFailsOnlyTheCallerWithTheBadRow() async throws {
        let committer = Committer()
        let group = MergeGroup(write: { try await committer.commit($0) })
        let lone = Task { try await group.commit(rows("lone")) }
        while committer.calls.withLock({ $0.count }) == 0 { await Task.yield() }
        let good = Task { try await group.commit(rows("good")) }
        while group.waitingCount < 1 { await Task.yield() }
        let bad = Task { try await group.commit(rows("bad")) }
        while group.waitingCount < 2 { await Task.yield() }
        let after = Task { try await group.commit(rows("after")) }
        while group.waitingCount < 3 { await Task.yield() }
        committer.releaser.yield()
        _ = try await lone.value
        #expect(try await good.value.count == 1)
        await #expect(throws: Refused.self) { _ = try await bad.value }
        #expect(try await after.value.count == 1)
        #expect(committer.calls.withLock { $0 } == [["lone"], ["good", "bad", "after"], ["good"], ["bad"], ["after"]])
    }

    /// A transaction takes at most `maxRows` rows, but never splits a caller's.
    @Test func aGroupStopsAtMaxRowsWithoutSplittingACaller() async throws {
        let committer = Committer()
        let group = MergeGroup(write: { try await committer.commit($0) })
        let lone = Task { try await group.commit(rows("lone")) }
        while committer.calls.withLock({ $0.count }) == 0 { await Task.yield() }
        let big = Array(repeating: "x", count: MergeGroup.maxItems - 1)
        let first = Task { try await group.commit(big.map { self.rows($0)[0] }) }
        while group.waitingCount < 1 { await Task.yield() }
        let second = Task { try await group.commit(rows("y", "z")) }
        while group.waitingCount < 2 { await Task.yield() }
        committer.releaser.yield()
        _ = try await (lone.value, first.value, second.value)
        #expect(committer.calls.withLock { $0.map(\.count) } == [1, MergeGroup.maxItems - 1, 2])
    }
}
