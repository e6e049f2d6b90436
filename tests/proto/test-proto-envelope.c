/* SPDX-License-Identifier: MIT */
/*
 * test-proto-envelope.c - every message type round-trips through the
 * builder, the decoder and its payload unpacker; every malformed form of
 * envelope and payload is rejected; batches; the size cap.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>

#include "proto.h"
#include "proto-agent.h"
#include "proto-ctl.h"
#include "proto-link.h"
#include "proto-read.h"
#include "proto-samples.h"
#include "proto-test.h"

/* Every type of the map, so that a new line cannot be forgotten. */
static const uint32_t all_types[] = {
#define XX_TYPE(name, num, str, fam) PROTO_MSG_##name,
	PROTO_MSGTYPE_MAP(XX_TYPE)
#undef XX_TYPE
};
#define N_TYPES (sizeof(all_types) / sizeof(all_types[0]))

struct names_seen {
	size_t n;
	char s[4][PROTO_NAME_MAX + 1];
};

static int
names_cb(const char *s, size_t len, void *userdata)
{
	struct names_seen *seen = userdata;
	assert_true(seen->n < 4);
	assert_true(len <= PROTO_NAME_MAX);
	memcpy(seen->s[seen->n], s, len);
	seen->s[seen->n][len] = '\0';
	seen->n++;
	return 0;
}

static void
check_names(const struct names_seen *seen)
{
	assert_int_equal(seen->n, 3);
	for (int i = 0; i < 3; i++)
		assert_string_equal(seen->s[i], proto_sample_names[i]);
}

struct records_seen {
	size_t n;
	struct proto_status_record r[2];
};

static int
records_cb(const struct proto_status_record *rec, void *userdata)
{
	struct records_seen *seen = userdata;
	assert_true(seen->n < 2);
	seen->r[seen->n++] = *rec;
	return 0;
}

struct events_seen {
	size_t n;
	struct proto_event_record e[2];
};

static int
events_cb(const struct proto_event_record *ev, void *userdata)
{
	struct events_seen *seen = userdata;
	assert_true(seen->n < 2);
	seen->e[seen->n++] = *ev;
	return 0;
}

struct lines_seen {
	size_t n;
	uint64_t seq[3];
	char s[3][32];
};

static int
lines_cb(uint64_t seq, const char *line, size_t len, void *userdata)
{
	struct lines_seen *seen = userdata;
	assert_true(seen->n < 3);
	assert_true(len < sizeof(seen->s[0]));
	memcpy(seen->s[seen->n], line, len);
	seen->s[seen->n][len] = '\0';
	seen->seq[seen->n++] = seq;
	return 0;
}

