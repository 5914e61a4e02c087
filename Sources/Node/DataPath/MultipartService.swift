import Checksums
import ClusterModel
import Crypto
import Foundation
import Metrics
import NIOCore
import Placement
import Storage
import Units

/// Multipart uploads. An upload is a row of the bucket's upload table with
/// an explicit state (`UploadState`); each uploaded part is a row of its own
/// (so parts uploaded at once never overwrite each other's rows) naming an
/// erasure-coded body written exactly like a single-part object's, on the
/// owners of the object key's partition. Completing writes one object row
/// whose `parts` name those bodies: the object appears whole or not at all.
extension ObjectService {
    /// S3's smallest part, but for the last.
    public static let minimumPartBytes: UInt64 = 5 << 20

    /// What CreateMultipartUpload fixes for the object it will make.
    public struct UploadSettings: Sendable {
        public var contentType: String?
        public var userMetadata: [String: String]
        public var contentHeaders: ContentHeaders?
        public var checksumAlgorithm: ChecksumAlgorithm?
        public var checksumType: ChecksumType?
        public var tags: [ObjectTag]?
        /// SSE-C: the key every part is to be encrypted under.
        public var customerKey: CustomerKey?

        public init(contentType: String?, userMetadata: [String: String], contentHeaders: ContentHeaders?,
                    checksumAlgorithm: ChecksumAlgorithm?, checksumType: ChecksumType?, tags: [ObjectTag]? = nil) {
            self.contentType = contentType; self.userMetadata = userMetadata; self.contentHeaders = contentHeaders
            self.checksumAlgorithm = checksumAlgorithm; self.checksumType = checksumType; self.tags = tags
        }
    }

    public func createUpload(bucket: BucketID, key: String, settings: UploadSettings) async throws(ObjectError) -> MultipartUpload {
        let routing = await node.routing()
        guard routing.current != nil else { throw .notReady("no layout applied: run `shale layout apply`") }
        var upload = MultipartUpload(
            uploadID: Self.newVersionID(), key: key, initiatedMillis: node.wallClock.nowMillis(), contentType: settings.contentType,
            userMetadata: settings.userMetadata, contentHeaders: settings.contentHeaders, checksumAlgorithm: settings.checksumAlgorithm,
            checksumType: settings.checksumType)
        upload.tags = settings.tags
        if let key = settings.customerKey { upload.encryption = CustomerEncryption(keyMD5: key.md5Base64, keyCheck: key.check, nonce: "") }
        let record = ObjectRecord(uploadTable: UploadTable.name(of: bucket.hex), key: UploadTable.uploadRowKey(key: key, uploadID: upload.uploadID),
                                  stamp: stamp(replacing: nil), upload: upload)
        try await metadata.write(record, bucket: bucket, routing: routing)
        Counter(label: "shale_multipart_uploads_created_total").increment()
        return upload
    }

    /// The upload's row, which must exist and belong to `key`.
    func uploadRow(bucket: BucketID, key: String, uploadID: String, routing: ClusterNode.Routing) async throws(ObjectError)
        -> (record: ObjectRecord, upload: MultipartUpload)
    {
        guard ShardKey(versionID: uploadID, slot: 0) != nil else { throw .noSuchUpload }
        let row = try await metadata.read(table: UploadTable.name(of: bucket.hex), bucket: bucket,
                                          key: UploadTable.uploadRowKey(key: key, uploadID: uploadID), routing: routing)
        guard let row, let upload = row.upload, upload.key == key, upload.uploadID == uploadID else { throw .noSuchUpload }
        return (row, upload)
    }

    public struct PartRequest: Sendable {
        public let bucket: BucketID
        public let key: String
        public let uploadID: String
        public let partNumber: Int
        public let body: BodyExpectations
        /// SSE-C: the upload's key, sent again with each part.
        public var customerKey: CustomerKey?

        public init(bucket: BucketID, key: String, uploadID: String, partNumber: Int, body: BodyExpectations) {
            self.bucket = bucket; self.key = key; self.uploadID = uploadID; self.partNumber = partNumber; self.body = body
        }
    }

