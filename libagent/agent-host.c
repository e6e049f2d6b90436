/* SPDX-License-Identifier: MIT */
/*
 * agent-host.c - NAME@HOST destinations: resolution by HOST's agentd (its
 * name server), the envelopes that wait for it, the cache of what was
 * resolved and when to resolve again. See agent-host.h.
 *
 * Each resolution has its own req0 socket, dialled in the background to
 * tcp://HOST:PORT (tls+tcp:// with our TLS files when $AGENTD_TLS_CA_FILE
 * is set), and one aio: send HOST_RESOLVE, then receive the reply, both
 * within HOST_RESOLVE_TIMEOUT. The aio's callback runs on an nng thread
 * and only sets `done` and writes the eventfd; everything else happens on
 * the loop, which closes the socket once the answer is in.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "agent-addr.h"
#include "agent-host.h"
#include "proto-ctl.h"
#include "proto-host.h"
#include "proto-link.h"

enum hd_state {
	HD_IDLE,      /* not resolved (or no longer): the next send asks */
	HD_RESOLVING, /* the name server was asked; envelopes wait */
	HD_READY,     /* url is the agent's inbox */
};

struct host_dest {
	struct host_dest *next;
	struct host_ctx *hc;
	uint64_t id;                 /* the stand-in URL's number */
	char key[AGENT_ADDR_MAX + 1]; /* the address as the caller gave it */
	struct agent_addr addr;
	enum hd_state state;
	char url[PROTO_URL_MAX];     /* HD_READY: the inbox URL */
	char ns_url[PROTO_URL_MAX];  /* the name server we ask */
	nng_msg *pending;            /* envelopes waiting for the answer */
	unsigned pending_n;
	uint64_t resolved_at;        /* the last answer */

	/* the resolution in flight (HD_RESOLVING) */
	nng_socket sock;
	bool sock_open;
	nng_aio *aio;
	atomic_int done;             /* set by aio_cb (nng thread) */
	bool receiving;              /* the send is done, the receive runs */
	uint64_t deadline;
	uint64_t corr;
};

struct host_ctx {
	struct agent_remote_ctx *rc;
	struct host_dest *list;      /* most recently used first */
	unsigned n;
	uint64_t next_id;
	uint64_t next_corr;
	int efd;                     /* aio callbacks and pipe events */
	struct agent_io io;
	uint16_t port;               /* $AGENTD_PORT or the default */
	bool port_bad;               /* $AGENTD_PORT is not a port */
	bool tls;                    /* ask over tls+tcp:// */
};

static void host_io_fire(struct agent_io *io, uint32_t revents);

static struct host_ctx *
host_ctx_get(struct agent_remote_ctx *rc)
{
	struct host_ctx *hc = rc->host;
	const char *e;

	if (hc)
		return hc;
	hc = calloc(1, sizeof(*hc));
	if (!hc)
		return NULL;
	hc->rc = rc;
	hc->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (hc->efd < 0) {
		free(hc);
		return NULL;
	}
	hc->io.fd = hc->efd;
	hc->io.fire = host_io_fire;
	if (agent__io_update(rc->loop, &hc->io, EPOLLIN) < 0) {
		close(hc->efd);
		free(hc);
		return NULL;
	}
	hc->port = AGENT_NS_DEFAULT_PORT;
	e = getenv("AGENTD_PORT");
	if (e && *e && agent__port_parse(e, strlen(e), &hc->port) < 0)
		hc->port_bad = true;
	hc->tls = rc->tls_ca[0] != '\0';
	/* pairs an answer with its request (one socket per resolution) */
	hc->next_corr = ((uint64_t)getpid() << 32) | 1;
	rc->host = hc;
	return hc;
}

int
agent__host_wake_fd(struct agent_remote_ctx *rc)
{
	return rc->host ? rc->host->efd : -1;
}

static void
wake(int efd)
{
	uint64_t one = 1;

	if (efd >= 0)
		(void)!write(efd, &one, sizeof(one));
}

/* nng thread: flag and wake the loop, nothing else */
static void
aio_cb(void *arg)
{
	struct host_dest *hd = arg;

	atomic_store(&hd->done, 1);
	wake(hd->hc->efd);
}

static void
resolve_stop(struct host_dest *hd)
{
	if (hd->aio) {
		/* from the loop: waits for a callback still running */
		nng_aio_free(hd->aio);
		hd->aio = NULL;
	}
	if (hd->sock_open) {
		nng_close(hd->sock);
		hd->sock_open = false;
	}
	atomic_store(&hd->done, 0);
	hd->receiving = false;
}

/* The waiting envelopes are lost: count them, and fail the requests among
 * them with err, as an error response would. */
