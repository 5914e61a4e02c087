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
                                   metrics: AdminMetrics, limiter: AuthFailureLimiter = AuthFailureLimiter(),
                                   stats: RequestStats = RequestStats(), certificate: ServerCertificate? = nil,
                                   logger: Logger) -> some ApplicationProtocol {
        let router = Router(context: AdminContext.self)
        let authorizer = AdminAuthorizer(node: node, limiter: limiter)
        router.add(middleware: AdminAuthorizationMiddleware(authorizer: authorizer))
        let handlers = AdminHandlers(node: node, objects: objects, maintenance: maintenance, metrics: metrics, limiter: limiter)
        handlers.register(on: router)
        AdminConsole(handlers: handlers, authorizer: authorizer, stats: stats, secureCookies: certificate != nil).register(on: router)
        return Application(
            router: router,
            server: .http1(configuration: .init(), certificate: certificate),
            configuration: .init(address: .hostname(node.config.adminBindAddr.host, port: node.config.adminBindAddr.port),
                                 serverName: "shale-admin"),
            logger: logger)
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