static bool
mem_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* Unpack the payload of `type` and compare with the sample. */
static void
check_sample(uint32_t type, const void *payload, size_t len)
{
	struct proto_reader rd;

	proto_reader_init(&rd, payload, len);
	switch ((enum proto_msgtype)type) {
	case PROTO_MSG_HELLO: {
		struct proto_hello m;
		assert_int_equal(proto_hello_unpack(&rd, &m), 0);
		assert_string_equal(m.name, "worker@3");
		assert_int_equal(m.pid, 4242);
		assert_true(mem_eq(m.inbox, m.inbox_len,
				   "ipc:///r/inbox/w.sock", 21));
		return;
	}
	case PROTO_MSG_RESOLVE:
	case PROTO_MSG_HOST_RESOLVE: {
		struct proto_resolve m;
		assert_int_equal(proto_resolve_unpack(&rd, &m), 0);
		assert_true(mem_eq(m.name, m.name_len, "worker@3", 8));
		return;
	}
	case PROTO_MSG_MONITOR: {
		struct proto_monitor m;
		assert_int_equal(proto_monitor_unpack(&rd, &m), 0);
		assert_true(mem_eq(m.name, m.name_len, "db", 2));
		assert_true(m.on);
		return;
	}
	case PROTO_MSG_RESOLVE_REPLY:
	case PROTO_MSG_PEER_STATE: {
		struct proto_peer m;
		assert_int_equal(proto_peer_unpack(&rd, &m), 0);
		assert_true(mem_eq(m.name, m.name_len, "worker@3", 8));
		assert_true(mem_eq(m.inbox, m.inbox_len,
				   "ipc:///r/inbox/worker@3.sock", 28));
		assert_int_equal(m.pid, 4242);
		assert_true(mem_eq(m.state, m.state_len, "running", 7));
		return;
	}
	case PROTO_MSG_HOST_RESOLVE_REPLY: {
		struct proto_host_peer m;
		assert_int_equal(proto_host_peer_unpack(&rd, &m), 0);
		assert_true(mem_eq(m.name, m.name_len, "worker@3", 8));
		assert_int_equal(m.urls.n, 2);
		assert_true(mem_eq(m.urls.url[0], m.urls.len[0],
				   "tcp://0.0.0.0:4000", 18));
		assert_true(mem_eq(m.urls.url[1], m.urls.len[1],
				   "tls+tcp://[::]:4001", 19));
		assert_int_equal(m.pid, 4242);
		assert_true(mem_eq(m.state, m.state_len, "running", 7));
		return;
	}
	case PROTO_MSG_HELLO_ACK: {
		struct proto_hello_ack m;
		assert_int_equal(proto_hello_ack_unpack(&rd, &m), 0);
		assert_int_equal(m.watchdog_usec, 5000000);
		assert_true(m.stop_timeout_usec == UINT64_MAX);
		return;
	}
	case PROTO_MSG_READY:
	case PROTO_MSG_CTL_RELOAD:
	case PROTO_MSG_CTL_SHUTDOWN:
		assert_int_equal(proto_empty_unpack(&rd), 0);
		return;
	case PROTO_MSG_HEARTBEAT: {
		struct proto_heartbeat m;
		assert_int_equal(proto_heartbeat_unpack(&rd, &m), 0);
		assert_true(m.seq == (uint64_t)1 << 40);
		return;
	}
	case PROTO_MSG_STOPPING:
	case PROTO_MSG_STATUS_TEXT: {
		struct proto_text m;
		assert_int_equal(proto_text_unpack(&rd, &m), 0);
		assert_true(mem_eq(m.text, m.len, "stopping: flushing", 18));
		return;
	}
	case PROTO_MSG_INTERRUPT: {
		struct proto_interrupt m;
		assert_int_equal(proto_interrupt_unpack(&rd, &m), 0);
		assert_int_equal(m.level, PROTO_LEVEL_FLAG);
		return;
	}
	case PROTO_MSG_EXIT_REPORT: {
		struct proto_exit_report m;
		assert_int_equal(proto_exit_report_unpack(&rd, &m), 0);
		assert_int_equal(m.reason, PROTO_EXIT_FAILED);
		assert_int_equal(m.code, -ENOENT);
		assert_true(mem_eq(m.message, m.message_len, "no such file", 12));
		return;
	}
	case PROTO_MSG_VERSION: {
		struct proto_version m;
		assert_int_equal(proto_version_unpack(&rd, &m), 0);
		assert_int_equal(m.supported, PROTO_VERSION);
		return;
	}
	case PROTO_MSG_CTL_STATUS:
	case PROTO_MSG_CTL_START:
	case PROTO_MSG_CTL_STOP:
	case PROTO_MSG_CTL_RESTART:
	case PROTO_MSG_CTL_RESET_FAILED: {
		struct names_seen seen = { 0 };
		assert_int_equal(proto_names_unpack(&rd, names_cb, &seen), 0);
		check_names(&seen);
		return;
	}
	case PROTO_MSG_CTL_STATUS_REPLY: {
		struct records_seen seen = { 0 };
		assert_int_equal(proto_status_reply_unpack(&rd, records_cb,
							   &seen), 0);
		assert_int_equal(seen.n, 2);
		for (int i = 0; i < 2; i++) {
			const struct proto_status_record *a = &seen.r[i];
			const struct proto_status_record *b = &proto_sample_records[i];
			assert_string_equal(a->name, b->name);
			assert_string_equal(a->group, b->group);
			assert_string_equal(a->state, b->state);
			assert_int_equal(a->pid, b->pid);
			assert_int_equal(a->restarts, b->restarts);
			assert_int_equal(a->uptime_ms, b->uptime_ms);
			assert_string_equal(a->last_exit, b->last_exit);
		}
		return;
	}
	case PROTO_MSG_CTL_RESULT:
	case PROTO_MSG_CTL_ERROR:
	case PROTO_MSG_ERROR: {
		struct proto_result m;
		assert_int_equal(proto_result_unpack(&rd, &m), 0);
		assert_int_equal(m.code, -ESRCH);
		assert_true(mem_eq(m.message, m.message_len,
				   "no such agent: foo", 18));
		return;
	}
	case PROTO_MSG_CTL_KILL: {
		struct names_seen seen = { 0 };
		int32_t sig = 0;
		assert_int_equal(proto_kill_unpack(&rd, &sig, names_cb, &seen),
				 0);
		assert_int_equal(sig, 15);
		check_names(&seen);
		return;
	}
	case PROTO_MSG_CTL_EVENTS: {
		struct proto_events_req m;
		assert_int_equal(proto_events_req_unpack(&rd, &m), 0);
		assert_int_equal(m.since_seq, 41);
		assert_int_equal(m.max, 100);
		assert_int_equal(m.wait_ms, 5000);
		return;
	}
	case PROTO_MSG_CTL_EVENTS_REPLY: {
		struct events_seen seen = { 0 };
		struct proto_seq_head h;
		assert_int_equal(proto_events_reply_unpack(&rd, &h, events_cb,
							   &seen), 0);
		assert_int_equal(h.first_seq, 40);
		assert_int_equal(h.next_seq, 43);
		assert_int_equal(h.missed, 2);
		assert_int_equal(h.n, 2);
		assert_int_equal(seen.n, 2);
		for (int i = 0; i < 2; i++) {
			const struct proto_event_record *a = &seen.e[i];
			const struct proto_event_record *b = &proto_sample_events[i];
			assert_int_equal(a->seq, b->seq);
			assert_true(a->realtime_usec == b->realtime_usec);
			assert_string_equal(a->name, b->name);
			assert_string_equal(a->from, b->from);
			assert_string_equal(a->to, b->to);
			assert_string_equal(a->detail, b->detail);
		}
		return;
	}
	case PROTO_MSG_CTL_LOGS: {
		struct proto_logs_req m;
		assert_int_equal(proto_logs_req_unpack(&rd, &m), 0);
		assert_string_equal(m.name, "db@2");
		assert_int_equal(m.lines, 10);
		assert_int_equal(m.since_seq, 7);
		assert_int_equal(m.wait_ms, 250);
		return;
	}
	case PROTO_MSG_CTL_LOGS_REPLY: {
		struct lines_seen seen = { 0 };
		struct proto_seq_head h;
		assert_int_equal(proto_logs_reply_unpack(&rd, &h, lines_cb,
							 &seen), 0);
		assert_int_equal(h.first_seq, 1);
		assert_int_equal(h.next_seq, 9);
		assert_int_equal(h.n, 3);
		assert_int_equal(seen.n, 3);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(seen.seq[i], 6 + i);
			assert_string_equal(seen.s[i], proto_sample_lines[i]);
		}
		return;
	}
	case PROTO_MSG_EVENT: {
		struct proto_event m;
		assert_int_equal(proto_event_unpack(&rd, &m), 0);
		assert_true(mem_eq(m.kind, m.kind_len, "job.done", 8));
		assert_true(mem_eq(m.body, m.body_len, proto_sample_body,
				   proto_sample_body_len));
		return;
	}
	case PROTO_MSG_REQUEST: {
		struct proto_request m;
		assert_int_equal(proto_request_unpack(&rd, &m), 0);
		assert_true(mem_eq(m.kind, m.kind_len, "lookup", 6));
		assert_true(mem_eq(m.reply_to, m.reply_to_len,
				   "ipc:///r/i/a.sock", 17));
		assert_int_equal(m.timeout_ms, 2500);
		assert_true(mem_eq(m.body, m.body_len, proto_sample_body,
				   proto_sample_body_len));
		return;
	}
	case PROTO_MSG_RESPONSE: {
		struct proto_response m;
		assert_int_equal(proto_response_unpack(&rd, &m), 0);
		assert_true(mem_eq(m.body, m.body_len, proto_sample_body,
				   proto_sample_body_len));
		return;
	}
	}
	fail_msg("no sample check for type %u", type);
}

/* Build the sample envelope of a type. */
static nng_msg *
build_sample(uint32_t type, uint32_t flags, uint64_t corr, const char *sender)
{
	struct proto_builder b;
	nng_msg *msg = NULL;
	int r;

	assert_int_equal(proto_builder_begin(&b, type, flags, corr, sender), 0);
	r = proto_sample_pack(type, &b.pk);
	if (r == -ENOENT) {
		proto_builder_abort(&b);
		fail_msg("no sample payload for type %u (%s): add one",
			 type, proto_msgtype_to_string(type));
	}
	assert_int_equal(r, 0);
	assert_int_equal(proto_builder_finish(&b, &msg), 0);
	assert_non_null(msg);
	return msg;
}

/* ---- tests --------------------------------------------------------------- */

