/* SPDX-License-Identifier: MIT */
/*
 * fuzz-envelope.c - libFuzzer target for everything in libproto that reads
 * untrusted bytes: the generic reader, proto_validate_object, the envelope
 * decoder (batches: decode_next in a loop) and every payload unpacker.
 *
 * Besides "no crash, no leak, no UB" it checks invariants and aborts when
 * one breaks:
 *  - a decoded envelope lies inside the input and decode_next advances;
 *  - its payload is one valid object (proto_validate_object);
 *  - msgpack-c unpacks such a validated payload completely (the reason the
 *    validator exists: see PROTOCOL.md);
 *  - the builder re-encodes every decoded envelope, and the result decodes
 *    to the same fields and payload bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-check.h"
#include "proto.h"
#include "proto-agent.h"
#include "proto-ctl.h"
#include "proto-link.h"
#include "proto-read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint32_t all_types[] = {
#define XX_TYPE(name, num, str, fam) PROTO_MSG_##name,
	PROTO_MSGTYPE_MAP(XX_TYPE)
#undef XX_TYPE
};

static int
names_cb(const char *s, size_t len, void *userdata)
{
	CHECK(len >= 1 && len <= PROTO_NAME_MAX);
	touch(s, len);
	return 0;
}

static int
records_cb(const struct proto_status_record *rec, void *userdata)
{
	CHECK(strlen(rec->name) <= PROTO_NAME_MAX);
	CHECK(strlen(rec->last_exit) < sizeof(rec->last_exit));
	return 0;
}

/* Walk arbitrary msgpack with the typed reader calls. */
static void
walk(const uint8_t *data, size_t size)
{
	struct proto_reader rd;
	int steps = 0;

	proto_reader_init(&rd, data, size);
	while (proto_reader_left(&rd) > 0 && steps++ < 4096) {
		const void *p;
		const char *s;
		size_t len;
		uint32_t n;
		uint64_t u;
		int64_t i;
		double d;
		bool b;
		char buf[PROTO_NAME_MAX + 1];

		switch (proto_read_peek(&rd)) {
		case PROTO_OBJ_NIL:
			CHECK(proto_read_try_nil(&rd));
			break;
		case PROTO_OBJ_BOOL:
			proto_read_bool(&rd, &b);
			break;
		case PROTO_OBJ_UINT:
			if (steps & 1)
				proto_read_u64(&rd, &u);
			else
				proto_read_double(&rd, &d);
			break;
		case PROTO_OBJ_INT:
			if (steps & 1)
				proto_read_i64(&rd, &i);
			else
				proto_read_i32(&rd, NULL);
			break;
		case PROTO_OBJ_FLOAT:
			proto_read_double(&rd, &d);
			break;
		case PROTO_OBJ_STR:
			if (steps & 1) {
				if (proto_read_str(&rd, &s, &len, SIZE_MAX) == 0)
					touch(s, len);
			} else if (steps & 2) {
				proto_read_name(&rd, buf, sizeof(buf));
			} else {
				proto_read_strbuf(&rd, buf, sizeof(buf));
			}
			break;
		case PROTO_OBJ_BIN:
			if (proto_read_bin(&rd, &p, &len, SIZE_MAX) == 0)
				touch(p, len);
			break;
		case PROTO_OBJ_ARRAY:
			proto_read_array(&rd, &n);
			break;
		case PROTO_OBJ_MAP:
			proto_read_map(&rd, &n);
			break;
		case PROTO_OBJ_EXT:
			if (proto_read_raw(&rd, &p, &len) == 0)
				touch(p, len);
			break;
		default:
			return;
		}
		if (rd.err)
			return;
	}
	proto_read_end(&rd);
}

static int
events_cb(const struct proto_event_record *ev, void *userdata)
{
	CHECK(strlen(ev->name) <= PROTO_NAME_MAX);
	CHECK(ev->from[0] && ev->to[0]);
	CHECK(strlen(ev->detail) <= PROTO_DETAIL_MAX);
	return 0;
}

static int
lines_cb(uint64_t seq, const char *line, size_t len, void *userdata)
{
	CHECK(len <= PROTO_STR_MAX);
	touch(line, len);
	return 0;
}

