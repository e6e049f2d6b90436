/* SPDX-License-Identifier: MIT */
/*
 * agent-inbox.c - the process's inbox: one pull0 socket with its ipc
 * listener and up to MAX_EXTRA network ones (agent_listen), read through
 * one persistent nng_recv_aio whose callback (on an nng thread) only sets
 * a flag and writes an eventfd that the loop watches. Envelopes go into
 * the inbox agent's mailbox while it has room (a full one stops reading:
 * backpressure), responses complete the pending remote requests, and the
 * builtin "ping" and "agent.stats" requests are answered from here.
 * Everything a message names to send to (reply_to, a subscriber's inbox)
 * must be the sender's own inbox as its pipe tells (agent__reply_to_ok).
 * agent__inbox_feed() is the same path for a message made in-process
 * (tests/fuzz/fuzz-inbox.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/supplemental/tls/tls.h>
#include <nng/transport/ipc/ipc.h>

#include "agent-addr.h"
#include "agent-remote.h"
#include "proto-ctl.h"

#define INBOX_BUDGET	4096 /* envelopes per inbox wake-up */

static const struct agent_msg_type remote_unknown_type = { .name = "remote" };

/* The builtin "ping" request: its answer is the request's own body, sent
 * when the message reaches the head of the mailbox (so the round trip
 * includes the queue). */
struct ping_body {
	size_t len;
	unsigned char buf[];
};

static int
ping_encode(const void *p, void **buf, size_t *len)
{
	const struct ping_body *b = p;

	*buf = NULL;
	*len = 0;
	if (b->len == 0)
		return 0;
	*buf = malloc(b->len);
	if (!*buf)
		return -ENOMEM;
	memcpy(*buf, b->buf, b->len);
	*len = b->len;
	return 0;
}

const struct agent_msg_type agent__ping_type = {
	.name = "ping", .reply_free = free, .reply_encode = ping_encode,
};

/* The builtin "agent.stats" request: the process's messaging counters as
 * a msgpack map (agentctl call NAME agent.stats prints it as JSON). */
static int
stats_encode(const void *p, void **buf, size_t *len)
{
	const struct agent_remote_stats *st = p;
	static const char *const keys[] = { "sent", "batches", "received",
					    "dropped", "malformed",
					    "unhandled" };
	const uint64_t vals[] = { st->sent, st->batches, st->received,
				  st->dropped, st->malformed, st->unhandled };
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 6);
	for (unsigned i = 0; i < 6; i++) {
		(void)proto_pack_cstr(&pk, keys[i]);
		msgpack_pack_uint64(&pk, vals[i]);
	}
	if (!sb.data)
		return -ENOMEM;
	*buf = sb.data;
	*len = sb.size;
	return 0;
}

const struct agent_msg_type agent__stats_type = {
	.name = "agent.stats", .reply_free = free, .reply_encode = stats_encode,
};

int
agent__stats_answer(agent *a, agent_msg *m)
{
	struct agent_remote_stats *st = malloc(sizeof(*st));

	if (!st)
		return agent_reply_error(a, m, -ENOMEM);
	(void)agent_remote_stats(a, st);
	return agent_reply(a, m, st);
}

int
agent__ping_answer(agent *a, agent_msg *m)
{
	const struct agent_remote_info *ri = m->remote;
	size_t len = ri ? ri->body_len : 0;
	struct ping_body *b = malloc(sizeof(*b) + len);

	if (!b)
		return agent_reply_error(a, m, -ENOMEM);
	b->len = len;
	if (len)
		memcpy(b->buf, ri->body, len);
	return agent_reply(a, m, b);
}

/* Our inbox URL a destination can answer to: one of the same transport
 * (a tcp:// peer gets our tcp:// listener) when we have one. */
const char *
agent__inbox_reply_url(struct agent_remote_ctx *rc, const char *dest)
{
	size_t n = strcspn(dest, ":");

	for (unsigned i = 0; i < rc->n_extra; i++)
		if (strncmp(rc->extra_url[i], dest, n + 3) == 0)
			return rc->extra_url[i];
	return rc->inbox_url;
}

/*
 * Reply addresses (a request's reply_to, a subscriber's inbox) are where
 * this process will send on a peer's word, so a peer may only name its
 * own inbox:
 *  - from a local process (an ipc pipe): an ipc:// socket directly in
 *    $AGENTD_RUNTIME_DIR/inbox/ (agents' inboxes, agentctl's reply
 *    inbox), or any ipc:// path when there is no runtime dir (standalone);
 *  - from a tcp/tls pipe: a tcp:// or tls+tcp:// URL (tls+tcp:// only, if
 *    the request came over tls) whose host is the pipe's remote address
 *    as a literal, or, from a loopback peer, localhost or a wildcard.
 *    Host names are not resolved (that would block the loop).
 */
