import Foundation
import Placement

/// How the data path reaches another node's JSON calls: the RPC client in
/// production; an in-memory network with injected faults in the simulated
/// cluster tests.
protocol PeerTransport: Sendable {
    func call(_ method: RPCMethod, to node: NodeID, at address: HostPort, body: Data) async throws(NodeError) -> Data
}

extension RPCClient: PeerTransport {
    func call(_ method: RPCMethod, to node: NodeID, at address: HostPort, body: Data) async throws(NodeError) -> Data {
        try await call(method, at: address, body: body, expected: node).0
    }
}
