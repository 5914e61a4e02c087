import AsyncHTTPClient
import Crypto
import Foundation
import Hummingbird
import HummingbirdHTTP2
import NIOCore
@testable import Node
import Placement
import Testing

/// A peer that answers a call's head and then stalls its body must not hold
/// the caller: the call's deadline covers the whole answer. (AsyncHTTPClient's
/// own deadline ends at the head; a maintenance loop waited for ever on such
/// a call to a peer killed mid-answer.)
@Suite struct RPCDeadlineTests {
    let secret = String(repeating: "ab", count: 32)

    /// Runs a TLS RPC endpoint whose every call answers 200, sends a few bytes
    /// of a longer body, and then sends nothing more.
    func withStallingPeer(_ body: @Sendable (HostPort, NodeID, ClusterTLS) async throws -> Void) async throws {
        let serverIdentity = NodeIdentity(privateKey: Curve25519.Signing.PrivateKey())
        let serverTLS = try ClusterTLS(secretHex: secret, identity: serverIdentity)
        let router = Router()
        router.post("/rpc/v1/:method") { _, _ -> Response in
            Response(status: .ok, headers: [.init(RPCServer.nodeHeader)!: serverIdentity.id.rawValue, .contentLength: "1000"],
                     body: ResponseBody { writer in
                         try await writer.write(ByteBuffer(string: "{\"partial\":"))
                         try await Task.sleep(for: .seconds(600))
                         try await writer.finish(nil)
                     })
        }
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            server: try .http2Upgrade(tlsChannelConfiguration: TLSChannelConfiguration(
                tlsConfiguration: serverTLS.serverConfiguration,
                customAsyncVerificationCallback: { serverTLS.verifyCaller($0) })),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            })
        let server = Task { try await app.run() }
        defer { server.cancel() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        try await body(HostPort(host: "127.0.0.1", port: port), serverIdentity.id, serverTLS)
    }

    @Test(arguments: [HTTPClient.Configuration.HTTPVersion.automatic, .http1Only])
    func aCallWhoseAnswerStallsEndsAtItsDeadline(version: HTTPClient.Configuration.HTTPVersion) async throws {
        try await withStallingPeer { address, serverID, _ in
            let callerTLS = try ClusterTLS(secretHex: secret, identity: NodeIdentity(privateKey: Curve25519.Signing.PrivateKey()))
            var configuration = HTTPClient.Configuration(tlsConfiguration: callerTLS.clientConfiguration)
            configuration.httpVersion = version
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            let client = RPCClient(http: http, streams: http)
            // Without the deadline over the body this call never returns: the
            // guard's 60 s then fails the test instead of hanging the suite.
            let outcome: String
            do {
                outcome = try await RPCClient.withinDeadline(.seconds(60)) { () async -> String in
                    do {
                        _ = try await client.call(.ping, at: address, body: Data("{}".utf8), expected: serverID, timeout: .milliseconds(300))
                        return "answered"
                    } catch {
                        return "\(error)"
                    }
                }
            } catch {
                outcome = "the call did not end within 60 s"
            }
            try await http.shutdown()
            #expect(outcome.contains("no answer before the deadline"), "\(outcome)")
        }
    }
}
