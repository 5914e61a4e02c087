import CLinuxFiles
import Erasure
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Writes one shard file chunk by chunk, durably: data goes to a temporary
/// name, is fsynced, renamed into place, and the directory is fsynced, so a
/// crash leaves either the whole file or none under its name.
///
/// Where the file system takes it, the file is written with O_DIRECT from an
/// aligned staging buffer: the kernel's copy of every shard byte into the
/// page cache (a third of one node's CPU in a 64 MiB PUT) becomes one copy
/// into the stage, and the disk writes while the body still streams in. The
/// tail that does not fill an aligned block is written through the page
/// cache. Elsewhere (tmpfs) the file is written through the page cache with
/// writeback started every MiB.
public final class ShardFileWriter {
    public let path: String
    let temporaryPath: String
    let format: ShardFileFormat
    let fd: Int32
    var nextChunk = 0
    var finished = false
    /// Bytes staged for the next direct write; nil when writing through the page cache.
    var stage: DirectStage?
    /// Where the part of the file not yet handed to writeback starts.
    public private(set) var writebackFrom: Int64 = 0

    /// Writeback is started each time this much has been written: the
    /// fsync at `commit` then waits for the last stretch, not the whole
    /// file, and the disk writes while the body still streams in (one
    /// node's 64 MiB PUT was bounded by that fsync: 310 MiB/s on disk,
    /// 456 with the data on tmpfs).
    static let writebackBytes: Int64 = 1 << 20

    /// Whether this writer bypasses the page cache (O_DIRECT); false from
    /// the start on file systems without direct I/O, and from a refused
    /// direct write on.
    public private(set) var writesDirectly: Bool

    public convenience init(path: String, format: ShardFileFormat, direct: Bool = true) throws(StorageError) {
        try self.init(path: path, format: format, direct: direct, stageLimit: DirectStage.bytes)
    }

    /// `stageLimit`: how full the stage gets before it is written (tests
    /// make it unaligned to see a refused direct write fall back).
    init(path: String, format: ShardFileFormat, direct: Bool, stageLimit: Int) throws(StorageError) {
        self.path = path
        self.format = format
        temporaryPath = DurableFile.temporaryName(for: path)
        let temporary = temporaryPath
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: temporary, operation: "create", errno: errno) }
        writesDirectly = direct && format.fileLength >= DirectStage.alignment && shale_set_direct_io(fd, 1) == 0
        if writesDirectly {
            stage = DirectStage(limit: stageLimit)
        }
        self.fd = fd
        let header = format.header()
        do { try header.withUnsafeBytes { raw in Result { () throws(StorageError) in try put(raw) } }.get() } catch {
            close(fd); unlink(temporary)
            throw error
        }
    }

    /// Appends the next chunk; its length must be what the format says.
    public func append(_ chunk: UnsafeRawBufferPointer) throws(StorageError) {
        try append(chunk, crc: CRC32C.checksum(chunk))
    }

    /// Appends the next chunk whose CRC32C the caller already has (computed
    /// as it arrived); the CRC is written as given and checked on every read.
    public func append(_ chunk: UnsafeRawBufferPointer, crc checksum: UInt32) throws(StorageError) {
        precondition(!finished && nextChunk < format.chunkCount, "more chunks than the format holds")
        precondition(chunk.count == format.length(ofChunk: nextChunk), "chunk \(nextChunk) has the wrong length")
        let crc = checksum.littleEndian
        try put(chunk)
        try withUnsafeBytes(of: crc) { raw in Result { () throws(StorageError) in try put(raw) } }.get()
        nextChunk += 1
        guard stage == nil else { return }
        let written = Int64(min(format.offset(ofChunk: nextChunk), format.fileLength))
        if written - writebackFrom >= Self.writebackBytes {
            // Advisory: a failure here shows again, and is reported, at the fsync.
            _ = shale_start_writeback(fd, writebackFrom, written - writebackFrom)
            writebackFrom = written
        }
    }

    private func put(_ bytes: UnsafeRawBufferPointer) throws(StorageError) {
        var rest = bytes
        while !rest.isEmpty {
            guard stage != nil else { return try writeAll(fd, rest, path: temporaryPath) }
            rest = stage!.take(rest)
            if stage!.isFull { try flushStage(last: false) }
        }
    }

    /// Writes the stage: whole aligned blocks directly, and at the file's
    /// end the unaligned tail through the page cache. A direct write refused
    /// (EINVAL: a disk whose blocks are larger than the alignment) or cut
    /// short turns direct I/O off for the rest of the file; the write goes on.
    private func flushStage(last: Bool) throws(StorageError) {
        guard let staged = stage else { return }
        var from = 0
        let aligned = DirectStage.alignedDown(staged.count)
        while from < aligned {
            let n = write(fd, staged.bytes.baseAddress! + from, aligned - from)
            if n > 0 { from += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EINVAL { break }
            throw .io(path: temporaryPath, operation: "write", errno: n < 0 ? errno : EIO)
        }
        if from < staged.count {
            guard shale_set_direct_io(fd, 0) == 0 else { throw .io(path: temporaryPath, operation: "fcntl", errno: errno) }
            try writeAll(fd, UnsafeRawBufferPointer(rebasing: staged.bytes[from...]), path: temporaryPath)
            releaseStage()
            if !last { writesDirectly = false }
            return
        }
        stage!.count = 0
    }

    /// Makes the file durable under its name.
    public func commit() throws(StorageError) {
        precondition(nextChunk == format.chunkCount, "shard file committed before its last chunk")
        finished = true
        defer { releaseStage() }
        if stage != nil {
            do { try flushStage(last: true) } catch {
                close(fd)
                unlink(temporaryPath)
                throw error
            }
        }
        do { try DurableFile.commit(fd: fd, temporary: temporaryPath, to: path) } catch {
            unlink(temporaryPath)
            throw error
        }
    }

    /// Drops a write that will not complete.
    public func abandon() {
        guard !finished else { return }
        finished = true
        close(fd)
        unlink(temporaryPath)
        releaseStage()
    }

    /// The stage goes as soon as the file is done with, whoever holds the writer after.
    private func releaseStage() {
        stage?.release()
        stage = nil
    }

    deinit {
        if !finished { close(fd); unlink(temporaryPath) }
        releaseStage()
    }
}

