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
#endif
