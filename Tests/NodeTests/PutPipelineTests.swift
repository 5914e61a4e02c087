import Crypto
import Erasure
import Foundation
import Logging
import NIOCore
@testable import Node
import Synchronization
import Testing

/// A shard sink in memory: records chunks, can fail its n-th write, and can
/// hold its first write until the test opens the gate.
final class MemorySink: ShardSink, @unchecked Sendable {
    struct Record { var chunks: [[UInt8]] = []; var finished = false; var aborted = false; var abortCount = 0 }
    let record = Mutex(Record())
    let failOnWrite: Int?
    let gate: Gate?

    init(failOnWrite: Int? = nil, gate: Gate? = nil) {
        self.failOnWrite = failOnWrite
        self.gate = gate
    }

    func write(_ chunk: UnsafeRawBufferPointer, crc: UInt32) async throws(NodeError) {
        #expect(CRC32C.checksum(chunk) == crc)
        let count = record.withLock { $0.chunks.count }
        if count == 0, let gate {
            await gate.wait()
            if Task.isCancelled { throw .peer("write cancelled while held") }
        }
        if let failOnWrite, count + 1 == failOnWrite { throw .peer("injected write failure") }
        let bytes = Array(chunk)
        record.withLock { $0.chunks.append(bytes) }
    }

    func finish() async throws(NodeError) {
        record.withLock {
            #expect(!$0.aborted)
            $0.finished = true
        }
    }

    func abort() async {
        record.withLock {
            $0.aborted = true
            $0.abortCount += 1
        }
    }

    var state: Record { record.withLock { $0 } }
}

/// Holds waiters until opened; a cancelled waiter is let go (and its sink then fails).
final class Gate: Sendable {
    private struct State { var open = false; var next = 0; var waiters: [Int: CheckedContinuation<Void, Never>] = [:] }
    private let state = Mutex(State())

    func wait() async {
        let id = state.withLock { state -> Int in
            state.next += 1
            return state.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.open || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// How many callers wait at the gate now.
    var waiting: Int { state.withLock { $0.waiters.count } }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }
}

@Suite struct PutPipelineTests {
    let code = try! ErasureCode(dataShards: 4, parityShards: 2)
    let blockSize = 64 * 1024

