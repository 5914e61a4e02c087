import Foundation
import Storage
import Testing

@Suite struct ShardFileTests {
    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "shale-storage-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func write(_ data: [UInt8], chunkSize: Int, to path: String) throws {
        let format = ShardFileFormat(chunkSize: chunkSize, dataLength: data.count)
        let writer = try ShardFileWriter(path: path, format: format)
        for i in 0..<format.chunkCount {
            let start = i * chunkSize
            try data[start..<min(data.count, start + chunkSize)].withUnsafeBytes { try writer.append($0) }
        }
        try writer.commit()
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

    /// A shard of several MiB: writeback is started as it grows (so the
    /// fsync at commit has little left to wait for) and the file is whole.
    @Test func writebackStartsWhileALargeShardIsWritten() throws {
        let dir = try temporaryDirectory()
        let chunkSize = 256 << 10
        let data = (0..<(5 * (1 << 20) + 1234)).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 3) }
        let format = ShardFileFormat(chunkSize: chunkSize, dataLength: data.count)
        let writer = try ShardFileWriter(path: dir + "/big", format: format)
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
}