static bool
ipc_reply_ok(const struct agent_remote_ctx *rc, const char *path, size_t len)
{
	char dir[PROTO_URL_MAX], want[PROTO_URL_MAX + 8];
	char dir_real[PATH_MAX], want_real[PATH_MAX];
	const char *base;
	size_t dlen, blen, rlen;

	if (!rc->runtime_dir[0])
		return len > 0; /* standalone: any ipc path */
	base = memrchr(path, '/', len);
	if (!base)
		return false;
	base++;
	blen = len - (size_t)(base - path);
	if (blen == 0 || (blen == 1 && base[0] == '.') ||
	    (blen == 2 && base[0] == '.' && base[1] == '.'))
		return false;
	dlen = (size_t)(base - path) - 1; /* without the last slash */
	/* the same spelling as $AGENTD_RUNTIME_DIR (trailing slashes aside) */
	rlen = strlen(rc->runtime_dir);
	while (rlen > 1 && rc->runtime_dir[rlen - 1] == '/')
		rlen--;
	if (dlen == rlen + 6 && memcmp(path, rc->runtime_dir, rlen) == 0 &&
	    memcmp(path + rlen, "/inbox", 6) == 0)
		return true;
	/* another spelling of the same directory (relative, symbolic links,
	 * double slashes): compare where both really are */
	if (dlen == 0 || dlen >= sizeof(dir))
		return false;
	memcpy(dir, path, dlen);
	dir[dlen] = '\0';
	snprintf(want, sizeof(want), "%s/inbox", rc->runtime_dir);
	return realpath(dir, dir_real) && realpath(want, want_real) &&
	       strcmp(dir_real, want_real) == 0;
}

/* addr as 16 bytes (IPv4 mapped into IPv6); false if not an IP address */
static bool
addr16(const nng_sockaddr *sa, uint8_t out[16])
{
	if (sa->s_family == NNG_AF_INET) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &sa->s_in.sa_addr, 4);
		return true;
	}
	if (sa->s_family == NNG_AF_INET6) {
		memcpy(out, sa->s_in6.sa_addr, 16);
		return true;
	}
	return false;
}

static bool
addr16_is_loopback(const uint8_t a[16])
{
	static const uint8_t v6_lo[16] = { [15] = 1 };
	static const uint8_t v4_prefix[12] = { [10] = 0xff, [11] = 0xff };

	return memcmp(a, v6_lo, 16) == 0 ||
	       (memcmp(a, v4_prefix, 12) == 0 && a[12] == 127);
}

static bool
net_reply_ok(const struct agent_inbox_origin *from, const char *url,
	     size_t len)
{
	const char *end = url + len, *host, *port;
	uint8_t want[16], got[16];
	char h[64];
	size_t hlen;
	uint16_t pn;

	if (len > 10 && memcmp(url, "tls+tcp://", 10) == 0)
		host = url + 10;
	else if (!from->tls && len > 6 && memcmp(url, "tcp://", 6) == 0)
		host = url + 6;
	else
		return false;
	if (*host == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));
		if (!close)
			return false;
		port = close + 1;
		host++;
		hlen = (size_t)(close - host);
	} else {
		port = memrchr(host, ':', (size_t)(end - host));
		if (!port)
			return false;
		hlen = (size_t)(port - host);
	}
	/* :PORT, 1 to 65535, and nothing after it */
	if (port >= end || *port != ':' ||
	    agent__port_parse(port + 1, (size_t)(end - port - 1), &pn) < 0 ||
	    hlen == 0 || hlen >= sizeof(h))
		return false;
	memcpy(h, host, hlen);
	h[hlen] = '\0';
	if (!addr16(&from->addr, want))
		return false;
	if (agent__host_is_wildcard(h, hlen) || strcasecmp(h, "localhost") == 0)
		return addr16_is_loopback(want);
	if (inet_pton(AF_INET, h, got + 12) == 1) {
		memset(got, 0, 10);
		got[10] = got[11] = 0xff;
	} else if (inet_pton(AF_INET6, h, got) != 1)
		return false;
	return memcmp(got, want, 16) == 0;
}

