import Checksums
import ClusterModel
import Erasure
import NIOCore
import Placement
import Units

/// What the S3 API needs of the data path. `ObjectService` is the
/// cluster's; tests use an in-memory one, so the S3 layer is tested
/// without nodes or sockets.
public protocol ObjectStore: Sendable {
    func put<Body: AsyncSequence>(_ request: ObjectService.PutRequest, body: Body) async throws(ObjectError) -> ObjectVersion
        where Body.Element == ByteBuffer
    /// The version `versionID` names ("null" included), or the key's latest when nil.
    func head(bucket: BucketID, key: String, versionID: String?) async throws(ObjectError) -> ObjectVersion
    /// Checked before an answer's headers go out: the version can be read now.
    func planRead(_ version: ObjectVersion, bucket: BucketID, key: String) async throws(ObjectError) -> ObjectService.ReadPlan
    func read(_ plan: ObjectService.ReadPlan, range: Range<UInt64>, emit: (ByteBuffer) async throws -> Void) async throws(ObjectError)
    func delete(bucket: BucketID, key: String, versionID: String?) async throws(ObjectError) -> ObjectService.DeleteOutcome
    /// Replaces a version's tags (the latest's when `versionID` is nil; nil tags: removes them); returns the edited version.
    func setTags(bucket: BucketID, key: String, versionID: String?, tags: [ObjectTag]?) async throws(ObjectError) -> ObjectVersion
    func list(bucket: BucketID, prefix: String, delimiter: String?, after cursor: String?, maxKeys: Int) async throws(ObjectError)
        -> ObjectService.Listing
    /// ListObjectVersions: every version and delete marker in (key, newest first) order.
    func listVersions(bucket: BucketID, prefix: String, delimiter: String?, keyMarker: String?, versionIDMarker: String?,
                      maxKeys: Int) async throws(ObjectError) -> ObjectService.VersionListing
    /// The bucket's versioning state (nil: never set).
    func versioning(of bucket: BucketID) async -> VersioningState?
    func isEmpty(bucket: BucketID) async throws(ObjectError) -> Bool
    /// For DeleteBucket: whether the bucket holds no object; when it holds
    /// none, its multipart uploads in progress are aborted (their parts
    /// collected), as AWS deletes a bucket with uploads in progress.
    func emptyForDeletion(bucket: BucketID) async throws(ObjectError) -> Bool

    // Multipart uploads
    func createUpload(bucket: BucketID, key: String, settings: ObjectService.UploadSettings) async throws(ObjectError) -> MultipartUpload
    func uploadPart<Body: AsyncSequence>(_ request: ObjectService.PartRequest, body: Body) async throws(ObjectError) -> ObjectPart
        where Body.Element == ByteBuffer
    func completeUpload(bucket: BucketID, key: String, uploadID: String, parts: [MultipartUpload.ChosenPart],
                        sentChecksums: [Int: ObjectChecksum], expectedSize: UInt64?, condition: WriteCondition?) async throws(ObjectError) -> ObjectVersion
    func abortUpload(bucket: BucketID, key: String, uploadID: String) async throws(ObjectError)
    func listParts(bucket: BucketID, key: String, uploadID: String, after marker: Int, maxParts: Int) async throws(ObjectError)
        -> (upload: MultipartUpload, parts: [ObjectPart], truncated: Bool)
    func listUploads(bucket: BucketID, prefix: String, delimiter: String?, keyMarker: String?, uploadIDMarker: String?,
                     maxUploads: Int) async throws(ObjectError) -> ObjectService.UploadListing
}

/// What the S3 API needs of the cluster: its replicated state, the time,
/// and the bucket changes S3 can make. `ClusterNode` is the real one.
public protocol ClusterControl: Sendable {
    var state: ClusterState { get async }
    var wallClock: any WallClock { get }
    func createBucket(name: String) async throws(NodeError) -> BucketRecord
    func setPermissions(bucket: String, key: String, permissions: Set<Permission>, allowed: Bool) async throws(NodeError)
    func deleteBucket(name: String, isEmpty: @Sendable (BucketRecord) async throws(NodeError) -> Bool) async throws(NodeError)
    /// Sets (nil: removes) one of a bucket's configurations (tags, CORS rules).
    func setBucketConfig(_ config: BucketConfig?, kind: BucketConfig.Kind, bucket: String) async throws(NodeError)
}

/// What the admin API needs of the node: everything `ClusterControl` has,
/// plus the node's identity and configuration, its views, and the guide's
/// commands (layout, keys, `node connect`). `ClusterNode` is the real one.
public protocol ClusterAdministration: ClusterControl {
    var id: NodeID { get }
    var config: NodeConfig { get }
    func nodeViews() async -> [ClusterNode.NodeView]
    func health() async -> (ready: Bool, reason: String?, reachable: Int, total: Int)
    func connect(_ text: String) async throws(NodeError) -> Peer
    func layoutAssign(nodes: [String], role: NodeRole, replace: String?) async throws(NodeError)
    func layoutRemove(nodes: [String]) async throws(NodeError)
    func layoutConfig(code: ErasureCode?, zoneCap: Int?) async throws(NodeError)
    func layoutApply(version: LayoutVersion) async throws(NodeError) -> Layout
    func layoutRevert() async throws(NodeError)
    func createKey(name: String) async throws(NodeError) -> AccessKeyRecord
    func importKey(id: String, secret: String, name: String) async throws(NodeError) -> AccessKeyRecord
    func deleteKey(matching text: String) async throws(NodeError) -> AccessKeyRecord
    func createAdminToken(name: String, scope: [String], expiresInSeconds: UInt64?) async throws(NodeError) -> (AdminTokenRecord, String)
    func revokeAdminToken(matching text: String) async throws(NodeError) -> AdminTokenRecord
}

extension ObjectStore {
    /// The key's latest version.
    public func head(bucket: BucketID, key: String) async throws(ObjectError) -> ObjectVersion {
        try await head(bucket: bucket, key: key, versionID: nil)
    }

    /// DELETE of the key without a version id.
    public func delete(bucket: BucketID, key: String) async throws(ObjectError) {
        _ = try await delete(bucket: bucket, key: key, versionID: nil)
    }

    public func setTags(bucket: BucketID, key: String, tags: [ObjectTag]?) async throws(ObjectError) -> ObjectVersion {
        try await setTags(bucket: bucket, key: key, versionID: nil, tags: tags)
    }
}

extension ObjectService: ObjectStore {}
extension ClusterNode: ClusterAdministration {}
