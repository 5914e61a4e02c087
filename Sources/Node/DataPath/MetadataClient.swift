import ClusterModel
import Foundation
import Logging
import Placement
import Storage

/// What the data path and the workers need of the object tables: quorum
/// reads and writes, merged listing pages, and who replicates a bucket.
/// `MetadataClient` is the cluster's.
/// A bucket has two tables on the same replicas: its objects (named by the
/// bucket's hex) and its multipart uploads (`UploadTable.name`); a record
/// names its table in `bucketID`.
protocol ObjectTables: Sendable {
    func replicas(of bucket: BucketID, routing: ClusterNode.Routing) throws(ObjectError) -> MetadataClient.Replicas
    func write(_ record: ObjectRecord, bucket: BucketID, routing: ClusterNode.Routing) async throws(ObjectError)
    func writeReplacing(bucket: BucketID, routing: ClusterNode.Routing, make: (Stamp?) -> ObjectRecord) async throws(ObjectError) -> ObjectRecord?
    func read(table: String, bucket: BucketID, key: String, routing: ClusterNode.Routing) async throws(ObjectError) -> ObjectRecord?
    func listPage(table: String, bucket: BucketID, prefix: String, after: String?, limit: Int,
                  routing: ClusterNode.Routing) async throws(ObjectError) -> (records: [ObjectRecord], exhausted: Bool)
    func compareAndSet(table: String, bucket: BucketID, key: String, routing: ClusterNode.Routing, ballot: @Sendable (Stamp?) -> Stamp,
                       keepDecidedStamp: Bool, decide: (ObjectRecord?) throws(ObjectError) -> ObjectRecord) async throws(ObjectError)
        -> (written: ObjectRecord, replaced: ObjectRecord?)
    /// The first row under `prefix` that is not a tombstone at the quorum, with its inline bytes.
    func firstLive(table: String, bucket: BucketID, prefix: String, routing: ClusterNode.Routing) async throws(ObjectError) -> ObjectRecord?
}

extension ObjectTables {
    /// A compare-and-set whose row carries its ballot as its stamp (conditional writes, upload states).
    func compareAndSet(table: String, bucket: BucketID, key: String, routing: ClusterNode.Routing, ballot: @Sendable (Stamp?) -> Stamp,
                       decide: (ObjectRecord?) throws(ObjectError) -> ObjectRecord) async throws(ObjectError)
        -> (written: ObjectRecord, replaced: ObjectRecord?)
    {
        try await compareAndSet(table: table, bucket: bucket, key: key, routing: routing, ballot: ballot, keepDecidedStamp: false, decide: decide)
    }
}

extension ObjectTables {
    /// The row a completed upload's parts belong to now: its key's
    /// object-table row, or in a versioning-enabled bucket its version's row.
    func completedObjectRow(bucket: BucketID, key: String, uploadID: String,
                            routing: ClusterNode.Routing) async throws(ObjectError) -> (table: String, rowKey: String) {
        let upload = try await read(table: UploadTable.name(of: bucket.hex), bucket: bucket,
                                    key: UploadTable.uploadRowKey(key: key, uploadID: uploadID), routing: routing)
        if let id = upload?.upload?.completion?.s3VersionID.flatMap(S3VersionID.init) {
            return (VersionTable.name(of: bucket.hex), VersionTable.rowKey(key: key, versionID: id))
        }
        return (bucket.hex, key)
    }

    /// A row of the bucket's object table.
    func read(bucket: BucketID, key: String, routing: ClusterNode.Routing) async throws(ObjectError) -> ObjectRecord? {
        try await read(table: bucket.hex, bucket: bucket, key: key, routing: routing)
    }

    func listPage(bucket: BucketID, prefix: String, after: String?, limit: Int,
                  routing: ClusterNode.Routing) async throws(ObjectError) -> (records: [ObjectRecord], exhausted: Bool) {
        try await listPage(table: bucket.hex, bucket: bucket, prefix: prefix, after: after, limit: limit, routing: routing)
    }
}