bool
agent__reply_to_ok(const struct agent_remote_ctx *rc,
		   const struct agent_inbox_origin *from, const char *url,
		   size_t len)
{
	if (len < 7 || len >= PROTO_URL_MAX || memchr(url, '\0', len) ||
	    !agent__url_scheme_ok(url, len))
		return false;
	switch (from->addr.s_family) {
	case NNG_AF_IPC:
	case NNG_AF_ABSTRACT:
		return memcmp(url, "ipc://", 6) == 0 &&
		       ipc_reply_ok(rc, url + 6, len - 6);
	case NNG_AF_INET:
	case NNG_AF_INET6:
		return net_reply_ok(from, url, len);
	default:
		return false; /* unknown sender */
	}
}

static const struct agent_msg_type *
type_by_name(agent *a, const char *kind, size_t len)
{
	const struct agent_handler *h = a->def->handlers;

	/* libagent's own types carry structs libagent makes (an
	 * agent_update, an exit report...), never a peer's bytes: a remote
	 * kind bearing one of their names matches none (found by fuzz-inbox:
	 * an event "update" reached an update handler with a NULL payload) */
	for (; h && h->type; h++)
		if (h->type->name && strlen(h->type->name) == len &&
		    memcmp(h->type->name, kind, len) == 0 &&
		    !agent__type_is_builtin(h->type))
			return h->type;
	return NULL;
}

static struct agent_remote_info *
remote_info(const struct proto_env *env, const void *body, size_t len)
{
	struct agent_remote_info *ri = calloc(1, sizeof(*ri));

	if (!ri)
		return NULL;
	/* memcpy, not snprintf("%.*s"): this runs per envelope (calloc
	 * zeroed the terminator) */
	if (env->sender_len)
		memcpy(ri->sender, env->sender,
		       MIN_SZ(env->sender_len, AGENT_NAME_MAX));
	ri->corr = env->corr;
	if (body && len) {
		ri->body = malloc(len);
		if (!ri->body) {
			free(ri);
			return NULL;
		}
		memcpy(ri->body, body, len);
		ri->body_len = len;
	}
	return ri;
}

static void
inbox_event(struct agent_remote_ctx *rc, agent *a, const struct proto_env *env,
	    bool request)
{
	struct proto_reader rd;
	const struct agent_msg_type *type;
	struct agent_remote_info *ri;
	const char *kind;
	size_t kind_len;
	const void *body;
	size_t body_len;
	agent_msg *m;
	int r;

	proto_reader_init(&rd, env->payload, env->payload_len);
	if (request) {
		struct proto_request rq;
		if (proto_request_unpack(&rd, &rq) < 0) {
			agent__remote_reject(rc, a, "malformed request");
			return;
		}
		/* it also checks the URL's form */
		if (!agent__reply_to_ok(rc, &rc->cur_from, rq.reply_to,
					rq.reply_to_len)) {
			agent__remote_reject(rc, a, "request whose reply_to "
					     "is not the sender's");
			return;
		}
		kind = rq.kind;
		kind_len = rq.kind_len;
		body = rq.body;
		body_len = rq.body_len;
		ri = remote_info(env, body, body_len);
		if (ri) {
			ri->reply_to = strndup(rq.reply_to, rq.reply_to_len);
			if (!ri->reply_to) {
				free(ri->body);
				free(ri);
				ri = NULL;
			}
		}
	} else {
		struct proto_event ev;
		if (proto_event_unpack(&rd, &ev) < 0) {
			agent__remote_reject(rc, a, "malformed event");
			return;
		}
		kind = ev.kind;
		kind_len = ev.kind_len;
		body = ev.body;
		body_len = ev.body_len;
		if (kind_len > 6 && memcmp(kind, "agent.", 6) == 0) {
			/* subscriptions: handled by libagent itself */
			agent__pubsub_event(rc, a, env, kind, kind_len, body, body_len);
			return;
		}
		ri = remote_info(env, body, body_len);
	}
	if (!ri)
		return;
	if (kind_len)
		memcpy(ri->kind, kind, MIN_SZ(kind_len, AGENT_NAME_MAX));
	m = agent__msg_new(a->loop);
	if (!m) {
		free(ri->reply_to);
		free(ri->body);
		free(ri);
		return;
	}
	m->kind = request ? AGENT_MSG_REQUEST : AGENT_MSG_EVENT;
	m->remote = ri;
	type = type_by_name(a, kind, kind_len);
	if (!type && request && kind_len == 4 && memcmp(kind, "ping", 4) == 0)
		type = &agent__ping_type; /* answered from the mailbox */
	if (!type && request && kind_len == 11 &&
	    memcmp(kind, "agent.stats", 11) == 0)
		type = &agent__stats_type;
	if (!type && !request) {
		/* nobody handles it: a counted drop, not a failure */
		rc->stats.unhandled++;
		agent__log(a, 7, "inbox: event '%s' has no handler, dropped "
			   "(%llu so far)", ri->kind,
			   (unsigned long long)rc->stats.unhandled);
		m->replied = true;
		agent_msg_unref(m);
		return;
	}
	m->type = type ? type : &remote_unknown_type;
	if (type && type->decode && body_len > 0) {
		r = type->decode(body, body_len, &m->payload);
		if (r < 0) {
			m->payload = NULL;
			if (request)
				(void)agent_reply_error(a, m, -EBADMSG);
			else
				m->replied = true;
			agent__remote_reject(rc, a, "undecodable body");
			agent_msg_unref(m);
			return;
		}
	}
	r = agent__enqueue(a, m);
	if (r < 0) {
		rc->stats.dropped++;
		if (request)
			(void)agent_reply_error(a, m, r);
		agent_msg_unref(m);
	}
}

