import AsyncAlgorithms
import Checksums
import Crypto
import Erasure
import Logging
import NIOCore
import Synchronization
import Units

/// What a body must turn out to be: its declared length and the digests the
/// client sent. The same for an object and (later) a multipart part.
public struct BodyExpectations: Sendable {
    public var contentLength: Int
    /// Content-MD5, decoded.
    public var md5: [UInt8]?
    /// A signed payload's SHA-256 (nil for UNSIGNED-PAYLOAD).
    public var sha256: [UInt8]?
    /// The `x-amz-checksum-*` algorithm to compute, and the digest to match when one was sent.
    public var checksumAlgorithm: ChecksumAlgorithm?
    public var checksum: [UInt8]?
    /// The digest sent after the body (an aws-chunked trailer), known only
    /// once the body has been read; it then stands for `checksum`.
    public var trailingChecksum: TrailingChecksum?

    public init(contentLength: Int, md5: [UInt8]?, sha256: [UInt8]?, checksumAlgorithm: ChecksumAlgorithm? = nil, checksum: [UInt8]? = nil) {
        self.contentLength = contentLength; self.md5 = md5; self.sha256 = sha256
        self.checksumAlgorithm = checksumAlgorithm; self.checksum = checksum
    }
}

/// A checksum that arrives after the body it covers: filled by whoever
/// decodes the body, read by the pipeline once the body has ended.
public final class TrailingChecksum: Sendable {
    private let digest = Mutex<[UInt8]?>(nil)

    public init() {}

    public var value: [UInt8]? { digest.withLock { $0 } }

    public func set(_ value: [UInt8]) { digest.withLock { $0 = value } }
}

/// What a pipeline run leaves: the body's digests and the durable slots.
struct PutOutcome: Sendable {
    let md5: [UInt8]
    let checksum: ObjectChecksum?
    let durableSlots: [Int]
}

/// A PUT's body on its way to shards, in three stages joined by rendezvous
/// channels (so at most one filled block waits between two of them):
/// - the reader takes the body's pieces, checks the length and cuts blocks,
///   each handed to both of the others;
/// - the hashing stage feeds MD5, SHA-256 and the requested checksum;
/// - the encoder stripes and encodes each block and hands shard i to sink i,
///   to all sinks at once.
/// Hashing thus overlaps cutting, encoding and sending, and one slow sink no longer
/// delays the writes of the others within a block. The last block is held
/// back until every digest checked out, so a body that fails them never
/// completes a shard anywhere. Nothing here knows objects: a multipart part
/// is the same stream.
struct PutPipeline: Sendable {
    let code: ErasureCode
    let blockSizeBytes: Int
    let backend: ErasureBackendKind
    let quorum: Int
    /// A sink that has not taken a block's chunk this long after a quorum
    /// of the others did is dropped (aborted), so one slow owner does not
    /// hold the PUT; nil waits for every sink.
    var slowWriteMillis: Int? = nil
    let logger: Logger
    /// The clock the slow-write deadline is measured on.
    var clock: any WallClock = SystemClock()
    /// SSE-C: each block is encrypted after the digests saw its plaintext and before it is erasure-coded.
    var cipher: ObjectCipher? = nil

