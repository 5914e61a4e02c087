import Foundation
import GRDB

/// A rebuild's durable state on the node that runs it, in the metadata
/// store's SQLite file: the job's status document and its work list, one
/// row per erasure-coded body that needs shards written. A restarted node
/// reads both back and goes on with the rows not yet done; finished rows
/// are never redone.
public struct RebuildJournal: Sendable {
    let store: MetadataStore

    public init(store: MetadataStore) { self.store = store }

    /// One body to make whole under the current layout.
    public struct Work: Sendable, Equatable {
        public enum State: Int, Sendable { case pending = 0, done = 1, unrecoverable = 2, failed = 3 }
        /// The table of its row: a bucket's object table, or its uploads table (a part of an open upload).
        public var table: String
        public var rowKey: String
        /// The object key whose partition places the shards.
        public var objectKey: String
        public var bucketHex: String
        public var versionID: String
        public var partition: Int
        /// Intact shards found when planned; the fewest go first.
        public var surviving: Int
        /// Slots to write on their current owner, and those of them with no copy left to read.
        public var writes: [Int]
        public var lost: [Int]
        /// Shard bytes the writes restore.
        public var bytes: UInt64
        public var state: State

        public init(table: String, rowKey: String, objectKey: String, bucketHex: String, versionID: String, partition: Int,
                    surviving: Int, writes: [Int], lost: [Int], bytes: UInt64, state: State = .pending) {
            self.table = table; self.rowKey = rowKey; self.objectKey = objectKey; self.bucketHex = bucketHex; self.versionID = versionID
            self.partition = partition; self.surviving = surviving; self.writes = writes; self.lost = lost; self.bytes = bytes; self.state = state
        }
    }

    /// What the work list holds, counted by state.
    public struct Totals: Sendable, Equatable {
        public var items = 0, itemsDone = 0, unrecoverable = 0, failed = 0
        public var bytes: UInt64 = 0, bytesDone: UInt64 = 0
        public var partitions = 0, partitionsDone = 0
    }

    static func createTables(_ db: Database) throws {
        try db.execute(sql: "CREATE TABLE rebuild_job (id INTEGER PRIMARY KEY CHECK (id = 1), document BLOB NOT NULL)")
        try db.execute(sql: """
            CREATE TABLE rebuild_work (
                table_name TEXT NOT NULL,
                row_key TEXT NOT NULL,
                version_id TEXT NOT NULL,
                object_key TEXT NOT NULL,
                bucket TEXT NOT NULL,
                partition INTEGER NOT NULL,
                surviving INTEGER NOT NULL,
                writes TEXT NOT NULL,
                lost TEXT NOT NULL,
                bytes INTEGER NOT NULL,
                state INTEGER NOT NULL,
                PRIMARY KEY (table_name, row_key, version_id)
            ) WITHOUT ROWID
            """)
        try db.execute(sql: "CREATE INDEX rebuild_work_order ON rebuild_work (state, surviving, partition, table_name, row_key, version_id)")
    }

    public func saveJob(_ document: Data) async throws(StorageError) {
        try await write { db in
            try db.execute(sql: "INSERT INTO rebuild_job (id, document) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET document = excluded.document",
                           arguments: [document])
        }
    }

    public func loadJob() async throws(StorageError) -> Data? {
        try await read { db in try Data.fetchOne(db, sql: "SELECT document FROM rebuild_job WHERE id = 1") }
    }

    /// Empties the work list (a new plan replaces the old one).
    public func clearWork() async throws(StorageError) {
        try await write { db in try db.execute(sql: "DELETE FROM rebuild_work") }
    }

    public func add(_ work: [Work]) async throws(StorageError) {
        guard !work.isEmpty else { return }
        try await write { db in
            for item in work {
                try db.execute(sql: """
                    INSERT INTO rebuild_work (table_name, row_key, version_id, object_key, bucket, partition, surviving, writes, lost, bytes, state)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (table_name, row_key, version_id) DO UPDATE SET
                        surviving = excluded.surviving, writes = excluded.writes, lost = excluded.lost, bytes = excluded.bytes, state = excluded.state
                    """, arguments: [item.table, item.rowKey, item.versionID, item.objectKey, item.bucketHex, item.partition, item.surviving,
                                     Self.slots(item.writes), Self.slots(item.lost), Int64(item.bytes), item.state.rawValue])
            }
        }
    }

    /// Work in `state`, fewest surviving shards first, then by partition.
    public func work(in state: Work.State, limit: Int) async throws(StorageError) -> [Work] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT table_name, row_key, version_id, object_key, bucket, partition, surviving, writes, lost, bytes, state FROM rebuild_work
                WHERE state = ? ORDER BY surviving, partition, table_name, row_key, version_id LIMIT ?
                """, arguments: [state.rawValue, limit]).map(Self.work)
        }
    }

    public func mark(_ work: Work, _ state: Work.State) async throws(StorageError) {
        try await write { db in
            try db.execute(sql: "UPDATE rebuild_work SET state = ? WHERE table_name = ? AND row_key = ? AND version_id = ?",
                           arguments: [state.rawValue, work.table, work.rowKey, work.versionID])
        }
    }

    /// Failed work goes back to pending (a retry pass).
    public func retryFailed() async throws(StorageError) -> Int {
        try await write { db in
            try db.execute(sql: "UPDATE rebuild_work SET state = ? WHERE state = ?", arguments: [Work.State.pending.rawValue, Work.State.failed.rawValue])
            return db.changesCount
        }
    }

    public func totals() async throws(StorageError) -> Totals {
        try await read { db in
            var totals = Totals()
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*), COALESCE(SUM(bytes), 0) FROM rebuild_work GROUP BY state") {
                let count: Int = row[1]
                let bytes = UInt64(row[2] as Int64)
                totals.items += count
                totals.bytes += bytes
                switch Work.State(rawValue: row[0]) {
                case .done: totals.itemsDone += count; totals.bytesDone += bytes
                case .unrecoverable: totals.unrecoverable += count
                case .failed: totals.failed += count
                default: break
                }
            }
            // A partition is done when no work of it is pending or failed.
            totals.partitions = try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT partition) FROM rebuild_work") ?? 0
            let open = try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT partition) FROM rebuild_work WHERE state IN (?, ?)",
                                        arguments: [Work.State.pending.rawValue, Work.State.failed.rawValue]) ?? 0
            totals.partitionsDone = totals.partitions - open
            return totals
        }
    }

    private static func work(_ row: Row) -> Work {
        Work(table: row[0], rowKey: row[1], objectKey: row[3], bucketHex: row[4], versionID: row[2], partition: row[5], surviving: row[6],
             writes: slots(row[7]), lost: slots(row[8]), bytes: UInt64(row[9] as Int64), state: Work.State(rawValue: row[10]) ?? .pending)
    }

    private static func slots(_ list: [Int]) -> String { list.map(String.init).joined(separator: ",") }
    private static func slots(_ text: String) -> [Int] { text.split(separator: ",").compactMap { Int($0) } }

    private func write<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws(StorageError) -> T {
        do { return try await store.pool.write(body) } catch { throw .database(path: MetadataStore.fileName, reason: "\(error)") }
    }

    private func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws(StorageError) -> T {
        do { return try await store.readAside(body) } catch { throw .database(path: MetadataStore.fileName, reason: "\(error)") }
    }
}