    /// Streams one part into shards like a PUT, then records it; a part
    /// uploaded again under its number replaces the earlier one, whose
    /// shards are collected.
    public func uploadPart<Body: AsyncSequence>(_ request: PartRequest, body: Body) async throws(ObjectError) -> ObjectPart
        where Body.Element == ByteBuffer
    {
        let routing = await node.routing()
        guard let layout = routing.current else { throw .notReady("no layout applied: run `shale layout apply`") }
        let (_, upload) = try await uploadRow(bucket: request.bucket, key: request.key, uploadID: request.uploadID, routing: routing)
        guard upload.state.isOpen else { throw .noSuchUpload }
        var expectations = request.body
        if let wanted = upload.checksumAlgorithm {
            if let sent = expectations.checksumAlgorithm, sent != wanted {
                throw .invalidRequest("This upload was created with checksum algorithm \(wanted.rawValue); the part carries \(sent.rawValue).")
            }
            expectations.checksumAlgorithm = wanted
        }
        var cipher: ObjectCipher?
        var nonce: String?
        switch (upload.encryption, request.customerKey) {
        case (nil, nil): break
        case (nil, .some): throw .invalidRequest("The encryption parameters are not applicable to this upload: it was created without SSE-C.")
        case (.some, nil): throw .invalidRequest("This upload was created with SSE-C: send its key with every part.")
        case (.some(let encryption), .some(let key)):
            guard key.opens(encryption) else { throw .invalidRequest("The customer key does not match the key the upload was created with.") }
            let fresh = key.newEncryption()
            nonce = fresh.nonce
            cipher = try key.cipher(for: fresh)
        }
        let table = UploadTable.name(of: request.bucket.hex)
        let rowKey = UploadTable.partRowKey(key: request.key, uploadID: request.uploadID, part: request.partNumber)
        async let previousRead = metadata.read(table: table, bucket: request.bucket, key: rowKey, routing: routing)

        let written = try await writeBody(expectations, body: body, partition: PartitionID(bucket: request.bucket, key: request.key), layout: layout,
                                          object: ObjectName(bucket: table, key: rowKey), routing: routing, cipher: cipher)
        let previous: ObjectRecord?
        do { previous = try await previousRead } catch {
            await discard(written, routing: routing)
            throw (error as? ObjectError) ?? .internalError("\(error)")
        }
        var part = ObjectPart(number: request.partNumber, etag: request.customerKey?.etag(md5: written.md5) ?? Hex.encode(written.md5),
                              checksum: written.checksum, lastModifiedMillis: node.wallClock.nowMillis(), data: written.body)
        part.encryptionNonce = nonce
        let record = ObjectRecord(uploadTable: table, key: rowKey, stamp: stamp(replacing: previous?.stamp), part: part)
        do { try await metadata.write(record, bucket: request.bucket, routing: routing) } catch {
            await discard(written, routing: routing)
            throw error
        }
        noteShortBodies([part.data], table: table, rowKey: rowKey, objectKey: request.key, bucket: request.bucket)
        if let replaced = previous?.part, replaced.data.versionID != part.data.versionID {
            scheduleShardDeletion(of: [replaced.data], bucket: request.bucket, key: request.key)
        }
        Counter(label: "shale_multipart_parts_uploaded_total").increment()
        return part
    }

    /// Every part row of an upload, by part number.
    func uploadedParts(bucket: BucketID, key: String, uploadID: String, after marker: Int = 0, limit: Int = .max,
                       routing: ClusterNode.Routing) async throws(ObjectError) -> (parts: [ObjectPart], truncated: Bool) {
        let table = UploadTable.name(of: bucket.hex)
        let prefix = UploadTable.partsPrefix(key: key, uploadID: uploadID)
        var after: String? = marker > 0 ? UploadTable.partRowKey(key: key, uploadID: uploadID, part: marker) : nil
        var parts: [ObjectPart] = []
        while true {
            let page = try await metadata.listPage(table: table, bucket: bucket, prefix: prefix, after: after, limit: 1000, routing: routing)
            for record in page.records {
                after = record.key
                guard let part = record.part else { continue }
                if parts.count == limit { return (parts, true) }
                parts.append(part)
            }
            if page.exhausted || page.records.isEmpty { return (parts, false) }
        }
    }

