import Checksums
import Foundation
import Testing

@Suite struct ChecksumTests {
    let check = Array("123456789".utf8)

    func crc32(_ bytes: [UInt8], accelerated: Bool) -> UInt32 {
        bytes.withUnsafeBytes { CRC32.checksum($0, accelerated: accelerated) }
    }

    @Test func crcCheckValues() {
        #expect(crc32(check, accelerated: false) == 0xCBF4_3926)
        #expect(crc32(check, accelerated: true) == 0xCBF4_3926)
        #expect(check.withUnsafeBytes { CRC64NVME.checksum($0) } == 0xAE8B_1486_0A79_9888)
        #expect(crc32([], accelerated: true) == 0 && crc32([], accelerated: false) == 0)
    }

    /// Values S3 itself documents or returns for known bodies (base64 of the big-endian digest).
    @Test func digestsAsS3EncodesThem() {
        let hello = Array("Hello world".utf8)
        #expect(Data(ChecksumHasher.digest(.crc32, of: hello)).base64EncodedString() == "i9aeUg==")
        #expect(Data(ChecksumHasher.digest(.crc32c, of: hello)).base64EncodedString() == "crUfeA==")
        #expect(Data(ChecksumHasher.digest(.sha1, of: hello)).base64EncodedString() == "e1AsOh9IyGCa4hLN+2Od7jlnP14=")
        #expect(Data(ChecksumHasher.digest(.sha256, of: hello)).base64EncodedString() == "ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=")
        #expect(Data(ChecksumHasher.digest(.crc64nvme, of: hello)).base64EncodedString() == "OOJZ0D8xKts=")
        for algorithm in ChecksumAlgorithm.allCases {
            #expect(ChecksumHasher.digest(algorithm, of: hello).count == algorithm.digestByteCount)
        }
    }

    /// Fed in pieces of every awkward length, each CRC gives the one-shot answer, on both paths.
    @Test func piecewiseEqualsOneShot() {
        var generator = SystemRandomNumberGenerator()
        let body = (0..<10_007).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for algorithm in ChecksumAlgorithm.allCases {
            let whole = ChecksumHasher.digest(algorithm, of: body)
            for piece in [1, 3, 7, 8, 9, 64, 1000, 4096] {
                var hasher = ChecksumHasher(algorithm)
                var offset = 0
                while offset < body.count {
                    let end = min(body.count, offset + piece)
                    body[offset..<end].withUnsafeBytes { hasher.update($0) }
                    offset = end
                }
                #expect(hasher.finalize() == whole, "\(algorithm) in pieces of \(piece)")
            }
        }
        let software = body.withUnsafeBytes { CRC32.checksum($0, accelerated: false) }
        let accelerated = body.withUnsafeBytes { CRC32.checksum($0, accelerated: true) }
        #expect(software == accelerated)
    }

    /// A multipart FULL_OBJECT checksum: the CRC of the whole body from the
    /// parts' CRCs and lengths, for every CRC, at awkward split points.
    @Test func combinedCRCsEqualTheWholeBodys() {
        var generator = SystemRandomNumberGenerator()
        let body = (0..<5_003).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for algorithm in ChecksumAlgorithm.allCases where CRCCombine.supports(algorithm) {
            let whole = ChecksumHasher.digest(algorithm, of: body)
            for cuts in [[1], [4096], [0, 17], [1000, 1001, 4999], [5002]] {
                let bounds = [0] + cuts + [body.count]
                let pieces = zip(bounds, bounds.dropFirst()).map { (from, to) in
                    (digest: ChecksumHasher.digest(algorithm, of: Array(body[from..<to])), length: UInt64(to - from))
                }
                #expect(CRCCombine.combine(pieces, algorithm: algorithm) == whole, "\(algorithm) cut at \(cuts)")
            }
        }
        #expect(CRCCombine.combine([(ChecksumHasher.digest(.sha256, of: body), 1)], algorithm: .sha256) == nil)
    }

    @Test func algorithmNames() {
        #expect(ChecksumAlgorithm(name: "crc64nvme") == .crc64nvme)
        #expect(ChecksumAlgorithm(name: "md5") == nil)
        #expect(ChecksumAlgorithm.crc32c.headerName == "x-amz-checksum-crc32c")
    }
}
