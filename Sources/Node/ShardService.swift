import Foundation
import HTTPTypes
import Hummingbird
import Logging
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
        let sink = try await localSink(query.key, format: format, object: object)
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
    func serveShard(_ query: ShardQuery, requestMAC: String) throws -> Response {
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
                let n: Int
                do { n = try reader.read(chunk: chunk, into: buffer) } catch let error as StorageError {
                    if case .corruptChunk = error { CorruptionReport.record(error, logger: logger) }
                    throw error
                }
                let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                try await writer.write(ShardWire.frame(bytes, crc: CRC32C.checksum(bytes)))
            }
        }
        let signature = node.auth.signResponse(requestMAC: requestMAC, status: 200, bodyHash: RPCAuth.streamedBody, identity: node.identity)
        var fields = HTTPFields()
        fields[.contentType] = "application/octet-stream"
        fields[HTTPField.Name(RPCAuth.Header.node)!] = signature.node
        fields[HTTPField.Name(RPCAuth.Header.mac)!] = signature.mac
        fields[HTTPField.Name(RPCAuth.Header.signature)!] = signature.signature
        return Response(status: .ok, headers: fields, body: body)
    }
}

extension ObjectService {
    /// A shard file on this node, noted with its object first so that a
    /// shard no version references can later be found and collected.
    func localSink(_ key: ShardKey, format: ShardFileFormat, object: ObjectName) async throws(NodeError) -> LocalShardSink {
        let note = MetadataStore.LocalShard(versionID: key.versionID, slot: key.slot, bucket: object.bucket, key: object.key,
                                            createdMillis: UInt64(Date().timeIntervalSince1970 * 1000))
        do { try await metadataStore.recordShard(note) } catch { throw .storage("\(error)") }
        return try LocalShardSink(store: shards, key: key, format: format)
    }
}

/// Hands a reader to the response body's task (used by that task alone).
final class ReaderBox: @unchecked Sendable {
    let reader: ShardFileReader
    init(_ reader: ShardFileReader) { self.reader = reader }
}
