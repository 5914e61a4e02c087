import AsyncHTTPClient
import ClusterModel
import Crypto
import Erasure
import Foundation
import Logging
import NIOCore
@testable import Node
import Placement
import Storage
import Synchronization
import Testing
import Units

/// Six real nodes (ClusterNode + ObjectService) in one process: JSON calls
/// and shard streams cross an in-memory network with injected faults, time
/// is a manual clock, membership and the cluster state are exchanged by
/// calling the nodes' own handlers. Only sockets are missing.
final class SimulatedDataNetwork: Sendable {
    private let services = Mutex<[NodeID: ObjectService]>([:])
    let faults = NetworkFaults()
    let slowGate = Gate()
    /// When set, row writes (merges) wait at this gate before they reach the replica.
    let mergeGate = Mutex<Gate?>(nil)

    func register(_ id: NodeID, _ service: ObjectService) { services.withLock { $0[id] = service } }
    func service(_ id: NodeID) -> ObjectService? { services.withLock { $0[id] } }
}

struct SimulatedPeers: PeerTransport {
    let from: NodeID
    let network: SimulatedDataNetwork

    func call(_ method: RPCMethod, to node: NodeID, at address: HostPort, body: Data) async throws(NodeError) -> Data {
        guard network.faults.reaches(from, node), let target = network.service(node) else { throw .peer("\(node.shortForm) unreachable") }
        if method == .metadataMerge, let gate = network.mergeGate.withLock({ $0 }) { await gate.wait() }
        if method == .shardDelete { return try await target.answerShardDelete(body) }
        if method == .shardCheck { return try await target.answerShardCheck(body) }
        if method == .shardStat { return try await target.answerShardStat(body) }
        guard let answer = try await target.replica.answer(method, body: body) else { throw .invalidRequest("\(method) not simulated") }
        return answer
    }
}

/// A sink on another node: the target's own shard file, behind the network's faults.
final class NetworkSink: ShardSink, @unchecked Sendable {
    let inner: LocalShardSink?
    let from: NodeID, to: NodeID
    let network: SimulatedDataNetwork

    init(inner: LocalShardSink?, from: NodeID, to: NodeID, network: SimulatedDataNetwork) {
        self.inner = inner; self.from = from; self.to = to; self.network = network
    }

    func write(_ chunk: UnsafeRawBufferPointer, crc: UInt32) async throws(NodeError) {
        if network.faults.isSlow(to) {
            await network.slowGate.wait()
            if Task.isCancelled { throw .peer("\(to.shortForm) too slow") }
        }
        guard network.faults.reaches(from, to), let inner else { throw .peer("\(to.shortForm) unreachable") }
        try await inner.write(chunk, crc: crc)
    }

    func finish() async throws(NodeError) {
        guard network.faults.reaches(from, to), let inner else { throw .peer("\(to.shortForm) unreachable") }
        try await inner.finish()
    }

    func abort() async { await inner?.abort() }
}

final class NetworkSource: ShardSource, @unchecked Sendable {
    let inner: LocalShardSource
    let from: NodeID, to: NodeID
    let network: SimulatedDataNetwork

    init(inner: LocalShardSource, from: NodeID, to: NodeID, network: SimulatedDataNetwork) {
        self.inner = inner; self.from = from; self.to = to; self.network = network
    }

    func nextChunk(length: Int) async throws(NodeError) -> ByteBuffer {
        if network.faults.isSlow(to) { await network.slowGate.wait() }
        guard network.faults.reaches(from, to) else { throw .peer("\(to.shortForm) unreachable") }
        return try await inner.nextChunk(length: length)
    }
}

struct SimulatedShards: ShardTransport {
    let from: NodeID
    let network: SimulatedDataNetwork

    func sink(for key: ShardKey, format: ShardFileFormat, object: ObjectName, on node: NodeID, at address: HostPort) async -> any ShardSink {
        guard network.faults.reaches(from, node), let target = network.service(node) else {
            return NetworkSink(inner: nil, from: from, to: node, network: network)
        }
        try? await target.access.note([key], of: object)
        return NetworkSink(inner: try? LocalShardSink(store: target.shards, key: key, format: format), from: from, to: node, network: network)
    }

    func source(for key: ShardKey, format: ShardFileFormat, chunks: Range<Int>, on node: NodeID, at address: HostPort,
                headTimeoutMillis: Int) async throws(NodeError) -> any ShardSource {
        guard network.faults.reaches(from, node), let target = network.service(node) else { throw .peer("\(node.shortForm) unreachable") }
        let local = try LocalShardSource(store: target.shards, key: key, firstChunk: chunks.lowerBound, logger: target.logger)
        return NetworkSource(inner: local, from: from, to: node, network: network)
    }
}

