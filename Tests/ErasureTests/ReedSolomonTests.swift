import Testing
@testable import Erasure
import Units
#if ISAL
import CISAL
#endif

struct CodeCase: CustomTestStringConvertible, Sendable {
    let k: Int, m: Int
    var testDescription: String { "\(k)+\(m)" }
}

let codeGrid: [CodeCase] = [(1, 2), (2, 1), (4, 2), (6, 3), (8, 3), (10, 4), (12, 4), (16, 4), (20, 8)].map { CodeCase(k: $0.0, m: $0.1) }

@Suite("Reed-Solomon")
struct ReedSolomonTests {
    /// Every erasure pattern up to m for small codes; 60 random ones for large.
    static func patterns(_ code: ErasureCode, seed: UInt64) -> [[Int]] {
        let n = code.totalShards
        if n <= 11 {
            return (1...code.parityShards).flatMap { combinations(of: n, choosing: $0) }
        }
        var random = TestRandom(seed: seed)
        return (0..<60).map { _ in
            let size = Int.random(in: 1...code.parityShards, using: &random)
            return Array(Array(0..<n).shuffled(using: &random).prefix(size)).sorted()
        }
    }

    @Test("reconstructs every pattern of up to m lost shards", arguments: codeGrid, ErasureBackendKind.available)
    func reconstructsEveryPattern(_ c: CodeCase, backend: ErasureBackendKind) throws {
        let code = try ErasureCode(dataShards: c.k, parityShards: c.m)
        let codec = try ReedSolomon(code, backend: backend)
        // 131 is odd and below one vector: exercises tails; 2112 spans a chunk boundary.
        for length in [131, 2112] {
            var random = TestRandom(seed: UInt64(c.k * 31 + c.m + length))
            let shards = Shards(count: code.totalShards, length: length)
            for i in 0..<code.dataShards { shards[i] = random.bytes(length) }
            try codec.encode(shardLength: length, shards: shards.table)
            let original = (0..<code.totalShards).map { shards[$0] }
            #expect(same(Array(original[code.dataShards...]), referenceParity(code: code, data: Array(original[..<code.dataShards]))), "parity matches the reference")

            for pattern in Self.patterns(code, seed: UInt64(length)) {
                for index in pattern { shards.fill(index, with: 0xA5) }
                try codec.reconstruct(shardLength: length, shards: shards.table, missing: ShardSet(pattern))
                for index in 0..<code.totalShards {
                    #expect(same(shards[index], original[index]), "shard \(index) after losing \(pattern)")
                }
            }
        }
    }

