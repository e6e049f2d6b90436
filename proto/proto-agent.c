/* SPDX-License-Identifier: MIT */
/*
 * proto-agent.c - payloads between agents.
 */
#include "proto-internal.h"
#include "proto-agent.h"

static int
check_kind(const char *kind, size_t len)
{
	return proto_name_is_valid(kind, len) ? 0 : -EINVAL;
}

static int
read_kind(struct proto_reader *rd, const char **ret, size_t *ret_len)
{
	if (proto_read_str(rd, ret, ret_len, PROTO_NAME_MAX) < 0)
		return -EBADMSG;
	if (!proto_name_is_valid(*ret, *ret_len))
		return proto__bad(rd);
	return 0;
}

int
proto_event_pack(msgpack_packer *pk, const struct proto_event *m)
{
	PKR(check_kind(m->kind, m->kind_len));
	if (m->body && m->body_len &&
	    proto_validate_object(m->body, m->body_len) < 0)
		return -EINVAL;
	PK(msgpack_pack_array(pk, 2));
	PKR(proto_pack_str(pk, m->kind, m->kind_len));
	return proto_pack_raw(pk, m->body, m->body_len);
}

int
proto_event_unpack(struct proto_reader *rd, struct proto_event *m)
{
	struct proto_event v = { 0 };

	proto_read_array_n(rd, 2);
	read_kind(rd, &v.kind, &v.kind_len);
	proto_read_raw(rd, &v.body, &v.body_len);
	if (proto__end(rd) < 0)
		return -EBADMSG;
	*m = v;
	return 0;
}

int
proto_request_pack(msgpack_packer *pk, const struct proto_request *m)
{
	PKR(check_kind(m->kind, m->kind_len));
	PKR(proto__check_str(m->reply_to, m->reply_to_len, PROTO_URL_MAX));
	if (m->body && m->body_len &&
	    proto_validate_object(m->body, m->body_len) < 0)
		return -EINVAL;
	PK(msgpack_pack_array(pk, 4));
	PKR(proto_pack_str(pk, m->kind, m->kind_len));
	PKR(proto_pack_str(pk, m->reply_to, m->reply_to_len));
	PK(msgpack_pack_uint32(pk, m->timeout_ms));
	return proto_pack_raw(pk, m->body, m->body_len);
}

int
proto_request_unpack(struct proto_reader *rd, struct proto_request *m)
{
	struct proto_request v = { 0 };

	proto_read_array_n(rd, 4);
	read_kind(rd, &v.kind, &v.kind_len);
	proto_read_str(rd, &v.reply_to, &v.reply_to_len, PROTO_URL_MAX);
	proto_read_u32(rd, &v.timeout_ms);
	proto_read_raw(rd, &v.body, &v.body_len);
	if (!rd->err && memchr(v.reply_to, '\0', v.reply_to_len))
		proto__bad(rd);
	if (proto__end(rd) < 0)
		return -EBADMSG;
	*m = v;
	return 0;
}

int
proto_response_pack(msgpack_packer *pk, const struct proto_response *m)
{
	if (m->body && m->body_len &&
	    proto_validate_object(m->body, m->body_len) < 0)
		return -EINVAL;
	PK(msgpack_pack_array(pk, 1));
	return proto_pack_raw(pk, m->body, m->body_len);
}

int
proto_response_unpack(struct proto_reader *rd, struct proto_response *m)
{
	struct proto_response v = { 0 };

	proto_read_array_n(rd, 1);
	proto_read_raw(rd, &v.body, &v.body_len);
	if (proto__end(rd) < 0)
		return -EBADMSG;
	*m = v;
	return 0;
}
