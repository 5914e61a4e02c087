import ClusterModel
import Foundation
@testable import Node
import Testing

/// Object tags on the simulated six-node cluster: an edit of the key's row
/// at its metadata quorum that leaves the bytes and shards alone, and never
/// undoes a write that replaced the row it edited.
@Suite(.serialized) struct ObjectTaggingTests {
    func body(_ size: Int, seed: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: ($0 &* 2654435761 &+ seed) >> 7) } }

    @Test func tagsAreEditedInPlaceOnInlineAndShardedObjects() async throws {
        let sim = try await SimulatedCluster.start()
        let small = body(900, seed: 1), large = body(3 * 65536 + 7, seed: 2)
        _ = try await sim.put("small", small, via: 0)
        let sharded = try await sim.put("large", large, via: 0)
        let tags = [ObjectTag(key: "team", value: "data"), ObjectTag(key: "tier", value: "gold")]
        for key in ["small", "large"] {
            let edited = try await sim.services[1].setTags(bucket: sim.bucket, key: key, tags: tags)
            #expect(edited.tags == tags)
            for i in 0..<6 { #expect(try await sim.services[i].head(bucket: sim.bucket, key: key).tags == tags, "\(key) via node \(i)") }
        }
        #expect(try await sim.get("small", via: 4) == small)
        #expect(try await sim.get("large", via: 5) == large)
        #expect(sim.shardFiles(of: sharded.versionID) == 6, "tagging neither rewrites nor collects the shards")
        #expect(try await sim.services[2].head(bucket: sim.bucket, key: "large").versionID == sharded.versionID)

        _ = try await sim.services[3].setTags(bucket: sim.bucket, key: "large", tags: nil)
        #expect(try await sim.services[0].head(bucket: sim.bucket, key: "large").tags == nil)
        await #expect(throws: ObjectError.noSuchKey) { try await sim.services[0].setTags(bucket: sim.bucket, key: "absent", tags: tags) }
        // A new PUT is a new object: the old one's tags do not carry over.
        _ = try await sim.put("small", body(10, seed: 3), via: 2)
        #expect(try await sim.services[5].head(bucket: sim.bucket, key: "small").tags == nil)
    }

    /// The edit is stamped just above the row it edits, not with its ballot:
    /// a PUT that had read the same row (and so is stamped above it) lands
    /// after the edit and still wins. Stamped with the ballot, the edit of
    /// the old object would undo the acknowledged PUT.
    @Test func aTaggingEditNeverUndoesAWriteThatReplacedItsRow() async throws {
        let sim = try await SimulatedCluster.start()
        let first = try await sim.put("k", body(500, seed: 1), via: 0)
        let routing = await sim.nodes[2].routing()
        let read = try #require(try await sim.services[2].metadata.read(bucket: sim.bucket, key: "k", routing: routing))
        #expect(read.version?.versionID == first.versionID)
        // A PUT on node 2 that read that row, written only after the tagging edit below.
        var replacement = first
        replacement.versionID = ObjectService.newVersionID()
        replacement.inlineData = Data(body(500, seed: 2))
        let put = ObjectRecord(bucketID: sim.bucket.hex, key: "k", stamp: sim.services[2].stamp(replacing: read.stamp), version: replacement)

        _ = try await sim.services[1].setTags(bucket: sim.bucket, key: "k", tags: [ObjectTag(key: "a", value: "1")])
        try await sim.services[2].metadata.write(put, bucket: sim.bucket, routing: routing)

        for i in 0..<6 {
            let current = try await sim.services[i].head(bucket: sim.bucket, key: "k")
            #expect(current.versionID == replacement.versionID && current.tags == nil, "node \(i)")
        }
        #expect(try await sim.get("k", via: 3) == body(500, seed: 2))
    }
}
