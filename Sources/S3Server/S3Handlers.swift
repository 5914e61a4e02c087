import Checksums
import ClusterModel
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Node
import Placement
import S3Protocol
import Units

/// One request's handlers: parse what S3 sends, call the service, render.
struct S3Handlers {
    let cluster: any ClusterControl
    let objects: any ObjectStore
    let region: String?
    let caller: Caller
    let query: [String: String]
    /// The request's headers, names lowercase.
    let headers: [(name: String, value: String)]
    /// Lets a client that sent `Expect: 100-continue` send its body: called
    /// right before a handler reads it, once nothing else can refuse the request.
    let sendContinue: @Sendable () async throws -> Void
    /// Whether SSE-C keys are taken over this plain-HTTP port (`s3_api.sse_c_allow_http`).
    var sseCAllowHTTP = false

    func header(_ name: String) -> String? { headers.first { $0.name == name }?.value }

    /// `Content-MD5`, decoded: nil when absent, `InvalidDigest` when not 16 bytes of base64.
    func contentMD5() throws(S3Error) -> [UInt8]? {
        guard let md5 = header("content-md5") else { return nil }
        guard let decoded = Base64.decode(md5), decoded.count == 16 else {
            throw S3Error(.invalidDigest, "The Content-MD5 you specified is not valid.")
        }
        return decoded
    }