static void
inbox_response(struct agent_remote_ctx *rc, agent *a,
	       const struct proto_env *env, bool error)
{
	struct proto_reader rd;
	struct agent_remote_info *ri;
	struct agent_req *req;
	void *payload = NULL;
	int err = 0;

	/* found and taken off the table in one scan */
	req = agent__remote_take(rc, env->corr);
	if (!req) {
		agent__log(a, 7, "inbox: response %llu matches no request "
			   "(late or unknown), dropped",
			   (unsigned long long)env->corr);
		return;
	}
	proto_reader_init(&rd, env->payload, env->payload_len);
	if (error) {
		struct proto_result res;
		if (proto_result_unpack(&rd, &res) < 0) {
			agent__remote_reject(rc, a, "malformed error response");
			err = -EBADMSG;
		} else
			err = res.code < 0 && res.code > -4096 ? res.code : -EIO;
		ri = remote_info(env, NULL, 0);
	} else {
		struct proto_response resp;
		if (proto_response_unpack(&rd, &resp) < 0) {
			agent__remote_reject(rc, a, "malformed response");
			err = -EBADMSG;
			ri = remote_info(env, NULL, 0);
		} else {
			ri = remote_info(env, resp.body, resp.body_len);
			if (req->type && req->type->reply_decode &&
			    resp.body_len > 0 &&
			    req->type->reply_decode(resp.body, resp.body_len,
						    &payload) < 0) {
				payload = NULL;
				err = -EBADMSG;
			}
		}
	}
	agent__remote_deliver(rc, req, err, payload, ri);
}

static bool
inbox_full(agent *a)
{
	return a->phase == PHASE_RUNNING && a->mb_user >= a->capacity &&
	       a->def->full_policy == AGENT_FULL_REJECT;
}

static void
inbox_dispatch(struct agent_remote_ctx *rc, agent *a,
	       const struct proto_env *env)
{
	switch (env->type) {
	case PROTO_MSG_EVENT:
		inbox_event(rc, a, env, false);
		break;
	case PROTO_MSG_REQUEST:
		inbox_event(rc, a, env, true);
		break;
	case PROTO_MSG_RESPONSE:
		inbox_response(rc, a, env, false);
		break;
	case PROTO_MSG_ERROR:
		inbox_response(rc, a, env, true);
		break;
	default:
		agent__remote_reject(rc, a, "unexpected message type");
		break;
	}
}

static void
inbox_block(struct agent_remote_ctx *rc)
{
	/* backpressure: what is left stays in rc->cur and in the socket */
	if (!rc->inbox_blocked) {
		rc->inbox_blocked = true;
		agent__io_remove(rc->loop, &rc->inbox_io);
	}
}

/* ---- who is at the other end of a pipe ------------------------------ */

/*
 * A message's pipe may be closed by the time the inbox's receive hands
 * the message over (agentctl closes its push socket as soon as its
 * request is written, an agent may exit right after sending): its
 * NNG_OPT_REMADDR is gone with it, and a reply check against an unknown
 * sender refuses. So every pipe's origin is noted when nng adds it
 * (ADD_POST, before any of its messages can arrive) and forgotten only
 * after PIPE_RETIRED later pipes have closed after it, long after its
 * messages were taken. Open addressing (id 0 is free), linear probing,
 * backward-shift deletion; nng threads only, under the lock.
 */
#define PIPE_RETIRED	256

struct pipe_origin {
	uint32_t id;
	struct agent_inbox_origin o;
};

struct pipe_table {
	pthread_mutex_t lock;
	struct pipe_origin *v;
	size_t cap, n;              /* cap: a power of two, or 0 */
	uint32_t retired[PIPE_RETIRED];
	unsigned r_head, r_n;
};

