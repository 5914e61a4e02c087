import Erasure
import Units

/// Renders benchmark rows for people (a table) and scripts (JSON lines).
public enum BenchmarkReport {
    static let headers = ["CODE", "BLOCK", "BACKEND", "ENCODE GB/s", "RECON-1 GB/s", "RECON-M GB/s", "OVERHEAD", "TOLERATES"]

    public static func table(_ results: [ErasureBenchmarkResult]) -> String {
        let rows = results.map { r in
            [r.code.description, ByteCount(bytes: UInt64(r.blockBytes)).binaryDescription, r.backend.rawValue,
             rate(r.encodeGBps), rate(r.reconstructOneGBps), rate(r.reconstructAllParityGBps),
             String(format2(r.code.storageOverhead)) + "x", "\(r.code.toleratedLosses) lost"]
        }
        return TextTable(headers: headers, rows: rows, rightAligned: [3, 4, 5, 6]).render()
    }

    /// One JSON object per line with a fixed key order; the keys are a
    /// stable interface (Docs/benchmarks.md).
    public static func jsonLine(_ r: ErasureBenchmarkResult) -> String {
        func number(_ value: Double?) -> String { value.map { format3($0) } ?? "null" }
        return "{\"k\":\(r.code.dataShards),\"m\":\(r.code.parityShards),\"block_bytes\":\(r.blockBytes),"
            + "\"backend\":\"\(r.backend.rawValue)\",\"encode_gbps\":\(number(r.encodeGBps)),"
            + "\"reconstruct1_gbps\":\(number(r.reconstructOneGBps)),\"reconstructm_gbps\":\(number(r.reconstructAllParityGBps)),"
            + "\"overhead\":\(format3(r.code.storageOverhead)),\"tolerated_losses\":\(r.code.toleratedLosses)}"
    }

    static func rate(_ value: Double?) -> String { value.map { format2($0) } ?? "-" }

    static func format2(_ value: Double) -> String { fixed(value, decimals: 2) }
    static func format3(_ value: Double) -> String { fixed(value, decimals: 3) }
}
