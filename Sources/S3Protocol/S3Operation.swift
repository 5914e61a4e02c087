/// Every S3 request Shale understands, named once. The permission an
/// operation needs is derived here, before any handler runs.
public enum S3Operation: Equatable, Sendable {
    case listBuckets
    case createBucket(bucket: String)
    case headBucket(bucket: String)
    case deleteBucket(bucket: String)
    case getBucketLocation(bucket: String)
    case listObjectsV2(bucket: String)
    case listObjects(bucket: String)
    case putObject(bucket: String, key: String)
    case getObject(bucket: String, key: String)
    case headObject(bucket: String, key: String)
    case deleteObject(bucket: String, key: String)
    case deleteObjects(bucket: String)
    case createMultipartUpload(bucket: String, key: String)
    case uploadPart(bucket: String, key: String)
    case completeMultipartUpload(bucket: String, key: String)
    case abortMultipartUpload(bucket: String, key: String)
    case listParts(bucket: String, key: String)
    case listMultipartUploads(bucket: String)
    case copyObject(bucket: String, key: String)
    case uploadPartCopy(bucket: String, key: String)
    case getObjectAttributes(bucket: String, key: String)
    case getObjectTagging(bucket: String, key: String)
    case putObjectTagging(bucket: String, key: String)
    case deleteObjectTagging(bucket: String, key: String)
    case getObjectAcl(bucket: String, key: String)
    case putObjectAcl(bucket: String, key: String)
    case getBucketTagging(bucket: String)
    case putBucketTagging(bucket: String)
    case deleteBucketTagging(bucket: String)
    case getBucketAcl(bucket: String)
    case putBucketAcl(bucket: String)
    case getBucketCors(bucket: String)
    case putBucketCors(bucket: String)
    case deleteBucketCors(bucket: String)
    case getBucketLifecycle(bucket: String)
    case putBucketLifecycle(bucket: String)
    case deleteBucketLifecycle(bucket: String)
    case getBucketVersioning(bucket: String)
    case putBucketVersioning(bucket: String)
    case listObjectVersions(bucket: String)
    /// A browser-based upload (POST of a form to the bucket).
    case postObject(bucket: String)
    /// A real S3 operation Shale does not offer (yet): answered NotImplemented.
    case notImplemented(String)

    /// The operation's S3 name, without its bucket and key.
    public enum Name: String, Sendable, CaseIterable {
        case listBuckets = "ListBuckets"
        case createBucket = "CreateBucket"
        case headBucket = "HeadBucket"
        case deleteBucket = "DeleteBucket"
        case getBucketLocation = "GetBucketLocation"
        case listObjectsV2 = "ListObjectsV2"
        case listObjects = "ListObjects"
        case putObject = "PutObject"
        case getObject = "GetObject"
        case headObject = "HeadObject"
        case deleteObject = "DeleteObject"
        case deleteObjects = "DeleteObjects"
        case createMultipartUpload = "CreateMultipartUpload"
        case uploadPart = "UploadPart"
        case completeMultipartUpload = "CompleteMultipartUpload"
        case abortMultipartUpload = "AbortMultipartUpload"
        case listParts = "ListParts"
        case listMultipartUploads = "ListMultipartUploads"
        case copyObject = "CopyObject"
        case uploadPartCopy = "UploadPartCopy"
        case getObjectAttributes = "GetObjectAttributes"
        case getObjectTagging = "GetObjectTagging"
        case putObjectTagging = "PutObjectTagging"
        case deleteObjectTagging = "DeleteObjectTagging"
        case getObjectAcl = "GetObjectAcl"
        case putObjectAcl = "PutObjectAcl"
        case getBucketTagging = "GetBucketTagging"
        case putBucketTagging = "PutBucketTagging"
        case deleteBucketTagging = "DeleteBucketTagging"
        case getBucketAcl = "GetBucketAcl"
        case putBucketAcl = "PutBucketAcl"
        case getBucketCors = "GetBucketCors"
        case putBucketCors = "PutBucketCors"
        case deleteBucketCors = "DeleteBucketCors"
        case getBucketLifecycle = "GetBucketLifecycleConfiguration"
        case putBucketLifecycle = "PutBucketLifecycleConfiguration"
        case deleteBucketLifecycle = "DeleteBucketLifecycle"
        case getBucketVersioning = "GetBucketVersioning"
        case putBucketVersioning = "PutBucketVersioning"
        case listObjectVersions = "ListObjectVersions"
        case postObject = "PostObject"
        case notImplemented = "NotImplemented"
    }

