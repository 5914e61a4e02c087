import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import Logging
import Metrics
import NIOCore
import NIOSSL
import Placement

extension ConnectionContext {
    /// The calling node: the key in the certificate its TLS handshake proved
    /// (an HTTP/2 call's channel is a stream of the TLS connection).
    func caller() async -> NodeID? {
        let connection = channel.parent ?? channel
        return try? await connection.eventLoop.submit {
            try connection.pipeline.syncOperations.handler(type: NIOSSLHandler.self).peerCertificate.flatMap(ClusterTLS.nodeID)
        }.get()
    }
}

/// The RPC endpoint (3901) over mutual TLS 1.3 (see `ClusterTLS`): JSON
/// calls as frames (`RPCFrame`) or, for callers of earlier builds, as POST
/// /rpc/v1/<method> over HTTP/2; shard streams over HTTP/1.1. A client
/// without this cluster's certificate does not get past the handshake: no
/// peer list, no state, not even an HTTP answer.
public enum RPCServer {
    static let maxRequestBytes = 64 << 20
    /// An answer names its node, so a caller that reached another node than
    /// the one it meant (an address reused) notices.
    static let nodeHeader = "x-shale-node"

    public static func application(node: ClusterNode, objects: ObjectService, tls: ClusterTLS, logger: Logger) throws -> some ApplicationProtocol {
        let router = Router(context: ConnectionContext.self)
        var calls: [RPCMethod: RPCCallTable.Handler] = [:]
        for method in RPCMethod.allCases {
            switch RPCMethod.handler(method, node: node, objects: objects) {
            case .call(let answer):
                calls[method] = answer
            case .stream(let answer):
                let requests = method.requestCounter()
                router.post(RouterPath(method.path)) { request, _ -> Response in
                    requests.increment()
                    return try await streamed(request, node: node) { query in try await answer(query, request) }
                }
            }
        }
        let table = RPCCallTable(handlers: calls)
        router.post("/rpc/v1/:method") { request, context -> Response in
            guard let sender = await context.caller() else {
                logger.warning("refused RPC call without a node certificate", metadata: ["path": "\(request.uri.path)"])
                Counter(label: "shale_rpc_refused_total").increment()
                return Response(status: .unauthorized, body: .init(byteBuffer: ByteBuffer(string: "unauthorized")))
            }
            var request = request
            let body = Data(buffer: try await request.collectBody(upTo: maxRequestBytes))
            let (outcome, answer) = await table.answer(context.parameters.get("method") ?? "", body: body, caller: sender)
            return answered(node: node, status: HTTPResponse.Status(code: outcome.httpStatus), body: answer)
        }
        return Application(
            router: router,
            server: try portServer(tls: tls, calls: table, logger: logger),
            configuration: .init(address: .hostname(node.config.rpcBindAddr.host, port: node.config.rpcBindAddr.port),
                                 serverName: "shale-rpc"),
            logger: logger)
    }

    /// The port's connections (`RPCPortChannel`): framed calls answered from
    /// `calls`, HTTP/2 and HTTP/1.1 by the router.
    static func portServer(tls: ClusterTLS, calls: RPCCallTable, logger: Logger) throws(NodeError) -> HTTPServerBuilder {
        let sslContext: NIOSSLContext
        do {
            var configuration = tls.serverConfiguration
            // A node's shutdown closes its framed connections: it waits at most this long for each
            // caller's close_notify (NIO's default, 5 s, is what our callers made it wait).
            configuration.shutdownTimeout = .seconds(1)
            sslContext = try NIOSSLContext(configuration: configuration)
        } catch {
            throw .invalidRequest("cannot make the RPC port's TLS context: \(error)")
        }
        // Checked here rather than by BoringSSL's trust store so a refusal is logged and counted.
        let verifyCaller: @Sendable ([NIOSSLCertificate]) -> NIOSSLVerificationResult = { certificates in
            let result = tls.verifyCaller(certificates)
            if case .failed = result {
                logger.warning("refused RPC connection: its certificate is not one of this cluster's (another rpc_secret?)")
                Counter(label: "shale_rpc_refused_total").increment()
            }
            return result
        }
        return HTTPServerBuilder { responder in
            RPCPortChannel(sslContext: sslContext, verifyCaller: verifyCaller,
                           http1: HTTP1Channel(responder: responder), http2: HTTP2Channel(responder: responder), calls: calls)
        }
    }

    /// Parses a streamed call's shard query before `body` touches any data.
    static func streamed(_ request: Request, node: ClusterNode, _ body: (ShardQuery) async throws -> Response) async throws -> Response {
        guard let query = ShardQuery(text: request.uri.query ?? "") else {
            return answered(node: node, status: .badRequest, body: Data("malformed shard query".utf8))
        }
        do {
            return try await body(query)
        } catch NodeError.shardMissing(let what) {
            return answered(node: node, status: .notFound, body: Data(what.utf8))
        } catch {
            return answered(node: node, status: .badRequest, body: Data("\(error)".utf8))
        }
    }

    /// A JSON answer.
    static func answered(node: ClusterNode, status: HTTPResponse.Status, body: Data) -> Response {
        Response(status: status, headers: fields(node: node, contentType: "application/json"), body: .init(byteBuffer: ByteBuffer(data: body)))
    }

    /// An answer's headers: its type and the answering node.
    static func fields(node: ClusterNode, contentType: String) -> HTTPFields {
        var fields = HTTPFields()
        fields[.contentType] = contentType
        fields[HTTPField.Name(nodeHeader)!] = node.id.rawValue
        return fields
    }
}
