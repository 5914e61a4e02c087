import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOCore
import Placement

/// The RPC endpoint (3901): authenticated POST /rpc/v1/<method> calls.
/// Anything without the cluster's secret and a valid node signature gets a
/// 401 and nothing else: no peer list, no state.
public enum RPCServer {
    static let maxRequestBytes = 64 << 20

    public static func application(node: ClusterNode, objects: ObjectService, logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        var calls: [RPCMethod: @Sendable (Data, NodeID) async throws(NodeError) -> Data] = [:]
        for method in RPCMethod.allCases {
            switch RPCMethod.handler(method, node: node, objects: objects) {
            case .call(let answer):
                calls[method] = answer
            case .stream(let answer):
                router.post(RouterPath(method.path)) { request, _ -> Response in
                    Counter(label: "shale_rpc_requests_total", dimensions: [("method", method.rawValue)]).increment()
                    return try await streamed(request, node: node, logger: logger) { query, requestMAC in
                        try await answer(query, request, requestMAC)
                    }
                }
            }
        }
        let table = calls
        router.post("/rpc/v1/:method") { request, context -> Response in
            var request = request
            let buffer = try await request.collectBody(upTo: maxRequestBytes)
            let body = Data(buffer: buffer)
            let headers = RPCAuth.Signed(fields: request.headers)
            let now = Int64(node.wallClock.nowMillis())
            let path = request.uri.path
            let sender: NodeID
            switch node.auth.verifyRequest(method: "POST", path: path, body: body, headers: headers, nowMillis: now) {
            case .failure(let failure):
                logger.warning("refused RPC call", metadata: ["path": "\(path)", "reason": "\(failure)"])
                Counter(label: "shale_rpc_refused_total").increment()
                return Response(status: .unauthorized, body: .init(byteBuffer: ByteBuffer(string: "unauthorized")))
            case .success(let node): sender = node
            }
            let requestMAC = headers?.mac ?? ""
            guard let method = context.parameters.get("method").flatMap(RPCMethod.init(rawValue:)), let answer = table[method] else {
                return signed(node: node, requestMAC: requestMAC, status: .notFound, body: Data("no such RPC method".utf8))
            }
            Counter(label: "shale_rpc_requests_total", dimensions: [("method", method.rawValue)]).increment()
            do {
                return signed(node: node, requestMAC: requestMAC, status: .ok, body: try await answer(body, sender))
            } catch {
                return signed(node: node, requestMAC: requestMAC, status: .badRequest, body: Data("\(error)".utf8))
            }
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(node.config.rpcBindAddr.host, port: node.config.rpcBindAddr.port),
                                 serverName: "shale-rpc"),
            logger: logger)
    }

    /// Authenticates a streamed call (headers signed, body per-chunk CRCs)
    /// and parses its shard query before `body` touches any data.
    static func streamed(_ request: Request, node: ClusterNode, logger: Logger,
                         _ body: (ShardQuery, String) async throws -> Response) async throws -> Response {
        let headers = RPCAuth.Signed(fields: request.headers)
        let path = request.uri.path + "?" + (request.uri.query ?? "")
        let now = Int64(node.wallClock.nowMillis())
        if case .failure(let failure) = node.auth.verifyRequest(method: "POST", path: path, bodyHash: RPCAuth.streamedBody,
                                                                headers: headers, nowMillis: now) {
            logger.warning("refused RPC call", metadata: ["path": "\(request.uri.path)", "reason": "\(failure)"])
            Counter(label: "shale_rpc_refused_total").increment()
            return Response(status: .unauthorized, body: .init(byteBuffer: ByteBuffer(string: "unauthorized")))
        }
        let requestMAC = headers?.mac ?? ""
        guard let query = ShardQuery(text: request.uri.query ?? "") else {
            return signed(node: node, requestMAC: requestMAC, status: .badRequest, body: Data("malformed shard query".utf8))
        }
        do {
            return try await body(query, requestMAC)
        } catch NodeError.shardMissing(let what) {
            return signed(node: node, requestMAC: requestMAC, status: .notFound, body: Data(what.utf8))
        } catch {
            return signed(node: node, requestMAC: requestMAC, status: .badRequest, body: Data("\(error)".utf8))
        }
    }

    /// A JSON answer, signed for the caller.
    static func signed(node: ClusterNode, requestMAC: String, status: HTTPResponse.Status, body: Data) -> Response {
        let fields = signedFields(node: node, requestMAC: requestMAC, status: status, bodyHash: RPCAuth.bodyHash(body),
                                  contentType: "application/json")
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(data: body)))
    }

    /// The headers that sign an answer (the one place answers are signed):
    /// `bodyHash` is the body's hash, or `RPCAuth.streamedBody` for chunked shard streams.
    static func signedFields(node: ClusterNode, requestMAC: String, status: HTTPResponse.Status, bodyHash: String,
                             contentType: String) -> HTTPFields {
        let signature = node.auth.signResponse(requestMAC: requestMAC, status: status.code, bodyHash: bodyHash, identity: node.identity)
        var fields = HTTPFields()
        fields[.contentType] = contentType
        fields[HTTPField.Name(RPCAuth.Header.node)!] = signature.node
        fields[HTTPField.Name(RPCAuth.Header.mac)!] = signature.mac
        fields[HTTPField.Name(RPCAuth.Header.signature)!] = signature.signature
        return fields
    }
}

extension RPCAuth.Signed {
    init?(fields: HTTPFields) {
        guard let node = fields[HTTPField.Name(RPCAuth.Header.node)!],
              let date = fields[HTTPField.Name(RPCAuth.Header.date)!],
              let mac = fields[HTTPField.Name(RPCAuth.Header.mac)!],
              let signature = fields[HTTPField.Name(RPCAuth.Header.signature)!] else { return nil }
        self.init(node: node, date: date, mac: mac, signature: signature)
    }
}
