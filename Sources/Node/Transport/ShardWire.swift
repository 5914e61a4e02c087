import Erasure
import Foundation
import NIOCore
import Storage

/// How a shard travels between nodes: its chunks in order, each followed by
/// its CRC32C (little-endian), exactly as the shard file stores them after
/// its header. The receiver checks every CRC, so a chunk damaged on disk or
/// on the wire is never taken for data.
enum ShardWire {
    static let crcBytes = ShardFileFormat.crcBytes
    /// The most a `shard-read` answers in one frame; more goes as a `shard-get` stream.
    static let framedReadLimit = 1 << 20
    /// A `shard-read` answer's first byte: the chunks follow, or the shard is not here.
    static let present: UInt8 = 0
    static let missing: UInt8 = 1

    /// Bytes on the wire for chunks `range` of a shard with `format`.
    static func length(of format: ShardFileFormat, chunks range: Range<Int>) -> Int {
        range.reduce(0) { $0 + format.length(ofChunk: $1) + crcBytes }
    }

    /// A `shard-read` answer saying the shard (`what`) is not on the node.
    static func readAnswer(missing what: String) -> Data {
        Data([missing]) + Data(what.utf8)
    }

    /// A `shard-read` answer's chunks and CRCs; a shard not on the node is `shardMissing`, as a `shard-get` 404 is.
    static func chunks(ofReadAnswer answer: Data) throws(NodeError) -> ByteBuffer {
        guard let first = answer.first else { throw .peer("an empty shard-read answer") }
        guard first == present else { throw .shardMissing(String(decoding: answer.dropFirst(), as: UTF8.self)) }
        return ByteBuffer(data: answer.dropFirst())
    }

    /// One chunk and its CRC as a buffer to send.
    static func frame(_ chunk: UnsafeRawBufferPointer, crc: UInt32, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: chunk.count + crcBytes)
        buffer.writeBytes(chunk)
        buffer.writeInteger(crc, endianness: .little)
        return buffer
    }
}

/// Cuts a byte stream into CRC-checked chunks of known lengths.
struct ChunkAssembler {
    private var pending = ByteBuffer()

    mutating func append(_ buffer: ByteBuffer) {
        var buffer = buffer
        if pending.readableBytes == 0 { pending = buffer; return }
        pending.writeBuffer(&buffer)
    }

    var bufferedBytes: Int { pending.readableBytes }

    /// The next chunk of `length` bytes and its CRC (already checked), if it
    /// has arrived whole: a slice of the received bytes, not a copy.
    mutating func nextChunk(length: Int) throws(NodeError) -> (bytes: ByteBuffer, crc: UInt32)? {
        guard pending.readableBytes >= length + ShardWire.crcBytes else { return nil }
        let crc: UInt32? = pending.withUnsafeReadableBytes { raw in
            let sent = raw.loadUnaligned(fromByteOffset: length, as: UInt32.self).littleEndian
            return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<length])) == sent ? sent : nil
        }
        guard let crc else { throw .corruptTransfer }
        let chunk = pending.readSlice(length: length)!
        pending.moveReaderIndex(forwardBy: ShardWire.crcBytes)
        if pending.readableBytes == 0 { pending = ByteBuffer() } else if pending.readerIndex > (4 << 20) { pending.discardReadBytes() }
        return (chunk, crc)
    }

    /// The next chunk of `length` bytes if it has arrived whole: calls `body`
    /// with its bytes and CRC (already checked) and returns true.
    mutating func next(length: Int, _ body: (UnsafeRawBufferPointer, UInt32) throws(StorageError) -> Void) throws(NodeError) -> Bool {
        guard pending.readableBytes >= length + ShardWire.crcBytes else { return false }
        let outcome: Result<Void, StorageError>? = pending.withUnsafeReadableBytes { raw in
            let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<length])
            let sent = raw.loadUnaligned(fromByteOffset: length, as: UInt32.self).littleEndian
            guard CRC32C.checksum(chunk) == sent else { return nil }
            do throws(StorageError) { try body(chunk, sent); return .success(()) } catch { return .failure(error) }
        }
        guard let outcome else { throw .corruptTransfer }
        if case .failure(let error) = outcome { throw .storage("\(error)") }
        pending.moveReaderIndex(forwardBy: length + ShardWire.crcBytes)
        if pending.readableBytes == 0 { pending.clear() } else if pending.readerIndex > (4 << 20) { pending.discardReadBytes() }
        return true
    }
}
