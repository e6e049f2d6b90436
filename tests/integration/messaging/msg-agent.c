/* SPDX-License-Identifier: MIT */
/*
 * msg-agent - a libagent agent process for the messaging integration
 * tests. argv picks the role (agent_main() itself ignores argv):
 *
 *   msg-agent sink
 *	counts "seq" events ([src, seq] bodies) and checks, per source,
 *	that seq is exactly the previous one + 1 (none missing, duplicated
 *	or reordered). Requests: "stats" -> [events, errors, received,
 *	dropped, malformed] (the last three from agent_remote_stats());
 *	"fin" -> the number of events seen from the body's source;
 *	"whoami" -> the pid of the process (restart tests). Event "stall"
 *	PATH: blocks its loop until PATH exists (see on_stall()).
 *
 *   msg-agent caller TARGET
 *	answers each "ask" request with TARGET's answer to "whoami" (1 s
 *	timeout, $MSG_ASK_TIMEOUT_MS), or with the error of that request.
 *
 *   msg-agent relay NEXT
 *	a pipeline stage: forwards "seq" events to NEXT (a name or a pool),
 *	keeping them in order and pausing its mailbox while NEXT is full.
 *	"stats" -> [forwarded].
 *
 *   msg-agent pub | sub PUB TOPIC
 *	a publisher of topic "t" and a subscriber that checks snapshot,
 *	order and missed counts (see their sections).
 *
 *   msg-agent watcher TARGET
 *	monitors TARGET through agentd (agent_monitor): "seen" -> the
 *	transitions it was told, ["name:state:pid", ...]; "resolve" with a
 *	name as body -> [name, inbox, pid, state] (agent_resolve).
 *
 *   msg-agent source TARGET N SRC [stay|exit]
 *	sends "seq" events 1..N tagged SRC to TARGET as fast as the inbox
 *	takes them (on -EAGAIN / -ECONNREFUSED it sleeps 1 ms and retries:
 *	counted), then a "fin" request; ends (exit 0) when the answer equals
 *	N, fails (exit 1) otherwise. Its status text says what happened; it
 *	also prints, on stdout, "source SRC: -EAGAIN at seq S" at the first
 *	-EAGAIN (backpressure) and its status text when it ends.
 *	With "stay": no "fin", it stays up once everything is sent.
 *	With "exit": no "fin", it ends (exit 0) as soon as the last send
 *	is accepted: what is still in flight must be delivered on the way
 *	out (libagent waits for nng to write it).
 *
 *   With $MSG_UNORDERED the sink checks exactly-once in any order (a
 *   bitmap per source) instead of FIFO.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include <agent/agent.h>

#define MAX_SRC 16

struct seq_ev {
	uint64_t src, seq;
};

static int
pack_u64s(const uint64_t *v, unsigned n, void **buf, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, n);
	for (unsigned i = 0; i < n; i++)
		msgpack_pack_uint64(&pk, v[i]);
	if (!sb.data)
		return -ENOMEM;
	*buf = sb.data;
	*len = sb.size;
	return 0;
}

/* [u64, u64, ...] with exactly n elements */
static int
unpack_u64s(const void *buf, size_t len, uint64_t *v, unsigned n)
{
	msgpack_unpacked u;
	size_t off = 0;
	int r = -EBADMSG;

	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, buf, len, &off) == MSGPACK_UNPACK_SUCCESS &&
	    off == len && u.data.type == MSGPACK_OBJECT_ARRAY &&
	    u.data.via.array.size == n) {
		r = 0;
		for (unsigned i = 0; i < n; i++) {
			const msgpack_object *o = &u.data.via.array.ptr[i];
			if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
				r = -EBADMSG;
				break;
			}
			v[i] = o->via.u64;
		}
	}
	msgpack_unpacked_destroy(&u);
	return r;
}

static int
seq_encode(const void *p, void **buf, size_t *len)
{
	const struct seq_ev *e = p;
	uint64_t v[2] = { e->src, e->seq };

	return pack_u64s(v, 2, buf, len);
}

/* replies are a heap array: [count, v...] */
static int
u64s_encode(const void *p, void **buf, size_t *len)
{
	const uint64_t *v = p;

	return pack_u64s(v + 1, (unsigned)v[0], buf, len);
}

