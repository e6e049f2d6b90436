/* SPDX-License-Identifier: MIT */
/*
 * agent-peer.c - sends to other agents' inboxes: one cached push0 socket
 * per destination URL (dialled in the background, with our TLS files for
 * tls+tcp://), envelopes batched per destination and flushed when the
 * loop is about to poll, pools (round robin over a unit's NAME@N inboxes),
 * a name's inbox URL, agent_send_remote*(), and remote requests: the
 * table of those pending and the responses we send back. NAME@HOST
 * destinations are resolved in agent-host.c and come back here as URLs.
 */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/supplemental/tls/tls.h>
#include <nng/supplemental/util/platform.h>

#include "agent-addr.h"
#include "agent-host.h"
#include "agent-remote.h"
#include "proto-ctl.h"

#define PUSH_SENDBUF	128

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
	/* connections (nng thread: pipe ADD / REM events count them in up;
	 * a REM sets lost and, once watched for a NAME@HOST destination,
	 * wakes the loop through wake_fd: the destination is resolved again,
	 * agent-host.c) */
	bool watched;
	uint64_t last_used;    /* rc->peer_clock at the last send */
	uint64_t handed;       /* batches nng took (nng_sendmsg: 0) */
	atomic_int conns;      /* connections ever made (ADD) */
	atomic_int wake_fd;
	atomic_int up;
	atomic_int lost;
};

/* destinations kept connected at once: reply addresses come from peers,
 * so their number is bounded; past it the least recently used idle one
 * is closed (it is dialled again when needed) */
#define PEERS_MAX	1024

#define BATCH_MAX_ENV	256
#define BATCH_MAX_BYTES	(64 * 1024)

static void peer_send_fire(struct agent_io *io, uint32_t revents);
static void peer_free(struct agent_remote_ctx *rc, struct peer *p);
static void peer_pipe_cb(nng_pipe pipe, nng_pipe_ev ev, void *arg);

int
agent__tls_options_set(struct agent_remote_ctx *rc, nng_dialer *d, nng_listener *l)
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

/*
 * Dial url in the background (sends wait in the send buffer meanwhile).
 * A destination that went away is dialled again with a backoff up to
 * PEER_RECONN_MAX: nng's default retries every 100 ms for ever, and the
 * reply inboxes of finished requesters (every agentctl call has its own)
 * piled up until a process spent its CPU reconnecting (400 calls to a
 * busy agent: the last ones timed out).
 */
#define PEER_RECONN_MAX_MS	2000

