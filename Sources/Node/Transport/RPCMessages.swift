import ClusterModel
import Foundation
import Placement
import Storage

/// A node as it describes itself to peers.
public struct PeerInfo: Codable, Sendable, Equatable {
    public let id: String
    public let address: String
    public let hostname: String
    public let dataAvailableBytes: UInt64?
    /// Disk used by the node's shard files (absent from older nodes, and until its first count).
    public var shardBytes: UInt64? = nil
}

public struct PeerAddress: Codable, Sendable, Hashable {
    public let id: String
    public let address: String
}

/// The heartbeat, both ways: who I am, whom I know, what state I hold.
struct PingMessage: Codable, Sendable {
    let node: PeerInfo
    let knownPeers: [PeerAddress]
    let stateDigest: String
}

struct SyncMessage: Codable, Sendable {
    let state: ClusterState
}

/// Object-table calls between metadata replicas.
struct MetadataMergeMessage: Codable, Sendable {
    let records: [ObjectRecord]
    /// Asks for `MetadataMergeReply.outcomes`. A node of an earlier build
    /// ignores the field and answers `{}`, which the writer takes as "not known".
    var report: Bool? = nil
    /// Rows to put back, of writes that failed (`MetadataStore.revert`);
    /// a node of an earlier build ignores them.
    var reverts: [MergeRevert]? = nil
}
struct MergeRevert: Codable, Sendable {
    let table: String
    let key: String
    let stamp: Stamp
    let previous: ObjectRecord?
}
extension MetadataMergeMessage {
    /// The JSON of a reporting merge of rows already encoded (each as
    /// `ObjectRecord.rowJSON()` writes it): a row going to several replicas
    /// is encoded once, not once per replica.
    static func reporting(encoded records: [Data]) -> Data {
        var body = reportingPrefix
        for (index, record) in records.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(record)
        }
        body.append(contentsOf: "]}".utf8)
        return body
    }

    private static let reportingPrefix = Data(#"{"report":true,"records":["#.utf8)

    /// The rows of a body `reporting(encoded:)` made, each its bytes as the
    /// writer encoded them: a replica stores them as received instead of
    /// decoding and encoding them again (that encoding was a fifth of a
    /// replica's CPU in a small PUT). Nil for any other body, which the
    /// replica decodes as a whole.
    static func reportedRows(in body: Data) -> [Data]? {
        guard body.starts(with: reportingPrefix) else { return nil }
        // Offsets found on the raw bytes: Data's subscript, byte by byte, cost more than the encoding saved.
        let bounds: [Range<Int>]? = body.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> [Range<Int>]? in
            var bounds: [Range<Int>] = []
            var start = reportingPrefix.count
            var depth = 0
            var index = start
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    // A string, skipped with memchr (an inline object's base64 is most of a row).
                    guard let close = closingQuote(in: bytes, after: index) else { return nil }
                    index = close
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: ","):
                    if depth > 0 {
                        if byte != UInt8(ascii: ",") { depth -= 1 }
                        break
                    }
                    // At the array's level: a row ends.
                    guard byte != UInt8(ascii: "}"), index > start else { return nil }
                    bounds.append(start..<index)
                    start = index + 1
                    if byte == UInt8(ascii: "]") {
                        // Only the object's closing brace may follow the array.
                        return start == bytes.count - 1 && bytes[start] == UInt8(ascii: "}") ? bounds : nil
                    }
                default: break
                }
                index += 1
            }
            return nil
        }
        let base = body.startIndex
        return bounds?.map { body[(base + $0.lowerBound)..<(base + $0.upperBound)] }
    }

    /// The index of the quote that closes the string opened at `open`: the
    /// first quote after it preceded by an even run of backslashes.
    static func closingQuote(in bytes: UnsafeRawBufferPointer, after open: Int) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        var from = open + 1
        while from < bytes.count {
            guard let found = memchr(base + from, Int32(UInt8(ascii: "\"")), bytes.count - from) else { return nil }
            let quote = base.distance(to: UnsafeRawPointer(found))
            var backslashes = 0
            while quote - backslashes - 1 > open, bytes[quote - backslashes - 1] == UInt8(ascii: "\\") { backslashes += 1 }
            if backslashes % 2 == 0 { return quote }
            from = quote + 1
        }
        return nil
    }
}
struct MetadataMergeReply: Codable, Sendable { let outcomes: [MergeOutcome]? }
extension MetadataMergeReply {
    /// The reply's JSON with each held row as stored (as `ObjectRecord.rowJSON()`
    /// wrote it), not decoded and encoded again.
    static func encoded(outcomes: [(stored: Bool, held: Data?)]) -> Data {
        var body = Data(#"{"outcomes":["#.utf8)
        for (index, outcome) in outcomes.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: (outcome.stored ? #"{"stored":true"# : #"{"stored":false"#).utf8)
            if let held = outcome.held {
                body.append(contentsOf: #","held":"#.utf8)
                body.append(held)
            }
            body.append(UInt8(ascii: "}"))
        }
        body.append(contentsOf: "]}".utf8)
        return body
    }

    /// Decodes a reply (held common rows by `JSONScanner`, as `ObjectRecord.decodeRow`).
    static func decode(_ data: Data) throws -> MetadataMergeReply {
        try JSONScanner.decode(MetadataMergeReply.self, from: data) { (scanner: inout JSONScanner) throws(JSONScanner.Miss) in
            var outcomes: [MergeOutcome]?
            try scanner.object { (scanner: inout JSONScanner, name: String) throws(JSONScanner.Miss) in
                guard name == "outcomes", try !scanner.null() else { return try scanner.skip() }
                outcomes = try scanner.list { (scanner: inout JSONScanner) throws(JSONScanner.Miss) in
                    var stored: Bool?, held: ObjectRecord?
                    try scanner.object { (scanner: inout JSONScanner, name: String) throws(JSONScanner.Miss) in
                        switch name {
                        case "stored": stored = try scanner.bool()
                        case "held": held = try scanner.rowOrNull()
                        default: try scanner.skip()
                        }
                    }
                    guard let stored else { throw JSONScanner.Miss() }
                    return MergeOutcome(stored: stored, held: held)
                }
            }
            return MetadataMergeReply(outcomes: outcomes)
        }
    }
}
/// What a replica did with one merged record.
typealias MergeOutcome = MetadataStore.MergeOutcome
/// A row by table and key. `keys`, when given, asks for all of them (the
/// first is `bucketID`/`key` again, which is all a node of an earlier build
/// reads); their rows come back in `MetadataGetReply.records`, in order.
struct MetadataGetMessage: Codable, Sendable {
    let bucketID: String
    let key: String
    var keys: [MetadataKey]? = nil
    /// Asks for the rows' stamps alone (`MetadataGetReply.stamps`): what a
    /// read needs from the replicas other than the one sending the row. A
    /// node of an earlier build ignores it and sends rows.
    var stampsOnly: Bool? = nil
}
struct MetadataKey: Codable, Sendable, Hashable {
    let bucketID: String
    let key: String
}
struct MetadataGetReply: Codable, Sendable {
    let record: ObjectRecord?
    var records: [ObjectRecord?]? = nil
    /// The stamps of the rows asked (nil: no row), when asked for stamps only.
    var stamps: [Stamp?]? = nil
}
extension MetadataGetReply {
    /// Decodes an answer (common rows by `JSONScanner`, as `ObjectRecord.decodeRow`).
    static func decode(_ data: Data) throws -> MetadataGetReply {
        try JSONScanner.decode(MetadataGetReply.self, from: data) { (scanner: inout JSONScanner) throws(JSONScanner.Miss) in
            var record: ObjectRecord?, records: [ObjectRecord?]?, stamps: [Stamp?]?
            try scanner.object { (scanner: inout JSONScanner, name: String) throws(JSONScanner.Miss) in
                switch name {
                case "record": record = try scanner.rowOrNull()
                case "records":
                    guard try !scanner.null() else { return }
                    records = try scanner.list { (scanner: inout JSONScanner) throws(JSONScanner.Miss) in try scanner.rowOrNull() }
                case "stamps":
                    guard try !scanner.null() else { return }
                    stamps = try scanner.list { (scanner: inout JSONScanner) throws(JSONScanner.Miss) in try scanner.stampOrNull() }
                default: try scanner.skip()
                }
            }
            return MetadataGetReply(record: record, records: records, stamps: stamps)
        }
    }

    /// The reply's JSON made of rows as stored (each as
    /// `ObjectRecord.rowJSON()` wrote it; nil: no row), without decoding and encoding them
    /// again; `records` given when `batch` (a call that named `keys`).
    static func encoded(rows: [Data?], batch: Bool) -> Data {
        let null = Data("null".utf8)
        var body = Data(#"{"record":"#.utf8)
        body.append((rows.first ?? nil) ?? null)
        if batch {
            body.append(contentsOf: Array(#","records":["#.utf8))
            for (index, row) in rows.enumerated() {
                if index > 0 { body.append(UInt8(ascii: ",")) }
                body.append(row ?? null)
            }
            body.append(UInt8(ascii: "]"))
        }
        body.append(UInt8(ascii: "}"))
        return body
    }
}
struct MetadataListMessage: Codable, Sendable {
    let bucketID: String
    let prefix: String
    let after: String?
    let limit: Int
    /// Whether inline objects come with their bytes (only anti-entropy,
    /// which stores the rows, needs them); absent: without.
    var inlineBytes: Bool? = nil
    /// Rows that are not tombstones only (the first live version of a key); absent: all rows.
    var liveOnly: Bool? = nil
}
struct MetadataListReply: Codable, Sendable { let records: [ObjectRecord] }
extension MetadataListReply {
    /// Decodes a page of rows (common rows by `JSONScanner`, as `ObjectRecord.decodeRow`).
    static func decode(_ data: Data) throws -> MetadataListReply {
        try JSONScanner.decode(MetadataListReply.self, from: data) { (scanner: inout JSONScanner) throws(JSONScanner.Miss) in
            var records: [ObjectRecord]?
            try scanner.object { (scanner: inout JSONScanner, name: String) throws(JSONScanner.Miss) in
                guard name == "records" else { return try scanner.skip() }
                records = try scanner.list { (scanner: inout JSONScanner) throws(JSONScanner.Miss) in try scanner.row() }
            }
            guard let records else { throw JSONScanner.Miss() }
            return MetadataListReply(records: records)
        }
    }
}
struct MetadataDigestMessage: Codable, Sendable { let bucketID: String }
struct MetadataDigestReply: Codable, Sendable { let digest: String }
struct ShardDeleteMessage: Codable, Sendable { let versionID: String; let slots: [Int] }
struct ShardCheckMessage: Codable, Sendable { let versionID: String; let slot: Int }
/// `state`: "intact", "missing" or "damaged" (with what is wrong in `detail`).
struct ShardCheckReply: Codable, Sendable { let state: String; let detail: String? }
/// Which of these shards the node holds whole (header valid, full length); `whole` in the same order.
struct ShardStatMessage: Codable, Sendable { let shards: [ShardRef] }
struct ShardStatReply: Codable, Sendable { let whole: [Bool] }
struct ShardRef: Codable, Sendable, Hashable { let versionID: String; let slot: Int }
/// A conditional write's two phases (see `MetadataClient.compareAndSet`).
struct MetadataPrepareMessage: Codable, Sendable { let bucketID: String; let key: String; let ballot: Stamp }
struct MetadataPrepareReply: Codable, Sendable { let promised: Bool; let record: ObjectRecord? }
struct MetadataAcceptMessage: Codable, Sendable { let record: ObjectRecord; let ballot: Stamp }
struct MetadataAcceptReply: Codable, Sendable { let accepted: Bool }

enum RPCMethod: String, Sendable, CaseIterable {
    case ping
    case sync
    case metadataMerge = "metadata-merge"
    case metadataGet = "metadata-get"
    case metadataList = "metadata-list"
    case metadataDigest = "metadata-digest"
    case metadataPrepare = "metadata-prepare"
    case metadataAccept = "metadata-accept"
    case shardDelete = "shard-delete"
    /// Reads a shard whole on its holder, checking its header and every chunk's CRC32C.
    case shardCheck = "shard-check"
    /// Asks which of a list of shards the node holds whole (a rebuild's plan).
    case shardStat = "shard-stat"
    /// Starts a scrub pass on the node (unless one runs); answers its `ScrubStatus`.
    case scrubStart = "scrub-start"
    case scrubStatus = "scrub-status"
    /// Streamed: the shard's chunks in the request body.
    case shardPut = "shard-put"
    /// Streamed: the shard's chunks in the answer's body.
    case shardGet = "shard-get"
    /// A few chunks of a shard in one framed answer (`ShardWire.framedReadLimit`
    /// bytes at most): a range read's calls, without a stream's set-up.
    case shardRead = "shard-read"

    static let pathPrefix = "/rpc/v1/"
    var path: String { Self.pathPrefix + rawValue }
}
