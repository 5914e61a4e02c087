import ClusterModel
import Foundation
import Logging
import Metrics
import Placement
import ServiceLifecycle
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
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(interval)) }
            guard !Task.isShuttingDownGracefully && !Task.isCancelled else { return }
            await objects.antiEntropyRound()
            await objects.collectStrays()
        }
    }
}

extension ObjectService {
    func antiEntropyRound() async {
        let routing = await node.routing()
        let buckets = await node.state.liveBuckets.values
        for bucket in buckets {
            guard let replicas = try? metadata.replicas(of: bucket.bucketID, routing: routing),
                  replicas.current.contains(routing.selfID) else { continue }
            for peer in replicas.all where peer != routing.selfID && routing.reachable(peer) {
                do { try await reconcile(bucket: bucket.bucketID, with: peer, routing: routing) } catch {
                    logger.debug("anti-entropy skipped a replica", metadata: ["node": "\(peer.shortForm)", "error": "\(error)"])
                }
            }
        }
    }

    /// Pulls `peer`'s rows of `bucket` when its digest differs from ours.
    func reconcile(bucket: BucketID, with peer: NodeID, routing: ClusterNode.Routing) async throws {
        guard let address = routing.addresses[peer] else { return }
        let body = try JSONEncoder().encode(MetadataDigestMessage(bucketID: bucket.hex))
        let (data, _) = try await node.client.call(.metadataDigest, at: address, body: body, expected: peer)
        let theirs = try JSONDecoder().decode(MetadataDigestReply.self, from: data).digest
        guard theirs != Hex.encode(try await metadataStore.digest(bucket: bucket.hex)) else { return }
        var after: String?
        var pulled = 0
        while true {
            let request = try JSONEncoder().encode(MetadataListMessage(bucketID: bucket.hex, prefix: "", after: after, limit: 1000))
            let (page, _) = try await node.client.call(.metadataList, at: address, body: request, expected: peer)
            let records = try JSONDecoder().decode(MetadataListReply.self, from: page).records
            pulled += try await metadataStore.merge(records)
            guard records.count == 1000, let last = records.last else { break }
            after = last.key
        }
        if pulled > 0 {
            logger.info("anti-entropy merged rows", metadata: ["bucket": "\(bucket.hex.prefix(16))", "from": "\(peer.shortForm)", "rows": "\(pulled)"])
            Counter(label: "shale_anti_entropy_rows_total").increment(by: pulled)
        }
    }
}