static int
dial_peer(struct agent_remote_ctx *rc, nng_socket sock, const char *url)
{
	nng_dialer d;
	int r;

	r = nng_dialer_create(&d, sock, url);
	if (r != 0)
		return r;
	(void)nng_dialer_set_ms(d, NNG_OPT_RECONNMAXT, PEER_RECONN_MAX_MS);
	if (agent__url_is_tls(url))
		r = agent__tls_options_set(rc, &d, NULL);
	if (r == 0)
		r = nng_dialer_start(d, NNG_FLAG_NONBLOCK);
	if (r != 0)
		(void)nng_dialer_close(d);
	return r;
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

static int
peer_get(struct agent_remote_ctx *rc, const char *url, struct peer **ret)
{
	struct peer *p;
	sigset_t old;
	int r;

	p = peer_find(rc, url);
	if (p) {
		p->last_used = ++rc->peer_clock;
		*ret = p;
		return 0;
	}
	if (rc->n_peers >= PEERS_MAX) {
		struct peer *victim = NULL;

		/* the least recently used idle one: nothing pending, not
		 * blocked, not a NAME@HOST destination being watched */
		for (struct peer *q = rc->peers; q; q = q->next)
			if (!q->batch && !q->blocked && !q->dirty &&
			    !q->watched &&
			    (!victim || q->last_used < victim->last_used))
				victim = q;
		if (!victim)
			return -EAGAIN; /* every one is busy: backpressure */
		agent__peer_close(rc, victim->url);
	}
	if (agent__url_is_ipc(url)) {
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
	p->last_used = ++rc->peer_clock;
	p->send_io.fd = -1;
	atomic_store(&p->wake_fd, -1);
	agent__block_signals(&old);
	r = nng_push0_open(&p->sock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		goto fail;
	(void)nng_socket_set_int(p->sock, NNG_OPT_SENDBUF, PUSH_SENDBUF);
	(void)nng_socket_set_size(p->sock, NNG_OPT_RECVMAXSZ, PROTO_MSG_MAX);
	/* before the dial: no connection goes uncounted */
	(void)nng_pipe_notify(p->sock, NNG_PIPE_EV_ADD_POST, peer_pipe_cb, p);
	(void)nng_pipe_notify(p->sock, NNG_PIPE_EV_REM_POST, peer_pipe_cb, p);
	/* never block the loop on a peer's handshake (a stopped peer would
	 * hold it): dial in the background; sends wait in the send buffer */
	r = dial_peer(rc, p->sock, url);
	if (r != 0) {
		nng_close(p->sock);
		goto fail;
	}
	p->next = rc->peers;
	rc->peers = p;
	rc->n_peers++;
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
		p->handed++;
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
	if (p->watched)
		agent__host_lost(rc, p->url);
	return proto_errno_from_nng(r);
}

static void
peer_send_fire(struct agent_io *io, uint32_t revents)
{
	struct peer *p = container_of(io, struct peer, send_io);

	(void)revents;
	if (peer_flush(p) == 0 && p->rc->topics)
		agent__pubsub_catch_up(p->rc, p->url);
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
	rc->n_peers--;
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
 * Append one envelope to *batch within BATCH_MAX_ENV / BATCH_MAX_BYTES
 * (see agent-host.h). A peer's batch that is full is flushed by the
 * caller first; here full means -EAGAIN.
 */
int
agent__batch_append(struct agent_remote_ctx *rc, nng_msg **batch,
		    unsigned *n, uint32_t type, uint64_t corr,
		    int (*pack)(msgpack_packer *, const void *),
		    const void *arg)
{
	struct proto_builder b;
	bool fresh = false;
	int r;

	if (*batch && (*n >= BATCH_MAX_ENV ||
		       nng_msg_len(*batch) >= BATCH_MAX_BYTES))
		return -EAGAIN;
	if (!*batch) {
		if (nng_msg_alloc(batch, 0) != 0) {
			*batch = NULL;
			return -ENOMEM;
		}
		fresh = true;
	}
	r = proto_builder_begin_append(&b, *batch, type, 0, corr, rc->name);
	if (r == 0) {
		r = pack(&b.pk, arg);
		if (r < 0)
			proto_builder_abort(&b);
		else
			r = proto_builder_finish(&b, NULL);
	}
	if (r < 0) {
		if (fresh) {
			nng_msg_free(*batch);
			*batch = NULL;
		}
		return r;
	}
	(*n)++;
	return 0;
}

static void
peer_mark_dirty(struct agent_remote_ctx *rc, struct peer *p)
{
	if (p->batch && !p->dirty && !p->blocked) {
		p->dirty = true;
		p->dirty_next = rc->dirty;
		rc->dirty = p;
	}
}

/* One envelope for a peer's batch: packed there (pack(arg) with type and
 * corr), or already encoded (bytes: one whole envelope, len bytes). */
struct env_src {
	uint32_t type;
	uint64_t corr;
	int (*pack)(msgpack_packer *, const void *);
	const void *arg;
	const void *bytes;
	size_t len;
};

/* agent__batch_append for p's batch, for either kind of env_src: 0,
 * -EAGAIN (full), -EMSGSIZE (it does not fit PROTO_MSG_MAX), -ENOMEM... */
static int
peer_append(struct agent_remote_ctx *rc, struct peer *p,
	    const struct env_src *e)
{
	bool fresh = false;

	if (!e->bytes)
		return agent__batch_append(rc, &p->batch, &p->batch_n, e->type,
					   e->corr, e->pack, e->arg);
	if (batch_full(p))
		return -EAGAIN;
	if (e->len > PROTO_MSG_MAX ||
	    (p->batch && nng_msg_len(p->batch) > PROTO_MSG_MAX - e->len))
		return -EMSGSIZE;
	if (!p->batch) {
		if (nng_msg_alloc(&p->batch, 0) != 0) {
			p->batch = NULL;
			return -ENOMEM;
		}
		fresh = true;
	}
	if (proto_msg_append(p->batch, e->bytes, e->len) < 0) {
		if (fresh) {
			nng_msg_free(p->batch);
			p->batch = NULL;
		}
		return -ENOMEM;
	}
	p->batch_n++;
	return 0;
}

/*
 * Append one envelope (e) to the batch for url. Returns 0 once it is
 * queued (it leaves at the next flush, in order), -EAGAIN when the
 * destination does not take more now (its batch is full and nng's buffer
 * too), -ECONNREFUSED when nobody listens, -EMSGSIZE, -ENOMEM. Every
 * failure counts as a drop.
 */
static int
peer_queue(struct agent_remote_ctx *rc, const char *url,
	   const struct env_src *e)
{
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
	r = peer_append(rc, p, e);
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
	rc->stats.sent++;
	if (batch_full(p))
		(void)peer_flush(p);
	peer_mark_dirty(rc, p);
	return 0;
drop:
	rc->stats.dropped++;
	return r;
}

/*
 * peer_queue for an envelope packed into the batch (type, corr, payload
 * packed by pack(arg)). A NAME@HOST destination not resolved yet (a
 * stand-in URL) queues in agent-host.c.
 */
static int
send_env(struct agent_remote_ctx *rc, const char *url, uint32_t type,
	 uint64_t corr, int (*pack)(msgpack_packer *, const void *),
	 const void *arg)
{
	struct env_src e = { .type = type, .corr = corr, .pack = pack,
			     .arg = arg };

	if (agent__url_is_host(url))
		return agent__host_queue(rc, url, type, corr, pack, arg);
	return peer_queue(rc, url, &e);
}

int
agent__send_encoded(struct agent_remote_ctx *rc, const char *url,
		    const void *env, size_t len)
{
	struct env_src e = { .bytes = env, .len = len };

	if (!env || len == 0 || agent__url_is_host(url))
		return -EINVAL;
	return peer_queue(rc, url, &e);
}

/* nng thread: count, flag and wake the loop, nothing else */
static void
peer_pipe_cb(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
	struct peer *p = arg;
	uint64_t one = 1;
	int fd;

	(void)pipe;
	if (ev == NNG_PIPE_EV_ADD_POST) {
		atomic_fetch_add(&p->up, 1);
		atomic_fetch_add(&p->conns, 1);
		return;
	}
	atomic_fetch_sub(&p->up, 1);
	atomic_store(&p->lost, 1);
	fd = atomic_load(&p->wake_fd);
	if (fd >= 0)
		(void)!write(fd, &one, sizeof(one));
}

int
agent__peer_adopt(struct agent_remote_ctx *rc, const char *url,
		  nng_msg *batch, unsigned n)
{
	struct peer *p = NULL;
	int r;

	r = peer_get(rc, url, &p);
	if (r == 0 && !p->watched) {
		atomic_store(&p->lost, 0); /* what happened before is past */
		atomic_store(&p->wake_fd, agent__host_wake_fd(rc));
		p->watched = true;
	}
	if (r < 0 || !batch || n == 0)
		goto out;
	if (p->batch && nng_msg_len(p->batch) + nng_msg_len(batch) >
				PROTO_MSG_MAX) {
		/* what the peer holds leaves first */
		if (peer_flush(p) == -EAGAIN) {
			r = -EAGAIN;
			goto out;
		}
	}
	if (!p->batch) {
		p->batch = batch;
		p->batch_n = n;
	} else {
		r = proto_msg_append(p->batch, nng_msg_body(batch),
				     nng_msg_len(batch));
		if (r < 0)
			goto out;
		nng_msg_free(batch);
		p->batch_n += n;
	}
	batch = NULL;
	if (batch_full(p))
		(void)peer_flush(p);
	peer_mark_dirty(rc, p);
	return 0;
out:
	if (batch) {
		if (r < 0)
			agent__log(rc->inbox_agent, 7,
				   "%u envelopes to %s lost: %s", n, url,
				   strerror(-r));
		rc->stats.dropped += n;
		nng_msg_free(batch);
	}
	return r;
}

void
agent__peer_close(struct agent_remote_ctx *rc, const char *url)
{
	struct peer **pp, *p;

	for (pp = &rc->peers; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->url, url) == 0)
			break;
	p = *pp;
	if (!p)
		return;
	*pp = p->next;
	if (p->dirty) {
		struct peer **dp;

		for (dp = &rc->dirty; *dp; dp = &(*dp)->dirty_next)
			if (*dp == p) {
				*dp = p->dirty_next;
				break;
			}
	}
	if (p->batch)
		rc->stats.dropped += p->batch_n;
	if (rc->last_url[0] && strcmp(rc->last_url, url) == 0)
		rc->last_name[0] = rc->last_url[0] = '\0';
	peer_free(rc, p);
}

void
agent__peers_check_lost(struct agent_remote_ctx *rc)
{
	for (struct peer *p = rc->peers; p; p = p->next)
		if (p->watched && atomic_exchange(&p->lost, 0))
			agent__host_lost(rc, p->url);
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


int
agent__peer_up(struct agent_remote_ctx *rc, const char *url)
{
	struct peer *p = peer_find(rc, url);

	if (!p)
		return -ENOENT;
	return atomic_load(&p->up) > 0;
}

static struct pool *
pool_find(struct agent_remote_ctx *rc, const char *name)
{
	struct pool *p;

	for (p = rc->pools; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

/* The next instance of the pool name (p: its pool, or NULL for a new
 * one): 0 with its URL in buf, -ECONNREFUSED (no instance), -EAGAIN
 * (none takes more now), -ENOMEM, -ENAMETOOLONG. */
static int
pool_pick(struct agent_remote_ctx *rc, struct pool *p, const char *name,
	  char *buf, size_t size)
{
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

int
agent__inbox_url_of(struct agent_remote_ctx *rc, const char *name, char *buf,
	     size_t size)
{
	int n;

	if (name && strstr(name, "://")) {
		/* an explicit inbox URL: another host, or another agentd */
		if (!agent__url_scheme_ok(name, strlen(name)) ||
		    agent__url_is_host(name))
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
	if (!name)
		return -EINVAL;
	if (!proto_name_is_valid(name, strlen(name))) {
		/* NAME@HOST[:PORT], NAME@N@HOST...: HOST's agentd knows it;
		 * agent__host_dest parses it when it is not one of its
		 * destinations already (-EINVAL for no address) */
		if (strchr(name, '@'))
			return agent__host_dest(rc, name, buf, size);
		return -EINVAL;
	}
	if (!rc->runtime_dir[0])
		return -ENOTCONN;
	n = snprintf(buf, size, "ipc://%s/inbox/%s.sock", rc->runtime_dir, name);
	if (n < 0 || (size_t)n >= size || (size_t)n - 6 > 107)
		return -ENAMETOOLONG;
	if (!strchr(name, '@') && !peer_find(rc, buf)) {
		struct pool *p = pool_find(rc, name);
		struct stat st;

		/* not an agent of its own: the unit of a pool? Asked on
		 * every send (a stat): a pool whose instances stopped
		 * while NAME.sock appeared must not send to them */
		if (stat(buf + 6, &st) < 0 || !S_ISSOCK(st.st_mode))
			return pool_pick(rc, p, name, buf, size);
	}
	if ((size_t)n < sizeof(rc->last_url)) {
		memcpy(rc->last_url, buf, (size_t)n + 1);
		snprintf(rc->last_name, sizeof(rc->last_name), "%s", name);
	}
	return 0;
}

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

int
agent__send_event(struct agent_remote_ctx *rc, const char *url, const char *kind,
	   const void *body, size_t len)
{
	struct proto_event ev = {
		.kind = kind, .kind_len = strlen(kind),
		.body = body, .body_len = len,
	};

	return send_env(rc, url, PROTO_MSG_EVENT, 0, pack_event, &ev);
}

int
agent__encode_event(struct agent_remote_ctx *rc, const char *kind,
		    const void *body, size_t len, nng_msg **ret)
{
	struct proto_event ev = {
		.kind = kind, .kind_len = strlen(kind),
		.body = body, .body_len = len,
	};

	return proto_build(PROTO_MSG_EVENT, 0, 0, rc->name, pack_event, &ev,
			   ret);
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
	rc = agent__remote_get(self->loop, self);
	if (!rc) {
		r = -ENOMEM;
		goto out;
	}
	r = agent__inbox_url_of(rc, name, url, sizeof(url));
	if (r < 0)
		goto out;
	r = encode_body(type->encode, payload, &body, &len);
	if (r < 0)
		goto out;
	r = agent__send_event(rc, url, type->name, body, len);
out:
	free(body);
	if (payload && type && type->free)
		type->free(payload);
	return r;
}

/* A body already checked (kind valid, body one msgpack object) to name. */
static int
send_body(agent *self, const char *name, const char *kind, const void *body,
	  size_t len)
{
	struct agent_remote_ctx *rc = agent__remote_get(self->loop, self);
	char url[PROTO_URL_MAX];
	int r;

	if (!rc)
		return -ENOMEM;
	r = agent__inbox_url_of(rc, name, url, sizeof(url));
	if (r < 0)
		return r;
	return agent__send_event(rc, url, kind, body, len);
}

_public_ int
agent_send_remote_body(agent *self, const char *name, const char *kind,
		       const void *body, size_t len)
{
	if (!self || !kind || !proto_name_is_valid(kind, strlen(kind)))
		return -EINVAL;
	if (body && proto_validate_object(body, len) < 0)
		return -EINVAL;
	return send_body(self, name, kind, body, len);
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
	/* checked once by agent_send_remote_wait */
	int r = send_body(w->self, w->name, w->kind, w->body, w->len);

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

	if (!self || !type || !type->name || !name ||
	    !proto_name_is_valid(type->name, strlen(type->name))) {
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
	rc = agent__remote_get(self->loop, self);
	if (!rc) {
		r = -ENOMEM;
		goto fail;
	}
	if (!rc->has_inbox) {
		r = -ENOTCONN; /* no inbox to receive the answer */
		goto fail;
	}
	r = agent__inbox_url_of(rc, name, url, sizeof(url));
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
	agent__remote_pending_add(rc, req);
	req->n_ref++;
	rq.kind = type->name;
	rq.kind_len = strlen(type->name);
	rq.reply_to = agent__inbox_reply_url(rc, url);
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
agent__remote_pending_add(struct agent_remote_ctx *rc, struct agent_req *req)
{
	req->remote = true;
	req->next_remote = rc->pending;
	rc->pending = req;
}

struct agent_req *
agent__remote_take(struct agent_remote_ctx *rc, uint64_t corr)
{
	struct agent_req **pp, *r;

	for (pp = &rc->pending; *pp; pp = &(*pp)->next_remote)
		if ((uint64_t)(*pp)->id == corr)
			break;
	r = *pp;
	if (r) {
		*pp = r->next_remote;
		r->next_remote = NULL;
	}
	return r;
}

void
agent__remote_deliver(struct agent_remote_ctx *rc, struct agent_req *req,
		      int err, void *payload, struct agent_remote_info *ri)
{
	/* agent__req_deliver -> agent__req_abandon -> agent__remote_cancel,
	 * which need not look for it: it is off the table already */
	rc->taken = req;
	agent__req_deliver(req, err, payload, ri);
	rc->taken = NULL;
}

/* r is done (answered, timed out, withdrawn): off the table */
void
agent__remote_cancel(agent_loop *l, struct agent_req *r)
{
	struct agent_remote_ctx *rc = l->remote;
	struct agent_req **pp;

	if (!rc)
		return;
	if (r == rc->taken) {
		rc->taken = NULL;
		return;
	}
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

/*
 * The connections of our peers, for the exit drain: nng does not give its
 * pipes' fds, so they are found once, in /proc/thread-self/fd, as the
 * stream sockets whose other end is a peer's address (an ipc path, or
 * tcp's IP:port), and remembered with their inode (a number closed and
 * used again for something else is not asked).
 */
struct drain_fd {
	int fd;
	ino_t ino;
};

/* The peer address of a connected stream socket, as a URL's part after
 * "://": a path, "IP:PORT" or "[IPv6]:PORT". */
static bool
sock_peer_str(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN], serv[8];

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return false;
	if (ss.ss_family == AF_UNIX) {
		const struct sockaddr_un *un = (const struct sockaddr_un *)&ss;
		size_t n = len - offsetof(struct sockaddr_un, sun_path);

		if (len <= offsetof(struct sockaddr_un, sun_path) ||
		    un->sun_path[0] == '\0' || n >= size)
			return false;
		memcpy(buf, un->sun_path, n);
		buf[n] = '\0';
		return true;
	}
	if ((ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), serv,
			sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return false;
	return snprintf(buf, size, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
			host, serv) < (int)size;
}

static bool
is_peer_addr(const struct agent_remote_ctx *rc, const char *addr)
{
	for (const struct peer *p = rc->peers; p; p = p->next) {
		const char *sep = strstr(p->url, "://");

		if (p->handed && sep && strcmp(sep + 3, addr) == 0)
			return true;
	}
	return false;
}

/* Our peers' connections into *ret (malloc'ed, *ret_n of them). */
static int
drain_fds_find(const struct agent_remote_ctx *rc, struct drain_fd **ret,
	       size_t *ret_n)
{
	DIR *d = opendir("/proc/thread-self/fd");
	struct drain_fd *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;

	*ret = NULL;
	*ret_n = 0;
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char addr[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
		int fd, type;
		socklen_t len = sizeof(int);
		struct stat st;
		char *end;
		long l = strtol(e->d_name, &end, 10);

		if (*end || end == e->d_name || l < 0 || l > INT32_MAX ||
		    (fd = (int)l) == dirfd(d))
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
		    type != SOCK_STREAM || fstat(fd, &st) < 0 ||
		    !sock_peer_str(fd, addr, sizeof(addr)) ||
		    !is_peer_addr(rc, addr))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct drain_fd *nv = realloc(v, nc * sizeof(*v));

			if (!nv)
				break;
			v = nv;
			cap = nc;
		}
		v[n++] = (struct drain_fd){ .fd = fd, .ino = st.st_ino };
	}
	closedir(d);
	*ret = v;
	*ret_n = n;
	return 0;
}

/* Bytes written on them that the other end has not read yet (SIOCOUTQ:
 * a unix socket's data stays charged to the sender until it is read). */
static uint64_t
drain_fds_outq(const struct drain_fd *v, size_t n)
{
	uint64_t total = 0;

	for (size_t i = 0; i < n; i++) {
		struct stat st;
		int q;

		if (fstat(v[i].fd, &st) == 0 && st.st_ino == v[i].ino &&
		    ioctl(v[i].fd, SIOCOUTQ, &q) == 0 && q > 0)
			total += (uint64_t)q;
	}
	return total;
}

/*
 * At exit, before the sockets close: nng has no flush, so wait until every
 * batch nng took has been written by its pipe (its per-pipe tx counters),
 * retrying batches nng could not take yet. What a pipe wrote stays in the
 * kernel for the receiver after we are gone; what nng still holds is lost.
 * A receiver slower than us needs longer than any fixed grace (a 1 s one
 * lost 2,560 of 10,000 events to a slow sink): nng writes only when the
 * socket has room, and a unix socket has room again only once the
 * receiver has read three quarters of what it holds, so nng's counters can
 * stand still for seconds while the receiver reads. Progress is therefore
 * also what the receivers read (SIOCOUTQ of our peers' connections,
 * drain_fds_find). The wait ends EXIT_DRAIN_STALL_USEC after the last
 * progress (a receiver that stopped reading) or at EXIT_DRAIN_MAX_USEC in
 * all (a stop by agentd escalates to SIGTERM and SIGKILL anyway); polling
 * backs off from 1 to 16 ms. A destination that reconnected or is not
 * connected cannot be counted and gets a short grace. What is still not
 * written at the end is reported (the process is ending: there is no
 * counter left).
 */
#define EXIT_DRAIN_STALL_USEC	(3 * 1000 * 1000)
#define EXIT_DRAIN_MAX_USEC	(10 * 1000 * 1000)

static void
peers_drain(struct agent_remote_ctx *rc)
{
	uint64_t start = agent__now(), progress_at = start;
	uint64_t last_tx = 0, last_outq = UINT64_MAX, outq = 0;
	struct drain_fd *fds = NULL;
	size_t n_fds = 0;
	bool fds_found = false;
	unsigned waiting, unknown, pause_ms = 1;

	for (;;) {
		uint64_t now, tx_all = 0;
		nng_stat *all;

		waiting = unknown = 0;
		if (nng_stats_get(&all) != 0) {
			nng_msleep(10);
			break;
		}
		for (struct peer *p = rc->peers; p; p = p->next) {
			uint64_t tx;

			if (p->batch && peer_flush(p) == -EAGAIN) {
				waiting++;
				continue;
			}
			if (p->handed == 0)
				continue;
			if (atomic_load(&p->up) != 1 ||
			    atomic_load(&p->conns) != 1) {
				unknown++;
				continue;
			}
			tx = proto_stat_pipes_tx(all, p->sock);
			tx_all += tx;
			if (tx < p->handed)
				waiting++;
		}
		nng_stats_free(all);
		/* what the receivers still have to read: it shrinks as
		 * they read, while nng waits for room to write more */
		if (waiting && !fds_found) { /* only when there is a wait */
			(void)drain_fds_find(rc, &fds, &n_fds);
			fds_found = true;
		}
		outq = waiting ? drain_fds_outq(fds, n_fds) : 0;
		now = agent__now();
		if (tx_all != last_tx || outq < last_outq) {
			progress_at = now;
			pause_ms = 1;
		}
		last_tx = tx_all;
		last_outq = outq;
		if (!waiting ||
		    now - progress_at >= EXIT_DRAIN_STALL_USEC ||
		    now - start >= EXIT_DRAIN_MAX_USEC)
			break;
		nng_msleep(pause_ms);
		if (pause_ms < 16)
			pause_ms *= 2;
	}
	free(fds);
	if (unknown)
		nng_msleep(10);
	if (waiting)
		agent__log(rc->inbox_agent, 4,
			   "exit: %u destinations had not taken everything sent to them",
			   waiting);
}

void
agent__peers_free(struct agent_remote_ctx *rc)
{
	if (rc->peers) {
		agent__remote_flush(rc->loop);
		peers_drain(rc);
	}
	while (rc->peers) {
		struct peer *p = rc->peers;
		rc->peers = p->next;
		peer_free(rc, p);
	}
	while (rc->pools) {
		struct pool *p = rc->pools;
		rc->pools = p->next;
		pool_clear(p);
		free(p);
	}
	/* after the peers: their pipe callbacks write the host eventfd */
	agent__hosts_free(rc);
}
