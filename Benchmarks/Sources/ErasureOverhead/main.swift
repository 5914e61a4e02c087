import CBaseline
import Erasure

// Interleaved A/B: Shale's ISA-L backend against ISA-L called directly from
// C, on the same stripe buffers, alternating short rounds so both see the
// same machine state. Prints the median per-round ratio (shale / direct).
// Usage: ErasureOverhead [rounds]   (default 41)

let blockBytes = 1 << 20
let rounds = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 41 : 41
let codes = [(4, 2), (6, 3), (8, 3), (10, 4), (12, 4)]
let clock = ContinuousClock()

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

/// GB/s of data input for `iterations` calls of `body`.
func rate(_ iterations: Int, _ body: () -> Void) -> Double {
    let start = clock.now
    for _ in 0..<iterations { body() }
    return Double(blockBytes * iterations) / seconds(clock.now - start) / 1e9
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

print("| operation | code | shale-isal GB/s (median) | c-isal-direct GB/s (median) | median of per-round ratios |")
print("|---|---|---:|---:|---:|")
for (k, m) in codes {
    let code = try! ErasureCode(dataShards: k, parityShards: m)
    let stripe = StripeBuffer(code: code, maxBlockLength: blockBytes)
    var random = SystemRandomNumberGenerator()
    let block = (0..<blockBytes).map { _ in UInt8.random(in: 0...255, using: &random) }
    block.withUnsafeBytes { try! stripe.load(block: $0) }
    let length = Int32(stripe.shardLength)
    let c = baseline_create(Int32(k), Int32(m))!
    defer { baseline_destroy(c) }
    let codec = try! ReedSolomon(code, backend: .isal)
    try! codec.encode(stripe)

    let operations: [(String, ShardSet?, [Int32])] = [
        ("encode", nil, []),
        ("reconstruct-1", [0], [0]),
        ("reconstruct-m", ShardSet(0..<m), (0..<Int32(m)).map { $0 }),
    ]
    for (name, missing, lost) in operations {
        var lostCopy = lost
        if !lost.isEmpty { precondition(baseline_isal_prepare_decode(c, &lostCopy, Int32(lost.count)) == 0) }
        let shale: () -> Void = missing.map { set in { try! codec.reconstruct(stripe, missing: set) } }
            ?? { try! codec.encode(stripe) }
        let direct: () -> Void = lost.isEmpty
            ? { baseline_isal_encode(c, length, stripe.shardPointers) }
            : { baseline_isal_decode(c, length, stripe.shardPointers) }
        // About 10 ms per round at the expected speed.
        let iterations = max(20, Int(rate(50, direct) * 1e9 * 0.01) / blockBytes)
        var shaleRates: [Double] = [], directRates: [Double] = [], ratios: [Double] = []
        for round in 0..<rounds {
            // Alternate which goes first so neither always follows the other.
            let (a, b): (Double, Double) = round % 2 == 0
                ? { let s = rate(iterations, shale); return (s, rate(iterations, direct)) }()
                : { let d = rate(iterations, direct); return (rate(iterations, shale), d) }()
            shaleRates.append(a)
            directRates.append(b)
            ratios.append(a / b)
        }
        let f = { (x: Double) in String(Int((x * 100).rounded())) .paddedHundredths }
        print("| \(name) | \(k)+\(m) | \(f(median(shaleRates))) | \(f(median(directRates))) | \(String(Int((median(ratios) * 1000).rounded())).paddedTenthsPercent) |")
    }
}

extension String {
    /// "1234" (hundredths) → "12.34"
    var paddedHundredths: String {
        let v = Int(self)!
        let fraction = v % 100
        return "\(v / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
    /// "987" (tenths of a percent) → "98.7%"
    var paddedTenthsPercent: String {
        let v = Int(self)!
        return "\(v / 10).\(v % 10)%"
    }
}
