/* SPDX-License-Identifier: MIT */
/*
 * proto-internal.h - helpers shared by the payload files of libproto only.
 */
#ifndef PROTO_INTERNAL_H
#define PROTO_INTERNAL_H

#include <errno.h>
#include <string.h>

#include "proto.h"
#include "proto-read.h"

/* msgpack_pack_* return 0 or -1 (a failed write: the builder knows why). */
#define PK(expr)                                                               \
	do {                                                                   \
		if ((expr) < 0)                                                \
			return -ENOMEM;                                        \
	} while (0)

#define PKR(expr)                                                              \
	do {                                                                   \
		int _r_ = (expr);                                              \
		if (_r_ < 0)                                                   \
			return _r_;                                            \
	} while (0)

/* Every payload error is reported as -EBADMSG (see PROTOCOL.md). */
static inline int
proto__bad(struct proto_reader *rd)
{
	if (!rd->err)
		rd->err = -EBADMSG;
	return -EBADMSG;
}

/* Finish a payload: poisoned or trailing bytes -> -EBADMSG. */
static inline int
proto__end(struct proto_reader *rd)
{
	return proto_read_end(rd);
}

/* Check a string before packing it: at most max bytes. */
static inline int
proto__check_str(const char *s, size_t len, size_t max)
{
	if (!s && len > 0)
		return -EINVAL;
	if (len > max)
		return -EMSGSIZE;
	return 0;
}

#endif
