import AsyncAlgorithms
import AsyncHTTPClient
import Erasure
import Logging
import Metrics
import NIOCore
import NIOPosix
import Placement
import Storage
import Synchronization

/// Where one slot's shard goes during a PUT: a file on this node, or a
/// streamed upload to its owner. One writer task drives it.
protocol ShardSink: AnyObject {
    func write(_ chunk: UnsafeRawBufferPointer, crc: UInt32) async throws(NodeError)
    /// Makes the shard durable (fsync on its node).
    func finish() async throws(NodeError)
    /// Drops the shard: nothing stays under its name.
    func abort() async
}

/// A shard file on this node. Its disk calls run on NIO's blocking pool,
/// never on the concurrency pool's two threads: a direct write waits for the
/// disk, and while it waited the hashing and encoding of every PUT on the
/// node waited with it (one node's four 64 MiB PUT streams: 521 MiB/s with
/// the writes on the concurrency pool, 705 off it).
final class LocalShardSink: ShardSink {
    let writer: ShardFileWriter

    init(store: ShardStore, key: ShardKey, format: ShardFileFormat) throws(NodeError) {
        do { writer = try store.writer(for: key, format: format) } catch { throw .disk(error) }
    }

    func write(_ chunk: UnsafeRawBufferPointer, crc: UInt32) async throws(NodeError) {
        // The caller's bytes stay valid while it awaits this call, and only this call reads them.
        let borrowed = Borrowed((writer, chunk))
        try await onBlockingPool { () throws(StorageError) in try borrowed.value.0.append(borrowed.value.1, crc: crc) }
    }

    /// Writes a chunk received from a peer (already checked against its CRC).
    func write(_ chunk: ByteBuffer, crc: UInt32) async throws(NodeError) {
        let writer = Borrowed(writer)
        try await onBlockingPool { () throws(StorageError) in
            try chunk.withUnsafeReadableBytes { bytes in Result { () throws(StorageError) in try writer.value.append(bytes, crc: crc) } }.get()
        }
    }

    func finish() async throws(NodeError) {
        let writer = Borrowed(writer)
        try await onBlockingPool { () throws(StorageError) in try writer.value.commit() }
    }

    func abort() async { writer.abandon() }

    private func onBlockingPool(_ work: @escaping @Sendable () throws(StorageError) -> Void) async throws(NodeError) {
        let outcome: Result<Void, StorageError>
        do {
            outcome = try await NIOThreadPool.singleton.runIfActive { Result { () throws(StorageError) in try work() } }
        } catch {
            throw .disk(.io(path: writer.path, operation: "schedule on the blocking pool (\(error))", errno: 0))
        }
        do { try outcome.get() } catch { throw .disk(error) }
    }
}

/// A value handed to one blocking-pool call while its owner awaits that
/// call: the writer is used by one task at a time, and the bytes outlive the
/// call, so no other thread touches either meanwhile.
private struct Borrowed<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Streams chunks to another node through a rendezvous channel: a send
/// waits until the upload has taken the previous chunk, so at most one
/// chunk per slot is in memory (back-pressure from the peer's socket).
final class RemoteShardSink: ShardSink {
    private let channel = AsyncChannel<ByteBuffer>()
    private let failure = FirstFailure()
    private let upload: Task<Void, Never>

    init(client: RPCClient, address: HostPort, node: NodeID, query: ShardQuery) {
        let channel = channel
        let failure = failure
        let wireLength = ShardWire.length(of: query.format, chunks: 0..<query.format.chunkCount)
        // Deadline: generous for the size (10 MB/s floor), never hanging forever.
        let timeout = TimeAmount.seconds(60 + Int64(wireLength / 10_000_000))
        upload = Task {
            do throws(NodeError) {
                _ = try await client.stream(.shardPut, query: query.text, at: address, expected: node,
                                            body: .stream(channel, length: .known(Int64(wireLength))), timeout: timeout)
            } catch {
                failure.record(error)
                channel.finish()
            }
        }
    }

    func write(_ chunk: UnsafeRawBufferPointer, crc: UInt32) async throws(NodeError) {
        if let error = failure.error { throw error }
        await channel.send(ShardWire.frame(chunk, crc: crc))
        if let error = failure.error { throw error }
        // A send cancelled by the PUT's slow-write deadline returns without sending.
        if Task.isCancelled { throw .peer("shard write cancelled: the owner was too slow") }
    }

    func finish() async throws(NodeError) {
        channel.finish()
        await upload.value
        if let error = failure.error { throw error }
    }

