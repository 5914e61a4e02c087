import Foundation
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import NodeConfiguration
import Synchronization

/// The certificate and key an HTTPS port (S3, admin) serves, from PEM files,
/// read again on `reload()` (SIGHUP): connections made after a reload get
/// the new certificate, those already open keep theirs. A reload that
/// fails (unreadable files, a key that does not match) keeps the old one.
public final class ServerCertificate: Sendable {
    public let files: TLSFiles
    private let context: Mutex<NIOSSLContext>

    public init(files: TLSFiles) throws(NodeError) {
        self.files = files
        context = Mutex(try Self.load(files))
    }

    var current: NIOSSLContext { context.withLock { $0 } }

    /// Reads the files again; returns the error and keeps the old certificate when they do not load.
    @discardableResult
    public func reload(logger: Logger) -> NodeError? {
        do throws(NodeError) {
            let fresh = try Self.load(files)
            context.withLock { $0 = fresh }
            logger.info("TLS certificate reloaded", metadata: ["certificate": "\(files.certificateFile)"])
            return nil
        } catch {
            logger.error("TLS certificate not reloaded: the previous one stays", metadata: ["error": "\(error)"])
            return error
        }
    }

    static func load(_ files: TLSFiles) throws(NodeError) -> NIOSSLContext {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(files.certificateFile)
            guard !chain.isEmpty else { throw NodeError.invalidRequest("\(files.certificateFile) holds no certificate") }
            let key = try NIOSSLPrivateKey(file: files.keyFile, format: .pem)
            var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            configuration.minimumTLSVersion = .tlsv12
            // A client's idle keep-alive connection is closed within a second on shutdown rather than the default five:
            // a pool of them must not hold a node past Kubernetes' termination grace period.
            configuration.shutdownTimeout = .seconds(1)
            return try NIOSSLContext(configuration: configuration)
        } catch let error as NodeError {
            throw error
        } catch {
            throw .invalidRequest("cannot load the TLS certificate \(files.certificateFile) and key \(files.keyFile): \(error)")
        }
    }
}

/// A child channel that starts with TLS under the certificate current when the connection is accepted.
struct ReloadableTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let certificate: ServerCertificate

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let context = certificate.current
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async { await base.handle(value: value, logger: logger) }
}

extension ReloadableTLSChannel: HTTPChannelHandler where Base: HTTPChannelHandler {
    var responder: HTTPChannelHandler.Responder { base.responder }
}

extension HTTPServerBuilder {
    /// HTTP/1.1, over TLS when `certificate` is given.
    public static func http1(configuration: HTTP1Channel.Configuration, certificate: ServerCertificate?) -> HTTPServerBuilder {
        guard let certificate else { return .http1(configuration: configuration) }
        return .init { responder in
            ReloadableTLSChannel(base: HTTP1Channel(responder: responder, configuration: configuration), certificate: certificate)
        }
    }
}