static void
test_names_table(void **state)
{
	for (size_t i = 0; i < N_TYPES; i++) {
		uint32_t t = all_types[i];
		const char *s = proto_msgtype_to_string(t);
		assert_non_null(s);
		assert_int_equal(proto_msgtype_from_string(s), (int)t);
		/* the family is the hundreds digit */
		assert_int_equal(proto_msgtype_family(t), (int)(t / 100));
		for (size_t j = 0; j < i; j++) {
			assert_int_not_equal(all_types[j], t);
			assert_string_not_equal(proto_msgtype_to_string(all_types[j]),
						s);
		}
	}
	assert_null(proto_msgtype_to_string(0));
	assert_null(proto_msgtype_to_string(999));
	assert_int_equal(proto_msgtype_family(999), 0);
	assert_int_equal(proto_msgtype_from_string("nope"), -EINVAL);
	assert_int_equal(proto_msgtype_from_string(NULL), -EINVAL);
	assert_string_equal(proto_exit_reason_to_string(PROTO_EXIT_CRASHED),
			    "crashed");
	assert_null(proto_exit_reason_to_string(_PROTO_EXIT_MAX));
}

static void
test_roundtrip_all_types(void **state)
{
	for (size_t i = 0; i < N_TYPES; i++) {
		uint32_t t = all_types[i];
		struct proto_env env;
		nng_msg *msg = build_sample(t, PROTO_F_MORE, 1000 + i,
					    "agentctl");

		assert_int_equal(proto_env_decode_msg(msg, &env), 0);
		assert_int_equal(env.version, PROTO_VERSION);
		assert_int_equal(env.type, t);
		assert_int_equal(env.flags, PROTO_F_MORE);
		assert_int_equal(env.corr, 1000 + i);
		assert_true(mem_eq(env.sender, env.sender_len, "agentctl", 8));
		check_sample(t, env.payload, env.payload_len);
		assert_int_equal(proto_payload_validate(t, env.payload,
							env.payload_len), 0);
		nng_msg_free(msg);
	}
}

/* Truncation at every byte offset and one trailing byte, for every type:
 * of the envelope and of the payload handed to its unpacker. */
static void
test_truncation_and_trailing(void **state)
{
	for (size_t i = 0; i < N_TYPES; i++) {
		uint32_t t = all_types[i];
		nng_msg *msg = build_sample(t, 0, 7, "worker");
		size_t len = nng_msg_len(msg);
		uint8_t *buf = malloc(len + 1);
		struct proto_env env;

		assert_non_null(buf);
		memcpy(buf, nng_msg_body(msg), len);
		for (size_t n = 0; n < len; n++)
			assert_int_equal(proto_env_decode(buf, n, &env),
					 -EBADMSG);
		buf[len] = 0xc0;
		assert_int_equal(proto_env_decode(buf, len + 1, &env),
				 -EBADMSG);
		assert_int_equal(proto_env_decode(buf, len, &env), 0);

		/* the payload alone, cut short or with a trailing byte */
		{
			uint8_t *p = malloc(env.payload_len + 1);
			assert_non_null(p);
			memcpy(p, env.payload, env.payload_len);
			for (size_t n = 0; n < env.payload_len; n++)
				assert_int_equal(proto_payload_validate(t, p, n),
						 -EBADMSG);
			p[env.payload_len] = 0x00;
			assert_int_equal(proto_payload_validate(
						 t, p, env.payload_len + 1),
					 -EBADMSG);
			free(p);
		}
		free(buf);
		nng_msg_free(msg);
	}
}

/* Is field i of the payload of type t "any object" (a user body)? */
static bool
is_body_field(uint32_t t, uint32_t i)
{
	return (t == PROTO_MSG_EVENT && i == 1) ||
	       (t == PROTO_MSG_REQUEST && i == 3) ||
	       (t == PROTO_MSG_RESPONSE && i == 0);
}

/* Payloads that are a variable-length list: [name...] or [record...]. */
static bool
is_list_payload(uint32_t t)
{
	return t == PROTO_MSG_CTL_STATUS || t == PROTO_MSG_CTL_START ||
	       t == PROTO_MSG_CTL_STOP || t == PROTO_MSG_CTL_RESTART ||
	       t == PROTO_MSG_CTL_RESET_FAILED ||
	       t == PROTO_MSG_CTL_STATUS_REPLY;
}

/*
 * Wrong field types and wrong array lengths, generated from every type's
 * sample payload [f0, f1, ...]: each field in turn replaced by `true`
 * (no schema has a bool field), one nil field appended, the last field
 * dropped, and the payload as a map instead of an array.
 */
static void
test_payload_wrong_fields(void **state)
{
	struct tbuf t;

	tbuf_init(&t);
	for (size_t k = 0; k < N_TYPES; k++) {
		uint32_t type = all_types[k];
		nng_msg *msg = build_sample(type, 0, 0, NULL);
		struct proto_env env;
		struct proto_reader rd;
		const void *fp[16];
		size_t fl[16];
		uint32_t n;

		assert_int_equal(proto_env_decode_msg(msg, &env), 0);
		assert_int_equal(env.sender_len, 0);
		proto_reader_init(&rd, env.payload, env.payload_len);
		assert_int_equal(proto_read_array(&rd, &n), 0);
		assert_true(n <= 16);
		for (uint32_t i = 0; i < n; i++)
			assert_int_equal(proto_read_raw(&rd, &fp[i], &fl[i]), 0);
		assert_int_equal(proto_read_end(&rd), 0);

		for (uint32_t i = 0; i < n; i++) {
			tbuf_clear(&t);
			msgpack_pack_array(&t.pk, n);
			for (uint32_t j = 0; j < n; j++) {
				if (j == i)
					msgpack_pack_true(&t.pk);
				else
					tbuf_raw(&t, fp[j], fl[j]);
			}
			if (proto_payload_validate(type, t.sb.data, t.sb.size) !=
			    (is_body_field(type, i) ? 0 : -EBADMSG))
				fail_msg("%s: field %u as bool",
					 proto_msgtype_to_string(type), i);
		}
		/* one field too many */
		tbuf_clear(&t);
		msgpack_pack_array(&t.pk, n + 1);
		for (uint32_t j = 0; j < n; j++)
			tbuf_raw(&t, fp[j], fl[j]);
		msgpack_pack_nil(&t.pk);
		if (proto_payload_validate(type, t.sb.data, t.sb.size) !=
		    -EBADMSG)
			fail_msg("%s: extra field", proto_msgtype_to_string(type));
		/* one field too few (a shorter list is still a list) */
		if (n > 0) {
			tbuf_clear(&t);
			msgpack_pack_array(&t.pk, n - 1);
			for (uint32_t j = 0; j + 1 < n; j++)
				tbuf_raw(&t, fp[j], fl[j]);
			if (proto_payload_validate(type, t.sb.data,
						   t.sb.size) !=
			    (is_list_payload(type) ? 0 : -EBADMSG))
				fail_msg("%s: missing field",
					 proto_msgtype_to_string(type));
		}
		/* a map is never a payload */
		tbuf_clear(&t);
		msgpack_pack_map(&t.pk, 0);
		assert_int_equal(proto_payload_validate(type, t.sb.data,
							t.sb.size), -EBADMSG);
		/* nor nothing */
		assert_int_equal(proto_payload_validate(type, "", 0), -EBADMSG);
		nng_msg_free(msg);
	}
	assert_int_equal(proto_payload_validate(999, "\x90", 1), -EBADMSG);
	tbuf_done(&t);
}