static uint64_t *
u64s_new(unsigned n)
{
	uint64_t *v = calloc(n + 1, sizeof(*v));

	if (v)
		v[0] = n;
	return v;
}

static const struct agent_msg_type seq_type = {
	.name = "seq", .encode = seq_encode,
};
static const struct agent_msg_type stats_type = {
	.name = "stats", .reply_free = free, .reply_encode = u64s_encode,
};
static const struct agent_msg_type fin_type = {
	.name = "fin", .encode = u64s_encode, .free = free,
	.reply_free = free, .reply_encode = u64s_encode,
};
static const struct agent_msg_type whoami_type = {
	.name = "whoami", .reply_free = free, .reply_encode = u64s_encode,
};

/* ---- sink ----------------------------------------------------------------- */

#define UNORDERED_MAX	(1u << 22) /* seqs per source in unordered mode */

struct sink {
	uint64_t events, errors;
	uint64_t next[MAX_SRC]; /* last seq seen per source */
	bool unordered;         /* $MSG_UNORDERED: exactly once, any order */
	unsigned slow;          /* $MSG_SINK_SLOW: sleep 1 ms every that
				 * many events (a sink slower than its
				 * sources) */
	uint8_t *seen[MAX_SRC]; /* bitmaps in unordered mode */
};

static int
on_seq(agent *a, agent_msg *m)
{
	struct sink *s = agent_self(a);
	const void *body;
	size_t len;
	uint64_t v[2];

	if (agent_msg_body(m, &body, &len) < 0 || unpack_u64s(body, len, v, 2) < 0 ||
	    v[0] >= MAX_SRC) {
		s->errors++;
		return -EBADMSG;
	}
	s->events++;
	if (s->slow && s->events % s->slow == 0)
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	if (s->unordered) {
		uint8_t **bm = &s->seen[v[0]];
		if (!*bm && !(*bm = calloc(UNORDERED_MAX / 8, 1)))
			return -ENOMEM;
		if (v[1] == 0 || v[1] >= UNORDERED_MAX ||
		    ((*bm)[v[1] / 8] & (1u << (v[1] % 8))))
			s->errors++; /* duplicated or out of range */
		else
			(*bm)[v[1] / 8] |= (uint8_t)(1u << (v[1] % 8));
		if (v[1] > s->next[v[0]])
			s->next[v[0]] = v[1];
		return 0;
	}
	if (v[1] != s->next[v[0]] + 1)
		s->errors++; /* missing, duplicated or out of order */
	s->next[v[0]] = v[1];
	return 0;
}

static int
on_stats(agent *a, agent_msg *m)
{
	struct sink *s = agent_self(a);
	struct agent_remote_stats st;
	uint64_t *v = u64s_new(5);

	if (!v)
		return -ENOMEM;
	(void)agent_remote_stats(a, &st);
	v[1] = s->events;
	v[2] = s->errors;
	v[3] = st.received;
	v[4] = st.dropped;
	v[5] = st.malformed;
	return agent_reply(a, m, v);
}

static int
on_fin(agent *a, agent_msg *m)
{
	struct sink *s = agent_self(a);
	const void *body;
	size_t len;
	uint64_t src;
	uint64_t *v;

	if (agent_msg_body(m, &body, &len) < 0 ||
	    unpack_u64s(body, len, &src, 1) < 0 || src >= MAX_SRC)
		return -EBADMSG;
	v = u64s_new(1);
	if (!v)
		return -ENOMEM;
	v[1] = s->next[src];
	return agent_reply(a, m, v);
}

static int
on_whoami(agent *a, agent_msg *m)
{
	uint64_t *v = u64s_new(1);

	if (!v)
		return -ENOMEM;
	v[1] = (uint64_t)getpid();
	return agent_reply(a, m, v);
}

static int on_stall(agent *a, agent_msg *m);
static const struct agent_msg_type stall_type = { .name = "stall" };

