import Checksums
import ClusterModel
import Crypto
import Foundation
import NIOCore
import Node
import Placement
import Units

/// The cluster side of the S3 API in memory: a replicated state of one.
final class MemoryCluster: ClusterControl, @unchecked Sendable {
    private let lock = NSLock()
    private var current = ClusterState()
    private var counter: UInt32 = 0
    let clock = ManualClock(millis: 1_900_000_000_000)

    var state: ClusterState { get async { lock.withLock { current } } }
    var wallClock: any WallClock { clock }

    private func change<T>(_ body: (inout ClusterState, Stamp) throws(ClusterError) -> T) throws(NodeError) -> T {
        lock.lock()
        defer { lock.unlock() }
        counter += 1
        var next = current
        do {
            let result = try body(&next, Stamp(millis: clock.nowMillis(), counter: counter, node: "memory"))
            current = next
            return result
        } catch { throw .cluster(error) }
    }

    func createBucket(name: String) async throws(NodeError) -> BucketRecord {
        let id = BucketID(bytes: randomBytes(BucketID.byteCount))!
        let now = clock.nowMillis()
        return try change { (state: inout ClusterState, stamp: Stamp) throws(ClusterError) in
            try state.createBucket(name: name, id: id, createdMillis: now, stamp: stamp)
        }
    }

    func setPermissions(bucket: String, key: String, permissions: Set<Permission>, allowed: Bool) async throws(NodeError) {
        try change { (state: inout ClusterState, stamp: Stamp) throws(ClusterError) in
            let record = try state.bucket(named: bucket)
            let keyRecord = try state.key(matching: key)
            try state.setPermissions(permissions, allowed: allowed, key: keyRecord.id, bucketID: record.id, stamp: stamp)
        }
    }

    func deleteBucket(name: String, isEmpty: @Sendable (BucketRecord) async throws(NodeError) -> Bool) async throws(NodeError) {
        let record: BucketRecord
        do { record = try await state.bucket(named: name) } catch { throw .cluster(error) }
        guard try await isEmpty(record) else { throw .cluster(.bucketNotEmpty(name)) }
        try change { (state: inout ClusterState, stamp: Stamp) throws(ClusterError) in try state.deleteBucket(name: name, stamp: stamp) }
    }

    func setBucketConfig(_ config: BucketConfig?, kind: BucketConfig.Kind, bucket: String) async throws(NodeError) {
        try change { (state: inout ClusterState, stamp: Stamp) throws(ClusterError) in
            try state.setBucketConfig(config, kind: kind, bucket: bucket, stamp: stamp)
        }
    }

    func addKey(name: String) throws -> AccessKeyRecord {
        let record = AccessKeyRecord(id: AccessKeyID(randomBytes: randomBytes(AccessKeyID.hexDigits / 2)), name: name,
                                     secret: SecretKey(randomBytes: randomBytes(SecretKey.hexDigits / 2)), createdMillis: clock.nowMillis())
        try change { (state: inout ClusterState, stamp: Stamp) throws(ClusterError) in try state.addKey(record, stamp: stamp) }
        return record
    }
}

/// The data path in memory: whole bodies in a dictionary, with the same
/// checks of length and digests as the real pipeline.
final class MemoryObjectStore: ObjectStore, @unchecked Sendable {
    private let lock = NSLock()
    private var objects: [String: [String: (version: ObjectVersion, bytes: [UInt8])]] = [:]
    let clock: ManualClock

    init(clock: ManualClock) { self.clock = clock }

    var count: Int { lock.withLock { objects.values.map(\.count).reduce(0, +) } }