    public var name: Name {
        switch self {
        case .listBuckets: return .listBuckets
        case .createBucket: return .createBucket
        case .headBucket: return .headBucket
        case .deleteBucket: return .deleteBucket
        case .getBucketLocation: return .getBucketLocation
        case .listObjectsV2: return .listObjectsV2
        case .listObjects: return .listObjects
        case .putObject: return .putObject
        case .getObject: return .getObject
        case .headObject: return .headObject
        case .deleteObject: return .deleteObject
        case .deleteObjects: return .deleteObjects
        case .createMultipartUpload: return .createMultipartUpload
        case .uploadPart: return .uploadPart
        case .completeMultipartUpload: return .completeMultipartUpload
        case .abortMultipartUpload: return .abortMultipartUpload
        case .listParts: return .listParts
        case .listMultipartUploads: return .listMultipartUploads
        case .copyObject: return .copyObject
        case .uploadPartCopy: return .uploadPartCopy
        case .getObjectAttributes: return .getObjectAttributes
        case .getObjectTagging: return .getObjectTagging
        case .putObjectTagging: return .putObjectTagging
        case .deleteObjectTagging: return .deleteObjectTagging
        case .getObjectAcl: return .getObjectAcl
        case .putObjectAcl: return .putObjectAcl
        case .getBucketTagging: return .getBucketTagging
        case .putBucketTagging: return .putBucketTagging
        case .deleteBucketTagging: return .deleteBucketTagging
        case .getBucketAcl: return .getBucketAcl
        case .putBucketAcl: return .putBucketAcl
        case .getBucketCors: return .getBucketCors
        case .putBucketCors: return .putBucketCors
        case .deleteBucketCors: return .deleteBucketCors
        case .getBucketLifecycle: return .getBucketLifecycle
        case .putBucketLifecycle: return .putBucketLifecycle
        case .deleteBucketLifecycle: return .deleteBucketLifecycle
        case .getBucketVersioning: return .getBucketVersioning
        case .putBucketVersioning: return .putBucketVersioning
        case .listObjectVersions: return .listObjectVersions
        case .postObject: return .postObject
        case .notImplemented: return .notImplemented
        }
    }

    /// What a key must hold on the bucket.
    public enum Access: Equatable, Sendable {
        /// Any valid key (the answer is filtered to what it may see).
        case authenticated
        /// Any valid key; creating a bucket makes the key its owner.
        case createBucket
        case read, write, owner
    }

    public var access: Access {
        switch self {
        case .listBuckets, .notImplemented: return .authenticated
        case .createBucket: return .createBucket
        case .headBucket, .getBucketLocation, .listObjectsV2, .listObjects, .getObject, .headObject, .listParts, .listMultipartUploads,
             .getObjectAttributes, .getObjectTagging, .getObjectAcl, .getBucketTagging, .getBucketAcl, .getBucketCors, .getBucketLifecycle,
             .getBucketVersioning, .listObjectVersions:
            return .read
        case .putObject, .deleteObject, .deleteObjects, .createMultipartUpload, .uploadPart, .completeMultipartUpload, .abortMultipartUpload,
             .copyObject, .uploadPartCopy, .putObjectTagging, .deleteObjectTagging, .putObjectAcl, .postObject:
            // A copy also needs read on its source bucket, checked by its handler.
            return .write
        // A bucket's configuration is its owner's to change.
        case .deleteBucket, .putBucketTagging, .deleteBucketTagging, .putBucketAcl, .putBucketCors, .deleteBucketCors, .putBucketLifecycle, .deleteBucketLifecycle,
             .putBucketVersioning: return .owner
        }
    }