/// A node's clock that runs a fixed offset from the cluster's.
struct SkewedClock: WallClock {
    let base: ManualClock
    let offsetMillis: Int64
    func nowMillis() -> UInt64 { UInt64(Int64(base.nowMillis()) + offsetMillis) }
    func sleep(millis: UInt64) async throws { try await base.sleep(millis: millis) }
}

struct SimulatedCluster {
    let root: String
    let clock: ManualClock
    let network: SimulatedDataNetwork
    let nodes: [ClusterNode]
    let services: [ObjectService]
    let bucket: BucketID

    /// Six nodes in three zones, 4+2, 64 KiB blocks, one bucket. `skewMillis`
    /// sets a node's clock ahead (positive) or behind (negative) the others'.
    /// Node `i` of a simulated cluster (127.0.77.i), registered on the network.
    static func makeNode(_ i: Int, root: String, network: SimulatedDataNetwork, clock: ManualClock, slowShardTimeoutMillis: Int = 3000,
                         skewMillis: Int64? = nil) throws -> (ClusterNode, ObjectService) {
        let dir = "\(root)/n\(i)"
        try FileManager.default.createDirectory(atPath: dir + "/meta", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        let config = try NodeConfig.parse(toml: """
            metadata_dir = "\(dir)/meta"
            data_dir = "\(dir)/data"
            rpc_bind_addr = "127.0.77.\(i):3901"
            rpc_secret = "\(String(repeating: "ab", count: 32))"
            block_size = 65536
            slow_shard_timeout_millis = \(slowShardTimeoutMillis)
            transfer_rate_mib_per_second = 100000
            scrub_rate_mib_per_second = 100000
            lifecycle_deletes_per_second = 0
            [admin]
            admin_token = "token-token-token-token"
            """, path: "sim.toml", environment: [:])
        let identity = try NodeIdentity.loadOrCreate(metadataDir: config.metadataDir)
        let nodeClock: any WallClock = skewMillis.map { SkewedClock(base: clock, offsetMillis: $0) } ?? clock
        let node = try ClusterNode(config: config, identity: identity, logger: Logger(label: "sim-\(i)"), http: HTTPClient.shared, clock: nodeClock)
        let service = try ObjectService(node: node, logger: Logger(label: "sim-\(i)"), peers: SimulatedPeers(from: node.id, network: network),
                                        shardTransport: SimulatedShards(from: node.id, network: network))
        network.register(node.id, service)
        return (node, service)
    }

    static func start(slowShardTimeoutMillis: Int = 3000, skewMillis: [Int: Int64] = [:]) async throws -> SimulatedCluster {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("shale-simcluster-\(UUID().uuidString)").path
        let network = SimulatedDataNetwork()
        let clock = ManualClock()
        var nodes: [ClusterNode] = []
        var services: [ObjectService] = []
        for i in 1...6 {
            let (node, service) = try makeNode(i, root: root, network: network, clock: clock, slowShardTimeoutMillis: slowShardTimeoutMillis,
                                               skewMillis: skewMillis[i - 1])
            nodes.append(node)
            services.append(service)
        }
        try await heartbeat(nodes)
        let first = nodes[0]
        for (i, node) in nodes.enumerated() {
            try await first.layoutAssign(nodes: [node.id.rawValue], role: NodeRole(zone: ZoneName("dc\(i / 2 + 1)"), capacity: ByteCount(bytes: 1 << 40)),
                                         replace: nil)
        }
        try await first.layoutConfig(code: try ErasureCode(dataShards: 4, parityShards: 2), zoneCap: nil)
        _ = try await first.layoutApply(version: LayoutVersion(1))
        let bucket = try await first.createBucket(name: "sim").bucketID
        let state = try JSONEncoder().encode(SyncMessage(state: await first.state))
        for node in nodes.dropFirst() { _ = try await node.answerSync(state, from: first.id) }
        return SimulatedCluster(root: root, clock: clock, network: network, nodes: nodes, services: services, bucket: bucket)
    }


    /// Membership: every node hears every other's heartbeat now (the clock
    /// stands still between heartbeats, so nobody is failed unless the test
    /// moves it).
    static func heartbeat(_ nodes: [ClusterNode]) async throws {
        for a in nodes {
            for b in nodes where a !== b {
                let ping = PingMessage(node: b.selfInfo, knownPeers: [], stateDigest: "")
                _ = try await a.answerPing(try JSONEncoder().encode(ping), from: b.id)
            }
        }
    }

    func put(_ key: String, _ bytes: [UInt8], via index: Int, condition: WriteCondition? = nil) async throws(ObjectError) -> ObjectVersion {
        var request = ObjectService.PutRequest(bucket: bucket, key: key, contentLength: bytes.count, contentType: nil, userMetadata: [:],
                                               expectedMD5: nil, expectedSHA256: nil)
        request.condition = condition
        let body = AsyncStream<ByteBuffer> { continuation in
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + 40_000)
                continuation.yield(ByteBuffer(bytes: bytes[offset..<end]))
                offset = end
            }
            continuation.finish()
        }
        return try await services[index].put(request, body: body)
    }

    func get(_ key: String, via index: Int) async throws(ObjectError) -> [UInt8] {
        let service = services[index]
        let version = try await service.head(bucket: bucket, key: key)
        let plan = try await service.planRead(version, bucket: bucket, key: key)
        let collected = Mutex<[UInt8]>([])
        try await service.read(plan, range: 0..<version.size) { buffer in collected.withLock { $0 += buffer.readableBytesView } }
        return collected.withLock { $0 }
    }

    /// Runs `write` while node `slow` takes no chunks, moves the simulated
    /// clock past the slow-write deadline (`deadlineMillis`, the cluster's
    /// `slow_shard_timeout_millis`) once the write waits on it, then lets the node go.
    func pastASlowOwner<T: Sendable>(_ slow: Int, deadlineMillis: UInt64 = 100,
                                     _ write: @escaping @Sendable () async throws -> T) async throws -> T {
        network.faults.setSlow([nodes[slow].id])
        let task = Task { try await write() }
        while clock.sleeperCount == 0 { try await Task.sleep(for: .milliseconds(1)) }
        clock.advance(byMillis: deadlineMillis)
        let value = try await task.value
        network.faults.setSlow([])
        network.slowGate.open()
        return value
    }

    func shardFiles(of versionID: String) -> Int {
        services.map { service in
            (0..<6).filter { slot in (try? service.shards.reader(for: ShardKey(versionID: versionID, slot: slot)!)) != nil }.count
        }.reduce(0, +)
    }
}

