import ClusterModel
import Foundation
import Logging
import Placement
import Storage
import Units

extension ObjectService {
    // MARK: DELETE

    /// An unversioned bucket's DELETE: writes a tombstone (quorum); the shards go in the background.
    func deleteUnversioned(bucket: BucketID, key: String, routing: ClusterNode.Routing) async throws(ObjectError) {
        let previous = try await metadata.read(bucket: bucket, key: key, routing: routing)
        guard let previous, let old = previous.version else { return }
        let tombstone = ObjectRecord(bucketID: bucket.hex, key: key, stamp: stamp(replacing: previous.stamp), version: nil)
        try await metadata.write(tombstone, bucket: bucket, routing: routing)
        scheduleShardDeletion(of: old, bucket: bucket, key: key)
    }

    /// Removes a replaced or deleted version's shards after the configured
    /// delay, so a GET already streaming that version finishes whole.
    func scheduleShardDeletion(of version: ObjectVersion, bucket: BucketID, key: String) {
        scheduleShardDeletion(of: version.bodies, bucket: bucket, key: key)
    }

    /// Removes bodies' shards (a version's, or replaced and abandoned parts') after the delay.
    func scheduleShardDeletion(of bodies: [StoredBody], bucket: BucketID, key: String) {
        guard !bodies.isEmpty else { return }
        let delay = node.config.shardDeletionDelaySeconds
        Task {
            if delay > 0 { try? await node.wallClock.sleep(millis: UInt64(delay) * 1000) }
            let routing = await node.routing()
            for body in bodies {
                guard let owners = try? routing.owners(of: body, bucket: bucket, key: key) else { continue }
                await deleteShards(versionID: body.versionID, slots: body.storedSlots, owners: owners, routing: routing)
            }
        }
    }

    /// Removes shards of a version from their owners (best effort: an owner
    /// that is down keeps its stray shard until it is collected).
    func deleteShards(versionID: String, slots: [Int], owners: [NodeID], routing: ClusterNode.Routing) async {
        var byNode: [NodeID: [Int]] = [:]
        for slot in slots where slot < owners.count { byNode[owners[slot], default: []].append(slot) }
        await withTaskGroup(of: Void.self) { group in
            for (owner, slots) in byNode {
                group.addTask {
                    do throws(NodeError) {
                        if owner == routing.selfID {
                            try await self.access.deleteLocal(ShardDeleteMessage(versionID: versionID, slots: slots))
                        } else if let address = routing.addresses[owner] {
                            let body = (try? JSONEncoder().encode(ShardDeleteMessage(versionID: versionID, slots: slots))) ?? Data()
                            _ = try await self.peers.call(.shardDelete, to: owner, at: address, body: body)
                        }
                    } catch {
                        self.logger.info("shard deletion deferred", metadata: ["version": "\(versionID)", "node": "\(owner.shortForm)", "error": "\(error)"])
                    }
                }
            }
        }
    }

    // MARK: Serving other nodes

    func answerShardDelete(_ body: Data) async throws(NodeError) -> Data {
        try await answerJSON(body, as: ShardDeleteMessage.self) { message in
            try await self.access.deleteLocal(message)
            return EmptyReply()
        }
    }
}