    public var bucket: String? {
        switch self {
        case .listBuckets, .notImplemented: return nil
        case .createBucket(let b), .headBucket(let b), .deleteBucket(let b), .getBucketLocation(let b),
             .listObjectsV2(let b), .listObjects(let b), .deleteObjects(let b), .listMultipartUploads(let b),
             .getBucketTagging(let b), .putBucketTagging(let b), .deleteBucketTagging(let b), .getBucketAcl(let b), .putBucketAcl(let b),
             .getBucketCors(let b), .putBucketCors(let b), .deleteBucketCors(let b), .postObject(let b),
             .getBucketLifecycle(let b), .putBucketLifecycle(let b), .deleteBucketLifecycle(let b),
             .getBucketVersioning(let b), .putBucketVersioning(let b), .listObjectVersions(let b): return b
        case .getObjectTagging(let b, _), .putObjectTagging(let b, _), .deleteObjectTagging(let b, _), .getObjectAcl(let b, _),
             .putObjectAcl(let b, _), .putObject(let b, _), .getObject(let b, _), .headObject(let b, _), .deleteObject(let b, _),
             .createMultipartUpload(let b, _), .uploadPart(let b, _), .completeMultipartUpload(let b, _),
             .abortMultipartUpload(let b, _), .listParts(let b, _), .copyObject(let b, _), .uploadPartCopy(let b, _),
             .getObjectAttributes(let b, _): return b
        }
    }

    /// Sub-resources that select another operation on a bucket or object.
    static let bucketSubresources: Set<String> = [
        "acl", "analytics", "cors", "delete", "encryption", "intelligent-tiering", "inventory", "lifecycle", "logging",
        "metrics", "notification", "object-lock", "ownershipControls", "policy", "policyStatus", "publicAccessBlock",
        "replication", "requestPayment", "tagging", "uploads", "versioning", "versions", "website", "accelerate",
    ]
    static let objectSubresources: Set<String> = [
        "acl", "attributes", "legal-hold", "restore", "retention", "select", "tagging", "torrent", "uploads", "uploadId",
    ]

    /// The bucket a virtual-host request names: `BUCKET.<rootDomain>` in
    /// the Host (any port), or nil for the root domain itself and other hosts.
    public static func virtualHostBucket(host: String?, rootDomain: String?) -> String? {
        guard let rootDomain, var host = host?.lowercased() else { return nil }
        if let colon = host.lastIndex(of: ":"), !host.hasSuffix("]") { host = String(host[..<colon]) }
        guard host.hasSuffix("." + rootDomain) else { return nil }
        let bucket = String(host.dropLast(rootDomain.count + 1))
        return bucket.isEmpty ? nil : bucket
    }

    /// The bucket (empty for the service) and key a request's path names.
    public static func target(rawPath: String, virtualBucket: String? = nil) throws(S3Error) -> (bucket: String, key: String?) {
        guard let path = SigV4.percentDecode(rawPath) else { throw S3Error(.invalidURI, "The path is not valid percent-encoded UTF-8.") }
        guard path.hasPrefix("/") else { throw S3Error(.invalidURI, "The path must start with '/'.") }
        let rest = virtualBucket.map { $0 + path } ?? String(path.dropFirst())
        guard let slash = rest.firstIndex(of: "/") else { return (rest, nil) }
        let key = String(rest[rest.index(after: slash)...])
        return (String(rest[..<slash]), key.isEmpty ? nil : key)
    }

