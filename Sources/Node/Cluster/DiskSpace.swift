#if canImport(Glibc)
import Glibc
#endif

enum DiskSpace {
    /// Bytes an unprivileged writer can still use on the filesystem of `path`.
    static func available(at path: String) -> UInt64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }
}
