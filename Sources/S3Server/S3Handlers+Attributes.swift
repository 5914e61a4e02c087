import ClusterModel
import HTTPTypes
import Hummingbird
import Node
import S3Protocol

extension S3Handlers {
    /// GetObjectAttributes: ETag, checksum, parts (paged by
    /// `x-amz-part-number-marker` and `x-amz-max-parts`), storage class and size.
    func getObjectAttributes(_ bucket: BucketRecord, key: String) async throws -> Response {
        let wanted = try ObjectAttributes.requested(header("x-amz-object-attributes"))
        let maxParts = try count(header("x-amz-max-parts"), named: "x-amz-max-parts", absent: S3Limits.maxListParts, limit: S3Limits.maxListParts)
        let marker = try count(header("x-amz-part-number-marker"), named: "x-amz-part-number-marker", absent: 0)
        let version: ObjectVersion
        do { version = try await objects.head(bucket: bucket.bucketID, key: key, versionID: try requestedVersionID()) } catch let error as ObjectError { throw S3Error(error) }
        _ = try openingDecryptor(version)
        let parts = version.parts?.map { ObjectAttributes.Part(number: $0.number, size: $0.size, checksum: $0.checksum) }
        var response = xml(ObjectAttributes.render(
            ObjectAttributes.Answer(etag: version.etag, checksum: version.checksum, size: version.size, parts: parts,
                                    partNumberMarker: marker, maxParts: maxParts), wanted: wanted))
        response.headers[.lastModified] = S3Dates.rfc1123(version.lastModifiedMillis)
        Self.addVersionHeader(version.s3VersionID, to: &response.headers)
        return response
    }
}