    func put<Body: AsyncSequence>(_ request: ObjectService.PutRequest, body: Body) async throws(ObjectError) -> ObjectVersion
        where Body.Element == ByteBuffer
    {
        var bytes: [UInt8] = []
        do { for try await piece in body { bytes += piece.readableBytesView } } catch { throw .incompleteBody(expected: request.contentLength, received: bytes.count) }
        guard bytes.count == request.contentLength else { throw .incompleteBody(expected: request.contentLength, received: bytes.count) }
        let md5 = Array(Insecure.MD5.hash(data: bytes))
        if let expected = request.expectedMD5, expected != md5 { throw .badDigest }
        var checksum: ObjectChecksum?
        if let algorithm = request.checksumAlgorithm {
            let digest = ChecksumHasher.digest(algorithm, of: bytes)
            if let expected = request.expectedChecksum, expected != digest { throw .checksumMismatch(algorithm) }
            checksum = ObjectChecksum(algorithm: algorithm, digest: digest)
        }
        var version = ObjectVersion(versionID: Hex.encode(randomBytes(16)), size: UInt64(bytes.count), etag: Hex.encode(md5),
                                    contentType: request.contentType, userMetadata: request.userMetadata, lastModifiedMillis: clock.nowMillis(),
                                    dataShards: 4, parityShards: 2, blockSizeBytes: 1 << 20, layoutVersion: LayoutVersion(1), storedSlots: [],
                                    checksum: checksum, contentHeaders: request.contentHeaders)
        version.tags = request.tags
        if let key = request.customerKey {
            // As the real store: ciphertext kept, a keyed ETag.
            let encryption = key.newEncryption()
            version.encryption = encryption
            version.etag = key.etag(md5: md5)
            bytes = try key.cipher(for: encryption).apply(bytes, at: 0)
        }
        let refusal: ObjectError? = lock.withLock {
            if let condition = request.condition {
                do throws(ObjectError) { try condition.check(objects[request.bucket.hex]?[request.key]?.version) } catch { return error }
            }
            objects[request.bucket.hex, default: [:]][request.key] = (version, bytes)
            return nil
        }
        if let refusal { throw refusal }
        return version
    }

    /// Unversioned: the one version of a key is its "null" version.
    func head(bucket: BucketID, key: String, versionID: String?) async throws(ObjectError) -> ObjectVersion {
        if let versionID, versionID != "null" { throw .noSuchVersion }
        guard let found = lock.withLock({ objects[bucket.hex]?[key] }) else { throw .noSuchKey }
        return found.version
    }

    func planRead(_ version: ObjectVersion, bucket: BucketID, key: String) async throws(ObjectError) -> ObjectService.ReadPlan {
        ObjectService.ReadPlan(version: version, bucket: bucket, key: key)
    }

    func read(_ plan: ObjectService.ReadPlan, range: Range<UInt64>, emit: (ByteBuffer) async throws -> Void) async throws(ObjectError) {
        guard let found = lock.withLock({ objects[plan.bucket.hex]?[plan.key] }), found.version == plan.version else { throw .noSuchKey }
        do { try await emit(ByteBuffer(bytes: found.bytes[Int(range.lowerBound)..<Int(range.upperBound)])) } catch {
            throw .internalError("client went away")
        }
    }

    func delete(bucket: BucketID, key: String, versionID: String?) async throws(ObjectError) -> ObjectService.DeleteOutcome {
        if let versionID, versionID != "null" { return ObjectService.DeleteOutcome(s3VersionID: versionID, deleteMarker: false) }
        lock.withLock { _ = objects[bucket.hex]?.removeValue(forKey: key) }
        return ObjectService.DeleteOutcome(s3VersionID: versionID, deleteMarker: false)
    }

    func versioning(of bucket: BucketID) async -> VersioningState? { nil }

    func listVersions(bucket: BucketID, prefix: String, delimiter: String?, keyMarker: String?, versionIDMarker: String?,
                      maxKeys: Int) async throws(ObjectError) -> ObjectService.VersionListing {
        let listing = try await list(bucket: bucket, prefix: prefix, delimiter: delimiter, after: keyMarker, maxKeys: maxKeys)
        var versions = ObjectService.VersionListing()
        versions.entries = listing.objects.map {
            .init(key: $0.key, s3VersionID: "null", isLatest: true, version: $0.version, lastModifiedMillis: $0.version.lastModifiedMillis)
        }
        versions.commonPrefixes = listing.commonPrefixes
        versions.isTruncated = listing.isTruncated
        versions.nextKeyMarker = listing.nextCursor
        return versions
    }

    func setTags(bucket: BucketID, key: String, versionID: String?, tags: [ObjectTag]?) async throws(ObjectError) -> ObjectVersion {
        if let versionID, versionID != "null" { throw .noSuchVersion }
        let edited: ObjectVersion? = lock.withLock {
            guard var found = objects[bucket.hex]?[key] else { return nil }
            found.version.tags = tags?.isEmpty == true ? nil : tags
            objects[bucket.hex]?[key] = found
            return found.version
        }
        guard let edited else { throw .noSuchKey }
        return edited
    }