static void
pending_drop(struct host_dest *hd, int err)
{
	struct agent_remote_ctx *rc = hd->hc->rc;
	nng_msg *batch = hd->pending;
	const uint8_t *buf;
	size_t len, off = 0;
	struct proto_env env;

	if (!batch)
		return;
	/* detached first: completions are queued, but nothing may see a
	 * half-dropped batch */
	rc->stats.dropped += hd->pending_n;
	hd->pending = NULL;
	hd->pending_n = 0;
	buf = nng_msg_body(batch);
	len = nng_msg_len(batch);
	while (off < len && proto_env_decode_next(buf, len, &off, &env) == 0) {
		struct agent_req *req;

		if (env.type != PROTO_MSG_REQUEST)
			continue;
		req = agent__remote_take(rc, env.corr);
		if (req)
			agent__remote_deliver(rc, req, err, NULL, NULL);
	}
	nng_msg_free(batch);
}

static void
resolve_fail(struct host_dest *hd, const char *why)
{
	agent__log(hd->hc->rc->inbox_agent, 7,
		   "%s: not resolved (%s): %u envelopes dropped", hd->key, why,
		   hd->pending_n);
	resolve_stop(hd);
	hd->state = HD_IDLE;
	pending_drop(hd, -EHOSTUNREACH);
}

static int
resolve_start(struct host_dest *hd)
{
	struct agent_remote_ctx *rc = hd->hc->rc;
	struct proto_resolve q = { .name = hd->addr.name,
				   .name_len = strlen(hd->addr.name) };
	nng_dialer d;
	nng_msg *msg;
	sigset_t old;
	int rv, r;

	hd->corr = hd->hc->next_corr++;
	r = proto_build(PROTO_MSG_HOST_RESOLVE, 0, hd->corr, rc->name,
			agent__pack_resolve, &q, &msg);
	if (r < 0)
		return r;
	agent__block_signals(&old);
	rv = nng_req0_open(&hd->sock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rv != 0) {
		nng_msg_free(msg);
		return proto_errno_from_nng(rv);
	}
	hd->sock_open = true;
	(void)nng_socket_set_size(hd->sock, NNG_OPT_RECVMAXSZ, PROTO_MSG_MAX);
	(void)nng_socket_set_ms(hd->sock, NNG_OPT_REQ_RESENDTIME,
				NNG_DURATION_INFINITE);
	rv = nng_dialer_create(&d, hd->sock, hd->ns_url);
	if (rv == 0 && agent__url_is_tls(hd->ns_url))
		rv = agent__tls_options_set(rc, &d, NULL);
	/* in the background: the send waits for the connection, within the
	 * aio's timeout */
	if (rv == 0)
		rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK);
	if (rv == 0)
		rv = nng_aio_alloc(&hd->aio, aio_cb, hd);
	if (rv != 0) {
		nng_msg_free(msg);
		resolve_stop(hd);
		return proto_errno_from_nng(rv);
	}
	hd->deadline = agent__deadline(HOST_RESOLVE_TIMEOUT);
	hd->receiving = false;
	atomic_store(&hd->done, 0);
	nng_aio_set_timeout(hd->aio,
			    (nng_duration)(HOST_RESOLVE_TIMEOUT /
					   AGENT_USEC_PER_MSEC));
	nng_aio_set_msg(hd->aio, msg);
	hd->state = HD_RESOLVING;
	nng_send_aio(hd->sock, hd->aio);
	return 0;
}

/* The name server answered (msg is ours): pick the inbox URL. */
static int
resolve_answer(struct host_dest *hd, nng_msg *msg, const char **why)
{
	const char *want = hd->hc->tls ? "tls+tcp://" : "tcp://";
	struct proto_host_peer p;
	struct proto_reader rd;
	struct proto_env env;
	char url[PROTO_URL_MAX];

	*why = "malformed answer";
	if (proto_env_decode_msg(msg, &env) < 0)
		return -EBADMSG;
	if (env.corr != hd->corr)
		return -EBADMSG;
	proto_reader_init(&rd, env.payload, env.payload_len);
	if (env.type == PROTO_MSG_CTL_ERROR) {
		*why = "the name server refused the request";
		return -EHOSTUNREACH;
	}
	if (env.type != PROTO_MSG_HOST_RESOLVE_REPLY ||
	    proto_host_peer_unpack(&rd, &p) < 0)
		return -EBADMSG;
	*why = p.urls.n == 0 ? "no network inbox (not running, or no "
			       "$AGENTD_LISTEN)"
			     : "no inbox of our transport";
	if (p.state_len == 7 && memcmp(p.state, "unknown", 7) == 0)
		*why = "unknown name";
	for (uint32_t i = 0; i < p.urls.n; i++) {
		size_t n = strlen(want);

		if (p.urls.len[i] <= n || memcmp(p.urls.url[i], want, n) != 0 ||
		    p.urls.len[i] >= sizeof(url))
			continue;
		memcpy(url, p.urls.url[i], p.urls.len[i]);
		url[p.urls.len[i]] = '\0';
		if (agent__url_rehost(url, hd->addr.host, hd->addr.v6, hd->url,
				      sizeof(hd->url)) == 0)
			return 0;
	}
	return -EHOSTUNREACH;
}

