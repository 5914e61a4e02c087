import ClusterModel
import Foundation
import Placement
import GRDB
@testable import Storage
import Testing

@Suite struct MetadataStoreTests {
    func store() throws -> MetadataStore {
        let path = NSTemporaryDirectory() + "shale-meta-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return try MetadataStore(metadataDir: path)
    }

    func row(_ key: String, _ millis: UInt64, counter: UInt32 = 0, node: String = "n1", deleted: Bool = false, bucket: String = "b") -> ObjectRecord {
        let version = deleted ? nil : ObjectVersion(
            versionID: String(repeating: "c", count: 32), size: millis, etag: "e\(millis)", contentType: "text/plain",
            userMetadata: ["a": "b"], lastModifiedMillis: millis, dataShards: 4, parityShards: 2, blockSizeBytes: 1 << 20,
            layoutVersion: LayoutVersion(1), storedSlots: [0, 1, 2, 3, 4])
        return ObjectRecord(bucketID: bucket, key: key, stamp: Stamp(millis: millis, counter: counter, node: node), version: version)
    }

    /// A merge returns once its commit is on the disk: the connection that
    /// writes syncs every commit (`synchronous = FULL`). GRDB's WAL set-up
    /// picks NORMAL, under which the newest commits can be lost to a power
    /// cut or a kernel crash although the row was acknowledged.
    @Test func everyCommitIsSyncedBeforeAMergeReturns() async throws {
        let store = try store()
        #expect(try await store.pool.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2)
        #expect(try await store.pool.writeWithoutTransaction { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
    }

    /// Point reads run on the calling thread and hold a reader connection
    /// while they wait for one; pages read on a queue of their own. Were a
    /// page read GRDB's async read, its connection would come back only
    /// once its task ran again on the cooperative pool, whose threads could
    /// all be waiting in point reads for a connection: many of both at once
    /// must all finish, with the rows they asked for.
    @Test(.timeLimit(.minutes(1))) func pointReadsAndPageReadsAtOnceAllFinish() async throws {
        let store = try store()
        let rows = (0..<50).map { row(String(format: "k%03d", $0), 10) }
        #expect(try await store.merge(rows) == 50)
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for task in 0..<400 {
                group.addTask {
                    if task % 2 == 0 {
                        return try await store.list(bucket: "b", prefix: "", after: nil, limit: 100) == rows
                    }
                    let index = task % 50
                    return try await store.get(bucket: "b", key: rows[index].key) == rows[index]
                }
            }
            for try await right in group { #expect(right) }
        }
    }

