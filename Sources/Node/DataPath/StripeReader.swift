import ClusterModel
import Erasure
import Logging
import Metrics
import NIOCore
import Placement
import Storage
import Units

/// Opens the shards a reader needs: a file on this node or a stream from
/// the owner. The reader knows only this, not the service behind it.
protocol ShardSourceOpener: Sendable {
    /// Whether a call to `owner` can be tried at all (itself, or a healthy peer).
    func reachable(_ owner: NodeID) -> Bool
    /// Whether `owner` is this node (its shards are files here, not streams).
    func isLocal(_ owner: NodeID) -> Bool
    /// Opens `key` on `owner`, positioned at the first of `chunks`.
    func open(_ key: ShardKey, on owner: NodeID, format: ShardFileFormat, chunks: Range<Int>) async throws(NodeError) -> any ShardSource
}

/// What a reader needs besides its shards.
struct StripeReaderSettings: Sendable {
    var backend: ErasureBackendKind
    /// A source that has not delivered a block's chunk by then is read around.
    var slowShardTimeoutMillis: Int
    var logger: Logger
    /// The clock the slow-shard deadline is measured on.
    var clock: any WallClock = SystemClock()
}

/// Reads an object version stripe by stripe from any k of its shards:
/// data shards first, parity to replace a shard that is missing,
/// unreachable or corrupt — from that block on — or, on a node holding
/// parity and no data, to spare a peer's stream (`preference`). `targets`
/// names shards to rebuild besides missing data.
/// One task drives it; blocks are read in increasing order.
final class StripeReader {
    let body: StoredBody
    let code: ErasureCode
    let codec: ReedSolomon
    let format: ShardFileFormat
    /// For `read` (a range inside one block, a rebuild): `readData` needs none.
    private(set) lazy var stripe = StripeBuffer(code: code, maxBlockLength: body.blockSizeBytes)
    let owners: [NodeID]
    let opener: any ShardSourceOpener
    let settings: StripeReaderSettings
    let lastBlock: Int
    /// The order `readData` opens shards in: the data shards, then parity;
    /// but when this node holds no data shard and a parity shard, that
    /// parity comes before the last data shard.
    let preference: [Int]
    /// Shards found damaged or missing while reading (for the repair queue).
    private(set) var damaged: Set<Int> = []
    private var sources: [Int: any ShardSource] = [:]
    private var failed: Set<Int>

    init(_ body: StoredBody, owners: [NodeID], opener: any ShardSourceOpener, settings: StripeReaderSettings,
         blocks: ClosedRange<Int>, excluding excluded: Set<Int> = []) throws(ObjectError) {
        self.body = body
        self.owners = owners
        self.opener = opener
        self.settings = settings
        lastBlock = blocks.upperBound
        do {
            code = try ErasureCode(dataShards: body.dataShards, parityShards: body.parityShards)
            codec = try ReedSolomon.shared(code, backend: settings.backend)
        } catch { throw .internalError("\(error)") }
        guard let format = ObjectService.shardFormat(size: body.size, blockSize: body.blockSizeBytes, code: code) else {
            throw .internalError("no shards in an empty object")
        }
        self.format = format
        failed = excluded.union((0..<code.totalShards).filter { !body.storedSlots.contains($0) || $0 >= owners.count })
        for slot in 0..<min(code.totalShards, owners.count) where !failed.contains(slot) && !opener.reachable(owners[slot]) {
            failed.insert(slot)
        }
        preference = Self.preference(code: code, local: Set((0..<min(code.totalShards, owners.count)).filter { opener.isLocal(owners[$0]) }),
                                     failed: failed)
    }

    var logger: Logger { settings.logger }

    /// The data shards in order, then parity; a parity shard held here
    /// (`local`) before the last data shard when no data shard is here:
    /// reading it from the disk and decoding one data shard costs this node
    /// less than receiving that data shard from a peer (and the peer its sending).
    static func preference(code: ErasureCode, local: Set<Int>, failed: Set<Int>) -> [Int] {
        let k = code.dataShards
        var order = Array(0..<code.totalShards)
        if !local.contains(where: { $0 < k }), let parity = local.filter({ $0 >= k && !failed.contains($0) }).min() {
            order.removeAll { $0 == parity }
            order.insert(parity, at: k - 1)
        }
        return order
    }