    /// Streams `body` to `sinks` (slot → sink). On success the sinks that
    /// made the quorum are durable and the others aborted; on failure every
    /// sink is aborted.
    func run<Body: AsyncSequence>(_ body: Body, expecting expected: BodyExpectations, sinks: [Int: any ShardSink])
        async throws(ObjectError) -> PutOutcome where Body.Element == ByteBuffer
    {
        let fanOut = ShardFanOut(sinks: sinks, quorum: quorum, slowWriteMillis: slowWriteMillis, clock: clock, logger: logger)
        let blocks = AsyncChannel<ByteBuffer>()
        let encoder = Task { [self] in await encode(blocks, into: fanOut) }
        let digests: BodyDigests
        do {
            digests = try await read(body, expecting: expected, into: blocks, fanOut: fanOut)
        } catch {
            blocks.finish()
            _ = await encoder.value
            await fanOut.abortAll()
            throw error
        }
        blocks.finish()
        let encoded = await encoder.value
        if let failure = fanOut.failure {
            await fanOut.abortAll()
            throw failure
        }
        // A cancelled task's hand-overs return without delivering: the
        // encoder may have seen fewer blocks than the body has, and those
        // shards must not be finished.
        let blockCount = blockCount(ofLength: expected.contentLength)
        guard !Task.isCancelled, encoded == blockCount else {
            await fanOut.abortAll()
            throw .internalError("the PUT was cancelled with \(encoded) of its \(blockCount) blocks stored")
        }
        let durable = await fanOut.finishAll()
        if expected.contentLength > 0 && durable.count < quorum {
            throw .unavailable("\(durable.count) shards durable, write quorum is \(quorum)")
        }
        return PutOutcome(md5: digests.md5, checksum: digests.checksum, durableSlots: durable)
    }


    /// The reader stage: returns once the whole body is read and checked and
    /// every block handed on (the last one only after the checks). Each
    /// block goes to the hashing stage and to the encoder: on one stream,
    /// MD5 alone (about 0.75 GB/s on one core) was most of the reader's
    /// time, and the body's receiving, cutting and encoding waited on it.
    private func read<Body: AsyncSequence>(_ body: Body, expecting expected: BodyExpectations, into blocks: AsyncChannel<ByteBuffer>,
                                           fanOut: ShardFanOut) async throws(ObjectError) -> BodyDigests where Body.Element == ByteBuffer
    {
        let total = expected.contentLength
        let blockCount = blockCount(ofLength: total)
        let toDigests = AsyncChannel<ByteBuffer>()
        async let digested = Self.digests(of: toDigests, expecting: expected)
        let last: ByteBuffer
        do {
            last = try await cut(body, total: total, blockCount: blockCount, fanOut: fanOut) { block in
                await toDigests.send(block)
                await blocks.send(block)
            }
        } catch {
            toDigests.finish()
            _ = await digested
            throw error
        }
        if blockCount > 0 { await toDigests.send(last) }
        toDigests.finish()
        let digests = try await digested.get()
        if let failure = fanOut.failure { throw failure }
        if blockCount > 0 { await blocks.send(last) }
        return digests
    }

    /// How many blocks a body of `length` bytes is cut into (none when empty).
    private func blockCount(ofLength length: Int) -> Int { (length + blockSizeBytes - 1) / blockSizeBytes }

    /// Cuts the body into blocks, checking its length: every full block but
    /// the last goes to `handOn`; returns the last (empty for an empty body).
    private func cut<Body: AsyncSequence>(_ body: Body, total: Int, blockCount: Int, fanOut: ShardFanOut,
                                          handOn: (ByteBuffer) async -> Void) async throws(ObjectError) -> ByteBuffer
        where Body.Element == ByteBuffer
    {
        var block = ByteBuffer()
        block.reserveCapacity(min(blockSizeBytes, total))
        var received = 0
        var handedOn = 0
        do {
            for try await piece in body {
                var piece = piece
                guard received + piece.readableBytes <= total else {
                    throw ObjectError.incompleteBody(expected: total, received: received + piece.readableBytes)
                }
                received += piece.readableBytes
                while piece.readableBytes > 0 {
                    if block.readableBytes == blockSizeBytes && handedOn < blockCount - 1 {
                        if let failure = fanOut.failure { throw failure }
                        await handOn(block)
                        handedOn += 1
                        block = ByteBuffer()
                        block.reserveCapacity(min(blockSizeBytes, total - handedOn * blockSizeBytes))
                    }
                    let n = min(piece.readableBytes, blockSizeBytes - block.readableBytes)
                    var slice = piece.readSlice(length: n)!
                    block.writeBuffer(&slice)
                }
            }
        } catch let error as ObjectError {
            throw error
        } catch {
            throw .incompleteBody(expected: total, received: received)
        }
        guard received == total else { throw .incompleteBody(expected: total, received: received) }
        return block
    }