/// An aligned buffer gathering a shard file's bytes for O_DIRECT writes.
struct DirectStage {
    /// Offsets, lengths and the buffer's address are multiples of this (the
    /// largest logical block size of the disks Shale expects).
    static let alignment = 4096
    static let bytes = 512 << 10

    let buffer: UnsafeMutableRawBufferPointer
    /// Bytes gathered before a write: the whole buffer, but for tests.
    let limit: Int
    var count = 0

    init(limit: Int = bytes) {
        precondition(limit > 0 && limit <= Self.bytes)
        buffer = StagePool.shared.take()
        self.limit = limit
    }

    static func alignedDown(_ n: Int) -> Int { n / alignment * alignment }

    var isFull: Bool { count == limit }
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[0..<count]) }

    /// Copies as much of `bytes` as fits; returns what did not.
    mutating func take(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let n = min(bytes.count, limit - count)
        (buffer.baseAddress! + count).copyMemory(from: bytes.baseAddress!, byteCount: n)
        count += n
        return UnsafeRawBufferPointer(rebasing: bytes[n...])
    }

    func release() { StagePool.shared.give(buffer) }
}

/// Stages are mapped pages of their own, reused: from malloc, 1 MiB blocks
/// freed by many threads raised glibc's mmap threshold and stayed in its
/// arenas (one node's peak RSS went from 85 to 358 MiB under four 64 MiB
/// PUT streams). A few free stages are kept; the rest are unmapped.
final class StagePool: Sendable {
    static let shared = StagePool(keep: 8)
    let keep: Int
    /// Addresses, since pointers are not Sendable; each names a mapping only this pool holds.
    private let free = Mutex<[UInt]>([])

    init(keep: Int) { self.keep = keep }