    func list(bucket: BucketID, prefix: String, delimiter: String?, after cursor: String?, maxKeys: Int) async throws(ObjectError)
        -> ObjectService.Listing
    {
        let all = lock.withLock { objects[bucket.hex] ?? [:] }
        var listing = ObjectService.Listing()
        for key in all.keys.sorted() where key.hasPrefix(prefix) && key > (cursor ?? "") {
            var entry = key
            if let delimiter, let range = key.dropFirst(prefix.count).firstRange(of: delimiter) {
                entry = String(key[..<range.upperBound])
                if listing.commonPrefixes.last == entry || (cursor.map { entry <= $0 } ?? false) { continue }
            }
            if listing.objects.count + listing.commonPrefixes.count == maxKeys {
                listing.isTruncated = true
                break
            }
            if entry == key { listing.objects.append((key, all[key]!.version)) } else { listing.commonPrefixes.append(entry) }
            listing.nextCursor = entry
        }
        return listing
    }

    func isEmpty(bucket: BucketID) async throws(ObjectError) -> Bool { lock.withLock { objects[bucket.hex]?.isEmpty ?? true } }

    func emptyForDeletion(bucket: BucketID) async throws(ObjectError) -> Bool {
        guard try await isEmpty(bucket: bucket) else { return false }
        lock.withLock {
            for (id, found) in uploads where found.bucket == bucket.hex && found.upload.state == .inProgress { uploads[id]?.upload.state = .aborted }
        }
        return true
    }

    // MARK: Multipart, with the real store's rules on parts

    private var uploads: [String: (bucket: String, upload: MultipartUpload, parts: [Int: (part: ObjectPart, bytes: [UInt8])])] = [:]

    func createUpload(bucket: BucketID, key: String, settings: ObjectService.UploadSettings) async throws(ObjectError) -> MultipartUpload {
        var upload = MultipartUpload(uploadID: Hex.encode(randomBytes(16)), key: key, initiatedMillis: clock.nowMillis(),
                                     contentType: settings.contentType, userMetadata: settings.userMetadata, contentHeaders: settings.contentHeaders,
                                     checksumAlgorithm: settings.checksumAlgorithm, checksumType: settings.checksumType)
        upload.tags = settings.tags
        lock.withLock { uploads[upload.uploadID] = (bucket.hex, upload, [:]) }
        return upload
    }

    private func openUpload(_ bucket: BucketID, _ key: String, _ id: String) throws(ObjectError) -> MultipartUpload {
        guard let found = lock.withLock({ uploads[id] }), found.bucket == bucket.hex, found.upload.key == key,
              found.upload.state == .inProgress else { throw .noSuchUpload }
        return found.upload
    }

    func uploadPart<Body: AsyncSequence>(_ request: ObjectService.PartRequest, body: Body) async throws(ObjectError) -> ObjectPart
        where Body.Element == ByteBuffer
    {
        let upload = try openUpload(request.bucket, request.key, request.uploadID)
        var bytes: [UInt8] = []
        do { for try await piece in body { bytes += piece.readableBytesView } } catch {
            throw .incompleteBody(expected: request.body.contentLength, received: bytes.count)
        }
        guard bytes.count == request.body.contentLength else { throw .incompleteBody(expected: request.body.contentLength, received: bytes.count) }
        let md5 = Array(Insecure.MD5.hash(data: bytes))
        if let expected = request.body.md5, expected != md5 { throw .badDigest }
        var checksum: ObjectChecksum?
        if let algorithm = request.body.checksumAlgorithm ?? upload.checksumAlgorithm {
            let digest = ChecksumHasher.digest(algorithm, of: bytes)
            if let expected = request.body.checksum, expected != digest { throw .checksumMismatch(algorithm) }
            checksum = ObjectChecksum(algorithm: algorithm, digest: digest)
        }
        let part = ObjectPart(number: request.partNumber, etag: Hex.encode(md5), checksum: checksum, lastModifiedMillis: clock.nowMillis(),
                              data: StoredBody(versionID: Hex.encode(randomBytes(16)), size: UInt64(bytes.count), dataShards: 4, parityShards: 2,
                                               blockSizeBytes: 1 << 20, layoutVersion: LayoutVersion(1), storedSlots: []))
        lock.withLock { uploads[request.uploadID]?.parts[request.partNumber] = (part, bytes) }
        return part
    }

