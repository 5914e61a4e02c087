import Checksums
import Foundation
import Placement

/// One version of an object's data: where its shards are and what S3 says of it.
public struct ObjectVersion: Codable, Sendable, Equatable {
    /// 32 hex digits, unique per PUT; names the shard files, so two writers
    /// of one key never share a shard.
    public var versionID: String
    public var size: UInt64
    /// Hex MD5 of the body (S3's ETag of a single-part upload), without quotes.
    public var etag: String
    public var contentType: String?
    /// `x-amz-meta-*` headers, names lowercased and without the prefix.
    public var userMetadata: [String: String]
    public var lastModifiedMillis: UInt64
    public var dataShards: Int
    public var parityShards: Int
    public var blockSizeBytes: Int
    /// The layout whose partition owners received the shards.
    public var layoutVersion: LayoutVersion
    /// Slots whose shard write was acknowledged (a quorum write may miss some).
    public var storedSlots: [Int]
    /// The body's `x-amz-checksum-*`, verified on PUT (absent in records of older writers).
    public var checksum: ObjectChecksum?
    /// Cache-Control, Content-Disposition, … as the PUT sent them.
    public var contentHeaders: ContentHeaders?
    /// A single-part object's handoffs (see `StoredBody.handoffs`).
    public var handoffs: [StoredBody.Handoff]?
    /// A multipart object's parts, in order; nil for a single-part object,
    /// whose shards the fields above describe. For a multipart object
    /// those fields name no shards (`storedSlots` is empty): each part has its own.
    public var parts: [ObjectPart]?
    /// A small object's bytes, kept in this row instead of in shards
    /// (`storedSlots` is empty): as durable as the row, on every metadata replica.
    public var inlineData: Data?
    /// Set on a row copied into a listing page without its inline bytes;
    /// such a copy is never stored (`MetadataStore.merge` refuses it).
    public var inlineOmitted: Bool?
    /// The object's tags (S3 object tagging); nil when it has none.
    public var tags: [ObjectTag]?
    /// SSE-C: the bytes (shards or inline) are encrypted under a key the client keeps.
    public var encryption: CustomerEncryption?
    /// The S3 version id of a version in a version table; nil for a null version.
    public var s3VersionID: String?

    public init(versionID: String, size: UInt64, etag: String, contentType: String?, userMetadata: [String: String],
                lastModifiedMillis: UInt64, dataShards: Int, parityShards: Int, blockSizeBytes: Int,
                layoutVersion: LayoutVersion, storedSlots: [Int], checksum: ObjectChecksum? = nil, contentHeaders: ContentHeaders? = nil,
                parts: [ObjectPart]? = nil, handoffs: [StoredBody.Handoff]? = nil) {
        self.versionID = versionID; self.size = size; self.etag = etag; self.contentType = contentType
        self.userMetadata = userMetadata; self.lastModifiedMillis = lastModifiedMillis; self.dataShards = dataShards
        self.parityShards = parityShards; self.blockSizeBytes = blockSizeBytes; self.layoutVersion = layoutVersion
        self.storedSlots = storedSlots
        self.checksum = checksum
        self.contentHeaders = contentHeaders
        self.parts = parts
        self.handoffs = handoffs?.isEmpty == true ? nil : handoffs
    }

    /// The shards of a single-part object.
    public var body: StoredBody {
        StoredBody(versionID: versionID, size: size, dataShards: dataShards, parityShards: parityShards, blockSizeBytes: blockSizeBytes,
                 layoutVersion: layoutVersion, storedSlots: storedSlots, handoffs: handoffs)
    }

    /// Every body this version's bytes are in, in byte order: the parts of
    /// a multipart object, or the object's own shards.
    public var bodies: [StoredBody] { parts?.map(\.data) ?? (size > 0 && !isInline ? [body] : []) }

    /// Whether the bytes are in the row (inline) rather than in shards.
    public var isInline: Bool { inlineData != nil || inlineOmitted == true }

    /// This version without its inline bytes, for a listing page.
    public var withoutInlineData: ObjectVersion {
        guard inlineData != nil else { return self }
        var copy = self
        copy.inlineData = nil
        copy.inlineOmitted = true
        return copy
    }

    public var blockCount: Int { size == 0 ? 0 : Int((size + UInt64(blockSizeBytes) - 1) / UInt64(blockSizeBytes)) }
}

/// What the row of an SSE-C object keeps of its encryption: AES-256 in
/// counter mode under the client's key, which is never stored.
public struct CustomerEncryption: Codable, Sendable, Equatable {
    public var algorithm = "AES256"
    /// The key's MD5, base64, as S3 echoes it.
    public var keyMD5: String
    /// Recognises the key (a keyed hash; the key cannot be got back from it).
    public var keyCheck: String
    /// The counter-mode nonce, hex.
    public var nonce: String

    public init(keyMD5: String, keyCheck: String, nonce: String) { self.keyMD5 = keyMD5; self.keyCheck = keyCheck; self.nonce = nonce }
}

/// One of an object's or a bucket's tags.
public struct ObjectTag: Codable, Sendable, Equatable, Hashable {
    public var key: String
    public var value: String
    public init(key: String, value: String) { self.key = key; self.value = value }
}

/// The representation headers S3 stores with an object and returns on GET
/// and HEAD, as the client sent them.
public struct ContentHeaders: Codable, Sendable, Equatable {
    public var cacheControl: String?
    public var contentDisposition: String?
    public var contentEncoding: String?
    public var contentLanguage: String?
    public var expires: String?