static size_t
pipe_slot(const struct pipe_table *t, uint32_t id)
{
	return (size_t)(id * 2654435761u) & (t->cap - 1);
}

static struct pipe_origin *
pipe_find(struct pipe_table *t, uint32_t id)
{
	if (t->cap == 0 || id == 0)
		return NULL;
	for (size_t i = pipe_slot(t, id);; i = (i + 1) & (t->cap - 1)) {
		if (t->v[i].id == id)
			return &t->v[i];
		if (t->v[i].id == 0)
			return NULL;
	}
}

static int
pipe_insert(struct pipe_table *t, uint32_t id,
	    const struct agent_inbox_origin *o)
{
	size_t i;

	if ((t->n + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct pipe_origin *old = t->v, *nv = calloc(cap, sizeof(*nv));
		size_t old_cap = t->cap;

		if (!nv)
			return -ENOMEM;
		t->v = nv;
		t->cap = cap;
		for (size_t k = 0; k < old_cap; k++)
			if (old[k].id) {
				for (i = pipe_slot(t, old[k].id); t->v[i].id;
				     i = (i + 1) & (cap - 1))
					;
				t->v[i] = old[k];
			}
		free(old);
	}
	for (i = pipe_slot(t, id); t->v[i].id && t->v[i].id != id;
	     i = (i + 1) & (t->cap - 1))
		;
	if (t->v[i].id == 0)
		t->n++;
	t->v[i].id = id;
	t->v[i].o = *o;
	return 0;
}

static void
pipe_delete(struct pipe_table *t, uint32_t id)
{
	struct pipe_origin *e = pipe_find(t, id);
	size_t i, j, mask = t->cap - 1;

	if (!e)
		return;
	i = (size_t)(e - t->v);
	/* backward shift: pull later entries of the run into the hole */
	for (j = (i + 1) & mask; t->v[j].id; j = (j + 1) & mask) {
		size_t home = pipe_slot(t, t->v[j].id);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->v[i] = t->v[j];
			i = j;
		}
	}
	t->v[i].id = 0;
	t->n--;
}

static void
pipe_origin_read(nng_pipe p, struct agent_inbox_origin *o)
{
	bool verified;

	*o = (struct agent_inbox_origin){ .addr.s_family = NNG_AF_UNSPEC };
	if (nng_pipe_get_addr(p, NNG_OPT_REMADDR, &o->addr) != 0)
		o->addr.s_family = NNG_AF_UNSPEC;
	else if (o->addr.s_family == NNG_AF_INET ||
		 o->addr.s_family == NNG_AF_INET6)
		/* only a tls pipe has this option */
		o->tls = nng_pipe_get_bool(p, NNG_OPT_TLS_VERIFIED,
					   &verified) == 0;
}

/* On an nng thread: a pipe of the inbox came or went. */
static void
inbox_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct pipe_table *t = arg;
	uint32_t id = (uint32_t)nng_pipe_id(p);

	if (ev == NNG_PIPE_EV_ADD_POST) {
		struct agent_inbox_origin o;

		pipe_origin_read(p, &o);
		pthread_mutex_lock(&t->lock);
		(void)pipe_insert(t, id, &o); /* ENOMEM: read at receive */
		pthread_mutex_unlock(&t->lock);
		return;
	}
	if (ev != NNG_PIPE_EV_REM_POST)
		return;
	pthread_mutex_lock(&t->lock);
	if (t->r_n == PIPE_RETIRED) {
		pipe_delete(t, t->retired[t->r_head]);
		t->r_n--;
		t->r_head = (t->r_head + 1) % PIPE_RETIRED;
	}
	t->retired[(t->r_head + t->r_n++) % PIPE_RETIRED] = id;
	pthread_mutex_unlock(&t->lock);
}

static void
pipe_table_free(struct pipe_table *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->v);
	free(t);
}

/* On an nng thread: note who sent the message (its pipe may be gone by
 * now: see the pipe table), flag it and wake the loop. */
static void
inbox_aio_cb(void *arg)
{
	struct agent_remote_ctx *rc = arg;
	struct agent_inbox_origin o = { .addr.s_family = NNG_AF_UNSPEC };
	uint64_t one = 1;
	nng_msg *msg;

	if (nng_aio_result(rc->inbox_aio) == 0 &&
	    (msg = nng_aio_get_msg(rc->inbox_aio))) {
		nng_pipe p = nng_msg_get_pipe(msg);
		struct pipe_origin *e;
		bool known = false;

		if (rc->pipes) {
			pthread_mutex_lock(&rc->pipes->lock);
			e = pipe_find(rc->pipes, (uint32_t)nng_pipe_id(p));
			if (e) {
				o = e->o;
				known = true;
			}
			pthread_mutex_unlock(&rc->pipes->lock);
		}
		if (!known)
			pipe_origin_read(p, &o);
	}
	rc->inbox_from = o; /* published by the release below */
	atomic_store_explicit(&rc->inbox_done, 1, memory_order_release);
	(void)!write(rc->inbox_efd, &one, sizeof(one));
}

