import Testing
@testable import S3Bench

@Suite struct BenchReportTests {
    @Test func percentilesAreNearestRank() {
        let samples = (1...100).map { Double($0) / 1000 }  // 1 ms … 100 ms
        let summary = LatencySummary(secondsSamples: samples.shuffled())
        #expect(summary.count == 100)
        #expect(summary.p50Millis == 50 && summary.p90Millis == 90 && summary.p99Millis == 99 && summary.maxMillis == 100)
        let one = LatencySummary(secondsSamples: [0.004])
        #expect(one.p50Millis == 4 && one.p99Millis == 4 && one.maxMillis == 4)
        #expect(LatencySummary(secondsSamples: []).p50Millis == 0)
    }

    @Test func mixParsesAndPicksByShare() throws {
        let mix = try #require(OperationMix(parsing: "45/45/10"))
        #expect(mix.total == 100)
        let picks = (0..<100).map { mix.pick($0) }
        #expect(picks.filter { $0 == .put }.count == 45 && picks.filter { $0 == .get }.count == 45 && picks.filter { $0 == .delete }.count == 10)
        let noDeletes = try #require(OperationMix(parsing: "1/3/0"))
        #expect(!noDeletes.includes(.delete) && (0..<8).map { noDeletes.pick($0) } == [.put, .get, .get, .get, .put, .get, .get, .get])
        for bad in ["", "1/2", "a/b/c", "0/0/0", "-1/2/3", "1/2/3/4"] { #expect(OperationMix(parsing: bad) == nil, "\(bad)") }
    }
}
