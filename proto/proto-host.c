/* SPDX-License-Identifier: MIT */
/*
 * proto-host.c - payloads of a host's name server (proto-host.h) and the
 * network URL list they share with HELLO.
 */
#include "proto-internal.h"
#include "proto-agent.h" /* PROTO_URL_MAX */
#include "proto-host.h"

bool
proto_net_url_is_valid(const char *s, size_t len)
{
	size_t n;

	if (!s || len == 0 || len > PROTO_URL_MAX || memchr(s, '\0', len))
		return false;
	if (len > 6 && memcmp(s, "tcp://", 6) == 0)
		n = 6;
	else if (len > 10 && memcmp(s, "tls+tcp://", 10) == 0)
		n = 10;
	else
		return false;
	return len > n;
}

int
proto_urls_pack(msgpack_packer *pk, const struct proto_urls *m)
{
	if (m->n > PROTO_NET_URLS_MAX)
		return -EINVAL;
	for (uint32_t i = 0; i < m->n; i++) {
		if (m->len[i] > PROTO_URL_MAX)
			return -EMSGSIZE;
		if (!proto_net_url_is_valid(m->url[i], m->len[i]))
			return -EINVAL;
	}
	PK(msgpack_pack_array(pk, m->n));
	for (uint32_t i = 0; i < m->n; i++)
		PKR(proto_pack_str(pk, m->url[i], m->len[i]));
	return 0;
}

int
proto_urls_unpack(struct proto_reader *rd, struct proto_urls *m)
{
	struct proto_urls v = { 0 };

	proto_read_array(rd, &v.n);
	if (!rd->err && v.n > PROTO_NET_URLS_MAX)
		return proto__bad(rd);
	for (uint32_t i = 0; i < v.n && !rd->err; i++) {
		proto_read_str(rd, &v.url[i], &v.len[i], PROTO_URL_MAX);
		if (!rd->err && !proto_net_url_is_valid(v.url[i], v.len[i]))
			proto__bad(rd);
	}
	if (rd->err)
		return proto__bad(rd);
	*m = v;
	return 0;
}

int
proto_host_peer_pack(msgpack_packer *pk, const struct proto_host_peer *m)
{
	if (!m->name || !proto_name_is_valid(m->name, m->name_len))
		return -EINVAL;
	if (!m->state || m->state_len == 0)
		return -EINVAL;
	PKR(proto__check_str(m->state, m->state_len, PROTO_NAME_MAX));
	PK(msgpack_pack_array(pk, 4));
	PKR(proto_pack_str(pk, m->name, m->name_len));
	PKR(proto_urls_pack(pk, &m->urls));
	PK(msgpack_pack_uint32(pk, m->pid));
	PKR(proto_pack_str(pk, m->state, m->state_len));
	return 0;
}

int
proto_host_peer_unpack(struct proto_reader *rd, struct proto_host_peer *m)
{
	struct proto_host_peer v = { 0 };

	proto_read_array_n(rd, 4);
	proto_read_str(rd, &v.name, &v.name_len, PROTO_NAME_MAX);
	if (!rd->err && !proto_name_is_valid(v.name, v.name_len))
		proto__bad(rd);
	if (!rd->err)
		(void)proto_urls_unpack(rd, &v.urls);
	proto_read_u32(rd, &v.pid);
	proto_read_str(rd, &v.state, &v.state_len, PROTO_NAME_MAX);
	if (!rd->err && v.state_len == 0)
		proto__bad(rd);
	if (proto__end(rd) < 0)
		return -EBADMSG;
	*m = v;
	return 0;
}
