/// Object and bucket tags as S3 sends and shows them: the `<Tagging>` body
/// of Put/GetObjectTagging and Put/GetBucketTagging, and the URL-encoded
/// `x-amz-tagging` header of PutObject, CopyObject and
/// CreateMultipartUpload. Pure; AWS's limits are checked here.
public enum Tagging {
    public struct Tag: Sendable, Equatable, Hashable {
        public let key: String
        public let value: String
        public init(key: String, value: String) { self.key = key; self.value = value }
    }

    /// Where a tag set goes: an object takes at most 10 tags, a bucket 50.
    public enum Target: Sendable {
        case object, bucket
        public var maxTags: Int { self == .object ? 10 : 50 }
    }

    public static let maxKeyCharacters = 128
    public static let maxValueCharacters = 256
    /// A tagging body of 50 tags at their longest is under 40 KiB.
    public static let maxBodyBytes = 64 * 1024

    /// A `<Tagging><TagSet><Tag><Key/><Value/></Tag>…` body.
    public static func parse(xml body: String, for target: Target) throws(S3Error) -> [Tag] {
        let malformed = S3Error(.malformedXML, "The XML you provided was not well-formed or did not validate against our published schema.")
        let root: XMLElement
        do { root = try XMLReader.parse(body) } catch { throw malformed }
        guard root.localName == "Tagging", let tagSet = root.first("TagSet") else { throw malformed }
        var tags: [Tag] = []
        for element in tagSet.children {
            guard element.localName == "Tag", let key = element.first("Key") else { throw malformed }
            tags.append(Tag(key: key.text, value: element.first("Value")?.text ?? ""))
        }
        try validate(tags, for: target)
        return tags
    }

    /// The `x-amz-tagging` header: `key1=value1&key2=value2`, URL-encoded.
    public static func parse(header: String, for target: Target) throws(S3Error) -> [Tag] {
        var tags: [Tag] = []
        for pair in header.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = SigV4.percentDecode(String(parts[0]), plusIsSpace: true),
                  let value = SigV4.percentDecode(parts.count > 1 ? String(parts[1]) : "", plusIsSpace: true) else {
                throw S3Error(.invalidArgument, "The x-amz-tagging header is not valid URL-encoded UTF-8.")
            }
            tags.append(Tag(key: key, value: value))
        }
        try validate(tags, for: target)
        return tags
    }

    /// AWS's rules: at most 10 (object) or 50 (bucket) tags, keys of 1–128
    /// characters and unique, values of at most 256, no `aws:` keys (those are AWS's own).
    public static func validate(_ tags: [Tag], for target: Target) throws(S3Error) {
        guard tags.count <= target.maxTags else {
            throw S3Error(.invalidTag, target == .object ? "Object tags cannot be greater than 10" : "Bucket tag count cannot be greater than 50")
        }
        var seen: Set<String> = []
        for tag in tags {
            guard (1...maxKeyCharacters).contains(tag.key.count) else {
                throw S3Error(.invalidTag, "The TagKey you have provided is invalid: a key has 1 to \(maxKeyCharacters) characters.")
            }
            guard tag.value.count <= maxValueCharacters else {
                throw S3Error(.invalidTag, "The TagValue you have provided is invalid: a value has at most \(maxValueCharacters) characters.")
            }
            guard !tag.key.lowercased().hasPrefix("aws:") else {
                throw S3Error(.invalidTag, "System tags cannot be added/updated by requester (keys starting with aws: are reserved).")
            }
            guard seen.insert(tag.key).inserted else {
                throw S3Error(.invalidTag, "Cannot provide multiple Tags with the same key: \(tag.key)")
            }
        }
    }

    /// GetObjectTagging's and GetBucketTagging's answer.
    public static func xml(_ tags: [Tag]) -> String {
        var out = S3XML.declaration + "<Tagging xmlns=\"\(S3XML.namespace)\"><TagSet>"
        for tag in tags { out += "<Tag>" + S3XML.element("Key", tag.key) + S3XML.element("Value", tag.value) + "</Tag>" }
        return out + "</TagSet></Tagging>"
    }
}