    /// ListParts: the upload and a page of its parts after `marker`.
    public func listParts(bucket: BucketID, key: String, uploadID: String, after marker: Int, maxParts: Int) async throws(ObjectError)
        -> (upload: MultipartUpload, parts: [ObjectPart], truncated: Bool)
    {
        let routing = await node.routing()
        let (_, upload) = try await uploadRow(bucket: bucket, key: key, uploadID: uploadID, routing: routing)
        guard upload.state.isOpen else { throw .noSuchUpload }
        let page = try await uploadedParts(bucket: bucket, key: key, uploadID: uploadID, after: marker, limit: maxParts, routing: routing)
        return (upload, page.parts, page.truncated)
    }

    /// Completes an upload with the parts the client names, in order (their
    /// ETags without quotes). A
    /// retry of a completion that went through (same parts) answers the
    /// same object again; parts uploaded but not named are collected.
    public func completeUpload(bucket: BucketID, key: String, uploadID: String, parts chosen: [MultipartUpload.ChosenPart],
                               sentChecksums: [Int: ObjectChecksum] = [:], expectedSize: UInt64? = nil,
                               condition: WriteCondition? = nil) async throws(ObjectError) -> ObjectVersion {
        let routing = await node.routing()
        guard !chosen.isEmpty else { throw .invalidPart("the request names no part") }
        for (a, b) in zip(chosen, chosen.dropFirst()) where b.number <= a.number { throw .invalidPartOrder }
        let table = UploadTable.name(of: bucket.hex)
        let (uploadRecord, upload) = try await uploadRow(bucket: bucket, key: key, uploadID: uploadID, routing: routing)
        switch upload.state {
        case .inProgress: break
        case .aborted: throw .noSuchUpload
        case .completing, .completed:
            // Only a retry of the same completion goes on (and finishes what a failed coordinator left).
            guard let completion = upload.completion, completion.parts == chosen else { throw .noSuchUpload }
            if let current = try await completedVersion(completion, bucket: bucket, key: key, routing: routing) { return current }
            if upload.state == .completed { throw .noSuchUpload }
        }
        let stored = try await uploadedParts(bucket: bucket, key: key, uploadID: uploadID, routing: routing).parts
        let byNumber = Dictionary(stored.map { ($0.number, $0) }, uniquingKeysWith: { a, _ in a })
        var selected: [ObjectPart] = []
        for (index, choice) in chosen.enumerated() {
            guard let part = byNumber[choice.number] else {
                // An abort since the upload row was read drops the parts: that is the answer, not a missing part.
                let now = try await uploadRow(bucket: bucket, key: key, uploadID: uploadID, routing: routing).1
                if now.state != .inProgress { throw .noSuchUpload }
                throw .invalidPart("part \(choice.number) was not uploaded")
            }
            guard part.etag.lowercased() == choice.etag.lowercased() else { throw .invalidPart("part \(choice.number) has ETag \"\(part.etag)\"") }
            if let sent = sentChecksums[choice.number], sent != part.checksum.map({ ObjectChecksum(algorithm: $0.algorithm, digest: $0.digest) }) {
                throw .invalidPart("part \(choice.number)'s \(sent.algorithm.rawValue) checksum does not match the one uploaded")
            }
            if index < chosen.count - 1, part.size < Self.minimumPartBytes { throw .entityTooSmall(part: part.number, size: part.size) }
            selected.append(part)
        }
        let size = selected.reduce(0) { $0 + $1.size }
        if let expectedSize, expectedSize != size {
            throw .invalidRequest("x-amz-mp-object-size \(expectedSize) does not match the parts' total size, \(size).")
        }
        let checksum = try Self.multipartChecksum(of: selected, upload: upload)
        var md5 = Insecure.MD5()
        for part in selected { md5.update(data: Hex.decode(part.etag) ?? []) }
        let etag = Hex.encode(Array(md5.finalize())) + "-\(selected.count)"
        let versioning = await versioning(of: bucket)
        if versioning != nil, condition != nil {
            throw .notImplemented("Conditional writes (If-None-Match, If-Match) to a bucket with versioning are not implemented: nothing was written.")
        }
        var proposed = MultipartUpload.Completion(versionID: upload.completion?.versionID ?? Self.newVersionID(), etag: etag, parts: chosen)
        if versioning == .enabled {
            // The version's id is fixed with the parts, so a retried completion writes the same row.
            if let fixed = upload.completion?.s3VersionID { proposed.s3VersionID = fixed } else {
                proposed.s3VersionID = try await versionTarget(bucket: bucket, key: key, routing: routing).id.rawValue
            }
        }

        // Completing: the parts are chosen and the version id fixed before the object row is written.
        // A compare-and-set, so a concurrent abort or a completion with other parts cannot also win.
        let (completingRecord, _) = try await metadata.compareAndSet(
            table: table, bucket: bucket, key: uploadRecord.key, routing: routing, ballot: { self.stamp(replacing: $0) }
        ) { current throws(ObjectError) in
            // A completing upload goes on only for a retry of the same completion.
            guard let current, var row = current.upload, row.state.canMove(to: .completing),
                  row.state == .inProgress || row.completion?.parts == chosen else { throw .noSuchUpload }
            if row.state == .inProgress { row.completion = proposed }
            row.state = .completing
            return ObjectRecord(uploadTable: table, key: current.key, stamp: self.stamp(replacing: current.stamp), upload: row)
        }
        guard let completing = completingRecord.upload, let completion = completing.completion else { throw .internalError("completing without a completion") }
        let versionID = completion.versionID
        let target = completion.s3VersionID.flatMap(S3VersionID.init).map {
            VersionTarget(table: VersionTable.name(of: bucket.hex), rowKey: VersionTable.rowKey(key: key, versionID: $0), id: $0, stamp: stamp(replacing: nil))
        }

        if versioning == .suspended { try await observeNewestVersion(bucket: bucket, key: key, routing: routing) }
        let first = selected[0].data
        var version = ObjectVersion(
            versionID: versionID, size: size, etag: etag, contentType: upload.contentType,
            userMetadata: upload.userMetadata, lastModifiedMillis: node.wallClock.nowMillis(), dataShards: first.dataShards,
            parityShards: first.parityShards, blockSizeBytes: first.blockSizeBytes, layoutVersion: first.layoutVersion, storedSlots: [],
            checksum: checksum, contentHeaders: upload.contentHeaders, parts: selected)
        version.tags = upload.tags
        version.encryption = upload.encryption
        let replaced: ObjectRecord?
        do throws(ObjectError) {
            replaced = try await writeObjectRow(version, bucket: bucket, key: key, condition: condition, target: target,
                                                routing: routing)
        } catch {
            if error == .preconditionFailed || error == .noSuchKey {
                // The object was not written: the upload goes back to taking parts, as it was.
                var reopened = completing
                reopened.state = .inProgress
                reopened.completion = nil
                try? await metadata.write(ObjectRecord(uploadTable: table, key: completingRecord.key, stamp: stamp(replacing: completingRecord.stamp),
                                                       upload: reopened), bucket: bucket, routing: routing)
            }
            throw error
        }

        var completed = completing
        completed.state = .completed
        let completedRecord = ObjectRecord(uploadTable: table, key: uploadRecord.key, stamp: stamp(replacing: completingRecord.stamp), upload: completed)
        do { try await metadata.write(completedRecord, bucket: bucket, routing: routing) } catch {
            logger.warning("multipart upload completed, but its state not recorded", metadata: ["upload": "\(uploadID)", "error": "\(error)"])
        }
        let chosenNumbers = Set(chosen.map(\.number))
        let unused = stored.filter { !chosenNumbers.contains($0.number) }
        scheduleShardDeletion(of: unused.map(\.data), bucket: bucket, key: key)
        if let old = replaced?.version, old.versionID != versionID { scheduleShardDeletion(of: old, bucket: bucket, key: key) }
        await dropPartRows(stored, bucket: bucket, key: key, uploadID: uploadID, routing: routing)
        Counter(label: "shale_multipart_uploads_completed_total").increment()
        version.s3VersionID = target?.id.rawValue ?? (versioning == nil ? nil : S3VersionID.null)
        return version
    }

