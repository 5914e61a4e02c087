import Checksums
import Foundation
import Placement

extension ObjectRecord {
    /// Decodes a row's JSON. The common rows (those `rowJSON` writes by
    /// hand: a single-part version in shards or inline, tombstones) are read
    /// by `JSONScanner`, field by field; any other row, and any document the
    /// scanner does not take on, by `JSONDecoder` (`JSONDecoder` was 9% of a
    /// one-node small GET's server CPU and 7–9% of a metadata replica's in a
    /// six-node small PUT). Both read a row the same way.
    public static func decodeRow(_ data: Data) throws -> ObjectRecord {
        try JSONScanner.decode(ObjectRecord.self, from: data) { (scanner: inout JSONScanner) throws(JSONScanner.Miss) in try scanner.row() }
    }
}

extension ObjectRowHead {
    /// Decodes a row's head (see `ObjectRecord.decodeRow`): the scanner
    /// passes over the version's fields (an inline object's base64 among
    /// them) without building them.
    public static func decodeRow(_ data: Data) throws -> ObjectRowHead {
        try JSONScanner.decode(ObjectRowHead.self, from: data) { (scanner: inout JSONScanner) throws(JSONScanner.Miss) in try scanner.rowHead() }
    }
}

extension JSONScanner {
    /// A common row at the scanner (see `ObjectRecord.decodeRow`).
    public mutating func row() throws(Miss) -> ObjectRecord {
        var bucketID: String?, key: String?, stamp: Stamp?, version: ObjectVersion?, format = 1
        try object { (scanner: inout JSONScanner, name: String) throws(Miss) in
            switch name {
            case "bucketID": bucketID = try scanner.string()
            case "key": key = try scanner.string()
            case "stamp": stamp = try scanner.stamp()
            case "version": version = try scanner.null() ? nil : try scanner.version()
            case "format": format = try scanner.int()
            // Parts, uploads, delete markers: JSONDecoder's rows.
            case "upload", "part", "marker": guard try scanner.null() else { throw Miss() }
            default: try scanner.skip()  // as Codable ignores a key it does not know
            }
        }
        guard let bucketID, let key, let stamp, (1...ObjectRecord.currentFormat).contains(format) else { throw Miss() }
        var record = ObjectRecord(bucketID: bucketID, key: key, stamp: stamp, version: version)
        record.format = format
        return record
    }

    /// A row's head at the scanner; any row, common or not.
    mutating func rowHead() throws(Miss) -> ObjectRowHead {
        var bucketID: String?, key: String?, stamp: Stamp?, format = 1
        var hasBody = false, inlineOmitted = false
        try object { (scanner: inout JSONScanner, name: String) throws(Miss) in
            switch name {
            case "bucketID": bucketID = try scanner.string()
            case "key": key = try scanner.string()
            case "stamp": stamp = try scanner.stamp()
            case "format": format = try scanner.int()
            case "version":
                guard try !scanner.null() else { return }
                hasBody = true
                try scanner.object { (scanner: inout JSONScanner, name: String) throws(Miss) in
                    if name == "inlineOmitted", try !scanner.null() { inlineOmitted = try scanner.bool() } else { try scanner.skip() }
                }
            case "upload", "part", "marker":
                if try !scanner.null() { hasBody = true; try scanner.skip() }
            default: try scanner.skip()
            }
        }
        guard let bucketID, let key, let stamp, (1...ObjectRecord.currentFormat).contains(format) else { throw Miss() }
        return ObjectRowHead(bucketID: bucketID, key: key, stamp: stamp, format: format, isTombstone: !hasBody, inlineOmitted: inlineOmitted)
    }

    /// A common row, or nil for `null` (no row).
    public mutating func rowOrNull() throws(Miss) -> ObjectRecord? { try null() ? nil : try row() }

    /// A stamp, or nil for `null` (no row).
    public mutating func stampOrNull() throws(Miss) -> Stamp? { try null() ? nil : try stamp() }

    public mutating func stamp() throws(Miss) -> Stamp {
        var millis: UInt64?, counter: UInt64?, node: String?
        try object { (scanner: inout JSONScanner, name: String) throws(Miss) in
            switch name {
            case "millis": millis = try scanner.unsigned()
            case "counter": counter = try scanner.unsigned(upTo: UInt64(UInt32.max))
            case "node": node = try scanner.string()
            default: try scanner.skip()
            }
        }
        guard let millis, let counter, let node else { throw Miss() }
        return Stamp(millis: millis, counter: UInt32(counter), node: node)
    }

