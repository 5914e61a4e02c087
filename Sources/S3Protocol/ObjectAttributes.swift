import Checksums

/// GetObjectAttributes (`GET /bucket/key?attributes`): which attributes
/// `x-amz-object-attributes` asks for, and the answer. Pure.
public enum ObjectAttributes {
    public enum Attribute: String, Sendable, CaseIterable {
        case etag = "ETag"
        case checksum = "Checksum"
        case objectParts = "ObjectParts"
        case storageClass = "StorageClass"
        case objectSize = "ObjectSize"
    }

    /// The comma-separated list (names as S3 spells them, any case).
    public static func requested(_ header: String?) throws(S3Error) -> Set<Attribute> {
        guard let header, !header.trimmed.isEmpty else {
            throw S3Error(.invalidArgument, "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty")
        }
        var wanted: Set<Attribute> = []
        for name in header.split(separator: ",") {
            let text = String(name).trimmed
            guard let attribute = Attribute.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
                throw S3Error(.invalidArgument, "Invalid attribute name specified: \(text)")
            }
            wanted.insert(attribute)
        }
        return wanted
    }

    public struct Part: Sendable {
        public let number: Int
        public let size: UInt64
        public let checksum: ObjectChecksum?
        public init(number: Int, size: UInt64, checksum: ObjectChecksum?) { self.number = number; self.size = size; self.checksum = checksum }
    }

    public struct Answer: Sendable {
        public var etag: String
        public var checksum: ObjectChecksum?
        public var size: UInt64
        /// nil for a single-part object (S3 shows no ObjectParts then).
        public var parts: [Part]?
        public var partNumberMarker: Int
        public var maxParts: Int
        public init(etag: String, checksum: ObjectChecksum?, size: UInt64, parts: [Part]?, partNumberMarker: Int, maxParts: Int) {
            self.etag = etag; self.checksum = checksum; self.size = size; self.parts = parts
            self.partNumberMarker = partNumberMarker; self.maxParts = maxParts
        }
    }

    public static func render(_ answer: Answer, wanted: Set<Attribute>) -> String {
        var out = S3XML.declaration + "<GetObjectAttributesResponse xmlns=\"\(S3XML.namespace)\">"
        if wanted.contains(.etag) { out += S3XML.element("ETag", answer.etag) }
        if wanted.contains(.checksum), let checksum = answer.checksum {
            out += "<Checksum>" + S3XML.checksumElements(checksum) + S3XML.element("ChecksumType", checksum.checksumType.rawValue) + "</Checksum>"
        }
        if wanted.contains(.objectParts), let parts = answer.parts {
            let after = parts.filter { $0.number > answer.partNumberMarker }
            let page = after.prefix(answer.maxParts)
            let truncated = after.count > page.count
            out += "<ObjectParts>" + S3XML.element("PartsCount", String(parts.count))
                + S3XML.element("PartNumberMarker", String(answer.partNumberMarker))
            if truncated, let last = page.last { out += S3XML.element("NextPartNumberMarker", String(last.number)) }
            out += S3XML.element("MaxParts", String(answer.maxParts)) + S3XML.element("IsTruncated", truncated ? "true" : "false")
            for part in page {
                out += "<Part>" + S3XML.element("PartNumber", String(part.number)) + S3XML.element("Size", String(part.size))
                    + S3XML.checksumElements(part.checksum) + "</Part>"
            }
            out += "</ObjectParts>"
        }
        if wanted.contains(.storageClass) { out += S3XML.element("StorageClass", "STANDARD") }
        if wanted.contains(.objectSize) { out += S3XML.element("ObjectSize", String(answer.size)) }
        return out + "</GetObjectAttributesResponse>"
    }
}
