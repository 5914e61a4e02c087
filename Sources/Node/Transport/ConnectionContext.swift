import Hummingbird
import NIOCore

/// Hummingbird's basic context plus the connection a request came on: the
/// S3 responder asks it for `100 Continue` at the right moment, the RPC
/// server for the caller's certificate.
public struct ConnectionContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
