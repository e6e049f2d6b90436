/* SPDX-License-Identifier: MIT */
/*
 * proto-ctl.c - payloads between agentctl and agentd.
 */
#include "proto-internal.h"
#include "proto-ctl.h"

/* A name or glob pattern in a list: 1..PROTO_NAME_MAX bytes, no NUL. */
static bool
pattern_ok(const char *s, size_t len)
{
	return s && len > 0 && len <= PROTO_NAME_MAX && !memchr(s, '\0', len);
}

int
proto_names_pack(msgpack_packer *pk, const struct proto_names *m)
{
	if (m->n > PROTO_LIST_MAX || (m->n > 0 && !m->names))
		return -EINVAL;
	for (uint32_t i = 0; i < m->n; i++) {
		const char *s = m->names[i];
		if (!s || !pattern_ok(s, strnlen(s, PROTO_NAME_MAX + 1)))
			return -EINVAL;
	}
	PK(msgpack_pack_array(pk, m->n));
	for (uint32_t i = 0; i < m->n; i++)
		PKR(proto_pack_cstr(pk, m->names[i]));
	return 0;
}

/* Read [name...] without calling anybody; *ret_n is the count. */
static int
names_scan(struct proto_reader *rd, uint32_t *ret_n)
{
	uint32_t n = 0;

	proto_read_array(rd, &n);
	if (!rd->err && n > PROTO_LIST_MAX)
		return proto__bad(rd);
	for (uint32_t i = 0; i < n && !rd->err; i++) {
		const char *s;
		size_t len;
		if (proto_read_str(rd, &s, &len, PROTO_NAME_MAX) == 0 &&
		    !pattern_ok(s, len))
			return proto__bad(rd);
	}
	if (rd->err)
		return -EBADMSG;
	*ret_n = n;
	return 0;
}

