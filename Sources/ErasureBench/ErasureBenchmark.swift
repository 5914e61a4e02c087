import Erasure
import Units

/// One measured row of `shale bench erasure`.
public struct ErasureBenchmarkResult: Sendable, Equatable {
    public let code: ErasureCode
    public let blockBytes: Int
    public let backend: ErasureBackendKind
    /// GB/s (10^9 bytes) of data input on one core; nil where not applicable (m = 0).
    public let encodeGBps: Double?
    public let reconstructOneGBps: Double?
    public let reconstructAllParityGBps: Double?

    public init(code: ErasureCode, blockBytes: Int, backend: ErasureBackendKind,
                encodeGBps: Double?, reconstructOneGBps: Double?, reconstructAllParityGBps: Double?) {
        self.code = code
        self.blockBytes = blockBytes
        self.backend = backend
        self.encodeGBps = encodeGBps
        self.reconstructOneGBps = reconstructOneGBps
        self.reconstructAllParityGBps = reconstructAllParityGBps
    }
}

/// Measures encode and reconstruct throughput of one code on one backend on
/// the calling thread. Each figure is the median of several rounds, each
/// round long enough for the clock to be exact.
public struct ErasureBenchmark: Sendable {
    public enum Operation: String, Sendable, CaseIterable {
        case encode, reconstructOne = "reconstruct-1", reconstructAllParity = "reconstruct-m"
    }

    public var rounds = 5
    public var minimumRoundDuration: Duration = .milliseconds(40)

    public init() {}

    public func run(code: ErasureCode, blockBytes: Int, backend: ErasureBackendKind,
                    progress: (Operation) -> Void = { _ in }) throws(ErasureError) -> ErasureBenchmarkResult {
        let codec = try ReedSolomon(code, backend: backend)
        let stripe = StripeBuffer(code: code, maxBlockLength: blockBytes)
        var generator = SplitMix64(seed: UInt64(code.dataShards * 1000 + code.parityShards))
        let block = generator.bytes(blockBytes)
        try block.withUnsafeBytes { bytes in Result { () throws(ErasureError) in try stripe.load(block: bytes) } }.get()
        try codec.encode(stripe)

        progress(.encode)
        let encode = try measure(blockBytes: blockBytes) { () throws(ErasureError) in try codec.encode(stripe) }
        guard code.parityShards > 0 else {
            return ErasureBenchmarkResult(code: code, blockBytes: blockBytes, backend: backend,
                                          encodeGBps: nil, reconstructOneGBps: nil, reconstructAllParityGBps: nil)
        }
        progress(.reconstructOne)
        let one: ShardSet = [0]
        let reconstructOne = try measure(blockBytes: blockBytes) { () throws(ErasureError) in
            try codec.reconstruct(stripe, missing: one)
        }
        progress(.reconstructAllParity)
        let many = ShardSet(0..<code.parityShards)
        let reconstructMany = try measure(blockBytes: blockBytes) { () throws(ErasureError) in
            try codec.reconstruct(stripe, missing: many)
        }
        return ErasureBenchmarkResult(code: code, blockBytes: blockBytes, backend: backend,
                                      encodeGBps: encode, reconstructOneGBps: reconstructOne,
                                      reconstructAllParityGBps: reconstructMany)
    }

    private func measure(blockBytes: Int, _ body: () throws(ErasureError) -> Void) throws(ErasureError) -> Double {
        let clock = ContinuousClock()
        try body()  // warm caches and the decode-table cache
        var iterations = 1
        var rates: [Double] = []
        while rates.count < rounds {
            let start = clock.now
            for _ in 0..<iterations { try body() }
            let elapsed = clock.now - start
            if elapsed < minimumRoundDuration {
                iterations *= 2
                continue
            }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            rates.append(Double(blockBytes) * Double(iterations) / seconds / 1e9)
        }
        return rates.sorted()[rates.count / 2]
    }
}
