import Crypto
import Foundation
import NIOCore
import NIOEmbedded
import NIOSSL
@testable import Node
import Placement
import Testing

/// The RPC channel's certificates and handshakes, in memory: two TLS 1.3
/// endpoints on embedded channels whose bytes the test carries across.
@Suite struct ClusterTLSTests {
    let secret = String(repeating: "ab", count: 32)
    let otherSecret = String(repeating: "cd", count: 32)

    func node() -> NodeIdentity { NodeIdentity(privateKey: Curve25519.Signing.PrivateKey()) }

    @Test func nodesOfOneSecretShareTheAuthorityAndAreKnownByTheirKeys() throws {
        let a = node(), b = node()
        let tlsA = try ClusterTLS(secretHex: secret, identity: a), tlsB = try ClusterTLS(secretHex: secret, identity: b)
        #expect(try tlsA.authority.extractPublicKey().toSPKIBytes() == tlsB.authority.extractPublicKey().toSPKIBytes())
        #expect(tlsA.isMember(tlsB.certificate) && tlsB.isMember(tlsA.certificate))
        #expect(ClusterTLS.nodeID(of: tlsB.certificate) == b.id)
        let stranger = try ClusterTLS(secretHex: otherSecret, identity: node())
        #expect(!tlsA.isMember(stranger.certificate) && !stranger.isMember(tlsA.certificate))
        #expect(!tlsA.isMember(tlsA.certificate, now: Date(timeIntervalSince1970: 4_200_000_000)), "expired")
    }

    /// Runs a handshake between a server and a client and returns the node
    /// the server saw, or nil when the handshake failed.
    func handshake(server: ClusterTLS, client: TLSConfiguration) throws -> NodeID? {
        let serverHandler = try NIOSSLServerHandler(
            context: NIOSSLContext(configuration: server.serverConfiguration),
            customVerificationCallback: { certificates, promise in promise.succeed(server.verifyCaller(certificates)) })
        let clientHandler = try NIOSSLClientHandler(context: NIOSSLContext(configuration: client), serverHostname: nil)
        let serverChannel = EmbeddedChannel(handler: serverHandler), clientChannel = EmbeddedChannel(handler: clientHandler)
        // Not closed: a TLS close waits for the peer's close_notify, which nobody carries across.
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 1)
        _ = serverChannel.connect(to: address)
        _ = clientChannel.connect(to: address)
        // A fixed number of rounds: a verification callback completes on a later run of the loop, so a
        // round in which nothing moved does not mean the handshake is over.
        for _ in 0..<200 {
            do {
                clientChannel.embeddedEventLoop.run()
                serverChannel.embeddedEventLoop.run()
                if let bytes = try clientChannel.readOutbound(as: ByteBuffer.self) { try serverChannel.writeInbound(bytes) }
                if let bytes = try serverChannel.readOutbound(as: ByteBuffer.self) { try clientChannel.writeInbound(bytes) }
            } catch {
                return nil
            }
        }
        // The client proves its key in its last flight: the server has its certificate only once that checked out.
        guard let certificate = serverHandler.peerCertificate else { return nil }
        return ClusterTLS.nodeID(of: certificate)
    }

    @Test func aHandshakeOfTwoNodesNamesTheCaller() throws {
        let a = node(), b = node()
        let server = try ClusterTLS(secretHex: secret, identity: a), caller = try ClusterTLS(secretHex: secret, identity: b)
        #expect(try handshake(server: server, client: caller.clientConfiguration) == b.id)
    }

    @Test func anotherSecretOrNoCertificateIsRefused() throws {
        let server = try ClusterTLS(secretHex: secret, identity: node())
        let stranger = try ClusterTLS(secretHex: otherSecret, identity: node())
        #expect(try handshake(server: server, client: stranger.clientConfiguration) == nil)
        // A client that trusts anything, with the stranger's certificate: the server refuses it.
        var trusting = stranger.clientConfiguration
        trusting.certificateVerification = .none
        #expect(try handshake(server: server, client: trusting) == nil)
        var anonymous = TLSConfiguration.makeClientConfiguration()
        anonymous.certificateVerification = .none
        #expect(try handshake(server: server, client: anonymous) == nil)
    }
}
