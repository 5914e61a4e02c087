import ClusterModel
import Foundation
import Placement

/// One table read in merged pages, a row at a time, for the listings.
struct TableCursor {
    let table: String
    let prefix: String
    let pageSize: Int
    private(set) var after: String?
    private var buffer: ArraySlice<ObjectRecord> = []
    private var exhausted = false

    init(table: String, prefix: String, after: String?, pageSize: Int) {
        self.table = table; self.prefix = prefix; self.after = after; self.pageSize = pageSize
    }

    /// The next row (tombstones included), fetching a page when needed.
    mutating func peek(_ tables: any ObjectTables, bucket: BucketID, routing: ClusterNode.Routing) async throws(ObjectError) -> ObjectRecord? {
        while buffer.isEmpty && !exhausted {
            let page = try await tables.listPage(table: table, bucket: bucket, prefix: prefix, after: after, limit: pageSize, routing: routing)
            buffer = page.records[...]
            exhausted = page.exhausted || page.records.isEmpty
            if let last = page.records.last { after = last.key }
        }
        return buffer.first
    }

    mutating func pop() { if !buffer.isEmpty { buffer.removeFirst() } }

    /// Starts again after `key` (exclusive).
    mutating func seek(after key: String) {
        after = key
        buffer = []
        exhausted = false
    }

    /// Drops the buffered rows `belongs` says are one key's; true when the
    /// buffer ran out while they lasted (more of them may follow).
    mutating func dropBuffered(while belongs: (ObjectRecord) -> Bool) -> Bool {
        while let first = buffer.first, belongs(first) { buffer.removeFirst() }
        return buffer.isEmpty && !exhausted
    }
}

/// Keys in order with their newest entry, across a bucket's object table
/// (null versions) and, for a versioned bucket, its version table.
struct LatestEntries {
    var nulls: TableCursor
    var versions: TableCursor?

    init(bucket: BucketID, prefix: String, after: String?, versioned: Bool, pageSize: Int) {
        nulls = TableCursor(table: bucket.hex, prefix: prefix, after: after, pageSize: pageSize)
        versions = versioned ? TableCursor(table: VersionTable.name(of: bucket.hex), prefix: prefix,
                                           after: after.map(VersionTable.past), pageSize: pageSize) : nil
    }

    mutating func seek(after key: String) {
        nulls.seek(after: key)
        versions?.seek(after: VersionTable.past(key))
    }

    /// The next key and its latest row (a version, a delete marker, or nil when every entry of it is deleted).
    mutating func next(_ tables: any ObjectTables, bucket: BucketID, routing: ClusterNode.Routing) async throws(ObjectError)
        -> (key: String, latest: ObjectRecord?)?
    {
        let null = try await nulls.peek(tables, bucket: bucket, routing: routing)
        var versionRow = try await versions?.peek(tables, bucket: bucket, routing: routing)
        let versionKey = versionRow.flatMap { VersionTable.parseRowKey($0.key)?.key }
        if versionRow != nil && versionKey == nil { throw .internalError("a version table row with a malformed key: \(versionRow!.key)") }
        let candidates = [null?.key, versionKey].compactMap { $0 }
        guard let key = candidates.min(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) else { return nil }
        var latest: ObjectRecord?
        if let null, null.key == key {
            nulls.pop()
            if !null.isTombstone { latest = null }
        }
        if versionKey == key, versions != nil {
            // The key's first live row is its newest version; the rest of its rows are skipped. Deleted
            // versions at its head are skipped in one seek rather than paged through.
            if let row = versionRow, row.isTombstone {
                versionRow = try await tables.firstLive(table: versions!.table, bucket: bucket, prefix: VersionTable.prefix(of: key), routing: routing)
                versions!.seek(after: VersionTable.past(key))
                if let row = versionRow, latest.map({ ObjectService.order(of: row) > ObjectService.order(of: $0) }) ?? true { latest = row }
                return (key, latest)
            }
            if let row = versionRow, VersionTable.parseRowKey(row.key)?.key == key {
                if latest.map({ ObjectService.order(of: row) > ObjectService.order(of: $0) }) ?? true { latest = row }
                if versions!.dropBuffered(while: { VersionTable.parseRowKey($0.key)?.key == key }) {
                    versions!.seek(after: VersionTable.past(key))
                }
            }
        }
        return (key, latest)
    }
}