/* The message the inbox's receive got, if it completed, and its origin
 * (*from); the receive is started again at once (one message in flight:
 * backpressure stays with nng's queues). 0 with *msg set, or -EAGAIN. */
static int
inbox_take(struct agent_remote_ctx *rc, nng_msg **msg,
	   struct agent_inbox_origin *from)
{
	uint64_t v;
	int rv;

	if (!rc->has_inbox)
		return -EAGAIN; /* fed (agent__inbox_feed) */
	for (;;) {
		/* clear the wake-up first: a completion after this writes it
		 * again */
		(void)!read(rc->inbox_efd, &v, sizeof(v));
		if (!atomic_load_explicit(&rc->inbox_done,
					  memory_order_acquire))
			return -EAGAIN;
		atomic_store_explicit(&rc->inbox_done, 0,
				      memory_order_relaxed);
		rv = nng_aio_result(rc->inbox_aio);
		*msg = rv == 0 ? nng_aio_get_msg(rc->inbox_aio) : NULL;
		*from = rc->inbox_from;
		/* the pipe closed before we asked: an inbox without network
		 * listeners has local senders only */
		if (from->addr.s_family == NNG_AF_UNSPEC && rc->n_extra == 0)
			from->addr.s_family = NNG_AF_IPC;
		nng_aio_set_msg(rc->inbox_aio, NULL);
		if (rv == NNG_ECLOSED)
			return -EAGAIN;
		nng_recv_aio(rc->inbox, rc->inbox_aio);
		if (*msg)
			return 0;
	}
}

/*
 * Dispatch rc->cur from rc->cur_off, envelope by envelope, while the
 * agent's mailbox has room and *budget lasts. true: the message is done
 * (freed); false: it stays in rc->cur (the inbox is blocked, or the
 * resume timer is armed). A malformed envelope ends its message
 * (counted, nothing after it is looked at).
 */
static bool
inbox_run_cur(struct agent_remote_ctx *rc, agent *a, unsigned *budget)
{
	const uint8_t *body = nng_msg_body(rc->cur);
	size_t len = nng_msg_len(rc->cur);

	while (rc->cur_off < len) {
		struct proto_env env;
		int r;

		if (inbox_full(a)) {
			inbox_block(rc);
			return false;
		}
		if (*budget == 0) {
			(void)agent__tnode_arm(rc->loop, &rc->resume,
					       agent__now());
			return false;
		}
		(*budget)--;
		r = proto_env_decode_next(body, len, &rc->cur_off, &env);
		if (r < 0) {
			agent__remote_reject(rc, a, "malformed envelope");
			break;
		}
		if (proto_msgtype_family(env.type) != PROTO_FAMILY_AGENT) {
			agent__remote_reject(rc, a, "envelope of a foreign family");
			continue;
		}
		rc->stats.received++;
		inbox_dispatch(rc, a, &env);
	}
	nng_msg_free(rc->cur);
	rc->cur = NULL;
	rc->cur_off = 0;
	return true;
}

/*
 * Dispatch what the inbox holds: nng messages of one or more envelopes
 * (batches), in order, while the agent's mailbox has room. A full mailbox
 * stops reading (the rest of the current batch is kept and resumed, the
 * socket fills up and the senders get -EAGAIN).
 */
static void
inbox_pump(struct agent_remote_ctx *rc)
{
	agent *a = rc->inbox_agent;
	unsigned budget = INBOX_BUDGET;

	for (;;) {
		if (!rc->cur) {
			struct agent_inbox_origin from;
			nng_msg *msg;
			if (a && inbox_full(a)) {
				inbox_block(rc);
				return;
			}
			if (budget == 0)
				return; /* the eventfd stays readable */
			if (inbox_take(rc, &msg, &from) < 0)
				return;
			if (!a) {
				/* the agent is gone: drain and drop */
				nng_msg_free(msg);
				budget--;
				continue;
			}
			rc->cur = msg;
			rc->cur_off = 0;
			rc->cur_from = from;
		}
		if (!a) {
			nng_msg_free(rc->cur);
			rc->cur = NULL;
			continue;
		}
		if (!inbox_run_cur(rc, a, &budget))
			return;
	}
}

