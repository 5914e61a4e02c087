import ClusterModel
import Erasure
import Foundation
import Logging
import NIOCore
@testable import Node
import Placement
import Storage
import Synchronization
import Testing
import Units

/// How one slot's shard behaves for a reader.
enum ShardBehaviour: Sendable, Equatable {
    case whole
    /// The owner answers that it has no such shard.
    case missing
    /// The owner does not answer heartbeats.
    case unreachable
    /// Chunk n fails its CRC32C on the owner's disk.
    case corrupt(chunk: Int)
    /// Chunk n never arrives (a stopped or overloaded node).
    case slow(chunk: Int)
}

/// Counts reads that started hanging (a test moves the clock only then).
final class HangCount: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

final class MemoryShardSource: ShardSource, @unchecked Sendable {
    let chunks: [[UInt8]]
    let behaviour: ShardBehaviour
    let hangs: HangCount?
    var position: Int

    init(chunks: [[UInt8]], behaviour: ShardBehaviour, first: Int, hangs: HangCount? = nil) {
        self.chunks = chunks
        self.behaviour = behaviour
        self.hangs = hangs
        position = first
    }

    func nextChunk(length: Int) async throws(NodeError) -> ByteBuffer {
        defer { position += 1 }
        if case .corrupt(let chunk) = behaviour, chunk == position { throw .storage("chunk \(position) failed its CRC32C") }
        if case .slow(let chunk) = behaviour, chunk == position {
            hangs?.increment()
            try? await Task.sleep(for: .seconds(3600))
            throw .peer("cancelled")
        }
        precondition(chunks[position].count == length)
        return ByteBuffer(bytes: chunks[position])
    }
}

/// The slots a reader opened, in order.
final class OpenLog: Sendable {
    private let slots = Mutex<[Int]>([])
    func add(_ slot: Int) { slots.withLock { $0.append(slot) } }
    var opened: [Int] { slots.withLock { $0 } }
}

struct MemoryOpener: ShardSourceOpener {
    let shards: [[[UInt8]]]
    let behaviours: [Int: ShardBehaviour]
    let owners: [NodeID]
    var hangs: HangCount? = nil
    var log: OpenLog? = nil
    /// The node the reader runs on, when it owns one of the slots.
    var local: NodeID? = nil

    func reachable(_ owner: NodeID) -> Bool { behaviours[owners.firstIndex(of: owner)!] != .unreachable }

    func isLocal(_ owner: NodeID) -> Bool { owner == local }

    func open(_ key: ShardKey, on owner: NodeID, format: ShardFileFormat, chunks: Range<Int>) async throws(NodeError) -> any ShardSource {
        log?.add(key.slot)
        let behaviour = behaviours[key.slot] ?? .whole
        if behaviour == .missing { throw .shardMissing("\(key)") }
        return MemoryShardSource(chunks: shards[key.slot], behaviour: behaviour, first: chunks.lowerBound, hangs: hangs)
    }
}

@Suite struct StripeReaderTests {
    let code = try! ErasureCode(dataShards: 4, parityShards: 2)
    let blockSize = 64 * 1024
    let owners = (0..<6).map { NodeID(String(repeating: String($0), count: 64)) }

