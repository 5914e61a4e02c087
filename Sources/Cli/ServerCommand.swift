import Admin
import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import Node
import S3Server
import ServiceLifecycle

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run a Shale node: S3 API (3900), RPC (3901), admin API (3902).",
        discussion: """
        With --config (default $SHALE_CONFIG, else /etc/shale.toml) the node reads its TOML config; \
        SHALE_* environment variables override its keys (Docs/configuration.md). With --dev it needs no \
        config: it binds 127.0.0.1, makes its own secrets, applies a single-node layout, creates a bucket \
        and a key, and prints how to use them. SIGTERM or SIGINT stops it cleanly.
        """)

    @Option(help: "TOML config file.")
    var config: String?

    @Flag(help: "Development mode: a ready single-node cluster on 127.0.0.1, no config needed.")
    var dev = false

    @Option(help: "With --dev: the directory for data, metadata and secrets (default ./shale-dev).")
    var data: String?

    func validate() throws {
        if data != nil && !dev { throw ValidationError("--data goes with --dev; a configured node takes data_dir and metadata_dir from its config") }
        if dev && config != nil { throw ValidationError("--dev needs no config: drop --config (or drop --dev)") }
    }

    func run() async throws {
        Self.limitMallocArenas()
        let environment = ProcessInfo.processInfo.environment
        let nodeConfig: NodeConfig
        var devSetup: DevSetup?
        if dev {
            let setup: DevSetup
            do { setup = try DevSetup.prepare(directory: data ?? DevSetup.defaultDirectory, environment: environment) } catch {
                throw CommandFailure("\(error)")
            }
            nodeConfig = setup.config
            devSetup = setup
        } else {
            let path = config ?? environment["SHALE_CONFIG"] ?? NodeConfig.defaultPath
            do { nodeConfig = try NodeConfig.load(path: path, environment: environment) } catch { throw CommandFailure("\(error)") }
        }

        let level = nodeConfig.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "shale")
        let metrics = AdminMetrics.bootstrap()

        let node: ClusterNode
        let objects: ObjectService
        let tls: ClusterTLS
        let identity: NodeIdentity
        do {
            try DevSetup.makeDirectories(nodeConfig)
            identity = try NodeIdentity.loadOrCreate(metadataDir: nodeConfig.metadataDir)
            tls = try ClusterTLS(secretHex: nodeConfig.rpcSecret, identity: identity)
        } catch {
            throw CommandFailure("\(error)")
        }
        // Calls to peers go over mutual TLS: JSON calls as frames on one connection per peer (HTTP/2 to
        // a peer of an earlier build), shard streams on pooled HTTP/1.1 ones (a stream holds its
        // connection for a whole object).
        var httpConfiguration = HTTPClient.Configuration(tlsConfiguration: tls.clientConfiguration)
        httpConfiguration.connectionPool = .init(idleTimeout: .seconds(60))
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        var streamConfiguration = HTTPClient.Configuration(tlsConfiguration: tls.clientConfiguration)
        streamConfiguration.httpVersion = .http1Only
        streamConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        let streamHTTP = HTTPClient(eventLoopGroupProvider: .singleton, configuration: streamConfiguration)
        let frames: RPCFrameClient
        let rpcServer: any Service
        let s3Certificate: ServerCertificate?, adminCertificate: ServerCertificate?
        do {
            s3Certificate = try nodeConfig.s3TLS.map(ServerCertificate.init)
            adminCertificate = try nodeConfig.adminTLS.map(ServerCertificate.init)
            frames = try RPCFrameClient(tls: tls)
            node = try ClusterNode(config: nodeConfig, identity: identity, logger: logger, http: http, streamHTTP: streamHTTP, frames: frames)
            objects = try ObjectService(node: node, logger: logger)
            rpcServer = try RPCServer.application(node: node, objects: objects, tls: tls, logger: logger)
        } catch {
            try? await http.shutdown()
            try? await streamHTTP.shutdown()
            throw CommandFailure("\(error)")
        }
        logger.info("node starting", metadata: [
            "id": "\(node.id.rawValue)", "s3": "\(nodeConfig.s3BindAddr)", "rpc": "\(nodeConfig.rpcBindAddr)", "admin": "\(nodeConfig.adminBindAddr)",
            "metadata_dir": "\(nodeConfig.metadataDir)", "data_dir": "\(nodeConfig.dataDir)",
            "erasure_backend": "\(nodeConfig.erasureBackend)",
        ])

        let maintenance = Maintenance(objects: objects)
        // Failed S3 and admin authentications share one bounded table.
        let authLimiter = AuthFailureLimiter()
        let requestStats = RequestStats()
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: rpcServer),
            // SSE-C keys are taken over HTTPS always, over plain HTTP only when the config says so.
            .init(service: S3Server.application(cluster: node, objects: objects, region: nodeConfig.s3Region,
                                                rootDomain: nodeConfig.s3RootDomain,
                                                sseCAllowHTTP: nodeConfig.sseCAllowHTTP || s3Certificate != nil,
                                                address: nodeConfig.s3BindAddr, certificate: s3Certificate,
                                                limiter: authLimiter, stats: requestStats, logger: logger)),
            .init(service: AdminServer.application(node: node, objects: objects, maintenance: maintenance, metrics: metrics,
                                                   limiter: authLimiter, stats: requestStats, certificate: adminCertificate, logger: logger)),
            .init(service: MembershipService(node: node)),
            .init(service: AntiEntropyService(objects: objects)),
            .init(service: RepairService(objects: objects)),
            .init(service: ShortWriteHealService(objects: objects)),
            .init(service: LifecycleService(objects: objects)),
            .init(service: maintenance),
        ]
        if let devSetup {
            services.append(.init(service: DevBootstrap(node: node, setup: devSetup, logger: logger), successTerminationBehavior: .ignore))
        }
        // SIGHUP reads the HTTPS certificates again (renewed ones take effect for new connections).
        let reloading = CertificateReloader(certificates: [s3Certificate, adminCertificate].compactMap { $0 }, logger: logger)
        defer { reloading.stop() }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            frames.shutdown()
            try? await http.shutdown()
            try? await streamHTTP.shutdown()
            throw CommandFailure("server stopped: \(error)")
        }
        frames.shutdown()
        try? await http.shutdown()
        try? await streamHTTP.shutdown()
        logger.info("node stopped")
    }

    /// glibc gives each thread that allocates its own arena (up to 8 per
    /// core); buffers freed on another thread's arena stay mapped there. Two
    /// arenas keep the node's peak RSS down (Docs/benchmarks.md) at no cost
    /// in throughput measured on this machine.
    static func limitMallocArenas() {
        #if os(Linux)
        // <malloc.h>'s M_ARENA_MAX; the header is not in Glibc's Swift module.
        _ = glibcMallopt(-8, 2)
        #endif
    }
}

#if os(Linux)
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
