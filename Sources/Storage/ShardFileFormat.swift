import Erasure

/// The on-disk layout of one shard file, version 1 (Docs/architecture.md):
///
///     header (32 bytes, little-endian)
///       0  magic "SHALESH1"
///       8  format version (UInt16) = 1
///      10  reserved (UInt16) = 0
///      12  chunk size in bytes (UInt32): the shard of one block
///      16  data length in bytes (UInt64): chunks' data, CRCs excluded
///      24  reserved (UInt64) = 0
///     then, per chunk: its data (chunk size, the last one shorter), then
///     its CRC32C (UInt32).
///
/// Pure arithmetic; no I/O.
public struct ShardFileFormat: Sendable, Equatable {
    public static let magic: [UInt8] = Array("SHALESH1".utf8)
    public static let version: UInt16 = 1
    public static let headerBytes = 32
    public static let crcBytes = 4

    public let chunkSize: Int
    public let dataLength: Int

    public init(chunkSize: Int, dataLength: Int) {
        precondition(chunkSize > 0 && chunkSize <= Int(UInt32.max), "chunk size out of range")
        precondition(dataLength >= 0)
        self.chunkSize = chunkSize
        self.dataLength = dataLength
    }

    public var chunkCount: Int { (dataLength + chunkSize - 1) / chunkSize }

    /// Data bytes in chunk `index`.
    public func length(ofChunk index: Int) -> Int {
        precondition(index >= 0 && index < chunkCount)
        return min(chunkSize, dataLength - index * chunkSize)
    }

    /// File offset of chunk `index`'s data.
    public func offset(ofChunk index: Int) -> Int { Self.headerBytes + index * (chunkSize + Self.crcBytes) }

    public var fileLength: Int { Self.headerBytes + dataLength + chunkCount * Self.crcBytes }

    public func header() -> [UInt8] {
        var bytes = Self.magic
        append(&bytes, UInt64(Self.version), width: 2)
        append(&bytes, 0, width: 2)
        append(&bytes, UInt64(chunkSize), width: 4)
        append(&bytes, UInt64(dataLength), width: 8)
        append(&bytes, 0, width: 8)
        return bytes
    }

    public init(header bytes: [UInt8]) throws(StorageError) {
        guard bytes.count >= Self.headerBytes, Array(bytes[0..<8]) == Self.magic else { throw .notAShardFile }
        let version = read(bytes, at: 8, width: 2)
        guard version == UInt64(Self.version) else { throw .unsupportedFormat(Int(version)) }
        let chunk = Int(read(bytes, at: 12, width: 4))
        let length = read(bytes, at: 16, width: 8)
        guard chunk > 0, length <= UInt64(Int.max / 2) else { throw .notAShardFile }
        self.init(chunkSize: chunk, dataLength: Int(length))
    }
}

func append(_ bytes: inout [UInt8], _ value: UInt64, width: Int) {
    for i in 0..<width { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
}

func read(_ bytes: [UInt8], at offset: Int, width: Int) -> UInt64 {
    var value: UInt64 = 0
    for i in 0..<width { value |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
    return value
}

/// Why a disk operation failed; a corrupt chunk is its own case so callers
/// treat it as a missing shard, never as data.
public enum StorageError: Error, Equatable, Sendable, CustomStringConvertible {
    case notAShardFile
    case unsupportedFormat(Int)
    case corruptChunk(path: String, chunk: Int)
    case truncated(path: String)
    case io(path: String, operation: String, errno: Int32)
    case notFound(path: String)
    case database(path: String, reason: String)

    public var description: String {
        switch self {
        case .notAShardFile: return "not a shard file"
        case .unsupportedFormat(let v): return "shard file format \(v) is not supported by this version"
        case .corruptChunk(let path, let chunk): return "\(path): chunk \(chunk) fails its CRC32C"
        case .truncated(let path): return "\(path) is shorter than its header says"
        case .io(let path, let operation, let code): return "\(path): \(operation) failed (errno \(code))"
        case .notFound(let path): return "\(path) does not exist"
        case .database(let path, let reason): return "metadata store \(path): \(reason)"
        }
    }
}