    /// A file written by a build whose object table was WITHOUT ROWID
    /// (schema v6) opens with its rows, in key order, as a rowid table with
    /// a unique index of (bucket, key): interior pages that hold whole rows
    /// of up to several KiB made every seek read overflow pages. Merges,
    /// point reads, live-only listings and last-writer-wins all hold after.
    @Test func aV6TableOfRowsMovesToARowidTable() async throws {
        let path = NSTemporaryDirectory() + "shale-meta-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let rows = (0..<300).map { row(String(format: "k%04d", ($0 * 7919) % 300), 10 + UInt64($0)) }
        let tombstone = row("k0001", 1_000, deleted: true)
        do {
            let pool = try DatabasePool(path: path + "/" + MetadataStore.fileName)
            try MetadataStore.migrator.migrate(pool, upTo: "v6-live-rows")
            try await pool.write { db in
                for record in rows.filter({ $0.key != tombstone.key }) + [tombstone] {
                    try db.execute(sql: """
                        INSERT INTO objects (bucket, key, stamp_millis, stamp_counter, stamp_node, deleted, record)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [record.bucketID, record.key, Int64(record.stamp.millis), Int64(record.stamp.counter),
                                         record.stamp.node, record.version == nil, try record.rowJSON()])
                }
            }
            #expect(try await pool.read { try String.fetchOne($0, sql: "SELECT sql FROM sqlite_master WHERE name = 'objects'") }?
                .contains("WITHOUT ROWID") == true)
        }
        let store = try MetadataStore(metadataDir: path)
        let table = try await store.pool.read { try String.fetchOne($0, sql: "SELECT sql FROM sqlite_master WHERE name = 'objects'") }
        #expect(table?.contains("WITHOUT ROWID") == false)
        let indexes = try await store.pool.read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'objects' ORDER BY name") }
        #expect(indexes == ["objects_key", "objects_live"])
        let sorted = rows.filter { $0.key != tombstone.key }.sorted { $0.key < $1.key }
        let listed = try await store.list(bucket: "b", prefix: "", after: nil, limit: 1000)
        #expect(listed.map(\.key) == (sorted.map(\.key) + [tombstone.key]).sorted())
        #expect(try await store.list(bucket: "b", prefix: "", after: nil, limit: 1000, liveOnly: true) == sorted)
        #expect(try await store.get(bucket: "b", key: "k0002") == rows.first { $0.key == "k0002" })
        // Last writer wins on the moved rows: an older stamp loses, a newer one replaces.
        #expect(try await store.merge([row("k0003", 1)]) == 0)
        #expect(try await store.merge([row("k0003", 5_000)]) == 1)
        #expect(try await store.get(bucket: "b", key: "k0003") == row("k0003", 5_000))
        #expect(try await store.merge([row("new", 1)]) == 1)
        #expect(try await store.list(bucket: "b", prefix: "", after: nil, limit: 1000).count == 301)
    }

    @Test func lastWriterWinsWhateverTheOrder() async throws {
        let store = try store()
        let older = row("k", 10), newer = row("k", 10, counter: 1), tombstone = row("k", 11, deleted: true)
        #expect(try await store.merge([newer]) == 1)
        #expect(try await store.merge([older]) == 0)
        #expect(try await store.get(bucket: "b", key: "k") == newer)
        #expect(try await store.merge([tombstone, older]) == 1)
        #expect(try await store.get(bucket: "b", key: "k") == tombstone)
        #expect(try await store.merge([tombstone]) == 0)
        #expect(try await store.get(bucket: "b", key: "other") == nil)
    }

    /// Rows are written with '/' as itself (an escaped one sends the decoder
    /// down its slow path); rows of earlier builds ("\/") read the same, and
    /// an accept of the record such a row already holds counts.
    @Test func rowsKeepSlashesAndEarlierRowsStillRead() async throws {
        let store = try store()
        var record = row("dir/file", 10)
        record.version?.inlineData = Data(repeating: 0xFF, count: 30)  // base64 "////…"
        let earlier = try JSONEncoder().encode(record)
        #expect(String(decoding: earlier, as: UTF8.self).contains("\\/"))
        _ = try await store.mergeReporting(encoded: [(ObjectRowHead(of: record), earlier)])
        #expect(try await store.get(bucket: "b", key: "dir/file") == record)
        let accepted = try await store.accept(record, ballot: record.stamp)
        #expect(accepted, "the row holds this very record, written by an earlier build")
        let now = try JSONEncoder.rows().encode(record)
        #expect(!String(decoding: now, as: UTF8.self).contains("\\/"))
        #expect(try JSONDecoder().decode(ObjectRecord.self, from: now) == record)
    }

    /// A replica's side of a compare-and-set: a promise refuses lower
    /// ballots' accepts, survives reopening, and an accept counts only when
    /// the replica then holds the row (a newer row already there wins).
    @Test func promisesAndAcceptsOfConditionalWrites() async throws {
        let path = NSTemporaryDirectory() + "shale-meta-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        var store = try MetadataStore(metadataDir: path)
        let low = Stamp(millis: 100, counter: 0, node: "a"), high = Stamp(millis: 200, counter: 0, node: "b")
        let first = try await store.prepare(bucket: "b", key: "k", ballot: low)
        #expect(first.promised && first.record == nil)
        #expect(try await store.prepare(bucket: "b", key: "k", ballot: high).promised)
        #expect(try await !store.prepare(bucket: "b", key: "k", ballot: low).promised)
        #expect(try await !store.accept(row("k", 100, node: "a"), ballot: low), "a lower ballot than the promise is refused")
        #expect(try await store.get(bucket: "b", key: "k") == nil)
        store = try MetadataStore(metadataDir: path)
        #expect(try await !store.prepare(bucket: "b", key: "k", ballot: low).promised, "promises are durable")
        #expect(try await store.accept(row("k", 200, node: "b"), ballot: high))
        let seen = try await store.prepare(bucket: "b", key: "k", ballot: Stamp(millis: 300, counter: 0, node: "c"))
        #expect(seen.promised && seen.record == row("k", 200, node: "b"))
        try await store.merge([row("k", 500)])
        #expect(try await !store.accept(row("k", 300, node: "c"), ballot: Stamp(millis: 300, counter: 0, node: "c")),
                "a newer row is kept, and the accept does not count")
    }

    @Test func listsInByteOrderWithinAPrefix() async throws {
        let store = try store()
        try await store.merge(["a/1", "a/2", "a/€", "a/z", "b/1", "a"].map { row($0, 1) } + [row("a/3", 1, bucket: "other")])
        let all = try await store.list(bucket: "b", prefix: "a/", after: nil, limit: 100)
        #expect(all.map(\.key) == ["a/1", "a/2", "a/z", "a/€"])
        let page = try await store.list(bucket: "b", prefix: "a/", after: "a/1", limit: 2)
        #expect(page.map(\.key) == ["a/2", "a/z"])
        #expect(try await store.list(bucket: "b", prefix: "", after: "a/€", limit: 10).map(\.key) == ["b/1"])
    }

    @Test func survivesReopening() async throws {
        let path = NSTemporaryDirectory() + "shale-meta-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        do {
            let store = try MetadataStore(metadataDir: path)
            try await store.merge([row("k", 5)])
        }
        let reopened = try MetadataStore(metadataDir: path)
        #expect(try await reopened.get(bucket: "b", key: "k")?.stamp.millis == 5)
    }
}

@Suite struct ShardStoreTests {
    @Test func namesOnlyWellFormedShards() {
        #expect(ShardKey(versionID: String(repeating: "a", count: 32), slot: 0) != nil)
        #expect(ShardKey(versionID: String(repeating: "A", count: 32), slot: 0) == nil)
        #expect(ShardKey(versionID: "../../etc/passwd" + String(repeating: "a", count: 16), slot: 0) == nil)
        #expect(ShardKey(versionID: String(repeating: "a", count: 32), slot: 255) == nil)
    }

    @Test func writesFindsAndDeletesShards() throws {
        let dir = NSTemporaryDirectory() + "shale-shards-" + UUID().uuidString
        let store = ShardStore(dataDir: dir)
        let key = ShardKey(versionID: "0123456789abcdef0123456789abcdef", slot: 3)!
        let writer = try store.writer(for: key, format: ShardFileFormat(chunkSize: 64, dataLength: 64))
        try [UInt8](repeating: 7, count: 64).withUnsafeBytes { try writer.append($0) }
        try writer.commit()
        #expect(store.path(of: key).hasSuffix("/shards/01/23/0123456789abcdef0123456789abcdef.3"))
        #expect(FileManager.default.fileExists(atPath: store.path(of: key)))
        // The disk the shard takes is counted (whole blocks: at least its length).
        #expect(store.usedBytes() >= UInt64(ShardFileFormat(chunkSize: 64, dataLength: 64).fileLength))
        try store.delete(key)
        #expect(store.usedBytes() == 0)
        try store.delete(key)
        #expect(!FileManager.default.fileExists(atPath: store.path(of: key)))
    }
}

extension MetadataStoreTests {
    /// Fifty merges at once (they share transactions): every row stored and
    /// read back, each merge told it stored its row over nothing.
    @Test func concurrentMergesAllLand() async throws {
        let store = try store()
        let outcomes = try await withThrowingTaskGroup(of: [MetadataStore.MergeOutcome].self) { group in
            for i in 0..<50 { group.addTask { try await store.mergeReporting([self.row("k\(i)", UInt64(10 + i))]) } }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(outcomes.count == 50)
        #expect(outcomes.allSatisfy { $0.stored && $0.held == nil })
        for i in 0..<50 { #expect(try await store.get(bucket: "b", key: "k\(i)") == row("k\(i)", UInt64(10 + i))) }
    }
}

extension MetadataStoreTests {
    static func version(_ i: Int) -> String { String(format: "%032x", i) }

    /// Shard notes and deletions at once (each kind shares transactions): all land.
    @Test func concurrentShardNotesAndDeletionsAllLand() async throws {
        let store = try store()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                group.addTask {
                    try await store.recordShards((0..<3).map {
                        MetadataStore.LocalShard(versionID: Self.version(i), slot: $0, bucket: "b", key: "k\(i)", createdMillis: UInt64(i))
                    })
                }
            }
            try await group.waitForAll()
        }
        #expect(try await store.shardCount() == 120)
        #expect(try await store.localShards(after: nil, limit: 500).map(\.key) == (0..<40).flatMap { i in Array(repeating: "k\(i)", count: 3) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<40 where i % 2 == 0 { group.addTask { try await store.forgetShards(versionID: Self.version(i), slots: [0, 1, 2]) } }
            try await group.waitForAll()
        }
        #expect(try await store.shardCount() == 60)
        #expect(try await store.hasShard(versionID: Self.version(1), slot: 2))
        #expect(try await !store.hasShard(versionID: Self.version(2), slot: 0))
    }
}