    /// The hashing stage: the body's digests over the blocks in order,
    /// checked once the channel is finished (after the whole body was read,
    /// so a trailing checksum has arrived).
    private static func digests(of blocks: AsyncChannel<ByteBuffer>, expecting expected: BodyExpectations) async -> Result<BodyDigests, ObjectError> {
        var digester = BodyDigester(expected)
        var hashed = 0
        for await block in blocks {
            block.withUnsafeReadableBytes { raw in digester.update(raw) }
            hashed += block.readableBytes
        }
        // Cancelled, the channel ends early: digests of part of the body are no digests.
        guard hashed == expected.contentLength else {
            return .failure(.internalError("the PUT was cancelled with \(hashed) of its \(expected.contentLength) bytes hashed"))
        }
        return Result { () throws(ObjectError) in try digester.finish() }
    }

    /// The encoder stage: one reused stripe; after a failure it only drains
    /// the channel, so the reader is never left waiting on it. Returns the
    /// number of blocks it took.
    private func encode(_ blocks: AsyncChannel<ByteBuffer>, into fanOut: ShardFanOut) async -> Int {
        let codec: ReedSolomon
        do { codec = try ReedSolomon.shared(code, backend: backend) } catch {
            fanOut.fail(.internalError("\(error)"))
            for await _ in blocks {}
            return 0
        }
        let stripe = StripeBuffer(code: code, maxBlockLength: blockSizeBytes)
        var index = 0
        for await block in blocks {
            defer { index += 1 }
            guard fanOut.failure == nil else { continue }
            do {
                var plain = block
                if let cipher { plain = ByteBuffer(bytes: try cipher.apply(block.readableBytesView, at: UInt64(index) * UInt64(blockSizeBytes))) }
                try plain.withUnsafeReadableBytes { raw throws(ErasureError) in try stripe.load(block: raw) }
                try codec.encode(stripe)
            } catch {
                fanOut.fail(.internalError("\(error)"))
                continue
            }
            await fanOut.send(stripe)
        }
        return index
    }
}

/// The sinks of one PUT and the state of each shard write. Driven by one
/// stage at a time (the encoder, then the caller), so its sinks are never
/// used by two tasks at once; the failure is read across stages.
final class ShardFanOut: @unchecked Sendable {
    private var sinks: [Int: any ShardSink]
    private var states: [Int: ShardWriteState]
    private let quorum: Int
    private let slowWriteMillis: Int?
    private let clock: any WallClock
    private let logger: Logger
    private let firstFailure = Mutex<ObjectError?>(nil)

    init(sinks: [Int: any ShardSink], quorum: Int, slowWriteMillis: Int? = nil, clock: any WallClock = SystemClock(), logger: Logger) {
        self.sinks = sinks
        self.states = sinks.mapValues { _ in .open }
        self.quorum = quorum
        self.slowWriteMillis = slowWriteMillis
        self.clock = clock
        self.logger = logger
    }

    private enum WriteOutcome: Sendable {
        case done(Int, NodeError?)
        case deadline
    }

    var failure: ObjectError? { firstFailure.withLock { $0 } }

    func fail(_ error: ObjectError) { firstFailure.withLock { $0 = $0 ?? error } }

    private func move(_ slot: Int, _ event: ShardWriteState.Event) {
        guard let state = states[slot], let next = state.next(event) else {
            preconditionFailure("shard write of slot \(slot): \(String(describing: states[slot])) cannot take \(event)")
        }
        states[slot] = next
    }

