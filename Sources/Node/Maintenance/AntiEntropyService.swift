import ClusterModel
import Foundation
import Logging
import Metrics
import Placement
import ServiceLifecycle
import Storage
import Units

/// Periodic anti-entropy among metadata replicas: for every bucket this
/// node replicates, compare a digest of (key, stamp) rows with each other
/// replica (of every applied layout, so rows reach a new replica after a
/// layout change); where they differ, pull that replica's rows and merge
/// them (last writer wins). Each replica pulls, so all converge. The same
/// round then collects stray shards on this node.
public struct AntiEntropyService: Service {
    let objects: ObjectService

    public init(objects: ObjectService) { self.objects = objects }

    public func run() async throws {
        let interval = objects.node.config.antiEntropyIntervalSeconds
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await objects.node.wallClock.sleep(millis: UInt64(interval) * 1000) }
            guard !Task.isShuttingDownGracefully && !Task.isCancelled else { return }
            await objects.antiEntropyRound()
            await objects.collectStrays()
            await objects.moveHandoffsHome()
        }
    }
}

extension ObjectService {
    func antiEntropyRound() async {
        let routing = await node.routing()
        let buckets = await node.state.liveBuckets.values.map(\.bucketID)
        let antiEntropy = MetadataAntiEntropy(store: metadataStore, transport: peers, logger: logger)
        await antiEntropy.round(buckets: buckets, metadata: metadata, routing: routing)
    }
}

/// One node's anti-entropy with the other replicas of the tables it holds.
/// Needs only its store, a transport and the metadata client's choice of
/// replicas, so it runs unchanged in the simulated cluster.
struct MetadataAntiEntropy: Sendable {
    /// Rows come with inline objects' bytes: 200 rows of the largest inline
    /// object stay well under an RPC answer's limit.
    static let pageSize = 200
    let store: MetadataStore
    let transport: any PeerTransport
    let logger: Logger

    /// Reconciles every bucket this node is a current replica of with each
    /// other reachable replica (of every applied layout).
    func round(buckets: [BucketID], metadata: any ObjectTables, routing: ClusterNode.Routing) async {
        for bucket in buckets {
            guard let replicas = try? metadata.replicas(of: bucket, routing: routing), replicas.current.contains(routing.selfID) else { continue }
            for peer in replicas.all where peer != routing.selfID && routing.reachable(peer) {
                guard let address = routing.addresses[peer] else { continue }
                for table in BucketTables.names(of: bucket.hex) {
                    do { _ = try await reconcile(table: table, with: peer, at: address) } catch {
                        logger.debug("anti-entropy skipped a replica", metadata: ["node": "\(peer.shortForm)", "error": "\(error)"])
                    }
                }
            }
        }
    }

    /// Pulls `peer`'s rows of a table (a bucket's objects or its uploads)
    /// when its digest differs from ours; returns the rows merged.
    func reconcile(table: String, with peer: NodeID, at address: HostPort) async throws -> Int {
        let body = try JSONEncoder().encode(MetadataDigestMessage(bucketID: table))
        let data = try await transport.call(.metadataDigest, to: peer, at: address, body: body)
        let theirs = try JSONDecoder().decode(MetadataDigestReply.self, from: data).digest
        guard theirs != Hex.encode(try await store.digest(bucket: table)) else { return 0 }
        var after: String?
        var pulled = 0
        while true {
            let request = try JSONEncoder().encode(MetadataListMessage(bucketID: table, prefix: "", after: after, limit: Self.pageSize,
                                                                                  inlineBytes: true))
            let page = try await transport.call(.metadataList, to: peer, at: address, body: request)
            let records = try MetadataListReply.decode(page).records
            pulled += try await store.merge(records)
            guard records.count == Self.pageSize, let last = records.last else { break }
            after = last.key
        }
        if pulled > 0 {
            logger.info("anti-entropy merged rows", metadata: ["table": "\(table.prefix(16))", "from": "\(peer.shortForm)", "rows": "\(pulled)"])
            Counter(label: "shale_anti_entropy_rows_total").increment(by: pulled)
        }
        return pulled
    }
}
