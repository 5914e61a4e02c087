#if ISAL
import CISAL
#endif

/// CRC32 (IEEE 802.3, as zlib and gzip compute it): reflected polynomial
/// 0xEDB88320, initial and final XOR 0xFFFFFFFF. `"123456789"` → 0xCBF43926.
public enum CRC32 {
    static let slicing = SlicingCRC<UInt32>(reflectedPolynomial: 0xEDB8_8320)

    /// Checksum of `bytes`, continuing from the checksum of the bytes before them (0 to start).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32 = 0, accelerated: Bool = true) -> UInt32 {
        #if ISAL
        if accelerated { return isal(bytes, continuing: previous) }
        #endif
        return ~slicing.update(~previous, bytes)
    }

    #if ISAL
    private static func isal(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32) -> UInt32 {
        // crc32_gzip_refl inverts on entry and exit itself, and takes a 64-bit length.
        guard let base = bytes.baseAddress, bytes.count > 0 else { return previous }
        return crc32_gzip_refl(previous, UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self)), UInt64(bytes.count))
    }
    #endif
}

/// CRC-64/NVME (the one S3 calls CRC64NVME): reflected polynomial
/// 0x9A6C9329AC4BC9B5, initial and final XOR all ones.
/// `"123456789"` → 0xAE8B14860A799888. ISA-L 2.30 has no kernel for it.
public enum CRC64NVME {
    static let slicing = SlicingCRC<UInt64>(reflectedPolynomial: 0x9A6C_9329_AC4B_C9B5)

    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt64 = 0) -> UInt64 {
        ~slicing.update(~previous, bytes)
    }
}