    /// The object a completion wrote, when its row is there: the key's row, or its version's in a versioned bucket.
    func completedVersion(_ completion: MultipartUpload.Completion, bucket: BucketID, key: String,
                          routing: ClusterNode.Routing) async throws(ObjectError) -> ObjectVersion? {
        let row: ObjectRecord?
        if let id = completion.s3VersionID.flatMap(S3VersionID.init) {
            row = try await metadata.read(table: VersionTable.name(of: bucket.hex), bucket: bucket,
                                          key: VersionTable.rowKey(key: key, versionID: id), routing: routing)
        } else {
            row = try await metadata.read(bucket: bucket, key: key, routing: routing)
        }
        guard let version = row?.version, version.versionID == completion.versionID else { return nil }
        return version
    }

    /// The object's checksum from its parts': COMPOSITE (the checksum of
    /// the parts' digests, `-N`) or FULL_OBJECT (the CRCs combined).
    public static func multipartChecksum(of parts: [ObjectPart], upload: MultipartUpload) throws(ObjectError) -> ObjectChecksum? {
        guard let algorithm = upload.checksumAlgorithm else { return nil }
        var digests: [(digest: [UInt8], length: UInt64)] = []
        for part in parts {
            guard let checksum = part.checksum, checksum.algorithm == algorithm else {
                throw .invalidPart("part \(part.number) has no \(algorithm.rawValue) checksum")
            }
            digests.append((checksum.digest, part.size))
        }
        switch upload.checksumType ?? (algorithm == .crc64nvme ? .fullObject : .composite) {
        case .composite:
            return ObjectChecksum(algorithm: algorithm, digest: ChecksumHasher.digest(algorithm, of: digests.flatMap(\.digest)),
                                  type: .composite, partCount: parts.count)
        case .fullObject:
            guard let digest = CRCCombine.combine(digests, algorithm: algorithm) else {
                throw .invalidRequest("A FULL_OBJECT checksum needs a CRC algorithm, not \(algorithm.rawValue).")
            }
            return ObjectChecksum(algorithm: algorithm, digest: digest)
        }
    }

