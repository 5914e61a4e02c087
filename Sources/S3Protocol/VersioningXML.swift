/// PutBucketVersioning's document, GetBucketVersioning's answer and
/// ListObjectVersions' page. Pure: parse and render only.
public enum VersioningXML {
    public static let maxBodyBytes = 16 * 1024

    static let malformed = S3Error(.malformedXML, "The XML you provided was not well-formed or did not validate against our published schema.")

    /// The `Status` a PutBucketVersioning body sets ("Enabled" or
    /// "Suspended"; nil when it sets none). MFA delete is refused.
    public static func parseStatus(_ body: String) throws(S3Error) -> String? {
        let root: XMLElement
        do { root = try XMLReader.parse(body) } catch { throw malformed }
        guard root.localName == "VersioningConfiguration" else { throw malformed }
        for child in root.children where !["Status", "MfaDelete"].contains(child.localName) { throw malformed }
        if let mfa = root.first("MfaDelete") {
            switch mfa.text.trimmed {
            case "Disabled": break
            case "Enabled": throw S3Error(.notImplemented, "MFA delete is not implemented.")
            default: throw malformed
            }
        }
        guard let status = root.first("Status")?.text.trimmed else { return nil }
        guard status == "Enabled" || status == "Suspended" else { throw malformed }
        return status
    }

    public static func render(status: String?) -> String {
        S3XML.declaration + "<VersioningConfiguration xmlns=\"\(S3XML.namespace)\">"
            + (status.map { S3XML.element("Status", $0) } ?? "") + "</VersioningConfiguration>"
    }

    /// One `<Version>` or `<DeleteMarker>` of a ListObjectVersions answer.
    public struct Entry: Sendable {
        public var key: String
        public var versionID: String
        public var isLatest: Bool
        public var lastModified: String
        /// nil for a delete marker.
        public var etag: String?
        public var size: UInt64
        public var checksumAlgorithm: String?
        public init(key: String, versionID: String, isLatest: Bool, lastModified: String, etag: String?, size: UInt64,
                    checksumAlgorithm: String? = nil) {
            self.key = key; self.versionID = versionID; self.isLatest = isLatest; self.lastModified = lastModified
            self.etag = etag; self.size = size; self.checksumAlgorithm = checksumAlgorithm
        }
    }

    public struct Page: Sendable {
        public var bucket: String
        public var prefix: String
        public var delimiter: String?
        public var keyMarker: String?
        public var versionIDMarker: String?
        public var nextKeyMarker: String?
        public var nextVersionIDMarker: String?
        public var maxKeys: Int
        public var isTruncated: Bool
        public var entries: [Entry]
        public var commonPrefixes: [String]
        public var urlEncoded: Bool
        public var owner: (id: String, name: String)
        public init(bucket: String, prefix: String, delimiter: String?, keyMarker: String?, versionIDMarker: String?, nextKeyMarker: String?,
                    nextVersionIDMarker: String?, maxKeys: Int, isTruncated: Bool, entries: [Entry], commonPrefixes: [String],
                    urlEncoded: Bool, owner: (id: String, name: String)) {
            self.bucket = bucket; self.prefix = prefix; self.delimiter = delimiter; self.keyMarker = keyMarker
            self.versionIDMarker = versionIDMarker; self.nextKeyMarker = nextKeyMarker; self.nextVersionIDMarker = nextVersionIDMarker
            self.maxKeys = maxKeys; self.isTruncated = isTruncated; self.entries = entries; self.commonPrefixes = commonPrefixes
            self.urlEncoded = urlEncoded; self.owner = owner
        }
    }

    public static func renderList(_ page: Page) -> String {
        let encode: (String) -> String = { page.urlEncoded ? SigV4.uriEncode($0, keepSlash: true) : $0 }
        var out = S3XML.declaration + "<ListVersionsResult xmlns=\"\(S3XML.namespace)\">"
        out += S3XML.element("Name", page.bucket) + S3XML.element("Prefix", encode(page.prefix))
        out += S3XML.element("KeyMarker", encode(page.keyMarker ?? "")) + S3XML.element("VersionIdMarker", page.versionIDMarker ?? "")
        if page.isTruncated {
            if let next = page.nextKeyMarker { out += S3XML.element("NextKeyMarker", encode(next)) }
            if let next = page.nextVersionIDMarker { out += S3XML.element("NextVersionIdMarker", next) }
        }
        if let delimiter = page.delimiter { out += S3XML.element("Delimiter", encode(delimiter)) }
        out += S3XML.element("MaxKeys", String(page.maxKeys))
        if page.urlEncoded { out += S3XML.element("EncodingType", "url") }
        out += S3XML.element("IsTruncated", page.isTruncated ? "true" : "false")
        let owner = "<Owner>" + S3XML.element("ID", page.owner.id) + S3XML.element("DisplayName", page.owner.name) + "</Owner>"
        for entry in page.entries {
            let common = S3XML.element("Key", encode(entry.key)) + S3XML.element("VersionId", entry.versionID)
                + S3XML.element("IsLatest", entry.isLatest ? "true" : "false") + S3XML.element("LastModified", entry.lastModified)
            if let etag = entry.etag {
                out += "<Version>" + common + S3XML.element("ETag", "\"\(etag)\"") + S3XML.element("Size", String(entry.size))
                if let algorithm = entry.checksumAlgorithm { out += S3XML.element("ChecksumAlgorithm", algorithm) }
                out += S3XML.element("StorageClass", "STANDARD") + owner + "</Version>"
            } else {
                out += "<DeleteMarker>" + common + owner + "</DeleteMarker>"
            }
        }
        for prefix in page.commonPrefixes {
            out += "<CommonPrefixes>" + S3XML.element("Prefix", encode(prefix)) + "</CommonPrefixes>"
        }
        return out + "</ListVersionsResult>"
    }
}
