import Foundation
import HummingbirdCore
import HummingbirdHTTP2
import Logging
import Metrics
import NIOCore
import NIOSSL
import NIOTLS
import Placement

/// The RPC port's connections: TLS with the cluster's certificates, then by
/// ALPN either framed JSON calls (`RPCFrame`, what this build's callers ask
/// for), HTTP/2 (JSON calls of earlier builds) or HTTP/1.1 (shard streams,
/// and calls of clients without ALPN). One port, as the operating guide has it.
struct RPCPortChannel: ServerChildChannel {
    enum Negotiated: Sendable {
        case http1(HTTP1Channel.Value)
        case http2(HTTP2Channel.Value)
        case frames
    }

    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        let channel: any Channel
    }

    let sslContext: NIOSSLContext
    let verifyCaller: @Sendable ([NIOSSLCertificate]) -> NIOSSLVerificationResult
    let http1: HTTP1Channel
    let http2: HTTP2Channel
    let calls: RPCCallTable

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let verify = verifyCaller
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext) { certificates, promise in
                promise.succeed(verify(certificates))
            })
            let negotiation = NIOTypedApplicationProtocolNegotiationHandler<Negotiated> { result in
                switch result {
                case .negotiated(RPCFrame.protocolName):
                    return channel.eventLoop.makeCompletedFuture {
                        try Self.addFrameHandlers(to: channel, calls: calls, logger: logger)
                        return .frames
                    }
                case .negotiated("h2"):
                    return http2.setup(channel: channel, logger: logger).map { .http2($0) }
                default:
                    return http1.setup(channel: channel, logger: logger).map { .http1($0) }
                }
            }
            try channel.pipeline.syncOperations.addHandler(negotiation)
            return Value(negotiated: negotiation.protocolNegotiationResult, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http1(let connection): await http1.handle(value: connection, logger: logger)
            case .http2(let connection): await http2.handle(value: connection, logger: logger)
            case .frames:
                // The calls are answered by the channel's handlers; this task only keeps the connection
                // counted by the server until it closes, or closes it when the server's task is cancelled.
                let channel = value.channel
                try await withTaskCancellationHandler {
                    try await channel.closeFuture.get()
                } onCancel: {
                    channel.close(promise: nil)
                }
            }
        } catch {
            logger.debug("RPC connection ended: \(error)")
        }
    }

    /// The caller is the node of the certificate the handshake verified; a
    /// connection without one is closed before any call is read.
    static func addFrameHandlers(to channel: any Channel, calls: RPCCallTable, logger: Logger) throws {
        let operations = channel.pipeline.syncOperations
        guard let caller = try operations.handler(type: NIOSSLHandler.self).peerCertificate.flatMap(ClusterTLS.nodeID) else {
            logger.warning("refused RPC connection without a node certificate")
            Counter(label: "shale_rpc_refused_total").increment()
            throw RPCFrameError.malformed("no node certificate")
        }
        try operations.addHandler(ByteToMessageHandler(RPCFrameDecoder()))
        try operations.addHandler(RPCFrameServerHandler(caller: caller, calls: calls))
    }
}

/// The JSON calls a node answers, by method (built from the one dispatch table).
struct RPCCallTable: Sendable {
    typealias Handler = @Sendable (Data, NodeID) async throws(NodeError) -> Data
    private let handlers: [RPCMethod: (answer: Handler, requests: Counter)]

    /// Each method's request counter is made here, once, not per call.
    init(handlers: [RPCMethod: Handler]) {
        self.handlers = Dictionary(uniqueKeysWithValues: handlers.map { method, answer in (method, (answer, method.requestCounter())) })
    }

    /// Runs `method`'s handler; the outcome and body the HTTP route would give.
    func answer(_ name: String, body: Data, caller: NodeID) async -> (RPCFrame.Outcome, Data) {
        guard let method = RPCMethod(rawValue: name), let handler = handlers[method] else {
            return (.unknownMethod, Data("no such RPC method".utf8))
        }
        handler.requests.increment()
        do {
            return (.answered, try await handler.answer(body, caller))
        } catch {
            return (.refused, Data("\(error)".utf8))
        }
    }
}

extension RPCMethod {
    /// `shale_rpc_requests_total` for this method.
    func requestCounter() -> Counter {
        Counter(label: "shale_rpc_requests_total", dimensions: [("method", rawValue)])
    }
}

/// Answers the calls of one framed connection, each in a task of its own,
/// each answer written as it is ready. At most `maxInFlight` calls run at
/// once per connection: beyond, the connection is not read until one ends
/// (back-pressure on a caller that sends faster than the node answers).
/// Asked to quiesce (the server shutting down), it closes the connection
/// once the calls it took are answered.
final class RPCFrameServerHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let maxInFlight = 256

    let caller: NodeID
    let calls: RPCCallTable
    private var inFlight = 0
    private var readHeld = false
    private var quiescing = false
    private var active = true

    init(caller: NodeID, calls: RPCCallTable) {
        self.caller = caller
        self.calls = calls
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .call(let id, let method, let body)? = try? RPCFrame.parse(Self.unwrapInboundIn(data)) else {
            // Only calls come this way; anything else means the peer does not speak this format.
            context.close(promise: nil)
            return
        }
        inFlight += 1
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        let calls = self.calls, caller = self.caller
        let request = Data(buffer: body)
        Task {
            let (outcome, answer) = await calls.answer(method, body: request, caller: caller)
            loop.execute {
                let (handler, context) = bound.value
                handler.answered(context: context, id: id, outcome: outcome, body: answer)
            }
        }
    }

    private func answered(context: ChannelHandlerContext, id: UInt32, outcome: RPCFrame.Outcome, body: Data) {
        inFlight -= 1
        guard active else { return }
        context.writeAndFlush(Self.wrapOutboundOut(RPCFrame.answer(id: id, outcome: outcome, body: body, allocator: context.channel.allocator)),
                              promise: nil)
        if quiescing && inFlight == 0 {
            context.close(promise: nil)
        } else if readHeld && inFlight < Self.maxInFlight {
            readHeld = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if inFlight >= Self.maxInFlight {
            readHeld = true
        } else {
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            quiescing = true
            if inFlight == 0 { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// After this (the connection closed), answers that finish are dropped.
    func handlerRemoved(context: ChannelHandlerContext) {
        active = false
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