static const struct agent_handler sink_handlers[] = {
	{ .type = &seq_type, .on_event = on_seq },
	{ .type = &stall_type, .on_event = on_stall },
	{ .type = &stats_type, .on_request = on_stats },
	{ .type = &fin_type, .on_request = on_fin },
	{ .type = &whoami_type, .on_request = on_whoami },
	{ 0 },
};

/* With $MSG_URL_FILE: write the URLs the inbox listens on there, one a
 * line (the tests learn a :0 port this way), then run as an actor. */
static agent_step
sink_begin(agent *a)
{
	const char *path = getenv("MSG_URL_FILE");
	const char *u;
	char tmp[512];
	FILE *f;

	if (path && *path && strlen(path) < sizeof(tmp) - 8) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		f = fopen(tmp, "w");
		if (!f)
			return agent_fail(-errno);
		for (unsigned i = 0; (u = agent_listen_url(a, i)); i++)
			fprintf(f, "%s\n", u);
		if (fclose(f) != 0 || rename(tmp, path) < 0)
			return agent_fail(-EIO);
	}
	return agent_events();
}

static void
sink_finalize(agent *a, enum agent_exit_reason reason)
{
	struct sink *s = agent_self(a);

	(void)reason;
	for (unsigned i = 0; i < MAX_SRC; i++)
		free(s->seen[i]);
}

static const struct agent_def sink_def = {
	.name = "sink",
	.begin = sink_begin,
	.finalize = sink_finalize,
	.handlers = sink_handlers,
};

/* ---- relay ------------------------------------------------------------------ */

/*
 * A pipeline stage: forwards every "seq" event to NEXT (a name or a
 * pool). When NEXT does not take more (-EAGAIN) it keeps the events in
 * order and stops handling its mailbox until they are out (an async state
 * that retries every millisecond): its mailbox and inbox fill up, and the
 * stage before it is slowed down in turn.
 */
struct relay {
	const char *next;
	struct seq_ev *q;
	size_t qhead, qlen, qcap;
	uint64_t forwarded;
};

static const struct agent_state drain_state;

static int
relay_push(struct relay *r, struct seq_ev ev)
{
	if (r->qhead + r->qlen == r->qcap) {
		if (r->qhead > 0) {
			memmove(r->q, r->q + r->qhead, r->qlen * sizeof(*r->q));
			r->qhead = 0;
		} else {
			size_t cap = r->qcap ? r->qcap * 2 : 256;
			struct seq_ev *n = realloc(r->q, cap * sizeof(*n));
			if (!n)
				return -ENOMEM;
			r->q = n;
			r->qcap = cap;
		}
	}
	r->q[r->qhead + r->qlen++] = ev;
	return 0;
}

static int
on_relay_seq(agent *a, agent_msg *m)
{
	struct relay *r = agent_self(a);
	const void *body;
	size_t len;
	uint64_t v[2];
	struct seq_ev ev;
	int err;

	if (agent_msg_body(m, &body, &len) < 0 || unpack_u64s(body, len, v, 2) < 0)
		return -EBADMSG;
	ev.src = v[0];
	ev.seq = v[1];
	if (r->qlen == 0) {
		err = agent_send_remote(a, r->next, &seq_type, &ev);
		if (err == 0) {
			r->forwarded++;
			return 0;
		}
		if (err != -EAGAIN && err != -ECONNREFUSED)
			return err;
	}
	err = relay_push(r, ev);
	if (err < 0)
		return err;
	return agent_do_next(a, agent_async(&drain_state, r));
}

static agent_step
drain_retry(agent *a, void *data, agent_msg *m)
{
	(void)m;
	(void)a;
	return agent_async(&drain_state, data);
}

static agent_step
drain(agent *a, void *data)
{
	struct relay *r = data;

	while (r->qlen > 0) {
		int err = agent_send_remote(a, r->next, &seq_type,
					    &r->q[r->qhead]);
		if (err == -EAGAIN || err == -ECONNREFUSED) {
			if (agent_await_sleep(a, 1000, drain_retry) < 0)
				return agent_fail(-ENOMEM);
			return agent_wait();
		}
		if (err < 0)
			return agent_fail(err);
		r->qhead++;
		r->qlen--;
		r->forwarded++;
	}
	r->qhead = 0;
	return agent_events();
}

