import Checksums
import Placement

/// One erasure-coded body: the shard files of a single-part object, or of
/// one part of a multipart object. Everything a reader, a repair or a
/// deletion needs to find and decode the shards.
public struct StoredBody: Codable, Sendable, Equatable {
    /// 32 hex digits, unique per body; names the shard files.
    public var versionID: String
    public var size: UInt64
    public var dataShards: Int
    public var parityShards: Int
    public var blockSizeBytes: Int
    /// The layout whose partition owners received the shards.
    public var layoutVersion: LayoutVersion
    /// Slots whose shard write was acknowledged (a quorum write may miss some).
    public var storedSlots: [Int]
    /// Slots whose shard sits on another node than the slot's owner,
    /// written there while the owner was away; moved home when it is back.
    public var handoffs: [Handoff]?

    public struct Handoff: Codable, Sendable, Equatable {
        public var slot: Int
        public var node: NodeID
        public init(slot: Int, node: NodeID) { self.slot = slot; self.node = node }
    }

    public init(versionID: String, size: UInt64, dataShards: Int, parityShards: Int, blockSizeBytes: Int,
                layoutVersion: LayoutVersion, storedSlots: [Int], handoffs: [Handoff]? = nil) {
        self.versionID = versionID; self.size = size; self.dataShards = dataShards; self.parityShards = parityShards
        self.blockSizeBytes = blockSizeBytes; self.layoutVersion = layoutVersion; self.storedSlots = storedSlots
        self.handoffs = handoffs?.isEmpty == true ? nil : handoffs
    }

    public var blockCount: Int { size == 0 ? 0 : Int((size + UInt64(blockSizeBytes) - 1) / UInt64(blockSizeBytes)) }

    /// The node holding each slot's shard: the layout's owners, with handoffs in their place.
    public func holders(owners: [NodeID]) -> [NodeID] {
        var holders = owners
        for handoff in handoffs ?? [] where handoff.slot < holders.count { holders[handoff.slot] = handoff.node }
        return holders
    }
}

extension ObjectRecord {
    /// The body of this row whose shards `versionID` names: a part row's, or one of its version's.
    public func body(named versionID: String) -> StoredBody? {
        if let part, part.data.versionID == versionID { return part.data }
        return version?.bodies.first { $0.versionID == versionID }
    }

    /// This row with the handoff of (`versionID`, `slot`) removed (its shard
    /// moved home), or nil when no body of the row has that handoff — the
    /// row changed since, and the handoff copy is nobody's any more.
    public func movingHome(versionID: String, slot: Int) -> ObjectRecord? {
        editingBody(versionID) { body in
            guard let handoffs = body.handoffs, handoffs.contains(where: { $0.slot == slot }) else { return nil }
            var moved = body
            let left = handoffs.filter { $0.slot != slot }
            moved.handoffs = left.isEmpty ? nil : left
            return moved
        }
    }

    /// This row with the body named `versionID` (a part row's, a part's, or
    /// a single-part version's) replaced by what `edit` makes of it; nil
    /// when no body has that name or `edit` declines.
    public func editingBody(_ versionID: String, _ edit: (StoredBody) -> StoredBody?) -> ObjectRecord? {
        var row = self
        if var part = row.part, part.data.versionID == versionID {
            guard let body = edit(part.data) else { return nil }
            part.data = body
            row.part = part
            return row
        }
        guard var version = row.version else { return nil }
        if var parts = version.parts {
            guard let index = parts.firstIndex(where: { $0.data.versionID == versionID }), let body = edit(parts[index].data) else { return nil }
            parts[index].data = body
            version.parts = parts
        } else {
            guard version.versionID == versionID, version.size > 0, let body = edit(version.body) else { return nil }
            version.layoutVersion = body.layoutVersion
            version.storedSlots = body.storedSlots
            version.handoffs = body.handoffs
        }
        row.version = version
        return row
    }
}

/// A part of a multipart upload, uploaded or assembled into an object.
public struct ObjectPart: Codable, Sendable, Equatable {
    /// The number the client gave it (1–10000).
    public var number: Int
    /// Hex MD5 of the part's bytes, without quotes.
    public var etag: String
    public var checksum: ObjectChecksum?
    public var lastModifiedMillis: UInt64
    public var data: StoredBody
    /// SSE-C: the nonce this part's bytes were encrypted under (each part from counter 0), hex.
    public var encryptionNonce: String?

    public init(number: Int, etag: String, checksum: ObjectChecksum?, lastModifiedMillis: UInt64, data: StoredBody) {
        self.number = number; self.etag = etag; self.checksum = checksum; self.lastModifiedMillis = lastModifiedMillis; self.data = data
    }

    public var size: UInt64 { data.size }
}

