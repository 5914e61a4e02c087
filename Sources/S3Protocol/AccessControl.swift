/// The ACL answers S3 clients expect. Shale's permissions are per key ×
/// bucket (`shale bucket allow`), not ACLs: a bucket and its objects belong
/// to the bucket's owner, who has FULL_CONTROL, and that is all an ACL can
/// say here. Setting an ACL that says exactly that (`private`, or a policy
/// granting only the owner FULL_CONTROL) is accepted; grants to anyone else
/// are `NotImplemented`, never silently dropped.
public enum AccessControl {
    public static let maxPolicyBytes = 64 * 1024
    static let instanceNamespace = "http://www.w3.org/2001/XMLSchema-instance"

    /// GetBucketAcl's and GetObjectAcl's answer: the owner, with FULL_CONTROL.
    public static func policyXML(ownerID: String, ownerName: String) -> String {
        let owner = S3XML.element("ID", ownerID) + S3XML.element("DisplayName", ownerName)
        return S3XML.declaration + "<AccessControlPolicy xmlns=\"\(S3XML.namespace)\"><Owner>" + owner + "</Owner><AccessControlList>"
            + "<Grant><Grantee xmlns:xsi=\"\(instanceNamespace)\" xsi:type=\"CanonicalUser\">" + owner + "</Grantee>"
            + "<Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>"
    }

    /// A PutBucketAcl / PutObjectAcl `<AccessControlPolicy>` body: accepted
    /// when it grants FULL_CONTROL to the owner and nothing to anyone else.
    public static func checkPolicy(_ body: String, ownerID: String) throws(S3Error) {
        let malformed = S3Error(.malformedACLError, "The XML you provided was not well-formed or did not validate against our published schema.")
        let root: XMLElement
        do { root = try XMLReader.parse(body) } catch { throw malformed }
        guard root.localName == "AccessControlPolicy", let list = root.first("AccessControlList") else { throw malformed }
        if let owner = root.first("Owner")?.first("ID")?.text, owner != ownerID {
            throw S3Error(.notImplemented, "An ACL naming another owner is not implemented: the bucket's owner is \(ownerID).")
        }
        let grants = list.all("Grant")
        guard !grants.isEmpty else {
            throw S3Error(.notImplemented, "An ACL without the owner's FULL_CONTROL is not implemented: the owner always has full control.")
        }
        for grant in grants {
            guard let grantee = grant.first("Grantee"), let permission = grant.first("Permission")?.text else { throw malformed }
            guard grantee.first("ID")?.text == ownerID, grantee.first("URI") == nil, grantee.first("EmailAddress") == nil,
                  permission == "FULL_CONTROL" else {
                throw S3Error(.notImplemented, "ACL grants to others (\(permission) here) are not implemented: give keys access with `shale bucket allow`. See Docs/s3-compatibility.md.")
            }
        }
    }
}
