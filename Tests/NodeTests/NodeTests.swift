import Crypto
import Foundation
@testable import Node
import Placement
import Testing

@Suite struct NodeConfigTests {
    let base = """
    metadata_dir = "/m"
    data_dir = "/d"
    rpc_secret = "\(String(repeating: "ab", count: 32))"
    bootstrap_peers = ["\(String(repeating: "c", count: 64))@10.0.0.2:3901"]
    [s3_api]
    api_bind_addr = "[::]:3900"
    s3_region = "garage"
    [admin]
    api_bind_addr = "127.0.0.1:3902"
    admin_token = "token-token-token-token"
    """

    @Test func readsEveryKeyWithDefaults() throws {
        let config = try NodeConfig.parse(toml: base, path: "t.toml", environment: [:])
        #expect(config.rpcBindAddr == HostPort(host: "0.0.0.0", port: 3901))
        #expect(config.s3BindAddr == HostPort(host: "::", port: 3900))
        #expect(config.s3Region == "garage")
        #expect(config.bootstrapPeers.count == 1)
        #expect(config.metricsToken == nil)
        #expect(config.logLevel == .info)
    }

    @Test func dataPathKeysHaveDefaultsAndBounds() throws {
        let defaults = try NodeConfig.parse(toml: base, path: "t.toml", environment: [:])
        #expect(defaults.metadataReplicas == 3 && defaults.writeQuorum == nil)
        #expect(defaults.blockSizeBytes == 1 << 20 && defaults.shardDeletionDelaySeconds == 120)
        #expect(defaults.antiEntropyIntervalSeconds == 60 && defaults.strayShardGraceSeconds == 3600 && defaults.slowShardTimeoutMillis == 3000)
        #expect(defaults.inlineMaxBytes == 16 << 10)
        #expect(try NodeConfig.parse(toml: "inline_max_bytes = 0\n" + base, path: "t.toml", environment: [:]).inlineMaxBytes == 0)
        let set = try NodeConfig.parse(toml: "metadata_replicas = 5\nwrite_quorum = 4\nblock_size = 262144\nshard_deletion_delay_seconds = 0\n"
                                       + "anti_entropy_interval_seconds = 5\nstray_shard_grace_seconds = 10\nslow_shard_timeout_millis = 250\n" + base,
                                       path: "t.toml", environment: ["SHALE_WRITE_QUORUM": "6"])
        #expect(set.metadataReplicas == 5 && set.writeQuorum == 6 && set.blockSizeBytes == 262_144 && set.shardDeletionDelaySeconds == 0)
        #expect(set.antiEntropyIntervalSeconds == 5 && set.strayShardGraceSeconds == 10 && set.slowShardTimeoutMillis == 250)
        for bad in ["metadata_replicas = 0", "write_quorum = \"many\"", "block_size = 1024", "block_size = 1073741824",
                    "shard_deletion_delay_seconds = -1", "inline_max_bytes = -1", "inline_max_bytes = 1048576", "anti_entropy_interval_seconds = 0", "slow_shard_timeout_millis = \"fast\""] {
            #expect(throws: NodeConfig.Error.self) { try NodeConfig.parse(toml: bad + "\n" + base, path: "t.toml", environment: [:]) }
        }
    }

    /// The admin API binds loopback unless configured; the S3 and RPC ports every address.
    @Test func adminDefaultsToLoopback() throws {
        let noAdminAddress = base.replacingOccurrences(of: "api_bind_addr = \"127.0.0.1:3902\"\n", with: "")
        let config = try NodeConfig.parse(toml: noAdminAddress, path: "t.toml", environment: [:])
        #expect(config.adminBindAddr == HostPort(host: "127.0.0.1", port: 3902))
        #expect(config.rpcBindAddr.host == "0.0.0.0")
    }