/* Hand-made envelopes: [version, type, flags, corr, sender, payload]. */
enum field_mod {
	MOD_NONE,
	MOD_VERSION_STR,
	MOD_VERSION_NEG,
	MOD_TYPE_STR,
	MOD_TYPE_UNKNOWN,
	MOD_TYPE_HUGE,
	MOD_FLAGS_NEG,
	MOD_FLAGS_UNKNOWN,
	MOD_CORR_STR,
	MOD_CORR_NEG,
	MOD_SENDER_INT,
	MOD_SENDER_BIN,
	MOD_SENDER_LONG,
	MOD_SENDER_BAD,
	MOD_PAYLOAD_MISSING,
	MOD_PAYLOAD_TWO,
	MOD_LEN_5,
	MOD_LEN_7,
	MOD_MAP,
	MOD_PAYLOAD_HUGE_ARRAY,
	MOD_PAYLOAD_HUGE_MAP,
	MOD_PAYLOAD_HUGE_STR,
	MOD_PAYLOAD_DEEP,
	MOD_PAYLOAD_C1,
	_MOD_MAX,
};

static void
make_env(struct tbuf *t, enum field_mod mod)
{
	uint32_t n = mod == MOD_LEN_5 ? 5 : mod == MOD_LEN_7 ? 7 : 6;

	if (mod == MOD_MAP) {
		msgpack_pack_map(&t->pk, 3);
		msgpack_pack_uint8(&t->pk, PROTO_VERSION);
		msgpack_pack_uint8(&t->pk, 1);
		msgpack_pack_uint8(&t->pk, 2);
		msgpack_pack_uint8(&t->pk, 3);
		msgpack_pack_uint8(&t->pk, 4);
		msgpack_pack_uint8(&t->pk, 5);
		return;
	}
	if (mod == MOD_PAYLOAD_MISSING)
		n = 5;
	msgpack_pack_array(&t->pk, n);
	if (mod == MOD_VERSION_STR)
		tbuf_str(t, "1");
	else if (mod == MOD_VERSION_NEG)
		msgpack_pack_int8(&t->pk, -1);
	else
		msgpack_pack_uint32(&t->pk, PROTO_VERSION);
	if (mod == MOD_TYPE_STR)
		tbuf_str(t, "ready");
	else if (mod == MOD_TYPE_UNKNOWN)
		msgpack_pack_uint32(&t->pk, 999);
	else if (mod == MOD_TYPE_HUGE)
		msgpack_pack_uint64(&t->pk, ((uint64_t)1 << 32) + 102);
	else
		msgpack_pack_uint32(&t->pk, PROTO_MSG_READY);
	if (mod == MOD_FLAGS_NEG)
		msgpack_pack_int8(&t->pk, -1);
	else if (mod == MOD_FLAGS_UNKNOWN)
		msgpack_pack_uint32(&t->pk, 0x80);
	else
		msgpack_pack_uint32(&t->pk, 0);
	if (mod == MOD_CORR_STR)
		tbuf_str(t, "1");
	else if (mod == MOD_CORR_NEG)
		msgpack_pack_int64(&t->pk, -5);
	else
		msgpack_pack_uint64(&t->pk, 1);
	if (mod == MOD_SENDER_INT)
		msgpack_pack_uint8(&t->pk, 1);
	else if (mod == MOD_SENDER_BIN) {
		msgpack_pack_bin(&t->pk, 1);
		msgpack_pack_bin_body(&t->pk, "w", 1);
	} else if (mod == MOD_SENDER_LONG)
		tbuf_str_n(t, 'w', PROTO_NAME_MAX + 1);
	else if (mod == MOD_SENDER_BAD)
		tbuf_str(t, "../x");
	else
		tbuf_str(t, "worker");
	if (mod == MOD_PAYLOAD_MISSING)
		return;
	switch (mod) {
	case MOD_PAYLOAD_HUGE_ARRAY:
		tbuf_bytes(t, 6, 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0);
		break;
	case MOD_PAYLOAD_HUGE_MAP:
		tbuf_bytes(t, 6, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0);
		break;
	case MOD_PAYLOAD_HUGE_STR:
		tbuf_bytes(t, 6, 0xdb, 0xff, 0xff, 0xff, 0xff, 'a');
		break;
	case MOD_PAYLOAD_DEEP:
		for (int i = 0; i <= PROTO_DEPTH_MAX; i++)
			msgpack_pack_array(&t->pk, 1);
		msgpack_pack_nil(&t->pk);
		break;
	case MOD_PAYLOAD_C1:
		tbuf_bytes(t, 1, 0xc1);
		break;
	default:
		msgpack_pack_array(&t->pk, 0);
	}
	if (mod == MOD_PAYLOAD_TWO || mod == MOD_LEN_7)
		msgpack_pack_array(&t->pk, 0);
}

static void
test_malformed_envelopes(void **state)
{
	struct tbuf t;
	struct proto_env env;

	tbuf_init(&t);
	make_env(&t, MOD_NONE);
	assert_int_equal(proto_env_decode(t.sb.data, t.sb.size, &env), 0);
	assert_int_equal(env.type, PROTO_MSG_READY);

	for (int mod = MOD_NONE + 1; mod < _MOD_MAX; mod++) {
		int r;
		tbuf_clear(&t);
		make_env(&t, (enum field_mod)mod);
		memset(&env, 0x5a, sizeof(env));
		r = proto_env_decode(t.sb.data, t.sb.size, &env);
		if (mod == MOD_VERSION_NEG) {
			/* not a uint: malformed, not a foreign version */
			assert_int_equal(r, -EBADMSG);
			continue;
		}
		if (r != -EBADMSG)
			fail_msg("modification %d: got %d, want -EBADMSG", mod,
				 r);
		/* a failed decode never writes ret */
		assert_int_equal(env.type, 0x5a5a5a5a);
	}

	/* a payload exactly PROTO_DEPTH_MAX deep is fine */
	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, 6);
	msgpack_pack_uint32(&t.pk, PROTO_VERSION);
	msgpack_pack_uint32(&t.pk, PROTO_MSG_RESPONSE);
	msgpack_pack_uint32(&t.pk, 0);
	msgpack_pack_uint64(&t.pk, 9);
	tbuf_str(&t, "");
	for (int i = 0; i < PROTO_DEPTH_MAX; i++)
		msgpack_pack_array(&t.pk, 1);
	msgpack_pack_nil(&t.pk);
	assert_int_equal(proto_env_decode(t.sb.data, t.sb.size, &env), 0);

	/* envelope itself with huge declared count / not an array */
	assert_int_equal(proto_env_decode("\xdd\xff\xff\xff\xff\x01", 6, &env),
			 -EBADMSG);
	assert_int_equal(proto_env_decode("\x90", 1, &env), -EBADMSG);
	assert_int_equal(proto_env_decode("\xc0", 1, &env), -EBADMSG);
	assert_int_equal(proto_env_decode("", 0, &env), -EBADMSG);
	assert_int_equal(proto_env_decode(NULL, 0, &env), -EBADMSG);
	tbuf_done(&t);
}

