@testable import Erasure
import Units

typealias TestRandom = SplitMix64

/// N shards held in Swift arrays, with a pointer table for the codec.
final class Shards {
    var buffers: [UnsafeMutablePointer<UInt8>]
    let table: ShardPointers
    let length: Int

    init(count: Int, length: Int) {
        self.length = length
        buffers = (0..<count).map { _ in
            let p = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, length))
            p.initialize(repeating: 0, count: max(1, length))
            return p
        }
        table = .allocate(capacity: count)
        for (i, b) in buffers.enumerated() { table[i] = b }
    }

    deinit {
        buffers.forEach { $0.deallocate() }
        table.deallocate()
    }

    subscript(i: Int) -> [UInt8] {
        get { Array(UnsafeBufferPointer(start: buffers[i], count: length)) }
        set { precondition(newValue.count == length); newValue.withUnsafeBufferPointer { buffers[i].update(from: $0.baseAddress!, count: length) } }
    }

    func fill(_ i: Int, with byte: UInt8) { buffers[i].update(repeating: byte, count: length) }
}

/// The independent oracle: parity by definition, one multiply at a time.
func referenceParity(code: ErasureCode, data: [[UInt8]]) -> [[UInt8]] {
    let generator = CodingMatrices.generator(code)
    let length = data.first?.count ?? 0
    return (code.dataShards..<code.totalShards).map { row in
        (0..<length).map { i in
            (0..<code.dataShards).reduce(UInt8(0)) { $0 ^ GaloisField.multiply(generator[row, $1], data[$1][i]) }
        }
    }
}

func combinations(of n: Int, choosing r: Int) -> [[Int]] {
    if r == 0 { return [[]] }
    if n < r { return [] }
    return combinations(of: n - 1, choosing: r) + combinations(of: n - 1, choosing: r - 1).map { $0 + [n - 1] }
}

/// Byte equality that reports a boolean, so a failure names the shard
/// instead of printing megabytes.
func same<T: Equatable>(_ a: T, _ b: T) -> Bool { a == b }