    func body(_ size: Int, seed: UInt8 = 7) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) } }

    /// The body in pieces of awkward sizes, as a socket delivers it.
    func pieces(_ bytes: [UInt8]) -> AsyncStream<ByteBuffer> {
        AsyncStream { continuation in
            var offset = 0
            var step = 1000
            while offset < bytes.count {
                let end = min(bytes.count, offset + step)
                continuation.yield(ByteBuffer(bytes: bytes[offset..<end]))
                offset = end
                step = step * 3 % 70_001 + 1
            }
            continuation.finish()
        }
    }

    func pipeline(quorum: Int = 5, slowWriteMillis: Int? = nil) -> PutPipeline {
        PutPipeline(code: code, blockSizeBytes: blockSize, backend: .preferred, quorum: quorum, slowWriteMillis: slowWriteMillis,
                    logger: Logger(label: "test"))
    }

    func expectations(_ bytes: [UInt8], md5: [UInt8]? = nil) -> BodyExpectations {
        BodyExpectations(contentLength: bytes.count, md5: md5 ?? Array(Insecure.MD5.hash(data: bytes)), sha256: Array(SHA256.hash(data: bytes)))
    }

    /// Data shards, block by block, give the body back.
    func reassemble(_ sinks: [MemorySink], size: Int) -> [UInt8] {
        var out: [UInt8] = []
        let blocks = sinks[0].state.chunks.count
        for block in 0..<blocks {
            for slot in 0..<code.dataShards { out += sinks[slot].state.chunks[block] }
            let blockLength = min(blockSize, size - block * blockSize)
            out = Array(out.prefix(block * blockSize + blockLength))
        }
        return out
    }

    @Test func everyShardIsWrittenAndTheDataShardsAreTheBody() async throws {
        let bytes = body(3 * blockSize + 12_345)
        let sinks = (0..<6).map { _ in MemorySink() }
        let outcome = try await pipeline().run(pieces(bytes), expecting: expectations(bytes), sinks: Dictionary(uniqueKeysWithValues: sinks.enumerated().map { ($0.offset, $0.element as any ShardSink) }))
        #expect(outcome.durableSlots == [0, 1, 2, 3, 4, 5])
        #expect(outcome.md5 == Array(Insecure.MD5.hash(data: bytes)))
        #expect(sinks.allSatisfy { $0.state.finished && !$0.state.aborted && $0.state.chunks.count == 4 })
        #expect(reassemble(sinks, size: bytes.count) == bytes)
    }

    @Test func aFailingSinkIsAbortedOnceAndTheQuorumCarriesOn() async throws {
        let bytes = body(2 * blockSize + 1)
        let sinks = (0..<6).map { $0 == 3 ? MemorySink(failOnWrite: 2) : MemorySink() }
        let outcome = try await pipeline().run(pieces(bytes), expecting: expectations(bytes), sinks: Dictionary(uniqueKeysWithValues: sinks.enumerated().map { ($0.offset, $0.element as any ShardSink) }))
        #expect(outcome.durableSlots == [0, 1, 2, 4, 5])
        #expect(sinks[3].state.aborted && sinks[3].state.abortCount == 1 && !sinks[3].state.finished)
    }

    @Test func losingTheQuorumAbortsEveryShard() async {
        let bytes = body(3 * blockSize)
        let sinks = (0..<6).map { $0 >= 4 ? MemorySink(failOnWrite: 1) : MemorySink() }
        await #expect(throws: ObjectError.self) {
            _ = try await pipeline().run(pieces(bytes), expecting: expectations(bytes), sinks: Dictionary(uniqueKeysWithValues: sinks.enumerated().map { ($0.offset, $0.element as any ShardSink) }))
        }
        #expect(sinks.allSatisfy { $0.state.aborted && $0.state.abortCount == 1 && !$0.state.finished })
    }

    /// A body that fails its MD5 never completes a shard: the last block is held back.
    @Test func aBadDigestHoldsBackTheLastBlock() async {
        let bytes = body(3 * blockSize + 5)
        let sinks = (0..<6).map { _ in MemorySink() }
        await #expect(throws: ObjectError.badDigest) {
            _ = try await pipeline().run(pieces(bytes), expecting: expectations(bytes, md5: Array(repeating: 0, count: 16)),
                                         sinks: Dictionary(uniqueKeysWithValues: sinks.enumerated().map { ($0.offset, $0.element as any ShardSink) }))
        }
        #expect(sinks.allSatisfy { $0.state.aborted && !$0.state.finished && $0.state.chunks.count < 4 })
    }

    /// The digests run in a stage of their own, over the blocks the reader
    /// cuts: every block, once, in order, the short last one included.
    @Test func theDigestsCoverEveryBlockInOrder() async throws {
        let bytes = body(5 * blockSize + 777)
        let sinks = (0..<6).map { _ in MemorySink() }
        var expected = expectations(bytes)
        expected.checksumAlgorithm = .sha1
        expected.checksum = Array(Insecure.SHA1.hash(data: bytes))
        let outcome = try await pipeline().run(pieces(bytes), expecting: expected, sinks: Dictionary(uniqueKeysWithValues: sinks.enumerated().map { ($0.offset, $0.element as any ShardSink) }))
        #expect(outcome.md5 == Array(Insecure.MD5.hash(data: bytes)))
        #expect(outcome.checksum?.algorithm == .sha1 && outcome.checksum?.digest == Array(Insecure.SHA1.hash(data: bytes)))
        #expect(reassemble(sinks, size: bytes.count) == bytes)
    }

    /// A trailing checksum is set by the body's decoder when the body ends:
    /// the hashing stage checks it only after that, and a wrong one holds
    /// back the last block as a bad MD5 does.
    @Test(arguments: [true, false])
    func aTrailingChecksumIsCheckedAfterTheBody(right: Bool) async throws {
        let bytes = body(3 * blockSize + 5)
        let sinks = (0..<6).map { _ in MemorySink() }
        let trailer = TrailingChecksum()
        let digest = Array(Insecure.SHA1.hash(data: bytes))
        var expected = expectations(bytes)
        expected.checksumAlgorithm = .sha1
        expected.trailingChecksum = trailer
        let source = pieces(bytes)
        let body = AsyncStream<ByteBuffer> { continuation in
            Task {
                for await piece in source { continuation.yield(piece) }
                trailer.set(right ? digest : Array(repeating: 7, count: digest.count))
                continuation.finish()
            }
        }
        let run = { () async throws in
            try await self.pipeline().run(body, expecting: expected, sinks: Dictionary(uniqueKeysWithValues: sinks.enumerated().map { ($0.offset, $0.element as any ShardSink) }))
        }
        if right {
            let outcome = try await run()
            #expect(outcome.checksum?.algorithm == .sha1 && outcome.checksum?.digest == digest)
            #expect(sinks.allSatisfy { $0.state.finished && $0.state.chunks.count == 4 })
        } else {
            await #expect(throws: ObjectError.checksumMismatch(.sha1)) { _ = try await run() }
            #expect(sinks.allSatisfy { $0.state.aborted && !$0.state.finished && $0.state.chunks.count < 4 })
        }
    }

    /// A body already received, as a server's buffered request body is: it
    /// goes on yielding after its task is cancelled.
    struct ReceivedBody: AsyncSequence {
        let pieces: [ByteBuffer]
        struct AsyncIterator: AsyncIteratorProtocol {
            var rest: ArraySlice<ByteBuffer>
            mutating func next() async -> ByteBuffer? { rest.popFirst() }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(rest: pieces[...]) }
    }

    /// A PUT cancelled while its blocks are on their way (the client went
    /// away): the stages' hand-overs return without delivering, so a run
    /// that carried on would finish shards short of their last blocks with
    /// an MD5 of part of the body (and a shard file committed early is a
    /// crash). It must fail and leave no shard finished.
    @Test func aCancelledPutFinishesNoShard() async throws {
        let bytes = body(6 * blockSize + 5)
        let gate = Gate()
        let sinks = (0..<6).map { $0 == 0 ? MemorySink(gate: gate) : MemorySink() }
        let pieces = stride(from: 0, to: bytes.count, by: 10_000).map { ByteBuffer(bytes: bytes[$0..<min(bytes.count, $0 + 10_000)]) }
        let expected = BodyExpectations(contentLength: bytes.count, md5: nil, sha256: nil)
        let run = Task { [pipeline = pipeline()] in
            try await pipeline.run(ReceivedBody(pieces: pieces), expecting: expected,
                                   sinks: Dictionary(uniqueKeysWithValues: sinks.enumerated().map { ($0.offset, $0.element as any ShardSink) }))
        }
        // The encoder holds block 0 at sink 0's gate; the reader is behind it.
        let deadline = ContinuousClock.now + .seconds(60)
        while gate.waiting == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(gate.waiting == 1)
        run.cancel()
        gate.open()
        switch await run.result {
        case .success(let outcome):
            Issue.record("a cancelled PUT answered success with MD5 \(outcome.md5) and slots \(outcome.durableSlots)")
        case .failure:
            break
        }
        #expect(sinks.allSatisfy { !$0.state.finished })
    }

    @Test func aShortBodyIsRefused() async {
        let bytes = body(blockSize)
        let sinks = (0..<6).map { _ in MemorySink() }
        var expected = expectations(bytes)
        expected.contentLength += 1
        await #expect(throws: ObjectError.incompleteBody(expected: blockSize + 1, received: blockSize)) {
            _ = try await pipeline().run(pieces(bytes), expecting: expected, sinks: Dictionary(uniqueKeysWithValues: sinks.enumerated().map { ($0.offset, $0.element as any ShardSink) }))
        }
        #expect(sinks.allSatisfy { $0.state.aborted && $0.state.chunks.isEmpty })
    }

    /// The shards of a block go to all sinks at once: a sink that holds its
    /// write does not keep the others from receiving theirs.
    @Test func theFanOutIsConcurrent() async throws {
        let bytes = body(2 * blockSize)
        let gate = Gate()
        let sinks = (0..<6).map { $0 == 0 ? MemorySink(gate: gate) : MemorySink() }
        let run = Task { [pipeline = pipeline()] in
            try await pipeline.run(pieces(bytes), expecting: expectations(bytes), sinks: Dictionary(uniqueKeysWithValues: sinks.enumerated().map { ($0.offset, $0.element as any ShardSink) }))
        }
        // Generous: the whole package's tests run at once on two cores, some of them blocking the
        // cooperative threads in SQLite and fsync for seconds (CI once passed 10 s here with no chunk yet).
        let deadline = ContinuousClock.now + .seconds(60)
        while sinks[1...].contains(where: { $0.state.chunks.isEmpty }) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        // At least the first chunk: the queues may let fast sinks take the
        // second stripe too before the blocked one holds everything up.
        #expect(sinks[1...].allSatisfy { !$0.state.chunks.isEmpty })
        #expect(sinks[0].state.chunks.isEmpty)
        gate.open()
        let outcome = try await run.value
        #expect(outcome.durableSlots == [0, 1, 2, 3, 4, 5])
    }

    /// One owner that does not take its chunk: once a quorum of the others
    /// did and the slow-write deadline passed, it is aborted and the PUT
    /// completes without it (never half-written: aborted, not finished).
    @Test func aSlowSinkIsDroppedAfterTheDeadline() async throws {
        let bytes = body(3 * blockSize + 11)
        let gate = Gate()
        let sinks = (0..<6).map { $0 == 2 ? MemorySink(gate: gate) : MemorySink() }
        let outcome = try await pipeline(slowWriteMillis: 50).run(pieces(bytes), expecting: expectations(bytes),
            sinks: Dictionary(uniqueKeysWithValues: sinks.enumerated().map { ($0.offset, $0.element as any ShardSink) }))
        #expect(outcome.durableSlots == [0, 1, 3, 4, 5])
        #expect(sinks[2].state.aborted && !sinks[2].state.finished && sinks[2].state.chunks.isEmpty)
        gate.open()
    }

    /// Below the quorum the deadline does not drop anyone: the PUT waits.
    @Test func theDeadlineNeverBreaksTheQuorum() async throws {
        let bytes = body(blockSize)
        let gate = Gate()
        let sinks = (0..<6).map { $0 < 2 ? MemorySink(gate: gate) : MemorySink() }
        let run = Task { [pipeline = pipeline(slowWriteMillis: 20)] in
            try await pipeline.run(pieces(bytes), expecting: expectations(bytes),
                                   sinks: Dictionary(uniqueKeysWithValues: sinks.enumerated().map { ($0.offset, $0.element as any ShardSink) }))
        }
        try await Task.sleep(for: .milliseconds(200))
        gate.open()
        let outcome = try await run.value
        #expect(outcome.durableSlots.count >= 5)
    }

    @Test func shardWriteLifecycle() {
        typealias S = ShardWriteState
        #expect(S.open.next(.chunkWritten) == .streaming)
        #expect(S.streaming.next(.chunkWritten) == .streaming)
        #expect(S.streaming.next(.finishRequested) == .finishing)
        #expect(S.finishing.next(.finished) == .durable)
        for state in [S.open, .streaming, .finishing] { #expect(state.next(.failed) == .aborted) }
        for event in [S.Event.chunkWritten, .finishRequested, .finished, .failed] {
            #expect(S.durable.next(event) == nil)
            #expect(S.aborted.next(event) == nil)
        }
        #expect(S.finishing.next(.chunkWritten) == nil)
        #expect(S.open.next(.finished) == nil)
    }
}