    @Test func rootDomainForVirtualHosts() throws {
        #expect(try NodeConfig.parse(toml: base, path: "t.toml", environment: [:]).s3RootDomain == nil)
        #expect(try NodeConfig.parse(toml: base, path: "t.toml", environment: ["SHALE_S3_ROOT_DOMAIN": ".S3.Example.com"]).s3RootDomain == "s3.example.com")
        #expect(throws: NodeConfig.Error.self) {
            try NodeConfig.parse(toml: base, path: "t.toml", environment: ["SHALE_S3_ROOT_DOMAIN": "s3.example.com:3900"])
        }
    }

    /// `SHALE_ERASURE_BACKEND` reaches the server's config (it used to be read by the bench alone).
    @Test func erasureBackendFromTheEnvironment() throws {
        #expect(try NodeConfig.parse(toml: base, path: "t.toml", environment: [:]).erasureBackend == .preferred)
        #expect(try NodeConfig.parse(toml: base, path: "t.toml", environment: ["SHALE_ERASURE_BACKEND": "swift"]).erasureBackend == .swift)
        #expect(throws: NodeConfig.Error.self) {
            try NodeConfig.parse(toml: base, path: "t.toml", environment: ["SHALE_ERASURE_BACKEND": "gpu"])
        }
    }

    /// `--admin` and SHALE_ADMIN_ADDR take a URL too (a URL used to become the host "http").
    @Test func adminAddressAsURL() {
        #expect(HostPort(addressOrURL: "http://127.0.0.1:3902") == HostPort(host: "127.0.0.1", port: 3902))
        #expect(HostPort(addressOrURL: "http://node1:3902/") == HostPort(host: "node1", port: 3902))
        #expect(HostPort(addressOrURL: "127.0.0.1:3902") == HostPort(host: "127.0.0.1", port: 3902))
        #expect(HostPort(addressOrURL: "http://[::1]:3902") == HostPort(host: "::1", port: 3902))
        #expect(HostPort(addressOrURL: "https://node1:3902") == nil)
        #expect(HostPort(addressOrURL: "http://node1:3902/v1") == nil)
        #expect(HostPort(addressOrURL: "http://node1") == nil)
    }

    @Test func environmentOverridesKeys() throws {
        let config = try NodeConfig.parse(toml: base, path: "t.toml", environment: [
            "SHALE_ADMIN_API_BIND_ADDR": "127.0.0.9:4000", "SHALE_BOOTSTRAP_PEERS": "", "SHALE_LOG_LEVEL": "debug",
            "SHALE_METRICS_TOKEN": "m",
        ])
        #expect(config.adminBindAddr == HostPort(host: "127.0.0.9", port: 4000))
        #expect(config.bootstrapPeers.isEmpty)
        #expect(config.logLevel == .debug)
        #expect(config.metricsToken == "m")
    }

    @Test func secretFromFile() throws {
        let text = base.replacingOccurrences(of: "rpc_secret = ", with: "rpc_secret_file = \"/s\"\n#")
        let config = try NodeConfig.parse(toml: text, path: "t.toml", environment: [:]) { path in
            #expect(path == "/s")
            return String(repeating: "cd", count: 32) + "\n"
        }
        #expect(config.rpcSecret == String(repeating: "cd", count: 32))
        #expect(throws: NodeConfig.Error.both(key: "rpc_secret", fileKey: "rpc_secret_file")) {
            try NodeConfig.parse(toml: base + "\n", path: "t", environment: ["SHALE_RPC_SECRET_FILE": "/s"]) { _ in "" }
        }
    }

    @Test(arguments: [
        ("colour = 1", "unknown config key 'colour' (see Docs/configuration.md)"),
        ("rpc_bind_addr = 5", "config key 'rpc_bind_addr' must be a string"),
        ("[admin]\nextra = 1", ""),
    ])
    func badKeysAreNamed(_ line: String, _ message: String) {
        #expect(throws: NodeConfig.Error.self) { try NodeConfig.parse(toml: line + "\n" + base, path: "t", environment: [:]) }
        if !message.isEmpty {
            do { _ = try NodeConfig.parse(toml: line + "\n" + base, path: "t", environment: [:]) } catch {
                #expect(error.description == message)
            }
        }
    }

    @Test func hostPortParsing() {
        #expect(HostPort("127.0.0.1:3901") == HostPort(host: "127.0.0.1", port: 3901))
        #expect(HostPort("[::1]:3901") == HostPort(host: "::1", port: 3901))
        #expect(HostPort("[::1]:3901")?.description == "[::1]:3901")
        #expect(HostPort("node:0") == nil)
        #expect(HostPort("node") == nil)
        #expect(HostPort(":3901") == nil)
    }
}

@Suite struct PeerTableTests {
    @Test func healthFollowsLastSeen() {
        var table = PeerTable()
        let id = NodeID(String(repeating: "a", count: 64))
        let address = HostPort(host: "127.0.0.2", port: 3901)
        table.addCandidate(address)
        #expect(table.candidates == [address])
        let start = Date(timeIntervalSince1970: 1000)
        table.heard(from: id, address: address, hostname: "h", dataAvailableBytes: nil, at: start)
        #expect(table.candidates.isEmpty)
        #expect(table.isHealthy(id, now: start.addingTimeInterval(4)))
        #expect(!table.isHealthy(id, now: start.addingTimeInterval(PeerTable.failureAfterSeconds + 1)))
        // A rebuilt machine at the same address replaces the old node.
        let newID = NodeID(String(repeating: "b", count: 64))
        table.heard(from: newID, address: address, hostname: "h", dataAvailableBytes: nil, at: start)
        #expect(table.peers[id] == nil && table.peers[newID] != nil)
    }
}

@Suite struct RandomBytesTests {
    /// Drawn eight bytes to a generator word: every length comes out whole, not rounded to a word.
    @Test(arguments: [0, 1, 7, 8, 9, 16, 33])
    func eachLengthComesOutWhole(_ count: Int) {
        #expect(randomBytes(count).count == count)
    }

    @Test func drawsDifferAndCoverEveryByteValue() {
        let draws = (0..<4096).map { _ in randomBytes(16) }
        #expect(Set(draws).count == draws.count)
        // 64 KiB of uniform bytes miss a value with a probability of about 256 × e^-256.
        #expect(Set(draws.joined()).count == 256)
    }
}
