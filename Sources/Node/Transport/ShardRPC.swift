import ClusterModel
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Placement
import Storage
import Units

/// Streamed shard transfers over the RPC port: the same TLS connection as
/// every other call (its encryption and authentication cover the shard
/// bytes); every chunk in the body also carries its CRC32C, which catches a
/// bad disk or a bug, not an attacker.
extension RPCClient {
    /// Sends a streamed call; returns the answer (a 200 answer's body is streamed).
    func stream(_ method: RPCMethod, query: String, at address: HostPort, expected: NodeID,
                body: HTTPClientRequest.Body?, timeout: TimeAmount) async throws(NodeError) -> HTTPClientResponse {
        var request = HTTPClientRequest(url: "https://\(address)\(method.path)?\(query)")
        request.method = .POST
        if let body { request.body = body }
        let response: HTTPClientResponse
        let deadline = NIODeadline.now() + timeout
        do { response = try await streams.execute(request, deadline: deadline) } catch {
            throw .peer("\(address): \(Self.describe(error))")
        }
        _ = try Self.responder(response, at: address, expected: expected)
        if response.status == .ok, method == .shardGet { return response }
        let data: Data
        do {
            data = Data(buffer: try await Self.withinDeadline(Self.remaining(until: deadline)) {
                try await response.body.collect(upTo: Self.maxResponseBytes)
            })
        } catch {
            throw .peer("\(address): \(Self.describe(error))")
        }
        guard response.status == .ok else {
            if response.status == .notFound { throw .shardMissing(String(decoding: data, as: UTF8.self)) }
            throw .peer("\(address) answered \(response.status.code): \(String(decoding: data, as: UTF8.self))")
        }
        return response
    }
}

/// An object by bucket id (hex) and key, as a shard's owner records it.
struct ObjectName: Sendable, Hashable {
    let bucket: String
    let key: String
    /// The shard is written to this node for an owner that is away (a handoff).
    var handoff = false
}

/// The query of a shard transfer: which shard, its geometry, which chunks.
struct ShardQuery: Sendable, Equatable {
    let key: ShardKey
    let chunkSize: Int
    let dataLength: Int
    /// For reads: the chunks wanted.
    let chunks: Range<Int>
    /// For writes: the object the shard belongs to (bucket id hex, key).
    var object: ObjectName?

    var format: ShardFileFormat { ShardFileFormat(chunkSize: chunkSize, dataLength: dataLength) }

    var text: String {
        var text = "v=\(key.versionID)&slot=\(key.slot)&chunk=\(chunkSize)&length=\(dataLength)&from=\(chunks.lowerBound)&to=\(chunks.upperBound)"
        if let object {
            text += "&b=\(object.bucket)&k=\(Hex.encode(Array(object.key.utf8)))"
            if object.handoff { text += "&h=1" }
        }
        return text
    }

    init(key: ShardKey, format: ShardFileFormat, chunks: Range<Int>, object: ObjectName? = nil) {
        self.key = key
        self.object = object
        chunkSize = format.chunkSize
        dataLength = format.dataLength
        self.chunks = chunks
    }

    /// Parses and bounds-checks a query from the wire.
    init?(text: String) {
        var fields: [Substring: Substring] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            fields[parts[0]] = parts[1]
        }
        guard let v = fields["v"], let slot = fields["slot"].flatMap({ Int($0) }),
              let key = ShardKey(versionID: String(v), slot: slot),
              let chunk = fields["chunk"].flatMap({ Int($0) }), chunk > 0, chunk <= Int(UInt32.max),
              let length = fields["length"].flatMap({ Int($0) }), length >= 0, length <= Int(UInt32.max) * 1024,
              let from = fields["from"].flatMap({ Int($0) }), let to = fields["to"].flatMap({ Int($0) }), from >= 0, from <= to
        else { return nil }
        let format = ShardFileFormat(chunkSize: chunk, dataLength: length)
        guard to <= format.chunkCount else { return nil }
        var object: ObjectName?
        if let bucket = fields["b"], let keyHex = fields["k"] {
            // The table: a bucket's objects (its hex), its multipart uploads, or its versions.
            let table = String(bucket)
            guard BucketID(hex: UploadTable.bucketHex(ofTable: table) ?? VersionTable.bucketHex(ofTable: table) ?? table) != nil, let bytes = Hex.decode(String(keyHex)),
                  let name = String(validating: bytes, as: UTF8.self) else { return nil }
            object = ObjectName(bucket: String(bucket), key: name, handoff: fields["h"] == "1")
        }
        self.init(key: key, format: format, chunks: from..<to, object: object)
    }
}