/// Quorum reads and writes of the object tables. A bucket's rows live on
/// its metadata replicas (`Layout.metadataReplicas`); writes go to the
/// current layout's replicas and need a majority of them. Reads ask a
/// majority of the current replicas (more only when some do not answer),
/// and during a layout change the replicas of every applied layout, since
/// rows reach the new replicas by anti-entropy. Replicas that answered with
/// an older row are repaired in the background; the others by anti-entropy.
struct MetadataClient: ObjectTables {
    let store: MetadataStore
    let transport: any PeerTransport
    let wantedReplicas: Int
    let logger: Logger
    /// Whether reads draw the replicas they ask besides this node at random
    /// (spreading reads and read repair); tests that need to know which
    /// replicas a read asks turn it off and get them in placement order.
    var spreadReads = true
    /// Row writes of `writeReplacing` to each peer, batched under load
    /// (nil outcome: a replica of an earlier build, which does not report).
    /// An item is a row's JSON, encoded once for all replicas.
    let merges: PeerBatcher<Data, MergeOutcome?>
    /// Row reads from each peer, batched under load.
    let reads: PeerBatcher<MetadataKey, ObjectRecord?>
    /// Stamp reads (a row's stamp without the row) from each peer, batched under load.
    let stampReads: PeerBatcher<MetadataKey, Stamp?>

    init(store: MetadataStore, transport: any PeerTransport, wantedReplicas: Int, logger: Logger, spreadReads: Bool = true) {
        self.store = store
        self.transport = transport
        self.wantedReplicas = wantedReplicas
        self.logger = logger
        self.spreadReads = spreadReads
        // One merge call in flight per replica: the rows that gather while it commits (with a sync) go in the
        // next one. Two would overlap the calls at a higher CPU cost per row (six nodes' small PUT: 1.18 ms of
        // server CPU against 1.02 with one, and a lower rate). Reads keep two: a GET waits on its read.
        merges = PeerBatcher(callsPerPeer: 1) { records, node, address in
            let answer = try await transport.call(.metadataMerge, to: node, at: address, body: MetadataMergeMessage.reporting(encoded: records))
            let outcomes = try MetadataMergeReply.decode(answer).outcomes
            guard let outcomes, outcomes.count == records.count else { return Array(repeating: nil, count: records.count) }
            return outcomes
        }
        reads = PeerBatcher(callsPerPeer: 2) { keys, node, address in
            let ask = { (keys: [MetadataKey]) in try await Self.get(keys, stampsOnly: false, from: node, at: address, transport: transport) }
            return try await Self.rows(of: keys, in: try await ask(keys), askingOneByOne: ask)
        }
        stampReads = PeerBatcher(callsPerPeer: 2) { keys, node, address in
            let ask = { (keys: [MetadataKey]) in try await Self.get(keys, stampsOnly: true, from: node, at: address, transport: transport) }
            let reply = try await ask(keys)
            if let stamps = reply.stamps, stamps.count == keys.count { return stamps }
            // A replica of an earlier build sends rows whatever it is asked: their stamps.
            return try await Self.rows(of: keys, in: reply, askingOneByOne: ask).map { $0?.stamp }
        }
    }

    /// One `metadata-get` of `keys` (rows, or their stamps only) from a peer.
    static func get(_ keys: [MetadataKey], stampsOnly: Bool, from node: NodeID, at address: HostPort,
                    transport: any PeerTransport) async throws -> MetadataGetReply {
        var message = MetadataGetMessage(bucketID: keys[0].bucketID, key: keys[0].key)
        if keys.count > 1 { message.keys = keys }
        if stampsOnly { message.stampsOnly = true }
        let answer = try await transport.call(.metadataGet, to: node, at: address, body: try JSONEncoder.rows().encode(message))
        return try MetadataGetReply.decode(answer)
    }

    /// The rows of `keys` a reply carries, in order. A replica of an earlier
    /// build read a batch's first key only: the others are asked one by one.
    static func rows(of keys: [MetadataKey], in reply: MetadataGetReply,
                     askingOneByOne ask: ([MetadataKey]) async throws -> MetadataGetReply) async throws -> [ObjectRecord?] {
        if keys.count == 1 { return [reply.record] }
        if let records = reply.records, records.count == keys.count { return records }
        var records = [reply.record]
        for key in keys.dropFirst() { records.append(try await ask([key]).record) }
        return records
    }

    struct Replicas {
        let current: [NodeID]
        let all: [NodeID]
        var quorum: Int { majority(of: current.count) }
    }

