import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Placement
import Synchronization

/// JSON calls to peers as frames (`RPCFrame`) on one TLS connection per
/// peer address, made on first use and again after it closes (a peer
/// restarted). A peer whose port does not offer the format (a node of an
/// earlier build) is remembered for a minute, and its calls return `nil`
/// so the caller speaks HTTP to it.
public final class RPCFrameClient: Sendable {
    /// How long a peer that did not offer frames is spoken HTTP to before it is asked again.
    static let plainHTTPMemory: TimeAmount = .seconds(60)

    private enum Slot {
        case connecting(EventLoopFuture<RPCFrameConnection?>)
        case ready(RPCFrameConnection)
        case plainHTTP(until: NIODeadline)
    }

    private let sslContext: NIOSSLContext
    private let group: any EventLoopGroup
    private let slots = Mutex<[HostPort: Slot]>([:])

    public init(tls: ClusterTLS, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws(NodeError) {
        var configuration = tls.clientConfiguration
        configuration.applicationProtocols = [RPCFrame.protocolName]
        // Closing waits at most this long for the peer's close_notify (NIO's default is 5 s).
        configuration.shutdownTimeout = .seconds(1)
        do {
            sslContext = try NIOSSLContext(configuration: configuration)
        } catch {
            throw .invalidRequest("cannot make the RPC client's TLS context: \(error)")
        }
        self.group = group
    }

    /// Calls `method` at `address`; the answer's body and the node that gave
    /// it (its certificate's), or `nil` when the peer does not speak frames.
    func call(_ method: RPCMethod, at address: HostPort, body: Data, expected: NodeID?,
              timeout: TimeAmount) async throws(NodeError) -> (Data, NodeID)? {
        let deadline = NIODeadline.now() + timeout
        let outcome: RPCFrame.Outcome, answer: ByteBuffer, node: NodeID
        do {
            guard let connection = try await connection(to: address, deadline: deadline) else { return nil }
            node = connection.node
            if let expected, expected != node {
                throw NodeError.peer("\(address): expected node \(expected.shortForm), reached \(node.shortForm)")
            }
            (outcome, answer) = try await connection.call(method.rawValue, body: body, deadline: deadline)
        } catch let error as NodeError {
            throw error
        } catch {
            throw .peer("\(address): \(RPCClient.describe(error))")
        }
        guard outcome == .answered else {
            throw .peer("\(address) answered \(outcome.httpStatus): \(String(buffer: answer))")
        }
        return (Data(buffer: answer), node)
    }

    /// The connection to `address`: the open one, the one being made, or a new one.
    private func connection(to address: HostPort, deadline: NIODeadline) async throws -> RPCFrameConnection? {
        enum Found {
            case open(RPCFrameConnection?)
            case pending(EventLoopFuture<RPCFrameConnection?>, making: EventLoopPromise<RPCFrameConnection?>?)
        }
        let found: Found = slots.withLock { slots in
            switch slots[address] {
            case .ready(let connection) where connection.channel.isActive: return .open(connection)
            case .plainHTTP(let until) where until > .now(): return .open(nil)
            case .connecting(let future): return .pending(future, making: nil)
            default:
                let promise = group.any().makePromise(of: RPCFrameConnection?.self)
                slots[address] = .connecting(promise.futureResult)
                return .pending(promise.futureResult, making: promise)
            }
        }
        switch found {
        case .open(let connection):
            return connection
        case .pending(let pending, let making):
            // The connection is made outside the lock: its callbacks take the lock.
            if let making { connect(to: address, deadline: deadline).cascade(to: making) }
            return try await Self.wait(for: pending, until: deadline)
        }
    }

    /// Waits for a connection being made, until this caller's deadline (the
    /// connection may be another caller's, made for a longer one) or its
    /// cancellation: a promise of its own, failed by either.
    private static func wait(for pending: EventLoopFuture<RPCFrameConnection?>, until deadline: NIODeadline) async throws -> RPCFrameConnection? {
        let waiting = pending.eventLoop.makePromise(of: RPCFrameConnection?.self)
        pending.cascade(to: waiting)
        let timer = pending.eventLoop.scheduleTask(deadline: deadline) { waiting.fail(RPCFrameError.deadlineExceeded) }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await waiting.futureResult.get()
        } onCancel: {
            waiting.fail(CancellationError())
        }
    }

