/// Headers and query parameters that change what S3 does and that Shale does
/// not implement. A request carrying one is refused before any handler runs,
/// so nothing is ever executed as something other than what was asked
/// (a copy that stores nothing, an encryption that does not happen, a
/// condition that is not checked). Docs/s3-api.md shows this same table; a
/// unit test keeps the two equal, and an integration test sends every row.
public enum RequestRefusals {
    /// What a rule looks at.
    public enum Field: Sendable, Equatable {
        case header(String)
        case headerPrefix(String)
        case query(String)
        case queryPrefix(String)

        public var display: String {
            switch self {
            case .header(let name): return "`\(name)`"
            case .headerPrefix(let prefix): return "`\(prefix)*`"
            case .query(let name): return "`?\(name)`"
            case .queryPrefix(let prefix): return "`?\(prefix)*`"
            }
        }
    }

    /// Which values of the field are refused.
    public enum Refused: Sendable, Equatable {
        case anyValue
        /// Every value but these (compared without regard to case).
        case anyValueExcept([String])
        /// Values that hold this comma-separated token (`Content-Encoding: gzip, aws-chunked`).
        case valuesWithToken(String)

        func refuses(_ value: String) -> Bool {
            switch self {
            case .anyValue: return true
            case .anyValueExcept(let allowed): return !allowed.contains { $0.lowercased() == value.trimmed.lowercased() }
            case .valuesWithToken(let token):
                return value.split(separator: ",").contains { String($0).trimmed.lowercased() == token }
            }
        }

        public var display: String {
            switch self {
            case .anyValue: return "any value"
            case .anyValueExcept(let allowed): return "any value but " + allowed.map { "`\($0)`" }.joined(separator: ", ")
            case .valuesWithToken(let token): return "a value holding `\(token)`"
            }
        }
    }

    /// The operations a rule applies to.
    public enum Scope: Sendable, Equatable {
        case all
        case allExcept([S3Operation.Name])
        case only([S3Operation.Name])

        func covers(_ operation: S3Operation.Name) -> Bool {
            switch self {
            case .all: return true
            case .allExcept(let names): return !names.contains(operation)
            case .only(let names): return names.contains(operation)
            }
        }

        public var display: String {
            switch self {
            case .all: return "every operation"
            case .allExcept(let names): return "all but " + names.map(\.rawValue).joined(separator: ", ")
            case .only(let names): return names.map(\.rawValue).joined(separator: ", ")
            }
        }
    }

    /// A request that trips the rule: what the integration test sends.
    public struct Probe: Sendable, Equatable {
        /// Where the probe goes; the test maps each to a real path.
        public enum Target: String, Sendable {
            case existingObject = "existing object"
            case newObject = "new object"
            case existingBucket = "existing bucket"
            case newBucket = "new bucket"
        }

        public let method: String
        public let target: Target
        /// `name: value` for a header, `?name=value` for a query parameter.
        public let field: String

        public var display: String { "\(method) \(target.rawValue) · \(field)" }
    }

    public struct Rule: Sendable, Equatable {
        public let field: Field
        public let refused: Refused
        public let scope: Scope
        public let code: S3Error.Code
        public let reason: String
        public let probe: Probe

        init(_ field: Field, refusing refused: Refused = .anyValue, on scope: Scope = .all, code: S3Error.Code = .notImplemented,
             why reason: String, probe: Probe) {
            self.field = field; self.refused = refused; self.scope = scope; self.code = code; self.reason = reason; self.probe = probe
        }
    }

    static func put(_ target: Probe.Target, _ field: String) -> Probe { Probe(method: "PUT", target: target, field: field) }
    static func put(_ field: String) -> Probe { put(.newObject, field) }
    static func get(_ target: Probe.Target, _ field: String) -> Probe { Probe(method: "GET", target: target, field: field) }
    static func get(_ field: String) -> Probe { get(.existingObject, field) }

    static let conditionalWriteReason = "conditions are evaluated on GetObject and HeadObject, and atomically on PutObject and CompleteMultipartUpload; elsewhere they would be ignored"
    static let conditionalReason = "date conditions on writes are not implemented (PutObject takes If-None-Match and If-Match); GET and HEAD evaluate them"