    func replicas(of bucket: BucketID, routing: ClusterNode.Routing) throws(ObjectError) -> Replicas {
        guard let layout = routing.current else { throw .notReady("no layout applied") }
        let current = layout.metadataReplicas(of: bucket, wanted: wantedReplicas)
        var all = current
        for older in routing.layouts.dropLast().reversed() {
            for node in older.metadataReplicas(of: bucket, wanted: wantedReplicas) where !all.contains(node) { all.append(node) }
        }
        return Replicas(current: current, all: all)
    }

    /// Runs `call` on every reachable node of `nodes` at once; returns the answers by node.
    func each<T: Sendable>(_ nodes: [NodeID], routing: ClusterNode.Routing,
                           _ call: @escaping @Sendable (NodeID, HostPort?) async throws -> T) async -> [NodeID: T] {
        await withTaskGroup(of: (NodeID, T?).self) { group in
            for node in nodes where routing.reachable(node) {
                let address = routing.addresses[node]
                group.addTask {
                    do { return (node, try await call(node, node == routing.selfID ? nil : address)) } catch {
                        logger.debug("metadata call failed", metadata: ["node": "\(node.shortForm)", "error": "\(error)"])
                        return (node, nil)
                    }
                }
            }
            var answers: [NodeID: T] = [:]
            for await (node, answer) in group { if let answer { answers[node] = answer } }
            return answers
        }
    }

    /// Merges `records` into each reachable replica of `nodes`; returns those that acknowledged.
    func push(_ records: [ObjectRecord], to nodes: [NodeID], routing: ClusterNode.Routing) async -> [NodeID: Bool] {
        let body = (try? JSONEncoder.rows().encode(MetadataMergeMessage(records: records))) ?? Data()
        return await each(nodes, routing: routing) { node, address in
            if let address { _ = try await transport.call(.metadataMerge, to: node, at: address, body: body) } else { try await store.merge(records) }
            return true
        }
    }

    func write(_ record: ObjectRecord, bucket: BucketID, routing: ClusterNode.Routing) async throws(ObjectError) {
        let replicas = try replicas(of: bucket, routing: routing)
        let acks = await push([record], to: replicas.current, routing: routing)
        guard acks.count >= replicas.quorum else {
            throw .unavailable("metadata written on \(acks.count) of \(replicas.current.count) replicas, \(replicas.quorum) needed")
        }
    }

    /// Makes a key's row the one `make` builds, in one round when it can:
    /// each replica stores the row and answers with the row it replaced, or
    /// with the newer row it kept. `make` gets the newest stamp seen above
    /// (nil at first) and must stamp the row above it.
    ///
    /// A write acknowledged before this one began is on a majority, which
    /// shares a replica with the majority answering here; so when no answer
    /// shows a newer row, this row's stamp is above every earlier write, as a
    /// quorum read of the row first (the two-round write this replaces) would
    /// have made it. When an answer does show one (another node's clock
    /// ahead), a second round writes the row stamped above every row the
    /// first round saw; a newer row answered then is a concurrent write, so
    /// ordered after this one. Replicas of an earlier build answer without
    /// outcomes: with fewer than a majority that report, the row is checked
    /// by a quorum read instead. A round that reaches fewer than a majority
    /// puts the replaced rows back where it was taken (`revert`) and fails.
    /// Returns the newest row replaced (another write's; its shards are the
    /// caller's to delete).
    func writeReplacing(bucket: BucketID, routing: ClusterNode.Routing,
                        make: (Stamp?) -> ObjectRecord) async throws(ObjectError) -> ObjectRecord? {
        let replicas = try replicas(of: bucket, routing: routing)
        var record = make(nil)
        var replaced: ObjectRecord?
        var mine: Set<Stamp> = []
        for round in 0..<2 {
            mine.insert(record.stamp)
            let current = record
            let json: Data
            do { json = try record.rowJSON() } catch { throw .internalError("cannot encode a row: \(error)") }
            let answers: [NodeID: MergeOutcome?] = await each(replicas.current, routing: routing) { [merges] node, address in
                if let address { return try await merges.call(json, to: node, at: address) }
                return try await store.mergeReporting(encoded: [(ObjectRowHead(of: current), json)])[0]
            }
            guard answers.count >= replicas.quorum else {
                await revert(current, answers: answers, routing: routing)
                throw .unavailable("metadata written on \(answers.count) of \(replicas.current.count) replicas, \(replicas.quorum) needed")
            }
            let outcomes = answers.values.compactMap { $0 }
            for outcome in outcomes where outcome.stored {
                if let held = outcome.held, !mine.contains(held.stamp) { replaced = ObjectRecord.newest(replaced, held) }
            }
            // A row this one replaced within its `justAbove` (same millisecond and counter, another
            // node) counts as newer too: an edit of that row (a handoff going home) is stamped just
            // above it and would outrank this write.
            let newer = outcomes.compactMap { outcome -> ObjectRecord? in
                guard let held = outcome.held, !mine.contains(held.stamp) else { return nil }
                return !outcome.stored || held.stamp.justAbove > record.stamp ? held : nil
            }
            if outcomes.count < replicas.quorum {
                // Replicas that do not report: the row a quorum holds says whether this one is the newest.
                guard round == 0, let held = try await read(table: record.bucketID, bucket: bucket, key: record.key, routing: routing),
                      !mine.contains(held.stamp), held.stamp.justAbove > record.stamp else { return replaced }
                record = make(held.stamp)
                continue
            }
            guard round == 0, let newest = newer.max(by: { $0.stamp < $1.stamp }) else { return replaced }
            // Above every row the first round saw, the ones it replaced included.
            record = make(max(newest.stamp, replaced?.stamp ?? newest.stamp))
        }
        return replaced
    }

