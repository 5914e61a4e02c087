import ClusterModel
import HTTPTypes
import Hummingbird
import Node
import S3Protocol

/// Put/GetBucketVersioning and ListObjectVersions; the `versionId` and
/// `x-amz-version-id` of the object operations.
extension S3Handlers {
    /// The `versionId` a request names, if any ("null" included).
    func requestedVersionID() throws -> String? {
        guard let id = query["versionId"] else { return nil }
        guard !id.isEmpty else { throw S3Error(.invalidArgument, "Version id cannot be the empty string") }
        return id
    }

    /// `x-amz-version-id` on an answer about a version (none for an unversioned bucket's objects).
    static func addVersionHeader(_ id: String?, to fields: inout HTTPFields) {
        if let id { fields[HTTPField.Name("x-amz-version-id")!] = id }
    }

    func getBucketVersioning(_ bucket: BucketRecord) -> Response {
        xml(VersioningXML.render(status: caller.state.bucketConfig(.versioning, of: bucket.id)?.versioning?.rawValue))
    }

    func putBucketVersioning(_ bucket: BucketRecord, request: Request) async throws -> Response {
        let body = try await smallBody(request, upTo: VersioningXML.maxBodyBytes, what: "VersioningConfiguration")
        guard let status = try VersioningXML.parseStatus(String(decoding: body, as: UTF8.self)).flatMap(VersioningState.init) else {
            return Response(status: .ok)
        }
        do { try await cluster.setBucketConfig(BucketConfig(versioning: status), kind: .versioning, bucket: bucket.name.rawValue) } catch {
            throw S3Error(error)
        }
        return Response(status: .ok)
    }

    func listObjectVersions(_ bucket: BucketRecord) async throws -> Response {
        let prefix = query["prefix"] ?? ""
        let delimiter = query["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        let maxKeys = try maxKeys()
        let urlEncoded = try encodingIsURL()
        let keyMarker = query["key-marker"].flatMap { $0.isEmpty ? nil : $0 }
        let versionIDMarker = query["version-id-marker"].flatMap { $0.isEmpty ? nil : $0 }
        if versionIDMarker != nil && keyMarker == nil {
            throw S3Error(.invalidArgument, "A version-id marker cannot be specified without a key marker.")
        }
        let listing: ObjectService.VersionListing
        do {
            listing = try await objects.listVersions(bucket: bucket.bucketID, prefix: prefix, delimiter: delimiter, keyMarker: keyMarker,
                                                     versionIDMarker: versionIDMarker, maxKeys: maxKeys)
        } catch { throw S3Error(error) }
        let entries = listing.entries.map { entry in
            VersioningXML.Entry(key: entry.key, versionID: entry.s3VersionID, isLatest: entry.isLatest,
                                lastModified: S3Dates.iso8601(entry.lastModifiedMillis), etag: entry.version?.etag,
                                size: entry.version?.size ?? 0, checksumAlgorithm: entry.version?.checksum?.algorithm.rawValue)
        }
        return xml(VersioningXML.renderList(VersioningXML.Page(
            bucket: bucket.name.rawValue, prefix: prefix, delimiter: delimiter, keyMarker: keyMarker, versionIDMarker: versionIDMarker,
            nextKeyMarker: listing.nextKeyMarker, nextVersionIDMarker: listing.nextVersionIDMarker, maxKeys: maxKeys,
            isTruncated: listing.isTruncated, entries: entries, commonPrefixes: listing.commonPrefixes, urlEncoded: urlEncoded,
            owner: objectOwner(bucket))))
    }
}