static void
resolve_progress(struct host_dest *hd)
{
	struct agent_remote_ctx *rc = hd->hc->rc;
	const char *why = NULL;
	char old[PROTO_URL_MAX];
	nng_msg *msg;
	int rv, r;

	atomic_store(&hd->done, 0);
	rv = nng_aio_result(hd->aio);
	if (rv != 0) {
		if (!hd->receiving) {
			/* the request was not taken: it is still the aio's */
			msg = nng_aio_get_msg(hd->aio);
			if (msg)
				nng_msg_free(msg);
		}
		resolve_fail(hd, nng_strerror(rv));
		return;
	}
	if (!hd->receiving) {
		uint64_t now = agent__now();

		if (now >= hd->deadline) {
			resolve_fail(hd, "timed out");
			return;
		}
		hd->receiving = true;
		nng_aio_set_timeout(hd->aio,
				    (nng_duration)((hd->deadline - now) /
						   AGENT_USEC_PER_MSEC + 1));
		nng_recv_aio(hd->sock, hd->aio);
		return;
	}
	msg = nng_aio_get_msg(hd->aio);
	snprintf(old, sizeof(old), "%s", hd->url);
	r = msg ? resolve_answer(hd, msg, &why) : -EBADMSG;
	if (msg)
		nng_msg_free(msg);
	if (r < 0) {
		/* keep the old inbox: it is closed if the next answer moves */
		snprintf(hd->url, sizeof(hd->url), "%s", old);
		resolve_fail(hd, why ? why : "no answer");
		return;
	}
	resolve_stop(hd);
	hd->state = HD_READY;
	hd->resolved_at = agent__now();
	agent__log(rc->inbox_agent, 7, "%s is %s", hd->key, hd->url);
	/* the agent moved (restarted on another port): its old inbox is
	 * gone for good, unless another destination still goes there */
	if (old[0] && strcmp(old, hd->url) != 0) {
		bool used = false;

		for (struct host_dest *o = hd->hc->list; o && !used; o = o->next)
			used = o != hd && o->state == HD_READY &&
			       strcmp(o->url, old) == 0;
		if (!used)
			agent__peer_close(rc, old);
	}
	/* the peer exists and is watched even with nothing to send */
	msg = hd->pending;
	hd->pending = NULL;
	(void)agent__peer_adopt(rc, hd->url, msg, hd->pending_n);
	hd->pending_n = 0;
}

static void
host_io_fire(struct agent_io *io, uint32_t revents)
{
	struct host_ctx *hc = container_of(io, struct host_ctx, io);
	struct host_dest *hd, *next;
	uint64_t v;

	(void)revents;
	(void)!read(hc->efd, &v, sizeof(v));
	for (hd = hc->list; hd; hd = next) {
		next = hd->next;
		if (hd->state == HD_RESOLVING && atomic_load(&hd->done))
			resolve_progress(hd);
	}
	agent__peers_check_lost(hc->rc);
}

void
agent__host_lost(struct agent_remote_ctx *rc, const char *url)
{
	struct host_ctx *hc = rc->host;

	if (!hc)
		return;
	for (struct host_dest *hd = hc->list; hd; hd = hd->next)
		if (hd->state == HD_READY && strcmp(hd->url, url) == 0) {
			agent__log(rc->inbox_agent, 7,
				   "%s: connection to %s lost, resolving "
				   "again at the next send", hd->key, url);
			hd->state = HD_IDLE; /* url kept: see resolve_progress */
		}
}

static void
hd_free(struct host_dest *hd)
{
	resolve_stop(hd);
	if (hd->pending)
		nng_msg_free(hd->pending);
	free(hd);
}

/* Room for one more: drop the least recently used destination that does
 * not wait for an answer. */
static int
evict_one(struct host_ctx *hc)
{
	struct host_dest **pp, **victim = NULL;

	for (pp = &hc->list; *pp; pp = &(*pp)->next)
		if ((*pp)->state != HD_RESOLVING && !(*pp)->pending)
			victim = pp; /* the list is most recent first */
	if (!victim)
		return -EAGAIN;
	{
		struct host_dest *hd = *victim;
		*victim = hd->next;
		hd_free(hd);
		hc->n--;
	}
	return 0;
}

static int
stand_in(const struct host_dest *hd, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s://@%llu",
			 hd->hc->tls ? "tls+tcp" : "tcp",
			 (unsigned long long)hd->id);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int
