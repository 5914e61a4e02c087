import ClusterModel
import Crypto
import Foundation
import NIOCore
@testable import Node
import Testing
import Units

/// SSE-C on the simulated six-node cluster: shards (and inline rows) hold
/// only ciphertext, any range decrypts on its own, and the row keeps no key.
@Suite(.serialized) struct CustomerEncryptionTests {
    /// A recognisable body: every 16-byte line says where it is.
    func body(_ size: Int) -> [UInt8] {
        var out: [UInt8] = []
        var line = 0
        while out.count < size {
            out += Array(String(format: "plain%010d\n", line).utf8)
            line += 1
        }
        return Array(out.prefix(size))
    }

    func allShardBytes(_ sim: SimulatedCluster) throws -> [UInt8] {
        var bytes: [UInt8] = []
        let files = FileManager.default.enumerator(atPath: sim.root)!
        while let path = files.nextObject() as? String {
            guard path.contains("/data/"), let data = FileManager.default.contents(atPath: "\(sim.root)/\(path)") else { continue }
            bytes += data
        }
        return bytes
    }

    @Test func shardsHoldCiphertextAndEveryRangeDecrypts() async throws {
        let sim = try await SimulatedCluster.start()
        let key = CustomerKey(bytes: [UInt8](repeating: 42, count: 32), md5Base64: "unused-here")
        for (name, size) in [("large", 3 * 65536 + 999), ("small", 3000)] {
            let plain = body(size)
            var request = ObjectService.PutRequest(bucket: sim.bucket, key: name, contentLength: plain.count, contentType: nil, userMetadata: [:],
                                                   expectedMD5: Array(Insecure.MD5.hash(data: plain)), expectedSHA256: nil)
            request.customerKey = key
            let version = try await sim.services[0].put(request, body: AsyncStream { $0.yield(ByteBuffer(bytes: plain)); $0.finish() })
            let encryption = try #require(version.encryption)
            #expect(key.opens(encryption) && !CustomerKey(bytes: [UInt8](repeating: 43, count: 32), md5Base64: "").opens(encryption))
            #expect(version.etag == key.etag(md5: Array(Insecure.MD5.hash(data: plain))), "Content-MD5 was checked on the plaintext")
            if name == "small" { #expect(version.isInline && version.inlineData.map(Array.init) != plain) }

            let cipher = try key.cipher(for: encryption)
            let stored = try await sim.get(name, via: 3)
            #expect(stored.count == plain.count && stored != plain)
            #expect(try cipher.apply(stored, at: 0) == plain)
            for range in [0..<1, 5..<21, 65530..<65542, (size - 17)..<size] where range.upperBound <= size {
                #expect(try cipher.apply(stored[range], at: UInt64(range.lowerBound)) == Array(plain[range]), "\(name) \(range)")
            }
        }
        // No 16-byte line of either plaintext is in any shard file.
        let onDisk = try allShardBytes(sim)
        #expect(!onDisk.isEmpty)
        let needle = Array("plain0000000042\n".utf8)
        #expect(onDisk.firstRange(of: needle) == nil)
    }
}
