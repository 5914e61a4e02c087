import Crypto
import Foundation
import Placement
import Units

/// This node's Ed25519 key pair. The node id is the public key in hex; the
/// private key lives in `metadata_dir/node_key` (mode 0600) and is created
/// on first start.
public struct NodeIdentity: Sendable {
    public static let fileName = "node_key"
    public let privateKey: Curve25519.Signing.PrivateKey
    public var id: NodeID { NodeID(hex(privateKey.publicKey.rawRepresentation)) }

    public init(privateKey: Curve25519.Signing.PrivateKey) { self.privateKey = privateKey }

    public static func loadOrCreate(metadataDir: String) throws(NodeError) -> NodeIdentity {
        let path = (metadataDir as NSString).appendingPathComponent(fileName)
        if let data = FileManager.default.contents(atPath: path) {
            do {
                return NodeIdentity(privateKey: try Curve25519.Signing.PrivateKey(rawRepresentation: data))
            } catch {
                throw .storage("\(path) is not a node key (\(data.count) bytes): restore it from a backup or remove it to make this a new node")
            }
        }
        let key = Curve25519.Signing.PrivateKey()
        try writeDurably(key.rawRepresentation, to: path, permissions: 0o600)
        return NodeIdentity(privateKey: key)
    }

    public func sign(_ message: some DataProtocol) -> Data {
        (try? privateKey.signature(for: message)) ?? Data()
    }

    public static func verify(_ signature: Data, of message: some DataProtocol, by node: NodeID) -> Bool {
        guard let raw = unhex(node.rawValue), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}

func hex(_ bytes: some Sequence<UInt8>) -> String { Hex.encode(bytes) }

func unhex(_ text: String) -> Data? { Hex.decode(text).map { Data($0) } }
