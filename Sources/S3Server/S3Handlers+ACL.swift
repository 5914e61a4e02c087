import ClusterModel
import HTTPTypes
import Hummingbird
import Node
import S3Protocol

/// GetBucketAcl, PutBucketAcl, GetObjectAcl, PutObjectAcl: the owner's
/// FULL_CONTROL is the only ACL there is (`AccessControl`).
extension S3Handlers {
    func getACL(_ bucket: BucketRecord, key: String?) async throws -> Response {
        if let key {
            do { _ = try await objects.head(bucket: bucket.bucketID, key: key, versionID: try requestedVersionID()) } catch let error as ObjectError { throw S3Error(error) }
        }
        let owner = objectOwner(bucket)
        return xml(AccessControl.policyXML(ownerID: owner.id, ownerName: owner.name))
    }

    /// Accepts `x-amz-acl: private` / `bucket-owner-full-control` (others
    /// are refused before this runs) or a policy body granting the owner
    /// alone, and changes nothing: that is what Shale does anyway.
    func putACL(_ bucket: BucketRecord, key: String?, request: Request) async throws -> Response {
        let body = try await smallBody(request, upTo: AccessControl.maxPolicyBytes, what: "AccessControlPolicy")
        let cannedACL = header("x-amz-acl")
        switch (cannedACL, body.isEmpty) {
        case (nil, true):
            throw S3Error(.missingSecurityHeader, "Your request was missing a required header: x-amz-acl, or an AccessControlPolicy body.")
        case (.some, false):
            throw S3Error(.invalidRequest, "Specify either x-amz-acl or an AccessControlPolicy body, not both.")
        case (nil, false):
            try AccessControl.checkPolicy(String(decoding: body, as: UTF8.self), ownerID: objectOwner(bucket).id)
        case (.some, true):
            break
        }
        if let key {
            do { _ = try await objects.head(bucket: bucket.bucketID, key: key, versionID: try requestedVersionID()) } catch let error as ObjectError { throw S3Error(error) }
        }
        return Response(status: .ok)
    }
}
