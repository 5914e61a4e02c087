import AdminAPI
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Node
import Units

/// The admin API (3902): JSON over HTTP, bearer `admin_token`, versioned
/// paths (Docs/admin-api.md). Thin: parse, authorize, call the node, render.
public enum AdminServer {
    static let maxRequestBytes = 1 << 20

    /// The admin API of a node, which it knows through `ClusterAdministration`, `ObjectStore` and `MaintenanceControl`.
    public static func application(node: any ClusterAdministration, objects: any ObjectStore, maintenance: any MaintenanceControl,
                                   metrics: AdminMetrics, certificate: ServerCertificate? = nil, logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: TokenMiddleware(adminToken: node.config.adminToken, metricsToken: node.config.metricsToken))
        let handlers = AdminHandlers(node: node, objects: objects, maintenance: maintenance, metrics: metrics)
        handlers.register(on: router)
        return Application(
            router: router,
            server: .http1(configuration: .init(), certificate: certificate),
            configuration: .init(address: .hostname(node.config.adminBindAddr.host, port: node.config.adminBindAddr.port),
                                 serverName: "shale-admin"),
            logger: logger)
    }
}

/// `/health` is open to probes; `/metrics` takes `metrics_token` when one is
/// set (else it is open); everything else takes `admin_token`. No token: 401;
/// a wrong one: 403.
struct TokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let adminToken: String
    let metricsToken: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path == AdminPath.health { return try await next(request, context) }
        let expected: String?
        if path == AdminPath.metrics { expected = metricsToken } else { expected = adminToken }
        guard let expected else { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            return jsonError(.unauthorized, code: "Unauthorized", "missing admin token: send 'Authorization: Bearer <admin_token>'")
        }
        guard constantTimeEqual(String(header.dropFirst("Bearer ".count)), expected) else {
            return jsonError(.forbidden, code: "Forbidden", "wrong admin token")
        }
        return try await next(request, context)
    }
}

func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
    var fields = HTTPFields()
    fields[.contentType] = "application/json"
    return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(data: data)))
}

func jsonError(_ status: HTTPResponse.Status, code: String, _ message: String) -> Response {
    jsonResponse(ErrorDocument(error: message, code: code), status: status)
}