    /// Fills the stripe for `block`: all data shards, plus `targets` rebuilt.
    /// With `bytes` (offsets within the block), only the data shards those
    /// bytes lie in are filled, read from their holders alone when they
    /// answer — a small range read touches one node, not k. For a reader of
    /// a single block only: a source left unread would fall behind.
    func read(block: Int, rebuilding targets: ShardSet = ShardSet(), bytes: Range<Int>? = nil) async throws(ObjectError) -> StripeBuffer {
        let blockStart = UInt64(block) * UInt64(body.blockSizeBytes)
        let blockLength = Int(min(UInt64(body.blockSizeBytes), body.size - blockStart))
        do { try stripe.prepare(blockLength: blockLength) } catch { throw .internalError("\(error)") }
        var have = ShardSet()
        let length = stripe.shardLength
        if let bytes, !bytes.isEmpty, targets.isEmpty, lastBlock == block, sources.isEmpty {
            let needed = ShardSet((bytes.lowerBound / length)...((bytes.upperBound - 1) / length))
            var reads: [(Int, any ShardSource, ShardBuffer)] = []
            for slot in needed where !failed.contains(slot) {
                guard let source = await open(slot, at: block) else { continue }
                sources[slot] = source
                reads.append((slot, source, ShardBuffer(stripe.shard(slot))))
            }
            let outcomes = await readChunks(reads, length: length)
            for (slot, _, _) in reads where settle(slot, outcomes[slot], block: block) { have.insert(slot) }
            if needed.isSubset(of: have) { return stripe }
            // A needed shard is missing: read k and decode, as for a whole block.
        }
        return try await complete(block: block, have: have, rebuilding: targets)
    }

    /// A block's k data chunks, never copied into the stripe: each data
    /// shard's chunk as received (a peer's bytes handed on as they came),
    /// and a data shard not read decoded from the k chunks that were, into
    /// a buffer of its own. It reads the k shards of `preference` that are
    /// not lost — the data shards, except when this node holds a parity
    /// shard and no data shard: then that parity stands in for the last
    /// data shard (a local read and a decode cost less than a peer's
    /// stream). A shard that fails, or is slow, is dropped and the next
    /// one opened from this block on. For whole blocks of a reader of any
    /// number of blocks.
    func readData(block: Int) async throws(ObjectError) -> BlockData {
        let k = code.dataShards
        let blockStart = UInt64(block) * UInt64(body.blockSizeBytes)
        let blockLength = Int(min(UInt64(body.blockSizeBytes), body.size - blockStart))
        let length = Striping.shardLength(blockLength: blockLength, dataShards: k)
        var chunks: [Int: ByteBuffer] = [:]
        while chunks.count < k {
            for slot in preference where sources.count < k && sources[slot] == nil && !failed.contains(slot) {
                if let source = await open(slot, at: block) { sources[slot] = source }
            }
            // Every open source is read every block, to stay in step.
            let pending = sources.filter { chunks[$0.key] == nil }.map { ($0.key, $0.value) }
            guard chunks.count + pending.count >= k else {
                throw .unreadable("block \(block): \(chunks.count + pending.count) of \(k) needed shards readable")
            }
            let outcomes = await readEach(pending) { _, source in
                do throws(NodeError) { return .success(try await source.nextChunk(length: length)) } catch { return .failure(error) }
            }
            for (slot, _) in pending where settle(slot, outcomes[slot].map(\.failure), block: block) {
                chunks[slot] = try? outcomes[slot]?.get()
            }
        }
        let decoded = ShardSet((0..<k).filter { chunks[$0] == nil })
        if !decoded.isEmpty {
            do {
                for (slot, chunk) in try Self.decode(decoded, from: chunks, length: length, codec: codec) { chunks[slot] = chunk }
            } catch { throw .internalError("\(error)") }
            // A parity read by choice is not a degraded read; a lost data shard is.
            if (0..<k).contains(where: failed.contains) { Counter(label: "shale_degraded_blocks_total").increment() }
        }
        return BlockData(chunks: (0..<k).map { chunks[$0]! }, blockLength: blockLength, decoded: decoded)
    }

