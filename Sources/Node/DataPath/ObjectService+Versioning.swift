import ClusterModel
import Foundation
import Metrics
import Placement

/// S3 versioning on the object tables. An unversioned bucket keeps one row
/// per key in its object table. Once versioning is set, a key's versions
/// written while it is Enabled are rows of the bucket's version table
/// (`VersionTable`), each under its own id, so concurrent writers each add
/// a version and none replaces another; the key's null version (written
/// before versioning, or while Suspended) stays its object-table row. The
/// key's latest is the newest of both by write order; GET, HEAD, listings
/// and copies read it, a version id addresses one row.
extension ObjectService {
    /// Where a write goes in a versioning-enabled bucket: its version row.
    struct VersionTarget: Sendable {
        let table: String
        let rowKey: String
        let id: S3VersionID
        let stamp: Stamp
        var object: ObjectName { ObjectName(bucket: table, key: rowKey) }
    }

    /// A key's rows as a versioned read sees them: its newest entry (a
    /// version or a delete marker, from either table) and the highest stamp
    /// seen, which a new write must stamp above.
    struct KeyHead: Sendable {
        var latest: ObjectRecord?
        var newestStamp: Stamp?
    }

    public func versioning(of bucket: BucketID) async -> VersioningState? {
        await node.state.bucketConfig(.versioning, of: bucket.hex)?.versioning
    }

    /// The key's newest entry: its null version (the object-table row) or
    /// the first live row of its versions, whichever was written later.
    func keyHead(bucket: BucketID, key: String, versioned: Bool, routing: ClusterNode.Routing) async throws(ObjectError) -> KeyHead {
        guard versioned else {
            let row = try await metadata.read(bucket: bucket, key: key, routing: routing)
            return KeyHead(latest: row?.isTombstone == false ? row : nil, newestStamp: row?.stamp)
        }
        async let nullRead = metadata.read(bucket: bucket, key: key, routing: routing)
        let newest = try await newestVersionRow(bucket: bucket, key: key, routing: routing)
        let null: ObjectRecord?
        do { null = try await nullRead } catch { throw (error as? ObjectError) ?? .internalError("\(error)") }
        var head = KeyHead(newestStamp: [null?.stamp, newest?.stamp].compactMap { $0 }.max())
        let liveNull = null?.isTombstone == false ? null : nil
        switch (liveNull, newest) {
        case (let null?, let version?): head.latest = Self.order(of: null) > Self.order(of: version) ? null : version
        case (let null?, nil): head.latest = null
        case (nil, let version): head.latest = version
        }
        return head
    }

    /// The first live row (version or marker) of a key's versions, newest first.
    /// One seek per replica however many of its versions were deleted (`ObjectTables.firstLive`).
    func newestVersionRow(bucket: BucketID, key: String, routing: ClusterNode.Routing) async throws(ObjectError) -> ObjectRecord? {
        try await metadata.firstLive(table: VersionTable.name(of: bucket.hex), bucket: bucket, prefix: VersionTable.prefix(of: key), routing: routing)
    }

    /// Where a row sits in its key's history: a version row by its id, a null version by its stamp.
    static func order(of record: ObjectRecord) -> VersionOrder {
        if let parsed = VersionTable.parseRowKey(record.key), VersionTable.bucketHex(ofTable: record.bucketID) != nil {
            return parsed.versionID.order
        }
        return VersionOrder(record.stamp)
    }

    /// The S3 version id a row answers with ("null" for an object-table row).
    static func s3VersionID(of record: ObjectRecord) -> String {
        record.version?.s3VersionID ?? record.marker?.s3VersionID ?? S3VersionID.null
    }

    /// Before a Suspended write of the null version: this node's clock moves
    /// past the key's newest version, so the new null version is the latest
    /// whatever the skew between the nodes' clocks.
    func observeNewestVersion(bucket: BucketID, key: String, routing: ClusterNode.Routing) async throws(ObjectError) {
        guard let newest = try await newestVersionRow(bucket: bucket, key: key, routing: routing) else { return }
        clock.withLock { $0.observe(newest.stamp) }
    }

    /// A new version's place in a versioning-enabled bucket, stamped above every row of the key.
    func versionTarget(bucket: BucketID, key: String, routing: ClusterNode.Routing) async throws(ObjectError) -> VersionTarget {
        let head = try await keyHead(bucket: bucket, key: key, versioned: true, routing: routing)
        let stamp = stamp(replacing: head.newestStamp)
        let id = S3VersionID(stamp: stamp)
        return VersionTarget(table: VersionTable.name(of: bucket.hex), rowKey: VersionTable.rowKey(key: key, versionID: id), id: id, stamp: stamp)
    }

