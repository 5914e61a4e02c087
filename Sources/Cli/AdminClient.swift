import AdminAPI
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import NodeConfiguration
import Synchronization

/// Where the admin API is and how to authenticate: `--admin` / `--token`,
/// else SHALE_ADMIN_ADDR / SHALE_ADMIN_TOKEN, else the node's config file.
struct ClientOptions: ParsableArguments {
    @Option(name: .customLong("admin"), help: "Admin API address, HOST:PORT, http://HOST:PORT or https://HOST:PORT (default: $SHALE_ADMIN_ADDR, else the config file's).")
    var adminAddress: String?

    @Option(name: .customLong("ca-file"), help: "PEM certificates to trust for an https:// admin API (default: $SHALE_ADMIN_CA_FILE, else the system's).")
    var caFile: String?

    @Option(help: "Admin token (default: $SHALE_ADMIN_TOKEN, else the config file's).")
    var token: String?

    @Option(name: .customLong("config"), help: "Node config file to read the admin address and token from (default: $SHALE_CONFIG, else /etc/shale.toml).")
    var configPath: String?

    @Flag(help: "Print the admin API's JSON answer instead of a table.")
    var json = false

    func client() throws -> AdminClient {
        let environment = ProcessInfo.processInfo.environment
        var address = adminAddress ?? environment["SHALE_ADMIN_ADDR"]
        var token = self.token ?? environment["SHALE_ADMIN_TOKEN"]
        var caFile = self.caFile ?? environment["SHALE_ADMIN_CA_FILE"]
        // Talking to this node's own HTTPS admin port from its config: its own certificate is what is trusted.
        var pinnedToOwnCertificate = false
        if address == nil || token == nil {
            let path = configPath ?? environment["SHALE_CONFIG"] ?? NodeConfig.defaultPath
            let explicit = configPath != nil || environment["SHALE_CONFIG"] != nil
            if explicit || FileManager.default.fileExists(atPath: path) {
                let config: NodeConfig
                do { config = try NodeConfig.load(path: path, environment: environment) } catch {
                    throw CommandFailure("\(error)")
                }
                if address == nil {
                    let bind = config.adminBindAddr
                    let host = ["0.0.0.0", "::"].contains(bind.host) ? "127.0.0.1" : bind.host
                    address = HostPort(host: host, port: bind.port).description
                    if let tls = config.adminTLS {
                        address = "https://" + address!
                        if caFile == nil { caFile = tls.certificateFile; pinnedToOwnCertificate = true }
                    }
                }
                if token == nil { token = config.adminToken }
            }
        }
        guard let address else {
            throw CommandFailure("no admin API address: pass --admin HOST:PORT, set SHALE_ADMIN_ADDR, or run where \(NodeConfig.defaultPath) (or --config) is")
        }
        let secure = address.lowercased().hasPrefix("https://")
        guard let hostPort = HostPort(addressOrURL: secure ? String(address.dropFirst("https://".count)) : address) else {
            throw CommandFailure("--admin: '\(address)' is not HOST:PORT, http://HOST:PORT or https://HOST:PORT")
        }
        guard let token else { throw CommandFailure("no admin token: pass --token, set SHALE_ADMIN_TOKEN, or use the node's config file") }
        var client = AdminClient(address: hostPort.description, token: token, json: json)
        if secure {
            var tls = TLSConfiguration.makeClientConfiguration()
            if let caFile {
                guard FileManager.default.isReadableFile(atPath: caFile) else { throw CommandFailure("--ca-file: cannot read \(caFile)") }
                tls.trustRoots = .file(caFile)
            }
            if pinnedToOwnCertificate { tls.certificateVerification = .noHostnameVerification }
            client.scheme = "https"
            client.http = AdminClient.httpsClient(caFile: caFile, pinned: pinnedToOwnCertificate, tls: tls)
        }
        return client
    }
}

/// The CLI's only way into a node: HTTP calls to its admin API.
struct AdminClient {
    static let timeout: TimeAmount = .seconds(30)
    static let maxResponseBytes = 64 << 20
    let address: String
    let token: String
    let json: Bool
    var scheme = "http"
    /// The shared client for plain HTTP; one trusting the chosen certificates for HTTPS (lives as long as the command).
    var http = HTTPClient.shared

    /// HTTPS clients by trust setting, kept for the process's life like `HTTPClient.shared` (a client must be
    /// shut down before it is released; these never are).
    private static let httpsClients = Mutex<[String: HTTPClient]>([:])

    static func httpsClient(caFile: String?, pinned: Bool, tls: TLSConfiguration) -> HTTPClient {
        httpsClients.withLock { clients in
            let key = "\(caFile ?? "")|\(pinned)"
            if let known = clients[key] { return known }
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(tlsConfiguration: tls))
            clients[key] = client
            return client
        }
    }

    /// Calls the API; returns the raw JSON of a 2xx answer, or fails with its error message.
    func call(_ method: HTTPMethod, _ path: String, body: (some Encodable)? = Optional<EmptyBody>.none,
              timeout: TimeAmount = Self.timeout) async throws -> Data {
        var request = HTTPClientRequest(url: "\(scheme)://\(address)\(path)")
        request.method = method
        request.headers.add(name: "authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))
        }
        let data: Data
        let status: HTTPResponseStatus
        do {
            let response = try await http.execute(request, timeout: timeout)
            status = response.status
            data = Data(buffer: try await response.body.collect(upTo: Self.maxResponseBytes))
        } catch {
            throw CommandFailure("cannot reach the admin API at \(address): \(Self.describe(error)) (is `shale server` running?)")
        }
        guard (200..<300).contains(status.code) else {
            if let document = try? JSONDecoder().decode(ErrorDocument.self, from: data) { throw CommandFailure(document.error) }
            throw CommandFailure("admin API answered \(status.code) \(status.reasonPhrase)")
        }
        return data
    }

    func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> (T, Data) {
        let data = try await call(.GET, path)
        return (try decode(T.self, data), data)
    }

    func send<T: Decodable>(_ method: HTTPMethod, _ path: String, _ body: some Encodable, as type: T.Type) async throws -> (T, Data) {
        let data = try await call(method, path, body: body)
        return (try decode(T.self, data), data)
    }

    func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw CommandFailure("unexpected answer from the admin API at \(address): \(error)")
        }
    }

    /// Prints `data` as is when --json was given; otherwise runs `render`.
    func output(_ data: Data, _ render: () -> String) {
        if json { print(String(decoding: data, as: UTF8.self)) } else { print(render()) }
    }

    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        if let error = error as? HTTPClientError, error == .deadlineExceeded { return "no answer in time" }
        return text
    }

    static func escape(_ component: String) -> String {
        component.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? component
    }
}

struct EmptyBody: Codable {}