    /// The data shards `targets` of one block, computed from k chunks of
    /// equal length (any slots) into buffers of their own: the chunks are
    /// read where they lie, not gathered into a stripe.
    static func decode(_ targets: ShardSet, from chunks: [Int: ByteBuffer], length: Int,
                       codec: ReedSolomon) throws -> [(Int, ByteBuffer)] {
        guard chunks.values.allSatisfy({ $0.readableBytes == length }) else { throw ObjectError.internalError("a chunk of the wrong length") }
        let total = codec.code.totalShards
        let inputs = chunks.sorted { $0.key < $1.key }
        let slots = Array(targets)
        // One buffer holds every decoded shard, handed on as slices of it.
        var decoded = ByteBufferAllocator().buffer(capacity: length * slots.count)
        decoded.moveWriterIndex(forwardBy: length * slots.count)
        let table = ShardPointers.allocate(capacity: total)
        table.initialize(repeating: nil, count: total)
        defer { table.deallocate() }
        let unread = ShardSet((0..<total).filter { chunks[$0] == nil })
        // Each input's bytes are pinned by a closure of its own, nested, for the one codec call.
        func pinInput(_ index: Int) throws {
            guard index < inputs.count else {
                return try codec.reconstruct(shardLength: length, shards: table, missing: unread, rebuild: targets)
            }
            // The codec only reads its inputs; the mutable pointer is its table's type.
            try inputs[index].value.withUnsafeReadableBytes { bytes in
                table[inputs[index].key] = UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
                try pinInput(index + 1)
            }
        }
        try decoded.withUnsafeMutableReadableBytes { output in
            for (index, slot) in slots.enumerated() {
                table[slot] = (output.baseAddress! + index * length).assumingMemoryBound(to: UInt8.self)
            }
            try pinInput(0)
        }
        return slots.enumerated().map { index, slot in (slot, decoded.getSlice(at: index * length, length: length)!) }
    }

    /// Fills the rest of the stripe for `block` (prepared, `have` already
    /// in it): the other open sources, then parity until k, then decoding.
    private func complete(block: Int, have alreadyHave: ShardSet, rebuilding targets: ShardSet) async throws(ObjectError) -> StripeBuffer {
        var have = alreadyHave
        let length = stripe.shardLength
        let reads = sources.filter { !have.contains($0.key) }.map { (slot, source) in (slot, source, ShardBuffer(stripe.shard(slot))) }
        let outcomes = await readChunks(reads, length: length)
        for (slot, _, _) in reads where settle(slot, outcomes[slot], block: block) { have.insert(slot) }
        var candidate = 0
        while have.count < code.dataShards {
            while candidate < code.totalShards && (failed.contains(candidate) || sources[candidate] != nil) { candidate += 1 }
            guard candidate < code.totalShards else {
                throw .unreadable("block \(block): \(have.count) of \(code.dataShards) needed shards readable")
            }
            let slot = candidate
            guard let source = await open(slot, at: block) else { continue }
            sources[slot] = source
            let outcome = await readChunks([(slot, source, ShardBuffer(stripe.shard(slot)))], length: length)[slot]
            if settle(slot, outcome, block: block) { have.insert(slot) }
        }
        let rebuild = ShardSet((0..<code.dataShards).filter { !have.contains($0) }).union(ShardSet(targets.filter { !have.contains($0) }))
        if !rebuild.isEmpty {
            let missing = ShardSet((0..<code.totalShards).filter { !have.contains($0) })
            do { try codec.reconstruct(stripe, missing: missing, rebuild: rebuild) } catch { throw .internalError("\(error)") }
            Counter(label: "shale_degraded_blocks_total").increment()
        }
        return stripe
    }

    /// Reads the next chunk of every source at once into its shard buffer:
    /// remote shards stream in parallel, not one network hop after another.
    /// A source missing from the answer did not deliver by the deadline
    /// (slow); the others map to nil (read) or their error.
    private func readChunks(_ reads: [(Int, any ShardSource, ShardBuffer)], length: Int) async -> [Int: NodeError?] {
        let buffers = Dictionary(uniqueKeysWithValues: reads.map { ($0.0, $0.2) })
        let outcomes = await readEach(reads.map { ($0.0, $0.1) }) { slot, source -> Result<Void, NodeError> in
            do throws(NodeError) { try await source.next(into: buffers[slot]!.bytes, length: length); return .success(()) } catch {
                return .failure(error)
            }
        }
        return outcomes.mapValues(\.failure)
    }