static void
unpack_all(const void *payload, size_t len)
{
	struct proto_reader rd;
	union {
		struct proto_hello hello;
		struct proto_hello_ack hello_ack;
		struct proto_heartbeat heartbeat;
		struct proto_interrupt interrupt;
		struct proto_text text;
		struct proto_version version;
		struct proto_exit_report exit_report;
		struct proto_result result;
		struct proto_event event;
		struct proto_request request;
		struct proto_response response;
		struct proto_status_record rec;
		struct proto_events_req events_req;
		struct proto_logs_req logs_req;
		struct proto_event_record ev;
		struct proto_resolve resolve;
		struct proto_monitor monitor;
		struct proto_peer peer;
		struct proto_host_peer host_peer;
	} u;
	struct proto_seq_head head;
	int32_t sig;

#define RESET() proto_reader_init(&rd, payload, len)
	RESET();
	if (proto_hello_unpack(&rd, &u.hello) == 0) {
		CHECK(proto_name_is_valid(u.hello.name, strlen(u.hello.name)));
		touch(u.hello.inbox, u.hello.inbox_len);
		CHECK(u.hello.net.n <= PROTO_NET_URLS_MAX);
		for (uint32_t i = 0; i < u.hello.net.n; i++)
			CHECK(proto_net_url_is_valid(u.hello.net.url[i],
						     u.hello.net.len[i]));
	}
	RESET();
	proto_hello_ack_unpack(&rd, &u.hello_ack);
	RESET();
	proto_heartbeat_unpack(&rd, &u.heartbeat);
	RESET();
	proto_interrupt_unpack(&rd, &u.interrupt);
	RESET();
	if (proto_text_unpack(&rd, &u.text) == 0)
		touch(u.text.text, u.text.len);
	RESET();
	proto_version_unpack(&rd, &u.version);
	RESET();
	if (proto_exit_report_unpack(&rd, &u.exit_report) == 0) {
		CHECK(proto_exit_reason_to_string(u.exit_report.reason));
		touch(u.exit_report.message, u.exit_report.message_len);
	}
	RESET();
	proto_empty_unpack(&rd);
	RESET();
	proto_names_unpack(&rd, names_cb, NULL);
	RESET();
	proto_kill_unpack(&rd, &sig, names_cb, NULL);
	RESET();
	proto_status_reply_unpack(&rd, records_cb, NULL);
	RESET();
	proto_status_record_unpack(&rd, &u.rec);
	RESET();
	proto_events_req_unpack(&rd, &u.events_req);
	RESET();
	if (proto_logs_req_unpack(&rd, &u.logs_req) == 0)
		CHECK(proto_name_is_valid(u.logs_req.name,
					  strlen(u.logs_req.name)));
	RESET();
	proto_event_record_unpack(&rd, &u.ev);
	RESET();
	if (proto_events_reply_unpack(&rd, &head, events_cb, NULL) == 0)
		CHECK(head.n <= head.next_seq - head.first_seq);
	RESET();
	if (proto_logs_reply_unpack(&rd, &head, lines_cb, NULL) == 0)
		CHECK(head.n <= PROTO_LOG_LINES_MAX);
	RESET();
	if (proto_result_unpack(&rd, &u.result) == 0)
		touch(u.result.message, u.result.message_len);
	RESET();
	if (proto_event_unpack(&rd, &u.event) == 0) {
		touch(u.event.kind, u.event.kind_len);
		CHECK(proto_validate_object(u.event.body, u.event.body_len) == 0);
	}
	RESET();
	if (proto_request_unpack(&rd, &u.request) == 0) {
		touch(u.request.reply_to, u.request.reply_to_len);
		CHECK(proto_validate_object(u.request.body,
					    u.request.body_len) == 0);
	}
	RESET();
	if (proto_response_unpack(&rd, &u.response) == 0)
		CHECK(proto_validate_object(u.response.body,
					    u.response.body_len) == 0);
	RESET();
	if (proto_resolve_unpack(&rd, &u.resolve) == 0)
		CHECK(proto_name_is_valid(u.resolve.name, u.resolve.name_len));
	RESET();
	if (proto_monitor_unpack(&rd, &u.monitor) == 0)
		CHECK(proto_name_is_valid(u.monitor.name, u.monitor.name_len));
	RESET();
	if (proto_peer_unpack(&rd, &u.peer) == 0) {
		CHECK(proto_name_is_valid(u.peer.name, u.peer.name_len));
		touch(u.peer.inbox, u.peer.inbox_len);
		touch(u.peer.state, u.peer.state_len);
	}
	RESET();
	if (proto_host_peer_unpack(&rd, &u.host_peer) == 0) {
		CHECK(proto_name_is_valid(u.host_peer.name,
					  u.host_peer.name_len));
		CHECK(u.host_peer.urls.n <= PROTO_NET_URLS_MAX);
		for (uint32_t i = 0; i < u.host_peer.urls.n; i++)
			CHECK(proto_net_url_is_valid(u.host_peer.urls.url[i],
						     u.host_peer.urls.len[i]));
		CHECK(u.host_peer.state_len > 0);
		touch(u.host_peer.state, u.host_peer.state_len);
	}
#undef RESET
	for (size_t i = 0; i < sizeof(all_types) / sizeof(all_types[0]); i++)
		proto_payload_validate(all_types[i], payload, len);
}

