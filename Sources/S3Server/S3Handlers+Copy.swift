import AsyncAlgorithms
import Checksums
import ClusterModel
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Node
import S3Protocol
import Units

/// CopyObject and UploadPartCopy: the source is read stripe by stripe and
/// streamed into a new body through the same pipeline as a PUT, never held
/// whole; its ETag and checksum are computed again from the bytes.
extension S3Handlers {
    /// The largest source CopyObject takes (5 GiB, as S3; larger objects are copied with UploadPartCopy).
    static let maxCopySourceBytes: UInt64 = 5 << 30

    /// The copy's source, once the caller may read it and its `x-amz-copy-source-if-*` conditions hold.
    func copySource() async throws -> (bucket: BucketRecord, key: String, version: ObjectVersion, decryptor: ObjectDecryptor?, namedVersion: Bool) {
        let source = try CopySource.parse(header("x-amz-copy-source") ?? "")
        let bucket: BucketRecord
        do { bucket = try caller.state.bucket(named: source.bucket) } catch {
            throw S3Error(.noSuchBucket, "The specified bucket does not exist.")
        }
        guard caller.state.permissions(of: caller.key.id, on: bucket.id).contains(.read) else { throw S3Error(.accessDenied, "Access Denied") }
        let version: ObjectVersion
        do { version = try await objects.head(bucket: bucket.bucketID, key: source.key, versionID: source.versionID) } catch {
            // A delete marker is no source: AWS answers 404 for the latest, 400 for one named.
            if case .deleteMarker(_, let addressed) = error, addressed {
                throw S3Error(.invalidRequest, "The source of a copy request may not specifically refer to a delete marker by version id.")
            }
            throw S3Error(error)
        }
        // An SSE-C source's shards hold ciphertext: it is read with its key (the copy-source headers), never copied as it is.
        let decryptor = try openingDecryptor(version, prefix: CustomerKeyHeaders.copySourcePrefix)
        switch CopySource.conditions(headers).evaluate(etag: version.etag, lastModifiedSeconds: Int64(version.lastModifiedMillis / 1000)) {
        case .proceed: break
        case .notModified:
            throw S3Error(.preconditionFailed, "At least one of the pre-conditions you specified did not hold (x-amz-copy-source-if-none-match or -if-modified-since).")
        case .preconditionFailed(let which):
            throw S3Error(.preconditionFailed, "At least one of the pre-conditions you specified did not hold (x-amz-copy-source-\(which.lowercased())).")
        }
        return (bucket, source.key, version, decryptor, source.versionID != nil)
    }

    /// Bytes `range` of the source as a stream the pipeline reads; one block
    /// waits between the source's reader and the new body's writer.
    func streamSource(_ version: ObjectVersion, bucket: BucketRecord, key: String, range: Range<UInt64>, decryptor: ObjectDecryptor?,
                      into work: (AsyncThrowingChannel<ByteBuffer, any Error>) async throws -> Void) async throws {
        let plan: ObjectService.ReadPlan
        do { plan = try await objects.planRead(version, bucket: bucket.bucketID, key: key) } catch { throw S3Error(error) }
        let channel = AsyncThrowingChannel<ByteBuffer, any Error>()
        let objects = self.objects
        let reader = Task {
            do throws(ObjectError) {
                var offset = range.lowerBound
                try await objects.read(plan, range: range) { buffer in
                    guard let decryptor else { return await channel.send(buffer) }
                    let plain = try decryptor.apply(buffer.readableBytesView, at: offset)
                    offset += UInt64(buffer.readableBytes)
                    await channel.send(ByteBuffer(bytes: plain))
                }
                channel.finish()
            } catch {
                channel.fail(error)
            }
        }
        defer {
            // Whatever happened to the writer, the reader is released and stopped.
            channel.finish()
            reader.cancel()
        }
        try await work(channel)
    }

