/* SPDX-License-Identifier: MIT */
/* fd-util.h - file descriptor helpers. */
#ifndef COMMON_FD_UTIL_H
#define COMMON_FD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Set or clear O_NONBLOCK / FD_CLOEXEC. 0 or -errno. */
int fd_set_nonblock(int fd, bool on);
int fd_set_cloexec(int fd, bool on);

/* Write all of buf, retrying on EINTR. 0 or -errno. */
int write_all(int fd, const void *buf, size_t len);

/* mkdir -p with the given mode for every created level. 0 or -errno. */
int mkdir_p(const char *path, mode_t mode);

#endif
