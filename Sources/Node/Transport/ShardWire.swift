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
    /// Received buffers not yet taken, oldest first. They are only read
    /// from, never written to: a chunk handed on as a slice of one shares
    /// storage that no later append changes (appending into one buffer made
    /// every slice still held downstream force a copy of all of it).
    private var parts: [ByteBuffer] = []
    private(set) var bufferedBytes = 0

    mutating func append(_ buffer: ByteBuffer) {
        guard buffer.readableBytes > 0 else { return }
        parts.append(buffer)
        bufferedBytes += buffer.readableBytes
    }

    /// Takes the next `count` bytes (at most `bufferedBytes`): a slice when
    /// one received buffer holds them all, else gathered into one (a copy).
    private mutating func take(_ count: Int) -> ByteBuffer {
        bufferedBytes -= count
        if parts[0].readableBytes >= count {
            let slice = parts[0].readSlice(length: count)!
            if parts[0].readableBytes == 0 { parts.removeFirst() }
            return slice
        }
        var gathered = ByteBufferAllocator().buffer(capacity: count)
        var rest = count
        while rest > 0 {
            var piece = parts[0].readSlice(length: min(rest, parts[0].readableBytes))!
            rest -= piece.readableBytes
            gathered.writeBuffer(&piece)
            if parts[0].readableBytes == 0 { parts.removeFirst() }
        }
        return gathered
    }

    /// The next chunk of `length` bytes and its CRC (already checked), if it
    /// has arrived whole: a slice of the received bytes where they came in
    /// one buffer, else one copy gathered from the buffers that hold it.
    mutating func nextChunk(length: Int) throws(NodeError) -> (bytes: ByteBuffer, crc: UInt32)? {
        guard bufferedBytes >= length + ShardWire.crcBytes else { return nil }
        let chunk = take(length)
        var trailer = take(ShardWire.crcBytes)
        let sent = trailer.readInteger(endianness: .little, as: UInt32.self)!
        guard chunk.withUnsafeReadableBytes({ CRC32C.checksum($0) }) == sent else { throw .corruptTransfer }
        return (chunk, sent)
    }
}

extension ByteBuffer {
    /// Appends `count` bytes that `fill` writes in place (a file read
    /// straight into the buffer); nothing is appended when it throws.
    mutating func write<Failure: Error>(count: Int, filledBy fill: (UnsafeMutableRawBufferPointer) throws(Failure) -> Void) throws(Failure) {
        var failure: Failure?
        writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
            do throws(Failure) {
                try fill(UnsafeMutableRawBufferPointer(rebasing: raw[0..<count]))
                return count
            } catch {
                failure = error
                return 0
            }
        }
        if let failure { throw failure }
    }
}
