import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// The S3 responder asks for `100 Continue` with this event once a request
/// is authenticated, authorized and not refused, right before it reads the body.
struct SendContinue: Sendable {}

/// `Expect: 100-continue`, answered the way S3 answers it: the client gets
/// `100 Continue` only when the responder is about to read the body (after
/// the signature and permissions checked out, see `SendContinue`). A final
/// answer sent while the client still waits (a 403, a refusal) carries
/// `Connection: close` and ends the connection, so a body the client never
/// sent is not waited for and one sent late is never read as a request.
final class ContinueHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// The request being answered asked for 100-continue and has not had it.
    private var awaitingContinue = false
    /// Its final answer went out while the client was waiting.
    private var closeAfterResponse = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            awaitingContinue = head.headerFields[.expect]?.lowercased() == "100-continue"
            closeAfterResponse = false
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is SendContinue else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        if awaitingContinue {
            awaitingContinue = false
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: promise)
        } else {
            promise?.succeed(())
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status.kind != .informational && awaitingContinue:
            awaitingContinue = false
            closeAfterResponse = true
            head.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where closeAfterResponse:
            closeAfterResponse = false
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            let channel = context.channel
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
            context.writeAndFlush(data, promise: written)
        default:
            context.write(data, promise: promise)
        }
    }
}
