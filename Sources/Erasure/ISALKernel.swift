#if ISAL
import CISAL

/// ISA-L's SIMD kernels (`ec_init_tables` once per matrix, `ec_encode_data`).
struct ISALKernel: GFKernel {
    /// ISA-L's expanded multiplication tables: 32 bytes per coefficient.
    /// Written once at preparation, then only read, so sharing is safe.
    final class Tables: @unchecked Sendable {
        let inputCount: Int32
        let outputCount: Int32
        let storage: UnsafeMutablePointer<UInt8>

        init(_ coefficients: GFMatrix) {
            inputCount = Int32(coefficients.columns)
            outputCount = Int32(coefficients.rows)
            let byteCount = max(1, 32 * coefficients.rows * coefficients.columns)
            storage = .allocate(capacity: byteCount)
            storage.initialize(repeating: 0, count: byteCount)
            var matrix = coefficients.elements
            if coefficients.rows > 0 {
                matrix.withUnsafeMutableBufferPointer { m in
                    ec_init_tables(inputCount, outputCount, m.baseAddress, storage)
                }
            }
        }
        deinit { storage.deallocate() }
    }

    func prepare(_ coefficients: GFMatrix) -> Tables { Tables(coefficients) }

    func apply(_ tables: Tables, length: Int, inputs: ShardPointers, outputs: ShardPointers) {
        guard length > 0, tables.outputCount > 0 else { return }
        ec_encode_data(Int32(length), tables.inputCount, tables.outputCount, tables.storage, inputs, outputs)
    }
}
#endif
