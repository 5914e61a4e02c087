import ClusterModel
import Metrics
import Placement

/// Object tagging: the tags are a field of the object's row, edited in place.
extension ObjectService {
    /// Replaces the tags of the key's current object (nil removes them) and
    /// returns the edited version. A compare-and-set at the key's metadata
    /// quorum, so the edit applies to the object the quorum holds; stamped
    /// just above that row, so a PUT that replaced it meanwhile (and so read
    /// it, and is stamped higher) is never undone by the edit of the old one.
    public func setTags(bucket: BucketID, key: String, tags: [ObjectTag]?) async throws(ObjectError) -> ObjectVersion {
        let routing = await node.routing()
        let result = try await metadata.compareAndSet(table: bucket.hex, bucket: bucket, key: key, routing: routing,
                                                      ballot: { self.stamp(replacing: $0) }, keepDecidedStamp: true) { current throws(ObjectError) in
            guard let current, var version = current.version else { throw .noSuchKey }
            version.tags = tags?.isEmpty == true ? nil : tags
            var edited = current
            edited.version = version
            edited.format = ObjectRecord.currentFormat
            edited.stamp = current.stamp.justAbove
            return edited
        }
        Counter(label: "shale_object_tagging_writes_total").increment()
        guard let version = result.written.version else { throw .internalError("a tagging edit wrote no version") }
        return version
    }
}