    public static let rules: [Rule] = [
        Rule(.headerPrefix("x-amz-copy-source"), on: .allExcept([.copyObject, .uploadPartCopy]),
             why: "a copy source belongs to CopyObject (PUT of an object) and UploadPartCopy; elsewhere it would be ignored",
             probe: get("x-amz-copy-source: /data/existing")),
        Rule(.header("x-amz-metadata-directive"), on: .allExcept([.copyObject]), why: "belongs to CopyObject (a PUT with x-amz-copy-source)",
             probe: put("x-amz-metadata-directive: REPLACE")),
        Rule(.header("x-amz-tagging-directive"), on: .allExcept([.copyObject]),
             why: "belongs to CopyObject (a PUT with x-amz-copy-source)",
             probe: put("x-amz-tagging-directive: COPY")),
        Rule(.header("if-match"), on: .allExcept([.getObject, .headObject, .putObject, .completeMultipartUpload]), why: conditionalWriteReason,
             probe: Probe(method: "DELETE", target: .existingObject, field: "If-Match: \"0123456789abcdef0123456789abcdef\"")),
        Rule(.header("if-none-match"), on: .allExcept([.getObject, .headObject, .putObject, .completeMultipartUpload]), why: conditionalWriteReason,
             probe: Probe(method: "DELETE", target: .existingObject, field: "If-None-Match: *")),
        Rule(.header("if-modified-since"), on: .allExcept([.getObject, .headObject]), why: conditionalReason,
             probe: put(.existingObject, "If-Modified-Since: Thu, 01 Jan 2099 00:00:00 GMT")),
        Rule(.header("if-unmodified-since"), on: .allExcept([.getObject, .headObject]), why: conditionalReason,
             probe: put(.existingObject, "If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT")),
        Rule(.headerPrefix("x-amz-if-"), why: "conditions on size and times (directory buckets) are not implemented",
             probe: Probe(method: "DELETE", target: .existingObject, field: "x-amz-if-match-size: 1")),
        Rule(.header("x-amz-server-side-encryption"), why: "SSE-S3 and SSE-KMS are not implemented (SSE-C is); Shale will not store plaintext for a client that asked for encryption",
             probe: put("x-amz-server-side-encryption: AES256")),
        Rule(.headerPrefix("x-amz-server-side-encryption-aws-kms"), why: "SSE-KMS is not implemented",
             probe: put("x-amz-server-side-encryption-aws-kms-key-id: key")),
        Rule(.header("x-amz-server-side-encryption-context"), why: "SSE-KMS is not implemented",
             probe: put("x-amz-server-side-encryption-context: e30=")),
        Rule(.header("x-amz-server-side-encryption-bucket-key-enabled"), why: "SSE-KMS bucket keys are not implemented",
             probe: put("x-amz-server-side-encryption-bucket-key-enabled: true")),
        Rule(.headerPrefix("x-amz-server-side-encryption-customer-"),
             on: .allExcept([.putObject, .getObject, .headObject, .getObjectAttributes, .createMultipartUpload, .uploadPart, .copyObject, .uploadPartCopy]),
             why: "an SSE-C key belongs to the requests that write or read an object's bytes; elsewhere it would be ignored",
             probe: get(.existingBucket, "x-amz-server-side-encryption-customer-algorithm: AES256")),
        Rule(.headerPrefix("x-amz-object-lock-"), why: "object lock (retention, legal hold) is not implemented",
             probe: put("x-amz-object-lock-mode: GOVERNANCE")),
        Rule(.header("x-amz-bucket-object-lock-enabled"), refusing: .anyValueExcept(["false"]), why: "object lock is not implemented",
             probe: put(.newBucket, "x-amz-bucket-object-lock-enabled: true")),
        Rule(.header("x-amz-bypass-governance-retention"), why: "object lock is not implemented",
             probe: Probe(method: "DELETE", target: .existingObject, field: "x-amz-bypass-governance-retention: true")),
        Rule(.headerPrefix("x-amz-grant-"), why: "ACL grants are not implemented: access comes from `shale bucket allow`",
             probe: put("x-amz-grant-read: id=someone")),
        Rule(.header("x-amz-acl"), refusing: .anyValueExcept(["private", "bucket-owner-full-control"]),
             why: "ACLs are not implemented; `private` and `bucket-owner-full-control` describe what Shale does anyway",
             probe: put("x-amz-acl: public-read")),
        Rule(.header("x-amz-object-ownership"), refusing: .anyValueExcept(["BucketOwnerEnforced"]),
             why: "ACLs are not implemented; `BucketOwnerEnforced` describes what Shale does anyway",
             probe: put(.newBucket, "x-amz-object-ownership: ObjectWriter")),
        Rule(.header("x-amz-tagging"), on: .allExcept([.putObject, .copyObject, .createMultipartUpload]),
             why: "x-amz-tagging gives a new object its tags (PutObject, CopyObject, CreateMultipartUpload); elsewhere it would be ignored (PutObjectTagging and PutBucketTagging take a body)",
             probe: put(.newBucket, "x-amz-tagging: team=data")),
        Rule(.header("x-amz-website-redirect-location"), why: "static website hosting is not implemented",
             probe: put("x-amz-website-redirect-location: /elsewhere")),
        Rule(.header("x-amz-storage-class"), refusing: .anyValueExcept(["STANDARD"]), why: "Shale has one storage class, STANDARD",
             probe: put("x-amz-storage-class: GLACIER")),
        Rule(.header("x-amz-expected-bucket-owner"), why: "bucket owners are Shale keys, not AWS accounts: the condition cannot be checked",
             probe: get(.existingBucket, "x-amz-expected-bucket-owner: 123456789012")),
        Rule(.header("x-amz-mfa"), why: "MFA delete is not implemented",
             probe: Probe(method: "DELETE", target: .existingObject, field: "x-amz-mfa: 123 456")),
        Rule(.header("x-amz-write-offset-bytes"), why: "appends (directory buckets) are not implemented",
             probe: put(.existingObject, "x-amz-write-offset-bytes: 5")),
        Rule(.header("x-amz-checksum-type"), refusing: .anyValueExcept(["FULL_OBJECT"]), on: .only([.putObject]), code: .invalidRequest,
             why: "a single PUT's checksum covers its whole body; COMPOSITE checksums belong to multipart uploads",
             probe: put("x-amz-checksum-type: COMPOSITE")),
        Rule(.headerPrefix("x-amz-checksum-"),
             on: .allExcept([.putObject, .getObject, .headObject, .deleteObjects, .createMultipartUpload, .uploadPart, .completeMultipartUpload,
                             .putObjectTagging, .putBucketTagging, .putBucketCors, .putBucketAcl, .putObjectAcl, .putBucketLifecycle,
                             .putBucketVersioning]),
             why: "body checksums are verified on PutObject, UploadPart, DeleteObjects and the Put…Tagging, Put…Acl, PutBucketCors, PutBucketLifecycleConfiguration and PutBucketVersioning documents, and chosen on CreateMultipartUpload",
             probe: put(.newBucket, "x-amz-checksum-crc32: AAAAAA==")),
        Rule(.header("x-amz-trailer"), on: .allExcept([.putObject, .uploadPart]), why: "aws-chunked bodies are taken by PutObject and UploadPart only",
             probe: put(.newBucket, "x-amz-trailer: x-amz-checksum-crc32")),
        Rule(.header("x-amz-decoded-content-length"), on: .allExcept([.putObject, .uploadPart]),
             why: "aws-chunked bodies are taken by PutObject and UploadPart only",
             probe: put(.newBucket, "x-amz-decoded-content-length: 5")),
        Rule(.header("content-encoding"), refusing: .valuesWithToken("aws-chunked"), on: .allExcept([.putObject, .uploadPart]),
             why: "aws-chunked bodies are taken by PutObject and UploadPart only",
             probe: put(.newBucket, "Content-Encoding: aws-chunked")),
        Rule(.query("versionId"),
             on: .allExcept([.getObject, .headObject, .deleteObject, .getObjectTagging, .putObjectTagging, .deleteObjectTagging,
                             .getObjectAttributes, .getObjectAcl, .putObjectAcl]),
             why: "a version id addresses one version on GET, HEAD, DELETE and the object's tagging, attributes and ACL; elsewhere it would be ignored",
             probe: put(.existingObject, "?versionId=3HL4kqtJlcpXroDTDmjVBH40Nrjfkd")),
        Rule(.queryPrefix("response-"), on: .allExcept([.getObject, .headObject]), why: "response header overrides belong to GetObject and HeadObject",
             probe: get(.existingBucket, "?response-content-type=text/plain")),
    ]

