import Dispatch
import Foundation
import Logging
import Node
#if canImport(Glibc)
import Glibc
#endif

/// Reloads the HTTPS certificates on SIGHUP (the signal a certificate
/// renewal hook sends), for as long as the server runs.
final class CertificateReloader {
    private let source: (any DispatchSourceSignal)?

    init(certificates: [ServerCertificate], logger: Logger) {
        // Without a handler SIGHUP would end the process; with no certificate there is nothing to reload, and it is ignored.
        signal(SIGHUP, SIG_IGN)
        guard !certificates.isEmpty else { source = nil; return }
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler {
            for certificate in certificates { certificate.reload(logger: logger) }
        }
        source.resume()
        self.source = source
    }

    func stop() { source?.cancel() }
}
