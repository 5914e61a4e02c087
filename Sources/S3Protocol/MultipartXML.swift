import Checksums

/// CompleteMultipartUpload's request body: the parts to join, in order,
/// each with its ETag and any checksum the client computed for it.
public struct CompleteMultipartUploadRequest: Equatable, Sendable {
    public struct Part: Equatable, Sendable {
        public let number: Int
        /// Without quotes.
        public let etag: String
        public let checksum: ObjectChecksum?
        public init(number: Int, etag: String, checksum: ObjectChecksum?) { self.number = number; self.etag = etag; self.checksum = checksum }
    }

    public let parts: [Part]

    public static func parse(_ body: String) throws(S3Error) -> CompleteMultipartUploadRequest {
        let malformed = S3Error(.malformedXML, "The XML you provided was not well-formed or did not validate against our published schema.")
        let root: XMLElement
        do { root = try XMLReader.parse(body) } catch { throw malformed }
        guard root.localName == "CompleteMultipartUpload" else { throw malformed }
        var parts: [Part] = []
        for element in root.all("Part") {
            guard let numberText = element.first("PartNumber")?.text.trimmed, let number = Int(numberText),
                  let etag = element.first("ETag")?.text.trimmed, !etag.isEmpty else { throw malformed }
            guard (1...S3Limits.maxPartNumber).contains(number) else {
                throw S3Error(.invalidArgument, "Part number must be an integer between 1 and \(S3Limits.maxPartNumber), inclusive.")
            }
            var checksum: ObjectChecksum?
            for algorithm in ChecksumAlgorithm.allCases {
                guard let value = element.first("Checksum" + algorithm.rawValue)?.text.trimmed else { continue }
                guard checksum == nil, let digest = Base64.decode(value), digest.count == algorithm.digestByteCount else {
                    throw S3Error(.invalidRequest, "Part \(number) carries an invalid or second checksum.")
                }
                checksum = ObjectChecksum(algorithm: algorithm, digest: digest)
            }
            parts.append(Part(number: number, etag: ETag.opaque(etag), checksum: checksum))
        }
        guard !parts.isEmpty else {
            throw S3Error(.malformedXML, "The XML you provided was not well-formed or did not validate against our published schema: it names no part.")
        }
        return CompleteMultipartUploadRequest(parts: parts)
    }
}

extension S3XML {
    public static func initiateMultipartUpload(bucket: String, key: String, uploadID: String) -> String {
        declaration + "<InitiateMultipartUploadResult xmlns=\"\(namespace)\">" + element("Bucket", bucket) + element("Key", key)
            + element("UploadId", uploadID) + "</InitiateMultipartUploadResult>"
    }

    static func checksumElements(_ checksum: ObjectChecksum?) -> String {
        guard let checksum else { return "" }
        return element("Checksum" + checksum.algorithm.rawValue, checksum.displayValue)
    }

    public static func completeMultipartUpload(location: String, bucket: String, key: String, etag: String, checksum: ObjectChecksum?) -> String {
        var out = declaration + "<CompleteMultipartUploadResult xmlns=\"\(namespace)\">" + element("Location", location)
            + element("Bucket", bucket) + element("Key", key) + element("ETag", "\"\(etag)\"")
        if let checksum {
            out += checksumElements(checksum) + element("ChecksumType", checksum.checksumType.rawValue)
        }
        return out + "</CompleteMultipartUploadResult>"
    }

    public struct PartEntry: Sendable {
        public let number: Int
        public let lastModified: String
        public let etag: String
        public let size: UInt64
        public let checksum: ObjectChecksum?
        public init(number: Int, lastModified: String, etag: String, size: UInt64, checksum: ObjectChecksum?) {
            self.number = number; self.lastModified = lastModified; self.etag = etag; self.size = size; self.checksum = checksum
        }
    }

    public struct PartsPage: Sendable {
        public let bucket: String
        public let key: String
        public let uploadID: String
        public let partNumberMarker: Int
        public let nextPartNumberMarker: Int?
        public let maxParts: Int
        public let isTruncated: Bool
        public let parts: [PartEntry]
        public let ownerID: String
        public let ownerName: String
        public let checksumAlgorithm: ChecksumAlgorithm?
        public let checksumType: ChecksumType?
        public init(bucket: String, key: String, uploadID: String, partNumberMarker: Int, nextPartNumberMarker: Int?, maxParts: Int,
                    isTruncated: Bool, parts: [PartEntry], ownerID: String, ownerName: String, checksumAlgorithm: ChecksumAlgorithm?,
                    checksumType: ChecksumType?) {
            self.bucket = bucket; self.key = key; self.uploadID = uploadID; self.partNumberMarker = partNumberMarker
            self.nextPartNumberMarker = nextPartNumberMarker; self.maxParts = maxParts; self.isTruncated = isTruncated; self.parts = parts
            self.ownerID = ownerID; self.ownerName = ownerName; self.checksumAlgorithm = checksumAlgorithm; self.checksumType = checksumType
        }
    }

