import ClusterModel
import Placement
@testable import Node
import Testing

@Suite struct ShortWriteQueueTests {
    func short(_ name: String) -> BodyRef {
        BodyRef(table: "t", rowKey: name, objectKey: name, bucket: BucketID(hex: String(repeating: "0", count: 64))!, versionID: "v-\(name)")
    }

    @Test func aBodyIsDueAfterTheFirstPauseAndQueuedOnce() {
        let queue = ShortWriteQueue()
        #expect(queue.enqueue(short("a"), now: 10_000))
        #expect(queue.enqueue(short("a"), now: 10_500), "queued already: taken as done")
        #expect(queue.count == 1)
        #expect(queue.takeDue(now: 10_999).isEmpty)
        let due = queue.takeDue(now: 11_000)
        #expect(due.map(\.body) == [short("a")])
        #expect(queue.count == 0)
    }

    @Test func retriesPauseTwiceAsLongEachTimeUpToAMinuteThenGiveUp() throws {
        let queue = ShortWriteQueue()
        queue.enqueue(short("b"), now: 0)
        var entry = try #require(queue.takeDue(now: 1_000).first)
        var pauses: [UInt64] = []
        var now: UInt64 = 1_000
        while queue.retry(entry, now: now) {
            let next = try #require(queue.takeDue(now: UInt64.max).first)
            pauses.append(next.dueMillis - now)
            now = next.dueMillis
            entry = next
        }
        #expect(Array(pauses.prefix(7)) == [2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000])
        #expect(now >= ShortWriteQueue.giveUpMillis && now < ShortWriteQueue.giveUpMillis + ShortWriteQueue.longestPauseMillis)
        #expect(queue.count == 0, "given up: left to `shale rebuild`")
    }

    @Test func aFullQueueRefusesMore() {
        let queue = ShortWriteQueue()
        for i in 0..<ShortWriteQueue.capacity { #expect(queue.enqueue(short("\(i)"), now: 0)) }
        #expect(!queue.enqueue(short("one more"), now: 0))
        #expect(queue.count == ShortWriteQueue.capacity)
    }
}