    func xml(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/xml"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    // MARK: Buckets

    /// ListBuckets with `prefix`, `max-buckets` and `continuation-token` paging
    /// (all buckets when `max-buckets` is absent, as AWS does) and
    /// `bucket-region` (every bucket is in this cluster's region).
    func listBuckets() throws -> Response {
        var maxBuckets = BucketPage.maxBucketsLimit
        if let text = query["max-buckets"] {
            guard let n = Int(text), (1...BucketPage.maxBucketsLimit).contains(n) else {
                throw S3Error(.invalidArgument, "max-buckets must be an integer from 1 to \(BucketPage.maxBucketsLimit).")
            }
            maxBuckets = n
        }
        var cursor: String?
        if let token = query["continuation-token"] {
            guard let decoded = ContinuationToken.decode(token) else {
                throw S3Error(.invalidArgument, "The continuation token provided is incorrect")
            }
            cursor = decoded
        }
        let prefix = query["prefix"]
        var grants = caller.state.grants(of: caller.key.id)
        if let wanted = query["bucket-region"], wanted != (region ?? wanted) { grants = [] }
        let (page, next) = BucketPage.select(grants.map(\.bucket.name.rawValue), prefix: prefix, after: cursor, maxBuckets: maxBuckets)
        let created = Dictionary(grants.map { ($0.bucket.name.rawValue, $0.bucket.createdMillis) }, uniquingKeysWith: { a, _ in a })
        let buckets = page.map { S3XML.BucketEntry(name: $0, created: S3Dates.iso8601(created[$0] ?? 0)) }
        return xml(S3XML.listBuckets(buckets, ownerID: caller.key.id.rawValue, ownerName: caller.key.name,
                                     continuationToken: next.map(ContinuationToken.encode), prefix: prefix, region: region))
    }

    func createBucket(_ name: String, request: Request) async throws -> Response {
        if let existing = try? caller.state.bucket(named: name) {
            if caller.state.permissions(of: caller.key.id, on: existing.id).contains(.owner) {
                throw S3Error(.bucketAlreadyOwnedByYou, "Your previous request to create the named bucket succeeded and you already own it.")
            }
            throw S3Error(.bucketAlreadyExists, "The requested bucket name is not available.")
        }
        let configuration = try await smallBody(request, upTo: S3Limits.maxCreateBucketBodyBytes, what: "CreateBucketConfiguration")
        try BucketConfiguration.check(String(decoding: configuration, as: UTF8.self), region: region)
        do {
            _ = try await cluster.createBucket(name: name)
            try await cluster.setPermissions(bucket: name, key: caller.key.id.rawValue, permissions: [.read, .write, .owner], allowed: true)
        } catch { throw S3Error(error) }
        var fields = HTTPFields()
        fields[.location] = "/\(name)"
        return Response(status: .ok, headers: fields)
    }

    func deleteBucket(_ name: String, record: BucketRecord) async throws -> Response {
        do {
            guard try await objects.emptyForDeletion(bucket: record.bucketID) else {
                throw S3Error(.bucketNotEmpty, "The bucket you tried to delete is not empty.")
            }
        } catch let error as ObjectError { throw S3Error(error) }
        do { try await cluster.deleteBucket(name: name) { _ throws(NodeError) in true } } catch { throw S3Error(error) }
        return Response(status: .noContent)
    }

    /// The representation headers a write stores (Cache-Control, …), nil
    /// when none was sent; `contentEncoding` as sent, less `aws-chunked`.
    func storedContentHeaders(contentEncoding: String?) -> ContentHeaders? {
        let headers = ContentHeaders(
            cacheControl: header("cache-control"), contentDisposition: header("content-disposition"),
            contentEncoding: contentEncoding, contentLanguage: header("content-language"), expires: header("expires"))
        return headers.isEmpty ? nil : headers
    }

    // MARK: Listing

    /// A whole-number parameter (`max-keys`, `part-number-marker`, …): absent is
    /// `absent`, a value above `limit` is `limit`, anything else `InvalidArgument`.
    func count(_ text: String?, named name: String, absent: Int, limit: Int = .max) throws -> Int {
        guard let text, !text.isEmpty else { return absent }
        guard let n = Int(text), n >= 0 else { throw S3Error(.invalidArgument, "Provided \(name) not an integer or within integer range") }
        return min(n, limit)
    }

    func maxKeys() throws -> Int {
        try count(query["max-keys"], named: "max-keys", absent: S3Limits.maxListKeys, limit: S3Limits.maxListKeys)
    }

    func encodingIsURL() throws -> Bool {
        guard let encoding = query["encoding-type"] else { return false }
        guard encoding == "url" else { throw S3Error(.invalidArgument, "Invalid Encoding Method specified in Request") }
        return true
    }

    func entries(_ listing: ObjectService.Listing, owner: (id: String, name: String)? = nil) -> [S3XML.ObjectEntry] {
        listing.objects.map {
            S3XML.ObjectEntry(key: $0.key, lastModified: S3Dates.iso8601($0.version.lastModifiedMillis), etag: $0.version.etag,
                              size: $0.version.size, checksum: $0.version.checksum, owner: owner)
        }
    }

    /// An object's owner as listings show it. Buckets enforce bucket-owner
    /// ownership (`BucketOwnerEnforced`), so every object's owner is the
    /// bucket's: the key holding `owner` on it (the first by id), or the
    /// cluster itself for a bucket made by `shale bucket create` and owned by no key.
    func objectOwner(_ bucket: BucketRecord) -> (id: String, name: String) {
        let owners = caller.state.grants(on: bucket.id).filter { $0.permissions.contains(.owner) }.map(\.key)
        guard let first = owners.min(by: { $0.id.rawValue < $1.id.rawValue }) else { return ("shale", "shale") }
        return (first.id.rawValue, first.name)
    }

    func fetchOwner() throws -> Bool {
        switch query["fetch-owner"]?.lowercased() {
        case nil, "false": return false
        case "true": return true
        default: throw S3Error(.invalidArgument, "fetch-owner must be true or false.")
        }
    }

    func listObjectsV2(_ bucket: BucketRecord) async throws -> Response {
        let prefix = query["prefix"] ?? ""
        let delimiter = query["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        let maxKeys = try maxKeys()
        let urlEncoded = try encodingIsURL()
        var cursor = query["start-after"]
        if let token = query["continuation-token"] {
            guard let decoded = ContinuationToken.decode(token) else {
                throw S3Error(.invalidArgument, "The continuation token provided is incorrect")
            }
            cursor = decoded
        }
        let listing: ObjectService.Listing
        do { listing = try await objects.list(bucket: bucket.bucketID, prefix: prefix, delimiter: delimiter, after: cursor, maxKeys: maxKeys) } catch {
            throw S3Error(error)
        }
        let body = S3XML.listObjectsV2(S3XML.ListV2(
            bucket: bucket.name.rawValue, prefix: prefix, delimiter: delimiter, maxKeys: maxKeys,
            continuationToken: query["continuation-token"], startAfter: query["start-after"],
            nextContinuationToken: listing.isTruncated ? listing.nextCursor.map(ContinuationToken.encode) : nil,
            isTruncated: listing.isTruncated, objects: entries(listing, owner: try fetchOwner() ? objectOwner(bucket) : nil),
            commonPrefixes: listing.commonPrefixes, urlEncoded: urlEncoded))
        return xml(body)
    }

    func listObjectsV1(_ bucket: BucketRecord) async throws -> Response {
        let prefix = query["prefix"] ?? ""
        let delimiter = query["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        let maxKeys = try maxKeys()
        let urlEncoded = try encodingIsURL()
        let marker = query["marker"].flatMap { $0.isEmpty ? nil : $0 }
        let listing: ObjectService.Listing
        do { listing = try await objects.list(bucket: bucket.bucketID, prefix: prefix, delimiter: delimiter, after: marker, maxKeys: maxKeys) } catch {
            throw S3Error(error)
        }
        return xml(S3XML.listObjectsV1(
            bucket: bucket.name.rawValue, prefix: prefix, delimiter: delimiter, marker: marker,
            nextMarker: listing.isTruncated ? listing.nextCursor : nil, maxKeys: maxKeys, isTruncated: listing.isTruncated,
            objects: entries(listing, owner: objectOwner(bucket)), commonPrefixes: listing.commonPrefixes, urlEncoded: urlEncoded))
    }

    // MARK: Objects

    func putObject(_ bucket: BucketRecord, key: String, request: Request) async throws -> Response {
        let plan = try bodyPlan(request, maxBytes: S3Limits.maxPutObjectBytes,
                                tooLarge: "Your proposed upload exceeds the maximum allowed object size.")
        let expected = plan.expectations
        var put = ObjectService.PutRequest(
            bucket: bucket.bucketID, key: key, contentLength: expected.contentLength, contentType: request.headers[.contentType],
            userMetadata: try Self.userMetadata(request.headers), expectedMD5: expected.md5, expectedSHA256: expected.sha256,
            checksumAlgorithm: expected.checksumAlgorithm, expectedChecksum: expected.checksum,
            contentHeaders: storedContentHeaders(contentEncoding: plan.contentEncoding))
        put.trailingChecksum = expected.trailingChecksum
        put.condition = try writeCondition()
        put.tags = try requestTags()
        put.customerKey = try customerKey()
        try await sendContinue()
        let version: ObjectVersion
        do { version = try await objects.put(put, body: plan.stream(request.body)) } catch { throw S3Error(error) }
        var fields = HTTPFields()
        fields[.eTag] = "\"\(version.etag)\""
        Self.addEncryptionHeaders(version.encryption, to: &fields)
        Self.addVersionHeader(version.s3VersionID, to: &fields)
        if let stored = version.checksum {
            fields[HTTPField.Name(stored.algorithm.headerName)!] = stored.displayValue
            fields[HTTPField.Name("x-amz-checksum-type")!] = stored.checksumType.rawValue
        }
        return Response(status: .ok, headers: fields)
    }

    /// A write's `If-None-Match: *` or `If-Match: ETAG`, checked atomically with the write.
    func writeCondition() throws -> WriteCondition? {
        let noneMatch = header("if-none-match")?.trimmingCharacters(in: .whitespaces)
        let match = header("if-match")?.trimmingCharacters(in: .whitespaces)
        switch (noneMatch, match) {
        case (nil, nil): return nil
        case (.some, .some):
            throw S3Error(.notImplemented, "If-None-Match and If-Match together on a write are not implemented: send one.")
        case (let value?, nil):
            guard value == "*" else { throw S3Error(.notImplemented, "If-None-Match on a write takes only '*' (no object at the key).") }
            return .noObject
        case (nil, let value?):
            if value == "*" { return .etag(nil) }
            guard !value.contains(",") else { throw S3Error(.notImplemented, "If-Match on a write takes one ETag.") }
            return .etag(ETag.opaque(value))
        }
    }

    static func userMetadata(_ headers: HTTPFields) throws -> [String: String] {
        try userMetadata(headers.map { (name: $0.name.canonicalName, value: $0.value) })
    }

    /// `x-amz-meta-*` from header or form-field pairs (names lowercase): the
    /// names without the prefix, repeated ones joined, within S3's size limit.
    static func userMetadata(_ pairs: some Sequence<(name: String, value: String)>) throws -> [String: String] {
        var metadata: [String: String] = [:]
        var bytes = 0
        for (fullName, value) in pairs where fullName.hasPrefix("x-amz-meta-") {
            let name = String(fullName.dropFirst("x-amz-meta-".count))
            bytes += name.utf8.count + value.utf8.count
            metadata[name] = metadata[name].map { $0 + "," + value } ?? value
        }
        guard bytes <= S3Limits.maxUserMetadataBytes else {
            throw S3Error(.metadataTooLarge, "Your metadata headers exceed the maximum allowed metadata size.")
        }
        return metadata
    }

    func getObject(_ bucket: BucketRecord, key: String, request: Request, withBody: Bool) async throws -> Response {
        let version: ObjectVersion
        do { version = try await objects.head(bucket: bucket.bucketID, key: key, versionID: try requestedVersionID()) } catch let error as ObjectError {
            throw S3Error(error)
        }
        let decryptor = try openingDecryptor(version)
        var fields = HTTPFields()
        fields[.eTag] = "\"\(version.etag)\""
        fields[.lastModified] = S3Dates.rfc1123(version.lastModifiedMillis)
        Self.addVersionHeader(version.s3VersionID, to: &fields)
        Self.addEncryptionHeaders(version.encryption, to: &fields)
        switch ReadConditions(headers: headers).evaluate(etag: version.etag, lastModifiedSeconds: Int64(version.lastModifiedMillis / 1000)) {
        case .proceed: break
        case .notModified: return Response(status: .notModified, headers: fields)
        case .preconditionFailed(let header):
            throw S3Error(.preconditionFailed, "At least one of the pre-conditions you specified did not hold (\(header)).")
        }
        fields[.contentType] = version.contentType ?? "binary/octet-stream"
        fields[.acceptRanges] = "bytes"
        if let stored = version.contentHeaders {
            let named: [(HTTPField.Name, String?)] = [
                (.cacheControl, stored.cacheControl), (.contentDisposition, stored.contentDisposition),
                (.contentEncoding, stored.contentEncoding), (.contentLanguage, stored.contentLanguage),
                (HTTPField.Name("expires")!, stored.expires),
            ]
            for case let (name, value?) in named { fields[name] = value }
        }
        for (name, value) in version.userMetadata.sorted(by: { $0.key < $1.key }) {
            if let field = HTTPField.Name("x-amz-meta-" + name) { fields[field] = value }
        }
        if let tags = version.tags, !tags.isEmpty { fields[HTTPField.Name("x-amz-tagging-count")!] = String(tags.count) }
        if let expiration = expirationHeader(version, key: key, bucket: bucket) { fields[HTTPField.Name("x-amz-expiration")!] = expiration }
        for (name, value) in try ResponseOverrides.parse(query) { fields[HTTPField.Name(name)!] = value }
        var range = 0..<version.size
        var status = HTTPResponse.Status.ok
        var checksum = version.checksum
        if let part = try selectedPart(of: version, hasRange: request.headers[.range] != nil) {
            range = part.range
            status = .partialContent
            checksum = part.checksum
            if let count = version.parts?.count { fields[HTTPField.Name("x-amz-mp-parts-count")!] = String(count) }
            if !range.isEmpty { fields[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(version.size)" }
        } else if let header = request.headers[.range], let requested = ByteRange(header: header) {
            guard let resolved = requested.resolve(size: version.size) else {
                throw S3Error(.invalidRange, "The requested range is not satisfiable")
            }
            range = resolved
            status = .partialContent
            fields[.contentRange] = "bytes \(resolved.lowerBound)-\(resolved.upperBound - 1)/\(version.size)"
        }
        // A stored checksum covers the whole body (or the part asked for): sent only for answers that are all of it.
        if let stored = checksum, status == .ok || query["partNumber"] != nil, header("x-amz-checksum-mode")?.uppercased() == "ENABLED" {
            fields[HTTPField.Name(stored.algorithm.headerName)!] = stored.displayValue
            fields[HTTPField.Name("x-amz-checksum-type")!] = stored.checksumType.rawValue
        }
        fields[.contentLength] = String(range.count)
        guard withBody else { return Response(status: status, headers: fields) }
        let plan: ObjectService.ReadPlan
        do { plan = try await objects.planRead(version, bucket: bucket.bucketID, key: key) } catch { throw S3Error(error) }
        let objects = self.objects
        let selected = range
        let body = ResponseBody(contentLength: Int(selected.count)) { writer in
            var offset = selected.lowerBound
            try await objects.read(plan, range: selected) { buffer in
                guard let decryptor else { return try await writer.write(buffer) }
                let plain = try decryptor.apply(buffer.readableBytesView, at: offset)
                offset += UInt64(buffer.readableBytes)
                try await writer.write(ByteBuffer(bytes: plain))
            }
            // The answer's end: without it the connection stays mid-response (and a graceful shutdown waits on it).
            try await writer.finish(nil)
        }
        return Response(status: status, headers: fields, body: body)
    }

    /// GetObject's and HeadObject's `partNumber`: the bytes of the N-th part
    /// of a multipart object (1 for the whole of a single-part object).
    func selectedPart(of version: ObjectVersion, hasRange: Bool) throws -> (range: Range<UInt64>, checksum: ObjectChecksum?)? {
        guard let text = query["partNumber"] else { return nil }
        guard let number = Int(text), (1...S3Limits.maxPartNumber).contains(number) else {
            throw S3Error(.invalidArgument, "Part number must be an integer between 1 and \(S3Limits.maxPartNumber), inclusive.")
        }
        guard !hasRange else { throw S3Error(.invalidRequest, "Cannot specify both Range header and partNumber query parameter.") }
        guard let parts = version.parts else {
            guard number == 1 else { throw S3Error(.invalidPartNumber, "The requested partnumber is not satisfiable") }
            return (0..<version.size, version.checksum)
        }
        guard number <= parts.count else { throw S3Error(.invalidPartNumber, "The requested partnumber is not satisfiable") }
        let start = parts[..<(number - 1)].reduce(UInt64(0)) { $0 + $1.size }
        return (start..<(start + parts[number - 1].size), parts[number - 1].checksum)
    }

    /// DeleteObjects: up to 1000 keys (each with its VersionId, if any),
    /// each answered on its own (Deleted, with the version and delete
    /// marker it concerns, or Error); `Quiet` reports errors only.
    /// Content-MD5 or an `x-amz-checksum-*` is checked when sent, neither is required.
    func deleteObjects(_ bucket: BucketRecord, request: Request) async throws -> Response {
        let bytes = try await smallBody(request, upTo: DeleteObjectsRequest.maxBodyBytes, what: "Delete body")
        let parsed = try DeleteObjectsRequest.parse(String(decoding: bytes, as: UTF8.self))
        let objects = self.objects
        typealias Outcome = (Int, Result<ObjectService.DeleteOutcome, S3XML.DeleteError>)
        let outcomes: [Outcome] = await withTaskGroup(of: Outcome.self) { group in
            var results: [Outcome] = []
            var next = 0
            func add(_ index: Int) {
                let entry = parsed.objects[index]
                group.addTask {
                    guard !entry.key.isEmpty, entry.key.utf8.count <= S3Limits.maxKeyBytes, !entry.key.utf8.contains(1) else {
                        return (index, .failure(S3XML.DeleteError(key: entry.key, versionID: entry.versionID, code: S3Error.Code.keyTooLongError.rawValue,
                                                                  message: "The key is empty, too long, or holds U+0001.")))
                    }
                    do throws(ObjectError) {
                        return (index, .success(try await objects.delete(bucket: bucket.bucketID, key: entry.key, versionID: entry.versionID)))
                    } catch {
                        let mapped = S3Error(error)
                        return (index, .failure(S3XML.DeleteError(key: entry.key, versionID: entry.versionID, code: mapped.code.rawValue,
                                                                  message: mapped.message)))
                    }
                }
            }
            // A bounded number of deletes in flight, however many keys.
            while next < min(S3Limits.deleteObjectsParallelism, parsed.objects.count) { add(next); next += 1 }
            for await result in group {
                results.append(result)
                if next < parsed.objects.count { add(next); next += 1 }
            }
            return results.sorted { $0.0 < $1.0 }
        }
        var errors: [S3XML.DeleteError] = []
        var deleted: [S3XML.Deleted] = []
        for (index, outcome) in outcomes {
            switch outcome {
            case .failure(let error): errors.append(error)
            case .success(let done) where !parsed.quiet:
                let entry = parsed.objects[index]
                // A delete marker written (no version named) is reported by its own id.
                let wroteMarker = entry.versionID == nil && done.deleteMarker
                deleted.append(S3XML.Deleted(key: entry.key, versionID: entry.versionID, deleteMarker: done.deleteMarker,
                                             deleteMarkerVersionID: wroteMarker ? done.s3VersionID : nil))
            case .success: break
            }
        }
        return xml(S3XML.deleteResult(deleted: deleted, errors: errors))
    }

    func deleteObject(_ bucket: BucketRecord, key: String) async throws -> Response {
        let outcome: ObjectService.DeleteOutcome
        do { outcome = try await objects.delete(bucket: bucket.bucketID, key: key, versionID: try requestedVersionID()) } catch let error as ObjectError {
            throw S3Error(error)
        }
        var fields = HTTPFields()
        Self.addVersionHeader(outcome.s3VersionID, to: &fields)
        if outcome.deleteMarker { fields[HTTPField.Name("x-amz-delete-marker")!] = "true" }
        return Response(status: .noContent, headers: fields)
    }
}