    func completeUpload(bucket: BucketID, key: String, uploadID: String, parts chosen: [MultipartUpload.ChosenPart],
                        sentChecksums: [Int: ObjectChecksum], expectedSize: UInt64?, condition: WriteCondition?) async throws(ObjectError) -> ObjectVersion {
        let upload = try openUpload(bucket, key, uploadID)
        if let condition { try condition.check(lock.withLock { objects[bucket.hex]?[key]?.version }) }
        for (a, b) in zip(chosen, chosen.dropFirst()) where b.number <= a.number { throw .invalidPartOrder }
        let stored = lock.withLock { uploads[uploadID]?.parts ?? [:] }
        var selected: [ObjectPart] = []
        var bytes: [UInt8] = []
        for (index, choice) in chosen.enumerated() {
            guard let found = stored[choice.number], found.part.etag == choice.etag else {
                throw .invalidPart("part \(choice.number)")
            }
            if index < chosen.count - 1, found.part.size < ObjectService.minimumPartBytes { throw .entityTooSmall(part: choice.number, size: found.part.size) }
            selected.append(found.part)
            bytes += found.bytes
        }
        if let expectedSize, expectedSize != UInt64(bytes.count) { throw .invalidRequest("size") }
        var md5 = Insecure.MD5()
        for part in selected { md5.update(data: Hex.decode(part.etag)!) }
        var version = ObjectVersion(versionID: Hex.encode(randomBytes(16)), size: UInt64(bytes.count),
                                    etag: Hex.encode(Array(md5.finalize())) + "-\(selected.count)", contentType: upload.contentType,
                                    userMetadata: upload.userMetadata, lastModifiedMillis: clock.nowMillis(), dataShards: 4, parityShards: 2,
                                    blockSizeBytes: 1 << 20, layoutVersion: LayoutVersion(1), storedSlots: [],
                                    checksum: try ObjectService.multipartChecksum(of: selected, upload: upload),
                                    contentHeaders: upload.contentHeaders, parts: selected)
        version.tags = upload.tags
        lock.withLock {
            objects[bucket.hex, default: [:]][key] = (version, bytes)
            uploads[uploadID]?.upload.state = .completed
        }
        return version
    }

    func abortUpload(bucket: BucketID, key: String, uploadID: String) async throws(ObjectError) {
        _ = try openUpload(bucket, key, uploadID)
        lock.withLock { uploads[uploadID]?.upload.state = .aborted }
    }

    func listParts(bucket: BucketID, key: String, uploadID: String, after marker: Int, maxParts: Int) async throws(ObjectError)
        -> (upload: MultipartUpload, parts: [ObjectPart], truncated: Bool)
    {
        let upload = try openUpload(bucket, key, uploadID)
        let parts = lock.withLock { uploads[uploadID]?.parts.values.map(\.part) ?? [] }.filter { $0.number > marker }.sorted { $0.number < $1.number }
        return (upload, Array(parts.prefix(maxParts)), parts.count > maxParts)
    }

    func listUploads(bucket: BucketID, prefix: String, delimiter: String?, keyMarker: String?, uploadIDMarker: String?,
                     maxUploads: Int) async throws(ObjectError) -> ObjectService.UploadListing {
        var listing = ObjectService.UploadListing()
        let open = lock.withLock { uploads.values.filter { $0.bucket == bucket.hex && $0.upload.state == .inProgress }.map(\.upload) }
        for upload in open.sorted(by: { ($0.key, $0.uploadID) < ($1.key, $1.uploadID) }) where upload.key.hasPrefix(prefix) {
            if let keyMarker, (upload.key, upload.uploadID) <= (keyMarker, uploadIDMarker ?? "\u{10FFFF}") { continue }
            if listing.uploads.count == maxUploads { listing.isTruncated = true; break }
            listing.uploads.append(upload)
            listing.nextKeyMarker = upload.key
            listing.nextUploadIDMarker = upload.uploadID
        }
        return listing
    }
}
