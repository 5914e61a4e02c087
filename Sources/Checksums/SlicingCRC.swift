/// Table-driven reflected CRCs, eight bytes per step ("slicing by 8"): the
/// pure-Swift path for every CRC S3 names. `Word` is UInt32 or UInt64.
struct SlicingCRC<Word: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    /// tables[t * 256 + b]: the CRC register after byte b and t zero bytes.
    let tables: [Word]

    init(reflectedPolynomial: Word) {
        var table = [Word](repeating: 0, count: 8 * 256)
        for b in 0..<256 {
            var crc = Word(b)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ reflectedPolynomial : crc >> 1 }
            table[b] = crc
        }
        for t in 1..<8 {
            for b in 0..<256 {
                let previous = table[(t - 1) * 256 + b]
                table[t * 256 + b] = (previous >> 8) ^ table[Int(truncatingIfNeeded: previous & 0xFF)]
            }
        }
        tables = table
    }

    /// Advances the register (pre-inverted state, no final XOR) over `bytes`.
    @inline(__always)
    func update(_ register: Word, _ bytes: UnsafeRawBufferPointer) -> Word {
        var crc = register
        tables.withUnsafeBufferPointer { t in
            var offset = 0
            let count = bytes.count
            while offset + 8 <= count {
                let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                    ^ UInt64(truncatingIfNeeded: crc)
                var next = t[7 * 256 + Int(word & 0xFF)] ^ t[6 * 256 + Int(word >> 8 & 0xFF)]
                next ^= t[5 * 256 + Int(word >> 16 & 0xFF)] ^ t[4 * 256 + Int(word >> 24 & 0xFF)]
                next ^= t[3 * 256 + Int(word >> 32 & 0xFF)] ^ t[2 * 256 + Int(word >> 40 & 0xFF)]
                next ^= t[1 * 256 + Int(word >> 48 & 0xFF)] ^ t[Int(word >> 56)]
                // Registers of 32 and 64 bits are wholly shifted out by 8 bytes.
                crc = next
                offset += 8
            }
            while offset < count {
                crc = (crc >> 8) ^ t[Int(truncatingIfNeeded: (crc ^ Word(bytes[offset])) & 0xFF)]
                offset += 1
            }
        }
        return crc
    }
}
