import Checksums

/// The XML bodies of S3 answers, rendered by hand: a handful of fixed
/// shapes, every text value escaped. Pure; dates come in as ISO 8601 text.
public enum S3XML {
    public static let declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    public static let namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // XML 1.0 cannot carry most control characters even escaped; S3 uses
                // encoding-type=url for such keys, so they never reach here raw.
                // A raw CR would be read back as LF (XML end-of-line handling), so it is escaped too.
                if scalar.value < 0x20 && scalar != "\t" && scalar != "\n" {
                    out += "&#x\(String(scalar.value, radix: 16));"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    static func element(_ name: String, _ value: String) -> String { "<\(name)>\(escape(value))</\(name)>" }

    /// `<Error>` with code, message, resource and request id.
    public static func error(code: String, message: String, resource: String, requestID: String) -> String {
        declaration + "<Error>" + element("Code", code) + element("Message", message) + element("Resource", resource)
            + element("RequestId", requestID) + "</Error>"
    }

    public struct BucketEntry: Sendable { public let name: String; public let created: String
        public init(name: String, created: String) { self.name = name; self.created = created } }

    /// ListBuckets; `continuationToken` is the next page's token, `prefix`
    /// the one asked for, `region` each bucket's BucketRegion (when set).
    public static func listBuckets(_ buckets: [BucketEntry], ownerID: String, ownerName: String, continuationToken: String? = nil,
                                   prefix: String? = nil, region: String? = nil) -> String {
        var out = declaration + "<ListAllMyBucketsResult xmlns=\"\(namespace)\">"
        out += "<Owner>" + element("ID", ownerID) + element("DisplayName", ownerName) + "</Owner><Buckets>"
        for bucket in buckets {
            out += "<Bucket>" + element("Name", bucket.name) + element("CreationDate", bucket.created)
            if let region, !region.isEmpty { out += element("BucketRegion", region) }
            out += "</Bucket>"
        }
        out += "</Buckets>"
        if let continuationToken { out += element("ContinuationToken", continuationToken) }
        if let prefix { out += element("Prefix", prefix) }
        return out + "</ListAllMyBucketsResult>"
    }

    public struct ObjectEntry: Sendable {
        public let key: String
        public let lastModified: String
        public let etag: String
        public let size: UInt64
        public let checksum: ObjectChecksum?
        /// `fetch-owner=true` (ListObjectsV2) and ListObjects: the owner's id and display name.
        public let owner: (id: String, name: String)?
        public init(key: String, lastModified: String, etag: String, size: UInt64, checksum: ObjectChecksum? = nil,
                    owner: (id: String, name: String)? = nil) {
            self.key = key; self.lastModified = lastModified; self.etag = etag; self.size = size
            self.checksum = checksum; self.owner = owner
        }

        func contents(_ encode: (String) -> String) -> String {
            var out = "<Contents>" + element("Key", encode(key)) + element("LastModified", lastModified)
                + element("ETag", "\"\(etag)\"") + element("Size", String(size))
            if let owner { out += "<Owner>" + element("ID", owner.id) + element("DisplayName", owner.name) + "</Owner>" }
            if let checksum {
                out += element("ChecksumAlgorithm", checksum.algorithm.rawValue) + element("ChecksumType", checksum.checksumType.rawValue)
            }
            return out + element("StorageClass", "STANDARD") + "</Contents>"
        }
    }

    public struct ListV2: Sendable {
        public var bucket: String
        public var prefix: String
        public var delimiter: String?
        public var maxKeys: Int
        public var continuationToken: String?
        public var startAfter: String?
        public var nextContinuationToken: String?
        public var isTruncated: Bool
        public var objects: [ObjectEntry]
        public var commonPrefixes: [String]
        /// `encoding-type=url`: keys and prefixes are URL-encoded in the answer.
        public var urlEncoded: Bool

        public init(bucket: String, prefix: String, delimiter: String?, maxKeys: Int, continuationToken: String?,
                    startAfter: String?, nextContinuationToken: String?, isTruncated: Bool, objects: [ObjectEntry],
                    commonPrefixes: [String], urlEncoded: Bool) {
            self.bucket = bucket; self.prefix = prefix; self.delimiter = delimiter; self.maxKeys = maxKeys
            self.continuationToken = continuationToken; self.startAfter = startAfter
            self.nextContinuationToken = nextContinuationToken; self.isTruncated = isTruncated
            self.objects = objects; self.commonPrefixes = commonPrefixes; self.urlEncoded = urlEncoded
        }
    }

    public static func listObjectsV2(_ list: ListV2) -> String {
        let encode: (String) -> String = { list.urlEncoded ? SigV4.uriEncode($0, keepSlash: true) : $0 }
        var out = declaration + "<ListBucketResult xmlns=\"\(namespace)\">"
        out += element("Name", list.bucket) + element("Prefix", encode(list.prefix))
        if let delimiter = list.delimiter { out += element("Delimiter", encode(delimiter)) }
        out += element("MaxKeys", String(list.maxKeys)) + element("KeyCount", String(list.objects.count + list.commonPrefixes.count))
        if list.urlEncoded { out += element("EncodingType", "url") }
        out += element("IsTruncated", list.isTruncated ? "true" : "false")
        if let token = list.continuationToken { out += element("ContinuationToken", token) }
        if let token = list.nextContinuationToken { out += element("NextContinuationToken", token) }
        if let startAfter = list.startAfter { out += element("StartAfter", encode(startAfter)) }
        for object in list.objects { out += object.contents(encode) }
        for prefix in list.commonPrefixes {
            out += "<CommonPrefixes>" + element("Prefix", encode(prefix)) + "</CommonPrefixes>"
        }
        return out + "</ListBucketResult>"
    }

    /// ListObjects (version 1): marker-based paging.
    public static func listObjectsV1(bucket: String, prefix: String, delimiter: String?, marker: String?, nextMarker: String?,
                                     maxKeys: Int, isTruncated: Bool, objects: [ObjectEntry], commonPrefixes: [String], urlEncoded: Bool) -> String {
        let encode: (String) -> String = { urlEncoded ? SigV4.uriEncode($0, keepSlash: true) : $0 }
        var out = declaration + "<ListBucketResult xmlns=\"\(namespace)\">"
        // Version 1 leaves Prefix as sent even under encoding-type=url: AWS does,
        // and the SDKs (botocore's decode_list_object) decode every field but it.
        out += element("Name", bucket) + element("Prefix", prefix) + element("Marker", encode(marker ?? ""))
        if let nextMarker { out += element("NextMarker", encode(nextMarker)) }
        if let delimiter { out += element("Delimiter", encode(delimiter)) }
        out += element("MaxKeys", String(maxKeys))
        if urlEncoded { out += element("EncodingType", "url") }
        out += element("IsTruncated", isTruncated ? "true" : "false")
        for object in objects { out += object.contents(encode) }
        for prefix in commonPrefixes {
            out += "<CommonPrefixes>" + element("Prefix", encode(prefix)) + "</CommonPrefixes>"
        }
        return out + "</ListBucketResult>"
    }

    public static func locationConstraint(_ region: String) -> String {
        declaration + "<LocationConstraint xmlns=\"\(namespace)\">" + escape(region) + "</LocationConstraint>"
    }
}
