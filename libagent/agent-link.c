/* SPDX-License-Identifier: MIT */
/*
 * agent-link.c - everything that crosses the process boundary: the link to
 * agentd (pair1: HELLO, READY, HEARTBEAT, INTERRUPT, STOPPING, EXIT_REPORT),
 * the agent's inbox (pull0) and sends to other agents' inboxes (one cached
 * push0 socket per destination), remote requests and their responses, and
 * agent_main() with its signal handling. nng sockets are polled from the
 * loop through NNG_OPT_RECVFD/SENDFD, except the inbox, which keeps one
 * nng_recv_aio whose callback only sets a flag and writes an eventfd; no
 * other libagent code runs on nng's threads.
 */
#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/supplemental/tls/tls.h>
#include <nng/supplemental/util/platform.h>
#include <nng/transport/ipc/ipc.h>

#include "agent-internal.h"
#include "proto.h"
#include "proto-agent.h"
#include "proto-ctl.h"
#include "proto-link.h"

#define PUSH_SENDBUF	128
#define MIN_SZ(a, b)	((a) < (b) ? (a) : (b))
#define LINK_SENDTIMEO	2000 /* ms: a stuck agentd cannot hang us for long */

/*
 * One destination inbox. Envelopes for it are appended to `batch` (one
 * nng message, envelopes back to back) and the batch leaves when the loop
 * is about to poll (agent__remote_flush), or as soon as it holds
 * BATCH_MAX_ENV envelopes or BATCH_MAX_BYTES. A batch nng refuses
 * (its send buffer is full: the receiver is slow) stays here, the
 * socket's SENDFD is watched and the flush retried when it can take more;
 * meanwhile new envelopes still join the batch up to the caps, then sends
 * fail with -EAGAIN. Nothing is dropped after a send returned 0, except
 * by nng itself when the destination never comes back.
 */
struct peer {
	struct peer *next;
	char *url;
	nng_socket sock;
	nng_msg *batch;        /* pending envelopes, or NULL */
	unsigned batch_n;
	bool blocked;          /* the last flush got NNG_EAGAIN */
	bool dirty;            /* on rc->dirty */
	struct peer *dirty_next;
	struct agent_io send_io; /* SENDFD while blocked */
	struct agent_remote_ctx *rc;
};

#define BATCH_MAX_ENV	256
#define BATCH_MAX_BYTES	(64 * 1024)
#define INBOX_BUDGET	4096 /* envelopes per inbox wake-up */
#define MAX_EXTRA	4

struct agent_remote_ctx {
	agent_loop *loop;
	char name[PROTO_NAME_MAX + 1];
	char runtime_dir[256];

	/* inbox */
	bool has_inbox;
	nng_socket inbox;
	nng_listener inbox_lst;
	struct agent_io inbox_io;
	agent *inbox_agent; /* referenced */
	char inbox_url[PROTO_URL_MAX];
	bool inbox_blocked;
	/* more listeners on the same inbox socket (tcp://, tls+tcp://), with
	 * the port they really bound */
	char extra_url[MAX_EXTRA][PROTO_URL_MAX];
	unsigned n_extra;
	/* TLS: a PEM file with our certificate and key, a CA file to check
	 * peers with ($AGENTD_TLS_CERT_KEY_FILE, $AGENTD_TLS_CA_FILE) */
	char tls_cert_key[PROTO_URL_MAX];
	char tls_ca[PROTO_URL_MAX];

	/* link */
	bool has_link;
	nng_socket link;
	struct agent_io link_io;
	agent *link_agent; /* referenced */
	struct agent_tnode heartbeat;
	uint64_t watchdog_usec;
	uint64_t hb_seq;

	struct peer *peers;
	char last_name[PROTO_NAME_MAX + 1]; /* inbox_url_of's memo */
	char last_url[PROTO_URL_MAX];
	struct peer *dirty;        /* peers with a pending batch */
	struct pool *pools;
	struct agent_req *pending; /* remote requests by corr (= id) */
	uint64_t rejected;         /* malformed input dropped */
	struct agent_remote_stats stats;

	/* subscriptions: topics this process publishes */
	struct topic *topics;

	/* registry: RESOLVEs waiting for their reply, who gets PEER_STATEs */
	struct resolve_wait *resolving;
	uint64_t next_corr;
	agent *monitor_agent; /* weak, like link_agent */

	/* the inbox message being dispatched (a batch cut by backpressure
	 * or by the budget), resumed from cur_off */
	nng_msg *cur;
	/* one persistent receive on the inbox: its callback (nng thread)
	 * only sets inbox_done and writes inbox_efd, which the loop watches
	 * (no aio allocation per receive, no failing receive per wake-up) */
	nng_aio *inbox_aio;
	int inbox_efd;
	atomic_int inbox_done;
	size_t cur_off;
	struct agent_tnode resume;
};

static const struct agent_msg_type remote_unknown_type = { .name = "remote" };

struct resolve_wait {
	struct resolve_wait *next;
	uint64_t corr;
	agent *a; /* referenced */
	uint64_t tag;
};

_public_ const struct agent_msg_type agent_type_peer = {
	.name = "peer", .free = free,
};

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

/* ---- set-up ---------------------------------------------------------------------- */

/* nng starts its threads with the first socket: they inherit this mask, so
 * the signals the loop handles never land on them. */
static void
block_signals(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

static void
sanitize_name(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	for (; src && *src && n + 1 < size && n < PROTO_NAME_MAX; src++) {
		char c = *src;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		    c == '.' || c == ':')
			dst[n++] = c;
	}
	if (n == 0 || dst[0] == '.' || dst[0] == '-')
		n = (size_t)snprintf(dst, size, "agent");
	dst[n] = '\0';
}

static void inbox_resume_fire(struct agent_tnode *n);

static struct agent_remote_ctx *
remote_get(agent_loop *l, agent *hint)
{
	struct agent_remote_ctx *rc = l->remote;
	const char *e;

	if (rc)
		return rc;
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return NULL;
	rc->loop = l;
	agent__tnode_init(&rc->resume, inbox_resume_fire);
	e = getenv("AGENTD_NAME");
	if (e && proto_name_is_valid(e, strlen(e)))
		snprintf(rc->name, sizeof(rc->name), "%s", e);
	else
		sanitize_name(rc->name, sizeof(rc->name),
			      hint ? hint->def->name : "agent");
	e = getenv("AGENTD_TLS_CERT_KEY_FILE");
	if (e && strlen(e) < sizeof(rc->tls_cert_key))
		snprintf(rc->tls_cert_key, sizeof(rc->tls_cert_key), "%s", e);
	e = getenv("AGENTD_TLS_CA_FILE");
	if (e && strlen(e) < sizeof(rc->tls_ca))
		snprintf(rc->tls_ca, sizeof(rc->tls_ca), "%s", e);
	e = getenv("AGENTD_RUNTIME_DIR");
	if (e && *e && strlen(e) < sizeof(rc->runtime_dir))
		snprintf(rc->runtime_dir, sizeof(rc->runtime_dir), "%s", e);
	l->remote = rc;
	return rc;
}

static int
sock_recvfd(nng_socket s, struct agent_io *io, agent_loop *l,
	    void (*fire)(struct agent_io *, uint32_t))
{
	int fd, r;

	r = nng_socket_get_int(s, NNG_OPT_RECVFD, &fd);
	if (r != 0)
		return proto_errno_from_nng(r);
	io->fd = fd;
	io->fire = fire;
	return agent__io_update(l, io, EPOLLIN);
}

/* ---- sending envelopes ------------------------------------------------------------- */

static void peer_send_fire(struct agent_io *io, uint32_t revents);

static bool
is_tls(const char *url)
{
	return strncmp(url, "tls+tcp", 7) == 0;
}

static int
tls_options_set(struct agent_remote_ctx *rc, nng_dialer *d, nng_listener *l)
{
	int r = 0;

	if (rc->tls_cert_key[0])
		r = d ? nng_dialer_set_string(*d, NNG_OPT_TLS_CERT_KEY_FILE,
					      rc->tls_cert_key)
		      : nng_listener_set_string(*l, NNG_OPT_TLS_CERT_KEY_FILE,
						rc->tls_cert_key);
	if (r == 0 && rc->tls_ca[0])
		r = d ? nng_dialer_set_string(*d, NNG_OPT_TLS_CA_FILE,
					      rc->tls_ca)
		      : nng_listener_set_string(*l, NNG_OPT_TLS_CA_FILE,
						rc->tls_ca);
	/* a dialer always checks the server against the CA; a listener with
	 * a CA requires a client certificate too (mutual TLS) */
	if (r == 0)
		r = d ? nng_dialer_set_int(*d, NNG_OPT_TLS_AUTH_MODE,
					   NNG_TLS_AUTH_MODE_REQUIRED)
		      : nng_listener_set_int(*l, NNG_OPT_TLS_AUTH_MODE,
					     rc->tls_ca[0]
						     ? NNG_TLS_AUTH_MODE_REQUIRED
						     : NNG_TLS_AUTH_MODE_NONE);
	return r;
}