int
agent__inbox_feed(struct agent_remote_ctx *rc, nng_msg *msg)
{
	unsigned budget = INBOX_BUDGET;

	if (rc->cur || !rc->inbox_agent)
		return -EBUSY;
	rc->cur = msg;
	rc->cur_off = 0;
	rc->cur_from = (struct agent_inbox_origin){
		.addr.s_family = NNG_AF_IPC,
	};
	(void)inbox_run_cur(rc, rc->inbox_agent, &budget);
	return 0;
}

static void
inbox_fire(struct agent_io *io, uint32_t revents)
{
	(void)revents;
	inbox_pump(container_of(io, struct agent_remote_ctx, inbox_io));
}

void
agent__inbox_resume_fire(struct agent_tnode *n)
{
	inbox_pump(container_of(n, struct agent_remote_ctx, resume));
}

static void
inbox_unblock_check(struct agent_remote_ctx *rc)
{
	agent *a = rc->inbox_agent;

	if (!rc->inbox_blocked || !a || a->mb_user >= a->capacity)
		return;
	rc->inbox_blocked = false;
	if (rc->has_inbox)
		(void)agent__io_update(rc->loop, &rc->inbox_io, EPOLLIN);
	if (rc->cur)
		(void)agent__tnode_arm(rc->loop, &rc->resume, agent__now());
}

void
agent__remote_unblock(agent *a)
{
	if (a->loop->remote && a->loop->remote->inbox_agent == a)
		inbox_unblock_check(a->loop->remote);
}

/* Create and start a listener for url on the inbox socket; *bound gets
 * url with the port the system picked when it asked for port 0. */
static int
listener_start(struct agent_remote_ctx *rc, const char *url,
	       nng_listener *ret, char *bound, size_t size)
{
	nng_listener lst;
	int r, port;

	r = nng_listener_create(&lst, rc->inbox, url);
	if (r != 0)
		return proto_errno_from_nng(r);
	if (agent__url_is_ipc(url))
		r = nng_listener_set_int(lst, NNG_OPT_IPC_PERMISSIONS, 0600);
	else if (agent__url_is_tls(url)) {
		if (!rc->tls_cert_key[0])
			r = NNG_EINVAL; /* a TLS server needs a certificate */
		else
			r = agent__tls_options_set(rc, NULL, &lst);
	}
	if (r == 0)
		r = nng_listener_start(lst, 0);
	if (r != 0) {
		(void)nng_listener_close(lst);
		return proto_errno_from_nng(r);
	}
	snprintf(bound, size, "%s", url);
	if (!agent__url_is_ipc(url) &&
	    nng_listener_get_int(lst, NNG_OPT_TCP_BOUND_PORT, &port) == 0) {
		const char *colon = strrchr(url, ':');
		if (colon && strcmp(colon, ":0") == 0)
			snprintf(bound, size, "%.*s:%d", (int)(colon - url), url,
				 port);
	}
	*ret = lst;
	return 0;
}