static void
test_foreign_version(void **state)
{
	struct tbuf t;
	struct proto_env env;
	size_t off = 0;
	static const uint32_t versions[] = { 0, PROTO_VERSION + 1, UINT32_MAX };

	tbuf_init(&t);
	for (size_t i = 0; i < 3; i++) {
		tbuf_clear(&t);
		msgpack_pack_array(&t.pk, 6);
		msgpack_pack_uint32(&t.pk, versions[i]);
		msgpack_pack_uint32(&t.pk, PROTO_MSG_READY);
		msgpack_pack_uint32(&t.pk, 0);
		msgpack_pack_uint64(&t.pk, 0);
		tbuf_str(&t, "w");
		msgpack_pack_array(&t.pk, 0);
		memset(&env, 0x5a, sizeof(env));
		assert_int_equal(proto_env_decode(t.sb.data, t.sb.size, &env),
				 -EPROTONOSUPPORT);
		assert_int_equal(env.version, versions[i]);
		assert_int_equal(env.type, 0);
	}
	/* a future envelope of another length is still a version mismatch */
	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, 2);
	msgpack_pack_uint32(&t.pk, PROTO_VERSION + 1);
	tbuf_str(&t, "something new");
	assert_int_equal(proto_env_decode_next(t.sb.data, t.sb.size, &off, &env),
			 -EPROTONOSUPPORT);
	assert_int_equal(env.version, PROTO_VERSION + 1);
	assert_int_equal(off, 0);
	/* ... but our own version with another length is malformed */
	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, 2);
	msgpack_pack_uint32(&t.pk, PROTO_VERSION);
	tbuf_str(&t, "x");
	assert_int_equal(proto_env_decode(t.sb.data, t.sb.size, &env), -EBADMSG);
	tbuf_done(&t);
}

/* Oversized fields in payloads are rejected (-EBADMSG), at the limit fine. */
static void
test_payload_limits(void **state)
{
	struct tbuf t;
	struct proto_reader rd;
	struct proto_text text;
	struct proto_hello hello;
	struct proto_result res;
	struct proto_exit_report ex;
	struct proto_event ev;

	tbuf_init(&t);
	msgpack_pack_array(&t.pk, 1);
	tbuf_str_n(&t, 't', PROTO_STR_MAX);
	proto_reader_init(&rd, t.sb.data, t.sb.size);
	assert_int_equal(proto_text_unpack(&rd, &text), 0);
	assert_int_equal(text.len, PROTO_STR_MAX);

	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, 1);
	tbuf_str_n(&t, 't', PROTO_STR_MAX + 1);
	proto_reader_init(&rd, t.sb.data, t.sb.size);
	assert_int_equal(proto_text_unpack(&rd, &text), -EBADMSG);

	/* hello: name too long, name invalid, inbox too long, pid negative */
	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, 3);
	tbuf_str_n(&t, 'n', PROTO_NAME_MAX + 1);
	msgpack_pack_uint32(&t.pk, 1);
	tbuf_str(&t, "");
	proto_reader_init(&rd, t.sb.data, t.sb.size);
	assert_int_equal(proto_hello_unpack(&rd, &hello), -EBADMSG);

	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, 3);
	tbuf_str(&t, "-bad");
	msgpack_pack_uint32(&t.pk, 1);
	tbuf_str(&t, "");
	proto_reader_init(&rd, t.sb.data, t.sb.size);
	assert_int_equal(proto_hello_unpack(&rd, &hello), -EBADMSG);

	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, 3);
	tbuf_str(&t, "good");
	msgpack_pack_uint32(&t.pk, 1);
	tbuf_str_n(&t, 'u', PROTO_URL_MAX + 1);
	proto_reader_init(&rd, t.sb.data, t.sb.size);
	assert_int_equal(proto_hello_unpack(&rd, &hello), -EBADMSG);

	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, 3);
	tbuf_str(&t, "good");
	msgpack_pack_int32(&t.pk, -1);
	tbuf_str(&t, "");
	proto_reader_init(&rd, t.sb.data, t.sb.size);
	assert_int_equal(proto_hello_unpack(&rd, &hello), -EBADMSG);

	/* result: positive code is not -errno */
	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, 2);
	msgpack_pack_int32(&t.pk, 5);
	tbuf_str(&t, "x");
	proto_reader_init(&rd, t.sb.data, t.sb.size);
	assert_int_equal(proto_result_unpack(&rd, &res), -EBADMSG);

	/* exit report: unknown reason */
	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, 3);
	msgpack_pack_uint32(&t.pk, _PROTO_EXIT_MAX);
	msgpack_pack_int32(&t.pk, 0);
	tbuf_str(&t, "");
	proto_reader_init(&rd, t.sb.data, t.sb.size);
	assert_int_equal(proto_exit_report_unpack(&rd, &ex), -EBADMSG);

	/* event: invalid kind */
	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, 2);
	tbuf_str(&t, "a b");
	msgpack_pack_nil(&t.pk);
	proto_reader_init(&rd, t.sb.data, t.sb.size);
	assert_int_equal(proto_event_unpack(&rd, &ev), -EBADMSG);

	/* names: empty string, too long, not a string, count over the cap */
	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, 1);
	tbuf_str(&t, "");
	assert_int_equal(proto_payload_validate(PROTO_MSG_CTL_STOP, t.sb.data,
						t.sb.size), -EBADMSG);
	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, 1);
	tbuf_str_n(&t, 'a', PROTO_NAME_MAX + 1);
	assert_int_equal(proto_payload_validate(PROTO_MSG_CTL_STOP, t.sb.data,
						t.sb.size), -EBADMSG);
	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, 1);
	msgpack_pack_uint8(&t.pk, 1);
	assert_int_equal(proto_payload_validate(PROTO_MSG_CTL_STOP, t.sb.data,
						t.sb.size), -EBADMSG);
	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, PROTO_LIST_MAX);
	for (int i = 0; i < PROTO_LIST_MAX; i++)
		tbuf_str(&t, "a");
	assert_int_equal(proto_payload_validate(PROTO_MSG_CTL_STOP, t.sb.data,
						t.sb.size), 0);
	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, PROTO_LIST_MAX + 1);
	for (int i = 0; i < PROTO_LIST_MAX + 1; i++)
		tbuf_str(&t, "a");
	assert_int_equal(proto_payload_validate(PROTO_MSG_CTL_STOP, t.sb.data,
						t.sb.size), -EBADMSG);

	/* kill: signal 0 and 65 */
	for (int s = 0; s <= 65; s += 65) {
		tbuf_clear(&t);
		msgpack_pack_array(&t.pk, 2);
		msgpack_pack_uint32(&t.pk, (uint32_t)s);
		msgpack_pack_array(&t.pk, 0);
		assert_int_equal(proto_payload_validate(PROTO_MSG_CTL_KILL,
							t.sb.data, t.sb.size),
				 -EBADMSG);
	}
	tbuf_done(&t);
}

