import AdminAPI
import ClusterModel
import Hummingbird
import Node
import Units

/// The console's changes: each a POST with the session's CSRF token,
/// checked against the token's scope, then the same node call as the API's.
extension AdminConsole {
    func registerActions(on router: Router<AdminContext>) {
        router.post("/ui/layout/assign") { request, _ in
            await act(request, .updateClusterLayout, page: "layout") { fields throws(NodeError) in
                let target = fields["node"] ?? ""
                let role = try AdminHandlers.role(from: AssignRequest(nodes: [target], zone: fields["zone"], capacity: fields["capacity"],
                                                                      gateway: false, tags: nil, replace: nil))
                try await node.layoutAssign(nodes: [target], role: role, replace: nil)
                return "Staged \(target.prefix(16)) in zone \(role.zone.rawValue): review the preview, then apply."
            }
        }
        router.post("/ui/layout/apply") { request, _ in
            await act(request, .applyClusterLayout, page: "layout") { fields throws(NodeError) in
                guard let version = fields["version"].flatMap(UInt64.init) else { throw .invalidRequest("no layout version given") }
                if let warning = try await handlers.applyLayout(version: version) { throw .notReady(warning) }
                return "Layout version \(version) applied; its rebuild started."
            }
        }
        router.post("/ui/layout/revert") { request, _ in
            await act(request, .revertClusterLayout, page: "layout") { _ throws(NodeError) in
                try await node.layoutRevert()
                return "Staged changes reverted."
            }
        }
        router.post("/ui/buckets/create") { request, _ in
            await act(request, .createBucket, page: "buckets") { fields throws(NodeError) in
                let record = try await node.createBucket(name: fields["name"] ?? "")
                return "Bucket \(record.name.rawValue) was created."
            }
        }
        router.post("/ui/buckets/delete") { request, _ in
            await act(request, .deleteBucket, page: "buckets") { fields throws(NodeError) in
                let name = fields["name"] ?? ""
                try await handlers.deleteBucket(name)
                return "Bucket \(name) was deleted."
            }
        }
        router.post("/ui/buckets/permissions") { request, _ in
            let fields = await Self.form(request)
            let operation: AdminOperation = fields["action"] == "deny" ? .denyBucketKey : .allowBucketKey
            return await act(request, operation, page: "buckets", fields: fields) { fields throws(NodeError) in
                var permissions: Set<Permission> = []
                for permission in Permission.allCases where fields[permission.rawValue] != nil { permissions.insert(permission) }
                let bucket = fields["bucket"] ?? "", key = fields["key"] ?? ""
                try await node.setPermissions(bucket: bucket, key: key, permissions: permissions, allowed: operation == .allowBucketKey)
                return "\(operation == .allowBucketKey ? "Allowed" : "Denied") \(permissions.sorted().map(\.rawValue).joined(separator: ", ")) on \(bucket)."
            }
        }
        router.post("/ui/keys/create") { request, _ in
            // Answered with the page itself, not a redirect: the secret is shown this once and never put in a URL.
            let fields = await Self.form(request)
            switch await authorizedChange(request, .createKey, fields: fields) {
            case .answer(let response): return response
            case .allowed(let session, let caller):
                do throws(NodeError) {
                    let record = try await node.createKey(name: fields["name"] ?? "")
                    return Self.html(render("buckets", request, body: await bucketsBody(session, caller,
                                                                                     secret: (record.id.rawValue, record.secret.rawValue))))
                } catch {
                    return Self.redirect("buckets", error: error.description)
                }
            }
        }
        router.post("/ui/keys/delete") { request, _ in
            await act(request, .deleteKey, page: "buckets") { fields throws(NodeError) in
                let record = try await node.deleteKey(matching: fields["key"] ?? "")
                return "Key \(record.name) was deleted."
            }
        }
        router.post("/ui/maintenance/rebuild") { request, _ in
            await act(request, .startRebuild, page: "maintenance") { _ throws(NodeError) in
                do throws(ObjectError) {
                    let status = try await handlers.maintenance.startRebuild(dryRun: false, reason: "started from the console")
                    return "Rebuild \(status.phase.rawValue)."
                } catch { throw .notReady(error.description) }
            }
        }
        router.post("/ui/maintenance/scrub") { request, _ in
            await act(request, .startScrub, page: "maintenance") { _ throws(NodeError) in
                let statuses = await handlers.maintenance.startScrub()
                return "Scrub started on \(statuses.count) node\(statuses.count == 1 ? "" : "s")."
            }
        }
    }

    /// A logged-in, in-scope caller whose form carries the session's CSRF token; else the answer to give.
    func authorizedChange(_ request: Request, _ operation: AdminOperation,
                          fields: [String: String]) async -> ConsoleGate {
        switch await caller(request) {
        case .answer(let response): return .answer(response)
        case .allowed(let session, let caller):
            guard let csrf = fields["csrf"], constantTimeEqual(csrf, session.csrf) else {
                return .answer(Self.html(ConsoleHTML.page("cluster", title: "Refused", node: node.id.shortForm,
                                                           error: "This form is stale or was not sent by the console (CSRF check): reload the page.",
                                                           body: ""), status: .forbidden))
            }
            guard caller.allows(operation) else {
                return .answer(Self.redirect(page(of: operation), error: "This token's scope does not include \(operation.rawValue)."))
            }
            return .allowed(session, caller)
        }
    }

    func act(_ request: Request, _ operation: AdminOperation, page: String, fields given: [String: String]? = nil,
             _ change: ([String: String]) async throws(NodeError) -> String) async -> Response {
        let fields: [String: String]
        if let given { fields = given } else { fields = await Self.form(request) }
        switch await authorizedChange(request, operation, fields: fields) {
        case .answer(let response): return response
        case .allowed:
            do throws(NodeError) { return Self.redirect(page, message: try await change(fields)) } catch {
                return Self.redirect(page, error: error.description)
            }
        }
    }

    func page(of operation: AdminOperation) -> String {
        switch operation {
        case .updateClusterLayout, .applyClusterLayout, .revertClusterLayout: return "layout"
        case .startRebuild, .startScrub: return "maintenance"
        default: return "buckets"
        }
    }
}
