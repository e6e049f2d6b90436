/* SPDX-License-Identifier: MIT */
/*
 * macro.h - small helpers shared by every component: cleanup attributes,
 * ownership transfer, array sizes, printf checking.
 */
#ifndef COMMON_MACRO_H
#define COMMON_MACRO_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f)	__attribute__((cleanup(f)))
#define _unused_	__attribute__((unused))
#define _printf_(a, b)	__attribute__((format(printf, a, b)))
#define _noreturn_	__attribute__((noreturn))
#define _likely_(x)	__builtin_expect(!!(x), 1)
#define _unlikely_(x)	__builtin_expect(!!(x), 0)

#define ELEMENTSOF(x)	(sizeof(x) / sizeof((x)[0]))
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#define MAX(a, b)	((a) > (b) ? (a) : (b))

/* Take ownership of a pointer or fd out of a cleanup variable. */
#define TAKE_PTR(p)                                                     \
	({                                                              \
		__typeof__(p) _p_ = (p);                                \
		(p) = NULL;                                             \
		_p_;                                                    \
	})
#define TAKE_FD(fd)                                                     \
	({                                                              \
		int _fd_ = (fd);                                        \
		(fd) = -1;                                              \
		_fd_;                                                   \
	})

/* Defines func##p(type *p) that calls func(*p) when *p is non-NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                         \
	static inline void func##p(type *p)                             \
	{                                                               \
		if (*p)                                                 \
			func(*p);                                       \
	}

static inline void
freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

/* Close an fd, keeping errno; returns -1 so "fd = safe_close(fd)" works. */
static inline int
safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		(void)close(fd);
		errno = saved;
	}
	return -1;
}

static inline void
closep(int *fd)
{
	safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* Return -errno of the last failed libc call, never 0. */
static inline int
negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

#endif