static const struct agent_state drain_state = {
	.name = "drain", .once = drain,
};

static int
on_relay_stats(agent *a, agent_msg *m)
{
	struct relay *r = agent_self(a);
	uint64_t *v = u64s_new(1);

	if (!v)
		return -ENOMEM;
	v[1] = r->forwarded;
	return agent_reply(a, m, v);
}

static void
relay_finalize(agent *a, enum agent_exit_reason reason)
{
	struct relay *r = agent_self(a);

	(void)reason;
	free(r->q);
}

static const struct agent_handler relay_handlers[] = {
	{ .type = &seq_type, .on_event = on_relay_seq },
	{ .type = &stats_type, .on_request = on_relay_stats },
	{ 0 },
};

static const struct agent_def relay_def = {
	.name = "relay",
	.finalize = relay_finalize,
	.handlers = relay_handlers,
};

/* ---- source --------------------------------------------------------------- */

struct source {
	const char *target;
	uint64_t n, src, seq;
	uint64_t retries;
	uint64_t eagain; /* sends refused with -EAGAIN (a full queue) */
	bool stay; /* no "fin": stay up once everything is sent */
	bool quit; /* no "fin": end once everything is sent */
};

static const struct agent_state pump_state;

static void
source_status(agent *a, const char *what)
{
	struct source *s = agent_self(a);
	struct agent_remote_stats st;
	char buf[256];

	(void)agent_remote_stats(a, &st);
	snprintf(buf, sizeof(buf),
		 "%s: seq %llu/%llu retries %llu eagain %llu sent %llu "
		 "batches %llu dropped %llu", what, (unsigned long long)s->seq,
		 (unsigned long long)s->n, (unsigned long long)s->retries,
		 (unsigned long long)s->eagain,
		 (unsigned long long)st.sent, (unsigned long long)st.batches,
		 (unsigned long long)st.dropped);
	(void)agent_set_status(a, buf);
	/* on stdout too: agentd logs it, tests read it there */
	printf("source %llu: %s\n", (unsigned long long)s->src, buf);
	fflush(stdout);
}

static agent_step
fin_done(agent *a, void *data, agent_msg *m)
{
	struct source *s = agent_self(a);
	const uint64_t *v = agent_msg_payload(m);
	const void *body;
	size_t len;
	uint64_t got = 0;

	(void)data;
	(void)v;
	if (agent_msg_error(m) < 0) {
		source_status(a, "fin failed");
		return agent_fail(agent_msg_error(m));
	}
	if (agent_msg_body(m, &body, &len) < 0 ||
	    unpack_u64s(body, len, &got, 1) < 0 || got != s->n) {
		source_status(a, "sink saw a different last seq");
		return agent_fail(-EPROTO);
	}
	source_status(a, "done");
	return agent_done();
}

static agent_step
retry_later(agent *a, void *data, agent_msg *m)
{
	(void)data;
	(void)m;
	return agent_async(&pump_state, agent_self(a));
}

static agent_step
pump(agent *a, void *data)
{
	struct source *s = data;

	for (unsigned i = 0; i < 4096 && s->seq < s->n; i++) {
		struct seq_ev ev = { .src = s->src, .seq = s->seq + 1 };
		int r = agent_send_remote(a, s->target, &seq_type, &ev);

		if (r == -EAGAIN && s->eagain++ == 0) {
			printf("source %llu: -EAGAIN at seq %llu\n",
			       (unsigned long long)s->src,
			       (unsigned long long)ev.seq);
			fflush(stdout);
		}
		if (r == -EAGAIN || r == -ECONNREFUSED) {
			s->retries++;
			if (agent_await_sleep(a, 1000, retry_later) < 0)
				return agent_fail(-ENOMEM);
			return agent_wait();
		}
		if (r < 0)
			return agent_fail(r);
		s->seq++;
	}
	if (s->seq < s->n)
		return agent_again();
	if (s->quit) {
		source_status(a, "sent");
		return agent_done();
	}
	if (s->stay) {
		/* a pool has no single "last seq": the sink counts instead */
		source_status(a, "sent");
		return agent_events();
	}
	{
		uint64_t *v = u64s_new(1);
		if (!v)
			return agent_fail(-ENOMEM);
		v[1] = s->src;
		if (agent_await_request_remote(a, s->target, &fin_type, v,
					       20 * AGENT_USEC_PER_SEC,
					       fin_done) < 0)
			return agent_fail(-EIO);
	}
	return agent_wait();
}

