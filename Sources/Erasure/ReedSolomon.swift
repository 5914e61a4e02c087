import Synchronization

/// Systematic Reed-Solomon over GF(2^8) on caller-owned buffers.
///
/// Shards are passed as a table of N = k + m pointers (data first, then
/// parity), each to `shardLength` bytes. Nothing is copied and, once the
/// tables for a code and erasure pattern are cached, nothing is allocated.
public final class ReedSolomon: Sendable {
    /// ISA-L takes `int` lengths; one shard of a stripe never needs more.
    public static let maxShardLengthBytes = 1 << 30

    public let code: ErasureCode
    public let backend: ErasureBackendKind
    private let engine: any CodingEngine

    public init(_ code: ErasureCode, backend: ErasureBackendKind = .preferred) throws(ErasureError) {
        self.code = code
        self.backend = backend
        switch backend {
        case .swift:
            engine = Engine(code: code, kernel: SwiftKernel())
        case .isal:
            #if ISAL
            engine = Engine(code: code, kernel: ISALKernel())
            #else
            throw .backendUnavailable(.isal)
            #endif
        }
    }

    /// Computes the m parity shards from the k data shards.
    public func encode(shardLength: Int, shards: ShardPointers) throws(ErasureError) {
        try validate(shardLength)
        engine.encode(length: shardLength, shards: shards)
    }

    /// Rebuilds the shards in `rebuild` (default: all of `missing`) from the
    /// others. `missing` names every shard whose bytes must not be read; at
    /// most m may be missing. Rebuilding a subset (say, only data shards for a
    /// read) costs only what that subset needs.
    public func reconstruct(shardLength: Int, shards: ShardPointers, missing: ShardSet, rebuild: ShardSet? = nil) throws(ErasureError) {
        try validate(shardLength)
        let targets = rebuild ?? missing
        if let highest = targets.max, highest >= code.totalShards {
            throw .shardIndexOutOfRange(index: highest, shardCount: code.totalShards)
        }
        var effectiveMissing = missing
        for target in targets { effectiveMissing.insert(target) }
        guard !targets.isEmpty else { return }
        try engine.reconstruct(length: shardLength, shards: shards, missing: effectiveMissing, targets: targets)
    }

    private func validate(_ shardLength: Int) throws(ErasureError) {
        guard (0...Self.maxShardLengthBytes).contains(shardLength) else { throw .invalidShardLength(shardLength) }
    }
}

protocol CodingEngine: Sendable {
    func encode(length: Int, shards: ShardPointers)
    func reconstruct(length: Int, shards: ShardPointers, missing: ShardSet, targets: ShardSet) throws(ErasureError)
}

/// A code bound to one kernel, with its encode tables and a bounded cache of
/// decode tables per erasure pattern.
final class Engine<Kernel: GFKernel>: CodingEngine {
    /// Patterns beyond this are rare (large codes, many failures); when the
    /// cache fills it is cleared rather than grown.
    static var maxCachedDecodePatterns: Int { 4096 }

    private struct PatternKey: Hashable { let missing: ShardSet; let targets: ShardSet }
    private struct Decoder: Sendable { let plan: CodingMatrices.DecodePlan; let prepared: Kernel.Prepared }

    let code: ErasureCode
    let kernel: Kernel
    private let encodeTables: Kernel.Prepared
    private let decoders = Mutex<[PatternKey: Decoder]>([:])

    init(code: ErasureCode, kernel: Kernel) {
        self.code = code
        self.kernel = kernel
        self.encodeTables = kernel.prepare(CodingMatrices.parityRows(code))
    }

    func encode(length: Int, shards: ShardPointers) {
        guard code.parityShards > 0 else { return }
        kernel.apply(encodeTables, length: length, inputs: shards, outputs: shards + code.dataShards)
    }

    func reconstruct(length: Int, shards: ShardPointers, missing: ShardSet, targets: ShardSet) throws(ErasureError) {
        let decoder = try decoder(missing: missing, targets: targets)
        let plan = decoder.plan
        withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<UInt8>?.self, capacity: plan.survivors.count + plan.targets.count) { table in
            let base = table.baseAddress!
            for (i, s) in plan.survivors.enumerated() { base[i] = shards[s] }
            for (i, t) in plan.targets.enumerated() { base[plan.survivors.count + i] = shards[t] }
            kernel.apply(decoder.prepared, length: length, inputs: base, outputs: base + plan.survivors.count)
        }
    }

    private func decoder(missing: ShardSet, targets: ShardSet) throws(ErasureError) -> Decoder {
        let key = PatternKey(missing: missing, targets: targets)
        if let cached = decoders.withLock({ $0[key] }) { return cached }
        let plan = try CodingMatrices.decodePlan(code, missing: missing, targets: targets)
        let decoder = Decoder(plan: plan, prepared: kernel.prepare(plan.coefficients))
        decoders.withLock { cache in
            if cache.count >= Self.maxCachedDecodePatterns { cache.removeAll(keepingCapacity: true) }
            cache[key] = decoder
        }
        return decoder
    }
}
