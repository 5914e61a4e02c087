import AdminAPI
import ClusterModel
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Node
import Units

/// The web console on the admin port (`/ui`): plain HTML from the server, a
/// stylesheet and a little JavaScript for the live parts. Logged in with an
/// admin token (kept server-side, behind an HttpOnly SameSite=Strict cookie,
/// Secure under TLS); every change is a POST carrying the session's CSRF
/// token; every page and change is checked against the token's scope by the
/// same authorizer as the API.
struct AdminConsole: Sendable {
    static let root = "/ui"
    static let cookieName = "shale_session"
    static let maxFormBytes = 64 * 1024

    let handlers: AdminHandlers
    let authorizer: AdminAuthorizer
    let stats: RequestStats
    let secureCookies: Bool
    let sessions = ConsoleSessions()

    var node: any ClusterAdministration { handlers.node }

    func register(on router: Router<AdminContext>) {
        router.get("/ui") { _, _ in Self.redirect("/ui/cluster") }
        router.get("/ui/static/console.css") { _, _ in Self.asset(ConsoleAssets.css, type: "text/css; charset=utf-8") }
        router.get("/ui/static/console.js") { _, _ in Self.asset(ConsoleAssets.javascript, type: "text/javascript; charset=utf-8") }
        router.get("/ui/login") { _, _ in Self.html(ConsoleHTML.login(error: nil)) }
        router.post("/ui/login") { request, context in await login(request, context) }
        router.post("/ui/logout") { request, _ in
            if let id = Self.sessionID(request) { sessions.close(id) }
            var response = Self.redirect("/ui/login")
            response.setCookie(cookie(value: "", maxAge: 0))
            return response
        }
        // One route per page: the router matches literal segments first, so a
        // `/ui/:page` route would never see /ui/layout (POST /ui/layout/assign exists).
        router.get("/ui/cluster") { request, _ in await show(request, "cluster", .getClusterStatus) { _, _ in await clusterBody() } }
        router.get("/ui/layout") { request, _ in
            await show(request, "layout", .getClusterLayout) { session, caller in await layoutBody(session, caller) }
        }
        router.get("/ui/partitions") { request, _ in
            await show(request, "partitions", .getClusterStatus) { _, _ in await partitionsBody() }
        }
        router.get("/ui/buckets") { request, _ in
            await show(request, "buckets", .listBuckets) { session, caller in await bucketsBody(session, caller) }
        }
        router.get("/ui/maintenance") { request, _ in
            await show(request, "maintenance", .getRebuildStatus) { session, caller in await maintenanceBody(session, caller) }
        }
        router.get("/ui/data/:what") { request, context in
            switch context.parameters.get("what") ?? "" {
            case "status": return await data(request, .getClusterStatus) { _ in jsonResponse(await handlers.statusDocument()) }
            case "stats":
                return await data(request, .getClusterStatus) { _ in
                    jsonResponse(StatsDocument(millis: node.wallClock.nowMillis(), totals: stats.snapshot))
                }
            case "maintenance":
                return await data(request, .getRebuildStatus) { caller in
                    let scrub = caller.allows(.getScrubStatus) ? await handlers.maintenance.scrubStatus() : []
                    return jsonResponse(MaintenanceDocument(rebuild: await handlers.maintenance.rebuildStatus(), scrub: scrub))
                }
            default: return jsonError(.notFound, code: "NotFound", "no such data")
            }
        }
        registerActions(on: router)
    }

    // MARK: Login and sessions

    func login(_ request: Request, _ context: AdminContext) async -> Response {
        let fields = await Self.form(request)
        let token = fields["token"] ?? ""
        let client = AdminAuthorizer.client(address: context.remoteAddress, presented: token)
        if authorizer.isLimited(client) {
            return Self.html(ConsoleHTML.login(error: "Too many failed logins from here: wait a minute and retry."), status: .tooManyRequests)
        }
        switch await authorizer.authenticate(token) {
        case .failure(let failure):
            authorizer.recordFailure(failure, client: client)
            let reason = failure == .wrong ? "That token is not valid." : failure.message
            return Self.html(ConsoleHTML.login(error: reason), status: .forbidden)
        case .success(.metrics):
            return Self.html(ConsoleHTML.login(error: "The metrics token only reads /metrics."), status: .forbidden)
        case .success:
            var response = Self.redirect("/ui/cluster")
            response.setCookie(cookie(value: sessions.open(token: token), maxAge: Int(ConsoleSessions.lifetimeSeconds)))
            return response
        }
    }

