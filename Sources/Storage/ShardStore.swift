#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Names one shard file: shard `slot` of object version `versionID`.
public struct ShardKey: Hashable, Sendable, CustomStringConvertible {
    public static let versionIDHexDigits = 32
    public let versionID: String
    public let slot: Int

    /// nil unless `versionID` is 32 lowercase hex digits and the slot is 0...254:
    /// the parts become a file name, so nothing else may reach the disk.
    public init?(versionID: String, slot: Int) {
        guard versionID.utf8.count == Self.versionIDHexDigits,
              versionID.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
              (0..<255).contains(slot) else { return nil }
        self.versionID = versionID
        self.slot = slot
    }

    public var description: String { "\(versionID).\(slot)" }
}

/// The shard files of one node under `<data_dir>/shards/<v0v1>/<v2v3>/<version>.<slot>`:
/// two levels of 256 directories keep any one directory small.
public struct ShardStore: Sendable {
    public let root: String

    public init(dataDir: String) {
        root = dataDir + "/shards"
    }

    public func directory(of key: ShardKey) -> String {
        let v = key.versionID.utf8
        let a = String(decoding: v.prefix(2), as: UTF8.self)
        let b = String(decoding: v.dropFirst(2).prefix(2), as: UTF8.self)
        return "\(root)/\(a)/\(b)"
    }

    public func path(of key: ShardKey) -> String { "\(directory(of: key))/\(key)" }

    /// A writer for a new shard file; its directories are made (and made durable) on demand.
    public func writer(for key: ShardKey, format: ShardFileFormat) throws(StorageError) -> ShardFileWriter {
        try makeDirectories(directory(of: key))
        return try ShardFileWriter(path: path(of: key), format: format)
    }

    public func reader(for key: ShardKey) throws(StorageError) -> ShardFileReader {
        try ShardFileReader(path: path(of: key))
    }

    /// Whether a shard file is here with a valid header and the length its
    /// header promises: the cheap check a rebuild plans with (the chunks'
    /// CRCs are read by verify, scrub and every read).
    public func isWhole(_ key: ShardKey) -> Bool {
        guard let reader = try? reader(for: key) else { return false }
        var info = stat()
        guard fstat(reader.fd, &info) == 0 else { return false }
        return Int(info.st_size) == reader.format.fileLength
    }

    /// Reads a shard file whole, every chunk's CRC32C checked (verify and scrub).
    public func scan(_ key: ShardKey) -> ShardScan {
        let reader: ShardFileReader
        do { reader = try self.reader(for: key) } catch {
            switch error {
            case .notFound: return .missing
            case .truncated: return .truncated(chunksRead: 0, bytes: 0)
            default: return .damaged(chunksRead: 0, bytes: 0, reason: "\(error)")
            }
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(reader.format.chunkSize, 1), alignment: 64)
        defer { buffer.deallocate() }
        var bytes: UInt64 = 0
        for chunk in 0..<reader.format.chunkCount {
            do { bytes += UInt64(try reader.readChunk(chunk, into: buffer).length) } catch {
                if case .truncated = error { return .truncated(chunksRead: chunk, bytes: bytes) }
                return .damaged(chunksRead: chunk + 1, bytes: bytes, reason: "\(error)")
            }
        }
        return .intact(chunks: reader.format.chunkCount, bytes: bytes)
    }

    /// Disk space the shard files take (allocated blocks, not lengths), by a
    /// walk of the shard directories: `shale status`'s figure per node.
    public func usedBytes() -> UInt64 {
        var total: UInt64 = 0
        var info = stat()
        for entry in files() where stat(entry.path, &info) == 0 {
            total += UInt64(info.st_blocks) * 512
        }
        return total
    }

    /// Every file under the shard directories, one at a time (a scrub's sweep).
    public func files() -> ShardDirectoryWalk { ShardDirectoryWalk(root: root) }

    /// Removes a shard file; a missing one is not an error.
    public func delete(_ key: ShardKey) throws(StorageError) {
        let path = path(of: key)
        guard unlink(path) == 0 || errno == ENOENT else { throw .io(path: path, operation: "unlink", errno: errno) }
    }

    /// mkdir -p, fsyncing each parent whose entries changed so a new shard's
    /// path survives a crash along with the shard.
    private func makeDirectories(_ path: String) throws(StorageError) {
        if access(path, F_OK) == 0 { return }
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectories(String(path[..<slash]))
        }
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw .io(path: path, operation: "mkdir", errno: errno) }
        try syncDirectory(of: path)
    }
}

/// What reading a shard file whole found.
public enum ShardScan: Sendable, Equatable {
    case intact(chunks: Int, bytes: UInt64)
    case missing
    /// Shorter than its header says, or without a whole header.
    case truncated(chunksRead: Int, bytes: UInt64)
    /// A chunk failed its CRC32C, or the header is not a shard file's.
    case damaged(chunksRead: Int, bytes: UInt64, reason: String)

    /// Chunks and bytes read before the scan ended.
    public var read: (chunks: Int, bytes: UInt64) {
        switch self {
        case .intact(let chunks, let bytes), .truncated(let chunks, let bytes), .damaged(let chunks, let bytes, _): return (chunks, bytes)
        case .missing: return (0, 0)
        }
    }
}

/// A file found under the shard directories.
public struct ShardDirectoryEntry: Sendable {
    public let path: String
    /// Its shard, when the name is one's.
    public let key: ShardKey?
    /// A write's temporary file (`*.tmp-*`).
    public let temporary: Bool
    public let modifiedMillis: UInt64
}

/// The files under the shard directories, read from the directory as
/// they are asked for (never listed whole in memory).
public struct ShardDirectoryWalk: Sequence, IteratorProtocol {
    private let root: String
    private let walker: FileManager.DirectoryEnumerator?

    init(root: String) {
        self.root = root
        walker = FileManager.default.enumerator(atPath: root)
    }

    public mutating func next() -> ShardDirectoryEntry? {
        while let relative = walker?.nextObject() as? String {
            let path = root + "/" + relative
            var info = stat()
            guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            let name = relative.split(separator: "/").last.map(String.init) ?? relative
            let temporary = name.contains(".tmp-")
            var key: ShardKey?
            if !temporary, let dot = name.lastIndex(of: "."), let slot = Int(name[name.index(after: dot)...]) {
                key = ShardKey(versionID: String(name[..<dot]), slot: slot)
            }
            return ShardDirectoryEntry(path: path, key: key, temporary: temporary,
                                       modifiedMillis: UInt64(info.st_mtim.tv_sec) * 1000 + UInt64(info.st_mtim.tv_nsec / 1_000_000))
        }
        return nil
    }
}