    /// Puts back what a failed write replaced on the replicas that took it,
    /// so a write refused to its client does not come back when the rest of
    /// the replicas can be reached again (a minority side of a partition).
    /// Best effort: a replica that cannot be reached now keeps the row.
    func revert(_ record: ObjectRecord, answers: [NodeID: MergeOutcome?], routing: ClusterNode.Routing) async {
        var taken: [NodeID: ObjectRecord?] = [:]
        for (node, outcome) in answers { if let outcome, outcome.stored { taken[node] = outcome.held } }
        let previous = taken
        _ = await each(Array(previous.keys), routing: routing) { node, address in
            let held = previous[node] ?? nil
            if let address {
                let message = MetadataMergeMessage(records: [], reverts: [MergeRevert(table: record.bucketID, key: record.key, stamp: record.stamp, previous: held)])
                _ = try await transport.call(.metadataMerge, to: node, at: address, body: try JSONEncoder.rows().encode(message))
            } else {
                _ = try await store.revert(bucket: record.bucketID, key: record.key, stamp: record.stamp, to: held)
            }
            return true
        }
    }

    func read(table: String, bucket: BucketID, key: String, routing: ClusterNode.Routing) async throws(ObjectError) -> ObjectRecord? {
        let replicas = try replicas(of: bucket, routing: routing)
        if replicas.all.count == replicas.current.count,
           let found = await readWithStamps(table: table, key: key, replicas: replicas, routing: routing) {
            return found.record
        }
        // A layout change (rows may sit on older layouts' replicas only), or
        // replicas that did not answer: every row from as many as answer.
        let item = MetadataKey(bucketID: table, key: key)
        let ask = { (nodes: [NodeID]) async -> [NodeID: MetadataGetReply] in
            await each(nodes, routing: routing) { node, address in MetadataGetReply(record: try await row(item, from: node, at: address)) }
        }
        var answers: [NodeID: MetadataGetReply]
        if replicas.all.count == replicas.current.count {
            // Any majority holds every row a majority acknowledged: ask just a majority (this node
            // first when it is a replica), and the others only if some of those do not answer.
            let first = Self.firstAsked(replicas, routing: routing, spread: spreadReads)
            answers = await ask(first)
            if answers.count < replicas.quorum {
                answers.merge(await ask(replicas.current.filter { !first.contains($0) })) { mine, _ in mine }
            }
        } else {
            // During a layout change rows may still sit on the older layouts' replicas only.
            answers = await ask(replicas.all)
        }
        let currentAnswers = replicas.current.filter { answers[$0] != nil }.count
        guard currentAnswers >= replicas.quorum else {
            throw .unavailable("metadata read from \(currentAnswers) of \(replicas.current.count) replicas, \(replicas.quorum) needed")
        }
        let newest = answers.values.reduce(nil as ObjectRecord?) { ObjectRecord.newest($0, $1.record) }
        if let newest {
            let stale = replicas.current.filter { node in answers[node].map { $0.record?.stamp != newest.stamp } ?? false }
            if !stale.isEmpty { repair(newest, on: stale, routing: routing) }
        }
        return newest
    }

