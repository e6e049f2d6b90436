/* SPDX-License-Identifier: MIT */
/*
 * proto-link.c - payloads between an agent process and agentd.
 */
#include "proto-internal.h"
#include "proto-agent.h" /* PROTO_URL_MAX */
#include "proto-link.h"

const char *
proto_exit_reason_to_string(uint32_t r)
{
	static const char *const names[_PROTO_EXIT_MAX] = {
		[PROTO_EXIT_DONE] = "done",
		[PROTO_EXIT_FAILED] = "failed",
		[PROTO_EXIT_INTERRUPTED] = "interrupted",
		[PROTO_EXIT_ABORTED] = "aborted",
		[PROTO_EXIT_CRASHED] = "crashed",
	};
	return r < _PROTO_EXIT_MAX ? names[r] : NULL;
}

int
proto_hello_pack(msgpack_packer *pk, const struct proto_hello *m)
{
	size_t nlen = strnlen(m->name, sizeof(m->name));

	if (!proto_name_is_valid(m->name, nlen))
		return -EINVAL;
	PKR(proto__check_str(m->inbox, m->inbox_len, PROTO_URL_MAX));
	if (m->net.n > PROTO_NET_URLS_MAX)
		return -EINVAL;
	PK(msgpack_pack_array(pk, m->net.n > 0 ? 4 : 3));
	PKR(proto_pack_str(pk, m->name, nlen));
	PK(msgpack_pack_uint32(pk, m->pid));
	PKR(proto_pack_str(pk, m->inbox, m->inbox_len));
	if (m->net.n > 0)
		PKR(proto_urls_pack(pk, &m->net));
	return 0;
}

int
proto_hello_unpack(struct proto_reader *rd, struct proto_hello *m)
{
	struct proto_hello v = { 0 };
	uint32_t n = 0;

	proto_read_array(rd, &n);
	if (!rd->err && n != 3 && n != 4)
		proto__bad(rd);
	proto_read_name(rd, v.name, sizeof(v.name));
	proto_read_u32(rd, &v.pid);
	proto_read_str(rd, &v.inbox, &v.inbox_len, PROTO_URL_MAX);
	if (!rd->err && n == 4)
		(void)proto_urls_unpack(rd, &v.net);
	if (proto__end(rd) < 0)
		return -EBADMSG;
	*m = v;
	return 0;
}

int
proto_hello_ack_pack(msgpack_packer *pk, const struct proto_hello_ack *m)
{
	PK(msgpack_pack_array(pk, 2));
	PK(msgpack_pack_uint64(pk, m->watchdog_usec));
	PK(msgpack_pack_uint64(pk, m->stop_timeout_usec));
	return 0;
}

int
proto_hello_ack_unpack(struct proto_reader *rd, struct proto_hello_ack *m)
{
	struct proto_hello_ack v = { 0 };

	proto_read_array_n(rd, 2);
	proto_read_u64(rd, &v.watchdog_usec);
	proto_read_u64(rd, &v.stop_timeout_usec);
	if (proto__end(rd) < 0)
		return -EBADMSG;
	*m = v;
	return 0;
}

int
proto_heartbeat_pack(msgpack_packer *pk, const struct proto_heartbeat *m)
{
	PK(msgpack_pack_array(pk, 1));
	PK(msgpack_pack_uint64(pk, m->seq));
	return 0;
}

int
proto_heartbeat_unpack(struct proto_reader *rd, struct proto_heartbeat *m)
{
	struct proto_heartbeat v = { 0 };

	proto_read_array_n(rd, 1);
	proto_read_u64(rd, &v.seq);
	if (proto__end(rd) < 0)
		return -EBADMSG;
	*m = v;
	return 0;
}

int
proto_interrupt_pack(msgpack_packer *pk, const struct proto_interrupt *m)
{
	PK(msgpack_pack_array(pk, 1));
	PK(msgpack_pack_uint32(pk, m->level));
	return 0;
}

int
proto_interrupt_unpack(struct proto_reader *rd, struct proto_interrupt *m)
{
	struct proto_interrupt v = { 0 };

	proto_read_array_n(rd, 1);
	proto_read_u32(rd, &v.level);
	if (proto__end(rd) < 0)
		return -EBADMSG;
	*m = v;
	return 0;
}

int
proto_text_pack(msgpack_packer *pk, const struct proto_text *m)
{
	PKR(proto__check_str(m->text, m->len, PROTO_STR_MAX));
	PK(msgpack_pack_array(pk, 1));
	PKR(proto_pack_str(pk, m->text, m->len));
	return 0;
}

int
proto_text_unpack(struct proto_reader *rd, struct proto_text *m)
{
	struct proto_text v = { 0 };

	proto_read_array_n(rd, 1);
	proto_read_str(rd, &v.text, &v.len, PROTO_STR_MAX);
	if (proto__end(rd) < 0)
		return -EBADMSG;
	*m = v;
	return 0;
}

int
proto_version_pack(msgpack_packer *pk, const struct proto_version *m)
{
	PK(msgpack_pack_array(pk, 1));
	PK(msgpack_pack_uint32(pk, m->supported));
	return 0;
}

