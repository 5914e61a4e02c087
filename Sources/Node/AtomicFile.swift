import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Whole-file writes that are either fully there or not at all: write a
/// temporary file, fsync it, rename it over the target, fsync the directory.
enum AtomicFile {
    static func write(_ data: Data, to path: String, permissions: mode_t = 0o644) throws(NodeError) {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, permissions)
        guard fd >= 0 else { throw .storage("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var ok = data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; return false }
                offset += n
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        let writeErrno = errno
        close(fd)
        guard ok else {
            unlink(temporary)
            throw .storage("cannot write \(path): \(String(cString: strerror(writeErrno)))")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .storage("cannot rename into \(path): \(reason)")
        }
        let dirFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 { fsync(dirFD); close(dirFD) }
    }

    static func createDirectory(_ path: String) throws(NodeError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .storage("cannot create directory \(path): \((error as NSError).localizedDescription)")
        }
    }
}
