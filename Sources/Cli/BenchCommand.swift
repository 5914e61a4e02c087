import ArgumentParser
import Erasure
import ErasureBench
import Foundation
import Units
#if canImport(Glibc)
import Glibc
#endif

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure this machine, or an S3 endpoint.",
        subcommands: [BenchErasure.self, BenchS3.self]
    )
}

struct BenchErasure: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erasure",
        abstract: "Measure Reed-Solomon encode and reconstruct throughput (one core).",
        discussion: """
        Throughput is GB/s (10^9 bytes) of data input. reconstruct-1 rebuilds one lost \
        data shard; reconstruct-m rebuilds m lost shards, the most a stripe can lose. \
        Pair --k and --m to choose codes: --k 4 --m 2 --k 8 --m 3.
        """
    )

    static let defaultCodes = [(4, 2), (6, 3), (8, 3), (10, 4), (12, 4)]

    @Option(name: .customLong("k"), help: "Data shards of a code to measure (repeat, paired with --m).")
    var dataShards: [Int] = []

    @Option(name: .customLong("m"), help: "Parity shards of a code to measure (repeat, paired with --k).")
    var parityShards: [Int] = []

    @Option(help: "Block (stripe) size, e.g. 1MiB, 64KiB, 4M.")
    var block: String = "1MiB"

    @Option(help: "Backend: isal, swift or all.")
    var backend: String = "all"

    @Flag(help: "Print one JSON object per line instead of a table.")
    var json = false

    func validate() throws {
        guard dataShards.count == parityShards.count else {
            throw ValidationError("--k and --m must be given the same number of times (got \(dataShards.count) --k and \(parityShards.count) --m)")
        }
    }

    func run() throws {
        let codes = try (dataShards.isEmpty ? Self.defaultCodes : Array(zip(dataShards, parityShards))).map { k, m in
            do { return try ErasureCode(dataShards: k, parityShards: m) } catch { throw ValidationError("code \(k)+\(m): \(error)") }
        }
        let blockBytes: Int
        do {
            let parsed = try ByteCount(parsing: block)
            guard parsed.bytes >= 1, parsed.bytes <= 1 << 30 else {
                throw ValidationError("--block must be between 1 byte and 1GiB (got \(block))")
            }
            blockBytes = Int(parsed.bytes)
        } catch let error as ByteCount.ParseError {
            throw ValidationError("--block: \(error)")
        }
        let backends = try selectedBackends()
        let progress = ProgressLine(total: codes.count * backends.count * 3)
        var results: [ErasureBenchmarkResult] = []
        for code in codes {
            for kind in backends {
                let result = try ErasureBenchmark().run(code: code, blockBytes: blockBytes, backend: kind) { operation in
                    progress.step("\(code) \(kind) \(operation.rawValue)")
                }
                if json {
                    progress.clear()
                    print(BenchmarkReport.jsonLine(result))
                }
                results.append(result)
            }
        }
        progress.clear()
        if !json { print(BenchmarkReport.table(results)) }
    }

    private func selectedBackends() throws -> [ErasureBackendKind] {
        if backend.lowercased() == "all" {
            if let forced = ProcessInfo.processInfo.environment[ErasureBackendKind.environmentVariable], !forced.isEmpty {
                return [try ErasureBackendKind.resolve(requested: forced)]
            }
            return ErasureBackendKind.available
        }
        do { return [try ErasureBackendKind.resolve(requested: backend)] } catch {
            throw ValidationError("--backend: \(error)")
        }
    }
}

enum StandardError {
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = Glibc.write(STDERR_FILENO, bytes.baseAddress, bytes.count) }
    }

    static func print(_ line: String) { write(line + "\n") }
}
