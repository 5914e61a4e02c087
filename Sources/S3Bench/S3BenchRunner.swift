import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import S3Protocol
import Units

/// What one `shale bench s3` run does.
public struct BenchSettings: Sendable {
    public var endpoint: URL
    public var accessKey: String
    public var secretKey: String
    public var region: String
    public var mix: OperationMix
    public var objectSize: Int
    public var concurrency: Int
    /// Stop after this long, or after `count` requests, whichever comes first.
    public var durationSeconds: Double?
    public var count: Int?
    /// Upload each object as a multipart upload of parts this large.
    public var multipartPartSize: Int?
    /// GETs read a random range this long instead of the whole object.
    public var rangeSize: Int?
    /// Objects written before a run that reads or deletes (0: chosen from the run).
    public var prefill: Int

    public init(endpoint: URL, accessKey: String, secretKey: String, region: String, mix: OperationMix, objectSize: Int, concurrency: Int,
                durationSeconds: Double?, count: Int?, multipartPartSize: Int?, rangeSize: Int?, prefill: Int) {
        self.endpoint = endpoint; self.accessKey = accessKey; self.secretKey = secretKey; self.region = region; self.mix = mix
        self.objectSize = objectSize; self.concurrency = concurrency; self.durationSeconds = durationSeconds; self.count = count
        self.multipartPartSize = multipartPartSize; self.rangeSize = rangeSize; self.prefill = prefill
    }
}

public struct BenchFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A load generator against any S3 endpoint: makes its own bucket, runs
/// `concurrency` workers sending the mix until the duration or count is
/// reached, measures every request, and removes what it wrote.
public final class S3BenchRunner: Sendable {
    let settings: BenchSettings
    let client: HTTPClient
    let bucket: String
    let host: String
    /// One body, sent by every PUT (and every part): the client costs no copies.
    let payload: ByteBuffer

