/* SPDX-License-Identifier: MIT */
/*
 * test-u64.h - a uint64 payload packed as one msgpack integer, for the
 * message types of libagent's remote tests (encode, decode).
 */
#ifndef TEST_U64_H
#define TEST_U64_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include <msgpack.h>

static inline int
u64_encode(const void *p, void **buf, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_uint64(&pk, *(const uint64_t *)p);
	*buf = sb.data;
	*len = sb.size;
	return 0;
}

static inline int
u64_decode(const void *buf, size_t len, void **ret)
{
	msgpack_unpacked u;
	size_t off = 0;
	uint64_t *v;

	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    off != len || u.data.type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		msgpack_unpacked_destroy(&u);
		return -EBADMSG;
	}
	v = malloc(sizeof(*v));
	*v = u.data.via.u64;
	msgpack_unpacked_destroy(&u);
	*ret = v;
	return 0;
}

#endif
