/// How a block is cut into shards.
public enum Striping {
    /// Shards are padded to a multiple of this so SIMD kernels never take a
    /// scalar tail and shard files stay cache-line aligned.
    public static let shardAlignmentBytes = 64

    /// The size of each of k shards for a block of `blockLength` bytes:
    /// ceil(block / k) rounded up to the alignment (0 for an empty block).
    public static func shardLength(blockLength: Int, dataShards: Int) -> Int {
        precondition(blockLength >= 0 && dataShards >= 1, "invalid striping request")
        let perShard = (blockLength + dataShards - 1) / dataShards
        let a = shardAlignmentBytes
        return (perShard + a - 1) / a * a
    }
}

/// One reusable, 64-byte-aligned allocation holding the N shards of a stripe,
/// plus the pointer table the codec takes. Allocate once per stream and reuse
/// it for every block: steady-state encoding then allocates nothing.
public final class StripeBuffer {
    public let code: ErasureCode
    /// Bytes reserved per shard.
    public let shardCapacity: Int
    /// Bytes in use per shard for the current block.
    public private(set) var shardLength: Int = 0
    /// The true length of the current block (the shards hold padding past it).
    public private(set) var blockLength: Int = 0

    private let storage: UnsafeMutableRawPointer
    /// The N shard pointers, data first: pass to `ReedSolomon`.
    public let shardPointers: ShardPointers

    public init(code: ErasureCode, maxBlockLength: Int) {
        precondition(maxBlockLength >= 0, "block length must not be negative")
        self.code = code
        shardCapacity = max(Striping.shardAlignmentBytes,
                            Striping.shardLength(blockLength: maxBlockLength, dataShards: code.dataShards))
        storage = .allocate(byteCount: shardCapacity * code.totalShards, alignment: Striping.shardAlignmentBytes)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: shardCapacity * code.totalShards)
        shardPointers = .allocate(capacity: code.totalShards)
        for i in 0..<code.totalShards {
            shardPointers[i] = (storage + i * shardCapacity).assumingMemoryBound(to: UInt8.self)
        }
    }

    deinit {
        storage.deallocate()
        shardPointers.deallocate()
    }

    public var maxBlockLength: Int { shardCapacity * code.dataShards }

    /// The bytes of shard `index` for the current block.
    public func shard(_ index: Int) -> UnsafeMutableRawBufferPointer {
        precondition((0..<code.totalShards).contains(index), "shard index \(index) out of range")
        return UnsafeMutableRawBufferPointer(start: storage + index * shardCapacity, count: shardLength)
    }

    /// Cuts `block` into the k data shards, zero-padding the last.
    public func load(block: UnsafeRawBufferPointer) throws(ErasureError) {
        try prepare(blockLength: block.count)
        let k = code.dataShards
        for i in 0..<k {
            let start = min(block.count, i * shardLength)
            let end = min(block.count, start + shardLength)
            let destination = storage + i * shardCapacity
            if end > start {
                destination.copyMemory(from: block.baseAddress! + start, byteCount: end - start)
            }
            (destination + (end - start)).initializeMemory(as: UInt8.self, repeating: 0, count: shardLength - (end - start))
        }
    }

    /// Sets the geometry for a block whose shards are filled by the caller
    /// (read from disk or network) rather than by `load`.
    public func prepare(blockLength: Int) throws(ErasureError) {
        let length = Striping.shardLength(blockLength: blockLength, dataShards: code.dataShards)
        guard length <= shardCapacity else {
            throw .bufferTooSmall(needed: length * code.dataShards, available: maxBlockLength)
        }
        self.blockLength = blockLength
        self.shardLength = length
    }

    /// Joins the data shards back into the block's `blockLength` bytes.
    @discardableResult
    public func join(into destination: UnsafeMutableRawBufferPointer) throws(ErasureError) -> Int {
        guard destination.count >= blockLength else {
            throw .bufferTooSmall(needed: blockLength, available: destination.count)
        }
        var written = 0
        var i = 0
        while written < blockLength {
            let n = min(shardLength, blockLength - written)
            (destination.baseAddress! + written).copyMemory(from: storage + i * shardCapacity, byteCount: n)
            written += n
            i += 1
        }
        return written
    }
}

extension ReedSolomon {
    public func encode(_ stripe: StripeBuffer) throws(ErasureError) {
        precondition(stripe.code == code, "stripe built for another code")
        try encode(shardLength: stripe.shardLength, shards: stripe.shardPointers)
    }

    public func reconstruct(_ stripe: StripeBuffer, missing: ShardSet, rebuild: ShardSet? = nil) throws(ErasureError) {
        precondition(stripe.code == code, "stripe built for another code")
        try reconstruct(shardLength: stripe.shardLength, shards: stripe.shardPointers, missing: missing, rebuild: rebuild)
    }
}
