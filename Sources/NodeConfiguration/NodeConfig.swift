import Erasure
import Foundation
import Logging
import TOMLKit

/// A host and port, as written in the config (`127.0.0.1:3901`, `[::1]:3901`, `node1:3901`).
public struct HostPort: Hashable, Sendable, CustomStringConvertible, Codable {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) { self.host = host; self.port = port }

    public init?(_ text: String) {
        let host: Substring, port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let number = Int(port), (1...65535).contains(number) else { return nil }
        self.host = String(host)
        self.port = number
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// `HOST:PORT`, or an `http://HOST:PORT` URL (with or without a trailing
    /// slash), as users paste the admin address.
    public init?(addressOrURL text: String) {
        var rest = Substring(text)
        if rest.lowercased().hasPrefix("http://") { rest = rest.dropFirst("http://".count) }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/"), !rest.contains("@"), let value = HostPort(String(rest)) else { return nil }
        self = value
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = HostPort(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not host:port: \(text)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A PEM certificate (chain) and its private key, for an HTTPS port.
public struct TLSFiles: Sendable, Equatable {
    public let certificateFile: String
    public let keyFile: String
    public init(certificateFile: String, keyFile: String) { self.certificateFile = certificateFile; self.keyFile = keyFile }
}

/// A node's configuration: the TOML file, then `SHALE_*` environment
/// variables over it. Every key is documented in Docs/configuration.md.
public struct NodeConfig: Sendable {
    public static let defaultPath = "/etc/shale.toml"

    /// The address of a `bootstrap_peers` entry: `NODE_ID@HOST:PORT`, or
    /// `HOST:PORT` alone (a DNS name such as a StatefulSet pod's, whose
    /// node id is learnt from its answer, authenticated by the cluster secret).
    public static func bootstrapAddress(_ entry: String) -> (id: String?, address: HostPort)? {
        let parts = entry.split(separator: "@", maxSplits: 1).map(String.init)
        if parts.count == 2 {
            guard parts[0].count == 64, parts[0].allSatisfy(\.isHexDigit), let address = HostPort(parts[1]) else { return nil }
            return (parts[0].lowercased(), address)
        }
        guard !entry.contains("@"), let address = HostPort(entry) else { return nil }
        return (nil, address)
    }
    public static let defaultRPCPort = 3901
    public static let defaultS3Port = 3900
    public static let defaultAdminPort = 3902
    public static let rpcSecretHexDigits = 64
    public static let defaultMetadataReplicas = 3
    public static let defaultBlockSizeBytes = 1 << 20
    public static let defaultShardDeletionDelaySeconds = 120
    public static let defaultAntiEntropyIntervalSeconds = 60
    public static let defaultStrayShardGraceSeconds = 3600
    public static let defaultSlowShardTimeoutMillis = 3000
    public static let defaultTransferRateMiBPerSecond = 100
    public static let defaultScrubRateMiBPerSecond = 20
    public static let defaultScrubIntervalHours = 168
    public static let defaultLifecycleIntervalSeconds = 3600
    public static let defaultLifecycleDeletesPerSecond = 200
    /// Measured in Docs/benchmarks.md ("Inline small objects").
    public static let defaultInlineMaxBytes = 16 << 10
    /// Rows travel whole between replicas (anti-entropy pages of 200): 128 KiB keeps a page far below an RPC answer's limit.
    public static let inlineMaxLimitBytes = 0...(128 << 10)
    public static let blockSizeLimitsBytes = (64 << 10)...(64 << 20)

    public var metadataDir: String
    public var dataDir: String
    public var rpcBindAddr: HostPort
    public var rpcPublicAddr: HostPort?
    public var rpcSecret: String
    public var bootstrapPeers: [String]
    public var s3BindAddr: HostPort
    public var s3Region: String?
    /// Virtual-host addressing: `BUCKET.<root_domain>` names the bucket (nil: path-style only).
    public var s3RootDomain: String?
    /// SSE-C over plain HTTP sends the key in the clear; refused unless this is set (AWS refuses it always).
    public var sseCAllowHTTP = false
    /// HTTPS on the S3 port (nil: plain HTTP).
    public var s3TLS: TLSFiles?
    public var adminBindAddr: HostPort
    /// HTTPS on the admin port (nil: plain HTTP).
    public var adminTLS: TLSFiles?
    public var adminToken: String
    public var metricsToken: String?
    public var logLevel: Logger.Level
    /// Wanted replicas of each bucket's object table (raised to 2m + 1, capped by the nodes a partition has).
    public var metadataReplicas = defaultMetadataReplicas
    /// Shard writes a PUT waits for; nil: k + 1. Always clamped to k...k+m.
    public var writeQuorum: Int?
    /// Bytes of an object encoded as one stripe.
    public var blockSizeBytes = defaultBlockSizeBytes
    /// Objects of at most this many bytes are kept inline in their metadata row, not in shards (0: never).
    public var inlineMaxBytes = defaultInlineMaxBytes
    /// How long the shards of a replaced or deleted version stay for reads already streaming them.
    public var shardDeletionDelaySeconds = defaultShardDeletionDelaySeconds
    /// Seconds between anti-entropy rounds among each bucket's metadata replicas.
    public var antiEntropyIntervalSeconds = defaultAntiEntropyIntervalSeconds
    /// Age before a shard that no object version names is deleted (never below the deletion delay).
    public var strayShardGraceSeconds = defaultStrayShardGraceSeconds
    /// A shard that has not answered, or delivered a block's chunk, within this is read around with parity.
    public var slowShardTimeoutMillis = defaultSlowShardTimeoutMillis
    /// The most MiB/s this node sends when it moves shards in the background (handoffs going home, a rebuild it runs).
    public var transferRateMiBPerSecond = defaultTransferRateMiBPerSecond
    /// The most MiB/s of its shards this node reads per second when it scrubs them.
    public var scrubRateMiBPerSecond = defaultScrubRateMiBPerSecond
    /// Hours between background scrubs of this node's shards (0: only `shale scrub start`).
    public var scrubIntervalHours = defaultScrubIntervalHours
    /// The Reed-Solomon kernels: `SHALE_ERASURE_BACKEND` when set, else the fastest this build has.
    public var erasureBackend = ErasureBackendKind.preferred
    /// Seconds between passes of the lifecycle worker (0: never).
    public var lifecycleIntervalSeconds = defaultLifecycleIntervalSeconds
    /// How many objects and uploads a lifecycle pass removes per second at most (0: unpaced).
    public var lifecycleDeletesPerSecond = defaultLifecycleDeletesPerSecond

    public init(metadataDir: String, dataDir: String, rpcBindAddr: HostPort, rpcPublicAddr: HostPort?, rpcSecret: String,
                bootstrapPeers: [String], s3BindAddr: HostPort, s3Region: String?, adminBindAddr: HostPort,
                adminToken: String, metricsToken: String?, logLevel: Logger.Level) {
        self.metadataDir = metadataDir; self.dataDir = dataDir; self.rpcBindAddr = rpcBindAddr
        self.rpcPublicAddr = rpcPublicAddr; self.rpcSecret = rpcSecret; self.bootstrapPeers = bootstrapPeers
        self.s3BindAddr = s3BindAddr; self.s3Region = s3Region; self.adminBindAddr = adminBindAddr
        self.adminToken = adminToken; self.metricsToken = metricsToken; self.logLevel = logLevel
    }

    /// The address other nodes reach this one at.
    public var advertisedRPCAddr: HostPort {
        if let rpcPublicAddr { return rpcPublicAddr }
        if rpcBindAddr.host == "0.0.0.0" || rpcBindAddr.host == "::" {
            return HostPort(host: ProcessInfo.processInfo.hostName, port: rpcBindAddr.port)
        }
        return rpcBindAddr
    }

    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case cannotRead(path: String, reason: String)
        case syntax(path: String, line: Int, column: Int, message: String)
        case unknownKey(String)
        case wrongType(key: String, expected: String)
        case missing(key: String)
        case invalid(key: String, reason: String)
        case both(key: String, fileKey: String)

        public var description: String {
            switch self {
            case .cannotRead(let path, let reason): return "cannot read config file \(path): \(reason)"
            case .syntax(let path, let line, let column, let message): return "\(path):\(line):\(column): \(message)"
            case .unknownKey(let key): return "unknown config key '\(key)' (see Docs/configuration.md)"
            case .wrongType(let key, let expected): return "config key '\(key)' must be \(expected)"
            case .missing(let key): return "config key '\(key)' is required"
            case .invalid(let key, let reason): return "config key '\(key)': \(reason)"
            case .both(let key, let fileKey): return "set '\(key)' or '\(fileKey)', not both"
            }
        }
    }

    /// Every key, dotted for those in a section, with the environment
    /// variable that overrides it and whether it is a list.
    static let keys: [(key: String, env: String, isList: Bool)] = [
        ("metadata_dir", "SHALE_METADATA_DIR", false),
        ("data_dir", "SHALE_DATA_DIR", false),
        ("rpc_bind_addr", "SHALE_RPC_BIND_ADDR", false),
        ("rpc_public_addr", "SHALE_RPC_PUBLIC_ADDR", false),
        ("rpc_secret", "SHALE_RPC_SECRET", false),
        ("rpc_secret_file", "SHALE_RPC_SECRET_FILE", false),
        ("bootstrap_peers", "SHALE_BOOTSTRAP_PEERS", true),
        ("log_level", "SHALE_LOG_LEVEL", false),
        ("metadata_replicas", "SHALE_METADATA_REPLICAS", false),
        ("write_quorum", "SHALE_WRITE_QUORUM", false),
        ("block_size", "SHALE_BLOCK_SIZE", false),
        ("inline_max_bytes", "SHALE_INLINE_MAX_BYTES", false),
        ("shard_deletion_delay_seconds", "SHALE_SHARD_DELETION_DELAY_SECONDS", false),
        ("anti_entropy_interval_seconds", "SHALE_ANTI_ENTROPY_INTERVAL_SECONDS", false),
        ("stray_shard_grace_seconds", "SHALE_STRAY_SHARD_GRACE_SECONDS", false),
        ("slow_shard_timeout_millis", "SHALE_SLOW_SHARD_TIMEOUT_MILLIS", false),
        ("transfer_rate_mib_per_second", "SHALE_TRANSFER_RATE_MIB_PER_SECOND", false),
        ("scrub_rate_mib_per_second", "SHALE_SCRUB_RATE_MIB_PER_SECOND", false),
        ("scrub_interval_hours", "SHALE_SCRUB_INTERVAL_HOURS", false),
        ("lifecycle_interval_seconds", "SHALE_LIFECYCLE_INTERVAL_SECONDS", false),
        ("lifecycle_deletes_per_second", "SHALE_LIFECYCLE_DELETES_PER_SECOND", false),
        ("s3_api.api_bind_addr", "SHALE_S3_API_BIND_ADDR", false),
        ("s3_api.s3_region", "SHALE_S3_REGION", false),
        ("s3_api.root_domain", "SHALE_S3_ROOT_DOMAIN", false),
        ("s3_api.sse_c_allow_http", "SHALE_S3_SSE_C_ALLOW_HTTP", false),
        ("s3_api.tls_cert_file", "SHALE_S3_TLS_CERT_FILE", false),
        ("s3_api.tls_key_file", "SHALE_S3_TLS_KEY_FILE", false),
        ("admin.tls_cert_file", "SHALE_ADMIN_TLS_CERT_FILE", false),
        ("admin.tls_key_file", "SHALE_ADMIN_TLS_KEY_FILE", false),
        ("admin.api_bind_addr", "SHALE_ADMIN_API_BIND_ADDR", false),
        ("admin.admin_token", "SHALE_ADMIN_TOKEN", false),
        ("admin.admin_token_file", "SHALE_ADMIN_TOKEN_FILE", false),
        ("admin.metrics_token", "SHALE_METRICS_TOKEN", false),
        ("admin.metrics_token_file", "SHALE_METRICS_TOKEN_FILE", false),
    ]
    static let sections: Set<String> = ["s3_api", "admin"]
    static let booleanKeys: Set<String> = ["s3_api.sse_c_allow_http"]
    static let integerKeys: Set<String> = ["log_level", "metadata_replicas", "write_quorum", "block_size", "inline_max_bytes", "shard_deletion_delay_seconds", "anti_entropy_interval_seconds", "stray_shard_grace_seconds", "slow_shard_timeout_millis", "transfer_rate_mib_per_second", "scrub_rate_mib_per_second", "scrub_interval_hours", "lifecycle_interval_seconds", "lifecycle_deletes_per_second"]

    /// Reads `path` and the environment. `readFile` is injectable for tests.
    public static func load(path: String, environment: [String: String],
                            readFile: (String) throws -> String = { try String(contentsOfFile: $0, encoding: .utf8) }) throws(Error) -> NodeConfig {
        let text: String
        do { text = try readFile(path) } catch { throw .cannotRead(path: path, reason: (error as NSError).localizedDescription) }
        return try parse(toml: text, path: path, environment: environment, readFile: readFile)
    }

    public static func parse(toml text: String, path: String, environment: [String: String],
                             readFile: (String) throws -> String = { try String(contentsOfFile: $0, encoding: .utf8) }) throws(Error) -> NodeConfig {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw .syntax(path: path, line: Int(error.source.begin.line), column: Int(error.source.begin.column), message: error.description)
        } catch {
            throw .syntax(path: path, line: 0, column: 0, message: "\(error)")
        }
        var values = try flatten(table)
        for (key, env, isList) in keys {
            guard let override = environment[env] else { continue }
            values[key] = isList
                ? .list(override.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
                : .string(override)
        }
        var config = try build(values, readFile: readFile)
        do { config.erasureBackend = try ErasureBackendKind.resolve(requested: environment[ErasureBackendKind.environmentVariable]) } catch {
            throw .invalid(key: ErasureBackendKind.environmentVariable, reason: "\(error)")
        }
        return config
    }

    enum Value: Equatable { case string(String), list([String]) }

    static func flatten(_ table: TOMLTable) throws(Error) -> [String: Value] {
        let known = Dictionary(uniqueKeysWithValues: keys.map { ($0.key, $0.isList) })
        var values: [String: Value] = [:]
        func take(_ key: String, _ value: any TOMLValueConvertible) throws(Error) {
            guard let isList = known[key] else { throw .unknownKey(key) }
            if isList {
                guard let array = value.array else { throw .wrongType(key: key, expected: "a list of strings") }
                var items: [String] = []
                for index in 0..<array.count {
                    guard let item = array[index].string else { throw .wrongType(key: key, expected: "a list of strings") }
                    items.append(item)
                }
                values[key] = .list(items)
            } else if let string = value.string {
                values[key] = .string(string)
            } else if let int = value.int, integerKeys.contains(key) {
                values[key] = .string(String(int))
            } else if let bool = value.bool, booleanKeys.contains(key) {
                values[key] = .string(bool ? "true" : "false")
            } else {
                throw .wrongType(key: key, expected: "a string")
            }
        }
        for (key, value) in table {
            if sections.contains(key) {
                guard let section = value.table else { throw .wrongType(key: key, expected: "a table ([\(key)])") }
                for (inner, innerValue) in section { try take("\(key).\(inner)", innerValue) }
            } else {
                try take(key, value)
            }
        }
        return values
    }

    static func build(_ values: [String: Value], readFile: (String) throws -> String) throws(Error) -> NodeConfig {
        func string(_ key: String) -> String? {
            if case .string(let s)? = values[key] { return s }
            return nil
        }
        func required(_ key: String) throws(Error) -> String {
            guard let value = string(key), !value.isEmpty else { throw .missing(key: key) }
            return value
        }
        func address(_ key: String, default port: Int?, host defaultHost: String = "0.0.0.0") throws(Error) -> HostPort? {
            guard let text = string(key) else { return port.map { HostPort(host: defaultHost, port: $0) } }
            guard let value = HostPort(text) else { throw .invalid(key: key, reason: "'\(text)' is not host:port") }
            return value
        }
        func secret(_ key: String, file fileKey: String, required isRequired: Bool) throws(Error) -> String? {
            let inline = string(key)
            let path = string(fileKey)
            if inline != nil && path != nil { throw .both(key: key, fileKey: fileKey) }
            if let inline { return inline }
            if let path {
                do {
                    return try readFile(path).trimmingCharacters(in: .whitespacesAndNewlines)
                } catch {
                    throw .invalid(key: fileKey, reason: "cannot read \(path): \((error as NSError).localizedDescription)")
                }
            }
            if isRequired { throw .missing(key: key) }
            return nil
        }

        let metadataDir = try required("metadata_dir")
        let dataDir = try required("data_dir")
        let rpcSecret = try secret("rpc_secret", file: "rpc_secret_file", required: true)!
        guard rpcSecret.count == rpcSecretHexDigits, rpcSecret.allSatisfy(\.isHexDigit) else {
            throw .invalid(key: "rpc_secret", reason: "must be 32 bytes as 64 hex digits (e.g. from `openssl rand -hex 32`)")
        }
        let adminToken = try secret("admin.admin_token", file: "admin.admin_token_file", required: true)!
        guard adminToken.count >= 16 else { throw .invalid(key: "admin.admin_token", reason: "must be at least 16 characters") }
        let metricsToken = try secret("admin.metrics_token", file: "admin.metrics_token_file", required: false)
        var peers: [String] = []
        if case .list(let list)? = values["bootstrap_peers"] { peers = list }
        for peer in peers where Self.bootstrapAddress(peer) == nil {
            throw .invalid(key: "bootstrap_peers", reason: "'\(peer)' is neither NODE_ID@HOST:PORT (as `shale node id` prints it) nor HOST:PORT")
        }
        var level = Logger.Level.info
        if let text = string("log_level") {
            guard let parsed = Logger.Level(rawValue: text.lowercased()) else {
                throw .invalid(key: "log_level", reason: "'\(text)' is not one of trace, debug, info, notice, warning, error, critical")
            }
            level = parsed
        }
        if let region = string("s3_api.s3_region"), region.isEmpty {
            throw .invalid(key: "s3_api.s3_region", reason: "must not be empty (omit it to accept any region)")
        }
        func positive(_ key: String) throws(Error) -> Int? {
            guard let text = string(key) else { return nil }
            guard let value = Int(text), value >= 1 else { throw .invalid(key: key, reason: "'\(text)' is not a whole number of at least 1") }
            return value
        }
        let metadataReplicas = try positive("metadata_replicas") ?? defaultMetadataReplicas
        let writeQuorum = try positive("write_quorum")
        let blockSize = try positive("block_size") ?? defaultBlockSizeBytes
        var deletionDelay = defaultShardDeletionDelaySeconds
        if let text = string("shard_deletion_delay_seconds") {
            guard let value = Int(text), value >= 0 else {
                throw .invalid(key: "shard_deletion_delay_seconds", reason: "'\(text)' is not a whole number of seconds")
            }
            deletionDelay = value
        }
        guard blockSizeLimitsBytes.contains(blockSize) else {
            throw .invalid(key: "block_size", reason: "\(blockSize) bytes is outside \(blockSizeLimitsBytes.lowerBound)...\(blockSizeLimitsBytes.upperBound)")
        }
        var config = NodeConfig(
            metadataDir: metadataDir, dataDir: dataDir,
            rpcBindAddr: try address("rpc_bind_addr", default: defaultRPCPort)!,
            rpcPublicAddr: try address("rpc_public_addr", default: nil),
            rpcSecret: rpcSecret.lowercased(), bootstrapPeers: peers,
            s3BindAddr: try address("s3_api.api_bind_addr", default: defaultS3Port)!,
            s3Region: string("s3_api.s3_region"),
            // The admin API answers on loopback unless told otherwise: the CLI runs on the node.
            adminBindAddr: try address("admin.api_bind_addr", default: defaultAdminPort, host: "127.0.0.1")!,
            adminToken: adminToken, metricsToken: metricsToken, logLevel: level)
        config.metadataReplicas = metadataReplicas
        config.writeQuorum = writeQuorum
        config.blockSizeBytes = blockSize
        config.shardDeletionDelaySeconds = deletionDelay
        config.antiEntropyIntervalSeconds = try positive("anti_entropy_interval_seconds") ?? defaultAntiEntropyIntervalSeconds
        config.strayShardGraceSeconds = try positive("stray_shard_grace_seconds") ?? defaultStrayShardGraceSeconds
        config.slowShardTimeoutMillis = try positive("slow_shard_timeout_millis") ?? defaultSlowShardTimeoutMillis
        config.transferRateMiBPerSecond = try positive("transfer_rate_mib_per_second") ?? defaultTransferRateMiBPerSecond
        config.scrubRateMiBPerSecond = try positive("scrub_rate_mib_per_second") ?? defaultScrubRateMiBPerSecond
        if let text = string("inline_max_bytes") {
            guard let value = Int(text), inlineMaxLimitBytes.contains(value) else {
                throw .invalid(key: "inline_max_bytes", reason: "'\(text)' is not a whole number of bytes in \(inlineMaxLimitBytes.lowerBound)...\(inlineMaxLimitBytes.upperBound) (0: never inline)")
            }
            config.inlineMaxBytes = value
        }
        if let text = string("scrub_interval_hours") {
            guard let value = Int(text), value >= 0 else {
                throw .invalid(key: "scrub_interval_hours", reason: "'\(text)' is not a whole number of hours (0: scrub only by hand)")
            }
            config.scrubIntervalHours = value
        }
        func zeroOrMore(_ key: String) throws(Error) -> Int? {
            guard let text = string(key) else { return nil }
            guard let value = Int(text), value >= 0 else { throw .invalid(key: key, reason: "'\(text)' is not a whole number (0: off)") }
            return value
        }
        config.lifecycleIntervalSeconds = try zeroOrMore("lifecycle_interval_seconds") ?? defaultLifecycleIntervalSeconds
        config.lifecycleDeletesPerSecond = try zeroOrMore("lifecycle_deletes_per_second") ?? defaultLifecycleDeletesPerSecond
        if let text = string("s3_api.sse_c_allow_http") {
            guard let value = Bool(text.lowercased()) else { throw .invalid(key: "s3_api.sse_c_allow_http", reason: "'\(text)' is not true or false") }
            config.sseCAllowHTTP = value
        }
        func tls(_ section: String) throws(Error) -> TLSFiles? {
            let certificate = string(section + ".tls_cert_file"), key = string(section + ".tls_key_file")
            switch (certificate, key) {
            case (nil, nil): return nil
            case (let certificate?, let key?):
                for (name, path) in [("tls_cert_file", certificate), ("tls_key_file", key)] where !FileManager.default.isReadableFile(atPath: path) {
                    throw .invalid(key: "\(section).\(name)", reason: "cannot read \(path)")
                }
                return TLSFiles(certificateFile: certificate, keyFile: key)
            case (nil, _): throw .missing(key: section + ".tls_cert_file")
            case (_, nil): throw .missing(key: section + ".tls_key_file")
            }
        }
        config.s3TLS = try tls("s3_api")
        config.adminTLS = try tls("admin")
        if let domain = string("s3_api.root_domain") {
            var trimmed = Substring(domain.lowercased())
            while trimmed.hasPrefix(".") { trimmed = trimmed.dropFirst() }
            guard !trimmed.isEmpty, !trimmed.contains(":"), !trimmed.contains("/") else {
                throw .invalid(key: "s3_api.root_domain", reason: "'\(domain)' is not a domain name (e.g. s3.example.com)")
            }
            config.s3RootDomain = String(trimmed)
        }
        return config
    }
}
