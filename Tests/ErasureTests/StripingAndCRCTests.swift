import Testing
@testable import Erasure
import Units

@Suite("Striping")
struct StripingTests {
    @Test("shard lengths are aligned and cover the block")
    func shardLengths() {
        #expect(Striping.shardLength(blockLength: 0, dataShards: 4) == 0)
        #expect(Striping.shardLength(blockLength: 1, dataShards: 4) == 64)
        #expect(Striping.shardLength(blockLength: 1 << 20, dataShards: 4) == 262_144)
        #expect(Striping.shardLength(blockLength: 1 << 20, dataShards: 3) == 349_568)
        for k in [1, 3, 4, 12] {
            for block in [0, 1, 63, 64, 65, 1000, 4097] {
                let s = Striping.shardLength(blockLength: block, dataShards: k)
                #expect(s % Striping.shardAlignmentBytes == 0)
                #expect(s * k >= block)
                #expect(block == 0 || (s - Striping.shardAlignmentBytes) * k < block)
            }
        }
    }

    @Test("cut, encode, lose m shards, rebuild, join: the block comes back", arguments: [0, 1, 63, 64, 65, 1000, 65_537])
    func roundTrip(blockLength: Int) throws {
        let code = try ErasureCode(dataShards: 4, parityShards: 2)
        let codec = try ReedSolomon(code)
        let stripe = StripeBuffer(code: code, maxBlockLength: 65_537)
        var random = TestRandom(seed: UInt64(blockLength))
        let block = random.bytes(blockLength)
        try block.withUnsafeBytes { try stripe.load(block: $0) }
        #expect(stripe.blockLength == blockLength)
        try codec.encode(stripe)
        // Padding past the true length is zero.
        let lastData = Array(stripe.shard(3))
        let usedInLast = max(0, blockLength - 3 * stripe.shardLength)
        #expect(lastData[usedInLast...].allSatisfy { $0 == 0 })
        for i in [0, 2] { stripe.shard(i).initializeMemory(as: UInt8.self, repeating: 0xFF) }
        try codec.reconstruct(stripe, missing: [0, 2])
        var output = [UInt8](repeating: 0, count: blockLength)
        let written = try output.withUnsafeMutableBytes { try stripe.join(into: $0) }
        #expect(written == blockLength)
        #expect(same(output, block))
    }

    @Test("a block larger than the buffer is refused")
    func refusesOversizedBlock() throws {
        let stripe = StripeBuffer(code: try ErasureCode(dataShards: 2, parityShards: 1), maxBlockLength: 128)
        let block = [UInt8](repeating: 1, count: 129)
        #expect(throws: ErasureError.bufferTooSmall(needed: 256, available: 128)) {
            try block.withUnsafeBytes { try stripe.load(block: $0) }
        }
        var small = [UInt8](repeating: 0, count: 10)
        try [UInt8](repeating: 7, count: 100).withUnsafeBytes { try stripe.load(block: $0) }
        #expect(throws: ErasureError.bufferTooSmall(needed: 100, available: 10)) {
            try small.withUnsafeMutableBytes { try stripe.join(into: $0) }
        }
    }
}

@Suite("CRC32C")
struct CRC32CTests {
    // RFC 3720 appendix B.4 and the classic check value.
    static let vectors: [([UInt8], UInt32)] = [
        (Array("123456789".utf8), 0xE306_9283),
        ([UInt8](repeating: 0, count: 32), 0x8A91_36AA),
        ([UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
        ((0..<32).map { UInt8($0) }, 0x46DD_794E),
        ((0..<32).map { UInt8(31 - $0) }, 0x113F_DB5C),
        ([], 0),
    ]

    @Test("known vectors", arguments: ErasureBackendKind.allCases)
    func knownVectors(backend: ErasureBackendKind) {
        for (bytes, expected) in Self.vectors {
            #expect(CRC32C.checksum(bytes, backend: backend) == expected)
        }
    }

    @Test("backends agree and checksums chain across pieces")
    func agreeAndChain() {
        var random = TestRandom(seed: 11)
        for length in [1, 7, 8, 9, 63, 64, 1000, 4096, 100_003] {
            let bytes = random.bytes(length)
            let whole = CRC32C.checksum(bytes, backend: .swift)
            for backend in ErasureBackendKind.allCases {
                #expect(CRC32C.checksum(bytes, backend: backend) == whole)
                let cut = length / 3
                let first = CRC32C.checksum(Array(bytes[..<cut]), backend: backend)
                #expect(CRC32C.checksum(Array(bytes[cut...]), continuing: first, backend: backend) == whole)
            }
        }
    }
}

@Suite("ShardSet")
struct ShardSetTests {
    @Test func setOperations() {
        var set: ShardSet = [0, 63, 64, 200, 255]
        #expect(set.count == 5)
        #expect(Array(set) == [0, 63, 64, 200, 255])
        #expect(set.max == 255)
        #expect(set.contains(64) && !set.contains(65) && !set.contains(-1) && !set.contains(300))
        set.remove(255)
        #expect(set.max == 200)
        #expect(ShardSet([0, 64]).isSubset(of: set))
        #expect(!ShardSet([1]).isSubset(of: set))
        #expect(ShardSet().isEmpty && ShardSet().max == nil)
    }
}
