import ClusterModel
import Foundation
import HTTPTypes
import Hummingbird
import Metrics
import NIOCore
import Node
import S3Protocol
import Units

/// A browser-based upload: `POST /bucket` with a multipart/form-data body
/// whose fields carry a SigV4-signed policy. The fields before the file
/// are read and checked (signature, policy, permission) before any byte of
/// the file is taken; the file then streams into the PUT pipeline like any
/// body, its length known from the request's Content-Length.
final class FormUpload: @unchecked Sendable {
    // One consumer at a time: the handler reads the fields, then the pipeline reads the file.
    private var iterator: RequestBody.AsyncIterator
    private var parser: FormDataParser
    private var events: [FormDataParser.Event] = []
    private var fileDone = false

    init(body: RequestBody, parser: FormDataParser) {
        iterator = body.makeAsyncIterator()
        self.parser = parser
    }

    var fileOffset: Int? { parser.fileOffset }
    var closingLength: Int { parser.closingLength }

    /// The next event, reading more of the body when needed.
    private func nextEvent() async throws -> FormDataParser.Event {
        while events.isEmpty {
            guard let buffer = try await iterator.next() else {
                try Self.translate { () throws(FormDataParser.Failure) in try parser.finish() }
                throw S3Error(.incompleteBody, "The form ended early.")
            }
            events = try Self.translate { () throws(FormDataParser.Failure) in try parser.feed(buffer.readableBytesView) }
        }
        return events.removeFirst()
    }

    static func translate<T>(_ work: () throws(FormDataParser.Failure) -> T) throws -> T {
        do { return try work() } catch {
            switch error {
            case .malformed(let reason): throw S3Error(.malformedPOSTRequest, "The body of your POST request is not well-formed multipart/form-data: \(reason).")
            case .fieldTooLarge(let name): throw S3Error(.maxPostPreDataLengthExceeded, "Your POST request fields preceding the upload file were too large (\(name)).")
            case .fieldAfterFile(let name): throw S3Error(.invalidArgument, "The file must be the form's last field; \(name) follows it (AWS would ignore it).")
            }
        }
    }

    /// The fields before the file (names lowercased, as S3 compares them) and the file's part.
    func readFields() async throws -> (fields: [String: String], file: FormDataParser.Part) {
        var fields: [String: String] = [:]
        while true {
            switch try await nextEvent() {
            case .field(let name, let value):
                let lowered = name.lowercased()
                guard fields[lowered] == nil else { throw S3Error(.invalidArgument, "The form field \(name) appears twice.") }
                fields[lowered] = value
            case .fileStart(let part): return (fields, part)
            case .end, .fileEnd, .fileData: throw S3Error(.invalidArgument, "POST requires exactly one file upload per request.")
            }
        }
    }

    /// The file's next bytes; after its last, the rest of the form is read
    /// (nothing may follow the file) before the end is reported.
    func nextFileChunk() async throws -> ByteBuffer? {
        guard !fileDone else { return nil }
        while true {
            switch try await nextEvent() {
            case .fileData(let bytes): return ByteBuffer(bytes: bytes)
            case .fileEnd: continue
            case .end:
                fileDone = true
                return nil
            case .field, .fileStart: throw S3Error(.invalidArgument, "The file must be the form's last field.")
            }
        }
    }
}

/// The file part of a form as the body the pipeline reads.
struct FormFileBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let upload: FormUpload

    struct AsyncIterator: AsyncIteratorProtocol {
        let upload: FormUpload
        mutating func next() async throws -> ByteBuffer? { try await upload.nextFileChunk() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(upload: upload) }
}

/// What a form's fields ask for besides the file.
enum PostFields {
    /// Fields S3 defines that change what is stored and that Shale does not
    /// do: refused, never ignored.
    static func refuse(_ fields: [String: String]) throws {
        for (name, value) in fields {
            let refused: String?
            switch name {
            case "acl": refused = ["private", "bucket-owner-full-control"].contains(value.lowercased()) ? nil : "ACLs other than private"
            case "x-amz-storage-class": refused = value == "STANDARD" ? nil : "storage classes other than STANDARD"
            case "content-md5": refused = "Content-MD5 in a form"
            case "x-amz-website-redirect-location": refused = "static website hosting"
            default:
                if name.hasPrefix("x-amz-server-side-encryption") { refused = "server-side encryption" }
                else if name.hasPrefix("x-amz-object-lock") { refused = "object lock" }
                else if name.hasPrefix("x-amz-checksum-") { refused = "checksums in a form" }
                else if name.hasPrefix("x-amz-"), !known.contains(name), !name.hasPrefix("x-amz-meta-") { refused = name }
                else { refused = nil }
            }
            if let refused {
                throw S3Error(.notImplemented, "A form field you provided implies functionality that is not implemented: \(name) (\(refused)). See Docs/s3-compatibility.md.")
            }
        }
    }

    static let known: Set<String> = ["x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "x-amz-storage-class",
                                     "x-amz-security-token"]

}

