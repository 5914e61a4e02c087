import Foundation
@testable import Storage
import Testing

@Suite struct ShardFileTests {
    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "shale-storage-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @discardableResult
    func write(_ data: [UInt8], chunkSize: Int, to path: String, direct: Bool = true) throws -> ShardFileWriter {
        let format = ShardFileFormat(chunkSize: chunkSize, dataLength: data.count)
        let writer = try ShardFileWriter(path: path, format: format, direct: direct)
        for i in 0..<format.chunkCount {
            let start = i * chunkSize
            try data[start..<min(data.count, start + chunkSize)].withUnsafeBytes { try writer.append($0) }
        }
        try writer.commit()
        return writer
    }

    /// `stat -f`'s name for the file system holding `path` ("tmpfs", "ext2/ext3", "xfs", …).
    func fileSystemType(of path: String) throws -> String {
        let stat = Process()
        stat.executableURL = URL(fileURLWithPath: "/usr/bin/stat")
        stat.arguments = ["-f", "-c", "%T", path]
        let out = Pipe()
        stat.standardOutput = out
        try stat.run()
        stat.waitUntilExit()
        return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func readAll(_ path: String) throws -> [UInt8] {
        let reader = try ShardFileReader(path: path)
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: reader.format.chunkSize)
        for i in 0..<reader.format.chunkCount {
            let n = try buffer.withUnsafeMutableBytes { try reader.read(chunk: i, into: $0) }
            out += buffer[0..<n]
        }
        return out
    }

    @Test(arguments: [0, 1, 63, 64, 65, 1000])
    func roundTripsAnyLength(_ length: Int) throws {
        let dir = try temporaryDirectory()
        let data = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        try write(data, chunkSize: 64, to: dir + "/s")
        #expect(try readAll(dir + "/s") == data)
        let size = try FileManager.default.attributesOfItem(atPath: dir + "/s")[.size] as! Int
        #expect(size == ShardFileFormat(chunkSize: 64, dataLength: length).fileLength)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["s"])
    }

