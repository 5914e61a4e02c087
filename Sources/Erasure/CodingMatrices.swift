/// The pure linear algebra behind encode and reconstruct, shared by every
/// backend so they cannot disagree on which bytes they produce.
enum CodingMatrices {
    /// The generator matrix: ISA-L's `gf_gen_cauchy1_matrix` for k ≥ 2. For
    /// k = 1 every parity row is 1 instead of 1/i, so replication stores true
    /// copies that read back without decoding (still MDS: any one shard suffices).
    static func generator(_ code: ErasureCode) -> GFMatrix {
        var matrix = GFMatrix.cauchyEncoding(code)
        if code.dataShards == 1 {
            for row in 1..<code.totalShards { matrix[row, 0] = 1 }
        }
        return matrix
    }

    /// Rows k..<N of the generator: parity = rows · data.
    static func parityRows(_ code: ErasureCode) -> GFMatrix {
        generator(code).selecting(rows: Array(code.dataShards..<code.totalShards))
    }

    struct DecodePlan: Sendable {
        /// The k shards read, in ascending index order.
        let survivors: [Int]
        /// The shards produced, in ascending index order.
        let targets: [Int]
        /// targets.count × k: target[r] = Σ_j coefficients[r, j] · survivor[j].
        let coefficients: GFMatrix
    }

    /// Reconstructing `targets` (a subset of `missing`) from the first k
    /// shards not in `missing`.
    static func decodePlan(_ code: ErasureCode, missing: ShardSet, targets: ShardSet) throws(ErasureError) -> DecodePlan {
        let k = code.dataShards
        guard missing.count <= code.parityShards else {
            throw .tooManyMissing(missing: missing.count, tolerated: code.parityShards)
        }
        if let highest = missing.max, highest >= code.totalShards {
            throw .shardIndexOutOfRange(index: highest, shardCount: code.totalShards)
        }
        precondition(targets.isSubset(of: missing), "only missing shards are reconstructed")
        let survivors = Array((0..<code.totalShards).lazy.filter { !missing.contains($0) }.prefix(k))
        let generator = generator(code)
        guard let inverse = generator.selecting(rows: survivors).inverted() else {
            preconditionFailure("a Cauchy generator submatrix is always invertible")
        }
        let targetList = Array(targets)
        var coefficients = GFMatrix(rows: targetList.count, columns: k)
        for (r, target) in targetList.enumerated() {
            // A data shard is row `target` of the inverse; a parity shard is
            // its generator row applied to the recovered data.
            let row = target < k
                ? inverse.selecting(rows: [target])
                : generator.selecting(rows: [target]) * inverse
            for c in 0..<k { coefficients[r, c] = row[0, c] }
        }
        return DecodePlan(survivors: survivors, targets: targetList, coefficients: coefficients)
    }
}