    @Test("more than m missing is a typed error", arguments: ErasureBackendKind.available)
    func tooManyMissing(backend: ErasureBackendKind) throws {
        let code = try ErasureCode(dataShards: 4, parityShards: 2)
        let codec = try ReedSolomon(code, backend: backend)
        let shards = Shards(count: 6, length: 64)
        #expect(throws: ErasureError.tooManyMissing(missing: 3, tolerated: 2)) {
            try codec.reconstruct(shardLength: 64, shards: shards.table, missing: [0, 3, 5])
        }
        #expect(throws: ErasureError.shardIndexOutOfRange(index: 6, shardCount: 6)) {
            try codec.reconstruct(shardLength: 64, shards: shards.table, missing: [6])
        }
        #expect(throws: ErasureError.invalidShardLength(-1)) {
            try codec.encode(shardLength: -1, shards: shards.table)
        }
    }

    @Test("rebuilding a subset writes only that subset", arguments: ErasureBackendKind.available)
    func rebuildsSubset(backend: ErasureBackendKind) throws {
        let code = try ErasureCode(dataShards: 6, parityShards: 3)
        let codec = try ReedSolomon(code, backend: backend)
        var random = TestRandom(seed: 7)
        let shards = Shards(count: 9, length: 256)
        for i in 0..<6 { shards[i] = random.bytes(256) }
        try codec.encode(shardLength: 256, shards: shards.table)
        let original = (0..<9).map { shards[$0] }
        for i in [1, 4, 7] { shards.fill(i, with: 0) }
        try codec.reconstruct(shardLength: 256, shards: shards.table, missing: [1, 4, 7], rebuild: [1, 4])
        #expect(same(shards[1], original[1]))
        #expect(same(shards[4], original[4]))
        #expect(shards[7] == [UInt8](repeating: 0, count: 256), "parity 7 was not asked for")
    }

    @Test("k = 1 stores true copies", arguments: ErasureBackendKind.available)
    func replicationIsCopies(backend: ErasureBackendKind) throws {
        let code = try ErasureCode(dataShards: 1, parityShards: 2)
        let codec = try ReedSolomon(code, backend: backend)
        var random = TestRandom(seed: 3)
        let shards = Shards(count: 3, length: 1000)
        shards[0] = random.bytes(1000)
        try codec.encode(shardLength: 1000, shards: shards.table)
        #expect(same(shards[1], shards[0]))
        #expect(same(shards[2], shards[0]))
    }

    @Test("zero-length shards and m = 0 are no-ops", arguments: ErasureBackendKind.available)
    func degenerateLengths(backend: ErasureBackendKind) throws {
        let shards = Shards(count: 6, length: 0)
        let codec = try ReedSolomon(try ErasureCode(dataShards: 4, parityShards: 2), backend: backend)
        try codec.encode(shardLength: 0, shards: shards.table)
        try codec.reconstruct(shardLength: 0, shards: shards.table, missing: [0, 1])
        let noParity = try ReedSolomon(try ErasureCode(dataShards: 3, parityShards: 0), backend: backend)
        try noParity.encode(shardLength: 0, shards: shards.table)
    }

    @Test("parameters are validated")
    func validatesParameters() {
        #expect(throws: CodeParameterError.invalidDataShardCount(0)) { try ErasureCode(dataShards: 0, parityShards: 2) }
        #expect(throws: CodeParameterError.invalidParityShardCount(-1)) { try ErasureCode(dataShards: 2, parityShards: -1) }
        #expect(throws: CodeParameterError.tooManyShards(total: 256)) { try ErasureCode(dataShards: 200, parityShards: 56) }
        #expect((try? ErasureCode(dataShards: 200, parityShards: 55)) != nil)
        #expect((try? ErasureCode(dataShards: 1, parityShards: 0)) != nil)
        #expect(ErasureError.tooManyMissing(missing: 3, tolerated: 2).description.contains("at most 2"))
    }

    @Test("backend names resolve as SHALE_ERASURE_BACKEND documents")
    func resolvesBackend() throws {
        #expect(try ErasureBackendKind.resolve(requested: nil) == .preferred)
        #expect(try ErasureBackendKind.resolve(requested: "") == .preferred)
        #expect(try ErasureBackendKind.resolve(requested: "SWIFT") == .swift)
        #expect(throws: ErasureError.unknownBackendName("avx")) { try ErasureBackendKind.resolve(requested: "avx") }
        #if ISAL
        #expect(try ErasureBackendKind.resolve(requested: "isal") == .isal)
        #expect(ErasureBackendKind.preferred == .isal)
        #else
        #expect(throws: ErasureError.backendUnavailable(.isal)) { try ErasureBackendKind.resolve(requested: "isal") }
        #expect(throws: ErasureError.backendUnavailable(.isal)) { try ReedSolomon(try ErasureCode(dataShards: 2, parityShards: 1), backend: .isal) }
        #endif
    }

    @Test("GF(2^8) agrees with ISA-L's field and Cauchy matrix")
    func fieldMatchesISAL() throws {
        #expect(GaloisField.multiply(3, 7) == 9)
        #expect(GaloisField.inverse(2) == 142)
        for a in 1...255 { #expect(GaloisField.multiply(UInt8(a), GaloisField.inverse(UInt8(a))) == 1) }
        let generator = GFMatrix.cauchyEncoding(try ErasureCode(dataShards: 4, parityShards: 2))
        #expect(Array(generator.elements[16...]) == [71, 167, 122, 186, 167, 71, 186, 122])
        #if ISAL
        for (k, m) in [(2, 1), (4, 2), (10, 4), (20, 8), (100, 155)] {
            let code = try ErasureCode(dataShards: k, parityShards: m)
            var isal = [UInt8](repeating: 0, count: code.totalShards * k)
            gf_gen_cauchy1_matrix(&isal, Int32(code.totalShards), Int32(k))
            #expect(GFMatrix.cauchyEncoding(code).elements == isal, "\(k)+\(m)")
        }
        #endif
    }
}

#if ISAL
@Suite("ISA-L and Swift backends agree")
struct BackendAgreementTests {
    @Test("byte-identical parity and cross-backend reconstruction", arguments: codeGrid)
    func backendsAgree(_ c: CodeCase) throws {
        let code = try ErasureCode(dataShards: c.k, parityShards: c.m)
        let isal = try ReedSolomon(code, backend: .isal)
        let swift = try ReedSolomon(code, backend: .swift)
        let length = 4160
        var random = TestRandom(seed: UInt64(c.k * 100 + c.m))
        let a = Shards(count: code.totalShards, length: length)
        let b = Shards(count: code.totalShards, length: length)
        for i in 0..<code.dataShards { let bytes = random.bytes(length); a[i] = bytes; b[i] = bytes }
        try isal.encode(shardLength: length, shards: a.table)
        try swift.encode(shardLength: length, shards: b.table)
        for i in code.dataShards..<code.totalShards { #expect(same(a[i], b[i]), "parity \(i)") }

        // Shards written by one backend, rebuilt by the other, both ways.
        let lost = ShardSet(Array(Array(0..<code.totalShards).shuffled(using: &random).prefix(c.m)))
        let original = (0..<code.totalShards).map { a[$0] }
        for index in lost { a.fill(index, with: 0); b.fill(index, with: 0) }
        try swift.reconstruct(shardLength: length, shards: a.table, missing: lost)
        try isal.reconstruct(shardLength: length, shards: b.table, missing: lost)
        for index in lost {
            #expect(same(a[index], original[index]), "swift rebuilt \(index)")
            #expect(same(b[index], original[index]), "isal rebuilt \(index)")
        }
    }
}
#endif