    mutating func version() throws(Miss) -> ObjectVersion {
        var versionID: String?, size: UInt64?, etag: String?, contentType: String?, userMetadata: [String: String]?
        var lastModified: UInt64?, dataShards: Int?, parityShards: Int?, blockSize: Int?, layoutVersion: UInt64?, storedSlots: [Int]?
        var checksum: ObjectChecksum?, headers: ContentHeaders?, inlineData: Data?, inlineOmitted: Bool?, s3VersionID: String?
        try object { (scanner: inout JSONScanner, name: String) throws(Miss) in
            switch name {
            case "versionID": versionID = try scanner.string()
            case "size": size = try scanner.unsigned()
            case "etag": etag = try scanner.string()
            case "contentType": contentType = try scanner.null() ? nil : try scanner.string()
            case "userMetadata":
                var metadata: [String: String] = [:]
                try scanner.object { (scanner: inout JSONScanner, name: String) throws(Miss) in metadata[name] = try scanner.string() }
                userMetadata = metadata
            case "lastModifiedMillis": lastModified = try scanner.unsigned()
            case "dataShards": dataShards = try scanner.int()
            case "parityShards": parityShards = try scanner.int()
            case "blockSizeBytes": blockSize = try scanner.int()
            case "layoutVersion": layoutVersion = try scanner.unsigned()
            case "storedSlots": storedSlots = try scanner.list { (scanner: inout JSONScanner) throws(Miss) in try scanner.int() }
            case "checksum": checksum = try scanner.null() ? nil : try scanner.checksum()
            case "contentHeaders": headers = try scanner.null() ? nil : try scanner.contentHeaders()
            case "inlineData":
                inlineData = try scanner.null() ? nil : try scanner.base64()
            case "inlineOmitted": inlineOmitted = try scanner.null() ? nil : try scanner.bool()
            case "s3VersionID": s3VersionID = try scanner.null() ? nil : try scanner.string()
            // Parts, handoffs, tags, SSE-C: JSONDecoder's rows.
            case "parts", "handoffs", "tags", "encryption": guard try scanner.null() else { throw Miss() }
            default: try scanner.skip()
            }
        }
        guard let versionID, let size, let etag, let userMetadata, let lastModified, let dataShards, let parityShards, let blockSize,
              let layoutVersion, let storedSlots else { throw Miss() }
        var version = ObjectVersion(versionID: versionID, size: size, etag: etag, contentType: contentType, userMetadata: userMetadata,
                                    lastModifiedMillis: lastModified, dataShards: dataShards, parityShards: parityShards,
                                    blockSizeBytes: blockSize, layoutVersion: LayoutVersion(layoutVersion), storedSlots: storedSlots,
                                    checksum: checksum, contentHeaders: headers)
        version.inlineData = inlineData
        version.inlineOmitted = inlineOmitted
        version.s3VersionID = s3VersionID
        return version
    }

    private mutating func checksum() throws(Miss) -> ObjectChecksum {
        var algorithm: ChecksumAlgorithm?, digest: [UInt8]?, type: ChecksumType?, partCount: Int?
        try object { (scanner: inout JSONScanner, name: String) throws(Miss) in
            switch name {
            case "algorithm": algorithm = ChecksumAlgorithm(rawValue: try scanner.string())
            case "digest": digest = try scanner.list { (scanner: inout JSONScanner) throws(Miss) in UInt8(try scanner.unsigned(upTo: 255)) }
            case "type":
                guard try !scanner.null() else { return }
                // FULL_OBJECT written out stays FULL_OBJECT under Codable, where the initialiser makes it nil.
                guard let known = ChecksumType(rawValue: try scanner.string()), known != .fullObject else { throw Miss() }
                type = known
            case "partCount": partCount = try scanner.null() ? nil : try scanner.int()
            default: try scanner.skip()
            }
        }
        guard let algorithm, let digest else { throw Miss() }
        return ObjectChecksum(algorithm: algorithm, digest: digest, type: type, partCount: partCount)
    }

    private mutating func contentHeaders() throws(Miss) -> ContentHeaders {
        var headers = ContentHeaders()
        try object { (scanner: inout JSONScanner, name: String) throws(Miss) in
            let value = try scanner.null() ? nil : try scanner.string()
            switch name {
            case "cacheControl": headers.cacheControl = value
            case "contentDisposition": headers.contentDisposition = value
            case "contentEncoding": headers.contentEncoding = value
            case "contentLanguage": headers.contentLanguage = value
            case "expires": headers.expires = value
            default: break
            }
        }
        return headers
    }
}
