/* SPDX-License-Identifier: MIT */
/*
 * proto-envelope.c - encode envelopes straight into an nng_msg, and decode
 * and validate them from raw bytes.
 */
#include <errno.h>
#include <string.h>

#include "proto.h"
#include "proto-read.h"

#define PROTO_ENV_FIELDS	6
#define PROTO_F_KNOWN		(PROTO_F_BATCH | PROTO_F_MORE)

int
proto_msg_append(nng_msg *m, const void *buf, size_t len)
{
	size_t need;

	if (len > PROTO_MSG_MAX || nng_msg_len(m) > PROTO_MSG_MAX - len)
		return -EMSGSIZE;
	/* nng 1.5 grows a message to the exact size on every append (a new
	 * zeroed buffer and a copy), which makes building a large message
	 * quadratic: reserve geometrically instead. */
	need = nng_msg_len(m) + len;
	if (need > nng_msg_capacity(m)) {
		size_t cap = 2 * nng_msg_capacity(m);

		if (cap < 256)
			cap = 256;
		if (cap < need)
			cap = need;
		if (cap > PROTO_MSG_MAX)
			cap = PROTO_MSG_MAX;
		if (nng_msg_reserve(m, cap) != 0)
			return -ENOMEM;
	}
	return proto_errno_from_nng(nng_msg_append(m, buf, len));
}

/* msgpack_packer write callback: append to the builder's message. */
static int
builder_write(void *data, const char *buf, size_t len)
{
	struct proto_builder *b = data;
	int r;

	if (b->err)
		return -1;
	r = proto_msg_append(b->msg, buf, len);
	if (r < 0) {
		b->err = r;
		return -1;
	}
	return 0;
}

static int
builder_start(struct proto_builder *b, uint32_t type, uint32_t flags,
	      uint64_t corr, const char *sender)
{
	size_t slen = sender ? strlen(sender) : 0;

	msgpack_packer_init(&b->pk, b, builder_write);
	msgpack_pack_array(&b->pk, PROTO_ENV_FIELDS);
	msgpack_pack_uint32(&b->pk, PROTO_VERSION);
	msgpack_pack_uint32(&b->pk, type);
	msgpack_pack_uint32(&b->pk, flags);
	msgpack_pack_uint64(&b->pk, corr);
	proto_pack_str(&b->pk, sender, slen);
	return b->err;
}

static int
check_header(uint32_t type, uint32_t flags, const char *sender)
{
	if (!proto_msgtype_to_string(type))
		return -EINVAL;
	if (flags & ~PROTO_F_KNOWN)
		return -EINVAL;
	if (sender && sender[0] && !proto_name_is_valid(sender, strlen(sender)))
		return -EINVAL;
	return 0;
}

int
proto_builder_begin(struct proto_builder *b, uint32_t type, uint32_t flags,
		    uint64_t corr, const char *sender)
{
	nng_msg *msg = NULL;
	int r, rv;

	memset(b, 0, sizeof(*b));
	r = check_header(type, flags, sender);
	if (r < 0)
		return r;
	rv = nng_msg_alloc(&msg, 0);
	if (rv != 0)
		return proto_errno_from_nng(rv);
	b->msg = msg;
	b->owned = true;
	b->start = 0;
	r = builder_start(b, type, flags, corr, sender);
	if (r < 0) {
		proto_builder_abort(b);
		return r;
	}
	return 0;
}

int
proto_builder_begin_append(struct proto_builder *b, nng_msg *msg,
			   uint32_t type, uint32_t flags, uint64_t corr,
			   const char *sender)
{
	int r;

	memset(b, 0, sizeof(*b));
	if (!msg)
		return -EINVAL;
	r = check_header(type, flags, sender);
	if (r < 0)
		return r;
	b->msg = msg;
	b->owned = false;
	b->start = nng_msg_len(msg);
	r = builder_start(b, type, flags, corr, sender);
	if (r < 0) {
		proto_builder_abort(b);
		return r;
	}
	return 0;
}

int
proto_builder_finish(struct proto_builder *b, nng_msg **ret)
{
	struct proto_env env;
	size_t off = 0;
	int r;

	if (!b->msg)
		return -EINVAL;
	r = b->err;
	if (r == 0) {
		/* The caller must have packed exactly one valid payload. */
		const uint8_t *body = nng_msg_body(b->msg);
		size_t len = nng_msg_len(b->msg) - b->start;
		r = proto_env_decode_next(body + b->start, len, &off, &env);
		if (r == 0 && off != len)
			r = -EINVAL;
		else if (r == -EBADMSG || r == -EPROTONOSUPPORT)
			r = -EINVAL;
	}
	if (r < 0) {
		proto_builder_abort(b);
		return r;
	}
	if (ret)
		*ret = b->msg;
	else if (b->owned)
		nng_msg_free(b->msg); /* nobody wants it */
	b->msg = NULL;
	return 0;
}