/* Call cb for each name of a list that names_scan() accepted. */
static int
names_call(struct proto_reader *rd,
	   int (*cb)(const char *s, size_t len, void *userdata),
	   void *userdata)
{
	uint32_t n = 0;
	int r;

	proto_read_array(rd, &n);
	for (uint32_t i = 0; i < n; i++) {
		const char *s;
		size_t len;
		if (proto_read_str(rd, &s, &len, PROTO_NAME_MAX) < 0)
			return -EBADMSG; /* cannot happen after a scan */
		if (cb) {
			r = cb(s, len, userdata);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/*
 * The whole payload is validated first, so cb never sees a name of a
 * message that turns out to be malformed.
 */
int
proto_names_unpack(struct proto_reader *rd,
		   int (*cb)(const char *s, size_t len, void *userdata),
		   void *userdata)
{
	struct proto_reader scan = *rd;
	uint32_t n;
	int r;

	if (names_scan(&scan, &n) < 0 || proto__end(&scan) < 0)
		return proto__bad(rd);
	r = names_call(rd, cb, userdata);
	if (r < 0)
		return r;
	return proto__end(rd);
}

int
proto_kill_pack(msgpack_packer *pk, const struct proto_kill *m)
{
	if (m->signal <= 0 || m->signal >= PROTO_SIGNAL_MAX)
		return -EINVAL;
	PK(msgpack_pack_array(pk, 2));
	PK(msgpack_pack_uint32(pk, (uint32_t)m->signal));
	return proto_names_pack(pk, &m->names);
}

int
proto_kill_unpack(struct proto_reader *rd, int32_t *ret_signal,
		  int (*cb)(const char *s, size_t len, void *userdata),
		  void *userdata)
{
	struct proto_reader scan = *rd;
	uint32_t sig = 0, n;
	int r;

	proto_read_array_n(&scan, 2);
	proto_read_u32(&scan, &sig);
	if (!scan.err && (sig == 0 || sig >= PROTO_SIGNAL_MAX))
		proto__bad(&scan);
	if (scan.err || names_scan(&scan, &n) < 0 || proto__end(&scan) < 0)
		return proto__bad(rd);

	proto_read_array_n(rd, 2);
	proto_read_u32(rd, &sig);
	if (ret_signal)
		*ret_signal = (int32_t)sig;
	r = names_call(rd, cb, userdata);
	if (r < 0)
		return r;
	return proto__end(rd);
}

static bool
str_ok(const char *s, bool empty_ok)
{
	size_t len = strlen(s);
	return len > 0 || empty_ok;
}

int
proto_status_record_pack(msgpack_packer *pk,
			 const struct proto_status_record *m)
{
	size_t nlen = strnlen(m->name, sizeof(m->name));
	size_t glen = strnlen(m->group, sizeof(m->group));

	if (nlen >= sizeof(m->name) || !proto_name_is_valid(m->name, nlen))
		return -EINVAL;
	if (glen >= sizeof(m->group) ||
	    (glen > 0 && !proto_name_is_valid(m->group, glen)))
		return -EINVAL;
	if (strnlen(m->state, sizeof(m->state)) >= sizeof(m->state) ||
	    !str_ok(m->state, false))
		return -EINVAL;
	if (strnlen(m->last_exit, sizeof(m->last_exit)) >= sizeof(m->last_exit))
		return -EINVAL;
	PK(msgpack_pack_array(pk, 7));
	PKR(proto_pack_str(pk, m->name, nlen));
	PKR(proto_pack_str(pk, m->group, glen));
	PKR(proto_pack_cstr(pk, m->state));
	PK(msgpack_pack_uint32(pk, m->pid));
	PK(msgpack_pack_uint32(pk, m->restarts));
	PK(msgpack_pack_uint64(pk, m->uptime_ms));
	PKR(proto_pack_cstr(pk, m->last_exit));
	return 0;
}

int
proto_status_record_unpack(struct proto_reader *rd,
			   struct proto_status_record *m)
{
	struct proto_status_record v;

	memset(&v, 0, sizeof(v));
	proto_read_array_n(rd, 7);
	proto_read_name(rd, v.name, sizeof(v.name));
	proto_read_strbuf(rd, v.group, sizeof(v.group));
	proto_read_strbuf(rd, v.state, sizeof(v.state));
	proto_read_u32(rd, &v.pid);
	proto_read_u32(rd, &v.restarts);
	proto_read_u64(rd, &v.uptime_ms);
	proto_read_strbuf(rd, v.last_exit, sizeof(v.last_exit));
	if (rd->err)
		return proto__bad(rd);
	if (v.group[0] && !proto_name_is_valid(v.group, strlen(v.group)))
		return proto__bad(rd);
	if (!v.state[0])
		return proto__bad(rd);
	*m = v;
	return 0;
}

int
proto_status_reply_unpack(struct proto_reader *rd,
			  int (*cb)(const struct proto_status_record *rec,
				    void *userdata),
			  void *userdata)
{
	struct proto_reader scan = *rd;
	struct proto_status_record rec;
	uint32_t n = 0;
	int r;

	proto_read_array(&scan, &n);
	if (!scan.err && n > PROTO_LIST_MAX)
		proto__bad(&scan);
	for (uint32_t i = 0; i < n && !scan.err; i++)
		proto_status_record_unpack(&scan, &rec);
	if (proto__end(&scan) < 0)
		return proto__bad(rd);

	proto_read_array(rd, &n);
	for (uint32_t i = 0; i < n; i++) {
		if (proto_status_record_unpack(rd, &rec) < 0)
			return -EBADMSG;
		if (cb) {
			r = cb(&rec, userdata);
			if (r < 0)
				return r;
		}
	}
	return proto__end(rd);
}

int
proto_result_pack(msgpack_packer *pk, const struct proto_result *m)
{
	if (m->code > 0)
		return -EINVAL;
	PKR(proto__check_str(m->message, m->message_len, PROTO_STR_MAX));
	PK(msgpack_pack_array(pk, 2));
	PK(msgpack_pack_int32(pk, m->code));
	PKR(proto_pack_str(pk, m->message, m->message_len));
	return 0;
}

int
proto_result_unpack(struct proto_reader *rd, struct proto_result *m)
{
	struct proto_result v = { 0 };

	proto_read_array_n(rd, 2);
	proto_read_i32(rd, &v.code);
	proto_read_str(rd, &v.message, &v.message_len, PROTO_STR_MAX);
	if (!rd->err && v.code > 0)
		proto__bad(rd);
	if (proto__end(rd) < 0)
		return -EBADMSG;
	*m = v;
	return 0;
}

/* ---- long polls: events and logs --------------------------------------- */

int
proto_events_req_pack(msgpack_packer *pk, const struct proto_events_req *m)
{
	if (m->max > PROTO_EVENTS_MAX || m->wait_ms > PROTO_WAIT_MAX_MS)
		return -EINVAL;
	PK(msgpack_pack_array(pk, 3));
	PK(msgpack_pack_uint64(pk, m->since_seq));
	PK(msgpack_pack_uint32(pk, m->max));
	PK(msgpack_pack_uint32(pk, m->wait_ms));
	return 0;
}

int
proto_events_req_unpack(struct proto_reader *rd, struct proto_events_req *m)
{
	struct proto_events_req v = { 0 };

	proto_read_array_n(rd, 3);
	proto_read_u64(rd, &v.since_seq);
	proto_read_u32(rd, &v.max);
	proto_read_u32(rd, &v.wait_ms);
	if (!rd->err && (v.max > PROTO_EVENTS_MAX ||
			 v.wait_ms > PROTO_WAIT_MAX_MS))
		proto__bad(rd);
	if (proto__end(rd) < 0)
		return -EBADMSG;
	*m = v;
	return 0;
}

/* A state name: 1..PROTO_NAME_MAX bytes (NUL-terminated in its array). */
static bool
state_ok(const char *s, size_t size)
{
	size_t len = strnlen(s, size);

	return len > 0 && len < size;
}

int
proto_event_record_pack(msgpack_packer *pk, const struct proto_event_record *m)
{
	size_t nlen = strnlen(m->name, sizeof(m->name));

	if (nlen >= sizeof(m->name) || !proto_name_is_valid(m->name, nlen))
		return -EINVAL;
	if (!state_ok(m->from, sizeof(m->from)) || !state_ok(m->to, sizeof(m->to)))
		return -EINVAL;
	if (strnlen(m->detail, sizeof(m->detail)) >= sizeof(m->detail))
		return -EINVAL;
	PK(msgpack_pack_array(pk, 6));
	PK(msgpack_pack_uint64(pk, m->seq));
	PK(msgpack_pack_uint64(pk, m->realtime_usec));
	PKR(proto_pack_str(pk, m->name, nlen));
	PKR(proto_pack_cstr(pk, m->from));
	PKR(proto_pack_cstr(pk, m->to));
	PKR(proto_pack_cstr(pk, m->detail));
	return 0;
}

int
proto_event_record_unpack(struct proto_reader *rd, struct proto_event_record *m)
{
	struct proto_event_record v;

	memset(&v, 0, sizeof(v));
	proto_read_array_n(rd, 6);
	proto_read_u64(rd, &v.seq);
	proto_read_u64(rd, &v.realtime_usec);
	proto_read_name(rd, v.name, sizeof(v.name));
	proto_read_strbuf(rd, v.from, sizeof(v.from));
	proto_read_strbuf(rd, v.to, sizeof(v.to));
	proto_read_strbuf(rd, v.detail, sizeof(v.detail));
	if (rd->err)
		return proto__bad(rd);
	if (!v.from[0] || !v.to[0])
		return proto__bad(rd);
	*m = v;
	return 0;
}

int
proto_seq_head_pack(msgpack_packer *pk, const struct proto_seq_head *m)
{
	if (m->first_seq > m->next_seq ||
	    m->n > m->next_seq - m->first_seq)
		return -EINVAL;
	PK(msgpack_pack_array(pk, 4));
	PK(msgpack_pack_uint64(pk, m->first_seq));
	PK(msgpack_pack_uint64(pk, m->next_seq));
	PK(msgpack_pack_uint64(pk, m->missed));
	PK(msgpack_pack_array(pk, m->n));
	return 0;
}

/* The head up to and including the item array header (n <= max). */
static void
seq_head_read(struct proto_reader *rd, struct proto_seq_head *h, uint32_t max)
{
	memset(h, 0, sizeof(*h));
	proto_read_array_n(rd, 4);
	proto_read_u64(rd, &h->first_seq);
	proto_read_u64(rd, &h->next_seq);
	proto_read_u64(rd, &h->missed);
	proto_read_array(rd, &h->n);
	if (!rd->err && (h->n > max || h->first_seq > h->next_seq ||
			 h->n > h->next_seq - h->first_seq))
		proto__bad(rd);
}

int
proto_events_reply_unpack(struct proto_reader *rd,
			  struct proto_seq_head *ret_head,
			  int (*cb)(const struct proto_event_record *ev,
				    void *userdata),
			  void *userdata)
{
	struct proto_reader scan = *rd;
	struct proto_event_record ev;
	struct proto_seq_head h;
	uint64_t want;
	int r;

	seq_head_read(&scan, &h, PROTO_EVENTS_MAX);
	/* the events are consecutive and end at next_seq - 1 */
	want = h.next_seq - h.n;
	for (uint32_t i = 0; i < h.n && !scan.err; i++)
		if (proto_event_record_unpack(&scan, &ev) == 0 &&
		    ev.seq != want + i)
			proto__bad(&scan);
	if (proto__end(&scan) < 0)
		return proto__bad(rd);

	seq_head_read(rd, &h, PROTO_EVENTS_MAX);
	if (ret_head)
		*ret_head = h;
	for (uint32_t i = 0; i < h.n; i++) {
		if (proto_event_record_unpack(rd, &ev) < 0)
			return -EBADMSG;
		if (cb) {
			r = cb(&ev, userdata);
			if (r < 0)
				return r;
		}
	}
	return proto__end(rd);
}

int
proto_logs_req_pack(msgpack_packer *pk, const struct proto_logs_req *m)
{
	size_t nlen = strnlen(m->name, sizeof(m->name));

	if (nlen >= sizeof(m->name) || !proto_name_is_valid(m->name, nlen))
		return -EINVAL;
	if (m->lines > PROTO_LOG_LINES_MAX || m->wait_ms > PROTO_WAIT_MAX_MS)
		return -EINVAL;
	PK(msgpack_pack_array(pk, 4));
	PKR(proto_pack_str(pk, m->name, nlen));
	PK(msgpack_pack_uint32(pk, m->lines));
	PK(msgpack_pack_uint64(pk, m->since_seq));
	PK(msgpack_pack_uint32(pk, m->wait_ms));
	return 0;
}

int
proto_logs_req_unpack(struct proto_reader *rd, struct proto_logs_req *m)
{
	struct proto_logs_req v;

	memset(&v, 0, sizeof(v));
	proto_read_array_n(rd, 4);
	proto_read_name(rd, v.name, sizeof(v.name));
	proto_read_u32(rd, &v.lines);
	proto_read_u64(rd, &v.since_seq);
	proto_read_u32(rd, &v.wait_ms);
	if (!rd->err && (v.lines > PROTO_LOG_LINES_MAX ||
			 v.wait_ms > PROTO_WAIT_MAX_MS))
		proto__bad(rd);
	if (proto__end(rd) < 0)
		return -EBADMSG;
	*m = v;
	return 0;
}

int
proto_logs_reply_unpack(struct proto_reader *rd,
			struct proto_seq_head *ret_head,
			int (*cb)(uint64_t seq, const char *line, size_t len,
				  void *userdata),
			void *userdata)
{
	struct proto_reader scan = *rd;
	struct proto_seq_head h;
	const char *s;
	size_t len;
	uint64_t seq;
	int r;

	seq_head_read(&scan, &h, PROTO_LOG_LINES_MAX);
	for (uint32_t i = 0; i < h.n && !scan.err; i++)
		proto_read_str(&scan, &s, &len, PROTO_STR_MAX);
	if (proto__end(&scan) < 0)
		return proto__bad(rd);

	seq_head_read(rd, &h, PROTO_LOG_LINES_MAX);
	if (ret_head)
		*ret_head = h;
	seq = h.next_seq - h.n;
	for (uint32_t i = 0; i < h.n; i++) {
		if (proto_read_str(rd, &s, &len, PROTO_STR_MAX) < 0)
			return -EBADMSG;
		if (cb) {
			r = cb(seq + i, s, len, userdata);
			if (r < 0)
				return r;
		}
	}
	return proto__end(rd);
}
