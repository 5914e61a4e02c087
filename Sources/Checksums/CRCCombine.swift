/// The CRC of a concatenation from the CRCs of its pieces, without the
/// bytes: a multipart upload's FULL_OBJECT checksum from its parts'.
///
/// CRC32, CRC32C and CRC64NVME are reflected CRCs whose initial value and
/// final xor are all ones; for such a CRC, crc(A ‖ B) is crc(A) advanced
/// over |B| zero bytes, xor crc(B). Advancing over zeros is a linear map
/// over GF(2), applied here as a bit matrix raised to the power |B| by
/// repeated squaring, so the cost grows with log |B|.
public enum CRCCombine {
    /// The reflected generator polynomials.
    static func polynomial(_ algorithm: ChecksumAlgorithm) -> (poly: UInt64, width: Int)? {
        switch algorithm {
        case .crc32: return (0xEDB8_8320, 32)
        case .crc32c: return (0x82F6_3B78, 32)
        case .crc64nvme: return (0x9A6C_9329_AC4B_C9B5, 64)
        case .sha1, .sha256: return nil
        }
    }

    /// Whether `algorithm` can be combined (the CRCs; not SHA-1 or SHA-256).
    public static func supports(_ algorithm: ChecksumAlgorithm) -> Bool { polynomial(algorithm) != nil }

    /// crc(A ‖ B) from crc(A), crc(B) and |B|.
    public static func combine(_ first: UInt64, _ second: UInt64, secondLength: UInt64, algorithm: ChecksumAlgorithm) -> UInt64 {
        guard let (poly, width) = polynomial(algorithm), secondLength > 0 else { return secondLength == 0 ? first : second }
        // The operator for one zero bit: shift right, folding the polynomial in when the low bit falls off.
        var odd = [UInt64](repeating: 0, count: width)
        odd[0] = poly
        for n in 1..<width { odd[n] = 1 << UInt64(n - 1) }
        var even = square(odd, width: width)  // two zero bits
        odd = square(even, width: width)  // four zero bits
        var crc = first
        var remaining = secondLength
        repeat {
            even = square(odd, width: width)  // first pass: one zero byte
            if remaining & 1 != 0 { crc = times(even, crc) }
            remaining >>= 1
            if remaining == 0 { break }
            odd = square(even, width: width)
            if remaining & 1 != 0 { crc = times(odd, crc) }
            remaining >>= 1
        } while remaining != 0
        return crc ^ second
    }

    /// Combines big-endian digests (as S3 encodes CRCs): the pieces in order, with their lengths.
    public static func combine(_ pieces: [(digest: [UInt8], length: UInt64)], algorithm: ChecksumAlgorithm) -> [UInt8]? {
        guard let (_, width) = polynomial(algorithm), let first = pieces.first else { return nil }
        let bytes = width / 8
        func value(_ digest: [UInt8]) -> UInt64? {
            guard digest.count == bytes else { return nil }
            return digest.reduce(0) { ($0 << 8) | UInt64($1) }
        }
        guard var crc = value(first.digest) else { return nil }
        for piece in pieces.dropFirst() {
            guard let next = value(piece.digest) else { return nil }
            crc = combine(crc, next, secondLength: piece.length, algorithm: algorithm)
        }
        return (0..<bytes).map { UInt8(truncatingIfNeeded: crc >> UInt64(8 * (bytes - 1 - $0))) }
    }

    private static func times(_ matrix: [UInt64], _ vector: UInt64) -> UInt64 {
        var sum: UInt64 = 0
        var vector = vector
        var row = 0
        while vector != 0 {
            if vector & 1 != 0 { sum ^= matrix[row] }
            vector >>= 1
            row += 1
        }
        return sum
    }

    private static func square(_ matrix: [UInt64], width: Int) -> [UInt64] {
        (0..<width).map { times(matrix, matrix[$0]) }
    }
}
