#if canImport(Glibc)
import Glibc
#endif

/// Whole-file replacement that is either fully there or not at all: write a
/// temporary file (created exclusively), fsync it, rename it over the target,
/// fsync the directory. Shard files and the node's small state files share it.
public enum DurableFile {
    public static func replace(_ path: String, with bytes: [UInt8], permissions: mode_t = 0o644) throws(StorageError) {
        let temporary = temporaryName(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, permissions)
        guard fd >= 0 else { throw .io(path: temporary, operation: "create", errno: errno) }
        do {
            try writeAll(fd, bytes, path: temporary)
            try commit(fd: fd, temporary: temporary, to: path)
        } catch {
            unlink(temporary)
            throw error
        }
    }

    static func temporaryName(for path: String) -> String {
        var random = SystemRandomNumberGenerator()
        return path + ".tmp-" + String(UInt64.random(in: 0...UInt64.max, using: &random), radix: 16)
    }

    /// fsyncs and closes `fd`, renames `temporary` to `path`, fsyncs the directory.
    static func commit(fd: Int32, temporary: String, to path: String) throws(StorageError) {
        guard fsync(fd) == 0 else {
            let code = errno
            close(fd)
            throw .io(path: temporary, operation: "fsync", errno: code)
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw .io(path: path, operation: "rename", errno: errno) }
        try syncDirectory(of: path)
    }
}

func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(StorageError) {
    var offset = 0
    while offset < bytes.count {
        let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            throw .io(path: path, operation: "write", errno: errno)
        }
        offset += n
    }
}

func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(StorageError) {
    let result = bytes.withUnsafeBytes { raw in Result { () throws(StorageError) in try writeAll(fd, raw, path: path) } }
    try result.get()
}

func syncDirectory(of path: String) throws(StorageError) {
    var directory = path
    if let slash = directory.lastIndex(of: "/") { directory = String(directory[..<slash]) } else { directory = "." }
    let fd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw .io(path: directory, operation: "open directory", errno: errno) }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw .io(path: directory, operation: "fsync directory", errno: errno) }
}