    public init(settings: BenchSettings) {
        self.settings = settings
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(settings.concurrency, 8))
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var random = SystemRandomNumberGenerator()
        bucket = "shale-bench-" + String(UInt32.random(in: 0...UInt32.max, using: &random), radix: 16)
        let port = settings.endpoint.port.map { ":\($0)" } ?? ""
        host = (settings.endpoint.host ?? "localhost") + port
        var buffer = ByteBufferAllocator().buffer(capacity: max(settings.objectSize, settings.multipartPartSize ?? 0))
        var generator = SplitMix64(seed: 0x5348414c45)
        while buffer.readableBytes + 8 <= buffer.capacity { buffer.writeInteger(generator.next()) }
        while buffer.readableBytes < buffer.capacity { buffer.writeInteger(UInt8(truncatingIfNeeded: generator.next())) }
        payload = buffer
    }

    /// Runs the benchmark; `progress` is called about once a second with a line to show.
    public func run(progress: @escaping @Sendable (String) -> Void) async throws -> BenchReport {
        do {
            let report = try await measure(progress: progress)
            try? await client.shutdown()
            return report
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func measure(progress: @escaping @Sendable (String) -> Void) async throws -> BenchReport {
        try await send("PUT", path: "/\(bucket)", expect: [200])
        let state = BenchState(mix: settings.mix)
        do {
            let prefill = settings.prefill > 0 ? settings.prefill
                : (settings.mix.includes(.get) || settings.mix.includes(.delete)) ? Self.defaultPrefill(settings) : 0
            try await prefillObjects(prefill, state: state)
            let started = DispatchTime.now().uptimeNanoseconds
            let reporter = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(nanoseconds: 1_000_000_000)
                    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                    progress(await state.progressLine(elapsed: elapsed))
                }
            }
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<settings.concurrency {
                    group.addTask { await self.work(worker, state: state, started: started) }
                }
            }
            reporter.cancel()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            let report = await state.report(endpoint: settings.endpoint.absoluteString, size: UInt64(settings.objectSize),
                                            concurrency: settings.concurrency, seconds: seconds)
            await cleanUp(state: state)
            return report
        } catch {
            await cleanUp(state: state)
            throw error
        }
    }

    /// Enough objects that concurrent readers rarely share one, within 1 GiB.
    static func defaultPrefill(_ settings: BenchSettings) -> Int {
        let wanted = max(settings.concurrency * 4, 32)
        let budget = max(1, (1 << 30) / max(settings.objectSize, 1))
        return settings.mix.includes(.delete) ? max(wanted, min(settings.count ?? 1000, 10_000)) : min(wanted, budget)
    }

    private func prefillObjects(_ count: Int, state: BenchState) async throws {
        guard count > 0 else { return }
        let next = TicketCounter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<min(settings.concurrency, count) {
                group.addTask {
                    while let n = next.take(below: count) {
                        let key = "prefill-\(n)"
                        try await self.putObject(key)
                        await state.added(key)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    private func work(_ worker: Int, state: BenchState, started: UInt64) async {
        var generator = SplitMix64(seed: UInt64(worker) &* 0x9E3779B97F4A7C15 &+ 1)
        var n = 0
        while true {
            if let duration = settings.durationSeconds, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 >= duration { return }
            guard await state.claim(limit: settings.count) else { return }
            let operation = settings.mix.pick(Int(generator.next() % UInt64(settings.mix.total)))
            let begin = DispatchTime.now().uptimeNanoseconds
            var bytes: UInt64 = 0
            do {
                switch operation {
                case .put:
                    let key = "w\(worker)-\(n)"
                    n += 1
                    try await putObject(key)
                    bytes = UInt64(settings.objectSize)
                    await state.added(key)
                case .get:
                    guard let key = await state.anyKey(generator.next()) else { throw BenchFailure("no object to read") }
                    bytes = try await getObject(key, draw: generator.next())
                case .delete:
                    guard let key = await state.takeKey(generator.next()) else { throw BenchFailure("no object left to delete") }
                    try await send("DELETE", path: path(key), expect: [204, 200])
                }
                await state.record(operation, seconds: Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9, bytes: bytes)
            } catch {
                await state.failed(operation, "\(error)")
            }
        }
    }

    func path(_ key: String) -> String { "/\(bucket)/\(key)" }

    private func putObject(_ key: String) async throws {
        guard let partSize = settings.multipartPartSize, partSize < settings.objectSize else {
            try await send("PUT", path: path(key), body: payload.getSlice(at: 0, length: settings.objectSize)!, expect: [200])
            return
        }
        let created = try await send("POST", path: path(key), query: "uploads=", expect: [200]).text
        guard let start = created.range(of: "<UploadId>"), let end = created.range(of: "</UploadId>") else {
            throw BenchFailure("CreateMultipartUpload answered without an UploadId")
        }
        let upload = String(created[start.upperBound..<end.lowerBound])
        var etags: [String] = []
        var offset = 0
        while offset < settings.objectSize {
            let length = min(partSize, settings.objectSize - offset)
            let query = "partNumber=\(etags.count + 1)&uploadId=\(SigV4.uriEncode(upload, keepSlash: false))"
            let answer = try await send("PUT", path: path(key), query: query, body: payload.getSlice(at: 0, length: length)!, expect: [200])
            guard let etag = answer.headers.first(name: "etag") else { throw BenchFailure("UploadPart answered without an ETag") }
            etags.append(etag)
            offset += length
        }
        let body = "<CompleteMultipartUpload>" + etags.enumerated().map { "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\($0.element)</ETag></Part>" }
            .joined() + "</CompleteMultipartUpload>"
        try await send("POST", path: path(key), query: "uploadId=\(SigV4.uriEncode(upload, keepSlash: false))",
                       body: ByteBuffer(string: body), expect: [200])
    }

    private func getObject(_ key: String, draw: UInt64) async throws -> UInt64 {
        var headers: [(String, String)] = []
        if let range = settings.rangeSize, range < settings.objectSize {
            let start = Int(draw % UInt64(settings.objectSize - range + 1))
            headers.append(("range", "bytes=\(start)-\(start + range - 1)"))
        }
        let response = try await execute("GET", path: path(key), query: "", headers: headers, body: nil)
        var received: UInt64 = 0
        for try await chunk in response.body { received += UInt64(chunk.readableBytes) }
        guard response.status == .ok || response.status == .partialContent else { throw BenchFailure("GET answered \(response.status.code)") }
        return received
    }

    /// Sends a request and reads its (small) answer; fails unless its status is one of `expect`.
    @discardableResult
    private func send(_ method: String, path: String, query: String = "", body: ByteBuffer? = nil, expect: Set<UInt>) async throws
        -> (text: String, headers: HTTPHeaders)
    {
        let response = try await execute(method, path: path, query: query, headers: [], body: body)
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard expect.contains(response.status.code) else {
            throw BenchFailure("\(method) \(path) answered \(response.status.code): \(text.prefix(300))")
        }
        return (text, response.headers)
    }

    private func execute(_ method: String, path: String, query: String, headers: [(String, String)], body: ByteBuffer?) async throws
        -> HTTPClientResponse
    {
        let rawPath = SigV4.uriEncode(path, keepSlash: true)
        var base = settings.endpoint.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        var request = HTTPClientRequest(url: base + rawPath + (query.isEmpty ? "" : "?" + query))
        request.method = HTTPMethod(rawValue: method)
        var signed = headers
        if let body { signed.append(("content-length", String(body.readableBytes))) }
        let amzDate = S3Dates.amzDate(UInt64(Date().timeIntervalSince1970 * 1000))
        let signature = SigV4.sign(method: method, host: host, rawPath: rawPath, rawQuery: query,
                                   headers: signed.map { (name: $0.0, value: $0.1) }, payloadHash: SigV4.unsignedPayload,
                                   accessKey: settings.accessKey, secret: settings.secretKey, region: settings.region, amzDate: amzDate)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        for header in signature { request.headers.add(name: header.name, value: header.value) }
        if let body { request.body = .bytes(body) }
        return try await client.execute(request, timeout: .minutes(10))
    }

    /// Deletes every object the run left, then the bucket.
    private func cleanUp(state: BenchState) async {
        let keys = await state.allKeys()
        let next = TicketCounter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<max(1, min(settings.concurrency, 16)) {
                group.addTask {
                    while let index = next.take(below: keys.count) {
                        _ = try? await self.send("DELETE", path: self.path(keys[index]), expect: [204, 200])
                    }
                }
            }
        }
        _ = try? await send("DELETE", path: "/\(bucket)", expect: [204, 200])
    }
}

/// A shared ticket counter for workers splitting a fixed amount of work.
final class TicketCounter: @unchecked Sendable {
    private var next = 0
    private let lock = NSLock()

    func take(below limit: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < limit else { return nil }
        next += 1
        return next - 1
    }
}

/// The run's measurements and the objects that exist, shared by the workers.
actor BenchState {
    let mix: OperationMix
    private var samples: [BenchOperation: [Double]] = [:]
    private var bytes: [BenchOperation: UInt64] = [:]
    private var errors: [BenchOperation: Int] = [:]
    private var errorSamples: [String] = []
    private var keys: [String] = []
    private var claimed = 0

    init(mix: OperationMix) { self.mix = mix }

    func claim(limit: Int?) -> Bool {
        if let limit, claimed >= limit { return false }
        claimed += 1
        return true
    }

    func added(_ key: String) { keys.append(key) }
    func anyKey(_ draw: UInt64) -> String? { keys.isEmpty ? nil : keys[Int(draw % UInt64(keys.count))] }
    func takeKey(_ draw: UInt64) -> String? {
        guard !keys.isEmpty else { return nil }
        let index = Int(draw % UInt64(keys.count))
        keys.swapAt(index, keys.count - 1)
        return keys.removeLast()
    }
    func allKeys() -> [String] { keys }

    func record(_ operation: BenchOperation, seconds: Double, bytes count: UInt64) {
        samples[operation, default: []].append(seconds)
        bytes[operation, default: 0] += count
    }

    func failed(_ operation: BenchOperation, _ message: String) {
        errors[operation, default: 0] += 1
        if errorSamples.count < 5 { errorSamples.append("\(operation.rawValue): \(message)") }
    }

    func progressLine(elapsed: Double) -> String {
        let parts = mix.weights.map(\.0).map { operation -> String in
            let done = samples[operation]?.count ?? 0
            let mib = Double(bytes[operation] ?? 0) / Double(1 << 20) / max(elapsed, 0.001)
            return "\(operation.rawValue) \(done) (\(String(format: "%.1f", Double(done) / max(elapsed, 0.001))) ops/s, \(String(format: "%.1f", mib)) MiB/s)"
        }
        let failed = errors.values.reduce(0, +)
        return String(format: "%6.1fs  ", elapsed) + parts.joined(separator: "  ") + (failed > 0 ? "  errors \(failed)" : "")
    }

    func report(endpoint: String, size: UInt64, concurrency: Int, seconds: Double) -> BenchReport {
        let operations = mix.weights.map(\.0).map { operation in
            let list = samples[operation] ?? []
            return BenchReport.PerOperation(operation: operation, requests: list.count, errors: errors[operation] ?? 0,
                                            bytes: bytes[operation] ?? 0, opsPerSecond: Double(list.count) / seconds,
                                            mibPerSecond: Double(bytes[operation] ?? 0) / Double(1 << 20) / seconds,
                                            latency: LatencySummary(secondsSamples: list))
        }
        return BenchReport(endpoint: endpoint, objectSizeBytes: size, concurrency: concurrency, seconds: seconds, operations: operations,
                           errorSamples: errorSamples)
    }
}