static int
stop_cb(const char *s, size_t len, void *userdata)
{
	int *calls = userdata;
	(*calls)++;
	return -ECANCELED;
}

/* Callbacks never see a malformed list; a callback error is returned. */
static void
test_names_callback(void **state)
{
	struct tbuf t;
	struct proto_reader rd;
	int calls = 0;

	tbuf_init(&t);
	msgpack_pack_array(&t.pk, 2);
	tbuf_str(&t, "a");
	msgpack_pack_uint8(&t.pk, 1);
	proto_reader_init(&rd, t.sb.data, t.sb.size);
	assert_int_equal(proto_names_unpack(&rd, stop_cb, &calls), -EBADMSG);
	assert_int_equal(calls, 0);

	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, 2);
	tbuf_str(&t, "a");
	tbuf_str(&t, "b");
	proto_reader_init(&rd, t.sb.data, t.sb.size);
	assert_int_equal(proto_names_unpack(&rd, stop_cb, &calls), -ECANCELED);
	assert_int_equal(calls, 1);
	tbuf_done(&t);
}

static void
test_builder_errors(void **state)
{
	struct proto_builder b;
	nng_msg *msg = NULL;
	char longname[PROTO_NAME_MAX + 2];

	assert_int_equal(proto_builder_begin(&b, 999, 0, 0, NULL), -EINVAL);
	assert_int_equal(proto_builder_begin(&b, PROTO_MSG_READY, 0x100, 0,
					     NULL), -EINVAL);
	assert_int_equal(proto_builder_begin(&b, PROTO_MSG_READY, 0, 0,
					     "a/b"), -EINVAL);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(proto_builder_begin(&b, PROTO_MSG_READY, 0, 0,
					     longname), -EINVAL);

	/* no payload object */
	assert_int_equal(proto_builder_begin(&b, PROTO_MSG_READY, 0, 0, ""), 0);
	assert_int_equal(proto_builder_finish(&b, &msg), -EINVAL);
	assert_null(msg);
	/* two payload objects */
	assert_int_equal(proto_builder_begin(&b, PROTO_MSG_READY, 0, 0, ""), 0);
	proto_empty_pack(&b.pk);
	proto_empty_pack(&b.pk);
	assert_int_equal(proto_builder_finish(&b, &msg), -EINVAL);
	/* abort frees */
	assert_int_equal(proto_builder_begin(&b, PROTO_MSG_READY, 0, 0, ""), 0);
	proto_empty_pack(&b.pk);
	proto_builder_abort(&b);

	/* pack functions refuse what the other side would reject */
	assert_int_equal(proto_builder_begin(&b, PROTO_MSG_HELLO, 0, 0, ""), 0);
	{
		struct proto_hello h = { .name = "-x" };
		struct proto_text tx = { "x", PROTO_STR_MAX + 1 };
		struct proto_exit_report ex = { .reason = 99 };
		struct proto_result res = { .code = 1 };
		struct proto_event ev = { "k", 1, "\xc1", 1 };
		struct proto_kill k = { 0, { NULL, 0 } };
		const char *empty[] = { "" };
		struct proto_names nm = { empty, 1 };
		struct proto_status_record rec = { .name = "ok" };
		assert_int_equal(proto_hello_pack(&b.pk, &h), -EINVAL);
		assert_int_equal(proto_text_pack(&b.pk, &tx), -EMSGSIZE);
		assert_int_equal(proto_exit_report_pack(&b.pk, &ex), -EINVAL);
		assert_int_equal(proto_result_pack(&b.pk, &res), -EINVAL);
		assert_int_equal(proto_event_pack(&b.pk, &ev), -EINVAL);
		assert_int_equal(proto_kill_pack(&b.pk, &k), -EINVAL);
		assert_int_equal(proto_names_pack(&b.pk, &nm), -EINVAL);
		assert_int_equal(proto_status_record_pack(&b.pk, &rec), -EINVAL);
		assert_int_equal(proto_pack_raw(&b.pk, "\x92\x01", 2), -EINVAL);
	}
	proto_builder_abort(&b);
}

