import ClusterModel
import HTTPTypes
import Hummingbird
import Node
import S3Protocol

/// Object and bucket tagging: an object's tags are a field of its row, a
/// bucket's are one of its configurations in the cluster state.
extension S3Handlers {
    /// The request's `x-amz-tagging` header as stored tags (nil when absent or empty).
    func requestTags() throws -> [ObjectTag]? {
        guard let text = header("x-amz-tagging") else { return nil }
        let tags = try Tagging.parse(header: text, for: .object)
        return tags.isEmpty ? nil : tags.map { ObjectTag(key: $0.key, value: $0.value) }
    }

    static func rendered(_ tags: [ObjectTag]?) -> String {
        Tagging.xml((tags ?? []).map { Tagging.Tag(key: $0.key, value: $0.value) })
    }

    func getObjectTagging(_ bucket: BucketRecord, key: String) async throws -> Response {
        let version: ObjectVersion
        do { version = try await objects.head(bucket: bucket.bucketID, key: key, versionID: try requestedVersionID()) } catch let error as ObjectError {
            throw S3Error(error)
        }
        var response = xml(Self.rendered(version.tags))
        Self.addVersionHeader(version.s3VersionID, to: &response.headers)
        return response
    }

    func putObjectTagging(_ bucket: BucketRecord, key: String, request: Request) async throws -> Response {
        let body = try await smallBody(request, upTo: Tagging.maxBodyBytes, what: "Tagging document")
        let tags = try Tagging.parse(xml: String(decoding: body, as: UTF8.self), for: .object)
        let edited: ObjectVersion
        do {
            edited = try await objects.setTags(bucket: bucket.bucketID, key: key, versionID: try requestedVersionID(),
                                               tags: tags.map { ObjectTag(key: $0.key, value: $0.value) })
        } catch let error as ObjectError { throw S3Error(error) }
        var fields = HTTPFields()
        Self.addVersionHeader(edited.s3VersionID, to: &fields)
        return Response(status: .ok, headers: fields)
    }

    func deleteObjectTagging(_ bucket: BucketRecord, key: String) async throws -> Response {
        let edited: ObjectVersion
        do { edited = try await objects.setTags(bucket: bucket.bucketID, key: key, versionID: try requestedVersionID(), tags: nil) } catch let error as ObjectError {
            throw S3Error(error)
        }
        var fields = HTTPFields()
        Self.addVersionHeader(edited.s3VersionID, to: &fields)
        return Response(status: .noContent, headers: fields)
    }

    func getBucketTagging(_ bucket: BucketRecord) throws -> Response {
        guard let tags = caller.state.bucketConfig(.tagging, of: bucket.id)?.tags else {
            throw S3Error(.noSuchTagSet, "The TagSet does not exist")
        }
        return xml(Self.rendered(tags))
    }

    func putBucketTagging(_ bucket: BucketRecord, request: Request) async throws -> Response {
        let body = try await smallBody(request, upTo: Tagging.maxBodyBytes, what: "Tagging document")
        let tags = try Tagging.parse(xml: String(decoding: body, as: UTF8.self), for: .bucket)
        // An empty TagSet removes the tags, as AWS does.
        let config = tags.isEmpty ? nil : BucketConfig(tags: tags.map { ObjectTag(key: $0.key, value: $0.value) })
        do { try await cluster.setBucketConfig(config, kind: .tagging, bucket: bucket.name.rawValue) } catch { throw S3Error(error) }
        return Response(status: .noContent)
    }

    func deleteBucketTagging(_ bucket: BucketRecord) async throws -> Response {
        do { try await cluster.setBucketConfig(nil, kind: .tagging, bucket: bucket.name.rawValue) } catch { throw S3Error(error) }
        return Response(status: .noContent)
    }
}