    /// Runs `read` on every source at once, under the slow-shard deadline:
    /// a source missing from the answer did not finish by then (its read is
    /// cancelled); the others map to what their read returned.
    private func readEach<Value: Sendable>(_ reads: [(Int, any ShardSource)],
                                           _ read: @escaping @Sendable (Int, any ShardSource) async -> Result<Value, NodeError>)
        async -> [Int: Result<Value, NodeError>]
    {
        guard !reads.isEmpty else { return [:] }
        let timeoutMillis = UInt64(settings.slowShardTimeoutMillis)
        let clock = settings.clock
        return await withTaskGroup(of: ReadOutcome<Value>.self) { group in
            for (slot, source) in reads {
                group.addTask { .done(slot, await read(slot, source)) }
            }
            group.addTask {
                try? await clock.sleep(millis: timeoutMillis)
                return .deadline
            }
            var outcomes: [Int: Result<Value, NodeError>] = [:]
            var deadlinePassed = false
            for await outcome in group {
                switch outcome {
                case .done(let slot, let result):
                    // A read that ends after the deadline was cancelled by it: the
                    // shard was slow, not lost, and is left out (read around, not repaired).
                    guard !deadlinePassed else { continue }
                    outcomes[slot] = result
                    if outcomes.count == reads.count { group.cancelAll() }
                case .deadline:
                    deadlinePassed = true
                    if outcomes.count < reads.count { group.cancelAll() }
                }
            }
            return outcomes
        }
    }

    /// Whether a slot's chunk arrived; drops the source when it did not.
    private func settle(_ slot: Int, _ outcome: NodeError??, block: Int) -> Bool {
        switch outcome {
        case .some(.none): return true
        case .some(.some(let error)): lost(slot, error)
        case .none: slow(slot, block: block)
        }
        return false
    }

    /// A shard that did not deliver in time: read around, not repaired
    /// (it is likely whole, on a node that is busy or stopped).
    private func slow(_ slot: Int, block: Int) {
        logger.warning("shard too slow; reading parity instead", metadata: ["slot": "\(slot)", "block": "\(block)"])
        Counter(label: "shale_slow_shards_total").increment()
        sources[slot] = nil
        failed.insert(slot)
    }

    private func lost(_ slot: Int, _ error: NodeError) {
        logger.warning("shard read failed; reading parity instead", metadata: ["slot": "\(slot)", "error": "\(error)"])
        sources[slot] = nil
        failed.insert(slot)
        damaged.insert(slot)
    }

    private func open(_ slot: Int, at block: Int) async -> (any ShardSource)? {
        let key = ShardKey(versionID: body.versionID, slot: slot)!
        do throws(NodeError) {
            return try await opener.open(key, on: owners[slot], format: format, chunks: block..<(lastBlock + 1))
        } catch {
            logger.warning("shard unavailable", metadata: ["shard": "\(key)", "error": "\(error)"])
            failed.insert(slot)
            // Missing on a reachable node (not merely unreachable): worth repairing.
            if case .shardMissing = error { damaged.insert(slot) }
            return nil
        }
    }
}

/// The node's opener: local shard files, or the shard transport's streams
/// from peers, as one routing snapshot sees them.
struct ClusterShardOpener: ShardSourceOpener {
    let shards: ShardStore
    let transport: any ShardTransport
    let routing: ClusterNode.Routing
    let slowShardTimeoutMillis: Int
    let logger: Logger

    func reachable(_ owner: NodeID) -> Bool { routing.reachable(owner) }

    func isLocal(_ owner: NodeID) -> Bool { owner == routing.selfID }

    func open(_ key: ShardKey, on owner: NodeID, format: ShardFileFormat, chunks: Range<Int>) async throws(NodeError) -> any ShardSource {
        if owner == routing.selfID {
            return try LocalShardSource(store: shards, key: key, firstChunk: chunks.lowerBound, logger: logger)
        }
        guard let address = routing.addresses[owner] else { throw .peer("no address for \(owner.shortForm)") }
        // The deadline covers the answer's head only; each chunk then has its own (in the reader).
        return try await transport.source(for: key, format: format, chunks: chunks, on: owner, at: address,
                                          headTimeoutMillis: slowShardTimeoutMillis)
    }
}

/// One shard's bytes in the stripe, handed to the task filling it (each
/// task gets a different shard, and the stripe outlives the tasks).
struct ShardBuffer: @unchecked Sendable {
    let bytes: UnsafeMutableRawBufferPointer
    init(_ bytes: UnsafeMutableRawBufferPointer) { self.bytes = bytes }
}

extension Result where Failure == NodeError {
    /// Its error, or nil when it succeeded (what `settle` takes).
    var failure: NodeError? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

enum ReadOutcome<Value: Sendable>: Sendable {
    case done(Int, Result<Value, NodeError>)
    case deadline
}

/// One block from `StripeReader.readData`.
struct BlockData {
    /// The k data shards' chunks in order (each the block's shard length,
    /// the last padded): the block is their concatenation, cut at `blockLength`.
    let chunks: [ByteBuffer]
    let blockLength: Int
    /// The data shards computed from parity rather than read.
    let decoded: ShardSet
}