    /// What a read found: the newest row of a majority (nil: none).
    struct Found { let record: ObjectRecord? }

    /// A read in one round without every replica sending the row: the first
    /// replica asked (this node when it is one) sends the row, the rest of a
    /// majority only its stamp. When a stamp is newer than the row (that
    /// replica missed a write), the row comes from a replica that has it.
    /// Replicas that showed an older stamp are repaired. Nil when fewer
    /// than a majority answered, or the newer row could not be had: the
    /// caller then reads whole rows.
    func readWithStamps(table: String, key: String, replicas: Replicas, routing: ClusterNode.Routing) async -> Found? {
        enum Answer: Sendable { case row(ObjectRecord?), stamp(Stamp?) }
        let asked = Self.firstAsked(replicas, routing: routing, spread: spreadReads)
        guard asked.count >= replicas.quorum, let rowNode = asked.first else { return nil }
        let item = MetadataKey(bucketID: table, key: key)
        let answers: [NodeID: Answer] = await each(asked, routing: routing) { node, address in
            node == rowNode ? .row(try await row(item, from: node, at: address)) : .stamp(try await stamp(item, from: node, at: address))
        }
        guard answers.count >= replicas.quorum, case .row(let row)? = answers[rowNode] else { return nil }
        // A missing row's nil stamp stays in the map (mapValues keeps it): that replica is repaired too.
        let stamps: [NodeID: Stamp?] = answers.mapValues { answer in
            switch answer {
            case .row(let record): record?.stamp
            case .stamp(let stamp): stamp
            }
        }
        var newest = row
        if let newestStamp = stamps.values.compactMap({ $0 }).max(), newestStamp != row?.stamp {
            guard let holder = stamps.first(where: { $0.value == newestStamp })?.key else { return nil }
            let address = holder == routing.selfID ? nil : routing.addresses[holder]
            guard holder == routing.selfID || address != nil else { return nil }
            let fetched: ObjectRecord?
            do { fetched = try await self.row(item, from: holder, at: address) } catch { return nil }
            // A newer write may have landed meanwhile (or a failed one been reverted): the newer of the two.
            newest = ObjectRecord.newest(row, fetched)
        }
        if let newest {
            let stale = replicas.current.filter { node in stamps[node].map { $0 != newest.stamp } ?? false }
            if !stale.isEmpty { repair(newest, on: stale, routing: routing) }
        }
        return Found(record: newest)
    }

    /// A row from one replica: this node's store (no address) or a batched call.
    private func row(_ item: MetadataKey, from node: NodeID, at address: HostPort?) async throws -> ObjectRecord? {
        guard let address else { return try await store.get(bucket: item.bucketID, key: item.key) }
        return try await reads.call(item, to: node, at: address)
    }

    /// A row's stamp alone from one replica, the same way.
    private func stamp(_ item: MetadataKey, from node: NodeID, at address: HostPort?) async throws -> Stamp? {
        guard let address else { return try await store.stamps([(item.bucketID, item.key)])[0] }
        return try await stampReads.call(item, to: node, at: address)
    }

    /// The replicas a read asks first: a majority of the reachable current
    /// ones, this node first when it is one (its answer costs no call), the
    /// others drawn at random so reads spread over the replicas and read
    /// repair reaches each of them in turn.
    static func firstAsked(_ replicas: Replicas, routing: ClusterNode.Routing, spread: Bool = true) -> [NodeID] {
        let reachable = replicas.current.filter { routing.reachable($0) }
        let others = reachable.filter { $0 != routing.selfID }
        let ordered = reachable.filter { $0 == routing.selfID } + (spread ? others.shuffled() : others)
        return Array(ordered.prefix(replicas.quorum))
    }

    /// Conditional writes retry this often when other writers' ballots keep pre-empting theirs.
    static let compareAndSetAttempts = 10