_public_ int
agent_listen(agent *a, const char *url)
{
	struct agent_remote_ctx *rc;
	nng_listener lst;
	sigset_t old;
	int r;

	if (!a || !url || strlen(url) >= PROTO_URL_MAX)
		return -EINVAL;
	if (!agent__url_scheme_ok(url, strlen(url)))
		return -EINVAL;
	rc = agent__remote_get(a->loop, a);
	if (!rc)
		return -ENOMEM;
	if (rc->has_inbox) {
		/* one inbox per process; more transports for it */
		if (rc->inbox_agent != a || agent__url_is_ipc(url))
			return -EALREADY;
		if (rc->n_extra == MAX_EXTRA)
			return -ENOSPC;
		return listener_start(rc, url, &lst, rc->extra_url[rc->n_extra++],
				      PROTO_URL_MAX) < 0
			       ? (rc->n_extra--, -EADDRNOTAVAIL)
			       : 0;
	}
	if (agent__url_is_ipc(url)) {
		/* the directory may not exist yet (standalone) */
		char dir[PROTO_URL_MAX], *slash;
		snprintf(dir, sizeof(dir), "%s", url + 6);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			(void)mkdir(dir, 0700);
		}
	}
	agent__block_signals(&old);
	r = nng_pull0_open(&rc->inbox);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return proto_errno_from_nng(r);
	(void)nng_socket_set_size(rc->inbox, NNG_OPT_RECVMAXSZ, PROTO_MSG_MAX);
	rc->pipes = calloc(1, sizeof(*rc->pipes));
	if (!rc->pipes) {
		nng_close(rc->inbox);
		return -ENOMEM;
	}
	pthread_mutex_init(&rc->pipes->lock, NULL);
	/* before the listener: no pipe goes unnoted */
	if ((r = nng_pipe_notify(rc->inbox, NNG_PIPE_EV_ADD_POST,
				 inbox_pipe_cb, rc->pipes)) != 0 ||
	    (r = nng_pipe_notify(rc->inbox, NNG_PIPE_EV_REM_POST,
				 inbox_pipe_cb, rc->pipes)) != 0) {
		r = proto_errno_from_nng(r);
		goto fail_sock;
	}
	r = listener_start(rc, url, &lst, rc->inbox_url, sizeof(rc->inbox_url));
	if (r < 0)
		goto fail_sock;
	rc->inbox_lst = lst;
	rc->inbox_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (rc->inbox_efd < 0) {
		r = -errno;
		goto fail_sock;
	}
	atomic_store(&rc->inbox_done, 0);
	r = nng_aio_alloc(&rc->inbox_aio, inbox_aio_cb, rc);
	if (r != 0) {
		r = proto_errno_from_nng(r);
		goto fail_efd;
	}
	rc->inbox_io.fd = rc->inbox_efd;
	rc->inbox_io.fire = inbox_fire;
	r = agent__io_update(a->loop, &rc->inbox_io, EPOLLIN);
	if (r < 0)
		goto fail_aio;
	nng_recv_aio(rc->inbox, rc->inbox_aio);
	rc->has_inbox = true;
	rc->inbox_agent = a; /* weak: detached when a is freed */
	a->is_inbox = true;
	if (!agent__url_is_ipc(url)) {
		/* a network inbox only: it answers on the same transport */
		snprintf(rc->extra_url[rc->n_extra++], PROTO_URL_MAX, "%s",
			 rc->inbox_url);
	}
	return 0;

fail_aio:
	nng_aio_free(rc->inbox_aio);
	rc->inbox_aio = NULL;
fail_efd:
	close(rc->inbox_efd);
	rc->inbox_efd = -1;
fail_sock:
	nng_close(rc->inbox);
	pipe_table_free(rc->pipes);
	rc->pipes = NULL;
	return r;
}

/* The URL an inbox really listens on (with the port chosen for :0): the
 * ipc one first, or the n-th network one. */
_public_ const char *
agent_listen_url(agent *a, unsigned n)
{
	struct agent_remote_ctx *rc;

	if (!a || !(rc = a->loop->remote) || !rc->has_inbox)
		return NULL;
	if (agent__url_is_ipc(rc->inbox_url)) {
		if (n == 0)
			return rc->inbox_url;
		n--;
	}
	return n < rc->n_extra ? rc->extra_url[n] : NULL;
}

/*
 * nng 1.5.2 bug #1518: a peer that disconnects during the SP handshake
 * leaves an ipc listener that accepts but never hands pipes to its socket
 * again. Our handshakes only stall when this process was stopped
 * (SIGSTOP), so after a SIGCONT the inbox listener is recreated on the
 * same path; senders' dialers reconnect by themselves.
 */
void
agent__inbox_relisten(struct agent_remote_ctx *rc)
{
	char bound[PROTO_URL_MAX];
	nng_listener lst;
	int r;

	if (!rc->has_inbox)
		return;
	(void)nng_listener_close(rc->inbox_lst);
	/* the same set-up as the first time (permissions, TLS), on the
	 * address it got then */
	r = listener_start(rc, rc->inbox_url, &lst, bound, sizeof(bound));
	if (r < 0) {
		agent__log(rc->inbox_agent, 7, "cannot listen again on %s: %s",
			   rc->inbox_url, strerror(-r));
		return;
	}
	rc->inbox_lst = lst;
	agent__log(rc->inbox_agent, 7, "inbox listener recreated after SIGCONT");
}

void
agent__inbox_close(struct agent_remote_ctx *rc)
{
	if (rc->has_inbox) {
		agent__io_remove(rc->loop, &rc->inbox_io);
		nng_aio_stop(rc->inbox_aio);
		if (atomic_load(&rc->inbox_done) &&
		    nng_aio_result(rc->inbox_aio) == 0 &&
		    nng_aio_get_msg(rc->inbox_aio))
			nng_msg_free(nng_aio_get_msg(rc->inbox_aio));
		nng_aio_free(rc->inbox_aio);
		nng_close(rc->inbox);
		close(rc->inbox_efd);
	}
	/* after nng_close(): no pipe callback runs any more */
	pipe_table_free(rc->pipes);
	rc->pipes = NULL;
	agent__tnode_disarm(rc->loop, &rc->resume);
	if (rc->cur)
		nng_msg_free(rc->cur);
}