/// A multipart upload's life: parts are taken while it is in progress;
/// CompleteMultipartUpload moves it to completing (the parts are chosen and
/// the object's version id fixed), then completed once the object row is
/// written (or back to in progress when that write's condition fails);
/// AbortMultipartUpload moves an upload in progress to aborted. Completed
/// and aborted are final. Every change of state goes through `canMove`.
public enum UploadState: String, Codable, Sendable {
    case inProgress
    case completing
    case completed
    case aborted

    public func canMove(to next: UploadState) -> Bool {
        switch (self, next) {
        case (.inProgress, .completing), (.inProgress, .aborted), (.completing, .completing), (.completing, .completed),
             (.completing, .inProgress): return true
        default: return false
        }
    }

    /// Whether parts may still be uploaded or listed.
    public var isOpen: Bool { self == .inProgress }
}

/// What CreateMultipartUpload fixed for the object, and where the upload is.
public struct MultipartUpload: Codable, Sendable, Equatable {
    public var uploadID: String
    public var key: String
    public var initiatedMillis: UInt64
    public var state: UploadState
    public var contentType: String?
    public var userMetadata: [String: String]
    public var contentHeaders: ContentHeaders?
    /// CreateMultipartUpload's `x-amz-checksum-algorithm` / `-type`: every
    /// part must carry this checksum, and the object gets one of this type.
    public var checksumAlgorithm: ChecksumAlgorithm?
    public var checksumType: ChecksumType?
    /// CreateMultipartUpload's `x-amz-tagging`: the completed object's tags.
    public var tags: [ObjectTag]?
    /// SSE-C: every part must be sent with this key (the nonce is per part).
    public var encryption: CustomerEncryption?
    /// Set when completing: the object version the completion writes, so a
    /// retried CompleteMultipartUpload finds and answers it again.
    public var completion: Completion?

    public struct Completion: Codable, Sendable, Equatable {
        public var versionID: String
        public var etag: String
        /// The part numbers and ETags chosen, in order.
        public var parts: [ChosenPart]
        /// In a versioning-enabled bucket: the S3 version the completion writes.
        public var s3VersionID: String?

        public init(versionID: String, etag: String, parts: [ChosenPart]) {
            self.versionID = versionID; self.etag = etag; self.parts = parts
        }
    }

    public struct ChosenPart: Codable, Sendable, Equatable, Hashable {
        public var number: Int
        public var etag: String
        public init(number: Int, etag: String) { self.number = number; self.etag = etag }
    }

    public init(uploadID: String, key: String, initiatedMillis: UInt64, state: UploadState = .inProgress, contentType: String?,
                userMetadata: [String: String], contentHeaders: ContentHeaders?, checksumAlgorithm: ChecksumAlgorithm?,
                checksumType: ChecksumType?) {
        self.uploadID = uploadID; self.key = key; self.initiatedMillis = initiatedMillis; self.state = state
        self.contentType = contentType; self.userMetadata = userMetadata; self.contentHeaders = contentHeaders
        self.checksumAlgorithm = checksumAlgorithm; self.checksumType = checksumType
    }
}

/// Where multipart uploads live in the object tables: a second table per
/// bucket, replicated by the bucket's metadata replicas like its objects.
/// Its rows are the upload (`KEY \u{1} UPLOADID`) and its parts
/// (`KEY \u{1} UPLOADID \u{1} 00042`), so the parts of an upload are one
/// prefix and uploads list in (key, upload id) order.
public enum UploadTable {
    public static let separator = "\u{1}"

    /// The table's name in the `bucket` column of the object tables.
    public static func name(of bucketHex: String) -> String { bucketHex + ".uploads" }

    /// The bucket hex of an upload table's name, nil for an object table.
    public static func bucketHex(ofTable name: String) -> String? {
        name.hasSuffix(".uploads") ? String(name.dropLast(".uploads".count)) : nil
    }

    public static func uploadRowKey(key: String, uploadID: String) -> String { key + separator + uploadID }

    public static func partRowKey(key: String, uploadID: String, part: Int) -> String {
        let digits = String(part)
        return uploadRowKey(key: key, uploadID: uploadID) + separator + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }

    /// The prefix every part row of an upload starts with.
    public static func partsPrefix(key: String, uploadID: String) -> String { uploadRowKey(key: key, uploadID: uploadID) + separator }

    /// A key just past every part row of an upload (listing resumes there).
    public static func pastParts(key: String, uploadID: String) -> String { uploadRowKey(key: key, uploadID: uploadID) + "\u{2}" }

    /// (object key, upload id, part number) of a part row's key.
    public static func parsePartRowKey(_ rowKey: String) -> (key: String, uploadID: String, part: Int)? {
        let pieces = rowKey.split(separator: Character(separator), omittingEmptySubsequences: false).map(String.init)
        guard pieces.count >= 3, let part = Int(pieces[pieces.count - 1]), pieces[pieces.count - 1].count == 5 else { return nil }
        return (pieces.dropLast(2).joined(separator: separator), pieces[pieces.count - 2], part)
    }
}