    func copyObject(_ bucket: BucketRecord, key: String, request: Request) async throws -> Response {
        let source = try await copySource()
        guard source.version.size <= Self.maxCopySourceBytes else {
            throw S3Error(.invalidRequest, "The specified copy source is larger than the maximum allowable size for a copy source: \(Self.maxCopySourceBytes)")
        }
        let directive = header("x-amz-metadata-directive")?.trimmingCharacters(in: .whitespaces).uppercased() ?? "COPY"
        guard directive == "COPY" || directive == "REPLACE" else {
            throw S3Error(.invalidArgument, "Unknown metadata directive: \(directive) (COPY or REPLACE).")
        }
        // Copying a named version onto its own key is how an older version is made the latest again.
        if source.bucket.id == bucket.id && source.key == key && directive == "COPY" && !source.namedVersion {
            throw S3Error(.invalidRequest, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
        }
        let contentType: String?
        let userMetadata: [String: String]
        let contentHeaders: ContentHeaders?
        if directive == "REPLACE" {
            contentType = request.headers[.contentType]
            userMetadata = try Self.userMetadata(request.headers)
            contentHeaders = storedContentHeaders(contentEncoding: header("content-encoding"))
        } else {
            contentType = source.version.contentType
            userMetadata = source.version.userMetadata
            contentHeaders = source.version.contentHeaders
        }
        var put = ObjectService.PutRequest(
            bucket: bucket.bucketID, key: key, contentLength: Int(source.version.size), contentType: contentType, userMetadata: userMetadata,
            expectedMD5: nil, expectedSHA256: nil, checksumAlgorithm: source.version.checksum?.algorithm, contentHeaders: contentHeaders)
        put.tags = try copiedTags(source.version)
        put.customerKey = try customerKey()
        var copied: ObjectVersion?
        try await streamSource(source.version, bucket: source.bucket, key: source.key, range: 0..<source.version.size,
                               decryptor: source.decryptor) { stream in
            do throws(ObjectError) { copied = try await objects.put(put, body: stream) } catch { throw S3Error(error) }
        }
        guard let copied else { throw S3Error(.internalError, S3Error.internalMessage, logDetail: "copy finished without a version") }
        var response = xml(S3XML.copyObjectResult(etag: copied.etag, lastModified: S3Dates.iso8601(copied.lastModifiedMillis), checksum: copied.checksum))
        Self.addVersionHeader(copied.s3VersionID, to: &response.headers)
        if let id = source.version.s3VersionID { response.headers[HTTPField.Name("x-amz-copy-source-version-id")!] = id }
        return response
    }

    /// `x-amz-tagging-directive`: COPY (the default) keeps the source's
    /// tags, REPLACE takes `x-amz-tagging` (none when absent). Tags sent
    /// with COPY would be ignored, so they are refused.
    func copiedTags(_ source: ObjectVersion) throws -> [ObjectTag]? {
        let directive = header("x-amz-tagging-directive")?.trimmingCharacters(in: .whitespaces).uppercased() ?? "COPY"
        switch directive {
        case "COPY":
            guard header("x-amz-tagging") == nil else {
                throw S3Error(.invalidArgument, "x-amz-tagging on a copy needs x-amz-tagging-directive: REPLACE (with COPY the source's tags are kept).")
            }
            return source.tags
        case "REPLACE": return try requestTags()
        default: throw S3Error(.invalidArgument, "Unknown tagging directive: \(directive) (COPY or REPLACE).")
        }
    }

    func uploadPartCopy(_ bucket: BucketRecord, key: String, request: Request) async throws -> Response {
        let uploadID = try uploadID()
        guard let numberText = query["partNumber"], let number = Int(numberText), (1...S3Limits.maxPartNumber).contains(number) else {
            throw S3Error(.invalidArgument, "Part number must be an integer between 1 and \(S3Limits.maxPartNumber), inclusive.")
        }
        let source = try await copySource()
        let range = try header("x-amz-copy-source-range").map { try CopySource.range($0, size: source.version.size) } ?? 0..<source.version.size
        guard range.count <= UInt64(S3Limits.maxPartBytes) else {
            throw S3Error(.invalidRequest, "The specified copy range is larger than the maximum part size (5 GiB).")
        }
        let expectations = BodyExpectations(contentLength: Int(range.count), md5: nil, sha256: nil)
        var partRequest = ObjectService.PartRequest(bucket: bucket.bucketID, key: key, uploadID: uploadID, partNumber: number, body: expectations)
        partRequest.customerKey = try customerKey()
        var copied: ObjectPart?
        try await streamSource(source.version, bucket: source.bucket, key: source.key, range: range, decryptor: source.decryptor) { stream in
            do throws(ObjectError) { copied = try await objects.uploadPart(partRequest, body: stream) } catch { throw S3Error(error) }
        }
        guard let copied else { throw S3Error(.internalError, S3Error.internalMessage, logDetail: "part copy finished without a part") }
        var response = xml(S3XML.copyPartResult(etag: copied.etag, lastModified: S3Dates.iso8601(copied.lastModifiedMillis), checksum: copied.checksum))
        if let id = source.version.s3VersionID { response.headers[HTTPField.Name("x-amz-copy-source-version-id")!] = id }
        return response
    }
}