static const struct agent_state pump_state = {
	.name = "pump", .repeat = pump,
};

static agent_step
source_begin(agent *a)
{
	return agent_async(&pump_state, agent_self(a));
}

static const struct agent_def source_def = {
	.name = "source",
	.begin = source_begin,
};

/* ---- caller ---------------------------------------------------------------- */

/*
 * An actor that, for each "ask" request (from agentctl), asks TARGET
 * "whoami" with a 1 s timeout and answers with TARGET's answer or error:
 * its push socket to TARGET is cached across TARGET's restarts.
 */
struct caller {
	const char *target;
	uint64_t timeout_usec;
};

static const struct agent_msg_type ask_type = {
	.name = "ask", .reply_free = free, .reply_encode = u64s_encode,
};

static int
on_ask(agent *a, agent_msg *m)
{
	struct caller *c = agent_self(a);
	int64_t id;

	agent_msg_ref(m);
	id = agent_request_remote(a, c->target, &whoami_type, NULL,
				  c->timeout_usec, (uint64_t)(uintptr_t)m);
	if (id < 0) {
		agent_msg_unref(m);
		return (int)id;
	}
	return AGENT_REPLY_LATER;
}

static int
on_whoami_response(agent *a, agent_msg *r)
{
	agent_msg *orig = (agent_msg *)(uintptr_t)agent_msg_tag(r);
	const void *body;
	size_t len;
	uint64_t pid;
	uint64_t *v;
	int err = agent_msg_error(r);

	if (err == 0 && (agent_msg_body(r, &body, &len) < 0 ||
			 unpack_u64s(body, len, &pid, 1) < 0))
		err = -EBADMSG;
	if (err < 0)
		(void)agent_reply_error(a, orig, err);
	else if ((v = u64s_new(1))) {
		v[1] = pid;
		(void)agent_reply(a, orig, v);
	} else
		(void)agent_reply_error(a, orig, -ENOMEM);
	agent_msg_unref(orig);
	return 0;
}

static const struct agent_handler caller_handlers[] = {
	{ .type = &ask_type, .on_request = on_ask },
	{ .type = &whoami_type, .on_response = on_whoami_response },
	{ 0 },
};

static const struct agent_def caller_def = {
	.name = "caller",
	.handlers = caller_handlers,
};

/* ---- publisher and subscriber ------------------------------------------------- */

/*
 * pub: publishes topic "t" (a counter). Requests: "bump" -> publishes the
 * next value, answers [seq]; "burst" [n] -> publishes n values, answers
 * [subscribers reached, summed over the n]; "subs" -> [subscribers].
 */
struct pub {
	uint64_t value, seq;
};

static const struct agent_msg_type bump_type = {
	.name = "bump", .reply_free = free, .reply_encode = u64s_encode,
};
static const struct agent_msg_type burst_type = {
	.name = "burst", .reply_free = free, .reply_encode = u64s_encode,
};
static const struct agent_msg_type subs_type = {
	.name = "subs", .reply_free = free, .reply_encode = u64s_encode,
};

static int
pub_one(agent *a, struct pub *p)
{
	unsigned char b[9] = { 0xcf };
	int r;

	p->value++;
	for (int i = 0; i < 8; i++)
		b[1 + i] = (unsigned char)(p->value >> (56 - 8 * i));
	r = agent_publish(a, "t", b, sizeof(b));
	if (r >= 0)
		p->seq++;
	return r;
}

static int
on_bump(agent *a, agent_msg *m)
{
	struct pub *p = agent_self(a);
	uint64_t *v;
	int r = pub_one(a, p);

	if (r < 0)
		return r;
	v = u64s_new(1);
	if (!v)
		return -ENOMEM;
	v[1] = p->seq;
	return agent_reply(a, m, v);
}

