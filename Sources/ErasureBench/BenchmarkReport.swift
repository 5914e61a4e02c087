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

    /// Fixed-point rendering without Foundation's locale-dependent formatters.
    static func fixed(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((abs(value) * scale).rounded())
        let whole = scaled / Int64(scale)
        var fraction = String(scaled % Int64(scale))
        while fraction.count < decimals { fraction = "0" + fraction }
        return (value < 0 && scaled != 0 ? "-" : "") + "\(whole)" + (decimals > 0 ? ".\(fraction)" : "")
    }
}

/// Column-aligned plain text, the shape of the guide's `status` tables.
public struct TextTable: Sendable {
    public var headers: [String]
    public var rows: [[String]]
    public var rightAligned: Set<Int>

    public init(headers: [String], rows: [[String]], rightAligned: Set<Int> = []) {
        self.headers = headers
        self.rows = rows
        self.rightAligned = rightAligned
    }

    public func render() -> String {
        let all = [headers] + rows
        let widths = headers.indices.map { c in all.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return rightAligned.contains(c) ? pad + cell : (c == row.count - 1 ? cell : cell + pad)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
