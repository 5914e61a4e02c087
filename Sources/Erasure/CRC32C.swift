#if ISAL
import CISAL
#endif

/// CRC32C (Castagnoli, iSCSI): reflected polynomial 0x82F63B78, initial and
/// final XOR 0xFFFFFFFF. `checksum("123456789") == 0xE3069283`.
public enum CRC32C {
    /// Checksum of `bytes`, continuing from the checksum `previous` of the
    /// bytes before them (0 to start), so a chunk can be fed in pieces.
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32 = 0,
                                backend: ErasureBackendKind = .preferred) -> UInt32 {
        switch backend {
        case .isal:
            #if ISAL
            return isal(bytes, continuing: previous)
            #else
            return software(bytes, continuing: previous)
            #endif
        case .swift:
            return software(bytes, continuing: previous)
        }
    }

    public static func checksum(_ bytes: [UInt8], continuing previous: UInt32 = 0,
                                backend: ErasureBackendKind = .preferred) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, continuing: previous, backend: backend) }
    }

    #if ISAL
    private static func isal(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32) -> UInt32 {
        // ISA-L's crc32_iscsi neither inverts on entry nor on exit, and takes an int length.
        var state = ~previous
        var offset = 0
        let maxChunk = 1 << 30
        while offset < bytes.count {
            let n = min(maxChunk, bytes.count - offset)
            let start = UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset)
            state = crc32_iscsi(start, Int32(n), state)
            offset += n
        }
        return ~state
    }
    #endif

    /// Slicing-by-8 tables: table[t][b] is the CRC of byte b followed by t zero bytes.
    private static let tables: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for b in 0..<256 {
            var crc = UInt32(b)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            table[b] = crc
        }
        for t in 1..<8 {
            for b in 0..<256 {
                let previous = table[(t - 1) * 256 + b]
                table[t * 256 + b] = (previous >> 8) ^ table[Int(previous & 0xFF)]
            }
        }
        return table
    }()

    private static func software(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32) -> UInt32 {
        var crc = ~previous
        tables.withUnsafeBufferPointer { t in
            var offset = 0
            let count = bytes.count
            while offset + 8 <= count {
                let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) ^ UInt64(crc)
                crc = t[7 * 256 + Int(word & 0xFF)] ^ t[6 * 256 + Int(word >> 8 & 0xFF)]
                    ^ t[5 * 256 + Int(word >> 16 & 0xFF)] ^ t[4 * 256 + Int(word >> 24 & 0xFF)]
                    ^ t[3 * 256 + Int(word >> 32 & 0xFF)] ^ t[2 * 256 + Int(word >> 40 & 0xFF)]
                    ^ t[1 * 256 + Int(word >> 48 & 0xFF)] ^ t[Int(word >> 56)]
                offset += 8
            }
            while offset < count {
                crc = (crc >> 8) ^ t[Int((crc ^ UInt32(bytes[offset])) & 0xFF)]
                offset += 1
            }
        }
        return ~crc
    }
}