static int
on_burst(agent *a, agent_msg *m)
{
	struct pub *p = agent_self(a);
	const void *body;
	size_t len;
	uint64_t n, reached = 0;
	uint64_t *v;

	if (agent_msg_body(m, &body, &len) < 0 || unpack_u64s(body, len, &n, 1) < 0)
		return -EINVAL;
	for (uint64_t i = 0; i < n; i++) {
		int r = pub_one(a, p);
		if (r < 0)
			return r;
		reached += (uint64_t)r;
	}
	v = u64s_new(1);
	if (!v)
		return -ENOMEM;
	v[1] = reached;
	return agent_reply(a, m, v);
}

static int
on_subs(agent *a, agent_msg *m)
{
	uint64_t *v = u64s_new(1);

	if (!v)
		return -ENOMEM;
	v[1] = agent_subscribers(a, "t");
	return agent_reply(a, m, v);
}

static const struct agent_handler pub_handlers[] = {
	{ .type = &bump_type, .on_request = on_bump },
	{ .type = &burst_type, .on_request = on_burst },
	{ .type = &subs_type, .on_request = on_subs },
	{ 0 },
};

static const struct agent_def pub_def = {
	.name = "pub",
	.handlers = pub_handlers,
};

/*
 * sub PUB TOPIC: subscribes (retrying until PUB is there) and checks what
 * it gets: one snapshot first, then seq == previous + 1 + missed.
 * Requests: "got" -> [updates, last seq, last value, missed, errors,
 * snapshots]; "unsub" -> unsubscribes.
 */
struct subscriber {
	const char *pub, *topic;
	uint64_t updates, last_seq, last_value, missed, errors, snapshots;
};

static const struct agent_msg_type got_type = {
	.name = "got", .reply_free = free, .reply_encode = u64s_encode,
};
static const struct agent_msg_type unsub_type = { .name = "unsub" };

/* "stall" PATH (event, sub and sink): create PATH.stalled, then block the
 * loop until PATH exists (no limit of its own: a test that fails first
 * has the agent killed at its exit): the inbox is not read meanwhile, so
 * the sender's buffers fill up. Test only: never block a loop like this. */
static int
on_stall(agent *a, agent_msg *m)
{
	const void *body;
	size_t len;
	msgpack_unpacked u;
	size_t off = 0;
	char path[256], mark[300];
	FILE *f;

	(void)a;
	if (agent_msg_body(m, &body, &len) < 0)
		return -EINVAL;
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, body, len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    u.data.type != MSGPACK_OBJECT_STR ||
	    u.data.via.str.size >= sizeof(path)) {
		msgpack_unpacked_destroy(&u);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%.*s", (int)u.data.via.str.size,
		 u.data.via.str.ptr);
	msgpack_unpacked_destroy(&u);
	snprintf(mark, sizeof(mark), "%s.stalled", path);
	f = fopen(mark, "w");
	if (f)
		fclose(f);
	while (access(path, F_OK) != 0)
		usleep(10000);
	return 0;
}

static int
on_update(agent *a, agent_msg *m)
{
	struct subscriber *s = agent_self(a);
	const struct agent_update *u = agent_msg_payload(m);
	const unsigned char *b = u->value;

	if (u->snapshot) {
		if (s->snapshots++ > 0 || s->updates > 0)
			s->errors++; /* a snapshot only comes first */
	} else {
		if (u->seq != s->last_seq + 1 + u->missed)
			s->errors++;
		s->updates++;
		s->missed += u->missed;
	}
	s->last_seq = u->seq;
	if (u->len == 9 && b[0] == 0xcf) {
		s->last_value = 0;
		for (int i = 0; i < 8; i++)
			s->last_value = s->last_value << 8 | b[1 + i];
	}
	return 0;
}

static int
on_got(agent *a, agent_msg *m)
{
	struct subscriber *s = agent_self(a);
	uint64_t *v = u64s_new(6);

	if (!v)
		return -ENOMEM;
	v[1] = s->updates;
	v[2] = s->last_seq;
	v[3] = s->last_value;
	v[4] = s->missed;
	v[5] = s->errors;
	v[6] = s->snapshots;
	return agent_reply(a, m, v);
}