extension ObjectService {
    public struct Listing: Sendable {
        public var objects: [(key: String, version: ObjectVersion)] = []
        public var commonPrefixes: [String] = []
        public var isTruncated = false
        /// Where the next page starts (the last key or common prefix returned).
        public var nextCursor: String?

        public init() {}
    }

    /// Lists live objects of a bucket in key order after `cursor` (each
    /// key's latest version, none whose latest is a delete marker), rolling
    /// keys up into common prefixes under `delimiter`, at most `maxKeys` entries.
    public func list(bucket: BucketID, prefix: String, delimiter: String?, after cursor: String?, maxKeys: Int) async throws(ObjectError) -> Listing {
        let routing = await node.routing()
        var listing = Listing()
        guard maxKeys > 0 else { return listing }
        var after = cursor
        if let cursor, let delimiter, !delimiter.isEmpty, cursor.hasPrefixBytes(prefix), cursor.utf8.count > prefix.utf8.count,
           ListingMerge.commonPrefix(of: cursor, prefix: prefix, delimiter: delimiter) == cursor {
            after = ListingMerge.skipPast(cursor)
        }
        let versioned = await versioning(of: bucket) != nil
        var entries = LatestEntries(bucket: bucket, prefix: prefix, after: after, versioned: versioned, pageSize: min(max(maxKeys + 1, 100), 1000))
        var count = 0
        while let (key, latest) = try await entries.next(metadata, bucket: bucket, routing: routing) {
            guard let version = latest?.version else { continue }
            if count == maxKeys {
                listing.isTruncated = true
                return listing
            }
            if let rolled = ListingMerge.commonPrefix(of: key, prefix: prefix, delimiter: delimiter) {
                listing.commonPrefixes.append(rolled)
                listing.nextCursor = rolled
                count += 1
                entries.seek(after: ListingMerge.skipPast(rolled))
                continue
            }
            listing.objects.append((key, version))
            listing.nextCursor = key
            count += 1
        }
        return listing
    }

    /// Whether a bucket holds nothing: no live object, and in a versioned
    /// bucket no version and no delete marker either (asked before it is deleted).
    public func isEmpty(bucket: BucketID) async throws(ObjectError) -> Bool {
        let routing = await node.routing()
        var nulls = TableCursor(table: bucket.hex, prefix: "", after: nil, pageSize: 100)
        while let row = try await nulls.peek(metadata, bucket: bucket, routing: routing) {
            if !row.isTombstone { return false }
            nulls.pop()
        }
        guard await versioning(of: bucket) != nil else { return true }
        var versions = TableCursor(table: VersionTable.name(of: bucket.hex), prefix: "", after: nil, pageSize: 100)
        while let row = try await versions.peek(metadata, bucket: bucket, routing: routing) {
            if !row.isTombstone { return false }
            versions.pop()
        }
        return true
    }
}

extension ObjectService {
    /// A page of ListObjectVersions.
    public struct VersionListing: Sendable {
        public struct Entry: Sendable {
            public var key: String
            public var s3VersionID: String
            public var isLatest: Bool
            /// nil: a delete marker.
            public var version: ObjectVersion?
            public var lastModifiedMillis: UInt64
            public init(key: String, s3VersionID: String, isLatest: Bool, version: ObjectVersion?, lastModifiedMillis: UInt64) {
                self.key = key; self.s3VersionID = s3VersionID; self.isLatest = isLatest; self.version = version
                self.lastModifiedMillis = lastModifiedMillis
            }
        }
        public var entries: [Entry] = []
        public var commonPrefixes: [String] = []
        public var isTruncated = false
        public var nextKeyMarker: String?
        public var nextVersionIDMarker: String?
        public init() {}
    }

