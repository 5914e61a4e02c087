import AsyncHTTPClient
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import HummingbirdHTTP2
import Logging
import NIOCore
import NIOEmbedded
@testable import Node
import Placement
import Synchronization
import Testing

/// The framed RPC format: its bytes, and calls over real TLS connections
/// between a caller and an RPC port with the cluster's certificates.
@Suite struct RPCFrameTests {
    let secret = String(repeating: "cd", count: 32)

    // MARK: The wire format

    @Test func framesReadBackAsWritten() throws {
        let allocator = ByteBufferAllocator()
        var call = RPCFrame.call(id: 7, method: "metadata-get", body: Array("{\"a\":1}".utf8), allocator: allocator)
        #expect(call.readInteger(as: UInt32.self) == UInt32(call.readableBytes))
        #expect(try RPCFrame.parse(call) == .call(id: 7, method: "metadata-get", body: ByteBuffer(string: "{\"a\":1}")))
        var answer = RPCFrame.answer(id: .max, outcome: .refused, body: Array("no".utf8), allocator: allocator)
        #expect(answer.readInteger(as: UInt32.self) == UInt32(answer.readableBytes))
        #expect(try RPCFrame.parse(answer) == .answer(id: .max, outcome: .refused, body: ByteBuffer(string: "no")))
        #expect(throws: RPCFrameError.self) { try RPCFrame.parse(ByteBuffer(bytes: [0, 0, 0, 1, 9])) }
        #expect(throws: RPCFrameError.self) { try RPCFrame.parse(ByteBuffer(bytes: [0, 0, 0, 1, 0, 200, 65])) }
    }