    /// Routes a request. `rawPath` is as sent (percent-encoded); `query`
    /// holds the decoded query parameters. `virtualBucket`, from the Host
    /// header, names the bucket of a virtual-host request, whose path is
    /// then the key alone.
    public static func route(method: String, rawPath: String, query: [String: String], virtualBucket: String? = nil) throws(S3Error) -> S3Operation {
        let (bucket, key) = try target(rawPath: rawPath, virtualBucket: virtualBucket)
        if bucket.isEmpty {
            guard method == "GET" else { throw S3Error(.methodNotAllowed, "The specified method is not allowed against this resource.") }
            return .listBuckets
        }
        if let key {
            guard key.utf8.count <= S3Limits.maxKeyBytes else { throw S3Error(.keyTooLongError, "Your key is too long.") }
            // U+0001 separates a key from its upload or version id in the metadata tables' row keys.
            guard !key.utf8.contains(1) else { throw S3Error(.invalidArgument, "Object keys containing the control character U+0001 are not supported.") }
            if let multipart = try multipartOperation(method: method, bucket: bucket, key: key, query: query) { return multipart }
            if query["attributes"] != nil && method == "GET" { return .getObjectAttributes(bucket: bucket, key: key) }
            if query["tagging"] != nil {
                switch method {
                case "GET": return .getObjectTagging(bucket: bucket, key: key)
                case "PUT": return .putObjectTagging(bucket: bucket, key: key)
                case "DELETE": return .deleteObjectTagging(bucket: bucket, key: key)
                default: throw S3Error(.methodNotAllowed, "The specified method is not allowed against this resource.")
                }
            }
            if query["acl"] != nil {
                switch method {
                case "GET": return .getObjectAcl(bucket: bucket, key: key)
                case "PUT": return .putObjectAcl(bucket: bucket, key: key)
                default: throw S3Error(.methodNotAllowed, "The specified method is not allowed against this resource.")
                }
            }
            if let sub = query.keys.first(where: { objectSubresources.contains($0) }) {
                return .notImplemented("\(method) object ?\(sub)")
            }
            switch method {
            case "PUT":
                if query["partNumber"] != nil {
                    throw S3Error(.invalidArgument, "partNumber belongs to UploadPart, which also needs uploadId.")
                }
                return .putObject(bucket: bucket, key: key)
            case "GET": return .getObject(bucket: bucket, key: key)
            case "HEAD": return .headObject(bucket: bucket, key: key)
            case "DELETE": return .deleteObject(bucket: bucket, key: key)
            case "POST": return .notImplemented("POST object")
            default: throw S3Error(.methodNotAllowed, "The specified method is not allowed against this resource.")
            }
        }
        if query["location"] != nil && method == "GET" { return .getBucketLocation(bucket: bucket) }
        if query["delete"] != nil && method == "POST" { return .deleteObjects(bucket: bucket) }
        if query["uploads"] != nil && method == "GET" { return .listMultipartUploads(bucket: bucket) }
        if query["versions"] != nil && method == "GET" { return .listObjectVersions(bucket: bucket) }
        if let configuration = try bucketConfigurationOperation(method: method, bucket: bucket, query: query) { return configuration }
        if let sub = query.keys.first(where: { bucketSubresources.contains($0) }) {
            return .notImplemented("\(method) bucket ?\(sub)")
        }
        switch method {
        case "PUT": return .createBucket(bucket: bucket)
        case "HEAD": return .headBucket(bucket: bucket)
        case "DELETE": return .deleteBucket(bucket: bucket)
        case "GET": return query["list-type"] == "2" ? .listObjectsV2(bucket: bucket) : .listObjects(bucket: bucket)
        case "POST": return .postObject(bucket: bucket)
        default: throw S3Error(.methodNotAllowed, "The specified method is not allowed against this resource.")
        }
    }
}

extension S3Operation {
    /// The operation a header turns a route into: a PUT with
    /// `x-amz-copy-source` copies (CopyObject, UploadPartCopy).
    public func refined(headers: [(name: String, value: String)]) -> S3Operation {
        guard headers.contains(where: { $0.name == "x-amz-copy-source" }) else { return self }
        switch self {
        case .putObject(let bucket, let key): return .copyObject(bucket: bucket, key: key)
        case .uploadPart(let bucket, let key): return .uploadPartCopy(bucket: bucket, key: key)
        default: return self
        }
    }

    /// The bucket configurations Shale keeps, by sub-resource: the
    /// operations of GET, PUT and (where S3 has one) DELETE.
    static let bucketConfigurations: [(subresource: String, get: @Sendable (String) -> S3Operation, put: @Sendable (String) -> S3Operation,
                                       delete: (@Sendable (String) -> S3Operation)?)] = [
        ("tagging", S3Operation.getBucketTagging, S3Operation.putBucketTagging, S3Operation.deleteBucketTagging),
        ("acl", S3Operation.getBucketAcl, S3Operation.putBucketAcl, nil),
        ("cors", S3Operation.getBucketCors, S3Operation.putBucketCors, S3Operation.deleteBucketCors),
        ("lifecycle", S3Operation.getBucketLifecycle, S3Operation.putBucketLifecycle, S3Operation.deleteBucketLifecycle),
        ("versioning", S3Operation.getBucketVersioning, S3Operation.putBucketVersioning, nil),
    ]

    static func bucketConfigurationOperation(method: String, bucket: String, query: [String: String]) throws(S3Error) -> S3Operation? {
        guard let entry = bucketConfigurations.first(where: { query[$0.subresource] != nil }) else { return nil }
        switch method {
        case "GET": return entry.get(bucket)
        case "PUT": return entry.put(bucket)
        case "DELETE" where entry.delete != nil: return entry.delete!(bucket)
        default: throw S3Error(.methodNotAllowed, "The specified method is not allowed against this resource.")
        }
    }

