import ClusterModel
import Erasure
import Foundation
import NIOCore
@testable import Node
import Storage
import Testing

@Suite struct DataPathTests {
    @Test func writeQuorumDefaultsToKPlusOneWithinBounds() throws {
        let code = try ErasureCode(dataShards: 4, parityShards: 2)
        #expect(ObjectService.writeQuorum(nil, code: code) == 5)
        #expect(ObjectService.writeQuorum(1, code: code) == 4)
        #expect(ObjectService.writeQuorum(9, code: code) == 6)
        #expect(ObjectService.writeQuorum(nil, code: try ErasureCode(dataShards: 1, parityShards: 0)) == 1)
    }

    @Test func everyShardFileSharesOneGeometry() throws {
        let code = try ErasureCode(dataShards: 4, parityShards: 2)
        let block = 1 << 20
        #expect(ObjectService.shardFormat(size: 0, blockSize: block, code: code) == nil)
        let one = try #require(ObjectService.shardFormat(size: 1, blockSize: block, code: code))
        #expect(one.chunkCount == 1 && one.dataLength == 64)
        let odd = try #require(ObjectService.shardFormat(size: UInt64(3 * block + 17), blockSize: block, code: code))
        #expect(odd.chunkCount == 4)
        #expect(odd.chunkSize == block / 4)
        #expect(odd.length(ofChunk: 3) == 64)
        let exact = try #require(ObjectService.shardFormat(size: UInt64(2 * block), blockSize: block, code: code))
        #expect(exact.chunkCount == 2 && exact.length(ofChunk: 1) == block / 4)
    }

    @Test func shardQueriesRoundTripAndRejectBadInput() {
        let key = ShardKey(versionID: "0123456789abcdef0123456789abcdef", slot: 5)!
        let query = ShardQuery(key: key, format: ShardFileFormat(chunkSize: 256, dataLength: 1000), chunks: 1..<3)
        #expect(ShardQuery(text: query.text) == query)
        #expect(ShardQuery(text: "v=../../x&slot=0&chunk=1&length=1&from=0&to=1") == nil)
        #expect(ShardQuery(text: "v=0123456789abcdef0123456789abcdef&slot=0&chunk=0&length=1&from=0&to=1") == nil)
        #expect(ShardQuery(text: "v=0123456789abcdef0123456789abcdef&slot=0&chunk=8&length=16&from=0&to=3") == nil)
        #expect(ShardQuery(text: "v=0123456789abcdef0123456789abcdef&slot=0&chunk=8&length=16&from=2&to=1") == nil)
        // A shard names its row in any of a bucket's tables (a version's row key holds U+0001); no other table.
        let bucket = String(repeating: "ab", count: 32)
        for table in [bucket, UploadTable.name(of: bucket), VersionTable.name(of: bucket)] {
            let named = ShardQuery(key: key, format: ShardFileFormat(chunkSize: 256, dataLength: 1000), chunks: 0..<1,
                                   object: ObjectName(bucket: table, key: "k\u{1}0000000000000000ffffffffffffffff"))
            #expect(ShardQuery(text: named.text) == named, "\(table)")
        }
        let other = ShardQuery(key: key, format: ShardFileFormat(chunkSize: 256, dataLength: 1000), chunks: 0..<1,
                               object: ObjectName(bucket: bucket + ".other", key: "k"))
        #expect(ShardQuery(text: other.text) == nil)
    }

    /// A part's shards are noted under the bucket's upload table: the
    /// shard query carries that table's name (it was refused as malformed).
    @Test func shardQueriesCarryUploadTables() {
        let key = ShardKey(versionID: "0123456789abcdef0123456789abcdef", slot: 1)!
        let bucket = String(repeating: "0123456789abcdef", count: 4)
        let part = ObjectName(bucket: UploadTable.name(of: bucket), key: UploadTable.partRowKey(key: "a/b", uploadID: key.versionID, part: 7))
        let query = ShardQuery(key: key, format: ShardFileFormat(chunkSize: 256, dataLength: 1000), chunks: 0..<4, object: part)
        #expect(ShardQuery(text: query.text) == query)
        let bogus = ShardQuery(key: key, format: ShardFileFormat(chunkSize: 256, dataLength: 1000), chunks: 0..<4,
                               object: ObjectName(bucket: "not-hex.uploads", key: "k"))
        #expect(ShardQuery(text: bogus.text) == nil)
    }

    @Test func assemblerChecksEveryChunkAcrossSplitBuffers() throws {
        let chunk = [UInt8](repeating: 9, count: 100)
        var wire = chunk.withUnsafeBytes { ShardWire.frame($0, crc: CRC32C.checksum($0)) }
        var assembler = ChunkAssembler()
        // Arrives in pieces of 33 bytes.
        var got: [UInt8] = []
        while wire.readableBytes > 0 {
            assembler.append(wire.readSlice(length: min(33, wire.readableBytes))!)
            if let (bytes, _) = try assembler.nextChunk(length: 100) { got = Array(bytes.readableBytesView) }
        }
        #expect(got == chunk)

        var damaged = chunk.withUnsafeBytes { ShardWire.frame($0, crc: CRC32C.checksum($0)) }
        damaged.setInteger(UInt8(8), at: 50)
        var checker = ChunkAssembler()
        checker.append(damaged)
        #expect(throws: NodeError.self) { _ = try checker.nextChunk(length: 100) }
    }

    /// Chunks taken as buffers, over arrivals of every shape (a chunk inside
    /// one arrival, across several, a CRC split between two), are the sent
    /// bytes, and stay so while later bytes arrive and are taken.
    @Test func chunksTakenAsBuffersAreTheSentBytesWhateverTheArrivals() throws {
        let lengths = [100, 100, 100, 50]
        let chunks = lengths.enumerated().map { i, n in (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 5 &+ i) } }
        var wire = ByteBuffer()
        for chunk in chunks {
            var frame = chunk.withUnsafeBytes { ShardWire.frame($0, crc: CRC32C.checksum($0)) }
            wire.writeBuffer(&frame)
        }
        var assembler = ChunkAssembler()
        var taken: [ByteBuffer] = []
        for arrival in [7, 150, 1, 3, 200, 2, 2, 1000] where wire.readableBytes > 0 {
            assembler.append(wire.readSlice(length: min(arrival, wire.readableBytes))!)
            while taken.count < lengths.count, let (chunk, _) = try assembler.nextChunk(length: lengths[taken.count]) {
                taken.append(chunk)
            }
        }
        #expect(taken.map { Array($0.readableBytesView) } == chunks)
        #expect(assembler.bufferedBytes == 0)
    }
}
