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
                while chunk < format.chunkCount {
                    let length = format.length(ofChunk: chunk)
                    let took = try assembler.next(length: length) { (bytes, crc) throws(StorageError) in
                        try sink.writer.append(bytes, crc: crc)
                    }
                    guard took else { break }
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
        let reader: ShardFileReader
        do { reader = try shards.reader(for: query.key) } catch {
            if case .notFound = error { throw NodeError.shardMissing("\(query.key)") }
            throw error
        }
        guard reader.format == query.format else { throw NodeError.invalidRequest("shard \(query.key) has another geometry") }
        let logger = self.logger
        let chunks = query.chunks
        let length = ShardWire.length(of: reader.format, chunks: chunks)
        let holder = ReaderBox(reader)
        let body = ResponseBody(contentLength: length) { writer in
            let reader = holder.reader
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: reader.format.chunkSize, alignment: 64)
            defer { buffer.deallocate() }
            for chunk in chunks {
                let read: (length: Int, crc: UInt32)
                do { read = try reader.readChunk(chunk, into: buffer) } catch let error as StorageError {
                    if case .corruptChunk = error { CorruptionReport.record(error, logger: logger) }
                    throw error
                }
                let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<read.length])
                try await writer.write(ShardWire.frame(bytes, crc: read.crc))
            }
            // The answer's end: without it the connection stays mid-response (and a graceful shutdown waits on it).
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: RPCServer.fields(node: node, contentType: "application/octet-stream"), body: body)
    }
}

extension ObjectService {
    /// A `shard-read` call: the query's text in; out, `ShardWire.present`
    /// and the chunks with their CRCs, or `ShardWire.missing` and what is
    /// missing (a caller treats that as it treats a 404 of `shard-get`).
    func answerShardRead(_ body: Data) throws(NodeError) -> Data {
        guard let query = ShardQuery(text: String(decoding: body, as: UTF8.self)) else { throw .invalidRequest("malformed shard query") }
        let reader: ShardFileReader
        do { reader = try shards.reader(for: query.key) } catch {
            if case .notFound = error { return Data([ShardWire.missing]) + Data("\(query.key)".utf8) }
            throw .disk(error)
        }
        guard reader.format == query.format else { throw .invalidRequest("shard \(query.key) has another geometry") }
        let length = ShardWire.length(of: reader.format, chunks: query.chunks)
        guard length <= ShardWire.framedReadLimit else {
            throw .invalidRequest("shard-read of \(length) bytes, above \(ShardWire.framedReadLimit): use shard-get")
        }
        var answer = Data(capacity: 1 + length)
        answer.append(ShardWire.present)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: reader.format.chunkSize, alignment: 64)
        defer { buffer.deallocate() }
        for chunk in query.chunks {
            let read: (length: Int, crc: UInt32)
            do { read = try reader.readChunk(chunk, into: buffer) } catch {
                if case .corruptChunk = error { CorruptionReport.record(error, logger: logger) }
                throw .disk(error)
            }
            answer.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<read.length]))
            withUnsafeBytes(of: read.crc.littleEndian) { answer.append(contentsOf: $0) }
        }
        return answer
    }
}

/// Hands a reader to the response body's task (used by that task alone).
final class ReaderBox: @unchecked Sendable {
    let reader: ShardFileReader
    init(_ reader: ShardFileReader) { self.reader = reader }
}