agent__host_dest(struct agent_remote_ctx *rc, const char *name, char *buf,
		 size_t size)
{
	struct host_ctx *hc = rc->host;
	struct host_dest *hd = NULL, **pp;
	struct agent_addr addr;
	char ns_url[PROTO_URL_MAX];
	int r;

	/* a destination we have: its address was parsed when it was made */
	for (pp = hc ? &hc->list : NULL; pp && *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->key, name) == 0) {
			hd = *pp;
			break;
		}
	if (hd) {
		if (pp != &hc->list) { /* most recently used first */
			*pp = hd->next;
			hd->next = hc->list;
			hc->list = hd;
		}
	} else {
		r = agent__addr_parse(name, &addr);
		if (r < 0 || !addr.host[0])
			return -EINVAL;
		hc = host_ctx_get(rc);
		if (!hc)
			return -ENOMEM;
		if (hc->port_bad)
			return -EINVAL;
		r = agent__addr_ns_url(&addr, hc->tls, hc->port, ns_url,
				       sizeof(ns_url));
		if (r < 0)
			return r;
		/* the same destination spelt another way (sink@h and
		 * sink@h:7411, the host in other case): one destination,
		 * one order, one slot */
		for (hd = hc->list; hd; hd = hd->next)
			if (strcmp(hd->addr.name, addr.name) == 0 &&
			    strcasecmp(hd->ns_url, ns_url) == 0)
				break;
	}
	if (!hd) {
		if (hc->n >= HOST_DEST_MAX && (r = evict_one(hc)) < 0)
			return r;
		hd = calloc(1, sizeof(*hd));
		if (!hd)
			return -ENOMEM;
		hd->hc = hc;
		hd->id = ++hc->next_id;
		hd->addr = addr;
		snprintf(hd->key, sizeof(hd->key), "%s", name);
		memcpy(hd->ns_url, ns_url, sizeof(hd->ns_url));
		hd->next = hc->list;
		hc->list = hd;
		hc->n++;
	}
	if (hd->state == HD_READY &&
	    agent__now() - hd->resolved_at > HOST_RECHECK &&
	    agent__peer_up(rc, hd->url) <= 0) {
		/* told an inbox nobody answers at (its agent died before its
		 * agentd noticed?): ask again, at most once a HOST_RECHECK */
		agent__log(rc->inbox_agent, 7, "%s: no connection to %s, "
			   "resolving again", hd->key, hd->url);
		hd->state = HD_IDLE;
	}
	if (hd->state == HD_READY) {
		if (strlen(hd->url) >= size)
			return -ENAMETOOLONG;
		memcpy(buf, hd->url, strlen(hd->url) + 1);
		return 0;
	}
	return stand_in(hd, buf, size);
}

int
agent__host_queue(struct agent_remote_ctx *rc, const char *url, uint32_t type,
		  uint64_t corr, int (*pack)(msgpack_packer *, const void *),
		  const void *arg)
{
	struct host_ctx *hc = rc->host;
	const char *at = strstr(url, "://@");
	struct host_dest *hd = NULL;
	unsigned long long id;
	int r;

	if (hc && at && sscanf(at + 4, "%llu", &id) == 1)
		for (hd = hc->list; hd; hd = hd->next)
			if (hd->id == id)
				break;
	if (!hd) {
		r = -EHOSTUNREACH;
		goto drop;
	}
	r = agent__batch_append(rc, &hd->pending, &hd->pending_n, type, corr,
				pack, arg);
	if (r < 0)
		goto drop;
	rc->stats.sent++;
	if (hd->state == HD_IDLE) {
		r = resolve_start(hd);
		if (r < 0) {
			agent__log(rc->inbox_agent, 7, "%s: cannot ask %s: %s",
				   hd->key, hd->ns_url, strerror(-r));
			/* this envelope's failure is the caller's return
			 * value; earlier ones (none: IDLE has no pending)
			 * are dropped */
			nng_msg_free(hd->pending);
			hd->pending = NULL;
			hd->pending_n = 0;
			rc->stats.sent--;
			goto drop;
		}
	} else if (hd->state == HD_READY) {
		/* resolved between agent__host_dest and now: cannot happen
		 * on one loop, but the envelope must not be stranded */
		nng_msg *m = hd->pending;

		hd->pending = NULL;
		r = agent__peer_adopt(rc, hd->url, m, hd->pending_n);
		hd->pending_n = 0;
		return r;
	}
	return 0;
drop:
	rc->stats.dropped++;
	return r;
}

void
agent__hosts_free(struct agent_remote_ctx *rc)
{
	struct host_ctx *hc = rc->host;

	if (!hc)
		return;
	while (hc->list) {
		struct host_dest *hd = hc->list;
		hc->list = hd->next;
		hd_free(hd);
	}
	agent__io_remove(rc->loop, &hc->io);
	close(hc->efd);
	rc->host = NULL;
	free(hc);
}