    /// Direct writes (O_DIRECT from an aligned stage, the unaligned tail
    /// through the page cache) make the same file, byte for byte, as writes
    /// through the page cache: a file smaller than one aligned block, one
    /// ending exactly on a stage's end, and several stages with a tail.
    @Test(arguments: [1000, (1 << 20) - 32 - 4 * 4, 3 * (1 << 20) + 1234])
    func directWritesMakeTheSameFileAsThePageCache(_ length: Int) throws {
        let dir = try temporaryDirectory()
        let data = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 97 &+ 11) }
        let direct = try write(data, chunkSize: 256 << 10, to: dir + "/direct")
        let cached = try write(data, chunkSize: 256 << 10, to: dir + "/cached", direct: false)
        #expect(!cached.writesDirectly)
        // Direct I/O wherever the file system takes it: every disk file system, not tmpfs.
        #expect(direct.writesDirectly == (try fileSystemType(of: dir) != "tmpfs" && length >= 4096))
        #expect(FileManager.default.contents(atPath: dir + "/direct") == FileManager.default.contents(atPath: dir + "/cached"))
        #expect(try readAll(dir + "/direct") == data)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["cached", "direct"])
    }

    /// A direct write that cannot go on (refused by a disk with larger
    /// blocks, or cut short) leaves the rest of the file to the page cache;
    /// the file is the same. A stage filled to an unaligned length takes
    /// that path: its aligned part goes directly, the rest and everything
    /// after through the page cache.
    @Test func aDirectWriteThatCannotGoOnFallsBackToThePageCache() throws {
        let dir = try temporaryDirectory()
        let data = (0..<(600 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
        let format = ShardFileFormat(chunkSize: 64 << 10, dataLength: data.count)
        let writer = try ShardFileWriter(path: dir + "/fallback", format: format, direct: true, stageLimit: 4096 + 100)
        let startedDirect = writer.writesDirectly
        for i in 0..<format.chunkCount {
            let start = i * format.chunkSize
            try data[start..<min(data.count, start + format.chunkSize)].withUnsafeBytes { try writer.append($0) }
        }
        try writer.commit()
        #expect(!writer.writesDirectly)
        try write(data, chunkSize: 64 << 10, to: dir + "/cached", direct: false)
        #expect(FileManager.default.contents(atPath: dir + "/fallback") == FileManager.default.contents(atPath: dir + "/cached"))
        #expect(try readAll(dir + "/fallback") == data)
        if startedDirect { #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["cached", "fallback"]) }
    }

    /// A shard of several MiB written through the page cache: writeback is started as it grows (so the
    /// fsync at commit has little left to wait for) and the file is whole.
    @Test func writebackStartsWhileALargeShardIsWritten() throws {
        let dir = try temporaryDirectory()
        let chunkSize = 256 << 10
        let data = (0..<(5 * (1 << 20) + 1234)).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 3) }
        let format = ShardFileFormat(chunkSize: chunkSize, dataLength: data.count)
        let writer = try ShardFileWriter(path: dir + "/big", format: format, direct: false)
        for i in 0..<format.chunkCount {
            let start = i * chunkSize
            try data[start..<min(data.count, start + chunkSize)].withUnsafeBytes { try writer.append($0) }
        }
        #expect(writer.writebackFrom >= 4 << 20 && writer.writebackFrom < Int64(format.fileLength))
        try writer.commit()
        #expect(try readAll(dir + "/big") == data)
    }

    @Test func aFlippedByteIsACorruptChunkNeverData() throws {
        let dir = try temporaryDirectory()
        let data = [UInt8](repeating: 0xAB, count: 300)
        try write(data, chunkSize: 100, to: dir + "/s")
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: dir + "/s"))
        let format = ShardFileFormat(chunkSize: 100, dataLength: 300)
        try handle.seek(toOffset: UInt64(format.offset(ofChunk: 1) + 17))
        handle.write(Data([0xAA]))
        try handle.close()
        let reader = try ShardFileReader(path: dir + "/s")
        var buffer = [UInt8](repeating: 0, count: 100)
        #expect(try buffer.withUnsafeMutableBytes { try reader.read(chunk: 0, into: $0) } == 100)
        #expect(throws: StorageError.corruptChunk(path: dir + "/s", chunk: 1)) {
            try buffer.withUnsafeMutableBytes { try reader.read(chunk: 1, into: $0) }
        }
        #expect(try buffer.withUnsafeMutableBytes { try reader.read(chunk: 2, into: $0) } == 100)
    }

    /// A framed read gives a chunk followed by its CRC (the wire's frame) in
    /// one read, the CRC checked: a flipped byte is a corrupt chunk.
    @Test func aFramedReadIsTheChunkAndItsCheckedCRC() throws {
        let dir = try temporaryDirectory()
        let data = (0..<250).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try write(data, chunkSize: 100, to: dir + "/s")
        let reader = try ShardFileReader(path: dir + "/s")
        var frame = [UInt8](repeating: 0, count: 104)
        let last = try frame.withUnsafeMutableBytes { try reader.readFramedChunk(2, into: $0) }
        #expect(last.length == 50 && Array(frame[0..<50]) == Array(data[200..<250]))
        #expect(Array(frame[50..<54]) == withUnsafeBytes(of: last.crc.littleEndian) { Array($0) })
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: dir + "/s"))
        try handle.seek(toOffset: UInt64(ShardFileFormat(chunkSize: 100, dataLength: 250).offset(ofChunk: 1) + 3))
        handle.write(Data([0xFF]))
        try handle.close()
        #expect(throws: StorageError.corruptChunk(path: dir + "/s", chunk: 1)) {
            try frame.withUnsafeMutableBytes { try reader.readFramedChunk(1, into: $0) }
        }
    }

    @Test func abandonedAndUnfinishedWritesLeaveNothing() throws {
        let dir = try temporaryDirectory()
        let format = ShardFileFormat(chunkSize: 8, dataLength: 16)
        let writer = try ShardFileWriter(path: dir + "/a", format: format)
        try [UInt8](repeating: 1, count: 8).withUnsafeBytes { try writer.append($0) }
        writer.abandon()
        do {
            let dropped = try ShardFileWriter(path: dir + "/b", format: format)
            try [UInt8](repeating: 1, count: 8).withUnsafeBytes { try dropped.append($0) }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        #expect(throws: StorageError.notFound(path: dir + "/a")) { try ShardFileReader(path: dir + "/a") }
    }

    @Test func headersAreCheckedAndVersioned() throws {
        let format = ShardFileFormat(chunkSize: 4096, dataLength: 10_000)
        #expect(try ShardFileFormat(header: format.header()) == format)
        var wrongVersion = format.header()
        wrongVersion[8] = 2
        #expect(throws: StorageError.unsupportedFormat(2)) { try ShardFileFormat(header: wrongVersion) }
        #expect(throws: StorageError.notAShardFile) { try ShardFileFormat(header: [UInt8](repeating: 0, count: 32)) }
        let dir = try temporaryDirectory()
        #expect(FileManager.default.createFile(atPath: dir + "/short", contents: Data("SHALESH1".utf8)))
        #expect(throws: StorageError.truncated(path: dir + "/short")) { try ShardFileReader(path: dir + "/short") }
    }

    /// Stages are reused, and beyond the few kept they are unmapped, not left in malloc's arenas.
    @Test func stagesAreReusedAndTheSurplusUnmapped() {
        let pool = StagePool(keep: 1)
        let a = pool.take(), b = pool.take()
        #expect(a.count == DirectStage.bytes && Int(bitPattern: a.baseAddress!) % DirectStage.alignment == 0)
        pool.give(a)
        pool.give(b)
        #expect(pool.take().baseAddress == a.baseAddress)
        #expect(pool.take().baseAddress != a.baseAddress)
    }
}
