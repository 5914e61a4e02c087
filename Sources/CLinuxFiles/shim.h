#ifndef SHALE_CLINUXFILES_SHIM_H
#define SHALE_CLINUXFILES_SHIM_H
// Linux file calls glibc declares only under _GNU_SOURCE, which Swift's Glibc module does not set.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>

/// Starts writeback of a file range without waiting for it (sync_file_range(2), SYNC_FILE_RANGE_WRITE).
static inline int shale_start_writeback(int fd, long long offset, long long length) {
    return sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
}
/// Turns O_DIRECT on or off for an open file (fcntl F_SETFL); -1 with errno
/// EINVAL where the file system does not take direct I/O (tmpfs before Linux 6.6).
static inline int shale_set_direct_io(int fd, int on) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, on ? (flags | O_DIRECT) : (flags & ~O_DIRECT));
}
#endif
