import Foundation
import Hummingbird
import Placement

/// Who answers each RPC method: one table for the whole node, so a method
/// is routed once and no handler has to refuse another's methods.
enum RPCHandler: Sendable {
    /// A JSON call: the request body in, the answer's body out.
    case call(@Sendable (_ body: Data, _ sender: NodeID) async throws(NodeError) -> Data)
    /// A streamed shard call: the parsed shard query and the request in, the
    /// answer out (its body streamed when it carries chunks).
    case stream(@Sendable (_ query: ShardQuery, _ request: Request) async throws -> Response)
}

extension RPCMethod {
    /// The dispatch table. Every case of `RPCMethod` has exactly one entry
    /// (a switch, so adding a method without a handler does not compile).
    static func handler(_ method: RPCMethod, node: ClusterNode, objects: ObjectService) -> RPCHandler {
        switch method {
        case .ping: return .call { body, sender throws(NodeError) in try await node.answerPing(body, from: sender) }
        case .sync: return .call { body, sender throws(NodeError) in try await node.answerSync(body, from: sender) }
        case .metadataMerge, .metadataGet, .metadataList, .metadataDigest, .metadataPrepare, .metadataAccept:
            let replica = objects.replica
            return .call { body, _ throws(NodeError) in
                guard let answer = try await replica.answer(method, body: body) else { throw .invalidRequest("not an object-table call") }
                return answer
            }
        case .shardDelete: return .call { body, _ throws(NodeError) in try await objects.answerShardDelete(body) }
        case .shardCheck: return .call { body, _ throws(NodeError) in try await objects.answerShardCheck(body) }
        case .shardStat: return .call { body, _ throws(NodeError) in try await objects.answerShardStat(body) }
        case .scrubStart: return .call { _, _ throws(NodeError) in try encodeReply(await objects.scrubber.start()) }
        case .scrubStatus: return .call { _, _ throws(NodeError) in try encodeReply(await objects.scrubber.current()) }
        case .shardPut:
            return .stream { query, request in
                try await objects.receiveShard(query, body: request.body)
                return RPCServer.answered(node: node, status: .ok, body: Data("{}".utf8))
            }
        case .shardGet:
            return .stream { query, _ in try objects.serveShard(query) }
        case .shardRead: return .call { body, _ throws(NodeError) in try objects.answerShardRead(body) }
        }
    }
}