    /// The row `versionID` names: "null" is the object-table row, any other
    /// id a version-table row; a malformed id is refused.
    func addressedRow(bucket: BucketID, key: String, versionID: String, routing: ClusterNode.Routing) async throws(ObjectError)
        -> (table: String, rowKey: String, record: ObjectRecord?)
    {
        if versionID == S3VersionID.null {
            return (bucket.hex, key, try await metadata.read(bucket: bucket, key: key, routing: routing))
        }
        guard let id = S3VersionID(versionID) else { throw .invalidVersionID }
        let table = VersionTable.name(of: bucket.hex)
        let rowKey = VersionTable.rowKey(key: key, versionID: id)
        return (table, rowKey, try await metadata.read(table: table, bucket: bucket, key: rowKey, routing: routing))
    }

    /// The row GET, HEAD, tagging and copies address: the version named,
    /// or the key's latest. A delete marker is an error that says so.
    func resolve(bucket: BucketID, key: String, versionID: String?, routing: ClusterNode.Routing) async throws(ObjectError)
        -> (record: ObjectRecord, version: ObjectVersion)
    {
        let found: ObjectRecord?
        if let versionID {
            found = try await addressedRow(bucket: bucket, key: key, versionID: versionID, routing: routing).record
        } else {
            let versioned = await versioning(of: bucket) != nil
            found = try await keyHead(bucket: bucket, key: key, versioned: versioned, routing: routing).latest
        }
        guard let record = found, !record.isTombstone else { throw versionID == nil ? .noSuchKey : .noSuchVersion }
        guard let version = record.version else {
            throw .deleteMarker(s3VersionID: Self.s3VersionID(of: record), addressed: versionID != nil)
        }
        return (record, version)
    }

    /// HEAD, GET, GetObjectAttributes, a copy's source: the version named, or the key's latest.
    public func head(bucket: BucketID, key: String, versionID: String?) async throws(ObjectError) -> ObjectVersion {
        try await resolve(bucket: bucket, key: key, versionID: versionID, routing: await node.routing()).version
    }

    // MARK: DELETE

    /// What a DELETE did, as S3 answers it.
    public struct DeleteOutcome: Sendable, Equatable {
        /// The version deleted, or the delete marker written; nil in an unversioned bucket.
        public var s3VersionID: String?
        /// A delete marker was written, or the version deleted was one.
        public var deleteMarker: Bool
        public init(s3VersionID: String?, deleteMarker: Bool) { self.s3VersionID = s3VersionID; self.deleteMarker = deleteMarker }
    }

    /// DELETE of a key: in an unversioned bucket its row becomes a
    /// tombstone; in an Enabled one a delete marker becomes its latest
    /// version; in a Suspended one the null version becomes a delete
    /// marker. With a version id, that version (or marker) is removed for
    /// good and its shards collected; deleting one that does not exist
    /// succeeds, as in S3.
    public func delete(bucket: BucketID, key: String, versionID: String?) async throws(ObjectError) -> DeleteOutcome {
        let routing = await node.routing()
        if let versionID {
            let addressed = try await addressedRow(bucket: bucket, key: key, versionID: versionID, routing: routing)
            guard let row = addressed.record, !row.isTombstone else { return DeleteOutcome(s3VersionID: versionID, deleteMarker: false) }
            let tombstone = ObjectRecord(bucketID: addressed.table, key: addressed.rowKey, stamp: stamp(replacing: row.stamp), version: nil)
            try await metadata.write(tombstone, bucket: bucket, routing: routing)
            if let old = row.version { scheduleShardDeletion(of: old, bucket: bucket, key: key) }
            Counter(label: "shale_versions_deleted_total").increment()
            return DeleteOutcome(s3VersionID: versionID, deleteMarker: row.marker != nil)
        }
        switch await versioning(of: bucket) {
        case nil:
            try await deleteUnversioned(bucket: bucket, key: key, routing: routing)
            return DeleteOutcome(s3VersionID: nil, deleteMarker: false)
        case .enabled:
            let target = try await versionTarget(bucket: bucket, key: key, routing: routing)
            let marker = ObjectRecord(table: target.table, key: target.rowKey, stamp: target.stamp,
                                      marker: DeleteMarker(lastModifiedMillis: node.wallClock.nowMillis(), s3VersionID: target.id.rawValue))
            try await metadata.write(marker, bucket: bucket, routing: routing)
            return DeleteOutcome(s3VersionID: target.id.rawValue, deleteMarker: true)
        case .suspended:
            try await observeNewestVersion(bucket: bucket, key: key, routing: routing)
            let previous = try await metadata.read(bucket: bucket, key: key, routing: routing)
            let marker = ObjectRecord(table: bucket.hex, key: key, stamp: stamp(replacing: previous?.stamp),
                                      marker: DeleteMarker(lastModifiedMillis: node.wallClock.nowMillis(), s3VersionID: nil))
            try await metadata.write(marker, bucket: bucket, routing: routing)
            if let old = previous?.version { scheduleShardDeletion(of: old, bucket: bucket, key: key) }
            return DeleteOutcome(s3VersionID: S3VersionID.null, deleteMarker: true)
        }
    }
}