    func body(_ size: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) } }

    /// Every slot's chunks, encoded as a PUT would.
    func shards(of bytes: [UInt8]) throws -> [[[UInt8]]] {
        let codec = try ReedSolomon(code)
        let stripe = StripeBuffer(code: code, maxBlockLength: blockSize)
        var out = [[[UInt8]]](repeating: [], count: code.totalShards)
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + blockSize)
            try bytes[offset..<end].withUnsafeBytes { try stripe.load(block: $0) }
            try codec.encode(stripe)
            for slot in 0..<code.totalShards { out[slot].append(Array(UnsafeRawBufferPointer(stripe.shard(slot))[0..<stripe.shardLength])) }
            offset = end
        }
        return out
    }

    func version(size: Int) -> ObjectVersion {
        ObjectVersion(versionID: String(repeating: "ab", count: 16), size: UInt64(size), etag: "e", contentType: nil, userMetadata: [:],
                      lastModifiedMillis: 0, dataShards: 4, parityShards: 2, blockSizeBytes: blockSize, layoutVersion: LayoutVersion(1),
                      storedSlots: [0, 1, 2, 3, 4, 5])
    }

    /// A reader of `blocks` of a body of `size` over `encoded`, its shards
    /// behaving as `behaviours` say, on the owner of slot `local` (or on
    /// none of them); `log` records the slots it opens.
    func reader(size: Int, encoded: [[[UInt8]]], behaviours: [Int: ShardBehaviour], blocks: ClosedRange<Int>, log: OpenLog? = nil,
                local: Int? = nil, timeoutMillis: Int = 5000, clock: any WallClock = SystemClock(),
                hangs: HangCount? = nil) throws -> StripeReader {
        let opener = MemoryOpener(shards: encoded, behaviours: behaviours, owners: owners, hangs: hangs, log: log,
                                  local: local.map { owners[$0] })
        let settings = StripeReaderSettings(backend: .preferred, slowShardTimeoutMillis: timeoutMillis, logger: Logger(label: "test"),
                                            clock: clock)
        return try StripeReader(version(size: size).body, owners: owners, opener: opener, settings: settings, blocks: blocks)
    }

    /// Reads a whole body block by block: with `asReceived`, as a GET does
    /// (`readData`: the data chunks, a chunk not read decoded from those
    /// that were), counting the blocks whose data shards all came as read;
    /// else through the stripe (`read`).
    func readAll(size: Int, shards: [[[UInt8]]], behaviours: [Int: ShardBehaviour], timeoutMillis: Int = 5000,
                 clock: any WallClock = SystemClock(), hangs: HangCount? = nil,
                 asReceived: Bool = false) async throws -> (bytes: [UInt8], damaged: Set<Int>, blocksAsReceived: Int)
    {
        let blocks = (size + blockSize - 1) / blockSize
        let reader = try self.reader(size: size, encoded: shards, behaviours: behaviours, blocks: 0...(blocks - 1),
                                     timeoutMillis: timeoutMillis, clock: clock, hangs: hangs)
        var out: [UInt8] = []
        var blocksAsReceived = 0
        for block in 0..<blocks {
            guard asReceived else {
                let stripe = try await reader.read(block: block)
                out += ObjectService.slice(of: stripe, from: 0, to: stripe.blockLength).readableBytesView
                continue
            }
            let data = try await reader.readData(block: block)
            if data.decoded.isEmpty { blocksAsReceived += 1 }
            for piece in ObjectService.pieces(of: data.chunks, from: 0, to: data.blockLength) { out += piece.readableBytesView }
        }
        return (out, reader.damaged, blocksAsReceived)
    }

    /// Every single and double loss of 4+2, of each kind, reads back whole;
    /// shards missing or corrupt on a reachable owner are reported for repair.
    ///
    /// Read as a GET reads (`asReceived`), a healthy body's blocks all come
    /// as received; after a data shard's loss, the stripe takes over.
    @Test(arguments: [false, true])
    func everyLossPatternOfTwoReadsBack(asReceived: Bool) async throws {
        let size = 3 * blockSize + 4097
        let bytes = body(size)
        let encoded = try shards(of: bytes)
        let kinds: [ShardBehaviour] = [.missing, .unreachable, .corrupt(chunk: 1)]
        var patterns: [[Int: ShardBehaviour]] = [[:]]
        for a in 0..<6 {
            for kind in kinds { patterns.append([a: kind]) }
            for b in (a + 1)..<6 {
                for kind in kinds { patterns.append([a: kind, b: kinds[(kinds.firstIndex(of: kind)! + 1) % kinds.count]]) }
            }
        }
        #expect(patterns.count == 1 + 18 + 45)
        for pattern in patterns {
            let (read, damaged, blocksAsReceived) = try await readAll(size: size, shards: encoded, behaviours: pattern, asReceived: asReceived)
            #expect(read == bytes, "pattern \(pattern)")
            if asReceived && pattern.keys.allSatisfy({ $0 >= 4 }) { #expect(blocksAsReceived == 4, "pattern \(pattern)") }
            if pattern.keys.contains(where: { $0 < 4 }) { #expect(blocksAsReceived < 4, "pattern \(pattern)") }
            // Only shards a read needed can be found damaged: data shards, and parity read in their place.
            let expected = Set(pattern.filter { $0.value != .unreachable }.keys)
            #expect(damaged.isSubset(of: expected), "pattern \(pattern): damaged \(damaged)")
            #expect(expected.filter { $0 < 4 }.isSubset(of: damaged), "pattern \(pattern): damaged \(damaged)")
        }
    }

    @Test func threeLossesAreUnreadableNotWrong() async throws {
        let size = 2 * blockSize
        let encoded = try shards(of: body(size))
        await #expect(throws: ObjectError.self) {
            _ = try await readAll(size: size, shards: encoded, behaviours: [0: .missing, 1: .corrupt(chunk: 0), 5: .unreachable])
        }
    }

    /// A range inside one block reads only the data shards it lies in —
    /// one holder for a small range — and with one of them lost, decodes it
    /// from k others; the bytes are right either way.
    @Test func aRangeInsideOneBlockReadsOnlyItsShards() async throws {
        let size = 3 * blockSize + 999
        let bytes = body(size)
        let encoded = try shards(of: bytes)
        // Block 1; shards of 16 KiB: bytes 20000..<30000 lie in shard 1, 15000..<40000 in shards 0, 1 and 2.
        for (range, wanted, behaviours, opened) in [
            (20_000..<30_000, [1], [Int: ShardBehaviour](), [1]),
            (15_000..<40_000, [0, 1, 2], [:], [0, 1, 2]),
            (20_000..<30_000, [1], [1: .missing], [1, 0, 2, 3, 4]),
            (20_000..<30_000, [1], [1: .corrupt(chunk: 1)], [1, 0, 2, 3, 4]),
        ] as [(Range<Int>, [Int], [Int: ShardBehaviour], [Int])] {
            let log = OpenLog()
            let reader = try self.reader(size: size, encoded: encoded, behaviours: behaviours, blocks: 1...1, log: log)
            let stripe = try await reader.read(block: 1, bytes: range)
            let got = Array(ObjectService.slice(of: stripe, from: range.lowerBound, to: range.upperBound).readableBytesView)
            #expect(got == Array(bytes[(blockSize + range.lowerBound)..<(blockSize + range.upperBound)]), "\(range) \(behaviours)")
            #expect(log.opened == opened, "\(range) \(behaviours): opened \(log.opened), wanted \(wanted)")
        }
    }

    /// A shard that stops delivering is read around after the deadline, and not reported for repair.
    /// Read as a GET reads, the first block comes as received and the rest
    /// decoded, the slow shard replaced by parity.
    @Test(arguments: [false, true])
    func aSlowShardIsReadAround(asReceived: Bool) async throws {
        let size = 3 * blockSize
        let bytes = body(size)
        let (read, damaged, blocksAsReceived) = try await readAll(size: size, shards: try shards(of: bytes), behaviours: [2: .slow(chunk: 1)],
                                                                  timeoutMillis: 50, asReceived: asReceived)
        #expect(read == bytes)
        #expect(damaged.isEmpty)
        #expect(blocksAsReceived == (asReceived ? 1 : 0))
    }

    /// Read as a GET reads on a node that holds a parity shard and no data
    /// shard, that parity stands in for the last data shard (three peers'
    /// streams, not four) and the block is decoded from the chunks as they
    /// came; on a node holding a data shard the k data shards are read. The
    /// bytes are right either way, also with a shard lost, and the choice
    /// is not reported as damage.
    @Test func aLocalParityStandsInForTheLastDataShard() async throws {
        let size = 3 * blockSize + 4097
        let bytes = body(size)
        let encoded = try shards(of: bytes)
        for (local, behaviours, opened, decoded) in [
            (4, [:], [0, 1, 2, 4], [[3], [3], [3], [3]]),
            (5, [:], [0, 1, 2, 5], [[3], [3], [3], [3]]),
            (1, [:], [0, 1, 2, 3], [[], [], [], []]),
            (nil, [:], [0, 1, 2, 3], [[], [], [], []]),
            (4, [0: .missing], [0, 1, 2, 4, 3], [[0], [0], [0], [0]]),
            (4, [1: .corrupt(chunk: 1)], [0, 1, 2, 4, 3], [[3], [1], [1], [1]]),
            (4, [4: .missing], [0, 1, 2, 4, 3], [[], [], [], []]),
        ] as [(Int?, [Int: ShardBehaviour], [Int], [[Int]])] {
            let log = OpenLog()
            let reader = try self.reader(size: size, encoded: encoded, behaviours: behaviours, blocks: 0...3, log: log, local: local)
            var out: [UInt8] = []
            var decodedPerBlock: [[Int]] = []
            for block in 0...3 {
                let data = try await reader.readData(block: block)
                decodedPerBlock.append(Array(data.decoded))
                for piece in ObjectService.pieces(of: data.chunks, from: 0, to: data.blockLength) { out += piece.readableBytesView }
            }
            let label = "local \(local.map(String.init) ?? "none"), \(behaviours)"
            #expect(out == bytes, "\(label)")
            #expect(log.opened == opened, "\(label): opened \(log.opened)")
            #expect(decodedPerBlock == decoded, "\(label): decoded \(decodedPerBlock)")
            #expect(reader.damaged == Set(behaviours.keys), "\(label): damaged \(reader.damaged)")
        }
    }

    /// Decoding from chunks as they lie: any k of the six chunks give back
    /// the data shards not among them, byte for byte, whatever buffers
    /// (slices of larger ones) they came in.
    @Test func decodingFromReceivedChunksGivesTheDataShards() throws {
        let encoded = try shards(of: body(blockSize))
        let codec = try ReedSolomon.shared(code)
        let length = encoded[0][0].count
        for present in [[0, 1, 2, 4], [1, 2, 4, 5], [0, 3, 4, 5], [2, 3, 4, 5], [0, 1, 2, 3]] {
            var chunks: [Int: ByteBuffer] = [:]
            for slot in present {
                // Each chunk a slice in the middle of a larger buffer, as a received one can be.
                let framed = ByteBuffer(bytes: [UInt8](repeating: 0xEE, count: 7) + encoded[slot][0] + [UInt8](repeating: 0xEE, count: 5))
                chunks[slot] = framed.getSlice(at: 7, length: length)!
            }
            let targets = ShardSet((0..<4).filter { !present.contains($0) })
            let decoded = try StripeReader.decode(targets, from: chunks, length: length, codec: codec)
            #expect(decoded.map(\.0) == Array(targets), "\(present)")
            for (slot, chunk) in decoded { #expect(Array(chunk.readableBytesView) == encoded[slot][0], "\(present): slot \(slot)") }
        }
    }

    /// Pieces of a block given as its data chunks are slices at the right
    /// places, for every cut, including ones inside a single chunk.
    @Test func piecesOfReceivedChunksAreTheBlocksBytes() {
        let block = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 3 &+ 1) }
        // Four chunks of 256 bytes, the last padded with zeros past the block's end.
        let padded: [UInt8] = block + [UInt8](repeating: 0, count: 24)
        let chunks: [ByteBuffer] = (0..<4).map { i in ByteBuffer(bytes: padded[(i * 256)..<((i + 1) * 256)]) }
        let cuts: [(Int, Int)] = [(0, 1000), (0, 1), (255, 257), (300, 500), (768, 1000), (999, 1000), (10, 10)]
        for (from, to) in cuts {
            let pieces = ObjectService.pieces(of: chunks, from: from, to: to)
            let got: [UInt8] = pieces.flatMap { Array($0.readableBytesView) }
            #expect(got == Array(block[from..<to]), "\(from)..<\(to)")
            let chunksTouched = from == to ? 0 : (to - 1) / 256 - from / 256 + 1
            #expect(pieces.count == chunksTouched)
        }
    }

    /// The same on an injected clock: the deadline fires when the clock is moved, not after real time.
    @Test func theSlowShardDeadlineRunsOnTheInjectedClock() async throws {
        let size = 3 * blockSize
        let bytes = body(size)
        let clock = ManualClock()
        let encoded = try shards(of: bytes)
        let hangs = HangCount()
        let read = Task {
            try await readAll(size: size, shards: encoded, behaviours: [1: .slow(chunk: 2)], timeoutMillis: 3_000, clock: clock, hangs: hangs)
        }
        // Block 2's read of slot 1 hangs; its deadline sleeps on the clock until the clock moves.
        while hangs.value == 0 || clock.sleeperCount == 0 { try await Task.sleep(for: .milliseconds(1)) }
        try await Task.sleep(for: .milliseconds(20))
        clock.advance(byMillis: 3_000)
        let (got, damaged, _) = try await read.value
        #expect(got == bytes && damaged.isEmpty)
    }
}
