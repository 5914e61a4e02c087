import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Placement
import Units

/// Calls to other nodes' RPC port. Connections are pooled and reused by
/// AsyncHTTPClient, which also reconnects after a peer restarts; every call
/// has a deadline and an authenticated answer.
struct RPCClient: Sendable {
    static let defaultTimeout: TimeAmount = .seconds(3)
    static let maxResponseBytes = 64 << 20

    let auth: RPCAuth
    let identity: NodeIdentity
    let http: HTTPClient
    let clock: any WallClock

    /// Calls `method` at `address`; returns the answer's body and the
    /// responder's id, which must be `expected` when given.
    func call(_ method: RPCMethod, at address: HostPort, body: Data, expected: NodeID?,
              timeout: TimeAmount = defaultTimeout) async throws(NodeError) -> (Data, NodeID) {
        let now = Int64(clock.nowMillis())
        let signed = auth.signRequest(method: "POST", path: method.path, body: body, identity: identity, nowMillis: now)
        var request = HTTPClientRequest(url: "http://\(address)\(method.path)")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: RPCAuth.Header.node, value: signed.node)
        request.headers.add(name: RPCAuth.Header.date, value: signed.date)
        request.headers.add(name: RPCAuth.Header.mac, value: signed.mac)
        request.headers.add(name: RPCAuth.Header.signature, value: signed.signature)
        request.body = .bytes(ByteBuffer(data: body))
        let response: HTTPClientResponse
        let responseBody: ByteBuffer
        do {
            response = try await http.execute(request, timeout: timeout)
            responseBody = try await response.body.collect(upTo: Self.maxResponseBytes)
        } catch {
            throw .peer("\(address): \(Self.describe(error))")
        }
        let data = Data(buffer: responseBody)
        let headers = RPCAuth.Signed(headers: response.headers)
        switch auth.verifyResponse(requestMAC: signed.mac, status: Int(response.status.code), body: data, headers: headers, expected: expected) {
        case .failure(let failure):
            if response.status == .unauthorized { throw .peer("\(address) refused our call as unauthenticated: do both nodes have the same rpc_secret?") }
            throw .peer("\(address) did not authenticate (\(failure)): it does not hold this cluster's rpc_secret or node key")
        case .success(let responder):
            guard response.status == .ok else {
                throw .peer("\(address) answered \(response.status.code): \(String(decoding: data, as: UTF8.self))")
            }
            return (data, responder)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded: return "no answer before the deadline"
            case .connectTimeout: return "connection timed out"
            case .remoteConnectionClosed: return "connection closed"
            default: return "\(error)"
            }
        }
        let text = "\(error)"
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        return text
    }
}

extension RPCAuth.Signed {
    init?(headers: HTTPHeaders) {
        guard let node = headers.first(name: RPCAuth.Header.node),
              let mac = headers.first(name: RPCAuth.Header.mac),
              let signature = headers.first(name: RPCAuth.Header.signature) else { return nil }
        self.init(node: node, date: headers.first(name: RPCAuth.Header.date) ?? "", mac: mac, signature: signature)
    }
}