/* Dial url in the background (sends wait in the send buffer meanwhile). */
static int
dial_peer(struct agent_remote_ctx *rc, nng_socket sock, const char *url)
{
	nng_dialer d;
	int r;

	r = nng_dialer_create(&d, sock, url);
	if (r != 0)
		return r;
	if (is_tls(url))
		r = tls_options_set(rc, &d, NULL);
	if (r == 0)
		r = nng_dialer_start(d, NNG_FLAG_NONBLOCK);
	if (r != 0)
		(void)nng_dialer_close(d);
	return r;
}

static int
peer_get(struct agent_remote_ctx *rc, const char *url, struct peer **ret)
{
	struct peer *p;
	sigset_t old;
	int r;

	for (p = rc->peers; p; p = p->next)
		if (strcmp(p->url, url) == 0) {
			*ret = p;
			return 0;
		}
	if (strncmp(url, "ipc://", 6) == 0) {
		struct stat st;
		/* nobody listens there: say so now, instead of buffering for
		 * a peer that may never come */
		if (stat(url + 6, &st) < 0 || !S_ISSOCK(st.st_mode))
			return -ECONNREFUSED;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->url = strdup(url);
	if (!p->url) {
		free(p);
		return -ENOMEM;
	}
	p->rc = rc;
	p->send_io.fd = -1;
	block_signals(&old);
	r = nng_push0_open(&p->sock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		goto fail;
	(void)nng_socket_set_int(p->sock, NNG_OPT_SENDBUF, PUSH_SENDBUF);
	(void)nng_socket_set_size(p->sock, NNG_OPT_RECVMAXSZ, PROTO_MSG_MAX);
	/* never block the loop on a peer's handshake (a stopped peer would
	 * hold it): dial in the background; sends wait in the send buffer */
	r = dial_peer(rc, p->sock, url);
	if (r != 0) {
		nng_close(p->sock);
		goto fail;
	}
	p->next = rc->peers;
	rc->peers = p;
	*ret = p;
	return 0;
fail:
	free(p->url);
	free(p);
	return proto_errno_from_nng(r);
}

static bool
batch_full(const struct peer *p)
{
	return p->batch && (p->batch_n >= BATCH_MAX_ENV ||
			    nng_msg_len(p->batch) >= BATCH_MAX_BYTES);
}

/* Hand p's batch to nng. 0 (sent or nothing to send), -EAGAIN (kept, the
 * SENDFD is watched), or another -errno (the batch is lost: counted). */
static int
peer_flush(struct peer *p)
{
	struct agent_remote_ctx *rc = p->rc;
	int r;

	if (!p->batch)
		return 0;
	if (p->batch_n == 0) {
		nng_msg_free(p->batch);
		p->batch = NULL;
		return 0;
	}
	r = nng_sendmsg(p->sock, p->batch, NNG_FLAG_NONBLOCK);
	if (r == 0) {
		rc->stats.batches++;
		p->batch = NULL;
		p->batch_n = 0;
		if (p->blocked) {
			p->blocked = false;
			agent__io_remove(rc->loop, &p->send_io);
		}
		return 0;
	}
	if (r == NNG_EAGAIN) {
		if (!p->blocked) {
			int fd;
			p->blocked = true;
			if (nng_socket_get_int(p->sock, NNG_OPT_SENDFD, &fd) == 0) {
				p->send_io.fd = fd;
				p->send_io.fire = peer_send_fire;
				(void)agent__io_update(rc->loop, &p->send_io,
						       EPOLLIN);
			}
		}
		return -EAGAIN;
	}
	agent__log(rc->inbox_agent, 7, "%u envelopes to %s lost: %s",
		   p->batch_n, p->url, nng_strerror(r));
	rc->stats.dropped += p->batch_n;
	nng_msg_free(p->batch);
	p->batch = NULL;
	p->batch_n = 0;
	return proto_errno_from_nng(r);
}

static void pubsub_catch_up(struct agent_remote_ctx *rc, const char *url);

static void
peer_send_fire(struct agent_io *io, uint32_t revents)
{
	struct peer *p = container_of(io, struct peer, send_io);

	(void)revents;
	if (peer_flush(p) == 0 && p->rc->topics)
		pubsub_catch_up(p->rc, p->url);
}

static void
peer_free(struct agent_remote_ctx *rc, struct peer *p)
{
	if (p->blocked)
		agent__io_remove(rc->loop, &p->send_io);
	if (p->batch)
		nng_msg_free(p->batch);
	nng_close(p->sock);
	free(p->url);
	free(p);
}

/* The loop is about to poll: every pending batch leaves now. */
void
agent__remote_flush(agent_loop *l)
{
	struct agent_remote_ctx *rc = l->remote;

	if (!rc)
		return;
	while (rc->dirty) {
		struct peer *p = rc->dirty;
		rc->dirty = p->dirty_next;
		p->dirty = false;
		p->dirty_next = NULL;
		(void)peer_flush(p); /* a blocked one retries on SENDFD */
	}
}

/*
 * Append one envelope (type, corr, payload packed by pack(arg)) to the
 * batch for url. Returns 0 once it is queued (it leaves at the next flush,
 * in order), -EAGAIN when the destination does not take more now (its
 * batch is full and nng's buffer too), -ECONNREFUSED when nobody listens,
 * -EMSGSIZE, -ENOMEM. Every failure counts as a drop.
 */
static int
send_env(struct agent_remote_ctx *rc, const char *url, uint32_t type,
	 uint64_t corr, int (*pack)(msgpack_packer *, const void *),
	 const void *arg)
{
	struct proto_builder b;
	struct peer *p = NULL;
	int r, tries = 0;

	r = peer_get(rc, url, &p);
	if (r < 0)
		goto drop;
again:
	if (batch_full(p) && peer_flush(p) == -EAGAIN) {
		r = -EAGAIN;
		goto drop;
	}
	if (!p->batch) {
		r = nng_msg_alloc(&p->batch, 0);
		if (r != 0) {
			p->batch = NULL;
			r = -ENOMEM;
			goto drop;
		}
	}
	r = proto_builder_begin_append(&b, p->batch, type, 0, corr, rc->name);
	if (r < 0)
		goto drop;
	r = pack(&b.pk, arg);
	if (r < 0) {
		proto_builder_abort(&b);
		goto drop;
	}
	r = proto_builder_finish(&b, NULL);
	if (r == -EMSGSIZE && p->batch_n > 0 && tries++ == 0) {
		/* too big to join this batch: send it, start a new one */
		if (peer_flush(p) == -EAGAIN) {
			r = -EAGAIN;
			goto drop;
		}
		goto again;
	}
	if (r < 0)
		goto drop;
	p->batch_n++;
	rc->stats.sent++;
	if (batch_full(p))
		(void)peer_flush(p);
	if (p->batch && !p->dirty && !p->blocked) {
		p->dirty = true;
		p->dirty_next = rc->dirty;
		rc->dirty = p;
	}
	return 0;
drop:
	rc->stats.dropped++;
	return r;
}

/*
 * Pools: a name with no inbox of its own whose instances have one
 * (inbox/NAME@1.sock ... from Instances=N) gets each message sent to one
 * instance, in turn, skipping an instance that does not take more (its
 * batch is full and nng's buffer too): the slowest instance is bypassed,
 * and when every instance is full the send fails with -EAGAIN. The
 * member list is re-read from the directory at most every POOL_REFRESH.
 * No FIFO across a pool's instances (per instance, there is).
 */
#define POOL_REFRESH	(500 * AGENT_USEC_PER_MSEC)
#define POOL_MAX	256

struct pool {
	struct pool *next;
	char name[PROTO_NAME_MAX + 1];
	char **urls;
	size_t n;
	unsigned rr;
	uint64_t refreshed;
};

static void
pool_clear(struct pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->urls[i]);
	free(p->urls);
	p->urls = NULL;
	p->n = 0;
}

static int
pool_refresh(struct agent_remote_ctx *rc, struct pool *p)
{
	char pattern[sizeof(rc->runtime_dir) + PROTO_NAME_MAX + 32];
	glob_t g;
	int r;

	pool_clear(p);
	p->refreshed = agent__now();
	snprintf(pattern, sizeof(pattern), "%s/inbox/%s@*.sock",
		 rc->runtime_dir, p->name);
	r = glob(pattern, GLOB_NOSORT, NULL, &g);
	if (r == GLOB_NOMATCH)
		return 0;
	if (r != 0)
		return -ENOMEM;
	p->urls = calloc(g.gl_pathc ? g.gl_pathc : 1, sizeof(char *));
	if (!p->urls) {
		globfree(&g);
		return -ENOMEM;
	}
	for (size_t i = 0; i < g.gl_pathc && p->n < POOL_MAX; i++) {
		const char *base = strrchr(g.gl_pathv[i], '/');
		size_t blen = base ? strlen(base + 1) : 0;
		char *u;
		/* NAME@DIGITS.sock only */
		if (!base || blen < 6 ||
		    !proto_name_is_valid(base + 1, blen - 5) ||
		    strlen(g.gl_pathv[i]) > 107)
			continue;
		if (asprintf(&u, "ipc://%s", g.gl_pathv[i]) < 0)
			continue;
		p->urls[p->n++] = u;
	}
	globfree(&g);
	return 0;
}

static struct peer *
peer_find(struct agent_remote_ctx *rc, const char *url)
{
	struct peer *p;

	for (p = rc->peers; p; p = p->next)
		if (strcmp(p->url, url) == 0)
			return p;
	return NULL;
}

static bool batch_full(const struct peer *p);

static int
pool_pick(struct agent_remote_ctx *rc, const char *name, char *buf,
	  size_t size)
{
	struct pool *p;

	for (p = rc->pools; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			break;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		snprintf(p->name, sizeof(p->name), "%s", name);
		p->next = rc->pools;
		rc->pools = p;
	}
	if (p->n == 0 || agent__now() - p->refreshed > POOL_REFRESH) {
		int r = pool_refresh(rc, p);
		if (r < 0)
			return r;
	}
	if (p->n == 0)
		return -ECONNREFUSED;
	for (size_t k = 0; k < p->n; k++) {
		const char *u = p->urls[(p->rr + k) % p->n];
		struct peer *pe = peer_find(rc, u);
		if (pe && pe->blocked && batch_full(pe))
			continue; /* this one does not keep up */
		p->rr = (unsigned)((p->rr + k + 1) % p->n);
		if (strlen(u) >= size)
			return -ENAMETOOLONG;
		snprintf(buf, size, "%s", u);
		return 0;
	}
	return -EAGAIN;
}

static int
inbox_url_of(struct agent_remote_ctx *rc, const char *name, char *buf,
	     size_t size)
{
	int n;

	if (name && strstr(name, "://")) {
		/* an explicit inbox URL: another host, or another agentd */
		if (strncmp(name, "tcp://", 6) != 0 &&
		    strncmp(name, "tls+tcp://", 10) != 0 &&
		    strncmp(name, "ipc://", 6) != 0)
			return -EINVAL;
		if (strlen(name) >= size)
			return -ENAMETOOLONG;
		snprintf(buf, size, "%s", name);
		return 0;
	}
	/* the last name that was an agent's own inbox: sending a stream to
	 * one name costs a strcmp instead of validation and formatting */
	if (name && rc->last_name[0] && strcmp(name, rc->last_name) == 0 &&
	    strlen(rc->last_url) < size) {
		memcpy(buf, rc->last_url, strlen(rc->last_url) + 1);
		return 0;
	}
	if (!name || !proto_name_is_valid(name, strlen(name)))
		return -EINVAL;
	if (!rc->runtime_dir[0])
		return -ENOTCONN;
	n = snprintf(buf, size, "ipc://%s/inbox/%s.sock", rc->runtime_dir, name);
	if (n < 0 || (size_t)n >= size || (size_t)n - 6 > 107)
		return -ENAMETOOLONG;
	if (!strchr(name, '@') && !peer_find(rc, buf)) {
		struct stat st;
		/* not an agent of its own: the unit of a pool? */
		if (stat(buf + 6, &st) < 0 || !S_ISSOCK(st.st_mode))
			return pool_pick(rc, name, buf, size);
	}
	if ((size_t)n < sizeof(rc->last_url)) {
		memcpy(rc->last_url, buf, (size_t)n + 1);
		snprintf(rc->last_name, sizeof(rc->last_name), "%s", name);
	}
	return 0;
}

/* Encode a payload with a type's encoder into a malloc'd body. */
static int
encode_body(int (*enc)(const void *, void **, size_t *), const void *payload,
	    void **buf, size_t *len)
{
	int r;

	*buf = NULL;
	*len = 0;
	if (!enc || !payload)
		return 0;
	r = enc(payload, buf, len);
	if (r < 0)
		return r;
	if (*buf && proto_validate_object(*buf, *len) < 0) {
		free(*buf);
		*buf = NULL;
		return -EINVAL;
	}
	return 0;
}

static int
pack_event(msgpack_packer *pk, const void *arg)
{
	return proto_event_pack(pk, arg);
}

static int
pack_request(msgpack_packer *pk, const void *arg)
{
	return proto_request_pack(pk, arg);
}

static int
pack_result(msgpack_packer *pk, const void *arg)
{
	return proto_result_pack(pk, arg);
}

static int
pack_response(msgpack_packer *pk, const void *arg)
{
	return proto_response_pack(pk, arg);
}

static int
send_event(struct agent_remote_ctx *rc, const char *url, const char *kind,
	   const void *body, size_t len)
{
	struct proto_event ev = {
		.kind = kind, .kind_len = strlen(kind),
		.body = body, .body_len = len,
	};

	return send_env(rc, url, PROTO_MSG_EVENT, 0, pack_event, &ev);
}

_public_ int
agent_send_remote(agent *self, const char *name,
		  const struct agent_msg_type *type, void *payload)
{
	struct agent_remote_ctx *rc;
	char url[PROTO_URL_MAX];
	void *body = NULL;
	size_t len = 0;
	int r;

	if (!self || !type || !type->name) {
		r = -EINVAL;
		goto out;
	}
	rc = remote_get(self->loop, self);
	if (!rc) {
		r = -ENOMEM;
		goto out;
	}
	r = inbox_url_of(rc, name, url, sizeof(url));
	if (r < 0)
		goto out;
	r = encode_body(type->encode, payload, &body, &len);
	if (r < 0)
		goto out;
	r = send_event(rc, url, type->name, body, len);
out:
	free(body);
	if (payload && type && type->free)
		type->free(payload);
	return r;
}

_public_ int
agent_send_remote_body(agent *self, const char *name, const char *kind,
		       const void *body, size_t len)
{
	struct agent_remote_ctx *rc;
	char url[PROTO_URL_MAX];
	int r;

	if (!self || !kind || !proto_name_is_valid(kind, strlen(kind)))
		return -EINVAL;
	if (body && proto_validate_object(body, len) < 0)
		return -EINVAL;
	rc = remote_get(self->loop, self);
	if (!rc)
		return -ENOMEM;
	r = inbox_url_of(rc, name, url, sizeof(url));
	if (r < 0)
		return r;
	return send_event(rc, url, kind, body, len);
}

/*
 * agent_send_remote_wait(): a sync state's blocking send. The body is
 * encoded on the caller's thread; the send itself runs on the agent's loop
 * (XQ_CALL), which retries a -EAGAIN every millisecond until the deadline
 * and then wakes the caller. The caller's stack holds the struct: the loop
 * never touches it after done is set.
 */
#define SEND_WAIT_RETRY	(1 * AGENT_USEC_PER_MSEC)

struct send_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	agent *self;
	const char *name;
	const char *kind;
	const void *body;
	size_t len;
	uint64_t deadline;
	struct agent_tnode retry;
	int result;
	bool done;
};