    /// An atomic read-decide-write of one row at the bucket's metadata
    /// quorum: single-decree Paxos for the key's next row. Phase one asks
    /// the current replicas to promise a ballot (a stamp of this node's
    /// hybrid clock, above every row seen: unique and ordered) and to show
    /// their row; with a majority of promises, `decide` sees the newest row
    /// any of them holds and makes the new one (or throws, e.g. a failed
    /// precondition). The new row carries the ballot as its stamp, so among
    /// rows written this way the newest is the one of the highest ballot,
    /// which is the value Paxos says a proposer must adopt. Phase two asks
    /// the replicas to take the row unless they promised a higher ballot
    /// since; held by a majority, it is chosen. Otherwise the round is
    /// retried after a random pause, and a proposer that then finds its own
    /// earlier row newest completes it under its new ballot.
    ///
    /// Two writers that both decide on "no row" cannot both succeed: their
    /// majorities share a replica, which either promised the higher ballot
    /// before taking the lower one's row (refusing it), or took that row
    /// first and then showed it to the other writer's phase one.
    ///
    /// `keepDecidedStamp`: the row keeps the stamp `decide` gave it instead
    /// of the ballot — for edits of a row's bookkeeping that must stay below
    /// any write that read the row (moving a handoff home), serialized with
    /// each other by the promises all the same.
    func compareAndSet(table: String, bucket: BucketID, key: String, routing: ClusterNode.Routing,
                       ballot nextBallot: @Sendable (Stamp?) -> Stamp, keepDecidedStamp: Bool,
                       decide: (ObjectRecord?) throws(ObjectError) -> ObjectRecord) async throws(ObjectError)
        -> (written: ObjectRecord, replaced: ObjectRecord?)
    {
        let replicas = try replicas(of: bucket, routing: routing)
        var seen: Stamp?
        var proposed: (record: ObjectRecord, replaced: ObjectRecord?)?
        for attempt in 0..<Self.compareAndSetAttempts {
            if attempt > 0 {
                let pause = UInt64.random(in: 1...(10 << min(attempt, 5)))
                try? await Task.sleep(nanoseconds: pause * 1_000_000)
            }
            let ballot = nextBallot(seen)
            let prepareBody = (try? JSONEncoder.rows().encode(MetadataPrepareMessage(bucketID: table, key: key, ballot: ballot))) ?? Data()
            let answers: [NodeID: MetadataPrepareReply] = await each(replicas.current, routing: routing) { node, address in
                if let address {
                    let data = try await transport.call(.metadataPrepare, to: node, at: address, body: prepareBody)
                    return try JSONDecoder().decode(MetadataPrepareReply.self, from: data)
                }
                let (promised, record) = try await store.prepare(bucket: table, key: key, ballot: ballot)
                return MetadataPrepareReply(promised: promised, record: record)
            }
            guard answers.count >= replicas.quorum else {
                throw .unavailable("conditional write answered by \(answers.count) of \(replicas.current.count) replicas, \(replicas.quorum) needed")
            }
            var current = answers.values.reduce(nil as ObjectRecord?) { ObjectRecord.newest($0, $1.record) }
            if replicas.all.count > replicas.current.count {
                // Rows not yet moved from an older layout's replicas count too.
                current = ObjectRecord.newest(current, try await read(table: table, bucket: bucket, key: key, routing: routing))
            }
            seen = current?.stamp
            guard answers.values.filter(\.promised).count >= replicas.quorum else { continue }
            // A row stamped above the ballot (a plain write, a faster clock): go again with a ballot above it.
            if let current, current.stamp >= ballot, !keepDecidedStamp { continue }
            var record: ObjectRecord
            let replaced: ObjectRecord?
            if let mine = proposed, let current, Self.sameRow(current, mine.record) {
                (record, replaced) = mine
            } else {
                do { record = try decide(current) } catch {
                    // The answer rests on `current`: make it the quorum's row before giving it.
                    if let current {
                        let stale = replicas.current.filter { answers[$0]?.record?.stamp != current.stamp }
                        _ = await push([current], to: stale, routing: routing)
                    }
                    throw error
                }
                replaced = current
            }
            if !keepDecidedStamp { record.stamp = ballot }
            let proposal = record
            proposed = (proposal, replaced)
            let acceptBody = (try? JSONEncoder.rows().encode(MetadataAcceptMessage(record: proposal, ballot: ballot))) ?? Data()
            let accepted: [NodeID: Bool] = await each(replicas.current, routing: routing) { node, address in
                if let address {
                    let data = try await transport.call(.metadataAccept, to: node, at: address, body: acceptBody)
                    return try JSONDecoder().decode(MetadataAcceptReply.self, from: data).accepted
                }
                return try await store.accept(proposal, ballot: ballot)
            }
            if accepted.values.filter({ $0 }).count >= replicas.quorum { return (proposal, replaced) }
        }
        throw .conditionalConflict
    }