    func abort() async {
        failure.record(.peer("upload aborted"))
        upload.cancel()
        channel.finish()
        await upload.value
    }
}

/// The first error a background transfer met, shared with its driver.
final class FirstFailure: Sendable {
    private let state = Mutex<NodeError?>(nil)
    var error: NodeError? { state.withLock { $0 } }
    func record(_ error: NodeError) { state.withLock { $0 = $0 ?? error } }
}

/// Where a GET reads one slot's chunks from, in order. The k sources of
/// a stripe are read concurrently, each by one task at a time into its
/// own shard buffer: hence `Sendable`, with the classes `@unchecked`.
protocol ShardSource: AnyObject, Sendable {
    /// Reads the next chunk (`length` bytes) as a buffer of its own: a
    /// peer's bytes as received, without a copy. A chunk that fails its
    /// CRC32C is an error, never data.
    func nextChunk(length: Int) async throws(NodeError) -> ByteBuffer
    /// Reads the next chunk (`length` bytes) into `buffer`, checked as `nextChunk`.
    func next(into buffer: UnsafeMutableRawBufferPointer, length: Int) async throws(NodeError)
}

extension ShardSource {
    func next(into buffer: UnsafeMutableRawBufferPointer, length: Int) async throws(NodeError) {
        let chunk = try await nextChunk(length: length)
        precondition(chunk.readableBytes == length, "a source gave a chunk of another length")
        chunk.withUnsafeReadableBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: length) }
    }
}

final class LocalShardSource: ShardSource, @unchecked Sendable {
    let reader: ShardFileReader
    var chunk: Int
    let logger: Logger

    init(store: ShardStore, key: ShardKey, firstChunk: Int, logger: Logger) throws(NodeError) {
        do { reader = try store.reader(for: key) } catch {
            if case .notFound = error { throw .shardMissing("\(key)") }
            throw .disk(error)
        }
        chunk = firstChunk
        self.logger = logger
    }

    func next(into buffer: UnsafeMutableRawBufferPointer, length: Int) async throws(NodeError) {
        try readNext(into: buffer, length: length)
    }

    private func readNext(into buffer: UnsafeMutableRawBufferPointer, length: Int) throws(NodeError) {
        defer { chunk += 1 }
        let got: Int
        do { got = try reader.read(chunk: chunk, into: buffer) } catch {
            if case .corruptChunk = error { CorruptionReport.record(error, logger: logger) }
            throw .disk(error)
        }
        guard got == length else { throw .storage("\(reader.path): chunk \(chunk) has \(got) bytes, expected \(length)") }
    }

    func nextChunk(length: Int) async throws(NodeError) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: length)
        try buffer.write(count: length) { (bytes) throws(NodeError) in try readNext(into: bytes, length: length) }
        return buffer
    }
}

final class RemoteShardSource: ShardSource, @unchecked Sendable {
    private var iterator: HTTPClientResponse.Body.AsyncIterator
    private var assembler = ChunkAssembler()

    init(response: HTTPClientResponse) {
        iterator = response.body.makeAsyncIterator()
    }

    func nextChunk(length: Int) async throws(NodeError) -> ByteBuffer {
        while true {
            if let (chunk, _) = try assembler.nextChunk(length: length) { return chunk }
            try await receive()
        }
    }

    private func receive() async throws(NodeError) {
        let part: ByteBuffer?
        do { part = try await iterator.next() } catch { throw .peer("shard stream broke: \(error)") }
        guard let part else { throw .peer("shard stream ended early") }
        assembler.append(part)
    }
}

/// The chunks of a `shard-read` answer, all received: each checked against its CRC32C as it is taken.
final class BufferedShardSource: ShardSource, @unchecked Sendable {
    private var assembler = ChunkAssembler()

    init(_ chunks: ByteBuffer) {
        assembler.append(chunks)
    }

    func nextChunk(length: Int) async throws(NodeError) -> ByteBuffer {
        guard let (chunk, _) = try assembler.nextChunk(length: length) else { throw .peer("shard-read answer ended early") }
        return chunk
    }
}

/// A chunk that failed its CRC32C on this node's disk: logged and counted
/// where it lies, so the operator sees which file and which chunk.
enum CorruptionReport {
    static func record(_ error: StorageError, logger: Logger) {
        logger.error("corrupt shard chunk", metadata: ["error": "\(error)"])
        Counter(label: "shale_corrupt_chunks_total").increment()
    }
}
