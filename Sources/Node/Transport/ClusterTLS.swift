import Crypto
import Foundation
import NIOSSL
import Placement
import SwiftASN1
import X509

/// The RPC port's channel: TLS 1.3, both ways authenticated (JSON calls
/// share one HTTP/2 connection per peer, shard streams pooled HTTP/1.1 ones).
///
/// - The cluster's *authority* is a P-256 key derived from `rpc_secret`
///   (HKDF-SHA256): every node that holds the secret derives the same key and
///   issues itself a certificate with it. Trusting only that authority means
///   only holders of the secret get through a handshake, either way.
/// - A node's certificate carries its own Ed25519 node key, so the TLS
///   handshake proves the peer holds the private key of the node id it is
///   (the id is that key in hex): a secret holder cannot pose as another node.
/// - The server takes a caller's node id from its certificate, never from a
///   header. Everything on the connection, shard bodies included, is
///   encrypted and authenticated by TLS.
public struct ClusterTLS: Sendable {
    public let authority: NIOSSLCertificate
    /// The same authority, parsed, to check callers' certificates against.
    let authorityCertificate: Certificate
    public let certificate: NIOSSLCertificate
    public let privateKey: NIOSSLPrivateKey

    /// Fixed, so every node derives an identical authority: the secret is what
    /// authenticates, not the validity period (rotate the secret to revoke).
    static let notBefore = Date(timeIntervalSince1970: 1_577_836_800)  // 2020-01-01
    static let notAfter = Date(timeIntervalSince1970: 4_102_444_800)  // 2100-01-01
    static let authorityName = "shale cluster authority"

    public init(secretHex: String, identity: NodeIdentity) throws(NodeError) {
        do {
            let secret = unhex(secretHex) ?? Data(secretHex.utf8)
            let authorityKey = Certificate.PrivateKey(Self.authorityKey(secret: secret))
            let authorityName = try DistinguishedName { CommonName(Self.authorityName) }
            let authority = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(bytes: [1]), publicKey: authorityKey.publicKey,
                notValidBefore: Self.notBefore, notValidAfter: Self.notAfter, issuer: authorityName, subject: authorityName,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true))
                },
                issuerPrivateKey: authorityKey)
            let nodeKey = Certificate.PrivateKey(identity.privateKey)
            let leaf = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: nodeKey.publicKey,
                notValidBefore: Self.notBefore, notValidAfter: Self.notAfter, issuer: authorityName,
                subject: try DistinguishedName { CommonName(identity.id.rawValue) },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.serverAuth, .clientAuth])
                },
                issuerPrivateKey: authorityKey)
            authorityCertificate = authority
            self.authority = try NIOSSLCertificate(bytes: Self.der(authority), format: .der)
            certificate = try NIOSSLCertificate(bytes: Self.der(leaf), format: .der)
            privateKey = try NIOSSLPrivateKey(bytes: Array(try nodeKey.serializeAsPEM().pemString.utf8), format: .pem)
        } catch {
            throw .invalidRequest("cannot make this node's TLS certificate: \(error)")
        }
    }

    /// The authority's key: the same on every node that holds the secret.
    static func authorityKey(secret: Data) -> P256.Signing.PrivateKey {
        var counter: UInt8 = 0
        while true {
            let derived = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: secret), salt: Data("shale-rpc-authority-v1".utf8),
                                                 info: Data([counter]), outputByteCount: 32)
            // A scalar at or above the group order (chance ~2^-32) is not a key: derive the next.
            if let key = try? P256.Signing.PrivateKey(rawRepresentation: derived.withUnsafeBytes { Data($0) }) { return key }
            counter &+= 1
        }
    }

    static func der(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    /// TLS 1.3 only; Ed25519 signatures in the handshake (the node keys);
    /// the peer's certificate must chain to the cluster's authority. Names
    /// are not checked: a node is known by its key, not by its address.
    private func base(_ configuration: TLSConfiguration) -> TLSConfiguration {
        var configuration = configuration
        configuration.minimumTLSVersion = .tlsv13
        configuration.trustRoots = .certificates([authority])
        configuration.certificateVerification = .noHostnameVerification
        configuration.signingSignatureAlgorithms = [.ed25519]
        configuration.verifySignatureAlgorithms = [.ed25519]
        return configuration
    }

    /// The RPC server's: a client without a certificate of this cluster is refused in the handshake.
    public var serverConfiguration: TLSConfiguration {
        var configuration = base(.makeServerConfiguration(certificateChain: [.certificate(certificate)], privateKey: .privateKey(privateKey)))
        // Framed calls first (this build's callers offer only them), then HTTP/2 and HTTP/1.1.
        configuration.applicationProtocols = [RPCFrame.protocolName, "h2", "http/1.1"]
        return configuration
    }

    /// The RPC client's: it shows this node's certificate and trusts only the cluster's.
    public var clientConfiguration: TLSConfiguration {
        var configuration = base(.makeClientConfiguration())
        configuration.certificateChain = [.certificate(certificate)]
        configuration.privateKey = .privateKey(privateKey)
        return configuration
    }

    /// Whether a caller's certificate is a node certificate of this cluster:
    /// issued by its authority (so by a holder of `rpc_secret`), in its
    /// validity period, for an Ed25519 node key. The handshake itself proves
    /// the caller holds that key.
    public func isMember(_ certificate: NIOSSLCertificate, now: Date = Date()) -> Bool {
        guard let parsed = try? Certificate(derEncoded: certificate.toDERBytes()),
              parsed.issuer == authorityCertificate.subject,
              authorityCertificate.publicKey.isValidSignature(parsed.signature, for: parsed),
              parsed.notValidBefore <= now, now <= parsed.notValidAfter else { return false }
        return Curve25519.Signing.PublicKey(parsed.publicKey) != nil
    }

    /// The RPC server's check of a caller's chain (its leaf first).
    public func verifyCaller(_ certificates: [NIOSSLCertificate]) -> NIOSSLVerificationResult {
        guard let leaf = certificates.first, isMember(leaf) else { return .failed }
        return .certificateVerified
    }

    /// The node a verified peer certificate belongs to: its Ed25519 key.
    public static func nodeID(of certificate: NIOSSLCertificate) -> NodeID? {
        guard let parsed = try? Certificate(derEncoded: certificate.toDERBytes()),
              let key = Curve25519.Signing.PublicKey(parsed.publicKey) else { return nil }
        return NodeID(hex(key.rawRepresentation))
    }
}
