import Checksums

/// CopyObject's and UploadPartCopy's source: `x-amz-copy-source`
/// (`/bucket/key` or `bucket/key`, percent-encoded), its byte range and
/// its conditions. Pure.
public struct CopySource: Equatable, Sendable {
    public let bucket: String
    public let key: String
    /// `?versionId=`: the source version (nil: the key's latest).
    public let versionID: String?

    public init(bucket: String, key: String, versionID: String? = nil) { self.bucket = bucket; self.key = key; self.versionID = versionID }

    public static func parse(_ header: String) throws(S3Error) -> CopySource {
        var text = Substring(header.trimmed)
        var versionID: String?
        if let question = text.firstIndex(of: "?") {
            let query = text[text.index(after: question)...]
            guard query.hasPrefix("versionId="), !query.contains("&") else {
                throw S3Error(.invalidArgument, "Invalid copy source: only ?versionId may follow the key.")
            }
            guard let id = SigV4.percentDecode(String(query.dropFirst("versionId=".count))), !id.isEmpty else {
                throw S3Error(.invalidArgument, "Invalid copy source: the version id is empty or badly encoded.")
            }
            versionID = id
            text = text[..<question]
        }
        if text.hasPrefix("arn:") { throw S3Error(.notImplemented, "Access point ARNs as copy sources are not implemented.") }
        if text.hasPrefix("/") { text = text.dropFirst() }
        guard let decoded = SigV4.percentDecode(String(text)) else {
            throw S3Error(.invalidArgument, "Invalid copy source encoding.")
        }
        guard let slash = decoded.firstIndex(of: "/") else {
            throw S3Error(.invalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey.")
        }
        let bucket = String(decoded[..<slash]), key = String(decoded[decoded.index(after: slash)...])
        guard !bucket.isEmpty, !key.isEmpty else {
            throw S3Error(.invalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey.")
        }
        guard key.utf8.count <= S3Limits.maxKeyBytes else { throw S3Error(.keyTooLongError, "Your key is too long.") }
        return CopySource(bucket: bucket, key: key, versionID: versionID)
    }

    /// `x-amz-copy-source-range: bytes=first-last` (both given) within a source of `size`.
    public static func range(_ header: String, size: UInt64) throws(S3Error) -> Range<UInt64> {
        guard case .from(let first, let last?)? = ByteRange(header: header.trimmed) else {
            throw S3Error(.invalidArgument, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
        }
        guard last < size else {
            throw S3Error(.invalidRange, "The requested range is not satisfiable: the source has \(size) bytes.")
        }
        return first..<(last + 1)
    }

    /// `x-amz-copy-source-if-*`, read like GET's conditions; for a copy a
    /// condition that does not hold is always 412.
    public static func conditions(_ headers: [(name: String, value: String)]) -> ReadConditions {
        let prefix = "x-amz-copy-source-"
        let renamed = headers.filter { $0.name.hasPrefix(prefix + "if-") }.map { (name: String($0.name.dropFirst(prefix.count)), value: $0.value) }
        return ReadConditions(headers: renamed)
    }
}

extension S3XML {
    public static func copyObjectResult(etag: String, lastModified: String, checksum: ObjectChecksum?) -> String {
        declaration + "<CopyObjectResult xmlns=\"\(namespace)\">" + element("ETag", "\"\(etag)\"") + element("LastModified", lastModified)
            + checksumElements(checksum) + "</CopyObjectResult>"
    }

    public static func copyPartResult(etag: String, lastModified: String, checksum: ObjectChecksum?) -> String {
        declaration + "<CopyPartResult xmlns=\"\(namespace)\">" + element("ETag", "\"\(etag)\"") + element("LastModified", lastModified)
            + checksumElements(checksum) + "</CopyPartResult>"
    }
}
