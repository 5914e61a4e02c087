import AdminAPI
import ArgumentParser
import Foundation
import Units

struct AdminTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin-token", abstract: "Create, list and revoke named admin tokens with a scope and an expiry.",
        discussion: """
            A named token is sent like the master token (Authorization: Bearer, or SHALE_ADMIN_TOKEN for the CLI). \
            Its scope lists the admin operations it may call: '*', the groups read-only, monitoring, buckets-and-keys, \
            or operation names (\(AdminOperation.allCases.filter { !AdminOperation.tokenManagement.contains($0) }.map(\.rawValue).joined(separator: ", "))). \
            Managing admin tokens needs the master token or a '*' token.
            """,
        subcommands: [AdminTokenCreate.self, AdminTokenList.self, AdminTokenRevoke.self])
}

struct AdminTokenCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a named admin token; its secret is printed once.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "A name for the token (1-128 printable characters, unique).")
    var name: String
    @Option(help: "Comma-separated operations or groups, or '*' (repeatable).")
    var scope: [String] = []
    @Option(help: "Lifetime: a number with s, m, h, d or w (30d, 12h). Without it the token never expires.")
    var expiresIn: String?

    func validate() throws {
        if scope.isEmpty { throw ValidationError("give --scope: '*', read-only, monitoring, buckets-and-keys, or operation names") }
        if let expiresIn { _ = try Self.seconds(expiresIn) }
    }

    func run() async throws {
        let client = try options.client()
        let request = CreateAdminTokenRequest(name: name, scope: scope, expiresInSeconds: try expiresIn.map(Self.seconds))
        let (created, data) = try await client.send(.POST, AdminPath.adminTokens, request, as: CreatedAdminTokenDocument.self)
        client.output(data) {
            ["Admin token \(created.token.name) was created.",
             "ID:      \(created.token.id)",
             "Scope:   \(created.token.scope.joined(separator: ","))",
             "Expires: \(created.token.expires ?? "never")",
             "Token:   \(created.secretToken)",
             "",
             "The token is shown this once; Shale keeps only its hash."].joined(separator: "\n")
        }
    }

    static func seconds(_ text: String) throws -> UInt64 {
        let units: [Character: UInt64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
        guard let unit = text.last, let scale = units[unit], let value = UInt64(text.dropLast()), value > 0,
              value <= UInt64.max / scale / 1000 else {
            throw ValidationError("--expires-in: '\(text)' is not a lifetime such as 90s, 30m, 12h, 30d or 2w")
        }
        return value * scale
    }
}

struct AdminTokenList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List named admin tokens (never their secrets).")
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = try options.client()
        let (tokens, data) = try await client.get(AdminPath.adminTokens, as: [AdminTokenDocument].self)
        client.output(data) {
            if tokens.isEmpty { return "No named admin tokens (create one with `shale admin-token create NAME --scope …`)." }
            return TextTable(headers: ["ID", "NAME", "EXPIRES", "SCOPE"], rows: tokens.map {
                [$0.id, $0.name, $0.expired ? "expired" : ($0.expires ?? "never"), $0.scope.joined(separator: ",")]
            }).render()
        }
    }
}

struct AdminTokenRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a named admin token at once.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "The token's id, a unique id prefix, or its name.")
    var token: String

    func run() async throws {
        let client = try options.client()
        let data = try await client.call(.DELETE, AdminPath.adminTokens + "/" + AdminClient.escape(token))
        let revoked = try JSONDecoder().decode(AdminTokenDocument.self, from: data)
        client.output(data) { "Admin token \(revoked.name) (\(revoked.id)) was revoked." }
    }
}
