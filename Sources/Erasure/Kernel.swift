/// C-compatible table of shard pointers (`unsigned char **` in ISA-L).
public typealias ShardPointers = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>

/// A backend's one primitive: outputs[r] = Σ_j coefficients[r, j] · inputs[j]
/// over `length` bytes. Encode and every reconstruction are this call with a
/// different prepared matrix.
protocol GFKernel: Sendable {
    associatedtype Prepared: Sendable
    func prepare(_ coefficients: GFMatrix) -> Prepared
    func apply(_ prepared: Prepared, length: Int, inputs: ShardPointers, outputs: ShardPointers)
}