    private func connect(to address: HostPort, deadline: NIODeadline) -> EventLoopFuture<RPCFrameConnection?> {
        let sslContext = self.sslContext
        let connectTimeout = max(deadline - .now(), .milliseconds(100))
        // A peer that accepts the connection but never answers the handshake (a stopped process: its
        // kernel still accepts) is given up at the same deadline, and the next call tries anew.
        let handshakeDeadline = NIODeadline.now() + connectTimeout
        let made = ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(TLSHandshakeWaiter(promise: channel.eventLoop.makePromise()))
                }
            }
            .connect(host: address.host, port: address.port)
            .flatMap { channel in
                channel.eventLoop.flatSubmit {
                    Self.negotiated(on: channel, handshakeDeadline: handshakeDeadline)
                }
            }
        made.whenComplete { [weak self] result in
            self?.slots.withLock { slots in
                switch result {
                case .success(let connection?): slots[address] = .ready(connection)
                case .success(nil): slots[address] = .plainHTTP(until: .now() + Self.plainHTTPMemory)
                case .failure: slots[address] = nil
                }
            }
            // Outside the lock: on a channel already closed, the callback runs at once, and takes it.
            if case .success(let connection?) = result {
                connection.channel.closeFuture.whenComplete { [weak self] _ in
                    self?.slots.withLock { slots in
                        if case .ready(let current) = slots[address], current === connection { slots[address] = nil }
                    }
                }
            }
        }
        return made
    }

    /// After the handshake: frames when the server chose them, else `nil` (the connection closed).
    private static func negotiated(on channel: any Channel, handshakeDeadline: NIODeadline) -> EventLoopFuture<RPCFrameConnection?> {
        do {
            let operations = channel.pipeline.syncOperations
            let waiter = try operations.handler(type: TLSHandshakeWaiter.self)
            let timer = channel.eventLoop.assumeIsolated().scheduleTask(deadline: handshakeDeadline) {
                waiter.complete(.failure(RPCFrameError.handshakeTimedOut))
                channel.close(promise: nil)
            }
            waiter.promise.futureResult.whenComplete { _ in timer.cancel() }
            return waiter.promise.futureResult.assumeIsolated().flatMapThrowing { (negotiatedProtocol: String?) -> RPCFrameConnection? in
                guard negotiatedProtocol == RPCFrame.protocolName else {
                    channel.close(promise: nil)
                    return nil
                }
                guard let node = try operations.handler(type: NIOSSLHandler.self).peerCertificate.flatMap(ClusterTLS.nodeID) else {
                    channel.close(promise: nil)
                    throw RPCFrameError.malformed("the peer showed no node certificate")
                }
                let handler = RPCFrameClientHandler()
                try operations.addHandler(ByteToMessageHandler(RPCFrameDecoder()))
                try operations.addHandler(handler)
                return RPCFrameConnection(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop), node: node)
            }.nonisolated()
        } catch {
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(error)
        }
    }

    /// Closes every connection (a node shutting down; tests).
    public func shutdown() {
        let open = slots.withLock { slots -> [RPCFrameConnection] in
            defer { slots.removeAll() }
            return slots.values.compactMap { if case .ready(let connection) = $0 { connection } else { nil } }
        }
        for connection in open { connection.channel.close(promise: nil) }
    }
}

/// One framed connection to a peer.
final class RPCFrameConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<RPCFrameClientHandler>
    /// The node whose certificate the handshake verified.
    let node: NodeID
    private let nextID = Atomic<UInt32>(0)

    init(channel: any Channel, handler: NIOLoopBound<RPCFrameClientHandler>, node: NodeID) {
        self.channel = channel
        self.handler = handler
        self.node = node
    }

    /// Sends a call and waits for its answer until `deadline`; a cancelled
    /// task stops waiting at once (its answer, if it comes, is dropped).
    func call(_ method: String, body: Data, deadline: NIODeadline) async throws -> (RPCFrame.Outcome, ByteBuffer) {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).newValue
        let frame = RPCFrame.call(id: id, method: method, body: body, allocator: channel.allocator)
        let loop = channel.eventLoop
        let promise = loop.makePromise(of: (RPCFrame.Outcome, ByteBuffer).self)
        let handler = self.handler
        loop.execute { handler.value.send(id: id, frame: frame, deadline: deadline, promise: promise) }
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            loop.execute { handler.value.fail(id: id, CancellationError()) }
        }
    }
}

/// Matches answers to the calls waiting for them; fails them at their
/// deadline or when the connection closes.
final class RPCFrameClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct Waiting {
        let promise: EventLoopPromise<(RPCFrame.Outcome, ByteBuffer)>
        let deadline: Scheduled<Void>
    }

    private var context: ChannelHandlerContext?
    private var waiting: [UInt32: Waiting] = [:]
    private var closed = false

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func send(id: UInt32, frame: ByteBuffer, deadline: NIODeadline, promise: EventLoopPromise<(RPCFrame.Outcome, ByteBuffer)>) {
        guard let context, !closed else {
            promise.fail(RPCFrameError.connectionClosed)
            return
        }
        let timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            fail(id: id, RPCFrameError.deadlineExceeded)
        }
        waiting[id] = Waiting(promise: promise, deadline: timer)
        context.writeAndFlush(Self.wrapOutboundOut(frame), promise: nil)
    }

    func fail(id: UInt32, _ error: any Error) {
        guard let call = waiting.removeValue(forKey: id) else { return }
        call.deadline.cancel()
        call.promise.fail(error)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .answer(let id, let outcome, let body)? = try? RPCFrame.parse(Self.unwrapInboundIn(data)) else {
            context.close(promise: nil)
            return
        }
        guard let call = waiting.removeValue(forKey: id) else { return }  // its caller gave up
        call.deadline.cancel()
        call.promise.succeed((outcome, body))
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        let calls = waiting
        waiting.removeAll()
        for call in calls.values {
            call.deadline.cancel()
            call.promise.fail(RPCFrameError.connectionClosed)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Completes with the protocol ALPN chose once the TLS handshake is done.
final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<String?>
    private var done = false

    init(promise: EventLoopPromise<String?>) {
        self.promise = promise
    }

    func complete(_ result: Result<String?, any Error>) {
        guard !done else { return }
        done = true
        promise.completeWith(result)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted(let negotiatedProtocol)? = event as? TLSUserEvent {
            complete(.success(negotiatedProtocol))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        complete(.failure(error))
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        complete(.failure(RPCFrameError.connectionClosed))
        context.fireChannelInactive()
    }

    /// A connection that failed before it was active (refused) removes its handlers without `channelInactive`.
    func handlerRemoved(context: ChannelHandlerContext) {
        complete(.failure(RPCFrameError.connectionClosed))
    }
}
