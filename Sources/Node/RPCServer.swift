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
        router.post(RouterPath(RPCMethod.shardPut.path)) { request, _ -> Response in
            try await streamed(request, node: node, logger: logger) { query, requestMAC in
                try await objects.receiveShard(query, body: request.body)
                return signed(node: node, requestMAC: requestMAC, status: .ok, body: Data("{}".utf8))
            }
        }
        router.post(RouterPath(RPCMethod.shardGet.path)) { request, _ -> Response in
            try await streamed(request, node: node, logger: logger) { query, requestMAC in
                try objects.serveShard(query, requestMAC: requestMAC)
            }
        }
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
            guard let method = context.parameters.get("method").flatMap(RPCMethod.init(rawValue:)) else {
                return signed(node: node, requestMAC: requestMAC, status: .notFound, body: Data("no such RPC method".utf8))
            }
            Counter(label: "shale_rpc_requests_total", dimensions: [("method", method.rawValue)]).increment()
            do {
                let answer: Data
                switch method {
                case .ping, .sync: answer = try await node.handle(method, body: body, from: sender)
                default: answer = try await objects.handle(method, body: body)
                }
                return signed(node: node, requestMAC: requestMAC, status: .ok, body: answer)
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

    static func signed(node: ClusterNode, requestMAC: String, status: HTTPResponse.Status, body: Data) -> Response {
        let signature = node.auth.signResponse(requestMAC: requestMAC, status: status.code, body: body, identity: node.identity)
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        fields[HTTPField.Name(RPCAuth.Header.node)!] = signature.node
        fields[HTTPField.Name(RPCAuth.Header.mac)!] = signature.mac
        fields[HTTPField.Name(RPCAuth.Header.signature)!] = signature.signature
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(data: body)))
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
