/* SPDX-License-Identifier: MIT */
/*
 * demo-ping.c - the demo.Ping message type (see demo-ping.h): a uint64_t
 * in msgpack, both ways.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "demo-ping.h"

uint64_t *
demo_u64_new(uint64_t v)
{
	uint64_t *p = malloc(sizeof(*p));

	if (p)
		*p = v;
	return p;
}

static int
u64_encode(const void *payload, void **ret_buf, size_t *ret_len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	if (!payload)
		return -EINVAL;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (msgpack_pack_uint64(&pk, *(const uint64_t *)payload) != 0) {
		msgpack_sbuffer_destroy(&sb);
		return -ENOMEM;
	}
	*ret_len = sb.size;
	*ret_buf = msgpack_sbuffer_release(&sb); /* malloc'd, now ours */
	return 0;
}

/* buf holds one msgpack object, already bounds-checked by libagent; it
 * still comes from another process, so check its type. */
static int
u64_decode(const void *buf, size_t len, void **ret_payload)
{
	msgpack_unpacked u;
	size_t off = 0;
	uint64_t *p;
	int r = -EBADMSG;

	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, buf, len, &off) == MSGPACK_UNPACK_SUCCESS &&
	    off == len && u.data.type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		p = demo_u64_new(u.data.via.u64);
		r = p ? 0 : -ENOMEM;
		if (p)
			*ret_payload = p;
	}
	msgpack_unpacked_destroy(&u);
	return r;
}

const struct agent_msg_type demo_ping = {
	.name = "demo.Ping",
	.free = free,
	.encode = u64_encode,
	.decode = u64_decode,
	.reply_free = free,
	.reply_encode = u64_encode,
	.reply_decode = u64_decode,
};

void
demo_setup_output(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}
