import ClusterModel
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Node
import Placement
import ServiceLifecycle
import Units

/// `shale server --dev`: a config made on the spot, with secrets kept in the
/// dev directory so a restart finds the same node, bucket and key.
struct DevSetup: Sendable {
    static let defaultDirectory = "shale-dev"
    static let secretsFile = "dev-secrets.json"
    static let bucketName = "dev"
    static let keyName = "dev-key"
    static let zone = "dc1"
    static let region = "shale"

    struct Secrets: Codable { let rpcSecret: String; let adminToken: String }

    let directory: String
    let config: NodeConfig
    let configPath: String

    static func prepare(directory: String, environment: [String: String]) throws -> DevSetup {
        let root = URL(fileURLWithPath: directory).standardizedFileURL.path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let secretsPath = (root as NSString).appendingPathComponent(secretsFile)
        let secrets: Secrets
        if let data = FileManager.default.contents(atPath: secretsPath), let saved = try? JSONDecoder().decode(Secrets.self, from: data) {
            secrets = saved
        } else {
            secrets = Secrets(rpcSecret: randomHex(32), adminToken: randomHex(24))
            let data = try JSONEncoder().encode(secrets)
            try writePrivate(data, to: secretsPath)
        }
        let toml = """
        # Written by `shale server --dev`; the CLI reads it with --config.
        metadata_dir = "\(root)/meta"
        data_dir = "\(root)/data"
        rpc_bind_addr = "127.0.0.1:3901"
        rpc_secret = "\(secrets.rpcSecret)"

        [s3_api]
        api_bind_addr = "127.0.0.1:3900"
        s3_region = "\(region)"

        [admin]
        api_bind_addr = "127.0.0.1:3902"
        admin_token = "\(secrets.adminToken)"

        """
        let configPath = (root as NSString).appendingPathComponent("shale.toml")
        try writePrivate(Data(toml.utf8), to: configPath)
        let config = try NodeConfig.parse(toml: toml, path: configPath, environment: environment)
        return DevSetup(directory: root, config: config, configPath: configPath)
    }

    /// Writes a file only its owner may read (it holds the cluster's secrets).
    static func writePrivate(_ data: Data, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw NodeError.storage("cannot write \(path)")
        }
    }

    static func makeDirectories(_ config: NodeConfig) throws {
        for path in [config.metadataDir, config.dataDir] {
            do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
                throw NodeError.storage("cannot create directory \(path): \((error as NSError).localizedDescription)")
            }
        }
    }

    static func randomHex(_ count: Int) -> String { Hex.encode(randomBytes(count)) }
}

/// Brings a dev node to ready once: a single-node layout, a bucket, a key
/// allowed on it; then prints how to reach them.
struct DevBootstrap: Service {
    let node: ClusterNode
    let setup: DevSetup
    let logger: Logger

    func run() async throws {
        do {
            if await node.state.layout.currentVersion == .none {
                let available = (try? FileManager.default.attributesOfFileSystem(forPath: setup.config.dataDir)[.systemFreeSize] as? NSNumber)?.uint64Value
                let capacity = ByteCount(bytes: max(1_000_000_000, (available ?? 10_000_000_000) / 1_000_000_000 * 1_000_000_000))
                try await node.layoutAssign(nodes: [node.id.rawValue], role: NodeRole(zone: ZoneName(DevSetup.zone), capacity: capacity), replace: nil)
                try await node.layoutApply(version: LayoutVersion(1))
            }
            let state = await node.state
            if (try? state.bucket(named: DevSetup.bucketName)) == nil { _ = try await node.createBucket(name: DevSetup.bucketName) }
            var key = await node.state.liveKeys.first { $0.name == DevSetup.keyName }
            if key == nil { key = try await node.createKey(name: DevSetup.keyName) }
            guard let key else { return }
            let bucket = try await node.state.bucket(named: DevSetup.bucketName)
            if await node.state.permissions(of: key.id, on: bucket.id) != [.read, .write, .owner] {
                try await node.setPermissions(bucket: DevSetup.bucketName, key: key.id.rawValue, permissions: [.read, .write, .owner], allowed: true)
            }
            // Straight to the descriptor: the banner must not wait in a stdio buffer
            // when stdout is a pipe (`make run | tee`, tests reading it).
            var text = banner(key: key)
            text.withUTF8 { bytes in _ = write(STDOUT_FILENO, bytes.baseAddress, bytes.count) }
        } catch {
            logger.error("dev setup failed", metadata: ["error": "\(error)"])
            throw error
        }
    }

    func banner(key: AccessKeyRecord) -> String {
        let config = setup.config
        let endpoint = "http://\(config.s3BindAddr)"
        return """

        Shale dev server is ready (single node, layout version 1).
          S3 endpoint:  \(endpoint)
          Region:       \(config.s3Region ?? DevSetup.region)
          Bucket:       \(DevSetup.bucketName)
          Access key:   \(key.id.rawValue)
          Secret key:   \(key.secret.rawValue)
          Admin API:    http://\(config.adminBindAddr)
          Data:         \(setup.directory)

        CLI:  export SHALE_CONFIG=\(setup.configPath); shale status
        AWS:  AWS_ACCESS_KEY_ID=\(key.id.rawValue) AWS_SECRET_ACCESS_KEY=\(key.secret.rawValue) aws --endpoint-url \(endpoint) --region \(config.s3Region ?? DevSetup.region) s3 ls s3://\(DevSetup.bucketName)

        """
    }
}