    func take() -> UnsafeMutableRawBufferPointer {
        if let reused = free.withLock({ $0.popLast() }) {
            return UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: reused), count: DirectStage.bytes)
        }
        guard let mapped = mmap(nil, DirectStage.bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mapped != MAP_FAILED else {
            fatalError("cannot map a \(DirectStage.bytes)-byte write stage: errno \(errno)")
        }
        return UnsafeMutableRawBufferPointer(start: mapped, count: DirectStage.bytes)
    }

    func give(_ buffer: UnsafeMutableRawBufferPointer) {
        let kept = free.withLock { stages in
            guard stages.count < keep else { return false }
            stages.append(UInt(bitPattern: buffer.baseAddress!))
            return true
        }
        if !kept { munmap(buffer.baseAddress, buffer.count) }
    }
}

/// Reads chunks of a shard file, checking each one's CRC32C: a chunk that
/// fails is an error, never data.
public final class ShardFileReader {
    public let path: String
    public let format: ShardFileFormat
    let fd: Int32

    public init(path: String) throws(StorageError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw errno == ENOENT ? .notFound(path: path) : .io(path: path, operation: "open", errno: errno)
        }
        var header = [UInt8](repeating: 0, count: ShardFileFormat.headerBytes)
        let n = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n == ShardFileFormat.headerBytes else { close(fd); throw .truncated(path: path) }
        do { format = try ShardFileFormat(header: header) } catch { close(fd); throw error }
        self.fd = fd
    }

    /// Reads chunk `index` into `buffer` (at least the chunk's length); returns its length.
    public func read(chunk index: Int, into buffer: UnsafeMutableRawBufferPointer) throws(StorageError) -> Int {
        try readChunk(index, into: buffer).length
    }

    /// Reads chunk `index` into `buffer`; returns its length and its CRC32C,
    /// already checked (so a caller passing the chunk on need not compute it again).
    public func readChunk(_ index: Int, into buffer: UnsafeMutableRawBufferPointer) throws(StorageError) -> (length: Int, crc: UInt32) {
        let length = format.length(ofChunk: index)
        precondition(buffer.count >= length, "buffer smaller than the chunk")
        let offset = format.offset(ofChunk: index)
        var crc: UInt32 = 0
        try read(length, into: buffer.baseAddress, at: offset)
        try read(4, into: &crc, at: offset + length)
        return (length, try checked(UnsafeRawBufferPointer(rebasing: buffer[0..<length]), stored: UInt32(littleEndian: crc), chunk: index))
    }

    /// Reads chunk `index` followed by its stored CRC32C into `buffer` (at
    /// least the chunk's length + 4) in one read — on disk as on the wire a
    /// chunk is followed by its CRC, so the bytes are a ready frame; the
    /// CRC is checked. Returns the chunk's length and CRC.
    public func readFramedChunk(_ index: Int, into buffer: UnsafeMutableRawBufferPointer) throws(StorageError) -> (length: Int, crc: UInt32) {
        let length = format.length(ofChunk: index)
        precondition(buffer.count >= length + ShardFileFormat.crcBytes, "buffer smaller than the chunk and its CRC")
        try read(length + ShardFileFormat.crcBytes, into: buffer.baseAddress, at: format.offset(ofChunk: index))
        let stored = UInt32(littleEndian: UnsafeRawBufferPointer(buffer).loadUnaligned(fromByteOffset: length, as: UInt32.self))
        return (length, try checked(UnsafeRawBufferPointer(rebasing: buffer[0..<length]), stored: stored, chunk: index))
    }

    /// Reads exactly `count` bytes at `offset`; fewer is a truncated file.
    private func read(_ count: Int, into destination: UnsafeMutableRawPointer?, at offset: Int) throws(StorageError) {
        let got = pread(fd, destination, count, off_t(offset))
        guard got == count else {
            if got < 0 { throw .io(path: path, operation: "read", errno: errno) }
            throw .truncated(path: path)
        }
    }

    /// `stored` when it is the chunk's CRC32C; else the chunk is corrupt.
    private func checked(_ chunk: UnsafeRawBufferPointer, stored: UInt32, chunk index: Int) throws(StorageError) -> UInt32 {
        guard CRC32C.checksum(chunk) == stored else { throw .corruptChunk(path: path, chunk: index) }
        return stored
    }

    deinit { close(fd) }
}