static void
send_wait_try(struct send_wait *w)
{
	int r = agent_send_remote_body(w->self, w->name, w->kind, w->body,
				       w->len);

	if (r == -EAGAIN) {
		uint64_t now = agent__now();

		if (now < w->deadline) {
			uint64_t next = now + SEND_WAIT_RETRY;

			(void)agent__tnode_arm(w->self->loop, &w->retry,
					       next < w->deadline ? next :
								    w->deadline);
			return;
		}
		r = -ETIMEDOUT;
	}
	pthread_mutex_lock(&w->lock);
	w->result = r;
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void
send_wait_call(void *arg)
{
	send_wait_try(arg);
}

static void
send_wait_fire(struct agent_tnode *n)
{
	send_wait_try(container_of(n, struct send_wait, retry));
}

_public_ int
agent_send_remote_wait(agent *self, const char *name,
		       const struct agent_msg_type *type, void *payload,
		       uint64_t timeout_usec)
{
	struct send_wait w = { .lock = PTHREAD_MUTEX_INITIALIZER,
			       .cond = PTHREAD_COND_INITIALIZER };
	struct agent_xq *x;
	void *body = NULL;
	size_t len = 0;
	int r;

	if (!self || !type || !type->name || !name) {
		r = -EINVAL;
		goto out;
	}
	if (agent__on_loop(self->loop)) {
		r = -EDEADLK; /* the loop would wait for itself */
		goto out;
	}
	r = encode_body(type->encode, payload, &body, &len);
	if (r < 0)
		goto out;
	x = calloc(1, sizeof(*x));
	if (!x) {
		r = -ENOMEM;
		goto out;
	}
	w.self = self;
	w.name = name;
	w.kind = type->name;
	w.body = body;
	w.len = len;
	w.deadline = agent__deadline(timeout_usec);
	agent__tnode_init(&w.retry, send_wait_fire);
	x->kind = XQ_CALL;
	x->fn = send_wait_call;
	x->arg = &w;
	agent__xq_push(self->loop, x);
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	r = w.result;
out:
	free(body);
	if (payload && type && type->free)
		type->free(payload);
	return r;
}

/* Our inbox URL a destination can answer to: one of the same transport
 * (a tcp:// peer gets our tcp:// listener) when we have one. */
static const char *
reply_url_for(struct agent_remote_ctx *rc, const char *dest)
{
	size_t n = strcspn(dest, ":");

	for (unsigned i = 0; i < rc->n_extra; i++)
		if (strncmp(rc->extra_url[i], dest, n + 3) == 0)
			return rc->extra_url[i];
	return rc->inbox_url;
}

int agent__request_remote(agent *self, const char *name,
			  const struct agent_msg_type *type, void *payload,
			  uint64_t timeout_usec, uint64_t tag,
			  struct agent_await *w);

int
agent__request_remote(agent *self, const char *name,
		      const struct agent_msg_type *type, void *payload,
		      uint64_t timeout_usec, uint64_t tag, struct agent_await *w)
{
	struct agent_remote_ctx *rc;
	struct agent_req *req;
	struct proto_request rq;
	char url[PROTO_URL_MAX];
	void *body = NULL;
	size_t len = 0;
	int64_t id;
	int r;

	if (!self || !type || !type->name) {
		r = -EINVAL;
		goto fail;
	}
	rc = remote_get(self->loop, self);
	if (!rc) {
		r = -ENOMEM;
		goto fail;
	}
	if (!rc->has_inbox) {
		r = -ENOTCONN; /* no inbox to receive the answer */
		goto fail;
	}
	r = inbox_url_of(rc, name, url, sizeof(url));
	if (r < 0)
		goto fail;
	r = encode_body(type->encode, payload, &body, &len);
	if (r < 0)
		goto fail;
	if (timeout_usec == 0)
		timeout_usec = AGENT_REQ_DEFAULT_USEC;
	id = agent__request_new(self, type, timeout_usec, tag, w, &req);
	if (id < 0) {
		r = (int)id;
		goto fail;
	}
	req->remote = true;
	req->next_remote = rc->pending;
	rc->pending = req;
	req->n_ref++;
	rq.kind = type->name;
	rq.kind_len = strlen(type->name);
	rq.reply_to = reply_url_for(rc, url);
	rq.reply_to_len = strlen(rq.reply_to);
	rq.timeout_ms = timeout_usec / 1000 > UINT32_MAX
				? UINT32_MAX
				: (uint32_t)(timeout_usec / 1000);
	rq.body = body;
	rq.body_len = len;
	r = send_env(rc, url, PROTO_MSG_REQUEST, (uint64_t)id, pack_request,
		     &rq);
	free(body);
	body = NULL;
	if (payload && type->free)
		type->free(payload);
	if (r < 0) {
		/* no response will come: withdraw the request */
		agent__req_abandon(req);
		agent__req_unref(req);
		return r;
	}
	agent__req_unref(req);
	return (int)(id > INT32_MAX ? INT32_MAX : id);
fail:
	free(body);
	if (payload && type && type->free)
		type->free(payload);
	return r;
}

_public_ int64_t
agent_request_remote(agent *self, const char *name,
		     const struct agent_msg_type *type, void *payload,
		     uint64_t timeout_usec, uint64_t tag)
{
	return agent__request_remote(self, name, type, payload, timeout_usec,
				     tag, NULL);
}

void
agent__remote_cancel(agent_loop *l, struct agent_req *r)
{
	struct agent_remote_ctx *rc = l->remote;
	struct agent_req **pp;

	if (!rc)
		return;
	for (pp = &rc->pending; *pp; pp = &(*pp)->next_remote)
		if (*pp == r) {
			*pp = r->next_remote;
			r->next_remote = NULL;
			return;
		}
}

int
agent__remote_reply(agent *self, agent_msg *m, int err, void *payload)
{
	struct agent_remote_ctx *rc = agent__tls_loop ? agent__tls_loop->remote
						      : NULL;
	struct agent_remote_info *ri = m->remote;
	void *body = NULL;
	size_t len = 0;
	int r;

	if (self)
		rc = self->loop->remote;
	if (!rc || !ri || !ri->reply_to) {
		r = -ENOTCONN;
		goto out;
	}
	if (err == 0) {
		r = encode_body(m->type ? m->type->reply_encode : NULL, payload,
				&body, &len);
		if (r < 0)
			err = r;
	}
	if (err) {
		const char *s = strerror(-err);
		struct proto_result res = { .code = err, .message = s,
					    .message_len = strlen(s) };
		r = send_env(rc, ri->reply_to, PROTO_MSG_ERROR, ri->corr,
			     pack_result, &res);
	} else {
		struct proto_response resp = { .body = body, .body_len = len };
		r = send_env(rc, ri->reply_to, PROTO_MSG_RESPONSE, ri->corr,
			     pack_response, &resp);
	}
out:
	free(body);
	if (payload && m->type && m->type->reply_free)
		m->type->reply_free(payload);
	return r;
}

/* ---- the inbox -------------------------------------------------------------------- */

static const struct agent_msg_type *
type_by_name(agent *a, const char *kind, size_t len)
{
	const struct agent_handler *h = a->def->handlers;

	for (; h && h->type; h++)
		if (h->type->name && strlen(h->type->name) == len &&
		    memcmp(h->type->name, kind, len) == 0)
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
reject(struct agent_remote_ctx *rc, agent *a, const char *what)
{
	rc->rejected++;
	rc->stats.malformed++;
	agent__log(a, 7, "inbox: %s dropped (%llu malformed so far)", what,
		   (unsigned long long)rc->rejected);
}

static int pack_monitor(msgpack_packer *pk, const void *arg);
static int link_send_corr(struct agent_remote_ctx *rc, uint32_t type,
			  uint64_t corr,
			  int (*pack)(msgpack_packer *, const void *),
			  const void *arg);
static const char *reply_url_for(struct agent_remote_ctx *rc,
				 const char *dest);

/* ---- subscriptions ------------------------------------------------------------- */

/*
 * Wire (events between inboxes, kinds reserved by libagent):
 *   agent.subscribe    [topic, inbox]   from the subscriber
 *   agent.unsubscribe  [topic, inbox]
 *   agent.update       [topic, seq, missed, snapshot, value]  to it
 * The publisher answers a subscribe with the current value (snapshot =
 * true, the topic's seq), then sends every agent_publish() in order. An
 * update that cannot be sent (the subscriber's inbox is full: -EAGAIN) is
 * counted for that subscriber and the count travels with the next update
 * that gets through, so a subscriber that falls behind learns how many
 * it missed (seq then jumps by missed + 1). Under agentd the publisher
 * monitors each subscriber: one that leaves running is forgotten.
 */
struct sub {
	struct sub *next;
	char name[PROTO_NAME_MAX + 1];
	char url[PROTO_URL_MAX];
	uint64_t missed;
};

struct topic {
	struct topic *next;
	char name[PROTO_NAME_MAX + 1];
	uint64_t seq;
	void *value; /* msgpack of one object, or NULL (nil) */
	size_t len;
	struct sub *subs;
};

_public_ const struct agent_msg_type agent_type_update = {
	.name = "update", .free = free,
};

static struct topic *
topic_find(struct agent_remote_ctx *rc, const char *name, size_t len)
{
	struct topic *t;

	for (t = rc->topics; t; t = t->next)
		if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
			return t;
	return NULL;
}

static int
send_update_missed(struct agent_remote_ctx *rc, struct topic *t,
		   struct sub *s, bool snapshot, uint64_t missed);

static int
send_update(struct agent_remote_ctx *rc, struct topic *t, struct sub *s,
	    bool snapshot)
{
	return send_update_missed(rc, t, s, snapshot, s->missed);
}

/*
 * The send buffer towards url has room again: a subscriber there that
 * missed updates gets the current value now (its seq was one of those
 * missed, hence missed - 1), instead of waiting for the next publish.
 */
static void
pubsub_catch_up(struct agent_remote_ctx *rc, const char *url)
{
	for (struct topic *t = rc->topics; t; t = t->next)
		for (struct sub *s = t->subs; s; s = s->next)
			if (s->missed > 0 && strcmp(s->url, url) == 0)
				(void)send_update_missed(rc, t, s, false,
							 s->missed - 1);
}

static int
send_update_missed(struct agent_remote_ctx *rc, struct topic *t,
		   struct sub *s, bool snapshot, uint64_t missed)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int r;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 5);
	r = proto_pack_cstr(&pk, t->name);
	msgpack_pack_uint64(&pk, t->seq);
	msgpack_pack_uint64(&pk, missed);
	if (snapshot)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	if (r >= 0)
		r = proto_pack_raw(&pk, t->value, t->len);
	if (r >= 0 && !sb.data)
		r = -ENOMEM;
	if (r >= 0)
		r = send_event(rc, s->url, "agent.update", sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	if (r == 0)
		s->missed = 0;
	return r;
}

static void
sub_drop_name(struct agent_remote_ctx *rc, const char *name, size_t len)
{
	for (struct topic *t = rc->topics; t; t = t->next) {
		struct sub **pp = &t->subs;
		while (*pp) {
			struct sub *s = *pp;
			if (strlen(s->name) == len &&
			    memcmp(s->name, name, len) == 0) {
				*pp = s->next;
				free(s);
			} else
				pp = &s->next;
		}
	}
}

static struct topic *
topic_get(struct agent_remote_ctx *rc, const char *name, size_t len)
{
	struct topic *t = topic_find(rc, name, len);

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	snprintf(t->name, sizeof(t->name), "%.*s", (int)len, name);
	t->next = rc->topics;
	rc->topics = t;
	return t;
}

static void
pubsub_event(struct agent_remote_ctx *rc, agent *a, const struct proto_env *env,
	     const char *kind, size_t kind_len, const void *body, size_t len)
{
	struct proto_reader rd;
	const char *topic, *url;
	size_t topic_len, url_len;

	proto_reader_init(&rd, body, len);
	if (kind_len == 15 && memcmp(kind, "agent.subscribe", 15) == 0) {
		struct topic *t;
		struct sub *s;
		proto_read_array_n(&rd, 2);
		proto_read_str(&rd, &topic, &topic_len, PROTO_NAME_MAX);
		proto_read_str(&rd, &url, &url_len, PROTO_URL_MAX - 1);
		if (proto_read_end(&rd) < 0 || topic_len == 0 ||
		    env->sender_len == 0 || env->sender_len > PROTO_NAME_MAX ||
		    (strncmp(url, "ipc://", 6) != 0 &&
		     strncmp(url, "tcp://", 6) != 0 &&
		     strncmp(url, "tls+tcp://", 10) != 0)) {
			reject(rc, a, "malformed subscribe");
			return;
		}
		t = topic_get(rc, topic, topic_len);
		if (!t)
			return;
		for (s = t->subs; s; s = s->next)
			if (strlen(s->url) == url_len &&
			    memcmp(s->url, url, url_len) == 0)
				break;
		if (!s) {
			s = calloc(1, sizeof(*s));
			if (!s)
				return;
			snprintf(s->name, sizeof(s->name), "%.*s",
				 (int)env->sender_len, env->sender);
			snprintf(s->url, sizeof(s->url), "%.*s", (int)url_len,
				 url);
			s->next = t->subs;
			t->subs = s;
			if (rc->has_link) {
				/* learn from agentd when it dies */
				struct proto_monitor q = {
					.name = s->name,
					.name_len = strlen(s->name), .on = true,
				};
				if (proto_name_is_valid(q.name, q.name_len))
					(void)link_send_corr(rc, PROTO_MSG_MONITOR,
							     0, pack_monitor, &q);
			}
		}
		if (send_update(rc, t, s, true) < 0)
			s->missed++;
		return;
	}
	if (kind_len == 17 && memcmp(kind, "agent.unsubscribe", 17) == 0) {
		struct topic *t;
		proto_read_array_n(&rd, 2);
		proto_read_str(&rd, &topic, &topic_len, PROTO_NAME_MAX);
		proto_read_str(&rd, &url, &url_len, PROTO_URL_MAX - 1);
		if (proto_read_end(&rd) < 0) {
			reject(rc, a, "malformed unsubscribe");
			return;
		}
		t = topic_find(rc, topic, topic_len);
		for (struct sub **pp = t ? &t->subs : NULL; pp && *pp;
		     pp = &(*pp)->next)
			if (strlen((*pp)->url) == url_len &&
			    memcmp((*pp)->url, url, url_len) == 0) {
				struct sub *s = *pp;
				*pp = s->next;
				free(s);
				break;
			}
		return;
	}
	if (kind_len == 12 && memcmp(kind, "agent.update", 12) == 0) {
		struct agent_update *u;
		const void *value;
		size_t value_len;
		bool snapshot;
		uint64_t seq, missed;
		agent_msg *m;
		proto_read_array_n(&rd, 5);
		proto_read_str(&rd, &topic, &topic_len, PROTO_NAME_MAX);
		proto_read_u64(&rd, &seq);
		proto_read_u64(&rd, &missed);
		proto_read_bool(&rd, &snapshot);
		proto_read_raw(&rd, &value, &value_len);
		if (proto_read_end(&rd) < 0) {
			reject(rc, a, "malformed update");
			return;
		}
		u = calloc(1, sizeof(*u) + value_len);
		m = u ? agent__msg_new(a->loop) : NULL;
		if (!m) {
			free(u);
			rc->stats.dropped++;
			return;
		}
		snprintf(u->topic, sizeof(u->topic), "%.*s", (int)topic_len,
			 topic);
		snprintf(u->publisher, sizeof(u->publisher), "%.*s",
			 (int)MIN_SZ(env->sender_len, PROTO_NAME_MAX),
			 env->sender);
		u->seq = seq;
		u->missed = missed;
		u->snapshot = snapshot;
		u->value = u->data;
		u->len = value_len;
		memcpy(u->data, value, value_len);
		m->kind = AGENT_MSG_EVENT;
		m->type = &agent_type_update;
		m->payload = u;
		if (agent__enqueue(a, m) < 0) {
			rc->stats.dropped++;
			agent_msg_unref(m);
		}
		return;
	}
	rc->stats.unhandled++;
}

_public_ int
agent_publish(agent *self, const char *topic, const void *value, size_t len)
{
	struct agent_remote_ctx *rc;
	struct topic *t;
	void *copy = NULL;
	int n = 0;

	if (!self || !topic || !*topic || strlen(topic) > PROTO_NAME_MAX)
		return -EINVAL;
	if (value && len && proto_validate_object(value, len) < 0)
		return -EINVAL;
	rc = remote_get(self->loop, self);
	if (!rc)
		return -ENOMEM;
	t = topic_get(rc, topic, strlen(topic));
	if (!t)
		return -ENOMEM;
	if (value && len) {
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, value, len);
	}
	free(t->value);
	t->value = copy;
	t->len = copy ? len : 0;
	t->seq++;
	for (struct sub *s = t->subs; s; s = s->next) {
		if (send_update(rc, t, s, false) < 0)
			s->missed++; /* told with the next one that gets through */
		else
			n++;
	}
	return n;
}