/* msgpack-c must take every payload our validator accepted, whole. */
static void
msgpack_agrees(const void *payload, size_t len)
{
	msgpack_unpacked u;
	size_t off = 0;
	msgpack_unpack_return ret;

	msgpack_unpacked_init(&u);
	ret = msgpack_unpack_next(&u, payload, len, &off);
	CHECK(ret == MSGPACK_UNPACK_SUCCESS);
	CHECK(off == len);
	msgpack_unpacked_destroy(&u);
}

/* The builder re-encodes every envelope the decoder accepted. */
static void
reencode(const struct proto_env *env)
{
	struct proto_builder b;
	struct proto_env env2;
	nng_msg *msg = NULL;
	char sender[PROTO_NAME_MAX + 1];
	int r;

	CHECK(env->sender_len <= PROTO_NAME_MAX);
	memcpy(sender, env->sender, env->sender_len);
	sender[env->sender_len] = '\0';
	r = proto_builder_begin(&b, env->type, env->flags, env->corr, sender);
	if (r == -ENOMEM)
		return;
	CHECK(r == 0);
	r = proto_pack_raw(&b.pk, env->payload, env->payload_len);
	if (r < 0) {
		proto_builder_abort(&b);
		CHECK(r == -ENOMEM);
		return;
	}
	r = proto_builder_finish(&b, &msg);
	if (r == -ENOMEM || r == -EMSGSIZE)
		return;
	CHECK(r == 0);
	CHECK(proto_env_decode_msg(msg, &env2) == 0);
	CHECK(env2.type == env->type && env2.flags == env->flags &&
	      env2.corr == env->corr && env2.sender_len == env->sender_len &&
	      memcmp(env2.sender, env->sender, env->sender_len) == 0);
	CHECK(env2.payload_len == env->payload_len &&
	      memcmp(env2.payload, env->payload, env->payload_len) == 0);
	nng_msg_free(msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_env env;
	size_t off = 0;
	int n = 0;

	if (proto_validate_object(data, size) == 0)
		msgpack_agrees(data, size);
	walk(data, size);

	while (off < size) {
		size_t before = off;
		int r = proto_env_decode_next(data, size, &off, &env);
		if (r < 0) {
			CHECK(r == -EBADMSG || r == -EPROTONOSUPPORT ||
			      r == -EMSGSIZE);
			CHECK(off == before);
			break;
		}
		CHECK(off > before && off <= size);
		CHECK(env.version == PROTO_VERSION);
		CHECK(proto_msgtype_to_string(env.type) != NULL);
		CHECK((const uint8_t *)env.payload >= data + before &&
		      (const uint8_t *)env.payload + env.payload_len <=
			      data + off);
		touch(env.sender, env.sender_len);
		CHECK(proto_validate_object(env.payload, env.payload_len) == 0);
		msgpack_agrees(env.payload, env.payload_len);
		unpack_all(env.payload, env.payload_len);
		reencode(&env);
		n++;
	}
	if (n == 1 && off == size)
		CHECK(proto_env_decode(data, size, &env) == 0);
	return 0;
}