/* HELLO with and without its network URLs; the name server's reply. */
static void
test_host_payloads(void **state)
{
	struct tbuf t;
	struct proto_reader rd;
	struct proto_hello h = { .name = "w", .pid = 7, .inbox = "", .net = {
		.url = { "tcp://0.0.0.0:5", "tls+tcp://h:6" },
		.len = { 15, 13 }, .n = 2 } };
	struct proto_hello got;
	struct proto_host_peer hp, hp_got;
	uint32_t n;

	(void)state;
	tbuf_init(&t);
	assert_int_equal(proto_hello_pack(&t.pk, &h), 0);
	proto_reader_init(&rd, t.sb.data, t.sb.size);
	assert_int_equal(proto_read_array(&rd, &n), 0);
	assert_int_equal(n, 4);
	proto_reader_init(&rd, t.sb.data, t.sb.size);
	assert_int_equal(proto_hello_unpack(&rd, &got), 0);
	assert_int_equal(got.net.n, 2);
	assert_true(mem_eq(got.net.url[1], got.net.len[1], "tls+tcp://h:6", 13));

	/* without network URLs: the short form, as before */
	h.net.n = 0;
	tbuf_clear(&t);
	assert_int_equal(proto_hello_pack(&t.pk, &h), 0);
	proto_reader_init(&rd, t.sb.data, t.sb.size);
	assert_int_equal(proto_read_array(&rd, &n), 0);
	assert_int_equal(n, 3);
	proto_reader_init(&rd, t.sb.data, t.sb.size);
	assert_int_equal(proto_hello_unpack(&rd, &got), 0);
	assert_int_equal(got.net.n, 0);

	/* a 4th element that is not a list of network URLs, a 5th */
	{
		static const char *const bad_urls[] = {
			"ipc:///x", "tcp://", "http://h:1", "",
		};
		for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
			tbuf_clear(&t);
			msgpack_pack_array(&t.pk, 4);
			tbuf_str(&t, "w");
			msgpack_pack_uint32(&t.pk, 7);
			tbuf_str(&t, "");
			msgpack_pack_array(&t.pk, 1);
			tbuf_str(&t, bad_urls[i]);
			proto_reader_init(&rd, t.sb.data, t.sb.size);
			assert_int_equal(proto_hello_unpack(&rd, &got), -EBADMSG);
		}
	}
	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, 4);
	tbuf_str(&t, "w");
	msgpack_pack_uint32(&t.pk, 7);
	tbuf_str(&t, "");
	msgpack_pack_array(&t.pk, PROTO_NET_URLS_MAX + 1);
	for (int i = 0; i <= PROTO_NET_URLS_MAX; i++)
		tbuf_str(&t, "tcp://h:1");
	proto_reader_init(&rd, t.sb.data, t.sb.size);
	assert_int_equal(proto_hello_unpack(&rd, &got), -EBADMSG);
	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, 5);
	tbuf_str(&t, "w");
	msgpack_pack_uint32(&t.pk, 7);
	tbuf_str(&t, "");
	msgpack_pack_array(&t.pk, 0);
	msgpack_pack_nil(&t.pk);
	proto_reader_init(&rd, t.sb.data, t.sb.size);
	assert_int_equal(proto_hello_unpack(&rd, &got), -EBADMSG);
	/* a URL of PROTO_URL_MAX + 1 bytes */
	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, 4);
	tbuf_str(&t, "w");
	msgpack_pack_uint32(&t.pk, 7);
	tbuf_str(&t, "");
	msgpack_pack_array(&t.pk, 1);
	{
		char u[PROTO_URL_MAX + 2];
		memset(u, 'h', sizeof(u) - 1);
		memcpy(u, "tcp://", 6);
		u[sizeof(u) - 1] = '\0';
		tbuf_str(&t, u);
	}
	proto_reader_init(&rd, t.sb.data, t.sb.size);
	assert_int_equal(proto_hello_unpack(&rd, &got), -EBADMSG);

	/* pack refuses what unpack would reject */
	h.net.n = PROTO_NET_URLS_MAX + 1;
	assert_int_equal(proto_hello_pack(&t.pk, &h), -EINVAL);
	h.net.n = 1;
	h.net.url[0] = "ipc:///x";
	h.net.len[0] = 8;
	assert_int_equal(proto_hello_pack(&t.pk, &h), -EINVAL);

	/* the name server's reply: no URLs is fine, an empty state is not */
	hp = (struct proto_host_peer){ .name = "nosuch", .name_len = 6,
				       .state = "unknown", .state_len = 7 };
	tbuf_clear(&t);
	assert_int_equal(proto_host_peer_pack(&t.pk, &hp), 0);
	proto_reader_init(&rd, t.sb.data, t.sb.size);
	assert_int_equal(proto_host_peer_unpack(&rd, &hp_got), 0);
	assert_int_equal(hp_got.urls.n, 0);
	assert_int_equal(hp_got.pid, 0);
	hp.state_len = 0;
	assert_int_equal(proto_host_peer_pack(&t.pk, &hp), -EINVAL);
	tbuf_clear(&t);
	msgpack_pack_array(&t.pk, 4);
	tbuf_str(&t, "w");
	msgpack_pack_array(&t.pk, 0);
	msgpack_pack_uint32(&t.pk, 0);
	tbuf_str(&t, "");
	proto_reader_init(&rd, t.sb.data, t.sb.size);
	assert_int_equal(proto_host_peer_unpack(&rd, &hp_got), -EBADMSG);
	tbuf_done(&t);
}

/* Several envelopes in one nng_msg, walked with decode_next. */
static void
test_batch(void **state)
{
	struct proto_builder b;
	nng_msg *msg = NULL, *m2;
	struct proto_env env;
	size_t off = 0, len_before;
	int n = 0;

	assert_int_equal(proto_builder_begin(&b, PROTO_MSG_HEARTBEAT,
					     PROTO_F_BATCH, 1, "w"), 0);
	{
		struct proto_heartbeat hb = { 1 };
		proto_heartbeat_pack(&b.pk, &hb);
	}
	assert_int_equal(proto_builder_finish(&b, &msg), 0);
	for (uint64_t i = 2; i <= 5; i++) {
		struct proto_heartbeat hb = { i };
		assert_int_equal(proto_builder_begin_append(
					 &b, msg, PROTO_MSG_HEARTBEAT,
					 i < 5 ? PROTO_F_BATCH : 0, i, "w"),
				 0);
		proto_heartbeat_pack(&b.pk, &hb);
		m2 = NULL;
		assert_int_equal(proto_builder_finish(&b, &m2), 0);
		assert_ptr_equal(m2, msg);
	}
	/* a failed append leaves the batch as it was */
	len_before = nng_msg_len(msg);
	assert_int_equal(proto_builder_begin_append(&b, msg, PROTO_MSG_READY,
						    0, 0, "w"), 0);
	proto_empty_pack(&b.pk);
	proto_empty_pack(&b.pk);
	assert_int_equal(proto_builder_finish(&b, NULL), -EINVAL);
	assert_int_equal(nng_msg_len(msg), len_before);
	assert_int_equal(proto_builder_begin_append(&b, msg, PROTO_MSG_READY,
						    0, 0, "w"), 0);
	proto_empty_pack(&b.pk);
	proto_builder_abort(&b);
	assert_int_equal(nng_msg_len(msg), len_before);

	/* the batch as a whole is not one envelope */
	assert_int_equal(proto_env_decode_msg(msg, &env), -EBADMSG);
	while (off < nng_msg_len(msg)) {
		struct proto_reader rd;
		struct proto_heartbeat hb;
		assert_int_equal(proto_env_decode_next(nng_msg_body(msg),
						       nng_msg_len(msg), &off,
						       &env), 0);
		n++;
		assert_int_equal(env.corr, n);
		assert_int_equal(env.flags, n < 5 ? PROTO_F_BATCH : 0);
		proto_reader_init(&rd, env.payload, env.payload_len);
		assert_int_equal(proto_heartbeat_unpack(&rd, &hb), 0);
		assert_int_equal(hb.seq, n);
	}
	assert_int_equal(n, 5);
	assert_int_equal(off, nng_msg_len(msg));
	assert_int_equal(proto_env_decode_next(nng_msg_body(msg),
					       nng_msg_len(msg), &off, &env),
			 -EBADMSG);

	/* garbage after the last envelope of a batch */
	assert_int_equal(nng_msg_append(msg, "\xc1", 1), 0);
	off = 0;
	n = 0;
	while (proto_env_decode_next(nng_msg_body(msg), nng_msg_len(msg), &off,
				     &env) == 0)
		n++;
	assert_int_equal(n, 5);
	assert_int_equal(off, nng_msg_len(msg) - 1);
	nng_msg_free(msg);
}