static int
on_unsub(agent *a, agent_msg *m)
{
	struct subscriber *s = agent_self(a);

	(void)m;
	return agent_unsubscribe(a, s->pub, s->topic);
}

static const struct agent_state subscribe_state;

static agent_step
subscribe_retry(agent *a, void *data, agent_msg *m)
{
	(void)m;
	(void)a;
	return agent_async(&subscribe_state, data);
}

static agent_step
subscribe_once(agent *a, void *data)
{
	struct subscriber *s = data;
	int r = agent_subscribe(a, s->pub, s->topic);

	if (r == -ECONNREFUSED || r == -EAGAIN) {
		if (agent_await_sleep(a, 10000, subscribe_retry) < 0)
			return agent_fail(-ENOMEM);
		return agent_wait();
	}
	return r < 0 ? agent_fail(r) : agent_events();
}

static const struct agent_state subscribe_state = {
	.name = "subscribe", .once = subscribe_once,
};

static agent_step
sub_begin(agent *a)
{
	return agent_async(&subscribe_state, agent_self(a));
}

static const struct agent_handler sub_handlers[] = {
	{ .type = &agent_type_update, .on_event = on_update },
	{ .type = &got_type, .on_request = on_got },
	{ .type = &unsub_type, .on_request = on_unsub },
	{ .type = &stall_type, .on_event = on_stall },
	{ 0 },
};

static const struct agent_def sub_def = {
	.name = "sub",
	.begin = sub_begin,
	.handlers = sub_handlers,
};

/* ---- watcher ---------------------------------------------------------------- */

/*
 * Monitors TARGET through agentd and keeps what it sees: request "seen"
 * -> ["state:pid", ...] in order; request "resolve" with body "NAME" ->
 * [name, inbox, pid, state] from agentd's registry.
 */
struct watcher {
	const char *target;
	char seen[256][176];
	unsigned n_seen;
};

/* a ready msgpack object as a reply payload */
struct raw {
	size_t len;
	char buf[];
};

static int
raw_encode(const void *p, void **buf, size_t *len)
{
	const struct raw *r = p;

	*buf = malloc(r->len);
	if (!*buf)
		return -ENOMEM;
	memcpy(*buf, r->buf, r->len);
	*len = r->len;
	return 0;
}

static struct raw *
raw_from(msgpack_sbuffer *sb)
{
	struct raw *r = malloc(sizeof(*r) + sb->size);

	if (r) {
		r->len = sb->size;
		memcpy(r->buf, sb->data, sb->size);
	}
	msgpack_sbuffer_destroy(sb);
	return r;
}

static void
pack_cstr(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

static const struct agent_msg_type seen_type = {
	.name = "seen", .reply_free = free, .reply_encode = raw_encode,
};
static const struct agent_msg_type resolve_type = {
	.name = "resolve", .reply_free = free, .reply_encode = raw_encode,
};

static int
on_peer(agent *a, agent_msg *m)
{
	struct watcher *w = agent_self(a);
	const struct agent_peer *p = agent_msg_payload(m);

	if (p->resolved) {
		agent_msg *orig = (agent_msg *)(uintptr_t)agent_msg_tag(m);
		msgpack_sbuffer sb;
		msgpack_packer pk;
		struct raw *r;

		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_array(&pk, 4);
		pack_cstr(&pk, p->name);
		pack_cstr(&pk, p->inbox);
		msgpack_pack_uint32(&pk, p->pid);
		pack_cstr(&pk, p->state);
		r = raw_from(&sb);
		if (r)
			(void)agent_reply(a, orig, r);
		else
			(void)agent_reply_error(a, orig, -ENOMEM);
		agent_msg_unref(orig);
		return 0;
	}
	if (w->n_seen < 256)
		snprintf(w->seen[w->n_seen++], sizeof(w->seen[0]), "%s:%s:%u",
			 p->name, p->state, p->pid);
	return 0;
}

static int
on_seen(agent *a, agent_msg *m)
{
	struct watcher *w = agent_self(a);
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct raw *r;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, w->n_seen);
	for (unsigned i = 0; i < w->n_seen; i++)
		pack_cstr(&pk, w->seen[i]);
	r = raw_from(&sb);
	if (!r)
		return -ENOMEM;
	return agent_reply(a, m, r);
}