int
proto_version_unpack(struct proto_reader *rd, struct proto_version *m)
{
	struct proto_version v = { 0 };

	proto_read_array_n(rd, 1);
	proto_read_u32(rd, &v.supported);
	if (proto__end(rd) < 0)
		return -EBADMSG;
	*m = v;
	return 0;
}

int
proto_exit_report_pack(msgpack_packer *pk, const struct proto_exit_report *m)
{
	if (m->reason >= _PROTO_EXIT_MAX)
		return -EINVAL;
	PKR(proto__check_str(m->message, m->message_len, PROTO_STR_MAX));
	PK(msgpack_pack_array(pk, 3));
	PK(msgpack_pack_uint32(pk, m->reason));
	PK(msgpack_pack_int32(pk, m->code));
	PKR(proto_pack_str(pk, m->message, m->message_len));
	return 0;
}

int
proto_exit_report_unpack(struct proto_reader *rd, struct proto_exit_report *m)
{
	struct proto_exit_report v = { 0 };

	proto_read_array_n(rd, 3);
	proto_read_u32(rd, &v.reason);
	proto_read_i32(rd, &v.code);
	proto_read_str(rd, &v.message, &v.message_len, PROTO_STR_MAX);
	if (!rd->err && v.reason >= _PROTO_EXIT_MAX)
		proto__bad(rd);
	if (proto__end(rd) < 0)
		return -EBADMSG;
	*m = v;
	return 0;
}

int
proto_empty_pack(msgpack_packer *pk)
{
	PK(msgpack_pack_array(pk, 0));
	return 0;
}

int
proto_empty_unpack(struct proto_reader *rd)
{
	proto_read_array_n(rd, 0);
	return proto__end(rd);
}

/* ---- the registry (RESOLVE, MONITOR, RESOLVE_REPLY, PEER_STATE) ---------- */

static void
read_valid_name(struct proto_reader *rd, const char **s, size_t *len)
{
	proto_read_str(rd, s, len, PROTO_NAME_MAX + 16);
	if (!rd->err && !proto_name_is_valid(*s, *len))
		proto__bad(rd);
}

int
proto_resolve_pack(msgpack_packer *pk, const struct proto_resolve *m)
{
	if (!m->name || !proto_name_is_valid(m->name, m->name_len))
		return -EINVAL;
	PK(msgpack_pack_array(pk, 1));
	PKR(proto_pack_str(pk, m->name, m->name_len));
	return 0;
}

int
proto_resolve_unpack(struct proto_reader *rd, struct proto_resolve *m)
{
	struct proto_resolve v = { 0 };

	proto_read_array_n(rd, 1);
	read_valid_name(rd, &v.name, &v.name_len);
	if (proto__end(rd) < 0)
		return -EBADMSG;
	*m = v;
	return 0;
}

int
proto_monitor_pack(msgpack_packer *pk, const struct proto_monitor *m)
{
	if (!m->name || !proto_name_is_valid(m->name, m->name_len))
		return -EINVAL;
	PK(msgpack_pack_array(pk, 2));
	PKR(proto_pack_str(pk, m->name, m->name_len));
	PK(msgpack_pack_uint32(pk, m->on ? 1 : 0));
	return 0;
}

int
proto_monitor_unpack(struct proto_reader *rd, struct proto_monitor *m)
{
	struct proto_monitor v = { 0 };
	uint32_t on = 0;

	proto_read_array_n(rd, 2);
	read_valid_name(rd, &v.name, &v.name_len);
	proto_read_u32(rd, &on);
	if (!rd->err && on > 1)
		proto__bad(rd);
	v.on = on == 1;
	if (proto__end(rd) < 0)
		return -EBADMSG;
	*m = v;
	return 0;
}

int
proto_peer_pack(msgpack_packer *pk, const struct proto_peer *m)
{
	if (!m->name || !proto_name_is_valid(m->name, m->name_len))
		return -EINVAL;
	PKR(proto__check_str(m->inbox, m->inbox_len, PROTO_URL_MAX));
	PKR(proto__check_str(m->state, m->state_len, PROTO_NAME_MAX));
	PK(msgpack_pack_array(pk, 4));
	PKR(proto_pack_str(pk, m->name, m->name_len));
	PKR(proto_pack_str(pk, m->inbox, m->inbox_len));
	PK(msgpack_pack_uint32(pk, m->pid));
	PKR(proto_pack_str(pk, m->state, m->state_len));
	return 0;
}

int
proto_peer_unpack(struct proto_reader *rd, struct proto_peer *m)
{
	struct proto_peer v = { 0 };

	proto_read_array_n(rd, 4);
	read_valid_name(rd, &v.name, &v.name_len);
	proto_read_str(rd, &v.inbox, &v.inbox_len, PROTO_URL_MAX);
	proto_read_u32(rd, &v.pid);
	proto_read_str(rd, &v.state, &v.state_len, PROTO_NAME_MAX);
	if (proto__end(rd) < 0)
		return -EBADMSG;
	*m = v;
	return 0;
}