/* PROTO_MSG_MAX: -EMSGSIZE when encoding and when decoding. */
static void
test_size_cap(void **state)
{
	struct proto_builder b;
	nng_msg *msg = NULL;
	uint8_t *big;
	struct proto_env env;
	size_t off = 0;
	size_t fill;

	big = calloc(1, PROTO_MSG_MAX + 1);
	assert_non_null(big);

	/* a payload that alone exceeds the cap */
	assert_int_equal(proto_builder_begin(&b, PROTO_MSG_RESPONSE, 0, 1,
					     "w"), 0);
	msgpack_pack_array(&b.pk, 1);
	msgpack_pack_bin(&b.pk, PROTO_MSG_MAX);
	msgpack_pack_bin_body(&b.pk, big, PROTO_MSG_MAX);
	assert_int_equal(proto_builder_finish(&b, &msg), -EMSGSIZE);
	assert_null(msg);

	/* the largest message that fits, exactly PROTO_MSG_MAX bytes:
	 * envelope head: array 1, version 1, type 302 (uint16) 3, flags 1,
	 * corr 1, sender "w" 2 = 9; payload array 1; bin32 head 5 */
	fill = PROTO_MSG_MAX - 9 - 1 - 5;
	assert_int_equal(proto_builder_begin(&b, PROTO_MSG_RESPONSE, 0, 1,
					     "w"), 0);
	msgpack_pack_array(&b.pk, 1);
	msgpack_pack_bin(&b.pk, fill);
	msgpack_pack_bin_body(&b.pk, big, fill);
	assert_int_equal(proto_builder_finish(&b, &msg), 0);
	assert_int_equal(nng_msg_len(msg), PROTO_MSG_MAX);
	assert_int_equal(proto_env_decode_msg(msg, &env), 0);
	/* one byte more does not fit: encode */
	nng_msg_free(msg);
	msg = NULL;
	assert_int_equal(proto_builder_begin(&b, PROTO_MSG_RESPONSE, 0, 1,
					     "w"), 0);
	msgpack_pack_array(&b.pk, 1);
	msgpack_pack_bin(&b.pk, fill + 1);
	msgpack_pack_bin_body(&b.pk, big, fill + 1);
	assert_int_equal(proto_builder_finish(&b, &msg), -EMSGSIZE);
	/* ... and decode (whatever the bytes, the length decides first) */
	assert_int_equal(proto_env_decode(big, PROTO_MSG_MAX + 1, &env),
			 -EMSGSIZE);
	assert_int_equal(proto_env_decode_next(big, PROTO_MSG_MAX + 1, &off,
					       &env), -EMSGSIZE);
	free(big);
}

static void
test_errno_mapping(void **state)
{
	static const struct {
		int nng;
		int want;
	} map[] = {
		{ 0, 0 },
		{ NNG_ETIMEDOUT, -ETIMEDOUT },
		{ NNG_ECLOSED, -ESHUTDOWN },
		{ NNG_EAGAIN, -EAGAIN },
		{ NNG_ECONNREFUSED, -ECONNREFUSED },
		{ NNG_ECONNRESET, -ECONNRESET },
		{ NNG_ECONNSHUT, -ECONNRESET },
		{ NNG_EMSGSIZE, -EMSGSIZE },
		{ NNG_ENOMEM, -ENOMEM },
		{ NNG_EINVAL, -EINVAL },
		{ NNG_ENOENT, -ENOENT },
		{ NNG_EADDRINUSE, -EADDRINUSE },
		{ NNG_EPERM, -EPERM },
		{ NNG_ECANCELED, -ECANCELED },
		{ NNG_ENOTSUP, -EOPNOTSUPP },
		{ NNG_ESTATE, -EBADFD },
		{ NNG_EPROTO, -EPROTO },
		{ NNG_ENOFILES, -EMFILE },
		{ NNG_EINTR, -EINTR },
		{ NNG_EBUSY, -EBUSY },
		{ NNG_EUNREACHABLE, -EHOSTUNREACH },
		{ NNG_EADDRINVAL, -EADDRNOTAVAIL },
		{ NNG_ECONNABORTED, -ECONNABORTED },
		{ NNG_ENOSPC, -ENOSPC },
		{ NNG_EEXIST, -EEXIST },
		{ NNG_EPEERAUTH, -EACCES },
		{ NNG_EINTERNAL, -EIO },
		{ NNG_ESYSERR | EMFILE, -EMFILE },
		{ NNG_ESYSERR | EPIPE, -EPIPE },
		{ NNG_ESYSERR, -EIO },
		{ NNG_ETRANERR | 3, -EPROTO },
		{ 12345, -EIO },
		{ -ENOENT, -ENOENT },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (proto_errno_from_nng(map[i].nng) != map[i].want)
			fail_msg("nng %d: got %d, want %d", map[i].nng,
				 proto_errno_from_nng(map[i].nng), map[i].want);
	/* every code nng 1.5 defines maps to a negative errno */
	for (int rv = 1; rv <= NNG_ECONNSHUT; rv++)
		assert_true(proto_errno_from_nng(rv) < 0);
	/* a real nng call */
	{
		nng_socket s;
		assert_int_equal(proto_errno_from_nng(nng_pair1_open(&s)), 0);
		assert_int_equal(proto_errno_from_nng(
					 nng_dial(s, "bogus://x", NULL, 0)),
				 -EOPNOTSUPP);
		assert_int_equal(proto_errno_from_nng(nng_close(s)), 0);
		assert_int_equal(proto_errno_from_nng(nng_close(s)),
				 -ESHUTDOWN);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_table),
		cmocka_unit_test(test_roundtrip_all_types),
		cmocka_unit_test(test_truncation_and_trailing),
		cmocka_unit_test(test_payload_wrong_fields),
		cmocka_unit_test(test_malformed_envelopes),
		cmocka_unit_test(test_foreign_version),
		cmocka_unit_test(test_payload_limits),
		cmocka_unit_test(test_names_callback),
		cmocka_unit_test(test_builder_errors),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_host_payloads),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_errno_mapping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