static int
on_resolve(agent *a, agent_msg *m)
{
	const void *body;
	size_t len;
	msgpack_unpacked u;
	size_t off = 0;
	char name[80];
	int r;

	if (agent_msg_body(m, &body, &len) < 0)
		return -EINVAL;
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, body, len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    u.data.type != MSGPACK_OBJECT_STR ||
	    u.data.via.str.size >= sizeof(name)) {
		msgpack_unpacked_destroy(&u);
		return -EINVAL;
	}
	snprintf(name, sizeof(name), "%.*s", (int)u.data.via.str.size,
		 u.data.via.str.ptr);
	msgpack_unpacked_destroy(&u);
	agent_msg_ref(m);
	r = agent_resolve(a, name, (uint64_t)(uintptr_t)m);
	if (r < 0) {
		agent_msg_unref(m);
		return r;
	}
	return AGENT_REPLY_LATER;
}

static agent_step
watcher_begin(agent *a)
{
	struct watcher *w = agent_self(a);
	int r = agent_monitor(a, w->target, true);

	return r < 0 ? agent_fail(r) : agent_events();
}

static const struct agent_handler watcher_handlers[] = {
	{ .type = &agent_type_peer, .on_event = on_peer },
	{ .type = &seen_type, .on_request = on_seen },
	{ .type = &resolve_type, .on_request = on_resolve },
	{ 0 },
};

static const struct agent_def watcher_def = {
	.name = "watcher",
	.begin = watcher_begin,
	.handlers = watcher_handlers,
};

int
main(int argc, char **argv)
{
	static struct watcher watcher;
	static struct caller caller;

	static struct sink sink;
	static struct source source;

	if (argc >= 2 && strcmp(argv[1], "sink") == 0) {
		sink.unordered = getenv("MSG_UNORDERED") != NULL;
		if (getenv("MSG_SINK_SLOW"))
			sink.slow = (unsigned)strtoul(getenv("MSG_SINK_SLOW"),
						      NULL, 10);
		return agent_main(&sink_def, &sink, argc, argv);
	}
	if (argc >= 3 && strcmp(argv[1], "relay") == 0) {
		static struct relay relay;
		relay.next = argv[2];
		return agent_main(&relay_def, &relay, argc, argv);
	}
	if (argc >= 5 && strcmp(argv[1], "source") == 0) {
		source.target = argv[2];
		source.n = strtoull(argv[3], NULL, 10);
		source.src = strtoull(argv[4], NULL, 10);
		if (source.src >= MAX_SRC)
			return 2;
		source.stay = argc >= 6 && strcmp(argv[5], "stay") == 0;
		source.quit = argc >= 6 && strcmp(argv[5], "exit") == 0;
		return agent_main(&source_def, &source, argc, argv);
	}
	if (argc >= 2 && strcmp(argv[1], "pub") == 0) {
		static struct pub pub;
		return agent_main(&pub_def, &pub, argc, argv);
	}
	if (argc >= 4 && strcmp(argv[1], "sub") == 0) {
		static struct subscriber sub;
		sub.pub = argv[2];
		sub.topic = argv[3];
		return agent_main(&sub_def, &sub, argc, argv);
	}
	if (argc >= 3 && strcmp(argv[1], "watcher") == 0) {
		watcher.target = argv[2];
		return agent_main(&watcher_def, &watcher, argc, argv);
	}
	if (argc >= 3 && strcmp(argv[1], "caller") == 0) {
		const char *t = getenv("MSG_ASK_TIMEOUT_MS");

		caller.target = argv[2];
		caller.timeout_usec = AGENT_USEC_PER_SEC;
		if (t && strtoull(t, NULL, 10) > 0)
			caller.timeout_usec = strtoull(t, NULL, 10) *
					      AGENT_USEC_PER_MSEC;
		return agent_main(&caller_def, &caller, argc, argv);
	}
	fprintf(stderr, "usage: msg-agent sink | caller TARGET | watcher TARGET | "
			"relay NEXT | pub | sub PUB TOPIC | source TARGET N SRC [stay|exit]\n");
	return 2;
}