    /// Aborts an upload in progress: no part can be added or completed any
    /// more, and the parts' shards are collected.
    public func abortUpload(bucket: BucketID, key: String, uploadID: String) async throws(ObjectError) {
        let routing = await node.routing()
        guard ShardKey(versionID: uploadID, slot: 0) != nil else { throw .noSuchUpload }
        // The compare-and-set reads the upload's row itself. A completion under way owns the parts: only its retry may finish it.
        _ = try await metadata.compareAndSet(table: UploadTable.name(of: bucket.hex), bucket: bucket,
                                             key: UploadTable.uploadRowKey(key: key, uploadID: uploadID), routing: routing,
                                             ballot: { self.stamp(replacing: $0) }) { current throws(ObjectError) in
            guard let current, var row = current.upload, row.key == key, row.state.canMove(to: .aborted) else { throw .noSuchUpload }
            row.state = .aborted
            return ObjectRecord(uploadTable: current.bucketID, key: current.key, stamp: self.stamp(replacing: current.stamp), upload: row)
        }
        let parts = try await uploadedParts(bucket: bucket, key: key, uploadID: uploadID, routing: routing).parts
        scheduleShardDeletion(of: parts.map(\.data), bucket: bucket, key: key)
        await dropPartRows(parts, bucket: bucket, key: key, uploadID: uploadID, routing: routing)
        Counter(label: "shale_multipart_uploads_aborted_total").increment()
    }