_public_ unsigned
agent_subscribers(agent *self, const char *topic)
{
	struct agent_remote_ctx *rc;
	struct topic *t;
	unsigned n = 0;

	if (!self || !topic || !(rc = self->loop->remote))
		return 0;
	t = topic_find(rc, topic, strlen(topic));
	for (struct sub *s = t ? t->subs : NULL; s; s = s->next)
		n++;
	return n;
}

static int
subscribe_send(agent *self, const char *publisher, const char *topic,
	       const char *kind)
{
	struct agent_remote_ctx *rc;
	char url[PROTO_URL_MAX];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	const char *reply;
	int r;

	if (!self || !topic || !*topic || strlen(topic) > PROTO_NAME_MAX)
		return -EINVAL;
	rc = remote_get(self->loop, self);
	if (!rc)
		return -ENOMEM;
	if (!rc->has_inbox)
		return -ENOTCONN;
	r = inbox_url_of(rc, publisher, url, sizeof(url));
	if (r < 0)
		return r;
	reply = reply_url_for(rc, url);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	r = proto_pack_cstr(&pk, topic);
	if (r >= 0)
		r = proto_pack_cstr(&pk, reply);
	if (r >= 0 && !sb.data)
		r = -ENOMEM;
	if (r >= 0)
		r = send_event(rc, url, kind, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	return r;
}

_public_ int
agent_subscribe(agent *self, const char *publisher, const char *topic)
{
	return subscribe_send(self, publisher, topic, "agent.subscribe");
}

_public_ int
agent_unsubscribe(agent *self, const char *publisher, const char *topic)
{
	return subscribe_send(self, publisher, topic, "agent.unsubscribe");
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
		if (proto_request_unpack(&rd, &rq) < 0 ||
		    rq.reply_to_len < 7 ||
		    rq.reply_to_len >= PROTO_URL_MAX ||
		    (strncmp(rq.reply_to, "ipc://", 6) != 0 &&
		     strncmp(rq.reply_to, "tcp://", 6) != 0 &&
		     strncmp(rq.reply_to, "tls+tcp://", 10) != 0)) {
			reject(rc, a, "malformed request");
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
			reject(rc, a, "malformed event");
			return;
		}
		kind = ev.kind;
		kind_len = ev.kind_len;
		body = ev.body;
		body_len = ev.body_len;
		if (kind_len > 6 && memcmp(kind, "agent.", 6) == 0) {
			/* subscriptions: handled by libagent itself */
			pubsub_event(rc, a, env, kind, kind_len, body, body_len);
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
			reject(rc, a, "undecodable body");
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
	struct agent_req *req, **pp;
	struct agent_remote_info *ri;
	void *payload = NULL;
	int err = 0;

	for (pp = &rc->pending; *pp; pp = &(*pp)->next_remote)
		if ((uint64_t)(*pp)->id == env->corr)
			break;
	req = *pp;
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
			reject(rc, a, "malformed error response");
			err = -EBADMSG;
		} else
			err = res.code < 0 && res.code > -4096 ? res.code : -EIO;
		ri = remote_info(env, NULL, 0);
	} else {
		struct proto_response resp;
		if (proto_response_unpack(&rd, &resp) < 0) {
			reject(rc, a, "malformed response");
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
	/* agent__req_deliver -> req_abandon unlinks it from the table */
	agent__req_deliver(req, err, payload, ri);
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
		reject(rc, a, "unexpected message type");
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

/* On an nng thread: only flag it and wake the loop. */
static void
inbox_aio_cb(void *arg)
{
	struct agent_remote_ctx *rc = arg;
	uint64_t one = 1;

	atomic_store_explicit(&rc->inbox_done, 1, memory_order_release);
	(void)!write(rc->inbox_efd, &one, sizeof(one));
}

/* The message the inbox's receive got, if it completed; the receive is
 * started again at once (one message in flight: backpressure stays with
 * nng's queues). 0 with *msg set, or -EAGAIN. */
static int
inbox_take(struct agent_remote_ctx *rc, nng_msg **msg)
{
	uint64_t v;
	int rv;

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
		nng_aio_set_msg(rc->inbox_aio, NULL);
		if (rv == NNG_ECLOSED)
			return -EAGAIN;
		nng_recv_aio(rc->inbox, rc->inbox_aio);
		if (*msg)
			return 0;
	}
}

/*
 * Dispatch what the inbox holds: nng messages of one or more envelopes
 * (batches), in order, while the agent's mailbox has room. A full mailbox
 * stops reading (the rest of the current batch is kept and resumed, the
 * socket fills up and the senders get -EAGAIN); a malformed envelope
 * ends its batch (counted, nothing after it is looked at).
 */
static void
inbox_pump(struct agent_remote_ctx *rc)
{
	agent *a = rc->inbox_agent;
	unsigned budget = INBOX_BUDGET;

	for (;;) {
		const uint8_t *body;
		size_t len;

		if (!rc->cur) {
			nng_msg *msg;
			if (a && inbox_full(a)) {
				inbox_block(rc);
				return;
			}
			if (budget == 0)
				return; /* the eventfd stays readable */
			if (inbox_take(rc, &msg) < 0)
				return;
			if (!a) {
				/* the agent is gone: drain and drop */
				nng_msg_free(msg);
				budget--;
				continue;
			}
			rc->cur = msg;
			rc->cur_off = 0;
		}
		body = nng_msg_body(rc->cur);
		len = nng_msg_len(rc->cur);
		while (a && rc->cur_off < len) {
			struct proto_env env;
			int r;

			if (inbox_full(a)) {
				inbox_block(rc);
				return;
			}
			if (budget == 0) {
				(void)agent__tnode_arm(rc->loop, &rc->resume,
						       agent__now());
				return;
			}
			budget--;
			r = proto_env_decode_next(body, len, &rc->cur_off, &env);
			if (r < 0) {
				reject(rc, a, "malformed envelope");
				break;
			}
			if (proto_msgtype_family(env.type) != PROTO_FAMILY_AGENT) {
				reject(rc, a, "envelope of a foreign family");
				continue;
			}
			rc->stats.received++;
			inbox_dispatch(rc, a, &env);
		}
		nng_msg_free(rc->cur);
		rc->cur = NULL;
		rc->cur_off = 0;
	}
}

static void
inbox_fire(struct agent_io *io, uint32_t revents)
{
	(void)revents;
	inbox_pump(container_of(io, struct agent_remote_ctx, inbox_io));
}

static void
inbox_resume_fire(struct agent_tnode *n)
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

/* a is being freed: the remote context holds no reference, forget it */
void
agent__remote_detach(agent *a)
{
	struct agent_remote_ctx *rc = a->loop->remote;

	if (!rc)
		return;
	if (rc->inbox_agent == a)
		rc->inbox_agent = NULL;
	if (rc->link_agent == a)
		rc->link_agent = NULL;
	if (rc->monitor_agent == a)
		rc->monitor_agent = NULL;
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
	if (strncmp(url, "ipc://", 6) == 0)
		r = nng_listener_set_int(lst, NNG_OPT_IPC_PERMISSIONS, 0600);
	else if (is_tls(url)) {
		if (!rc->tls_cert_key[0])
			r = NNG_EINVAL; /* a TLS server needs a certificate */
		else
			r = tls_options_set(rc, NULL, &lst);
	}
	if (r == 0)
		r = nng_listener_start(lst, 0);
	if (r != 0) {
		(void)nng_listener_close(lst);
		return proto_errno_from_nng(r);
	}
	snprintf(bound, size, "%s", url);
	if (strncmp(url, "ipc://", 6) != 0 &&
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
	if (strncmp(url, "ipc://", 6) != 0 && strncmp(url, "tcp://", 6) != 0 &&
	    strncmp(url, "tls+tcp://", 10) != 0)
		return -EINVAL;
	rc = remote_get(a->loop, a);
	if (!rc)
		return -ENOMEM;
	if (rc->has_inbox) {
		/* one inbox per process; more transports for it */
		if (rc->inbox_agent != a || strncmp(url, "ipc://", 6) == 0)
			return -EALREADY;
		if (rc->n_extra == MAX_EXTRA)
			return -ENOSPC;
		return listener_start(rc, url, &lst, rc->extra_url[rc->n_extra++],
				      PROTO_URL_MAX) < 0
			       ? (rc->n_extra--, -EADDRNOTAVAIL)
			       : 0;
	}
	if (strncmp(url, "ipc://", 6) == 0) {
		/* the directory may not exist yet (standalone) */
		char dir[PROTO_URL_MAX], *slash;
		snprintf(dir, sizeof(dir), "%s", url + 6);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			(void)mkdir(dir, 0700);
		}
	}
	block_signals(&old);
	r = nng_pull0_open(&rc->inbox);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return proto_errno_from_nng(r);
	(void)nng_socket_set_size(rc->inbox, NNG_OPT_RECVMAXSZ, PROTO_MSG_MAX);
	r = listener_start(rc, url, &lst, rc->inbox_url, sizeof(rc->inbox_url));
	if (r < 0) {
		nng_close(rc->inbox);
		return r;
	}
	rc->inbox_lst = lst;
	rc->inbox_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (rc->inbox_efd < 0) {
		r = -errno;
		nng_close(rc->inbox);
		return r;
	}
	atomic_store(&rc->inbox_done, 0);
	r = nng_aio_alloc(&rc->inbox_aio, inbox_aio_cb, rc);
	if (r != 0) {
		close(rc->inbox_efd);
		nng_close(rc->inbox);
		return proto_errno_from_nng(r);
	}
	rc->inbox_io.fd = rc->inbox_efd;
	rc->inbox_io.fire = inbox_fire;
	r = agent__io_update(a->loop, &rc->inbox_io, EPOLLIN);
	if (r < 0) {
		nng_aio_free(rc->inbox_aio);
		close(rc->inbox_efd);
		nng_close(rc->inbox);
		return r;
	}
	nng_recv_aio(rc->inbox, rc->inbox_aio);
	rc->has_inbox = true;
	rc->inbox_agent = a; /* weak: detached when a is freed */
	a->is_inbox = true;
	if (strncmp(url, "ipc://", 6) != 0) {
		/* a network inbox only: it answers on the same transport */
		snprintf(rc->extra_url[rc->n_extra++], PROTO_URL_MAX, "%s",
			 rc->inbox_url);
	}
	return 0;
}

/* The URL an inbox really listens on (with the port chosen for :0): the
 * ipc one first, or the n-th network one. */
_public_ const char *
agent_listen_url(agent *a, unsigned n)
{
	struct agent_remote_ctx *rc;

	if (!a || !(rc = a->loop->remote) || !rc->has_inbox)
		return NULL;
	if (strncmp(rc->inbox_url, "ipc://", 6) == 0) {
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
static void
inbox_relisten(struct agent_remote_ctx *rc)
{
	nng_listener lst;
	int r;

	if (!rc->has_inbox)
		return;
	(void)nng_listener_close(rc->inbox_lst);
	r = nng_listener_create(&lst, rc->inbox, rc->inbox_url);
	if (r == 0 && strncmp(rc->inbox_url, "ipc://", 6) == 0)
		r = nng_listener_set_int(lst, NNG_OPT_IPC_PERMISSIONS, 0600);
	if (r == 0)
		r = nng_listener_start(lst, 0);
	if (r != 0) {
		agent__log(rc->inbox_agent, 7, "cannot listen again on %s: %s",
			   rc->inbox_url, nng_strerror(r));
		return;
	}
	rc->inbox_lst = lst;
	agent__log(rc->inbox_agent, 7, "inbox listener recreated after SIGCONT");
}

/* ---- the link to agentd ------------------------------------------------------------- */

static int
link_send_corr(struct agent_remote_ctx *rc, uint32_t type, uint64_t corr,
	       int (*pack)(msgpack_packer *, const void *), const void *arg)
{
	struct proto_builder b;
	nng_msg *msg;
	int r;

	if (!rc->has_link)
		return -ENOTCONN;
	r = proto_builder_begin(&b, type, 0, corr, rc->name);
	if (r < 0)
		return r;
	r = pack(&b.pk, arg);
	if (r < 0) {
		proto_builder_abort(&b);
		return r;
	}
	r = proto_builder_finish(&b, &msg);
	if (r < 0)
		return r;
	r = nng_sendmsg(rc->link, msg, 0);
	if (r != 0) {
		nng_msg_free(msg);
		return proto_errno_from_nng(r);
	}
	return 0;
}

static int
link_send(struct agent_remote_ctx *rc, uint32_t type,
	  int (*pack)(msgpack_packer *, const void *), const void *arg)
{
	return link_send_corr(rc, type, 0, pack, arg);
}

static int
pack_empty(msgpack_packer *pk, const void *arg)
{
	(void)arg;
	return proto_empty_pack(pk);
}

static int
pack_hello(msgpack_packer *pk, const void *arg)
{
	return proto_hello_pack(pk, arg);
}

static int
pack_heartbeat(msgpack_packer *pk, const void *arg)
{
	return proto_heartbeat_pack(pk, arg);
}

static int
pack_text(msgpack_packer *pk, const void *arg)
{
	return proto_text_pack(pk, arg);
}

static int
pack_exit(msgpack_packer *pk, const void *arg)
{
	return proto_exit_report_pack(pk, arg);
}

static void
heartbeat_fire(struct agent_tnode *n)
{
	struct agent_remote_ctx *rc =
		container_of(n, struct agent_remote_ctx, heartbeat);
	struct proto_heartbeat hb = { .seq = ++rc->hb_seq };

	(void)link_send(rc, PROTO_MSG_HEARTBEAT, pack_heartbeat, &hb);
	if (rc->watchdog_usec)
		(void)agent__tnode_arm(rc->loop, n,
				       agent__now() + rc->watchdog_usec / 2);
}

/* A RESOLVE_REPLY (to the agent that asked, matched by corr) or a
 * PEER_STATE (to the agent that monitors): an agent_type_peer message. */
static void
peer_received(struct agent_remote_ctx *rc, const struct proto_env *env,
	      struct proto_reader *rd)
{
	struct resolve_wait *w = NULL, **pp;
	struct agent_peer *info;
	struct proto_peer p;
	agent *to;
	agent_msg *m;

	if (proto_peer_unpack(rd, &p) < 0) {
		reject(rc, rc->link_agent, "malformed peer message");
		return;
	}
	if (env->type == PROTO_MSG_RESOLVE_REPLY) {
		for (pp = &rc->resolving; *pp; pp = &(*pp)->next)
			if ((*pp)->corr == env->corr) {
				w = *pp;
				*pp = w->next;
				break;
			}
		if (!w)
			return; /* nobody waits for it */
		to = w->a;
	} else {
		to = rc->monitor_agent ? rc->monitor_agent : rc->link_agent;
		if (!(p.state_len == 7 && memcmp(p.state, "running", 7) == 0) &&
		    !(p.state_len == 8 && memcmp(p.state, "starting", 8) == 0))
			sub_drop_name(rc, p.name, p.name_len); /* it died */
	}
	info = calloc(1, sizeof(*info));
	m = info && to ? agent__msg_new(rc->loop) : NULL;
	if (m) {
		snprintf(info->name, sizeof(info->name), "%.*s",
			 (int)p.name_len, p.name);
		snprintf(info->inbox, sizeof(info->inbox), "%.*s",
			 (int)MIN_SZ(p.inbox_len, sizeof(info->inbox) - 1),
			 p.inbox);
		snprintf(info->state, sizeof(info->state), "%.*s",
			 (int)p.state_len, p.state);
		info->pid = p.pid;
		info->resolved = env->type == PROTO_MSG_RESOLVE_REPLY;
		m->kind = AGENT_MSG_EVENT;
		m->type = &agent_type_peer;
		m->payload = info;
		m->tag = w ? w->tag : 0;
		m->control = w != NULL; /* bounded by the resolves it made */
		if (agent__enqueue(to, m) < 0) {
			rc->stats.dropped++;
			agent_msg_unref(m); /* frees info */
		}
	} else {
		free(info);
		if (to)
			rc->stats.dropped++;
	}
	if (w) {
		agent_unref(w->a);
		free(w);
	}
}

static int
pack_resolve(msgpack_packer *pk, const void *arg)
{
	return proto_resolve_pack(pk, arg);
}

static int
pack_monitor(msgpack_packer *pk, const void *arg)
{
	return proto_monitor_pack(pk, arg);
}

static int link_send_corr(struct agent_remote_ctx *rc, uint32_t type,
			  uint64_t corr,
			  int (*pack)(msgpack_packer *, const void *),
			  const void *arg);

_public_ int
agent_resolve(agent *self, const char *name, uint64_t tag)
{
	struct agent_remote_ctx *rc;
	struct resolve_wait *w;
	struct proto_resolve q;
	int r;

	if (!self || !name || !proto_name_is_valid(name, strlen(name)))
		return -EINVAL;
	rc = self->loop->remote;
	if (!rc || !rc->has_link)
		return -ENOTCONN;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->corr = ++rc->next_corr;
	w->tag = tag;
	q.name = name;
	q.name_len = strlen(name);
	r = link_send_corr(rc, PROTO_MSG_RESOLVE, w->corr, pack_resolve, &q);
	if (r < 0) {
		free(w);
		return r;
	}
	w->a = agent_ref(self);
	w->next = rc->resolving;
	rc->resolving = w;
	return 0;
}

_public_ int
agent_monitor(agent *self, const char *name, bool on)
{
	struct agent_remote_ctx *rc;
	struct proto_monitor q;

	if (!self || !name || !proto_name_is_valid(name, strlen(name)))
		return -EINVAL;
	rc = self->loop->remote;
	if (!rc || !rc->has_link)
		return -ENOTCONN;
	q.name = name;
	q.name_len = strlen(name);
	q.on = on;
	rc->monitor_agent = self;
	return link_send_corr(rc, PROTO_MSG_MONITOR, 0, pack_monitor, &q);
}

static void
link_fire(struct agent_io *io, uint32_t revents)
{
	struct agent_remote_ctx *rc =
		container_of(io, struct agent_remote_ctx, link_io);
	agent *a = rc->link_agent;

	(void)revents;
	for (int i = 0; i < 64; i++) {
		if (!a) {
			nng_msg *drop;
			if (nng_recvmsg(rc->link, &drop, NNG_FLAG_NONBLOCK) != 0)
				return;
			nng_msg_free(drop);
			continue;
		}
		struct proto_env env;
		struct proto_reader rd;
		nng_msg *msg;
		int r = nng_recvmsg(rc->link, &msg, NNG_FLAG_NONBLOCK);

		if (r != 0)
			return;
		r = proto_env_decode_msg(msg, &env);
		if (r < 0 || proto_msgtype_family(env.type) != PROTO_FAMILY_LINK) {
			reject(rc, a, "malformed link message");
			nng_msg_free(msg);
			continue;
		}
		proto_reader_init(&rd, env.payload, env.payload_len);
		switch (env.type) {
		case PROTO_MSG_HELLO_ACK: {
			struct proto_hello_ack ack;
			if (proto_hello_ack_unpack(&rd, &ack) < 0) {
				reject(rc, a, "malformed hello-ack");
				break;
			}
			rc->watchdog_usec = ack.watchdog_usec;
			if (ack.watchdog_usec)
				(void)agent__tnode_arm(rc->loop, &rc->heartbeat,
						       agent__now() +
							       ack.watchdog_usec / 2);
			if (ack.stop_timeout_usec && a)
				a->grace_usec = ack.stop_timeout_usec / 4 * 3;
			break;
		}
		case PROTO_MSG_RESOLVE_REPLY:
		case PROTO_MSG_PEER_STATE:
			peer_received(rc, &env, &rd);
			break;
		case PROTO_MSG_INTERRUPT: {
			struct proto_interrupt in;
			int level;
			if (proto_interrupt_unpack(&rd, &in) < 0) {
				reject(rc, a, "malformed interrupt");
				break;
			}
			level = in.level >= PROTO_LEVEL_ABORT ? AGENT_LEVEL_ABORT
				: in.level >= PROTO_LEVEL_FLAG ? AGENT_LEVEL_FLAG
				: in.level >= PROTO_LEVEL_EVENT ? AGENT_LEVEL_EVENT
							       : AGENT_LEVEL_FLAG;
			agent__log(a, 7, "agentd asks for an interruption at %d",
				   level);
			if (a)
				agent__interrupt_local(a, level);
			break;
		}
		default:
			agent__log(a, 7, "link: %s ignored",
				   proto_msgtype_to_string(env.type));
			break;
		}
		nng_msg_free(msg);
	}
}

static void
link_first_step(agent *a)
{
	struct agent_remote_ctx *rc = a->loop->remote;

	if (rc)
		(void)link_send(rc, PROTO_MSG_READY, pack_empty, NULL);
}

static void
link_on_end(agent *a)
{
	struct agent_remote_ctx *rc = a->loop->remote;

	if (!rc)
		return;
	if (a->phase == PHASE_ENDING) {
		struct proto_text t = { .text = "stopping", .len = 8 };
		(void)link_send(rc, PROTO_MSG_STOPPING, pack_text, &t);
		agent__tnode_disarm(rc->loop, &rc->heartbeat);
	} else {
		const char *msg = a->error ? strerror(-a->error) : "";
		struct proto_exit_report er = {
			.reason = (uint32_t)a->reason,
			.code = a->error,
			.message = msg,
			.message_len = strlen(msg),
		};
		(void)link_send(rc, PROTO_MSG_EXIT_REPORT, pack_exit, &er);
	}
}

static int
link_open(agent *a, const char *url)
{
	struct agent_remote_ctx *rc = remote_get(a->loop, a);
	struct proto_hello h = { 0 };
	sigset_t old;
	int r;

	if (!rc)
		return -ENOMEM;
	block_signals(&old);
	r = nng_pair1_open(&rc->link);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return proto_errno_from_nng(r);
	(void)nng_socket_set_size(rc->link, NNG_OPT_RECVMAXSZ, PROTO_MSG_MAX);
	(void)nng_socket_set_ms(rc->link, NNG_OPT_SENDTIMEO, LINK_SENDTIMEO);
	r = nng_dial(rc->link, url, NULL, 0);
	if (r != 0) {
		nng_close(rc->link);
		return proto_errno_from_nng(r);
	}
	r = sock_recvfd(rc->link, &rc->link_io, a->loop, link_fire);
	if (r < 0) {
		nng_close(rc->link);
		return r;
	}
	rc->has_link = true;
	rc->link_agent = a; /* weak */
	agent__tnode_init(&rc->heartbeat, heartbeat_fire);
	a->on_first_step = link_first_step;
	a->on_end = link_on_end;

	snprintf(h.name, sizeof(h.name), "%s", rc->name);
	h.pid = (uint32_t)getpid();
	h.inbox = rc->has_inbox ? rc->inbox_url : "";
	h.inbox_len = strlen(h.inbox);
	return link_send(rc, PROTO_MSG_HELLO, pack_hello, &h);
}

void
agent__remote_free(agent_loop *l)
{
	struct agent_remote_ctx *rc = l->remote;

	if (!rc)
		return;
	if (rc->has_link) {
		agent__io_remove(l, &rc->link_io);
		agent__tnode_disarm(l, &rc->heartbeat);
		/* nng has no flush: give the last report (EXIT_REPORT) a
		 * moment on its way out before the pipe is torn down */
		nng_msleep(10);
		nng_close(rc->link);
	}
	if (rc->has_inbox) {
		agent__io_remove(l, &rc->inbox_io);
		nng_aio_stop(rc->inbox_aio);
		if (atomic_load(&rc->inbox_done) &&
		    nng_aio_result(rc->inbox_aio) == 0 &&
		    nng_aio_get_msg(rc->inbox_aio))
			nng_msg_free(nng_aio_get_msg(rc->inbox_aio));
		nng_aio_free(rc->inbox_aio);
		nng_close(rc->inbox);
		close(rc->inbox_efd);
	}
	while (rc->resolving) {
		struct resolve_wait *w = rc->resolving;
		rc->resolving = w->next;
		agent_unref(w->a);
		free(w);
	}
	agent__tnode_disarm(l, &rc->resume);
	if (rc->cur)
		nng_msg_free(rc->cur);
	if (rc->peers) {
		/* the last batches leave; nng has no flush, so give them a
		 * moment in the send buffers before the sockets close */
		agent__remote_flush(l);
		nng_msleep(10);
	}
	while (rc->peers) {
		struct peer *p = rc->peers;
		rc->peers = p->next;
		peer_free(rc, p);
	}
	while (rc->topics) {
		struct topic *t = rc->topics;
		rc->topics = t->next;
		while (t->subs) {
			struct sub *sb = t->subs;
			t->subs = sb->next;
			free(sb);
		}
		free(t->value);
		free(t);
	}
	while (rc->pools) {
		struct pool *p = rc->pools;
		rc->pools = p->next;
		pool_clear(p);
		free(p);
	}
	l->remote = NULL;
	free(rc);
}

_public_ int
agent_set_status(agent *a, const char *text)
{
	struct agent_remote_ctx *rc;
	struct proto_text t;

	if (!a || !text || strlen(text) > PROTO_STR_MAX)
		return -EINVAL;
	rc = a->loop->remote;
	if (!rc || !rc->has_link)
		return -ENOTCONN;
	t.text = text;
	t.len = strlen(text);
	return link_send(rc, PROTO_MSG_STATUS_TEXT, pack_text, &t);
}

_public_ int
agent_remote_stats(agent *a, struct agent_remote_stats *ret)
{
	if (!a || !ret)
		return -EINVAL;
	if (a->loop->remote)
		*ret = a->loop->remote->stats;
	else
		memset(ret, 0, sizeof(*ret));
	return 0;
}

_public_ int
agent_remote_flush(agent *a)
{
	if (!a)
		return -EINVAL;
	agent__remote_flush(a->loop);
	return 0;
}

/* ---- agent_main ----------------------------------------------------------------------- */

struct sigctx {
	struct agent_io io;
	agent *a;
	int count;
};

static void
signal_fire(struct agent_io *io, uint32_t revents)
{
	struct sigctx *sc = container_of(io, struct sigctx, io);
	struct signalfd_siginfo si;
	int level;

	(void)revents;
	while (read(io->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCONT) {
			if (sc->a->loop->remote)
				inbox_relisten(sc->a->loop->remote);
			continue;
		}
		if (si.ssi_signo != SIGTERM && si.ssi_signo != SIGINT)
			continue;
		sc->count++;
		/* escalate: the first is FLAG, the next ABORT */
		level = sc->a->level < AGENT_LEVEL_FLAG ? AGENT_LEVEL_FLAG
							: AGENT_LEVEL_ABORT;
		agent__log(sc->a, 7, "signal %u: interrupting at %d",
			   si.ssi_signo, level);
		agent__interrupt_local(sc->a, level);
	}
}

static bool
main_alive(void *arg)
{
	agent *a = arg;

	/* an abort that cannot complete (a sync state still running on a
	 * worker, in this agent or a descendant) ends the process anyway */
	return a->phase != PHASE_ENDED && !agent__abort_stuck(a);
}

int agent__loop_run_while(agent_loop *l, bool (*pred)(void *), void *arg);

_public_ int
agent_main(const struct agent_def *def, void *self, int argc, char **argv)
{
	struct sigctx sc = { 0 };
	agent_loop *l = NULL;
	sigset_t set, old;
	const char *link, *inbox;
	agent *a = NULL;
	int r, status;

	(void)argc;
	(void)argv;
	if (!def)
		return AGENT_EXIT_FAILED;
	/* block before the first nng call, for every thread to come */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGCONT); /* still continues the process when blocked */
	pthread_sigmask(SIG_BLOCK, &set, &old);

	r = agent_loop_new(&l);
	if (r < 0)
		return AGENT_EXIT_FAILED;
	r = agent_new(&a, l, def, self);
	if (r < 0) {
		agent_loop_unref(l);
		return AGENT_EXIT_FAILED;
	}
	{
		const char *n = getenv("AGENTD_NAME");
		if (n && proto_name_is_valid(n, strlen(n)))
			(void)agent_set_name(a, n); /* logs say who we are */
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCONT);
	sc.io.fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	sc.io.fire = signal_fire;
	sc.a = a;
	if (sc.io.fd >= 0)
		(void)agent__io_update(l, &sc.io, EPOLLIN);

	inbox = getenv("AGENTD_INBOX");
	if (inbox && *inbox) {
		r = agent_listen(a, inbox);
		if (r < 0)
			agent__log(a, 7, "cannot listen on %s: %s", inbox,
				   strerror(-r));
	}
	{
		/* more inbox transports: "tcp://H:P,tls+tcp://H:P" */
		const char *more = getenv("AGENTD_LISTEN");
		char buf[4 * PROTO_URL_MAX], *save = NULL, *u;
		if (more && strlen(more) < sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%s", more);
			for (u = strtok_r(buf, ", ", &save); u;
			     u = strtok_r(NULL, ", ", &save)) {
				r = agent_listen(a, u);
				if (r < 0)
					agent__log(a, 3, "cannot listen on %s: %s",
						   u, strerror(-r));
			}
		}
	}
	link = getenv("AGENTD_LINK");
	if (link && *link) {
		r = link_open(a, link);
		if (r < 0)
			agent__log(a, 7, "cannot link to agentd at %s: %s",
				   link, strerror(-r));
	}
	(void)agent_start(a);
	r = agent__loop_run_while(l, main_alive, a);
	if (a->phase == PHASE_ENDED)
		status = a->reason;
	else if (agent__abort_stuck(a)) {
		/* a sync state holds the agent: report and leave without
		 * waiting for it (the process ends with us) */
		struct agent_remote_ctx *rc = l->remote;
		struct proto_exit_report er = { .reason = AGENT_EXIT_ABORTED };
		if (rc)
			(void)link_send(rc, PROTO_MSG_EXIT_REPORT, pack_exit,
					&er);
		return AGENT_EXIT_ABORTED;
	} else
		status = r < 0 ? AGENT_EXIT_FAILED : AGENT_EXIT_ABORTED;
	if (sc.io.fd >= 0) {
		agent__io_remove(l, &sc.io);
		close(sc.io.fd);
	}
	agent_unref(a);
	agent_loop_unref(l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return status;
}
