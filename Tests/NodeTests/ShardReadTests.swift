import Foundation
import NIOCore
@testable import Node
import Placement
import Storage
import Testing

/// `shard-read`: a few chunks of a shard in one framed answer, as a range
/// read asks for them; the same bytes a local read gives, every chunk still
/// checked against its CRC32C by the caller.
@Suite(.serialized) struct ShardReadTests {
    func body(_ size: Int, seed: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: ($0 &* 2654435761 &+ seed) >> 7) } }

    func read(_ source: any ShardSource, _ length: Int) async throws -> [UInt8] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 64)
        defer { buffer.deallocate() }
        try await source.next(into: buffer, length: length)
        return Array(buffer)
    }

    /// The node holding `slot` of `versionID`, and the shard's format.
    func holder(of versionID: String, slot: Int, in sim: SimulatedCluster) throws -> (ObjectService, ShardKey, ShardFileFormat) {
        let key = try #require(ShardKey(versionID: versionID, slot: slot))
        for service in sim.services {
            if let reader = try? service.shards.reader(for: key) { return (service, key, reader.format) }
        }
        throw NodeError.shardMissing("\(key)")
    }

    @Test func aShardReadAnswersTheChunksALocalReadGives() async throws {
        let sim = try await SimulatedCluster.start()
        let version = try await sim.put("range/a", body(3 * 65536 + 1234, seed: 3), via: 0)
        for slot in [0, 5] {
            let (service, key, format) = try holder(of: version.versionID, slot: slot, in: sim)
            #expect(format.chunkCount > 1)
            for chunks in [0..<format.chunkCount, 1..<2] {
                let answer = try service.answerShardRead(Data(ShardQuery(key: key, format: format, chunks: chunks).text.utf8))
                #expect(answer.first == ShardWire.present)
                #expect(answer.count == 1 + ShardWire.length(of: format, chunks: chunks))
                let framed = BufferedShardSource(ByteBuffer(data: answer.dropFirst()))
                let local = try LocalShardSource(store: service.shards, key: key, firstChunk: chunks.lowerBound, logger: service.logger)
                for chunk in chunks {
                    let length = format.length(ofChunk: chunk)
                    let fromFrame = try await read(framed, length), fromDisk = try await read(local, length)
                    #expect(fromFrame == fromDisk)
                }
                // Past the chunks asked for, the answer has nothing more.
                await #expect(throws: NodeError.self) { _ = try await read(framed, 16) }
            }
        }
    }

    @Test func aDamagedAnswerIsNeverTakenForData() async throws {
        let sim = try await SimulatedCluster.start()
        let version = try await sim.put("range/b", body(2 * 65536, seed: 4), via: 0)
        let (service, key, format) = try holder(of: version.versionID, slot: 1, in: sim)
        var answer = try service.answerShardRead(Data(ShardQuery(key: key, format: format, chunks: 0..<1).text.utf8))
        answer[10] ^= 0x40
        let framed = BufferedShardSource(ByteBuffer(data: answer.dropFirst()))
        do {
            _ = try await read(framed, format.length(ofChunk: 0))
            Issue.record("a chunk that fails its CRC was taken")
        } catch {
            guard case NodeError.corruptTransfer = error else { Issue.record("\(error)"); return }
        }
    }

    /// A shard not on the node says so (the caller's `shardMissing`, as a
    /// 404 of `shard-get`); a read above the frame limit is refused.
    @Test func aMissingShardAndAnOversizedReadAreToldApart() async throws {
        let sim = try await SimulatedCluster.start()
        let version = try await sim.put("range/c", body(6 << 20, seed: 5), via: 0)
        let (service, key, format) = try holder(of: version.versionID, slot: 2, in: sim)
        #expect(ShardWire.length(of: format, chunks: 0..<format.chunkCount) > ShardWire.framedReadLimit)
        #expect(throws: NodeError.self) {
            _ = try service.answerShardRead(Data(ShardQuery(key: key, format: format, chunks: 0..<format.chunkCount).text.utf8))
        }
        let small = try service.answerShardRead(Data(ShardQuery(key: key, format: format, chunks: 0..<1).text.utf8))
        #expect(small.first == ShardWire.present)
        let absent = try #require(ShardKey(versionID: String(repeating: "0", count: version.versionID.count), slot: 2))
        let missing = try service.answerShardRead(Data(ShardQuery(key: absent, format: format, chunks: 0..<1).text.utf8))
        #expect(missing.first == ShardWire.missing)
        #expect(throws: NodeError.self) { _ = try service.answerShardRead(Data("v=zz".utf8)) }
    }
}