    /// The multipart operations on a key, chosen by `?uploads` and `?uploadId`.
    static func multipartOperation(method: String, bucket: String, key: String, query: [String: String]) throws(S3Error) -> S3Operation? {
        if query["uploads"] != nil {
            guard method == "POST" else { return nil }
            return .createMultipartUpload(bucket: bucket, key: key)
        }
        guard query["uploadId"] != nil else { return nil }
        switch method {
        case "PUT":
            guard query["partNumber"] != nil else {
                throw S3Error(.invalidArgument, "UploadPart needs partNumber beside uploadId.")
            }
            return .uploadPart(bucket: bucket, key: key)
        case "POST": return .completeMultipartUpload(bucket: bucket, key: key)
        case "DELETE": return .abortMultipartUpload(bucket: bucket, key: key)
        case "GET": return .listParts(bucket: bucket, key: key)
        default: throw S3Error(.methodNotAllowed, "The specified method is not allowed against this resource.")
        }
    }
}

public enum S3Limits {
    public static let maxKeyBytes = 1024
    public static let maxListKeys = 1000
    /// The largest single PUT S3 accepts (5 GiB).
    public static let maxPutObjectBytes: Int = 5 << 30
    public static let maxUserMetadataBytes = 2048
    /// A CreateBucketConfiguration is a few hundred bytes; anything past this is not one.
    public static let maxCreateBucketBodyBytes = 64 * 1024
    /// The largest part and the most parts S3 takes in a multipart upload.
    public static let maxPartBytes: Int = 5 << 30
    public static let maxPartNumber = 10_000
    public static let maxListParts = 1000
    public static let maxListUploads = 1000
    /// A CompleteMultipartUpload of 10000 parts with checksums.
    public static let maxCompleteBodyBytes = 4 << 20
    /// Deletes of one DeleteObjects request in flight at once.
    public static let deleteObjectsParallelism = 8
}

/// CreateBucket's optional body, `<CreateBucketConfiguration>`: Shale reads
/// its LocationConstraint and refuses what it would otherwise ignore.
public enum BucketConfiguration {
    /// `region`: the configured `s3_region` (nil accepts any constraint).
    public static func check(_ body: String, region: String?) throws(S3Error) {
        guard !body.trimmed.isEmpty else { return }
        let malformed = S3Error(.malformedXML, "The XML you provided was not well-formed or did not validate against our published schema.")
        let root: XMLElement
        do { root = try XMLReader.parse(body) } catch { throw malformed }
        guard root.localName == "CreateBucketConfiguration" else { throw malformed }
        for element in ["Location", "Bucket", "Tags"] where root.first(element) != nil {
            throw S3Error(.notImplemented, "CreateBucketConfiguration <\(element)> (directory buckets, tags at creation) is not implemented.")
        }
        let constraint = root.first("LocationConstraint")?.text.trimmed ?? ""
        if let region, !constraint.isEmpty, constraint != region {
            throw S3Error(.illegalLocationConstraint, "The \(constraint) location constraint is incompatible with this cluster's region, \(region).")
        }
    }
}

/// GetObject's and HeadObject's `response-*` query parameters: the response
/// headers they replace. Parameters of that prefix that S3 does not define
/// are refused, so none is silently ignored.
public enum ResponseOverrides {
    public static let headers: [String: String] = [
        "response-content-type": "content-type", "response-content-language": "content-language",
        "response-expires": "expires", "response-cache-control": "cache-control",
        "response-content-disposition": "content-disposition", "response-content-encoding": "content-encoding",
    ]

    /// (header name, value) pairs to set on the answer.
    public static func parse(_ query: [String: String]) throws(S3Error) -> [(name: String, value: String)] {
        var overrides: [(name: String, value: String)] = []
        for (name, value) in query.sorted(by: { $0.key < $1.key }) where name.hasPrefix("response-") {
            guard let header = headers[name] else {
                throw S3Error(.invalidArgument, "\(name) is not a response header override S3 defines.")
            }
            overrides.append((header, value))
        }
        return overrides
    }
}
