import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Placement
import Units

/// Calls to other nodes' RPC port over mutual TLS (`ClusterTLS`). JSON
/// calls go as frames on one connection per peer (`RPCFrameClient`), or
/// over HTTP/2 to a peer of an earlier build (one connection per peer too);
/// shard streams go over pooled HTTP/1.1 connections of their own (see
/// `streams`). Connections come back after a peer restarts. Every call has
/// a deadline.
struct RPCClient: Sendable {
    static let defaultTimeout: TimeAmount = .seconds(3)
    static let maxResponseBytes = 64 << 20

    let http: HTTPClient
    /// For shard streams: HTTP/1.1 over the same TLS, a kept-alive
    /// connection per concurrent stream. Over HTTP/2, whose 64 KiB stream
    /// windows neither AsyncHTTPClient nor Hummingbird lets us raise, a
    /// 64 MiB GET ran at 144 MiB/s instead of 794 and the coordinator's RSS
    /// reached 1.1 GiB (Docs/benchmarks.md, "RPC over TLS").
    let streams: HTTPClient
    /// For JSON calls: frames on one connection per peer (`RPCFrame`); HTTP/2
    /// through `http` to a peer that does not offer them, or when absent.
    var frames: RPCFrameClient? = nil

    /// Calls `method` at `address`; returns the answer's body and the
    /// responder's id, which must be `expected` when given.
    func call(_ method: RPCMethod, at address: HostPort, body: Data, expected: NodeID?,
              timeout: TimeAmount = defaultTimeout) async throws(NodeError) -> (Data, NodeID) {
        if let frames, let answer = try await frames.call(method, at: address, body: body, expected: expected, timeout: timeout) {
            return answer
        }
        var request = HTTPClientRequest(url: "https://\(address)\(method.path)")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(data: body))
        let response: HTTPClientResponse
        let responseBody: ByteBuffer
        do {
            // AsyncHTTPClient's own deadline covers the head (and names the last connection
            // failure, e.g. a refused TLS handshake, when it passes); the body gets what is left.
            let deadline = NIODeadline.now() + timeout
            response = try await http.execute(request, deadline: deadline)
            let body = response.body
            responseBody = try await Self.withinDeadline(Self.remaining(until: deadline)) { try await body.collect(upTo: Self.maxResponseBytes) }
        } catch {
            throw .peer("\(address): \(Self.describe(error))")
        }
        let data = Data(buffer: responseBody)
        let responder = try Self.responder(response, at: address, expected: expected)
        guard response.status == .ok else {
            throw .peer("\(address) answered \(response.status.code): \(String(decoding: data, as: UTF8.self))")
        }
        return (data, responder)
    }

    /// Runs `operation` (the reading of an answer's body) under a deadline.
    /// AsyncHTTPClient's own deadline ends when the answer's head arrives; a
    /// body that stalls after it (a peer killed mid-answer, a connection that
    /// went quiet) would otherwise hold the caller, and with it a maintenance
    /// loop, for ever. Cancelling the reading task cancels the request and
    /// closes its stream.
    static func withinDeadline<Value: Sendable>(
        _ timeout: TimeAmount, _ operation: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        try await withThrowingTaskGroup(of: Value?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: .nanoseconds(timeout.nanoseconds))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw HTTPClientError.deadlineExceeded
            }
            return value
        }
    }

    /// The time left until `deadline`, at least 100 ms: a body that has
    /// arrived with its head is read even when the head came at the last moment.
    static func remaining(until deadline: NIODeadline) -> TimeAmount {
        max(deadline - NIODeadline.now(), .milliseconds(100))
    }

    /// The node that answered, as its answer names it (the TLS handshake
    /// already proved it a member of this cluster).
    static func responder(_ response: HTTPClientResponse, at address: HostPort, expected: NodeID?) throws(NodeError) -> NodeID {
        guard let named = response.headers.first(name: RPCServer.nodeHeader), named.count == 64, named.allSatisfy(\.isHexDigit) else {
            throw .peer("\(address) is not a Shale node's RPC port")
        }
        if let expected, expected.rawValue != named {
            throw .peer("\(address): expected node \(expected.shortForm), reached \(named.prefix(16))")
        }
        return NodeID(named)
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
        if error is NIOSSLError || error is BoringSSLError {
            return "TLS handshake failed (one side's certificate is not the other's cluster's): do both nodes have the same rpc_secret?"
        }
        let text = "\(error)"
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        return text
    }
}
