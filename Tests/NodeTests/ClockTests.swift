import AsyncHTTPClient
import Foundation
@testable import Node
import Testing
import Units

/// Time reaches the node through its injected clock: a test moves it
/// instead of waiting for it.
@Suite struct ClockTests {
    func node(clock: ManualClock) throws -> ClusterNode {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("shale-clock-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/meta", withIntermediateDirectories: true)
        let config = try NodeConfig.parse(toml: """
            metadata_dir = "\(root)/meta"
            data_dir = "\(root)/data"
            rpc_secret = "\(String(repeating: "ab", count: 32))"
            [admin]
            admin_token = "token-token-token-token"
            """, path: "t.toml", environment: [:])
        let identity = try NodeIdentity.loadOrCreate(metadataDir: config.metadataDir)
        return try ClusterNode(config: config, identity: identity, logger: .init(label: "test"), http: HTTPClient.shared, clock: clock)
    }

    @Test func stampsAndRecordsTakeTheInjectedTime() async throws {
        let clock = ManualClock(millis: 1_900_000_000_000)
        let node = try node(clock: clock)
        let first = try await node.createBucket(name: "first")
        #expect(first.createdMillis == 1_900_000_000_000)
        clock.advance(byMillis: 3_600_000)
        let second = try await node.createBucket(name: "second")
        #expect(second.createdMillis == 1_900_003_600_000)
        let stamps = await node.state.buckets.entries.values.map(\.stamp.millis).sorted()
        #expect(stamps == [1_900_000_000_000, 1_900_003_600_000])
        let me = try #require(await node.nodeViews().first { $0.isSelf })
        #expect(me.lastSeen == clock.now)
    }
}
