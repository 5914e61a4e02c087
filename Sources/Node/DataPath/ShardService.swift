import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Placement
import NIOCore
import Erasure
import Storage

/// This node's side of streamed shard transfers.
extension ObjectService {
    /// Stores a shard streamed by a PUT's coordinator. Every chunk's CRC is
    /// checked as it arrives; a short, long or damaged body leaves no file.
    func receiveShard(_ query: ShardQuery, body: RequestBody) async throws {
        let format = query.format
        guard let object = query.object else { throw NodeError.invalidRequest("a shard write names its object") }
        try await access.note([query.key], of: object)
        let sink = try LocalShardSink(store: shards, key: query.key, format: format)
        var assembler = ChunkAssembler()
        var chunk = 0
        do {
            for try await part in body {
                assembler.append(part)
                while chunk < format.chunkCount, let (bytes, crc) = try assembler.nextChunk(length: format.length(ofChunk: chunk)) {
                    try await sink.write(bytes, crc: crc)
                    chunk += 1
                }
                if chunk == format.chunkCount && assembler.bufferedBytes > 0 { throw NodeError.invalidRequest("shard body longer than its format") }
            }
            guard chunk == format.chunkCount else { throw NodeError.invalidRequest("shard body ended at chunk \(chunk) of \(format.chunkCount)") }
            try await sink.finish()
        } catch {
            await sink.abort()
            throw error
        }
    }

    /// Streams chunks of a local shard, each followed by its CRC. A chunk
    /// that fails its check on disk is logged and counted here and ends the
    /// stream, so the reader replaces this shard with parity.
    func serveShard(_ query: ShardQuery) throws -> Response {
        let reader = try servedReader(for: query)
        let logger = self.logger
        let chunks = query.chunks
        let length = ShardWire.length(of: reader.format, chunks: chunks)
        let holder = ReaderBox(reader)
        let body = ResponseBody(contentLength: length) { writer in
            let reader = holder.reader
            for chunk in chunks {
                var frame = ByteBufferAllocator().buffer(capacity: reader.format.length(ofChunk: chunk) + ShardWire.crcBytes)
                try Self.appendServedFrame(chunk, of: reader, to: &frame, logger: logger)
                try await writer.write(frame)
            }
            // The answer's end: without it the connection stays mid-response (and a graceful shutdown waits on it).
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: RPCServer.fields(node: node, contentType: "application/octet-stream"), body: body)
    }
}

extension ObjectService {
    /// A `shard-read` call: the query's text in; out, the chunks with their
    /// CRCs, or word that the shard is not here (`ShardWire.readAnswer`).
    func answerShardRead(_ body: Data) throws(NodeError) -> Data {
        guard let query = ShardQuery(text: String(decoding: body, as: UTF8.self)) else { throw .invalidRequest("malformed shard query") }
        let reader: ShardFileReader
        do { reader = try servedReader(for: query) } catch {
            if case .shardMissing(let what) = error { return ShardWire.readAnswer(missing: what) }
            throw error
        }
        let length = ShardWire.length(of: reader.format, chunks: query.chunks)
        guard length <= ShardWire.framedReadLimit else {
            throw .invalidRequest("shard-read of \(length) bytes, above \(ShardWire.framedReadLimit): use shard-get")
        }
        var answer = ByteBuffer(integer: ShardWire.present)
        answer.reserveCapacity(1 + length)
        for chunk in query.chunks {
            try Self.appendServedFrame(chunk, of: reader, to: &answer, logger: logger)
        }
        return Data(buffer: answer, byteTransferStrategy: .noCopy)
    }

    /// The local shard a read asks for, with the geometry it names.
    func servedReader(for query: ShardQuery) throws(NodeError) -> ShardFileReader {
        let reader: ShardFileReader
        do { reader = try shards.reader(for: query.key) } catch {
            if case .notFound = error { throw .shardMissing("\(query.key)") }
            throw .disk(error)
        }
        guard reader.format == query.format else { throw .invalidRequest("shard \(query.key) has another geometry") }
        return reader
    }

    /// Appends one chunk of a served shard followed by its CRC to `buffer`,
    /// read from the file straight into it (the file keeps them in wire
    /// order); a chunk that fails its check on disk is logged and counted
    /// here, where it lies.
    static func appendServedFrame(_ chunk: Int, of reader: ShardFileReader, to buffer: inout ByteBuffer, logger: Logger) throws(NodeError) {
        do {
            try buffer.write(count: reader.format.length(ofChunk: chunk) + ShardWire.crcBytes) { (frame) throws(StorageError) in
                _ = try reader.readFramedChunk(chunk, into: frame)
            }
        } catch {
            if case .corruptChunk = error { CorruptionReport.record(error, logger: logger) }
            throw .disk(error)
        }
    }
}

/// Hands a reader to the response body's task (used by that task alone).
final class ReaderBox: @unchecked Sendable {
    let reader: ShardFileReader
    init(_ reader: ShardFileReader) { self.reader = reader }
}
