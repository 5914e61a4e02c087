import Checksums
import Foundation

extension ObjectRecord {
    /// The row's JSON: the document `JSONEncoder.rows()` writes, its keys in
    /// the declared order (JSONEncoder's own order varies from one encoding
    /// to the next) and user metadata sorted by name. The common rows — a single-part version in shards or inline, with its
    /// checksum and content headers, and tombstones — are written by hand:
    /// Codable's encoding of a row was 10% of a one-node small PUT. Any
    /// other row (parts, handoffs, tags, SSE-C, uploads, delete markers)
    /// goes through `JSONEncoder`.
    public func rowJSON() throws -> Data {
        guard upload == nil, part == nil, marker == nil, version.map(RowJSONWriter.isCommon) ?? true else {
            return try JSONEncoder.rows().encode(self)
        }
        var writer = RowJSONWriter(capacity: 512 + (version?.inlineData?.count ?? 0) * 4 / 3)
        writer.raw("{\"bucketID\":")
        writer.string(bucketID)
        writer.raw(",\"key\":")
        writer.string(key)
        writer.raw(",\"stamp\":{\"millis\":")
        writer.number(stamp.millis)
        writer.raw(",\"counter\":")
        writer.number(UInt64(stamp.counter))
        writer.raw(",\"node\":")
        writer.string(stamp.node)
        writer.raw("}")
        if let version {
            writer.raw(",\"version\":")
            writer.version(version)
        }
        writer.raw(",\"format\":")
        writer.number(format)
        writer.raw("}")
        return Data(writer.bytes)
    }
}

/// A JSON document built into bytes, escaping strings as Foundation's
/// `JSONWriter` does with slashes unescaped.
struct RowJSONWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    /// What `rowJSON` writes by hand; the rest of a version's fields are left to `JSONEncoder`.
    static func isCommon(_ version: ObjectVersion) -> Bool {
        version.parts == nil && version.handoffs == nil && version.tags == nil && version.encryption == nil
    }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x08: raw("\\b")
            case 0x0C: raw("\\f")
            case UInt8(ascii: "\n"): raw("\\n")
            case UInt8(ascii: "\r"): raw("\\r")
            case UInt8(ascii: "\t"): raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                bytes.append(Self.hexDigit(byte >> 4))
                bytes.append(Self.hexDigit(byte & 0xF))
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    mutating func number<Number: BinaryInteger>(_ value: Number) {
        bytes.append(contentsOf: String(value).utf8)
    }

    /// `[1,2,3]`.
    mutating func array<Number: BinaryInteger>(_ values: [Number]) {
        raw("[")
        for (index, value) in values.enumerated() {
            if index > 0 { raw(",") }
            number(value)
        }
        raw("]")
    }

    mutating func bool(_ value: Bool) {
        value ? raw("true") : raw("false")
    }

    private mutating func optionalString(_ key: StaticString, _ value: String?) {
        guard let value else { return }
        raw(",\"")
        raw(key)
        raw("\":")
        string(value)
    }

    mutating func version(_ version: ObjectVersion) {
        raw("{\"versionID\":")
        string(version.versionID)
        raw(",\"size\":")
        number(version.size)
        raw(",\"etag\":")
        string(version.etag)
        optionalString("contentType", version.contentType)
        raw(",\"userMetadata\":{")
        for (index, name) in version.userMetadata.keys.sorted().enumerated() {
            if index > 0 { raw(",") }
            string(name)
            raw(":")
            string(version.userMetadata[name] ?? "")
        }
        raw("},\"lastModifiedMillis\":")
        number(version.lastModifiedMillis)
        raw(",\"dataShards\":")
        number(version.dataShards)
        raw(",\"parityShards\":")
        number(version.parityShards)
        raw(",\"blockSizeBytes\":")
        number(version.blockSizeBytes)
        raw(",\"layoutVersion\":")
        number(version.layoutVersion.rawValue)
        raw(",\"storedSlots\":")
        array(version.storedSlots)
        if let checksum = version.checksum {
            raw(",\"checksum\":{\"algorithm\":")
            string(checksum.algorithm.rawValue)
            raw(",\"digest\":")
            array(checksum.digest)
            optionalString("type", checksum.type?.rawValue)
            if let partCount = checksum.partCount {
                raw(",\"partCount\":")
                number(partCount)
            }
            raw("}")
        }
        if let headers = version.contentHeaders {
            raw(",\"contentHeaders\":{")
            var first = true
            for (key, value) in [("cacheControl", headers.cacheControl), ("contentDisposition", headers.contentDisposition),
                                 ("contentEncoding", headers.contentEncoding), ("contentLanguage", headers.contentLanguage),
                                 ("expires", headers.expires)] {
                guard let value else { continue }
                if !first { raw(",") }
                first = false
                string(key)
                raw(":")
                string(value)
            }
            raw("}")
        }
        if let inline = version.inlineData {
            // Base64 needs no escaping.
            raw(",\"inlineData\":\"")
            bytes.append(contentsOf: inline.base64EncodedData())
            raw("\"")
        }
        if let omitted = version.inlineOmitted {
            raw(",\"inlineOmitted\":")
            bool(omitted)
        }
        optionalString("s3VersionID", version.s3VersionID)
        raw("}")
    }
}
