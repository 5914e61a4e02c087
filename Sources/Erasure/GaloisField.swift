/// Arithmetic in GF(2^8) with the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D)
/// and generator 2 — the field ISA-L uses, so matrices built here match its own.
public enum GaloisField {
    static let polynomial = 0x11D

    /// exp[i] = 2^i for i in 0..<510 (doubled so log sums need no modulo).
    static let expTable: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 510)
        var x = 1
        for i in 0..<255 {
            table[i] = UInt8(x)
            table[i + 255] = UInt8(x)
            x <<= 1
            if x & 0x100 != 0 { x ^= polynomial }
        }
        return table
    }()

    static let logTable: [Int] = {
        var table = [Int](repeating: 0, count: 256)
        for i in 0..<255 { table[Int(expTable[i])] = i }
        return table
    }()

    @inline(__always)
    public static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        if a == 0 || b == 0 { return 0 }
        return expTable[logTable[Int(a)] + logTable[Int(b)]]
    }

    public static func inverse(_ a: UInt8) -> UInt8 {
        precondition(a != 0, "zero has no inverse in GF(2^8)")
        return expTable[255 - logTable[Int(a)]]
    }
}

/// A dense row-major matrix over GF(2^8).
struct GFMatrix: Equatable, Sendable {
    let rows: Int
    let columns: Int
    var elements: [UInt8]

    init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
        self.elements = [UInt8](repeating: 0, count: rows * columns)
    }

    subscript(row: Int, column: Int) -> UInt8 {
        get { elements[row * columns + column] }
        set { elements[row * columns + column] = newValue }
    }

    /// The systematic encoding matrix of ISA-L's `gf_gen_cauchy1_matrix`:
    /// identity on top, then 1 / (i ^ j) for parity row i and data column j.
    static func cauchyEncoding(_ code: ErasureCode) -> GFMatrix {
        let k = code.dataShards
        var matrix = GFMatrix(rows: code.totalShards, columns: k)
        for i in 0..<k { matrix[i, i] = 1 }
        for i in k..<code.totalShards {
            for j in 0..<k { matrix[i, j] = GaloisField.inverse(UInt8(i ^ j)) }
        }
        return matrix
    }

    func selecting(rows indices: [Int]) -> GFMatrix {
        var result = GFMatrix(rows: indices.count, columns: columns)
        for (r, source) in indices.enumerated() {
            for c in 0..<columns { result[r, c] = self[source, c] }
        }
        return result
    }

    /// Gauss-Jordan inversion; nil when singular (never for a Cauchy submatrix).
    func inverted() -> GFMatrix? {
        precondition(rows == columns, "only square matrices invert")
        let n = rows
        var work = self
        var result = GFMatrix(rows: n, columns: n)
        for i in 0..<n { result[i, i] = 1 }
        for col in 0..<n {
            guard let pivot = (col..<n).first(where: { work[$0, col] != 0 }) else { return nil }
            if pivot != col {
                for c in 0..<n {
                    work.elements.swapAt(pivot * n + c, col * n + c)
                    result.elements.swapAt(pivot * n + c, col * n + c)
                }
            }
            let scale = GaloisField.inverse(work[col, col])
            for c in 0..<n {
                work[col, c] = GaloisField.multiply(work[col, c], scale)
                result[col, c] = GaloisField.multiply(result[col, c], scale)
            }
            for r in 0..<n where r != col && work[r, col] != 0 {
                let factor = work[r, col]
                for c in 0..<n {
                    work[r, c] ^= GaloisField.multiply(factor, work[col, c])
                    result[r, c] ^= GaloisField.multiply(factor, result[col, c])
                }
            }
        }
        return result
    }

    static func * (lhs: GFMatrix, rhs: GFMatrix) -> GFMatrix {
        precondition(lhs.columns == rhs.rows, "matrix shapes do not multiply")
        var result = GFMatrix(rows: lhs.rows, columns: rhs.columns)
        for r in 0..<lhs.rows {
            for c in 0..<rhs.columns {
                var sum: UInt8 = 0
                for i in 0..<lhs.columns { sum ^= GaloisField.multiply(lhs[r, i], rhs[i, c]) }
                result[r, c] = sum
            }
        }
        return result
    }
}