    /// Frames split anywhere and frames run together come out whole, one by one.
    @Test func theDecoderFindsFramesInAnyChunking() throws {
        let allocator = ByteBufferAllocator()
        var stream = ByteBuffer()
        for id in 1...3 {
            var frame = RPCFrame.call(id: UInt32(id), method: "ping", body: Array(repeating: UInt8(id), count: id * 100), allocator: allocator)
            stream.writeBuffer(&frame)
        }
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RPCFrameDecoder()))
        while stream.readableBytes > 0 {
            try channel.writeInbound(stream.readSlice(length: min(7, stream.readableBytes))!)
        }
        for id in 1...3 {
            let frame = try #require(try channel.readInbound(as: ByteBuffer.self))
            #expect(try RPCFrame.parse(frame) == .call(id: UInt32(id), method: "ping",
                                                       body: ByteBuffer(bytes: Array(repeating: UInt8(id), count: id * 100))))
        }
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        _ = try channel.finish()
    }

    @Test func aFrameAboveTheLimitIsRefused() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RPCFrameDecoder(maxFrameBytes: 1024)))
        #expect(throws: RPCFrameError.tooLarge(1025)) {
            try channel.writeInbound(ByteBuffer(bytes: [0, 0, 4, 1, 0, 0]))
        }
    }

    // MARK: Over TLS

    /// Handlers of the test port: `ping` answers the caller's id and the body,
    /// `sync` refuses, `metadata-get` never answers.
    static func calls() -> RPCCallTable {
        RPCCallTable(handlers: [
            .ping: { body, caller throws(NodeError) in Data(caller.rawValue.utf8) + Data(":".utf8) + body },
            .sync: { _, _ throws(NodeError) in throw .invalidRequest("not today") },
            .metadataGet: { _, _ throws(NodeError) in
                try? await Task.sleep(for: .seconds(600))
                return Data()
            },
        ])
    }

    /// Runs an RPC port on `port` (0: any) until `body` ends; framed when
    /// `frames`, else as a node of an earlier build (HTTP/2 and HTTP/1.1 only).
    func withPeer(identity: NodeIdentity, port: Int = 0, frames: Bool = true,
                  _ body: @Sendable (HostPort) async throws -> Void) async throws {
        let tls = try ClusterTLS(secretHex: secret, identity: identity)
        let table = Self.calls()
        let router = Router(context: ConnectionContext.self)
        router.post("/rpc/v1/:method") { request, context -> Response in
            var request = request
            let body = Data(buffer: try await request.collectBody(upTo: 1 << 20))
            let caller = await context.caller() ?? NodeID("")
            let (outcome, answer) = await table.answer(context.parameters.get("method") ?? "", body: body, caller: caller)
            return Response(status: .init(code: outcome.httpStatus), headers: [.init(RPCServer.nodeHeader)!: identity.id.rawValue],
                            body: .init(byteBuffer: ByteBuffer(data: answer)))
        }
        let server = try frames
            ? RPCServer.portServer(tls: tls, calls: table, logger: Logger(label: "test"))
            : .http2Upgrade(tlsChannelConfiguration: TLSChannelConfiguration(tlsConfiguration: tls.serverConfiguration,
                                                                                  customAsyncVerificationCallback: { tls.verifyCaller($0) }))
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: router, server: server, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                              onServerRunning: { channel in
                                  portContinuation.yield(channel.localAddress?.port ?? 0)
                                  portContinuation.finish()
                              })
        let running = Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        let bound = try #require(await iterator.next())
        do {
            try await body(HostPort(host: "127.0.0.1", port: bound))
        } catch {
            running.cancel()
            throw error
        }
        // Cancelling runs the server's graceful shutdown, which waits for every connection to close:
        // a framed connection closes when asked to quiesce, or this would not return.
        running.cancel()
        _ = await running.result
    }

    func caller() throws -> (RPCFrameClient, NodeID) {
        let identity = NodeIdentity(privateKey: Curve25519.Signing.PrivateKey())
        return (try RPCFrameClient(tls: try ClusterTLS(secretHex: secret, identity: identity)), identity.id)
    }

    @Test func framedCallsAreAnsweredAndRefusedAsOverHTTP() async throws {
        let server = NodeIdentity(privateKey: Curve25519.Signing.PrivateKey())
        let (client, me) = try caller()
        try await withPeer(identity: server) { address in
            let answers = try await withThrowingTaskGroup(of: (Int, Data, NodeID).self) { group in
                for index in 0..<64 {
                    group.addTask {
                        let answer = try await client.call(.ping, at: address, body: Data("\(index)".utf8), expected: server.id, timeout: .seconds(10))
                        let (data, node) = try #require(answer)
                        return (index, data, node)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.count == 64)
            for (index, data, node) in answers {
                // The server names the caller by the certificate of the connection.
                #expect(String(decoding: data, as: UTF8.self) == "\(me.rawValue):\(index)")
                #expect(node == server.id)
            }
            do {
                _ = try await client.call(.sync, at: address, body: Data(), expected: nil, timeout: .seconds(10))
                Issue.record("a refused call was answered")
            } catch {
                #expect("\(error)".contains("answered 400") && "\(error)".contains("not today"), "\(error)")
            }
            do {
                _ = try await client.call(.shardStat, at: address, body: Data(), expected: nil, timeout: .seconds(10))
                Issue.record("a method the peer does not have was answered")
            } catch {
                #expect("\(error)".contains("answered 404"), "\(error)")
            }
            let stranger = NodeIdentity(privateKey: Curve25519.Signing.PrivateKey()).id
            do {
                _ = try await client.call(.ping, at: address, body: Data(), expected: stranger, timeout: .seconds(10))
                Issue.record("a call reached another node than the one it meant")
            } catch {
                #expect("\(error)".contains("expected node \(stranger.shortForm)"), "\(error)")
            }
        }
        client.shutdown()
    }

    /// What tells a call that ended at its deadline (300 ms) or on cancellation
    /// from one that hung (its 600 s deadline, or never): not a speed bound.
    /// On CI's two shared cores a 300 ms call was seen to take 12.5 s, its
    /// resumption waiting for the cooperative pool that other suites' work held.
    static let notAHang: Duration = .seconds(120)

    /// A call whose answer does not come ends at its deadline, a cancelled one
    /// at once; the connection goes on serving other calls.
    @Test func aStalledCallEndsAtItsDeadlineOrWhenCancelled() async throws {
        let server = NodeIdentity(privateKey: Curve25519.Signing.PrivateKey())
        let (client, _) = try caller()
        try await withPeer(identity: server) { address in
            let started = ContinuousClock.now
            do {
                _ = try await client.call(.metadataGet, at: address, body: Data(), expected: nil, timeout: .milliseconds(300))
                Issue.record("a stalled call was answered")
            } catch {
                #expect("\(error)".contains("no answer before the deadline"), "\(error)")
            }
            #expect(ContinuousClock.now - started < Self.notAHang)
            let waiting = Task { try await client.call(.metadataGet, at: address, body: Data(), expected: nil, timeout: .seconds(600)) }
            try await Task.sleep(for: .milliseconds(200))
            let cancelledAt = ContinuousClock.now
            waiting.cancel()
            if case .success = await waiting.result { Issue.record("a cancelled call was answered") }
            #expect(ContinuousClock.now - cancelledAt < Self.notAHang)
            let answer = try await client.call(.ping, at: address, body: Data("after".utf8), expected: server.id, timeout: .seconds(10))
            #expect(answer.map { String(decoding: $0.0, as: UTF8.self).hasSuffix(":after") } == true)
        }
        client.shutdown()
    }

    /// A peer of an earlier build does not offer frames: the frame client says
    /// so (`nil`) and `RPCClient` calls it over HTTP/2 instead.
    @Test func aPeerWithoutFramesIsCalledOverHTTP() async throws {
        let server = NodeIdentity(privateKey: Curve25519.Signing.PrivateKey())
        let identity = NodeIdentity(privateKey: Curve25519.Signing.PrivateKey())
        let tls = try ClusterTLS(secretHex: secret, identity: identity)
        let frames = try RPCFrameClient(tls: tls)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(tlsConfiguration: tls.clientConfiguration))
        try await withPeer(identity: server, frames: false) { address in
            let framed = try await frames.call(.ping, at: address, body: Data(), expected: server.id, timeout: .seconds(10))
            #expect(framed == nil)
            let client = RPCClient(http: http, streams: http, frames: frames)
            let (data, node) = try await client.call(.ping, at: address, body: Data("old".utf8), expected: server.id, timeout: .seconds(10))
            #expect(String(decoding: data, as: UTF8.self) == "\(identity.id.rawValue):old")
            #expect(node == server.id)
        }
        try await http.shutdown()
        frames.shutdown()
    }

    /// A port whose kernel accepts connections that nobody reads (a stopped
    /// node): listens, never accepts. Its descriptor and port.
    static func silentListener() throws -> (Int32, Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Bool in
                bind(descriptor, raw, length) == 0 && listen(descriptor, 16) == 0 && getsockname(descriptor, raw, &length) == 0
            }
        }
        guard descriptor >= 0, bound else { throw NodeError.invalidRequest("no silent listener") }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A peer that takes the connection but never answers the TLS handshake:
    /// the call that makes the connection fails at its deadline; a call that
    /// waits for a connection another call is making fails at its own
    /// deadline, or at once when cancelled — never later.
    @Test func aPeerThatNeverHandshakesFailsEachCallAtItsDeadline() async throws {
        let (descriptor, port) = try Self.silentListener()
        defer { close(descriptor) }
        let (client, _) = try caller()
        let address = HostPort(host: "127.0.0.1", port: port)
        func outcome(_ timeout: TimeAmount) async -> String {
            do {
                _ = try await client.call(.ping, at: address, body: Data(), expected: nil, timeout: timeout)
                return "answered"
            } catch {
                return "\(error)"
            }
        }
        var started = ContinuousClock.now
        let first = await outcome(.milliseconds(300))
        // Its own deadline and the handshake's are the same moment: either may say so first.
        #expect(first.contains("before the deadline"), "\(first)")
        #expect(ContinuousClock.now - started < Self.notAHang)
        // A long call makes the next connection; a short one joins it and leaves at its own deadline.
        let long = Task { await outcome(.seconds(600)) }
        try await Task.sleep(for: .milliseconds(200))
        started = ContinuousClock.now
        let short = await outcome(.milliseconds(300))
        #expect(short.contains("no answer before the deadline"), "\(short)")
        #expect(ContinuousClock.now - started < Self.notAHang)
        started = ContinuousClock.now
        long.cancel()
        let cancelled = await long.value
        #expect(cancelled != "answered", "\(cancelled)")
        #expect(ContinuousClock.now - started < Self.notAHang)
        client.shutdown()
    }

    /// A peer that restarts (its connections closed on shutdown) is reached
    /// again on a new connection by the next call.
    @Test func aRestartedPeerIsReachedAgain() async throws {
        let server = NodeIdentity(privateKey: Curve25519.Signing.PrivateKey())
        let (client, _) = try caller()
        let port = Mutex<Int>(0)
        try await withPeer(identity: server) { address in
            port.withLock { $0 = address.port }
            let first = try await client.call(.ping, at: address, body: Data("one".utf8), expected: server.id, timeout: .seconds(10))
            #expect(first != nil)
        }
        let address = HostPort(host: "127.0.0.1", port: port.withLock { $0 })
        do {
            _ = try await client.call(.ping, at: address, body: Data(), expected: server.id, timeout: .seconds(2))
            Issue.record("a stopped peer answered")
        } catch {
            #expect("\(error)".contains("refused") || "\(error)".contains("closed"), "\(error)")
        }
        try await withPeer(identity: server, port: address.port) { address in
            let answer = try await client.call(.ping, at: address, body: Data("two".utf8), expected: server.id, timeout: .seconds(10))
            #expect(answer.map { String(decoding: $0.0, as: UTF8.self).hasSuffix(":two") } == true)
        }
        client.shutdown()
    }
}