    /// Writes shard i of the stripe to sink i, all sinks at once, each with
    /// its CRC32C. A sink that fails, or is still writing `slowWriteMillis`
    /// after a quorum of the others finished, is aborted and dropped; fewer
    /// live sinks than the quorum fails the PUT.
    func send(_ stripe: StripeBuffer) async {
        let length = stripe.shardLength
        let live = sinks.filter { states[$0.key] == .open || states[$0.key] == .streaming }
        let quorum = self.quorum
        let failed: [(Int, NodeError)] = await withTaskGroup(of: WriteOutcome.self) { group in
            for (slot, sink) in live {
                let shard = SendableBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(stripe.shard(slot))[0..<length]))
                let driver = SinkDriver(sink)
                group.addTask {
                    let crc = CRC32C.checksum(shard.bytes)
                    do throws(NodeError) {
                        try await driver.sink.write(shard.bytes, crc: crc)
                        return .done(slot, nil)
                    } catch {
                        return .done(slot, error)
                    }
                }
            }
            if let slowWriteMillis {
                let clock = self.clock
                group.addTask {
                    try? await clock.sleep(millis: UInt64(slowWriteMillis))
                    return .deadline
                }
            }
            // The group waits for cancelled writers too, so no task touches the stripe after this returns.
            var results: [Int: NodeError?] = [:]
            var deadlinePassed = false
            for await outcome in group {
                switch outcome {
                case .done(let slot, let error):
                    results[slot] = error
                case .deadline:
                    deadlinePassed = true
                }
                let succeeded = results.values.filter { $0 == nil }.count
                if results.count == live.count || (deadlinePassed && succeeded >= quorum) { group.cancelAll() }
            }
            return live.keys.sorted().compactMap { slot -> (Int, NodeError)? in
                switch results[slot] {
                case .some(.none): return nil
                case .some(.some(let error)): return (slot, error)
                case .none: return (slot, .peer("shard write did not finish in time"))
                }
            }
        }
        for (slot, _) in live where !failed.contains(where: { $0.0 == slot }) { move(slot, .chunkWritten) }
        for (slot, error) in failed {
            logger.warning("shard write failed", metadata: ["slot": "\(slot)", "error": "\(error)"])
            await abort(slot)
        }
        let writing = states.values.filter { $0 == .streaming }.count
        if writing < quorum {
            fail(.unavailable("only \(writing) shard owners still writing, write quorum is \(quorum)"))
        }
    }

    private func abort(_ slot: Int) async {
        guard let state = states[slot], !state.isTerminal, let sink = sinks[slot] else { return }
        move(slot, .failed)
        await sink.abort()
    }

    /// Aborts every shard write that is not durable.
    func abortAll() async {
        for slot in states.keys.sorted() { await abort(slot) }
    }

    /// Makes every streaming shard durable, all at once; returns the slots
    /// that are (a failed finish is aborted).
    func finishAll() async -> [Int] {
        let streaming = states.filter { $0.value == .streaming }.keys.sorted()
        for slot in streaming { move(slot, .finishRequested) }
        let results: [(Int, NodeError?)] = await withTaskGroup(of: (Int, NodeError?).self) { group in
            for slot in streaming {
                let driver = SinkDriver(sinks[slot]!)
                group.addTask {
                    do throws(NodeError) {
                        try await driver.sink.finish()
                        return (slot, nil)
                    } catch {
                        return (slot, error)
                    }
                }
            }
            var results: [(Int, NodeError?)] = []
            for await result in group { results.append(result) }
            return results
        }
        var durable: [Int] = []
        for (slot, error) in results.sorted(by: { $0.0 < $1.0 }) {
            if let error {
                logger.warning("shard write failed", metadata: ["slot": "\(slot)", "error": "\(error)"])
                await abort(slot)
            } else {
                move(slot, .finished)
                durable.append(slot)
            }
        }
        // Sinks opened but never written (an empty body has none) are dropped too.
        await abortAll()
        return durable
    }
}

/// A shard's bytes inside the stripe, read by one writer task while the
/// stripe is not touched (the fan-out awaits every writer before the next block).
struct SendableBytes: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }
}

/// A sink handed to the one task that drives it for this step.
struct SinkDriver: @unchecked Sendable {
    let sink: any ShardSink
    init(_ sink: any ShardSink) { self.sink = sink }
}