    /// Every version and delete marker of the bucket's keys under `prefix`,
    /// keys in byte order and each key's entries newest first, starting
    /// after (`keyMarker`, `versionIDMarker`); at most `maxKeys` entries and
    /// common prefixes. Reads the tables in pages: a key with any number of
    /// versions lists without holding them all.
    public func listVersions(bucket: BucketID, prefix: String, delimiter: String?, keyMarker: String?, versionIDMarker: String?,
                             maxKeys: Int) async throws(ObjectError) -> VersionListing {
        let routing = await node.routing()
        var listing = VersionListing()
        let pageSize = min(max(maxKeys + 1, 100), 1000)
        var nulls = TableCursor(table: bucket.hex, prefix: prefix, after: nil, pageSize: pageSize)
        var versions = TableCursor(table: VersionTable.name(of: bucket.hex), prefix: prefix, after: nil, pageSize: pageSize)
        // The key whose latest entry is behind us (on this page or an earlier one).
        var decidedKey: String?
        // The marker key's null version, when it still comes after the version id marker.
        var pendingNull: ObjectRecord?
        if let keyMarker, !keyMarker.isEmpty {
            let idMarker = versionIDMarker.flatMap { $0.isEmpty ? nil : $0 }
            if let idMarker {
                decidedKey = keyMarker
                nulls.seek(after: keyMarker)
                let null = try await metadata.read(bucket: bucket, key: keyMarker, routing: routing)
                if idMarker == S3VersionID.null {
                    // Versions older than the null version follow it.
                    let order = null.map { Self.order(of: $0) } ?? VersionOrder(millis: .max, counter: .max)
                    versions.seek(after: VersionTable.prefix(of: keyMarker) + Self.oldestID(at: order))
                } else {
                    guard let id = S3VersionID(idMarker) else { throw .invalidVersionID }
                    versions.seek(after: VersionTable.rowKey(key: keyMarker, versionID: id))
                    if let null, !null.isTombstone, Self.order(of: null) < id.order { pendingNull = null }
                }
            } else {
                var after = keyMarker
                if let delimiter, !delimiter.isEmpty, ListingMerge.commonPrefix(of: keyMarker, prefix: prefix, delimiter: delimiter) == keyMarker {
                    after = ListingMerge.skipPast(keyMarker)
                }
                nulls.seek(after: after)
                versions.seek(after: VersionTable.past(after))
            }
        }
        guard maxKeys > 0 else { return listing }
        var count = 0
        while true {
            var null = pendingNull
            if null == nil {
                while let row = try await nulls.peek(metadata, bucket: bucket, routing: routing), row.isTombstone { nulls.pop() }
                null = try await nulls.peek(metadata, bucket: bucket, routing: routing)
            }
            while let row = try await versions.peek(metadata, bucket: bucket, routing: routing), row.isTombstone { versions.pop() }
            let versionRow = try await versions.peek(metadata, bucket: bucket, routing: routing)
            let versionKey: String?
            if let versionRow {
                guard let parsed = VersionTable.parseRowKey(versionRow.key) else { throw .internalError("a version table row with a malformed key") }
                versionKey = parsed.key
            } else {
                versionKey = nil
            }
            // The next entry: the smaller key; for one key, the newer write.
            let takeNull: Bool
            switch (null, versionRow) {
            case (nil, nil): return listing
            case (.some, nil): takeNull = true
            case (nil, .some): takeNull = false
            case (let n?, let v?):
                if n.key == versionKey! { takeNull = Self.order(of: n) > Self.order(of: v) } else {
                    takeNull = n.key.utf8.lexicographicallyPrecedes(versionKey!.utf8)
                }
            }
            let row = takeNull ? null! : versionRow!
            let key = takeNull ? row.key : versionKey!
            if let rolled = ListingMerge.commonPrefix(of: key, prefix: prefix, delimiter: delimiter) {
                if count == maxKeys { listing.isTruncated = true; return listing }
                listing.commonPrefixes.append(rolled)
                listing.nextKeyMarker = rolled
                listing.nextVersionIDMarker = nil
                count += 1
                let past = ListingMerge.skipPast(rolled)
                nulls.seek(after: past)
                versions.seek(after: VersionTable.past(past))
                pendingNull = nil
                decidedKey = nil
                continue
            }
            if count == maxKeys { listing.isTruncated = true; return listing }
            if takeNull {
                if pendingNull != nil { pendingNull = nil } else { nulls.pop() }
            } else {
                versions.pop()
            }
            let entry = VersionListing.Entry(key: key, s3VersionID: Self.s3VersionID(of: row), isLatest: decidedKey != key,
                                             version: row.version, lastModifiedMillis: row.version?.lastModifiedMillis ?? row.marker?.lastModifiedMillis ?? 0)
            decidedKey = key
            listing.entries.append(entry)
            listing.nextKeyMarker = key
            listing.nextVersionIDMarker = entry.s3VersionID
            count += 1
        }
    }

    /// The largest version id of a write order: every id after it is of an older write.
    static func oldestID(at order: VersionOrder) -> String {
        S3VersionID.hex(~order.millis, digits: 16) + S3VersionID.hex(UInt64(~order.counter), digits: 8) + "ffffffff"
    }
}