void
proto_builder_abort(struct proto_builder *b)
{
	if (!b->msg)
		return;
	if (b->owned)
		nng_msg_free(b->msg);
	else if (nng_msg_len(b->msg) > b->start)
		nng_msg_chop(b->msg, nng_msg_len(b->msg) - b->start);
	b->msg = NULL;
}

int
proto_pack_str(msgpack_packer *pk, const char *s, size_t len)
{
	if (!s)
		len = 0;
	if (len > UINT32_MAX)
		return -EMSGSIZE;
	if (msgpack_pack_str(pk, len) < 0)
		return -ENOMEM;
	if (len > 0 && msgpack_pack_str_body(pk, s, len) < 0)
		return -ENOMEM;
	return 0;
}

int
proto_pack_cstr(msgpack_packer *pk, const char *s)
{
	return proto_pack_str(pk, s, s ? strlen(s) : 0);
}

int
proto_pack_raw(msgpack_packer *pk, const void *obj, size_t len)
{
	if (!obj || len == 0)
		return msgpack_pack_nil(pk) < 0 ? -ENOMEM : 0;
	if (proto_validate_object(obj, len) < 0)
		return -EINVAL;
	if (pk->callback(pk->data, obj, len) < 0)
		return -ENOMEM;
	return 0;
}

int
proto_env_decode_next(const void *buf, size_t len, size_t *offset,
		      struct proto_env *ret)
{
	struct proto_reader rd;
	struct proto_env env = { 0 };
	uint32_t count;
	const char *sender;
	const void *payload;
	int r;

	if (len > PROTO_MSG_MAX)
		return -EMSGSIZE;
	if (!buf || !offset || *offset >= len)
		return -EBADMSG;

	proto_reader_init(&rd, (const uint8_t *)buf + *offset, len - *offset);
	/*
	 * The version is the first element in every version of the protocol,
	 * so it is checked before the length of the envelope: a newer peer
	 * may have a different number of fields.
	 */
	if (proto_read_array(&rd, &count) < 0 || count < 1)
		return -EBADMSG;
	if (proto_read_u32(&rd, &env.version) < 0)
		return -EBADMSG;
	if (env.version != PROTO_VERSION) {
		if (ret) {
			memset(ret, 0, sizeof(*ret));
			ret->version = env.version;
		}
		return -EPROTONOSUPPORT;
	}
	if (count != PROTO_ENV_FIELDS)
		return -EBADMSG;
	proto_read_u32(&rd, &env.type);
	proto_read_u32(&rd, &env.flags);
	proto_read_u64(&rd, &env.corr);
	proto_read_str(&rd, &sender, &env.sender_len, PROTO_NAME_MAX);
	proto_read_raw(&rd, &payload, &env.payload_len);
	if (rd.err)
		return -EBADMSG;
	if (!proto_msgtype_to_string(env.type))
		return -EBADMSG;
	if (env.flags & ~PROTO_F_KNOWN)
		return -EBADMSG;
	if (env.sender_len > 0 &&
	    !proto_name_is_valid(sender, env.sender_len))
		return -EBADMSG;
	env.sender = sender;
	env.payload = payload;

	r = 0;
	*offset = len - proto_reader_left(&rd);
	if (ret)
		*ret = env;
	return r;
}

int
proto_env_decode(const void *buf, size_t len, struct proto_env *ret)
{
	struct proto_env env;
	size_t off = 0;
	int r;

	r = proto_env_decode_next(buf, len, &off, &env);
	if (r == -EPROTONOSUPPORT && ret) {
		memset(ret, 0, sizeof(*ret));
		ret->version = env.version;
	}
	if (r < 0)
		return r;
	if (off != len)
		return -EBADMSG;
	if (ret)
		*ret = env;
	return 0;
}

int
proto_env_decode_msg(nng_msg *msg, struct proto_env *ret)
{
	if (!msg)
		return -EINVAL;
	return proto_env_decode(nng_msg_body(msg), nng_msg_len(msg), ret);
}

int
proto_build(uint32_t type, uint32_t flags, uint64_t corr, const char *sender,
	    proto_pack_fn pack, const void *arg, nng_msg **ret)
{
	struct proto_builder b;
	int r;

	r = proto_builder_begin(&b, type, flags, corr, sender);
	if (r < 0)
		return r;
	r = pack(&b.pk, arg);
	if (r < 0) {
		proto_builder_abort(&b);
		return r;
	}
	return proto_builder_finish(&b, ret);
}
