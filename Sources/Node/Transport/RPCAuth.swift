import Crypto
import Foundation
import Placement
import Units

/// How node-to-node calls prove themselves. A request carries the sender's
/// node id, a millisecond timestamp, an HMAC-SHA256 with the cluster's
/// `rpc_secret` and an Ed25519 signature with the sender's node key, both
/// over the same canonical string (method, path, time, node, body hash). The
/// answer is signed the same way and bound to the request's HMAC, so a
/// caller knows its peer holds the secret and the key of the id it claims.
/// Pure functions: the clock is passed in.
public struct RPCAuth: Sendable {
    /// As S3's SigV4 takes: a node whose clock is minutes off still talks
    /// to the others (stamps, not wall clocks, order its writes).
    public static let clockSkewLimitMillis: Int64 = 900_000
    static let requestTag = "shale-rpc-v1"
    static let responseTag = "shale-rpc-v1-response"

    public enum Header {
        public static let node = "x-shale-node"
        public static let date = "x-shale-date"
        public static let mac = "x-shale-auth"
        public static let signature = "x-shale-signature"
    }

    public struct Signed: Sendable, Equatable {
        public let node: String
        public let date: String
        public let mac: String
        public let signature: String
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case missingHeaders
        case badNodeID
        case clockSkew
        case badMAC
        case badSignature
        case wrongNode(expected: NodeID, got: String)

        public var description: String {
            switch self {
            case .missingHeaders: return "unauthenticated RPC call"
            case .badNodeID: return "malformed node id"
            case .clockSkew: return "clock skew over \(RPCAuth.clockSkewLimitMillis / 1000) s"
            case .badMAC: return "wrong rpc_secret"
            case .badSignature: return "bad node signature"
            case .wrongNode(let expected, let got): return "expected node \(expected.shortForm), reached \(got.prefix(16))"
            }
        }
    }

    let key: SymmetricKey

    public init(secretHex: String) {
        key = SymmetricKey(data: unhex(secretHex) ?? Data(secretHex.utf8))
    }

    static func bodyHash(_ body: some DataProtocol) -> String { hex(SHA256.hash(data: body)) }

    static func requestCanonical(method: String, path: String, date: String, node: String, bodyHash: String) -> Data {
        Data([requestTag, method, path, date, node, bodyHash].joined(separator: "\n").utf8)
    }

    static func responseCanonical(requestMAC: String, status: Int, node: String, bodyHash: String) -> Data {
        Data([responseTag, requestMAC, String(status), node, bodyHash].joined(separator: "\n").utf8)
    }

    func mac(_ data: Data) -> String { hex(HMAC<SHA256>.authenticationCode(for: data, using: key)) }

    /// Stands for the body hash of a streamed shard transfer: its bytes are
    /// not known when the headers are signed; each chunk carries a CRC32C.
    public static let streamedBody = "STREAMED-CRC32C-CHUNKS"

    public func signRequest(method: String, path: String, body: some DataProtocol, identity: NodeIdentity, nowMillis: Int64) -> Signed {
        signRequest(method: method, path: path, bodyHash: Self.bodyHash(body), identity: identity, nowMillis: nowMillis)
    }

    public func signRequest(method: String, path: String, bodyHash: String, identity: NodeIdentity, nowMillis: Int64) -> Signed {
        let node = identity.id.rawValue
        let date = String(nowMillis)
        let canonical = Self.requestCanonical(method: method, path: path, date: date, node: node, bodyHash: bodyHash)
        return Signed(node: node, date: date, mac: mac(canonical), signature: hex(identity.sign(canonical)))
    }

    /// Checks a request; returns the sender.
    public func verifyRequest(method: String, path: String, body: some DataProtocol, headers: Signed?, nowMillis: Int64) -> Result<NodeID, Failure> {
        verifyRequest(method: method, path: path, bodyHash: Self.bodyHash(body), headers: headers, nowMillis: nowMillis)
    }

    public func verifyRequest(method: String, path: String, bodyHash: String, headers: Signed?, nowMillis: Int64) -> Result<NodeID, Failure> {
        guard let headers else { return .failure(.missingHeaders) }
        guard headers.node.count == 64, headers.node.allSatisfy(\.isHexDigit) else { return .failure(.badNodeID) }
        guard let date = Int64(headers.date), abs(date - nowMillis) <= Self.clockSkewLimitMillis else { return .failure(.clockSkew) }
        let canonical = Self.requestCanonical(method: method, path: path, date: headers.date, node: headers.node, bodyHash: bodyHash)
        guard constantTimeEqual(mac(canonical), headers.mac) else { return .failure(.badMAC) }
        guard let signature = unhex(headers.signature), NodeIdentity.verify(signature, of: canonical, by: NodeID(headers.node)) else {
            return .failure(.badSignature)
        }
        return .success(NodeID(headers.node))
    }

    public func signResponse(requestMAC: String, status: Int, body: some DataProtocol, identity: NodeIdentity) -> Signed {
        signResponse(requestMAC: requestMAC, status: status, bodyHash: Self.bodyHash(body), identity: identity)
    }

    public func signResponse(requestMAC: String, status: Int, bodyHash: String, identity: NodeIdentity) -> Signed {
        let node = identity.id.rawValue
        let canonical = Self.responseCanonical(requestMAC: requestMAC, status: status, node: node, bodyHash: bodyHash)
        return Signed(node: node, date: "", mac: mac(canonical), signature: hex(identity.sign(canonical)))
    }

    /// Checks an answer to the request whose HMAC was `requestMAC`; returns the responder.
    public func verifyResponse(requestMAC: String, status: Int, body: some DataProtocol, headers: Signed?, expected: NodeID?) -> Result<NodeID, Failure> {
        verifyResponse(requestMAC: requestMAC, status: status, bodyHash: Self.bodyHash(body), headers: headers, expected: expected)
    }

    public func verifyResponse(requestMAC: String, status: Int, bodyHash: String, headers: Signed?, expected: NodeID?) -> Result<NodeID, Failure> {
        guard let headers else { return .failure(.missingHeaders) }
        guard headers.node.count == 64, headers.node.allSatisfy(\.isHexDigit) else { return .failure(.badNodeID) }
        let canonical = Self.responseCanonical(requestMAC: requestMAC, status: status, node: headers.node, bodyHash: bodyHash)
        guard constantTimeEqual(mac(canonical), headers.mac) else { return .failure(.badMAC) }
        guard let signature = unhex(headers.signature), NodeIdentity.verify(signature, of: canonical, by: NodeID(headers.node)) else {
            return .failure(.badSignature)
        }
        if let expected, expected.rawValue != headers.node { return .failure(.wrongNode(expected: expected, got: headers.node)) }
        return .success(NodeID(headers.node))
    }
}
