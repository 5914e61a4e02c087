/// Pure-Swift backend: no C, no tables, vector code from the compiler.
///
/// Multiplying by a constant in GF(2^8) is linear over bits, so
///   out = Σ_j c_j·x_j = Σ_b 2^b · (⊕ of x_j whose c_j has bit b)
/// which Horner's rule evaluates as ((S7·2 ⊕ S6)·2 ⊕ …)·2 ⊕ S0. Doubling a
/// byte is a shift and a conditional XOR of the polynomial: four vector
/// instructions per 16 bytes. Each step is a simple loop over a chunk that
/// stays in L1, which LLVM vectorizes; a doubling is fused with up to two
/// XOR terms so the accumulator (the output shard itself) is read and
/// written once per step.
///
/// Swift's `SIMD64<UInt8>` is not used: in Swift 6.3 its bitwise and shift
/// operators run lane by lane (measured 0.07–0.14 GB/s; see Docs/decisions.md).
struct SwiftKernel: GFKernel {
    /// Small enough that one output chunk and its inputs stay in L1.
    static let chunkBytes = 2048

    enum Step: UInt8, Sendable {
        case assign1, assign2        // acc = a, acc = a ^ b
        case double, double1, double2 // acc = 2·acc [^ a [^ b]]
        case xor1, xor2              // acc ^= a [^ b]
        case zero                    // acc = 0 (an all-zero coefficient row)
    }

    struct Plan: Sendable {
        let inputCount: Int
        let outputCount: Int
        let steps: [Step]
        let operandA: [Int32]
        let operandB: [Int32]
        /// End offset into `steps` of each output's program.
        let outputEnds: [Int32]
    }

    func prepare(_ matrix: GFMatrix) -> Plan {
        var steps: [Step] = [], operandA: [Int32] = [], operandB: [Int32] = [], outputEnds: [Int32] = []
        func emit(_ step: Step, _ a: Int = 0, _ b: Int = 0) {
            steps.append(step)
            operandA.append(Int32(a))
            operandB.append(Int32(b))
        }
        for r in 0..<matrix.rows {
            var started = false
            for bit in stride(from: 7, through: 0, by: -1) {
                var terms = (0..<matrix.columns).filter { matrix[r, $0] >> UInt8(bit) & 1 == 1 }[...]
                if started {
                    switch terms.count {
                    case 0: emit(.double)
                    case 1: emit(.double1, terms[terms.startIndex])
                    default: emit(.double2, terms[terms.startIndex], terms[terms.startIndex + 1])
                    }
                    terms = terms.dropFirst(2)
                } else if !terms.isEmpty {
                    if terms.count == 1 { emit(.assign1, terms[terms.startIndex]) } else {
                        emit(.assign2, terms[terms.startIndex], terms[terms.startIndex + 1])
                    }
                    terms = terms.dropFirst(2)
                    started = true
                }
                while terms.count >= 2 {
                    emit(.xor2, terms[terms.startIndex], terms[terms.startIndex + 1])
                    terms = terms.dropFirst(2)
                }
                if let last = terms.first { emit(.xor1, last) }
            }
            if !started { emit(.zero) }
            outputEnds.append(Int32(steps.count))
        }
        return Plan(inputCount: matrix.columns, outputCount: matrix.rows, steps: steps,
                    operandA: operandA, operandB: operandB, outputEnds: outputEnds)
    }

    @inline(__always)
    static func double(_ x: UInt8) -> UInt8 {
        (x &+ x) ^ (Int8(bitPattern: x) < 0 ? 0x1D : 0)
    }

    func apply(_ plan: Plan, length: Int, inputs: ShardPointers, outputs: ShardPointers) {
        guard length > 0, plan.outputCount > 0 else { return }
        plan.steps.withUnsafeBufferPointer { steps in
            plan.operandA.withUnsafeBufferPointer { operandA in
                plan.operandB.withUnsafeBufferPointer { operandB in
                    var base = 0
                    while base < length {
                        let count = min(Self.chunkBytes, length - base)
                        var step = 0
                        for r in 0..<plan.outputCount {
                            let acc = outputs[r]! + base
                            let end = Int(plan.outputEnds[r])
                            while step < end {
                                let a = inputs[Int(operandA[step])]! + base
                                let b = inputs[Int(operandB[step])]! + base
                                Self.run(steps[step], acc: acc, a: a, b: b, count: count)
                                step += 1
                            }
                        }
                        base += count
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func run(_ step: Step, acc: UnsafeMutablePointer<UInt8>, a: UnsafeMutablePointer<UInt8>,
                            b: UnsafeMutablePointer<UInt8>, count: Int) {
        switch step {
        case .assign1: for i in 0..<count { acc[i] = a[i] }
        case .assign2: for i in 0..<count { acc[i] = a[i] ^ b[i] }
        case .double: for i in 0..<count { acc[i] = double(acc[i]) }
        case .double1: for i in 0..<count { acc[i] = double(acc[i]) ^ a[i] }
        case .double2: for i in 0..<count { acc[i] = double(acc[i]) ^ a[i] ^ b[i] }
        case .xor1: for i in 0..<count { acc[i] ^= a[i] }
        case .xor2: for i in 0..<count { acc[i] ^= a[i] ^ b[i] }
        case .zero: for i in 0..<count { acc[i] = 0 }
        }
    }
}