extension S3Responder {
    func postObject(_ request: Request, bucketName: String, source: String?, sendContinue: @escaping @Sendable () async throws -> Void) async throws -> Response {
        guard let contentType = request.headers[.contentType] else {
            throw S3Error(.invalidArgument, "POST to a bucket is a browser upload: the body must be multipart/form-data.")
        }
        let parser = try FormUpload.translate { () throws(FormDataParser.Failure) in try FormDataParser(contentType: contentType) }
        guard let lengthText = request.headers[.contentLength], let total = Int(lengthText), total >= 0 else {
            throw S3Error(.missingContentLength, "You must provide the Content-Length HTTP header.")
        }
        // The credentials are in the body: the fields before the file must be read to check them.
        try await sendContinue()
        let upload = FormUpload(body: request.body, parser: parser)
        let (fields, file) = try await upload.readFields()

        let state = await cluster.state
        let now = cluster.wallClock.nowSeconds
        let presented = fields["x-amz-credential"].flatMap { $0.split(separator: "/").first.map(String.init) }
        let keyID = try limitingFailures(presentedKey: presented, source: source, state: state) {
            try PostPolicy.verifySignature(fields: fields, secretFor: { id in AccessKeyID(id).flatMap { state.secret(for: $0)?.rawValue } },
                                           region: region, nowSeconds: now)
        }
        guard let id = AccessKeyID(keyID), let key = state.keys[id.rawValue], !key.deleted else {
            throw S3Error(.invalidAccessKeyId, "The AWS Access Key Id you provided does not exist in our records.")
        }
        let policy = try PostPolicy(base64: fields["policy"] ?? "")
        let bucket: BucketRecord
        do { bucket = try state.bucket(named: bucketName) } catch { throw S3Error(.noSuchBucket, "The specified bucket does not exist.") }
        guard state.permissions(of: key.id, on: bucket.id).contains(.write) else { throw S3Error(.accessDenied, "Access Denied") }
        Counter(label: "shale_s3_requests_total", dimensions: [("operation", "PostObject")]).increment()
        try policy.check(fields: fields, bucket: bucketName, nowSeconds: now)
        try PostFields.refuse(fields)

        guard let keyField = fields["key"], !keyField.isEmpty else {
            throw S3Error(.invalidArgument, "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.")
        }
        let objectKey = keyField.replacingOccurrences(of: "${filename}", with: file.filename ?? "")
        guard objectKey.utf8.count <= S3Limits.maxKeyBytes else { throw S3Error(.keyTooLongError, "Your key is too long.") }
        guard !objectKey.utf8.contains(1) else { throw S3Error(.invalidArgument, "Object keys containing the control character U+0001 are not supported.") }
        let fileLength = total - (upload.fileOffset ?? total) - upload.closingLength
        guard fileLength >= 0 else { throw S3Error(.incompleteBody, "The form is shorter than its fields and closing boundary.") }
        if let range = policy.contentLengthRange {
            if Int64(fileLength) > range.upperBound { throw S3Error(.entityTooLarge, "Your proposed upload exceeds the maximum allowed size") }
            if Int64(fileLength) < range.lowerBound { throw S3Error(.entityTooSmall, "Your proposed upload is smaller than the minimum allowed size") }
        }
        guard fileLength <= S3Limits.maxPutObjectBytes else {
            throw S3Error(.entityTooLarge, "Your proposed upload exceeds the maximum allowed object size.")
        }
        let tags = try fields["tagging"].map { try Tagging.parse(xml: $0, for: .object) }
        let headers = ContentHeaders(cacheControl: fields["cache-control"], contentDisposition: fields["content-disposition"],
                                     contentEncoding: fields["content-encoding"], contentLanguage: nil, expires: fields["expires"])
        var put = ObjectService.PutRequest(bucket: bucket.bucketID, key: objectKey, contentLength: fileLength, contentType: fields["content-type"],
                                           userMetadata: try S3Handlers.userMetadata(fields.map { (name: $0.key, value: $0.value) }), expectedMD5: nil, expectedSHA256: nil,
                                           contentHeaders: headers.isEmpty ? nil : headers)
        put.tags = tags.flatMap { $0.isEmpty ? nil : $0.map { ObjectTag(key: $0.key, value: $0.value) } }
        let version: ObjectVersion
        do { version = try await objects.put(put, body: FormFileBody(upload: upload)) } catch { throw S3Error(error) }
        var answer = Self.postAnswer(fields: fields, bucket: bucketName, key: objectKey, etag: version.etag, host: request.head.authority)
        S3Handlers.addVersionHeader(version.s3VersionID, to: &answer.headers)
        return answer
    }

    /// `success_action_redirect` (303 to it, with bucket, key and ETag),
    /// else `success_action_status` 200, 201 (an XML answer) or 204 (the default).
    static func postAnswer(fields: [String: String], bucket: String, key: String, etag: String, host: String?) -> Response {
        var headers = HTTPFields()
        headers[.eTag] = "\"\(etag)\""
        let location = "http://\(host ?? "localhost")/\(SigV4.uriEncode(bucket, keepSlash: false))/\(SigV4.uriEncode(key, keepSlash: true))"
        headers[.location] = location
        if let redirect = fields["success_action_redirect"] ?? fields["redirect"], !redirect.isEmpty {
            let query = "bucket=\(SigV4.uriEncode(bucket, keepSlash: false))&key=\(SigV4.uriEncode(key, keepSlash: false))&etag=\(SigV4.uriEncode("\"\(etag)\"", keepSlash: false))"
            headers[.location] = redirect + (redirect.contains("?") ? "&" : "?") + query
            return Response(status: .seeOther, headers: headers)
        }
        switch fields["success_action_status"] {
        case "200": return Response(status: .ok, headers: headers)
        case "201":
            headers[.contentType] = "application/xml"
            let xml = S3XML.declaration + "<PostResponse><Location>\(S3XML.escape(location))</Location><Bucket>\(S3XML.escape(bucket))</Bucket>"
                + "<Key>\(S3XML.escape(key))</Key><ETag>\"\(etag)\"</ETag></PostResponse>"
            return Response(status: .created, headers: headers, body: .init(byteBuffer: ByteBuffer(string: xml)))
        default: return Response(status: .noContent, headers: headers)
        }
    }
}
