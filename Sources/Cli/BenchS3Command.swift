import ArgumentParser
import Foundation
import S3Bench
import Units
#if canImport(Glibc)
import Glibc
#endif

/// `shale bench s3`: a load generator against any S3 endpoint.
struct BenchS3: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "s3",
        abstract: "Measure an S3 endpoint: throughput, ops/s and latency of PUT, GET and DELETE.",
        discussion: """
        Creates a bucket of its own (shale-bench-…), sends requests from --concurrency workers for \
        --duration (or --count requests), and deletes what it wrote and the bucket. One of --put, --get, \
        --delete or --mixed P/G/D (shares of PUT/GET/DELETE) chooses the load; --get and --delete first \
        write objects to read or delete. Requests are signed with SigV4 (UNSIGNED-PAYLOAD); every PUT \
        sends the same in-memory body, so the client copies nothing per request.
        """)

    @Option(help: "The S3 endpoint, e.g. http://127.0.0.1:3900.")
    var endpoint: String
    @Option(help: "Access key id (default: $AWS_ACCESS_KEY_ID).")
    var accessKey: String?
    @Option(help: "Secret access key (default: $AWS_SECRET_ACCESS_KEY).")
    var secretKey: String?
    @Option(help: "Region to sign for.")
    var region = "us-east-1"
    @Flag(help: "PUT new objects.") var put = false
    @Flag(help: "GET objects written first.") var get = false
    @Flag(help: "DELETE objects written first.") var delete = false
    @Option(help: "Shares of PUT/GET/DELETE, e.g. 45/45/10.")
    var mixed: String?
    @Option(help: "Object size, e.g. 4KiB, 64MiB.")
    var size = "4KiB"
    @Option(help: "Requests in flight.")
    var concurrency = 8
    @Option(help: "How long to run, e.g. 30s, 2m (default 30s unless --count is given).")
    var duration: String?
    @Option(help: "Stop after this many requests.")
    var count: Int?
    @Option(help: "Upload objects as multipart uploads of parts this large, e.g. 64MiB.")
    var multipartPart: String?
    @Option(help: "GETs read a random range this long, e.g. 64KiB.")
    var range: String?
    @Option(help: "Objects to write before the run (default: chosen from the load).")
    var prefill = 0
    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        guard [put, get, delete, mixed != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("choose one load: --put, --get, --delete or --mixed P/G/D")
        }
        if let mixed, OperationMix(parsing: mixed) == nil { throw ValidationError("--mixed: '\(mixed)' is not three whole numbers P/G/D, e.g. 45/45/10") }
        guard (1...1024).contains(concurrency) else { throw ValidationError("--concurrency must be 1…1024") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        guard let url = URL(string: endpoint), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw ValidationError("--endpoint: '\(endpoint)' is not an http:// or https:// URL")
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let accessKey = accessKey ?? environment["AWS_ACCESS_KEY_ID"], let secretKey = secretKey ?? environment["AWS_SECRET_ACCESS_KEY"] else {
            throw ValidationError("give --access-key and --secret-key (or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
        }
        let mix = put ? OperationMix(only: .put) : get ? OperationMix(only: .get) : delete ? OperationMix(only: .delete) : OperationMix(parsing: mixed!)!
        let objectSize = try Self.bytes(size, option: "--size", minimum: 0)
        let settings = BenchSettings(
            endpoint: URL(string: endpoint)!, accessKey: accessKey, secretKey: secretKey, region: region, mix: mix, objectSize: objectSize,
            concurrency: concurrency, durationSeconds: try duration.map(Self.seconds) ?? (count == nil ? 30 : nil), count: count,
            multipartPartSize: try multipartPart.map { try Self.bytes($0, option: "--multipart-part", minimum: 5 << 20) },
            rangeSize: try range.map { try Self.bytes($0, option: "--range", minimum: 1) }, prefill: prefill)
        let terminal = isatty(STDERR_FILENO) != 0
        let report: BenchReport
        do {
            report = try await S3BenchRunner(settings: settings).run { line in
                FileHandle.standardError.write(Data(((terminal ? "\r\u{1B}[K" : "") + line + (terminal ? "" : "\n")).utf8))
            }
        } catch {
            throw CommandFailure("bench s3: \(error)")
        }
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(Self.render(report))
        }
        if report.operations.contains(where: { $0.errors > 0 }) { throw ExitCode(1) }
    }

    static func render(_ report: BenchReport) -> String {
        func f(_ value: Double) -> String { String(format: value >= 100 ? "%.0f" : "%.1f", value) }
        var lines = ["\(report.endpoint): \(ByteCount(bytes: report.objectSizeBytes)) objects, \(report.concurrency) in flight, "
                     + String(format: "%.1f s", report.seconds)]
        lines += TextTable(headers: ["Operation", "Requests", "Errors", "ops/s", "MiB/s", "p50 ms", "p90 ms", "p99 ms", "max ms"],
                           rows: report.operations.map { op in
                               [op.operation.rawValue, String(op.requests), String(op.errors), f(op.opsPerSecond), f(op.mibPerSecond),
                                f(op.latency.p50Millis), f(op.latency.p90Millis), f(op.latency.p99Millis), f(op.latency.maxMillis)]
                           }).lines
        if !report.errorSamples.isEmpty { lines += ["", "First errors:"] + report.errorSamples.map { "  " + $0 } }
        return lines.joined(separator: "\n")
    }

    static func bytes(_ text: String, option: String, minimum: Int) throws -> Int {
        let parsed: ByteCount
        do { parsed = try ByteCount(parsing: text) } catch { throw ValidationError("\(option): \(error)") }
        guard parsed.bytes >= UInt64(minimum), parsed.bytes <= 5 << 30 else {
            throw ValidationError("\(option) must be between \(ByteCount(bytes: UInt64(minimum))) and 5 GiB (got \(text))")
        }
        return Int(parsed.bytes)
    }

    /// "30s", "2m", "500ms", "1h", or a number of seconds.
    static func seconds(_ text: String) throws -> Double {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value > 0 { return value * scale }
        }
        if let value = Double(text), value > 0 { return value }
        throw ValidationError("--duration: '\(text)' is not a duration such as 30s, 2m or 500ms")
    }
}
