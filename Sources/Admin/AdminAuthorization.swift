import AdminAPI
import ClusterModel
import Foundation
import HTTPTypes
import Hummingbird
import Metrics
import NIOCore
import Node
import Units

/// A request context that knows the client's address (for counting failed logins).
struct AdminContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: String?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }
}

/// Who is calling the admin API.
enum AdminCaller: Sendable, Equatable {
    /// The node's `admin_token`: every operation.
    case master
    /// The node's `metrics_token`: `/metrics` only.
    case metrics
    case token(AdminTokenID, scope: AdminScope)

    func allows(_ operation: AdminOperation) -> Bool {
        switch self {
        case .master: return true
        case .metrics: return operation == .metrics
        case .token(_, let scope): return scope.allows(operation)
        }
    }
}

/// Why a presented token was not taken.
enum AdminAuthFailure: Error, Equatable {
    case missing, wrong, expired(AdminTokenID), revoked(AdminTokenID)

    var reason: String {
        switch self {
        case .missing: return "missing"
        case .wrong: return "wrong"
        case .expired: return "expired"
        case .revoked: return "revoked"
        }
    }

    /// The one-line answer, for the API and the console alike.
    var message: String {
        switch self {
        case .missing: return "missing admin token: send 'Authorization: Bearer <admin_token>'"
        case .wrong: return "wrong admin token"
        case .expired(let id): return "admin token \(id) has expired"
        case .revoked(let id): return "admin token \(id) was revoked"
        }
    }
}

/// The one place admin calls are authenticated and their scope checked:
/// the API's middleware and the console both ask it.
struct AdminAuthorizer: Sendable {
    let node: any ClusterAdministration
    let limiter: AuthFailureLimiter

    /// The caller a bearer token text stands for.
    func authenticate(_ presented: String?) async -> Result<AdminCaller, AdminAuthFailure> {
        guard let presented, !presented.isEmpty else { return .failure(.missing) }
        if constantTimeEqual(presented, node.config.adminToken) { return .success(.master) }
        if let metricsToken = node.config.metricsToken, constantTimeEqual(presented, metricsToken) { return .success(.metrics) }
        guard let named = PresentedAdminToken(presented), let id = AdminTokenID(named.id) else { return .failure(.wrong) }
        guard let record = await node.state.adminTokens[id.rawValue] else { return .failure(.wrong) }
        guard constantTimeEqual(ClusterNode.adminTokenDigest(named.secret), record.secretSHA256) else { return .failure(.wrong) }
        if record.revoked { return .failure(.revoked(id)) }
        if record.isExpired(atMillis: node.wallClock.nowMillis()) { return .failure(.expired(id)) }
        return .success(.token(id, scope: AdminScope(stored: record.scope)))
    }

    /// The limiter's client for a request: its address and the token id it named.
    static func client(address: String?, presented: String?) -> AuthFailureLimiter.Client {
        AuthFailureLimiter.Client(api: "admin", source: address, credential: presented.flatMap(PresentedAdminToken.init).map(\.id) ?? "master")
    }

    func recordFailure(_ failure: AdminAuthFailure, client: AuthFailureLimiter.Client) {
        limiter.recordFailure(client)
        Counter(label: "shale_auth_failures_total", dimensions: [("api", "admin"), ("reason", failure.reason)]).increment()
    }

    /// Whether the client must be refused for failing too often (counted when so), API and console alike.
    func isLimited(_ client: AuthFailureLimiter.Client) -> Bool {
        guard limiter.isLimited(client) else { return false }
        Counter(label: "shale_auth_rate_limited_total", dimensions: [("api", "admin")]).increment()
        return true
    }

    func refuseLimited(client: AuthFailureLimiter.Client) -> Response? {
        guard isLimited(client) else { return nil }
        var response = jsonError(.tooManyRequests, code: "TooManyRequests",
                                 "too many failed authentications from this client: wait and retry")
        response.headers[.retryAfter] = "\(max(1, Int((1 / limiter.policy.refillPerSecond).rounded(.up))))"
        return response
    }
}

/// `/health` is open to probes; `/metrics` takes `metrics_token` when one
/// is set (else it is open); everything else takes the master token or a
/// named token whose scope holds the call's operation. No token: 401; a
/// wrong, expired or revoked one, or one out of its scope: 403. A client
/// that keeps failing is answered 429 until its budget refills.
struct AdminAuthorizationMiddleware: RouterMiddleware {
    typealias Context = AdminContext
    let authorizer: AdminAuthorizer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path == AdminPath.health || path == AdminConsole.root || path.hasPrefix(AdminConsole.root + "/") {
            return try await next(request, context)  // the console checks its own session
        }
        var query: [String: String] = [:]
        for (name, value) in request.uri.queryParameters { query[String(name)] = String(value) }
        let operation = AdminOperation.route(method: request.method.rawValue, path: path, query: query)
        if operation == .metrics, authorizer.node.config.metricsToken == nil { return try await next(request, context) }
        let header = request.headers[.authorization]
        let presented = header.flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst("Bearer ".count)) : nil }
        let client = AdminAuthorizer.client(address: context.remoteAddress, presented: presented)
        if let refused = authorizer.refuseLimited(client: client) { return refused }
        let caller: AdminCaller
        switch await authorizer.authenticate(presented) {
        case .success(let who): caller = who
        case .failure(let failure):
            authorizer.recordFailure(failure, client: client)
            return failure == .missing ? jsonError(.unauthorized, code: "Unauthorized", failure.message)
                : jsonError(.forbidden, code: "Forbidden", failure.message)
        }
        // Paths the API does not have: the master token gets its 404, others learn nothing.
        guard let operation else {
            return caller == .master ? try await next(request, context) : jsonError(.forbidden, code: "Forbidden", "not allowed for this token")
        }
        guard caller.allows(operation) else {
            Counter(label: "shale_admin_scope_refusals_total", dimensions: [("operation", operation.rawValue)]).increment()
            return jsonError(.forbidden, code: "Forbidden", "this token's scope does not include \(operation.rawValue)")
        }
        return try await next(request, context)
    }
}