    public init(cacheControl: String? = nil, contentDisposition: String? = nil, contentEncoding: String? = nil,
                contentLanguage: String? = nil, expires: String? = nil) {
        self.cacheControl = cacheControl; self.contentDisposition = contentDisposition; self.contentEncoding = contentEncoding
        self.contentLanguage = contentLanguage; self.expires = expires
    }

    public var isEmpty: Bool { self == ContentHeaders() }
}

/// The metadata-table row of (bucket, key): the newest version or a
/// tombstone, with the stamp that decides merges (last writer wins).
public struct ObjectRecord: Codable, Sendable, Equatable {
    /// The row format this build writes. 1: rows without a `format` field
    /// (before checksums and content headers); 2: `ObjectVersion.checksum`
    /// and `contentHeaders` may be present; 3: multipart objects (`parts`)
    /// and the rows of upload tables (`upload`, `part`); 4: handoffs
    /// (shards written to another node while their owner was away); 5: small
    /// objects inline in the row (`ObjectVersion.inlineData`); 6: object
    /// tags (`ObjectVersion.tags`, `MultipartUpload.tags`); 7: SSE-C
    /// (`ObjectVersion.encryption`, `MultipartUpload.encryption`,
    /// `ObjectPart.encryptionNonce`: an older build must not serve the
    /// ciphertext as the object); 8: versioning (`marker`,
    /// `ObjectVersion.s3VersionID`, rows of version tables,
    /// `MultipartUpload.Completion.s3VersionID`).
    public static let currentFormat = 8

    public var bucketID: String
    public var key: String
    public var stamp: Stamp
    /// nil: deleted (a tombstone, kept so an older write cannot come back).
    public var version: ObjectVersion?
    /// In an upload table: the upload this row describes …
    public var upload: MultipartUpload?
    /// … or one of its parts.
    public var part: ObjectPart?
    /// A delete marker (versioned buckets): no version, but not a tombstone either.
    public var marker: DeleteMarker?
    /// The format the row was written in (1 for rows that carry none).
    public var format: Int

    public init(bucketID: String, key: String, stamp: Stamp, version: ObjectVersion?) {
        self.bucketID = bucketID; self.key = key; self.stamp = stamp; self.version = version
        format = Self.currentFormat
    }

    /// A row of an upload table.
    public init(uploadTable: String, key: String, stamp: Stamp, upload: MultipartUpload? = nil, part: ObjectPart? = nil) {
        self.bucketID = uploadTable; self.key = key; self.stamp = stamp; self.version = nil
        self.upload = upload; self.part = part
        format = Self.currentFormat
    }

    enum CodingKeys: String, CodingKey { case bucketID, key, stamp, version, format, upload, part, marker }

    /// Reads rows of every format up to the current one; a row written by a
    /// newer Shale is refused, never half-read.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        format = try Self.readableFormat(in: container)
        bucketID = try container.decode(String.self, forKey: .bucketID)
        key = try container.decode(String.self, forKey: .key)
        stamp = try container.decode(Stamp.self, forKey: .stamp)
        version = try container.decodeIfPresent(ObjectVersion.self, forKey: .version)
        upload = try container.decodeIfPresent(MultipartUpload.self, forKey: .upload)
        part = try container.decodeIfPresent(ObjectPart.self, forKey: .part)
        marker = try container.decodeIfPresent(DeleteMarker.self, forKey: .marker)
    }

    /// A delete marker's row (as the latest row of a key, or a version table's row).
    public init(table: String, key: String, stamp: Stamp, marker: DeleteMarker) {
        self.init(bucketID: table, key: key, stamp: stamp, version: nil)
        self.marker = marker
    }

    /// A row's format, refused when a newer Shale wrote it.
    static func readableFormat(in container: KeyedDecodingContainer<CodingKeys>) throws -> Int {
        let format = try container.decodeIfPresent(Int.self, forKey: .format) ?? 1
        guard (1...currentFormat).contains(format) else {
            throw DecodingError.dataCorruptedError(forKey: .format, in: container,
                debugDescription: "object row format \(format) was written by a newer Shale; this one reads formats 1...\(currentFormat)")
        }
        return format
    }

    public var isTombstone: Bool { version == nil && upload == nil && part == nil && marker == nil }

    /// The newer of two records of one key (by stamp).
    public static func newest(_ a: ObjectRecord?, _ b: ObjectRecord?) -> ObjectRecord? {
        guard let a else { return b }
        guard let b else { return a }
        return b.stamp > a.stamp ? b : a
    }
}

extension Layout {
    /// The metadata replicas of a bucket's object table: distinct nodes among
    /// the owners of the bucket's partition, one per zone first (in slot
    /// order), then the rest. `wanted` is raised to 2m + 1 so that losing m
    /// nodes or one zone (which holds at most m slots) still leaves a
    /// majority; the count is capped by the distinct nodes available.
    public func metadataReplicas(of bucket: BucketID, wanted: Int) -> [NodeID] {
        let owners = self.owners(of: PartitionID(bucket: bucket, key: ""))
        let target = max(wanted, 2 * code.parityShards + 1)
        var chosen: [NodeID] = []
        var zones: Set<ZoneName> = []
        for node in owners where !chosen.contains(node) {
            guard let zone = roles[node]?.zone, !zones.contains(zone) else { continue }
            zones.insert(zone)
            chosen.append(node)
            if chosen.count == target { return chosen }
        }
        for node in owners where !chosen.contains(node) {
            chosen.append(node)
            if chosen.count == target { break }
        }
        return chosen
    }
}

/// Majority of `replicas` (at least 1).
public func majority(of replicas: Int) -> Int { replicas / 2 + 1 }