    /// The same row but for its stamp (a proposal found again under a later ballot).
    static func sameRow(_ a: ObjectRecord, _ b: ObjectRecord) -> Bool {
        var a = a
        a.stamp = b.stamp
        return a == b
    }

    /// Read repair: pushes the newest row to replicas that showed an older one.
    func repair(_ record: ObjectRecord, on nodes: [NodeID], routing: ClusterNode.Routing) {
        Task {
            _ = await push([record], to: nodes, routing: routing)
            logger.info("metadata read repair", metadata: ["key": "\(record.key)", "replicas": "\(nodes.count)"])
        }
    }

    /// The first row under `prefix` that is live at the quorum. Each
    /// replica names its own first live row (an index seek past any number
    /// of tombstones); the smallest of those is the answer unless a quorum
    /// read shows it deleted (a replica that missed the delete), and then
    /// the search goes on past it. The true first live row is never
    /// skipped: the replica holding its newest copy names it or an earlier one.
    func firstLive(table: String, bucket: BucketID, prefix: String, routing: ClusterNode.Routing) async throws(ObjectError) -> ObjectRecord? {
        var after: String?
        while true {
            let answers = try await askForPages(MetadataListMessage(bucketID: table, prefix: prefix, after: after, limit: 1, liveOnly: true),
                                                bucket: bucket, routing: routing)
            // Tombstones an older peer sent anyway are not candidates.
            let candidates = answers.values.compactMap { $0.first(where: { !$0.isTombstone }) }.map(\.key)
            guard let candidate = candidates.min(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) else { return nil }
            if let row = try await read(table: table, bucket: bucket, key: candidate, routing: routing), !row.isTombstone { return row }
            after = candidate
        }
    }

    /// One page of merged rows (tombstones included) after `after`: the
    /// newest row of each key across a quorum of replicas, in byte order,
    /// complete up to the last key it returns; `exhausted` when no replica
    /// has more. Inline objects come without their bytes (`inlineOmitted`).
    func listPage(table: String, bucket: BucketID, prefix: String, after: String?, limit: Int,
                  routing: ClusterNode.Routing) async throws(ObjectError) -> (records: [ObjectRecord], exhausted: Bool) {
        let answers = try await askForPages(MetadataListMessage(bucketID: table, prefix: prefix, after: after, limit: limit),
                                            bucket: bucket, routing: routing)
        let merged = ListingMerge.merge(Array(answers.values), limit: limit)
        return (merged.records, merged.exhausted)
    }

    /// One listing call on every replica of every applied layout (rows may still sit on older ones), by node;
    /// unavailable unless a quorum of the current replicas answered. Inline objects come without their bytes.
    func askForPages(_ message: MetadataListMessage, bucket: BucketID, routing: ClusterNode.Routing) async throws(ObjectError)
        -> [NodeID: [ObjectRecord]]
    {
        let replicas = try replicas(of: bucket, routing: routing)
        let body = (try? JSONEncoder.rows().encode(message)) ?? Data()
        let answers: [NodeID: [ObjectRecord]] = await each(replicas.all, routing: routing) { node, address in
            if let address {
                let data = try await transport.call(.metadataList, to: node, at: address, body: body)
                return try MetadataListReply.decode(data).records
            }
            return try await store.list(bucket: message.bucketID, prefix: message.prefix, after: message.after, limit: message.limit,
                                        inlineBytes: false, liveOnly: message.liveOnly ?? false)
        }
        let currentAnswers = replicas.current.filter { answers[$0] != nil }.count
        guard currentAnswers >= replicas.quorum else {
            throw .unavailable("listing answered by \(currentAnswers) of \(replicas.current.count) replicas, \(replicas.quorum) needed")
        }
        return answers
    }
}