    /// The first rule the request trips, if any. Header names are lowercase.
    public static func check(_ operation: S3Operation.Name, headers: [(name: String, value: String)], query: [String: String])
        throws(S3Error)
    {
        for rule in rules where rule.scope.covers(operation) {
            switch rule.field {
            case .header(let name):
                for header in headers where header.name == name && rule.refused.refuses(header.value) {
                    throw refusal(rule, naming: header.name)
                }
            case .headerPrefix(let prefix):
                for header in headers where header.name.hasPrefix(prefix) && rule.refused.refuses(header.value) {
                    throw refusal(rule, naming: header.name)
                }
            case .query(let name):
                if let value = query[name], rule.refused.refuses(value) { throw refusal(rule, naming: "?" + name) }
            case .queryPrefix(let prefix):
                for (name, value) in query.sorted(by: { $0.key < $1.key }) where name.hasPrefix(prefix) && rule.refused.refuses(value) {
                    throw refusal(rule, naming: "?" + name)
                }
            }
        }
    }

    static func refusal(_ rule: Rule, naming field: String) -> S3Error {
        S3Error(rule.code, "A header or parameter you provided implies functionality that is not implemented: \(field) (\(rule.reason)). See Docs/s3-api.md.")
    }

    /// The table as Docs/s3-api.md shows it (between its markers).
    public static var markdownTable: String {
        var lines = ["| field | refused | on | answer | example | why |", "|---|---|---|---|---|---|"]
        for rule in rules {
            lines.append("| \(rule.field.display) | \(rule.refused.display) | \(rule.scope.display) | \(rule.code.status) \(rule.code.rawValue) | \(rule.probe.display) | \(rule.reason) |")
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
