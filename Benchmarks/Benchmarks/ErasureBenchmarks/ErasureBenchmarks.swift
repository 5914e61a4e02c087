import Benchmark
import CBaseline
import Erasure

// One iteration = one 1 MiB block (one stripe). Throughput in GB/s of data
// input = 1_048_576 / (wall-clock ns per iteration). mallocCountTotal
// per iteration must be 0: steady-state encoding allocates nothing.
let blockBytes = 1 << 20
let codes: [(Int, Int)] = [(4, 2), (6, 3), (8, 3), (10, 4), (12, 4)]

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .nanoseconds,
        warmupIterations: 5,
        maxDuration: .milliseconds(700),
        maxIterations: 100_000
    )

    for (k, m) in codes {
        let code = try! ErasureCode(dataShards: k, parityShards: m)
        let name = "\(k)+\(m)"

        // One stripe and one C code object per (k, m), shared by every variant.
        let stripe = StripeBuffer(code: code, maxBlockLength: blockBytes)
        var random = SystemRandomNumberGenerator()
        let block = (0..<blockBytes).map { _ in UInt8.random(in: 0...255, using: &random) }
        block.withUnsafeBytes { try! stripe.load(block: $0) }
        let length = Int32(stripe.shardLength)
        let c = baseline_create(Int32(k), Int32(m))!
        let isal = try! ReedSolomon(code, backend: .isal)
        let swift = try! ReedSolomon(code, backend: .swift)
        let one: ShardSet = [0]
        let all = ShardSet(0..<m)
        try! isal.encode(stripe)

        Benchmark("encode \(name) shale-isal") { b in
            for _ in b.scaledIterations { try! isal.encode(stripe) }
        }
        Benchmark("encode \(name) c-isal-direct") { b in
            for _ in b.scaledIterations { baseline_isal_encode(c, length, stripe.shardPointers) }
        }
        Benchmark("encode \(name) shale-swift") { b in
            for _ in b.scaledIterations { try! swift.encode(stripe) }
        }
        Benchmark("encode \(name) c-table") { b in
            for _ in b.scaledIterations { baseline_table_encode(c, length, stripe.shardPointers) }
        }

        Benchmark("reconstruct-1 \(name) shale-isal") { b in
            for _ in b.scaledIterations { try! isal.reconstruct(stripe, missing: one) }
        }
        Benchmark("reconstruct-1 \(name) c-isal-direct", closure: { b in
            for _ in b.scaledIterations { baseline_isal_decode(c, length, stripe.shardPointers) }
        }, setup: {
            var lost: [Int32] = [0]
            precondition(baseline_isal_prepare_decode(c, &lost, 1) == 0)
        })
        Benchmark("reconstruct-1 \(name) shale-swift") { b in
            for _ in b.scaledIterations { try! swift.reconstruct(stripe, missing: one) }
        }

        Benchmark("reconstruct-m \(name) shale-isal") { b in
            for _ in b.scaledIterations { try! isal.reconstruct(stripe, missing: all) }
        }
        Benchmark("reconstruct-m \(name) c-isal-direct", closure: { b in
            for _ in b.scaledIterations { baseline_isal_decode(c, length, stripe.shardPointers) }
        }, setup: {
            var lost = (0..<Int32(m)).map { $0 }
            precondition(baseline_isal_prepare_decode(c, &lost, Int32(m)) == 0)
        })
        Benchmark("reconstruct-m \(name) shale-swift") { b in
            for _ in b.scaledIterations { try! swift.reconstruct(stripe, missing: all) }
        }
    }
}