    public func emptyForDeletion(bucket: BucketID) async throws(ObjectError) -> Bool {
        guard try await isEmpty(bucket: bucket) else { return false }
        var keyMarker: String?
        var uploadIDMarker: String?
        while true {
            let page = try await listUploads(bucket: bucket, prefix: "", delimiter: nil, keyMarker: keyMarker, uploadIDMarker: uploadIDMarker,
                                             maxUploads: 1000)
            for upload in page.uploads {
                do { try await abortUpload(bucket: bucket, key: upload.key, uploadID: upload.uploadID) } catch {
                    // Completed or aborted meanwhile: a completed one is an object, which the next check finds.
                    guard error == .noSuchUpload else { throw error }
                }
            }
            guard page.isTruncated else { break }
            (keyMarker, uploadIDMarker) = (page.nextKeyMarker, page.nextUploadIDMarker)
        }
        // An upload completed while its siblings were aborted made an object: the bucket is not empty after all.
        return try await isEmpty(bucket: bucket)
    }

    /// Tombstones an upload's part rows once they are not needed (best
    /// effort: a row left behind names shards the collector judges by the
    /// upload's state).
    func dropPartRows(_ parts: [ObjectPart], bucket: BucketID, key: String, uploadID: String, routing: ClusterNode.Routing) async {
        let table = UploadTable.name(of: bucket.hex)
        for part in parts {
            let rowKey = UploadTable.partRowKey(key: key, uploadID: uploadID, part: part.number)
            let tombstone = ObjectRecord(uploadTable: table, key: rowKey, stamp: stamp(replacing: nil))
            do { try await metadata.write(tombstone, bucket: bucket, routing: routing) } catch {
                logger.info("part row left for later", metadata: ["upload": "\(uploadID)", "error": "\(error)"])
                return
            }
        }
    }

    public struct UploadListing: Sendable {
        public var uploads: [MultipartUpload] = []
        public var commonPrefixes: [String] = []
        public var isTruncated = false
        /// Where the next page starts: the last key and upload id returned.
        public var nextKeyMarker: String?
        public var nextUploadIDMarker: String?
        public init() {}
    }

    /// ListMultipartUploads: uploads in progress in (key, upload id) order
    /// after the markers, keys rolled up under `delimiter`.
    public func listUploads(bucket: BucketID, prefix: String, delimiter: String?, keyMarker: String?, uploadIDMarker: String?,
                            maxUploads: Int) async throws(ObjectError) -> UploadListing {
        let routing = await node.routing()
        let table = UploadTable.name(of: bucket.hex)
        var listing = UploadListing()
        guard maxUploads > 0 else { return listing }
        var after: String?
        if let keyMarker {
            if let uploadIDMarker { after = UploadTable.pastParts(key: keyMarker, uploadID: uploadIDMarker) } else { after = keyMarker + "\u{2}" }
        }
        var count = 0
        while true {
            let page = try await metadata.listPage(table: table, bucket: bucket, prefix: prefix, after: after, limit: 1000, routing: routing)
            var restart: String?
            for record in page.records {
                after = record.key
                guard let upload = record.upload, upload.state == .inProgress else { continue }
                if count == maxUploads {
                    listing.isTruncated = true
                    return listing
                }
                if let rolled = ListingMerge.commonPrefix(of: upload.key, prefix: prefix, delimiter: delimiter) {
                    if listing.commonPrefixes.last != rolled {
                        listing.commonPrefixes.append(rolled)
                        count += 1
                    }
                    listing.nextKeyMarker = rolled
                    listing.nextUploadIDMarker = nil
                    restart = ListingMerge.skipPast(rolled)
                    break
                }
                listing.uploads.append(upload)
                listing.nextKeyMarker = upload.key
                listing.nextUploadIDMarker = upload.uploadID
                count += 1
                // The upload's part rows follow its row: skip them.
                restart = UploadTable.pastParts(key: upload.key, uploadID: upload.uploadID)
                break
            }
            if let restart { after = restart; continue }
            if page.exhausted || page.records.isEmpty { return listing }
        }
    }
}