    public static func listParts(_ page: PartsPage) -> String {
        var out = declaration + "<ListPartsResult xmlns=\"\(namespace)\">" + element("Bucket", page.bucket) + element("Key", page.key)
            + element("UploadId", page.uploadID) + element("PartNumberMarker", String(page.partNumberMarker))
        if let next = page.nextPartNumberMarker { out += element("NextPartNumberMarker", String(next)) }
        out += element("MaxParts", String(page.maxParts)) + element("IsTruncated", page.isTruncated ? "true" : "false")
        out += "<Initiator>" + element("ID", page.ownerID) + element("DisplayName", page.ownerName) + "</Initiator>"
        out += "<Owner>" + element("ID", page.ownerID) + element("DisplayName", page.ownerName) + "</Owner>"
        out += element("StorageClass", "STANDARD")
        if let algorithm = page.checksumAlgorithm { out += element("ChecksumAlgorithm", algorithm.rawValue) }
        if let type = page.checksumType { out += element("ChecksumType", type.rawValue) }
        for part in page.parts {
            out += "<Part>" + element("PartNumber", String(part.number)) + element("LastModified", part.lastModified)
                + element("ETag", "\"\(part.etag)\"") + element("Size", String(part.size)) + checksumElements(part.checksum) + "</Part>"
        }
        return out + "</ListPartsResult>"
    }

    public struct UploadEntry: Sendable {
        public let key: String
        public let uploadID: String
        public let initiated: String
        public let checksumAlgorithm: ChecksumAlgorithm?
        public let checksumType: ChecksumType?
        public init(key: String, uploadID: String, initiated: String, checksumAlgorithm: ChecksumAlgorithm?, checksumType: ChecksumType?) {
            self.key = key; self.uploadID = uploadID; self.initiated = initiated
            self.checksumAlgorithm = checksumAlgorithm; self.checksumType = checksumType
        }
    }

    public struct UploadsPage: Sendable {
        public let bucket: String
        public let prefix: String
        public let delimiter: String?
        public let keyMarker: String
        public let uploadIDMarker: String
        public let nextKeyMarker: String?
        public let nextUploadIDMarker: String?
        public let maxUploads: Int
        public let isTruncated: Bool
        public let uploads: [UploadEntry]
        public let commonPrefixes: [String]
        public let ownerID: String
        public let ownerName: String
        public let urlEncoded: Bool
        public init(bucket: String, prefix: String, delimiter: String?, keyMarker: String, uploadIDMarker: String, nextKeyMarker: String?,
                    nextUploadIDMarker: String?, maxUploads: Int, isTruncated: Bool, uploads: [UploadEntry], commonPrefixes: [String],
                    ownerID: String, ownerName: String, urlEncoded: Bool) {
            self.bucket = bucket; self.prefix = prefix; self.delimiter = delimiter; self.keyMarker = keyMarker
            self.uploadIDMarker = uploadIDMarker; self.nextKeyMarker = nextKeyMarker; self.nextUploadIDMarker = nextUploadIDMarker
            self.maxUploads = maxUploads; self.isTruncated = isTruncated; self.uploads = uploads; self.commonPrefixes = commonPrefixes
            self.ownerID = ownerID; self.ownerName = ownerName; self.urlEncoded = urlEncoded
        }
    }

    public static func listMultipartUploads(_ page: UploadsPage) -> String {
        let text: (String) -> String = { page.urlEncoded ? SigV4.uriEncode($0, keepSlash: true) : $0 }
        var out = declaration + "<ListMultipartUploadsResult xmlns=\"\(namespace)\">" + element("Bucket", page.bucket)
            + element("KeyMarker", text(page.keyMarker)) + element("UploadIdMarker", page.uploadIDMarker)
        if let next = page.nextKeyMarker { out += element("NextKeyMarker", text(next)) }
        if let next = page.nextUploadIDMarker { out += element("NextUploadIdMarker", next) }
        out += element("Prefix", text(page.prefix))
        if let delimiter = page.delimiter { out += element("Delimiter", text(delimiter)) }
        out += element("MaxUploads", String(page.maxUploads)) + element("IsTruncated", page.isTruncated ? "true" : "false")
        if page.urlEncoded { out += element("EncodingType", "url") }
        for upload in page.uploads {
            out += "<Upload>" + element("Key", text(upload.key)) + element("UploadId", upload.uploadID)
            out += "<Initiator>" + element("ID", page.ownerID) + element("DisplayName", page.ownerName) + "</Initiator>"
            out += "<Owner>" + element("ID", page.ownerID) + element("DisplayName", page.ownerName) + "</Owner>"
            out += element("StorageClass", "STANDARD") + element("Initiated", upload.initiated)
            if let algorithm = upload.checksumAlgorithm { out += element("ChecksumAlgorithm", algorithm.rawValue) }
            if let type = upload.checksumType { out += element("ChecksumType", type.rawValue) }
            out += "</Upload>"
        }
        for prefix in page.commonPrefixes { out += "<CommonPrefixes>" + element("Prefix", text(prefix)) + "</CommonPrefixes>" }
        return out + "</ListMultipartUploadsResult>"
    }
}