@Suite(.serialized) struct SimulatedClusterTests {
    func body(_ size: Int, seed: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: ($0 &* 2654435761 &+ seed) >> 7) } }

    @Test func putAndGetThroughEveryNode() async throws {
        let sim = try await SimulatedCluster.start()
        let bytes = body(3 * 65536 + 1234, seed: 1)
        let version = try await sim.put("a/b", bytes, via: 0)
        #expect(version.storedSlots == [0, 1, 2, 3, 4, 5])
        #expect(sim.shardFiles(of: version.versionID) == 6)
        for i in 0..<6 { #expect(try await sim.get("a/b", via: i) == bytes) }
    }

    /// 0, 1 and m owners down: the PUT succeeds (quorum k + 1 = 5 of 6 needs at most one down… so two down fails);
    /// every acknowledged object reads back while they stay down.
    @Test func writesAndDegradedReadsWithNodesDown() async throws {
        let sim = try await SimulatedCluster.start()
        var written: [String: [UInt8]] = [:]
        for down in 0...2 {
            sim.network.faults.setDown(Set(sim.nodes.suffix(down).map(\.id)))
            let bytes = body(2 * 65536 + down, seed: down)
            do {
                _ = try await sim.put("k\(down)", bytes, via: 0)
                written["k\(down)"] = bytes
                #expect(down <= 1, "with \(down) owners down a PUT needs 5 of 6 shards")
            } catch {
                #expect(down == 2)
                await #expect(throws: ObjectError.noSuchKey) { _ = try await sim.get("k\(down)", via: 0) }
            }
            for (key, bytes) in written { #expect(try await sim.get(key, via: 0) == bytes, "\(key) with \(down) down") }
        }
        sim.network.faults.setDown([])
        for (key, bytes) in written { #expect(try await sim.get(key, via: 3) == bytes) }
    }

    /// m + 1 owners down: the PUT is refused (503), nothing becomes visible,
    /// and objects written before still read.
    @Test func threeOwnersDownRefuseThePut() async throws {
        let sim = try await SimulatedCluster.start()
        let before = body(65536 + 3, seed: 77)
        _ = try await sim.put("old", before, via: 0)
        sim.network.faults.setDown(Set(sim.nodes.suffix(3).map(\.id)))
        await #expect(throws: ObjectError.self) { _ = try await sim.put("new", body(20_000, seed: 78), via: 0) }
        sim.network.faults.setDown([])
        await #expect(throws: ObjectError.noSuchKey) { _ = try await sim.get("new", via: 1) }
        #expect(try await sim.get("old", via: 1) == before)
    }

    /// The shards of a replaced version are strays once no version names
    /// them: kept through the grace period, collected after it — the clock
    /// is moved, not waited for.
    @Test func strayShardsAreCollectedAfterTheGracePeriod() async throws {
        let sim = try await SimulatedCluster.start()
        let first = try await sim.put("s", body(2 * 65536, seed: 5), via: 0)
        let second = try await sim.put("s", body(65536, seed: 6), via: 1)
        #expect(sim.shardFiles(of: first.versionID) == 6)
        sim.clock.advance(byMillis: 60_000)
        try await SimulatedCluster.heartbeat(sim.nodes)
        for service in sim.services { await service.collectStrays() }
        #expect(sim.shardFiles(of: first.versionID) == 6, "inside the grace period nothing is collected")
        sim.clock.advance(byMillis: 3_600_000)
        try await SimulatedCluster.heartbeat(sim.nodes)
        for service in sim.services { await service.collectStrays() }
        #expect(sim.shardFiles(of: first.versionID) == 0)
        #expect(sim.shardFiles(of: second.versionID) == 6)
        #expect(try await sim.get("s", via: 4) == body(65536, seed: 6))
    }

    /// Eight concurrent `If-None-Match: *` writers of one key, through
    /// different nodes: exactly one succeeds, with every node up, with one
    /// down, and with one node cut off by a partition (whose writers all
    /// fail: it cannot reach a quorum). The key then holds the winner's bytes.
    @Test func concurrentConditionalWritersExactlyOneWins() async throws {
        let sim = try await SimulatedCluster.start()
        let scenarios: [(name: String, fault: () -> Void)] = [
            ("all up", { sim.network.faults.heal(); sim.network.faults.setDown([]) }),
            ("one down", { sim.network.faults.setDown([sim.nodes[5].id]) }),
            ("one cut off", { sim.network.faults.setDown([]); sim.network.faults.partition([sim.nodes[0].id], sim.nodes.dropFirst().map(\.id)) }),
        ]
        for (round, scenario) in scenarios.enumerated() {
            scenario.fault()
            let key = "commit-\(round)"
            let outcomes = await withTaskGroup(of: (Int, ObjectError?).self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        do throws(ObjectError) {
                            _ = try await sim.put(key, self.body(70_000 + writer, seed: writer), via: writer % 6, condition: .noObject)
                            return (writer, nil)
                        } catch { return (writer, error) }
                    }
                }
                var all: [(Int, ObjectError?)] = []
                for await outcome in group { all.append(outcome) }
                return all
            }
            let winners = outcomes.filter { $0.1 == nil }.map(\.0)
            #expect(winners.count == 1, "\(scenario.name): \(outcomes)")
            if round == 2 { #expect(!winners.contains { $0 % 6 == 0 }, "the cut-off node cannot win") }
            for (writer, error) in outcomes where error != nil && !(round == 2 && writer % 6 == 0) && !(round == 1 && writer % 6 == 5) {
                #expect(error == .preconditionFailed || error == .conditionalConflict, "\(scenario.name) writer \(writer): \(String(describing: error))")
            }
            if let winner = winners.first {
                #expect(try await sim.get(key, via: 3) == body(70_000 + winner, seed: winner))
            }
            // With the key taken, If-Match on its ETag replaces it; If-None-Match does not.
            let current = try await sim.services[2].head(bucket: sim.bucket, key: key)
            await #expect(throws: ObjectError.preconditionFailed) { _ = try await sim.put(key, [1], via: 2, condition: .noObject) }
            _ = try await sim.put(key, [2], via: 2, condition: .etag(current.etag))
            #expect(try await sim.get(key, via: 4) == [2])
        }
        sim.network.faults.heal()
    }

    /// A whole zone out: PUTs keep all k + m shards, the absent owners'
    /// on handoff nodes in the other zones, and every read goes on. When the
    /// zone is back the handoffs move home (the row forgets them, the
    /// copies go), and the object then survives two other nodes down.
    @Test func aZoneOutageKeepsFullRedundancyThroughHandoffs() async throws {
        let sim = try await SimulatedCluster.start()
        let zone3 = Set(sim.nodes.suffix(2).map(\.id))
        sim.network.faults.setDown(zone3)
        sim.clock.advance(byMillis: 60_000)
        try await SimulatedCluster.heartbeat(Array(sim.nodes.prefix(4)))
        let bytes = body(3 * 65536 + 5, seed: 90)
        let version = try await sim.put("outage/a", bytes, via: 0)
        #expect(version.storedSlots == [0, 1, 2, 3, 4, 5])
        let handoffs = version.handoffs ?? []
        #expect(handoffs.count == 2 && handoffs.allSatisfy { !zone3.contains($0.node) }, "\(handoffs)")
        #expect(try await sim.get("outage/a", via: 1) == bytes)
        let during = try await sim.services[0].verifyRedundancy()
        #expect(!during.fullyRedundant && during.unrecoverable == 0 && during.problems.allSatisfy { $0.state == "misplaced" },
                "all six shards intact, two misplaced on handoff nodes: \(during.problems)")
        func holders() -> [Int] {
            sim.services.map { service in
                (0..<6).filter { (try? service.shards.reader(for: ShardKey(versionID: version.versionID, slot: $0)!)) != nil }.count
            }
        }
        #expect(holders().suffix(2) == [0, 0], "nothing reaches the zone that is out")

        sim.network.faults.setDown([])
        sim.clock.advance(byMillis: 1000)
        try await SimulatedCluster.heartbeat(sim.nodes)
        for service in sim.services { await service.moveHandoffsHome() }
        let after = try await sim.services[2].head(bucket: sim.bucket, key: "outage/a")
        #expect(after.handoffs == nil)
        #expect(holders() == [1, 1, 1, 1, 1, 1], "every shard on its own owner, the handoff copies gone")
        sim.network.faults.setDown(Set(sim.nodes.prefix(2).map(\.id)))
        #expect(try await sim.get("outage/a", via: 3) == bytes)
        sim.network.faults.setDown([])
        // A second pass finds nothing left to move.
        for service in sim.services { await service.moveHandoffsHome() }
        #expect(holders() == [1, 1, 1, 1, 1, 1])

        // m + 1 owners away is beyond what handoffs cover: the write is refused, not packed onto three nodes.
        sim.network.faults.setDown(Set(sim.nodes.suffix(3).map(\.id)))
        sim.clock.advance(byMillis: 60_000)
        try await SimulatedCluster.heartbeat(Array(sim.nodes.prefix(3)))
        await #expect(throws: ObjectError.self) { _ = try await sim.put("outage/refused", body(20_000, seed: 9), via: 0) }
        sim.network.faults.setDown([])
    }

    /// The mover on a handoff holder may run between a PUT's shard writes
    /// and its row write; finding no row naming the version, it must keep
    /// the handoff on its list. It forgot it, and the shard stayed on the
    /// handoff node for good (`test_faults.py`'s zone outage, now and then).
    @Test func aHandoffWrittenBeforeItsRowStillGoesHome() async throws {
        let sim = try await SimulatedCluster.start()
        // The PUT goes through the one node that holds no copy of the bucket's rows, so that while its row
        // writes are held no replica has the row; a zone without that node is the one that is out.
        let routing = await sim.nodes[0].routing()
        let replicas = try sim.services[0].metadata.replicas(of: sim.bucket, routing: routing).current
        let coordinator = try #require(sim.nodes.firstIndex { !replicas.contains($0.id) })
        let outZone = (coordinator / 2 + 1) % 3
        let out = Set([sim.nodes[2 * outZone].id, sim.nodes[2 * outZone + 1].id])
        let up = sim.nodes.filter { !out.contains($0.id) }
        sim.network.faults.setDown(out)
        sim.clock.advance(byMillis: 60_000)
        try await SimulatedCluster.heartbeat(up)
        let gate = Gate()
        sim.network.mergeGate.withLock { $0 = gate }
        let bytes = body(3 * 65536 + 5, seed: 91)
        let put = Task { try await sim.put("outage/in-flight", bytes, via: coordinator) }
        var polls = 0
        while gate.waiting == 0 && polls < 10_000 {
            try await Task.sleep(nanoseconds: 1_000_000)
            polls += 1
        }
        #expect(gate.waiting > 0, "the PUT reached its row write")
        for (index, service) in sim.services.enumerated() where !out.contains(sim.nodes[index].id) { await service.moveHandoffsHome() }
        sim.network.mergeGate.withLock { $0 = nil }
        gate.open()
        let version = try await put.value
        #expect(version.handoffs?.count == 2 && version.handoffs?.allSatisfy { !out.contains($0.node) } == true)

        sim.network.faults.setDown([])
        sim.clock.advance(byMillis: 1000)
        try await SimulatedCluster.heartbeat(sim.nodes)
        for service in sim.services { await service.moveHandoffsHome() }
        let after = try await sim.services[coordinator].head(bucket: sim.bucket, key: "outage/in-flight")
        #expect(after.handoffs == nil, "every handoff moved home: \(after.handoffs ?? [])")
        let report = try await sim.services[coordinator].verifyRedundancy()
        #expect(report.fullyRedundant, "\(report.problems)")
    }

    /// `rebuild verify` reads every shard on its holder: intact on a
    /// healthy cluster, and with handoffs in an outage; a deleted shard
    /// file and a flipped byte are each named, with their slot and node.
    @Test func verifyFindsMissingAndDamagedShards() async throws {
        let sim = try await SimulatedCluster.start()
        let a = try await sim.put("v/a", body(2 * 65536 + 9, seed: 1), via: 0)
        _ = try await sim.put("v/b", body(100, seed: 2), via: 1)
        let healthy = try await sim.services[3].verifyRedundancy()
        // v/b is inline (in its row, no shards).
        #expect(healthy.fullyRedundant && healthy.objects == 2 && healthy.shards == 6, "\(healthy)")

        // Slot 1's file gone, slot 2's file with a byte flipped.
        let missing = ShardKey(versionID: a.versionID, slot: 1)!, damaged = ShardKey(versionID: a.versionID, slot: 2)!
        for service in sim.services { try? service.shards.delete(missing) }
        for service in sim.services where FileManager.default.fileExists(atPath: service.shards.path(of: damaged)) {
            let handle = try #require(FileHandle(forUpdatingAtPath: service.shards.path(of: damaged)))
            try handle.seek(toOffset: UInt64(ShardFileFormat.headerBytes + 10))
            let byte = try #require(try handle.read(upToCount: 1))
            try handle.seek(toOffset: UInt64(ShardFileFormat.headerBytes + 10))
            try handle.write(contentsOf: Data([byte[0] ^ 0xFF]))
            try handle.close()
        }
        let report = try await sim.services[0].verifyRedundancy()
        #expect(!report.fullyRedundant && report.unrecoverable == 0)
        #expect(report.problems.map { "\($0.key) \($0.slot) \($0.state)" }.sorted() == ["v/a 1 missing", "v/a 2 damaged"], "\(report.problems)")
        #expect(try await sim.get("v/a", via: 4) == body(2 * 65536 + 9, seed: 1), "still readable from the other four")
    }

    /// A partition of the cluster into two halves (one zone and a half
    /// each): neither side holds k + 1 = 5 owners, so neither writes; reads
    /// of earlier objects go on where k shards are reachable; after healing,
    /// everything reads and writes again.
    @Test func aPartitionRefusesWritesOnBothSides() async throws {
        let sim = try await SimulatedCluster.start()
        let before = body(2 * 65536, seed: 31)
        _ = try await sim.put("before", before, via: 0)
        let left = Array(sim.nodes.prefix(3).map(\.id)), right = Array(sim.nodes.suffix(3).map(\.id))
        sim.network.faults.partition(left, right)
        var inlineWinners: [Int] = []
        for via in [0, 5] {
            await #expect(throws: ObjectError.self) { _ = try await sim.put("during", body(20_000, seed: via), via: via) }
            // An inline object needs only a metadata majority, which one side at most has.
            if (try? await sim.put("during-inline", body(1000, seed: via), via: via)) != nil { inlineWinners.append(via) }
        }
        #expect(inlineWinners.count <= 1)
        sim.network.faults.heal()
        await #expect(throws: ObjectError.noSuchKey) { _ = try await sim.get("during", via: 2) }
        if let winner = inlineWinners.first { #expect(try await sim.get("during-inline", via: 2) == body(1000, seed: winner)) }
        #expect(try await sim.get("before", via: 4) == before)
        let after = body(65536, seed: 32)
        _ = try await sim.put("after", after, via: 5)
        #expect(try await sim.get("after", via: 0) == after)
    }

    /// A coordinator whose clock is an hour behind still wins over the
    /// version it replaces (its stamp is set above the row it read), and
    /// one an hour ahead does not freeze the key: the next write from a
    /// correct clock replaces it.
    @Test func skewedClocksNeverLoseAnOverwrite() async throws {
        let sim = try await SimulatedCluster.start(skewMillis: [1: -3_600_000, 2: 3_600_000])
        let bodies = (0..<4).map { body(5000 + $0, seed: 40 + $0) }
        _ = try await sim.put("k", bodies[0], via: 0)
        _ = try await sim.put("k", bodies[1], via: 1)  // an hour behind
        #expect(try await sim.get("k", via: 3) == bodies[1])
        _ = try await sim.put("k", bodies[2], via: 2)  // an hour ahead
        #expect(try await sim.get("k", via: 4) == bodies[2])
        _ = try await sim.put("k", bodies[3], via: 0)  // correct, after the one ahead
        #expect(try await sim.get("k", via: 5) == bodies[3])
    }

    /// One owner that stops taking chunks: the PUT completes without it
    /// after the slow-write deadline, and the object reads back.
    @Test func aSlowOwnerDoesNotHoldThePut() async throws {
        let sim = try await SimulatedCluster.start(slowShardTimeoutMillis: 100)
        sim.network.faults.setSlow([sim.nodes[4].id])
        let bytes = body(2 * 65536, seed: 9)
        let put = Task { try await sim.put("slow", bytes, via: 0) }
        // The deadline runs on the simulated clock: wait for the fan-out to sleep on it, then move it past.
        while sim.clock.sleeperCount == 0 { try await Task.sleep(for: .milliseconds(1)) }
        sim.clock.advance(byMillis: 100)
        let version = try await put.value
        #expect(version.storedSlots.count == 5)
        #expect(sim.shardFiles(of: version.versionID) == 5)
        #expect(try await sim.get("slow", via: 1) == bytes)
        sim.network.faults.setSlow([])
        sim.network.slowGate.open()
    }

    /// A PUT acknowledged without its slow owner's shard is made whole in the
    /// background: not before the first pause, retried while the owner stays
    /// away, then written to the owner and named by the row, so verify finds
    /// nothing "not written" and the object reads with any two nodes down.
    @Test func aShortWriteIsCompletedInTheBackground() async throws {
        let sim = try await SimulatedCluster.start(slowShardTimeoutMillis: 100)
        let coordinator = sim.services[0]
        let bytes = body(3 * 65536 + 99, seed: 12)
        let version = try await sim.pastASlowOwner(4) { try await sim.put("short", bytes, via: 0) }
        #expect(version.storedSlots.count == 5)
        #expect(coordinator.shortWrites.count == 1)
        let before = try await coordinator.verifyRedundancy()
        #expect(before.problems.map(\.state) == ["not written"])

        let rebuilder = coordinator.bodyRebuilder()
        #expect(await coordinator.healShortWrites(with: rebuilder) == ShortWritePass(), "nothing is due before the first pause")
        // The owner away at the first attempt: put back, not dropped.
        sim.network.faults.setDown([sim.nodes[4].id])
        sim.clock.advance(byMillis: ShortWriteQueue.firstPauseMillis)
        #expect(await coordinator.healShortWrites(with: rebuilder) == ShortWritePass(retried: 1))
        #expect(coordinator.shortWrites.count == 1)
        sim.network.faults.setDown([])
        try await SimulatedCluster.heartbeat(sim.nodes)
        sim.clock.advance(byMillis: 2 * ShortWriteQueue.firstPauseMillis)
        #expect(await coordinator.healShortWrites(with: rebuilder) == ShortWritePass(healed: 1))
        #expect(coordinator.shortWrites.count == 0)

        let healed = try await sim.services[3].head(bucket: sim.bucket, key: "short")
        #expect(healed.versionID == version.versionID)
        #expect(healed.storedSlots == [0, 1, 2, 3, 4, 5])
        #expect(sim.shardFiles(of: version.versionID) == 6)
        #expect(try await coordinator.verifyRedundancy().problems.isEmpty)
        sim.network.faults.setDown([sim.nodes[0].id, sim.nodes[1].id])
        #expect(try await sim.get("short", via: 4) == bytes)
    }

    /// A part written short and its upload completed before the heal's turn:
    /// the part's body is queued by its part row and again by the object's
    /// row, and the object's row ends naming every slot of the part.
    @Test func aShortPartIsCompletedUnderTheObjectItBecame() async throws {
        let sim = try await SimulatedCluster.start(slowShardTimeoutMillis: 100)
        let coordinator = sim.services[0]
        let settings = ObjectService.UploadSettings(contentType: nil, userMetadata: [:], contentHeaders: nil, checksumAlgorithm: nil, checksumType: nil)
        let created = try await coordinator.createUpload(bucket: sim.bucket, key: "parts", settings: settings)
        let bytes = body(2 * 65536 + 17, seed: 15)
        let request = ObjectService.PartRequest(bucket: sim.bucket, key: "parts", uploadID: created.uploadID, partNumber: 1,
                                                body: BodyExpectations(contentLength: bytes.count, md5: nil, sha256: nil))
        let part = try await sim.pastASlowOwner(3) {
            try await coordinator.uploadPart(request, body: AsyncStream { $0.yield(ByteBuffer(bytes: bytes)); $0.finish() })
        }
        #expect(part.data.storedSlots.count == 5)
        _ = try await coordinator.completeUpload(bucket: sim.bucket, key: "parts", uploadID: created.uploadID,
                                                 parts: [MultipartUpload.ChosenPart(number: 1, etag: part.etag)])
        #expect(coordinator.shortWrites.count == 2)
        sim.clock.advance(byMillis: ShortWriteQueue.firstPauseMillis)
        try await SimulatedCluster.heartbeat(sim.nodes)
        let pass = await coordinator.healShortWrites(with: coordinator.bodyRebuilder())
        #expect(pass.healed >= 1 && pass.healed + pass.settled == 2, "\(pass)")
        let object = try await sim.services[2].head(bucket: sim.bucket, key: "parts")
        #expect(object.parts?.map(\.data.storedSlots) == [[0, 1, 2, 3, 4, 5]])
        #expect(try await coordinator.verifyRedundancy().problems.isEmpty)
        #expect(try await sim.get("parts", via: 5) == bytes)
    }

    /// A short body overwritten before its turn is settled, not rebuilt: the
    /// queue forgets it and writes nothing.
    @Test func aShortWriteOverwrittenMeanwhileIsOnlyForgotten() async throws {
        let sim = try await SimulatedCluster.start(slowShardTimeoutMillis: 100)
        let coordinator = sim.services[0]
        let first = try await sim.pastASlowOwner(2) { [self] in try await sim.put("gone", body(65536 + 5, seed: 13), via: 0) }
        let second = body(65536 + 6, seed: 14)
        _ = try await sim.put("gone", second, via: 1)
        sim.clock.advance(byMillis: ShortWriteQueue.firstPauseMillis)
        try await SimulatedCluster.heartbeat(sim.nodes)
        #expect(await coordinator.healShortWrites(with: coordinator.bodyRebuilder()) == ShortWritePass(settled: 1))
        #expect(sim.shardFiles(of: first.versionID) <= 5, "the replaced body was not completed")
        #expect(try await sim.get("gone", via: 0) == second)
    }

    /// Two writers overwrite one key while a reader reads it: every read is
    /// one of the written bodies, whole.
    @Test func concurrentWritersAndAReaderSeeWholeVersions() async throws {
        let sim = try await SimulatedCluster.start()
        let bodies = (0..<4).map { body(65536 + 700 * $0, seed: 100 + $0) }
        _ = try await sim.put("hot", bodies[0], via: 0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<2 {
                group.addTask {
                    for round in 0..<4 { _ = try await sim.put("hot", bodies[(writer + round) % 4], via: writer * 3) }
                }
            }
            group.addTask {
                for _ in 0..<12 {
                    let read = try await sim.get("hot", via: 5)
                    #expect(bodies.contains(read), "a read returned \(read.count) bytes that no writer wrote")
                }
            }
            try await group.waitForAll()
        }
        let final = try await sim.get("hot", via: 2)
        #expect(bodies.contains(final))
    }

    /// A seeded random schedule of PUT, GET and DELETE through random nodes
    /// while up to two random nodes are down. After every step each read
    /// returns the last acknowledged body of its key, whole, and a key whose
    /// last acknowledged operation was a DELETE (or that was never written)
    /// is absent; a failed PUT is never visible. The seed is printed with
    /// every failure; SHALE_SIM_SEED reruns one.
    @Test func randomScheduleReadsEveryAcknowledgedWrite() async throws {
        let seed = ProcessInfo.processInfo.environment["SHALE_SIM_SEED"].flatMap(UInt64.init) ?? 0xC1_0517
        var random = SplitMix64(seed: seed)
        let sim = try await SimulatedCluster.start()
        let keys = ["p/1", "p/2", "q", "r/s/t"]
        var expected: [String: [UInt8]?] = [:]
        var counts = (acknowledged: 0, refused: 0, readsChecked: 0)
        for step in 0..<300 {
            if random.next() % 8 == 0 {
                let count = Int(random.next() % 3)
                sim.network.faults.setDown(Set((0..<count).map { _ in sim.nodes[Int(random.next() % 6)].id }))
            }
            let key = keys[Int(random.next() % UInt64(keys.count))]
            let via = Int(random.next() % 6)
            switch random.next() % 4 {
            case 0, 1:
                let size = Int(random.next() % UInt64(3 * 65536))
                let bytes = body(size, seed: Int(random.next() % 1000))
                if (try? await sim.put(key, bytes, via: via)) != nil {
                    expected[key] = .some(bytes)
                    counts.acknowledged += 1
                } else {
                    counts.refused += 1
                }
            case 2:
                if (try? await sim.services[via].delete(bucket: sim.bucket, key: key)) != nil { expected[key] = .some(nil) }
            default:
                do {
                    let read = try await sim.get(key, via: via)
                    counts.readsChecked += 1
                    #expect(expected[key] == .some(read), "seed \(seed) step \(step): \(key) read \(read.count) bytes, not the last acknowledged body")
                } catch ObjectError.noSuchKey {
                    counts.readsChecked += 1
                    #expect((expected[key] ?? nil) == nil, "seed \(seed) step \(step): \(key) is missing but was written")
                } catch {
                    // Unavailable with nodes down is an honest answer; what was read must never be wrong.
                }
            }
        }
        print("simulated cluster schedule: seed \(seed), \(counts.acknowledged) PUTs acknowledged, \(counts.refused) refused, \(counts.readsChecked) reads checked")
        #expect(counts.acknowledged > 30 && counts.refused > 0 && counts.readsChecked > 30)
        sim.network.faults.setDown([])
        for key in keys {
            if let bytes = expected[key] ?? nil {
                #expect(try await sim.get(key, via: 0) == bytes, "seed \(seed): final read of \(key)")
            } else {
                await #expect(throws: ObjectError.noSuchKey) { _ = try await sim.get(key, via: 0) }
            }
        }
    }
}