    func cookie(value: String, maxAge: Int) -> Cookie {
        Cookie(name: Self.cookieName, value: value, maxAge: maxAge, path: Self.root, secure: secureCookies, httpOnly: true, sameSite: .strict)
    }

    /// The session and the caller behind a request, or the answer to give instead (the login page).
    func caller(_ request: Request) async -> ConsoleGate {
        guard let id = Self.sessionID(request), let session = sessions.session(id) else { return .answer(Self.redirect("/ui/login")) }
        switch await authorizer.authenticate(session.token) {
        case .success(let caller): return .allowed(session, caller)
        case .failure(let failure):
            sessions.close(id)
            var response = Self.html(ConsoleHTML.login(error: "Your session ended: the token is \(failure.reason)."), status: .forbidden)
            response.setCookie(cookie(value: "", maxAge: 0))
            return .answer(response)
        }
    }

    func show(_ request: Request, _ page: String, _ operation: AdminOperation,
              _ body: (ConsoleSessions.Session, AdminCaller) async -> String) async -> Response {
        switch await caller(request) {
        case .answer(let response): return response
        case .allowed(let session, let caller):
            guard caller.allows(operation) else {
                return Self.html(render(page, request, body: "", error: "This token's scope does not include \(operation.rawValue)."),
                                 status: .forbidden)
            }
            return Self.html(render(page, request, body: await body(session, caller)))
        }
    }

    func data(_ request: Request, _ operation: AdminOperation, _ body: (AdminCaller) async -> Response) async -> Response {
        switch await caller(request) {
        case .answer: return jsonError(.unauthorized, code: "Unauthorized", "log in again")
        case .allowed(_, let caller):
            guard caller.allows(operation) else { return jsonError(.forbidden, code: "Forbidden", "out of this token's scope") }
            var response = await body(caller)
            response.headers[.cacheControl] = "no-store"
            return response
        }
    }

    // MARK: Plumbing

    static func sessionID(_ request: Request) -> String? {
        request.cookies[cookieName].map(\.value).flatMap { $0.isEmpty ? nil : $0 }
    }

    static func form(_ request: Request) async -> [String: String] {
        var request = request
        guard let buffer = try? await request.collectBody(upTo: maxFormBytes) else { return [:] }
        return ConsoleHTML.formFields(String(buffer: buffer))
    }

    static func securityHeaders(_ fields: inout HTTPFields) {
        fields[HTTPField.Name("Content-Security-Policy")!] = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        fields[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        fields[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        fields[.cacheControl] = "no-store"
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "text/html; charset=utf-8"
        securityHeaders(&fields)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func asset(_ text: String, type: String) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = type
        fields[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        fields[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// 303: after a POST the browser GETs the page.
    static func redirect(_ location: String) -> Response {
        var fields = HTTPFields()
        fields[.location] = location
        securityHeaders(&fields)
        return Response(status: .seeOther, headers: fields)
    }

    static func redirect(_ page: String, message: String? = nil, error: String? = nil) -> Response {
        var query: [String] = []
        let allowed = CharacterSet.alphanumerics
        if let message { query.append("msg=" + (message.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")) }
        if let error { query.append("err=" + (error.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")) }
        return redirect("/ui/\(page)" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
    }
}

/// A console request's caller, or the answer to give instead.
enum ConsoleGate {
    case allowed(ConsoleSessions.Session, AdminCaller)
    case answer(Response)
}

struct StatsDocument: Encodable {
    let millis: UInt64
    let totals: RequestStats.Snapshot
}

struct MaintenanceDocument: Encodable {
    let rebuild: RebuildStatus
    let scrub: [ScrubStatus]
}
