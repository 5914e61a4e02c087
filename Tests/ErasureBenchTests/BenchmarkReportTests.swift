import Foundation
import Testing
import Erasure
@testable import ErasureBench

@Suite("shale bench erasure output")
struct BenchmarkReportTests {
    @Test("JSON lines carry the documented keys, in order")
    func jsonShape() throws {
        let result = ErasureBenchmarkResult(code: try ErasureCode(dataShards: 4, parityShards: 2), blockBytes: 1 << 20,
                                            backend: .swift, encodeGBps: 4.8412, reconstructOneGBps: 10.5,
                                            reconstructAllParityGBps: 5.0)
        let line = BenchmarkReport.jsonLine(result)
        #expect(line == #"{"k":4,"m":2,"block_bytes":1048576,"backend":"swift","encode_gbps":4.841,"reconstruct1_gbps":10.500,"reconstructm_gbps":5.000,"overhead":1.500,"tolerated_losses":2}"#)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["k", "m", "block_bytes", "backend", "encode_gbps", "reconstruct1_gbps", "reconstructm_gbps", "overhead", "tolerated_losses"])
    }

    @Test("a real measurement produces positive rates and a table row")
    func measures() throws {
        var bench = ErasureBenchmark()
        bench.rounds = 1
        bench.minimumRoundDuration = .milliseconds(1)
        var seen: [ErasureBenchmark.Operation] = []
        let result = try bench.run(code: try ErasureCode(dataShards: 2, parityShards: 1), blockBytes: 4096, backend: .swift) { seen.append($0) }
        #expect(seen == ErasureBenchmark.Operation.allCases)
        #expect((result.encodeGBps ?? 0) > 0 && (result.reconstructOneGBps ?? 0) > 0 && (result.reconstructAllParityGBps ?? 0) > 0)
        let table = BenchmarkReport.table([result])
        #expect(table.contains("2+1") && table.contains("4.0 KiB") && table.contains("1.50x"))
        let noParity = try bench.run(code: try ErasureCode(dataShards: 3, parityShards: 0), blockBytes: 4096, backend: .swift)
        #expect(noParity.encodeGBps == nil)
        #expect(BenchmarkReport.jsonLine(noParity).contains(#""encode_gbps":null"#))
    }
}
