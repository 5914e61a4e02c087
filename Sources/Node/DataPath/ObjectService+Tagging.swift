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
    public func setTags(bucket: BucketID, key: String, versionID: String?, tags: [ObjectTag]?) async throws(ObjectError) -> ObjectVersion {
        let routing = await node.routing()
        // The row edited: the version named, or the key's latest (in a versioned bucket, in either table).
        let row = try await resolve(bucket: bucket, key: key, versionID: versionID, routing: routing).record
        let result = try await metadata.compareAndSet(table: row.bucketID, bucket: bucket, key: row.key, routing: routing,
                                                      ballot: { self.stamp(replacing: $0) }, keepDecidedStamp: true) { current throws(ObjectError) in
            guard let current, var version = current.version else { throw versionID == nil ? .noSuchKey : .noSuchVersion }
            version.tags = tags?.isEmpty == true ? nil : tags
            var edited = current
            edited.version = version
            edited.format = ObjectRecord.currentFormat
            edited.stamp = current.stamp.justAbove
            return edited
        }
        Counter(label: "shale_object_tagging_writes_total").increment()
        guard var version = result.written.version else { throw .internalError("a tagging edit wrote no version") }
        if version.s3VersionID == nil, await versioning(of: bucket) != nil { version.s3VersionID = S3VersionID.null }
        return version
    }
}
