import Foundation
import Placement
import Storage

/// How the data path moves shards to and from other nodes: streamed RPC
/// calls in production (`RPCShardTransport`), an in-memory network with
/// injected faults in the simulated cluster.
protocol ShardTransport: Sendable {
    /// A sink that writes a new shard on `node` (failures show on its writes).
    func sink(for key: ShardKey, format: ShardFileFormat, object: ObjectName, on node: NodeID, at address: HostPort) async -> any ShardSink
    /// Reads `chunks` of a shard on `node`; `headTimeoutMillis` bounds the wait for the answer to start.
    func source(for key: ShardKey, format: ShardFileFormat, chunks: Range<Int>, on node: NodeID, at address: HostPort,
                headTimeoutMillis: Int) async throws(NodeError) -> any ShardSource
}

/// The cluster's shard transport: `shard-put` and `shard-get` streams.
struct RPCShardTransport: ShardTransport {
    let client: RPCClient

    func sink(for key: ShardKey, format: ShardFileFormat, object: ObjectName, on node: NodeID, at address: HostPort) async -> any ShardSink {
        RemoteShardSink(client: client, address: address, node: node,
                        query: ShardQuery(key: key, format: format, chunks: 0..<format.chunkCount, object: object))
    }

    func source(for key: ShardKey, format: ShardFileFormat, chunks: Range<Int>, on node: NodeID, at address: HostPort,
                headTimeoutMillis: Int) async throws(NodeError) -> any ShardSource {
        let query = ShardQuery(key: key, format: format, chunks: chunks)
        // A few chunks (a range read) come in one framed call when the peer speaks frames.
        if let frames = client.frames, ShardWire.length(of: format, chunks: chunks) <= ShardWire.framedReadLimit,
           let (answer, _) = try await frames.call(.shardRead, at: address, body: Data(query.text.utf8), expected: node,
                                                   timeout: .milliseconds(Int64(headTimeoutMillis))) {
            return BufferedShardSource(try ShardWire.chunks(ofReadAnswer: answer))
        }
        let response = try await client.stream(.shardGet, query: query.text, at: address, expected: node,
                                               body: nil, timeout: .milliseconds(Int64(headTimeoutMillis)))
        return RemoteShardSource(response: response)
    }
}
