import ClusterModel
import Foundation
import Crypto
import GRDB

/// Group commit of row merges: each row with its head in, whether it was stored and the row it replaced or lost to
/// (its JSON; nil: none) out.
typealias MergeGroup = CommitGroup<(head: ObjectRowHead, json: Data), (stored: Bool, held: Data?)>

/// This node's replica of the object tables, in SQLite (WAL) under
/// `metadata_dir`. Rows merge by last writer wins: a row is replaced only by
/// one with a larger stamp, so replaying, reordering or repeating writes from
/// any replica converges. Tombstones stay as rows so an older write cannot
/// come back. GRDB's async calls run off the caller's executor.
public final class MetadataStore: Sendable {
    public static let fileName = "objects.sqlite"

    let pool: DatabasePool
    /// Row merges, committed in groups (one transaction and one sync for the merges that arrive together).
    let merges: MergeGroup
    /// Notes of shards about to be written here, and of shards deleted here, committed in groups.
    let shardNotes: CommitGroup<LocalShard, Void>
    let shardForgets: CommitGroup<(versionID: String, slot: Int), Void>

    public init(metadataDir: String) throws(StorageError) {
        let path = metadataDir + "/" + Self.fileName
        let pool: DatabasePool
        do {
            var configuration = Configuration()
            configuration.label = "shale-metadata"
            pool = try DatabasePool(path: path, configuration: configuration)
            // A commit must be on the disk before a row is acknowledged: the WAL is synced at every
            // commit. GRDB's WAL set-up picks NORMAL (synced at checkpoints only), under which the
            // newest commits can be lost to a power cut or a kernel crash. The pool's one writing
            // connection lives as long as the pool, so set once here it holds for every write.
            try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
            try Self.migrator.migrate(pool)
        } catch {
            throw .database(path: path, reason: "\(error)")
        }
        self.pool = pool
        merges = MergeGroup { rows in try await pool.write { db in try Self.apply(rows, in: db) } }
        shardNotes = CommitGroup { shards in try await pool.write { db in try Self.note(shards, in: db) } }
        shardForgets = CommitGroup { shards in try await pool.write { db in try Self.forget(shards, in: db) } }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // Keys compare as bytes (BINARY collation on UTF-8): S3's listing order.
            try db.execute(sql: """
                CREATE TABLE objects (
                    bucket TEXT NOT NULL,
                    key TEXT NOT NULL,
                    stamp_millis INTEGER NOT NULL,
                    stamp_counter INTEGER NOT NULL,
                    stamp_node TEXT NOT NULL,
                    deleted INTEGER NOT NULL,
                    record BLOB NOT NULL,
                    PRIMARY KEY (bucket, key)
                ) WITHOUT ROWID
                """)
        }
        migrator.registerMigration("v2-local-shards") { db in
            // The shards stored on this node and the object each belongs to,
            // so shards no version references any more can be found and collected.
            try db.execute(sql: """
                CREATE TABLE local_shards (
                    version_id TEXT NOT NULL,
                    slot INTEGER NOT NULL,
                    bucket TEXT NOT NULL,
                    key TEXT NOT NULL,
                    created_millis INTEGER NOT NULL,
                    PRIMARY KEY (version_id, slot)
                ) WITHOUT ROWID
                """)
            try db.execute(sql: "CREATE INDEX local_shards_by_age ON local_shards (created_millis)")
        }
        migrator.registerMigration("v3-key-ballots") { db in
            // The highest ballot each key's conditional writers were promised
            // (see `prepare`); durable, so a restart never forgets a promise.
            try db.execute(sql: """
                CREATE TABLE key_ballots (
                    bucket TEXT NOT NULL,
                    key TEXT NOT NULL,
                    ballot_millis INTEGER NOT NULL,
                    ballot_counter INTEGER NOT NULL,
                    ballot_node TEXT NOT NULL,
                    PRIMARY KEY (bucket, key)
                ) WITHOUT ROWID
                """)
        }
        migrator.registerMigration("v4-handoff-shards") { db in
            // Shards this node holds for an owner that was away when they
            // were written: the handoff mover's work list.
            try db.execute(sql: """
                CREATE TABLE handoff_shards (
                    version_id TEXT NOT NULL,
                    slot INTEGER NOT NULL,
                    bucket TEXT NOT NULL,
                    key TEXT NOT NULL,
                    PRIMARY KEY (version_id, slot)
                ) WITHOUT ROWID
                """)
        }
        migrator.registerMigration("v5-rebuild-journal") { db in try RebuildJournal.createTables(db) }
        migrator.registerMigration("v6-live-rows") { db in
            // The rows that are not tombstones, in key order: a key whose versions were deleted by the
            // thousand is skipped in one index seek when its latest live version is looked for.
            try db.execute(sql: "CREATE INDEX objects_live ON objects (bucket, key) WHERE deleted = 0")
        }
        migrator.registerMigration("v7-objects-by-rowid") { db in
            // Rows of hundreds of bytes to several KiB (an inline object's) made a poor WITHOUT ROWID
            // table: its interior pages held the whole rows, a few per page, and SQLite reads a row's
            // overflow pages for every comparison it makes on the way down. A rowid table keeps the
            // rows; a unique index of (bucket, key) alone finds them.
            try db.execute(sql: """
                CREATE TABLE objects_by_rowid (
                    bucket TEXT NOT NULL,
                    key TEXT NOT NULL,
                    stamp_millis INTEGER NOT NULL,
                    stamp_counter INTEGER NOT NULL,
                    stamp_node TEXT NOT NULL,
                    deleted INTEGER NOT NULL,
                    record BLOB NOT NULL
                );
                INSERT INTO objects_by_rowid (bucket, key, stamp_millis, stamp_counter, stamp_node, deleted, record)
                    SELECT bucket, key, stamp_millis, stamp_counter, stamp_node, deleted, record FROM objects ORDER BY bucket, key;
                DROP TABLE objects;
                ALTER TABLE objects_by_rowid RENAME TO objects;
                CREATE UNIQUE INDEX objects_key ON objects (bucket, key);
                CREATE INDEX objects_live ON objects (bucket, key) WHERE deleted = 0;
                """)
        }
        return migrator
    }

    /// Notes shards held here for an absent owner (in the same transaction
    /// style as `recordShards`, before their files are written).
    public func recordHandoffs(_ shards: [LocalShard]) async throws(StorageError) {
        guard !shards.isEmpty else { return }
        do {
            try await pool.write { db in
                for shard in shards {
                    try db.execute(sql: """
                        INSERT INTO handoff_shards (version_id, slot, bucket, key) VALUES (?, ?, ?, ?)
                        ON CONFLICT (version_id, slot) DO NOTHING
                        """, arguments: [shard.versionID, shard.slot, shard.bucket, shard.key])
                }
            }
        } catch { throw .database(path: Self.fileName, reason: "\(error)") }
    }

    /// Drops a handoff note (its shard went home, or no row names it a handoff any more).
    public func forgetHandoff(versionID: String, slot: Int) async throws(StorageError) {
        do {
            try await pool.write { db in
                try db.execute(sql: "DELETE FROM handoff_shards WHERE version_id = ? AND slot = ?", arguments: [versionID, slot])
            }
        } catch { throw .database(path: Self.fileName, reason: "\(error)") }
    }

    /// Handoff shards held here, in (version id, slot) order after `after`.
    public func handoffShards(after: (versionID: String, slot: Int)?, limit: Int) async throws(StorageError) -> [LocalShard] {
        do {
            return try await readAside { db in
                let cursor = after ?? ("", -1)
                return try Row.fetchAll(db, sql: """
                    SELECT version_id, slot, bucket, key FROM handoff_shards
                    WHERE (version_id, slot) > (?, ?) ORDER BY version_id, slot LIMIT ?
                    """, arguments: [cursor.0, cursor.1, limit]).map { row in
                    LocalShard(versionID: row[0], slot: row[1], bucket: row[2], key: row[3], createdMillis: 0)
                }
            }
        } catch { throw .database(path: Self.fileName, reason: "\(error)") }
    }

    /// Stores each record unless the row already holds a newer (or the same)
    /// stamp; returns how many rows changed.
    @discardableResult
    public func merge(_ records: [ObjectRecord]) async throws(StorageError) -> Int {
        guard !records.isEmpty else { return 0 }
        let rows = try Self.encoded(records)
        try Self.refuseOmitted(rows.map(\.head))
        do {
            return try await merges.commit(rows).filter(\.stored).count
        } catch {
            throw .database(path: Self.fileName, reason: "\(error)")
        }
    }

    /// What one record's merge did: stored it over the row `held` (nil: no
    /// row), or kept `held`, a row of a newer or the same stamp.
    public struct MergeOutcome: Codable, Sendable, Equatable {
        public let stored: Bool
        public let held: ObjectRecord?
        public init(stored: Bool, held: ObjectRecord?) { self.stored = stored; self.held = held }
    }

    /// `merge`, and for each record the row it replaced or lost to, read in
    /// the same transaction. A one-round write learns from these whether its
    /// stamp was above every row a majority holds, and a write that did not
    /// reach a majority puts the replaced rows back (`revert`); see
    /// `MetadataClient.writeReplacing`.
    public func mergeReporting(_ records: [ObjectRecord]) async throws(StorageError) -> [MergeOutcome] {
        try await mergeReporting(encoded: try Self.encoded(records))
    }

    /// Each record's head with the JSON its row stores.
    static func encoded(_ records: [ObjectRecord]) throws(StorageError) -> [(head: ObjectRowHead, json: Data)] {
        try records.map { (record: ObjectRecord) throws(StorageError) -> (head: ObjectRowHead, json: Data) in
            do { return (ObjectRowHead(of: record), try record.rowJSON()) } catch { throw .database(path: Self.fileName, reason: "\(error)") }
        }
    }

    /// `mergeReporting` of rows encoded already (each row's JSON, as
    /// `ObjectRecord.rowJSON()` writes it, with its head).
    public func mergeReporting(encoded rows: [(head: ObjectRowHead, json: Data)]) async throws(StorageError) -> [MergeOutcome] {
        try await mergeReportingRows(encoded: rows).map { (stored, held) throws(StorageError) in
            MergeOutcome(stored: stored, held: try held.map(Self.decode))
        }
    }

    /// `mergeReporting(encoded:)` with the rows held as stored (their JSON),
    /// for a replica that sends them on to the writer.
    public func mergeReportingRows(encoded rows: [(head: ObjectRowHead, json: Data)]) async throws(StorageError) -> [(stored: Bool, held: Data?)] {
        guard !rows.isEmpty else { return [] }
        try Self.refuseOmitted(rows.map(\.head))
        do {
            return try await merges.commit(rows)
        } catch {
            throw .database(path: Self.fileName, reason: "\(error)")
        }
    }

    /// Undoes a merge of a write that failed (it reached fewer than a
    /// majority): when the key's row is still the one stamped `stamp`, puts
    /// `previous` back (nil: the key had no row). A row written since is
    /// left alone. Returns whether the row was put back.
    public func revert(bucket: String, key: String, stamp: Stamp, to previous: ObjectRecord?) async throws(StorageError) -> Bool {
        let data: Data?
        do { data = try previous.map { try $0.rowJSON() } } catch { throw .database(path: Self.fileName, reason: "\(error)") }
        do {
            return try await pool.write { db in
                guard try Self.rowStamp(db, bucket: bucket, key: key) == stamp else { return false }
                try db.execute(sql: "DELETE FROM objects WHERE bucket = ? AND key = ?", arguments: [bucket, key])
                if let previous, let data { try Self.upsert(db, ObjectRowHead(of: previous), data) }
                return true
            }
        } catch { throw .database(path: Self.fileName, reason: "\(error)") }
    }

    public func get(bucket: String, key: String) async throws(StorageError) -> ObjectRecord? {
        try await get([(bucket, key)])[0]
    }

    /// Several rows, each read on its own, in the order asked (nil: no row).
    public func get(_ keys: [(bucket: String, key: String)]) async throws(StorageError) -> [ObjectRecord?] {
        try await rows(keys).map { (data: Data?) throws(StorageError) -> ObjectRecord? in try data.map(Self.decode) }
    }

    /// The stamps of several rows (nil: no row), read from their columns
    /// without the rows themselves.
    public func stamps(_ keys: [(bucket: String, key: String)]) async throws(StorageError) -> [Stamp?] {
        do {
            return try readHere { db in try keys.map { bucket, key in try Self.rowStamp(db, bucket: bucket, key: key) } }
        } catch { throw .database(path: Self.fileName, reason: "\(error)") }
    }

    /// `get` without decoding: each row's JSON as stored (as
    /// `ObjectRecord.rowJSON()` writes it), for a replica that sends rows on to a reader.
    public func rows(_ keys: [(bucket: String, key: String)]) async throws(StorageError) -> [Data?] {
        do {
            return try readHere { db in
                try keys.map { bucket, key in try Self.rowData(db, bucket: bucket, key: key) }
            }
        } catch { throw .database(path: Self.fileName, reason: "\(error)") }
    }

    /// Rows of `bucket` after `after` in key order (tombstones included: the
    /// caller merges replicas), at most `limit`, stopping past `prefix`.
    /// `inlineBytes` false leaves inline objects' bytes out (a listing needs
    /// none; anti-entropy, which stores the rows, asks for them).
    public func list(bucket: String, prefix: String, after: String?, limit: Int, inlineBytes: Bool = true,
                     liveOnly: Bool = false) async throws(StorageError) -> [ObjectRecord] {
        let candidate = after ?? ""
        let start = candidate.utf8.lexicographicallyPrecedes(prefix.utf8) ? prefix : candidate
        let inclusive = after == nil || start != after
        let rows: [Data]
        do {
            rows = try await readAside { db in
                try Data.fetchAll(db.cachedStatement(sql: """
                    SELECT record FROM objects \(liveOnly ? "INDEXED BY objects_live" : "")
                    WHERE bucket = ? AND key \(inclusive ? ">=" : ">") ? \(liveOnly ? "AND deleted = 0" : "") ORDER BY key LIMIT ?
                    """), arguments: [bucket, start, limit])
            }
        } catch { throw .database(path: Self.fileName, reason: "\(error)") }
        var records: [ObjectRecord] = []
        for data in rows {
            var record = try Self.decode(data)
            guard record.key.hasPrefixBytes(prefix) else { break }
            if !inlineBytes { record.version = record.version?.withoutInlineData }
            records.append(record)
        }
        return records
    }

    // MARK: Compare-and-set rounds (conditional writes)

    /// Phase one of a conditional write: promises to take no accept of a
    /// lower ballot for the key, and returns the key's row as it stands,
    /// in one transaction. Refused (`promised` false) when a higher ballot
    /// was promised already.
    public func prepare(bucket: String, key: String, ballot: Stamp) async throws(StorageError) -> (promised: Bool, record: ObjectRecord?) {
        let result: (Bool, Data?)
        do {
            result = try await pool.write { db in
                let promised = try Self.promise(db, bucket: bucket, key: key)
                let row = try Self.rowData(db, bucket: bucket, key: key)
                if let promised, promised > ballot { return (false, row) }
                try db.execute(sql: """
                    INSERT INTO key_ballots (bucket, key, ballot_millis, ballot_counter, ballot_node) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (bucket, key) DO UPDATE SET ballot_millis = excluded.ballot_millis,
                        ballot_counter = excluded.ballot_counter, ballot_node = excluded.ballot_node
                    """, arguments: [bucket, key, Int64(bitPattern: ballot.millis), Int64(ballot.counter), ballot.node])
                return (true, row)
            }
        } catch { throw .database(path: Self.fileName, reason: "\(error)") }
        return (result.0, try result.1.map(Self.decode))
    }

    /// Phase two: merges `record` unless a higher ballot than `ballot` was
    /// promised since; returns whether the replica now holds exactly it (a
    /// newer row already there is not replaced, nor another proposal of the
    /// same stamp, and then it does not).
    public func accept(_ record: ObjectRecord, ballot: Stamp) async throws(StorageError) -> Bool {
        let head = ObjectRowHead(of: record)
        try Self.refuseOmitted([head])
        let data: Data
        do { data = try record.rowJSON() } catch { throw .database(path: Self.fileName, reason: "\(error)") }
        do {
            return try await pool.write { db in
                if let promised = try Self.promise(db, bucket: record.bucketID, key: record.key), promised > ballot { return false }
                try Self.upsert(db, head, data)
                guard let held = try Self.rowData(db, bucket: record.bucketID, key: record.key) else { return false }
                // The same record may have been stored by an earlier build, encoded otherwise.
                return try held == data || Self.decode(held) == record
            }
        } catch { throw .database(path: Self.fileName, reason: "\(error)") }
    }

    /// A listing page's copy of an inline object lacks its bytes: storing
    /// it would lose them, so it is refused rather than merged.
    static func refuseOmitted(_ rows: [ObjectRowHead]) throws(StorageError) {
        if let row = rows.first(where: \.inlineOmitted) {
            throw .database(path: fileName, reason: "refused a row of \(row.key) without its inline bytes (a listing's copy)")
        }
    }

    /// Merges `rows` in order within the caller's transaction: for each,
    /// whether it was stored, and the row it replaced or lost to.
    private static func apply(_ rows: MergeGroup.Items, in db: Database) throws -> MergeGroup.Outcomes {
        try rows.map { head, data in
            let held = try rowData(db, bucket: head.bucketID, key: head.key)
            try upsert(db, head, data)
            return (db.changesCount > 0, held)
        }
    }

    /// A key's stored row, as its JSON.
    private static func rowData(_ db: Database, bucket: String, key: String) throws -> Data? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT record FROM objects WHERE bucket = ? AND key = ?"), arguments: [bucket, key])
    }

    /// Stores the row `data` (whose head is `head`) unless the key's row holds a newer (or the same)
    /// stamp: the one last-writer-wins merge.
    private static func upsert(_ db: Database, _ head: ObjectRowHead, _ data: Data) throws {
        // Cached: compiling it (SQLite's parser and GRDB's authorizer) was 4% of a one-node small PUT.
        try db.cachedStatement(sql: """
            INSERT INTO objects (bucket, key, stamp_millis, stamp_counter, stamp_node, deleted, record)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (bucket, key) DO UPDATE SET
                stamp_millis = excluded.stamp_millis, stamp_counter = excluded.stamp_counter,
                stamp_node = excluded.stamp_node, deleted = excluded.deleted, record = excluded.record
            WHERE (excluded.stamp_millis, excluded.stamp_counter, excluded.stamp_node)
                > (objects.stamp_millis, objects.stamp_counter, objects.stamp_node)
            """).execute(arguments: [head.bucketID, head.key, Int64(bitPattern: head.stamp.millis),
                                     Int64(head.stamp.counter), head.stamp.node, head.isTombstone, data])
    }

    private static func promise(_ db: Database, bucket: String, key: String) throws -> Stamp? {
        try Row.fetchOne(db, sql: """
            SELECT ballot_millis, ballot_counter, ballot_node FROM key_ballots WHERE bucket = ? AND key = ?
            """, arguments: [bucket, key]).map(stamp(of:))
    }

    /// The stamp of a key's row, from its columns (nil: no row).
    private static func rowStamp(_ db: Database, bucket: String, key: String) throws -> Stamp? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT stamp_millis, stamp_counter, stamp_node FROM objects WHERE bucket = ? AND key = ?"),
                         arguments: [bucket, key]).map(stamp(of:))
    }

    /// A stamp stored as three columns (millis, counter, node), in that order.
    private static func stamp(of row: Row) -> Stamp {
        Stamp(millis: UInt64(bitPattern: row[0] as Int64), counter: UInt32(row[1] as Int64), node: row[2])
    }

    /// A shard this node stores, and the object it belongs to.
    public struct LocalShard: Sendable, Equatable {
        public let versionID: String
        public let slot: Int
        public let bucket: String
        public let key: String
        public let createdMillis: UInt64

        public init(versionID: String, slot: Int, bucket: String, key: String, createdMillis: UInt64) {
            self.versionID = versionID; self.slot = slot; self.bucket = bucket; self.key = key; self.createdMillis = createdMillis
        }
    }

    /// Notes shards before their files are written, in one transaction (a
    /// crash in between leaves rows without files, which collection drops);
    /// a shard noted again gets the new time.
    public func recordShards(_ shards: [LocalShard]) async throws(StorageError) {
        guard !shards.isEmpty else { return }
        do { _ = try await shardNotes.commit(shards) } catch { throw .database(path: Self.fileName, reason: "\(error)") }
    }

    private static func note(_ shards: [LocalShard], in db: Database) throws -> [Void] {
        try shards.map { shard in
            try db.cachedStatement(sql: """
                INSERT INTO local_shards (version_id, slot, bucket, key, created_millis) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (version_id, slot) DO UPDATE SET created_millis = excluded.created_millis
                """).execute(arguments: [shard.versionID, shard.slot, shard.bucket, shard.key, Int64(shard.createdMillis)])
        }
    }

    public func forgetShards(versionID: String, slots: [Int]) async throws(StorageError) {
        guard !slots.isEmpty else { return }
        do { _ = try await shardForgets.commit(slots.map { (versionID, $0) }) } catch { throw .database(path: Self.fileName, reason: "\(error)") }
    }

    private static func forget(_ shards: [(versionID: String, slot: Int)], in db: Database) throws -> [Void] {
        try shards.map { shard in
            try db.cachedStatement(sql: "DELETE FROM local_shards WHERE version_id = ? AND slot = ?").execute(arguments: [shard.versionID, shard.slot])
            try db.cachedStatement(sql: "DELETE FROM handoff_shards WHERE version_id = ? AND slot = ?").execute(arguments: [shard.versionID, shard.slot])
        }
    }

    /// Every shard noted here, in (version id, slot) order after `after` (a scrub's walk).
    public func localShards(after: (versionID: String, slot: Int)?, limit: Int) async throws(StorageError) -> [LocalShard] {
        do {
            return try await readAside { db in
                let cursor = after ?? ("", -1)
                return try Row.fetchAll(db, sql: """
                    SELECT version_id, slot, bucket, key, created_millis FROM local_shards
                    WHERE (version_id, slot) > (?, ?) ORDER BY version_id, slot LIMIT ?
                    """, arguments: [cursor.0, cursor.1, limit]).map { row in
                    LocalShard(versionID: row[0], slot: row[1], bucket: row[2], key: row[3], createdMillis: UInt64(row[4] as Int64))
                }
            }
        } catch { throw .database(path: Self.fileName, reason: "\(error)") }
    }

    /// How many shards are noted here (a scrub's total).
    public func shardCount() async throws(StorageError) -> Int {
        do { return try await readAside { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM local_shards") ?? 0 } } catch {
            throw .database(path: Self.fileName, reason: "\(error)")
        }
    }

    /// Whether the shard is noted here.
    public func hasShard(versionID: String, slot: Int) async throws(StorageError) -> Bool {
        do {
            return try readHere { db in
                try Bool.fetchOne(db, sql: "SELECT 1 FROM local_shards WHERE version_id = ? AND slot = ?", arguments: [versionID, slot]) ?? false
            }
        } catch { throw .database(path: Self.fileName, reason: "\(error)") }
    }

    /// Shards noted before `millis`, oldest first.
    public func shards(createdBefore millis: UInt64, limit: Int) async throws(StorageError) -> [LocalShard] {
        do {
            return try await readAside { db in
                try Row.fetchAll(db, sql: """
                    SELECT version_id, slot, bucket, key, created_millis FROM local_shards
                    WHERE created_millis < ? ORDER BY created_millis LIMIT ?
                    """, arguments: [Int64(millis), limit]).map { row in
                    LocalShard(versionID: row[0], slot: row[1], bucket: row[2], key: row[3], createdMillis: UInt64(row[4] as Int64))
                }
            }
        } catch { throw .database(path: Self.fileName, reason: "\(error)") }
    }

    /// SHA-256 over every (key, stamp) of a bucket in key order: replicas
    /// that hold the same rows give the same digest.
    public func digest(bucket: String) async throws(StorageError) -> [UInt8] {
        do {
            return try await readAside { db in
                var hasher = SHA256()
                let sql = "SELECT key, stamp_millis, stamp_counter, stamp_node FROM objects WHERE bucket = ? ORDER BY key"
                let rows = try Row.fetchCursor(db, sql: sql, arguments: [bucket])
                while let row = try rows.next() {
                    let key: String = row[0]
                    let millis: Int64 = row[1]
                    let counter: Int64 = row[2]
                    let node: String = row[3]
                    hasher.update(data: Array("\(key)\u{0}\(millis).\(counter)@\(node)\u{0}".utf8))
                }
                return Array(hasher.finalize())
            }
        } catch { throw .database(path: Self.fileName, reason: "\(error)") }
    }

    // MARK: Reads

    // Every read is a synchronous GRDB read, so the thread that used a reader
    // connection gives it back. GRDB's async read gives its connection back
    // only once the awaiting task runs again on the cooperative pool: were
    // the pool's threads (two on a two-core machine) all blocked in a
    // synchronous read waiting for a connection held that way, none would
    // come back.

    /// A read of a few pages (rows by key, stamps, one shard's note) on the
    /// calling thread: no hop to a reader's queue and back (without those
    /// hops and their wake-ups a one-node small GET took a sixth less server CPU).
    /// Outside a transaction: each of its statements reads one key, atomic on
    /// its own, and the keys of one call are independent requests' (a
    /// replica's batch), so no snapshot across them is owed; GRDB's
    /// transaction around a read (BEGIN, a savepoint, COMMIT) cost more than
    /// the row's own read.
    private func readHere<T>(_ body: (Database) throws -> T) throws -> T { try pool.unsafeRead(body) }

    /// A read of many rows (a listing page, a digest, a scan) on a queue of its own.
    func readAside<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            Self.readQueue.async { [pool] in continuation.resume(with: Result { try pool.read(body) }) }
        }
    }

    private static let readQueue = DispatchQueue(label: "shale-metadata-reads", attributes: .concurrent)

    static func decode(_ data: Data) throws(StorageError) -> ObjectRecord {
        do { return try ObjectRecord.decodeRow(data) } catch {
            throw .database(path: fileName, reason: "unreadable row: \(error)")
        }
    }
}

extension String {
    /// Prefix test on UTF-8 bytes (S3 keys compare as bytes, not as Unicode text).
    public func hasPrefixBytes(_ prefix: String) -> Bool { utf8.starts(with: prefix.utf8) }
}
