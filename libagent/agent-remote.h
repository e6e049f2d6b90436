/* SPDX-License-Identifier: MIT */
/*
 * agent-remote.h - what the files of libagent's process boundary share
 * (internal, never installed): the per-loop remote context and the
 * agent__* functions one of those files offers the others.
 *
 *   agent-remote.c   the context: creation from the environment, teardown,
 *                    URL scheme check, counters, malformed-input drops
 *   agent-peer.c     sends to other inboxes: peers (push0), batches, pools,
 *                    remote requests and their pending table, TLS options
 *   agent-host.c     NAME@HOST: resolution by HOST's agentd, envelopes
 *                    waiting for it, the cache (agent-host.h)
 *   agent-addr.c     the address parser (agent-addr.h)
 *   agent-inbox.c    our inbox (pull0 + one aio + an eventfd): listeners,
 *                    dispatch into the mailbox, backpressure, ping/stats
 *   agent-pubsub.c   topics and subscriptions (agent.* events)
 *   agent-agentd.c   the link to agentd and the registry calls on it
 *   agent-main.c     agent_main() and its signal handling
 *
 * Everything here is hidden (libagent.sym exports agent_[a-z]* only).
 */
#ifndef LIBAGENT_AGENT_REMOTE_H
#define LIBAGENT_AGENT_REMOTE_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <nng/nng.h>

#include "agent-internal.h"
#include "proto-agent.h"

#define MIN_SZ(a, b)	((a) < (b) ? (a) : (b))
#define MAX_EXTRA	4 /* network listeners next to the ipc inbox */

struct peer;        /* agent-peer.c */
struct pool;        /* agent-peer.c */
struct topic;       /* agent-pubsub.c */
struct resolve_wait; /* agent-agentd.c */
struct host_ctx;    /* agent-host.c */

/* The sender of an inbox message as nng's pipe tells it: addr's family
 * NNG_AF_IPC / NNG_AF_ABSTRACT (a local process), NNG_AF_INET / INET6
 * (tcp or tls: tls set), or NNG_AF_UNSPEC (unknown: the pipe was gone) */
struct agent_inbox_origin {
	nng_sockaddr addr;
	bool tls;
};

struct agent_remote_ctx {
	agent_loop *loop;
	char name[PROTO_NAME_MAX + 1];
	char runtime_dir[256];

	/* inbox (agent-inbox.c) */
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

	/* link (agent-agentd.c only: `link_io.fd` and `link_buf` are its
	 * transport, the socket of $AGENTD_LINK_FD) */
	bool has_link;
	struct agent_io link_io;
	uint8_t *link_buf; /* PROTO_LINK_MSG_MAX bytes */
	agent *link_agent; /* referenced */
	struct agent_tnode heartbeat;
	uint64_t watchdog_usec;
	uint64_t hb_seq;

	/* destinations (agent-peer.c) */
	struct peer *peers;        /* at most PEERS_MAX (agent-peer.c) */
	size_t n_peers;
	uint64_t peer_clock;       /* orders peers by last use */
	char last_name[PROTO_NAME_MAX + 1]; /* agent__inbox_url_of's memo */
	char last_url[PROTO_URL_MAX];
	struct peer *dirty;        /* peers with a pending batch */
	struct pool *pools;
	struct agent_req *pending; /* remote requests by corr (= id) */
	struct agent_req *taken;   /* off `pending`, being delivered */
	struct agent_remote_stats stats;
	struct host_ctx *host;     /* NAME@HOST destinations (agent-host.c) */

	/* subscriptions: topics this process publishes (agent-pubsub.c);
	 * sub_check watches the subscribers on other hosts */
	struct topic *topics;
	struct agent_tnode sub_check;
	unsigned n_remote_subs;

	/* registry: RESOLVEs waiting for their reply, who gets PEER_STATEs
	 * (agent-agentd.c) */
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

	/* where the inbox message came from (agent-inbox.c): the receive's
	 * callback reads its pipe's peer into inbox_from, the loop moves it
	 * to cur_from with cur; reply addresses and subscriber inboxes named
	 * by cur are checked against it (agent__reply_to_ok) */
	struct agent_inbox_origin inbox_from;
	struct agent_inbox_origin cur_from;
	/* the origin of every pipe of the inbox, noted when it is added
	 * (a message's pipe may be closed before the receive hands the
	 * message over); agent-inbox.c */
	struct pipe_table *pipes;
	/* subscriptions from remote input (agent-pubsub.c, bounded) */
	unsigned n_topics, n_topics_unpublished, n_subs;
};

/* a URL's scheme, for NUL-terminated URLs we hold */
static inline bool
agent__url_is_ipc(const char *url)
{
	return strncmp(url, "ipc://", 6) == 0;
}

static inline bool
agent__url_is_tls(const char *url)
{
	return strncmp(url, "tls+tcp", 7) == 0;
}

/* agent-remote.c */
/* The loop's remote context, created on first use (NULL: out of memory);
 * hint names the process when $AGENTD_NAME does not. */
struct agent_remote_ctx *agent__remote_get(agent_loop *l, agent *hint);
/* s[0..len) (not necessarily NUL-terminated) starts with a scheme an
 * inbox can have: ipc://, tcp:// or tls+tcp://; never reads past len */
bool agent__url_scheme_ok(const char *s, size_t len);
/* count and log (debug) a malformed input that was dropped */
void agent__remote_reject(struct agent_remote_ctx *rc, agent *a,
			  const char *what);

/* agent-peer.c */
int agent__tls_options_set(struct agent_remote_ctx *rc, nng_dialer *d,
			   nng_listener *l);
/* the inbox URL of name (an agent, a pool's unit, or an explicit URL) */
int agent__inbox_url_of(struct agent_remote_ctx *rc, const char *name,
			char *buf, size_t size);
/* queue one EVENT envelope for url (see send_env) */
int agent__send_event(struct agent_remote_ctx *rc, const char *url,
		      const char *kind, const void *body, size_t len);
/* Queue env[0..len), one whole envelope already encoded (proto_build),
 * for url, as send_env queues one it packs: for the same envelope to
 * many destinations (agent_publish). -EINVAL for a NAME@HOST stand-in
 * URL (not counted: pack it for agent__send_event instead); otherwise
 * the returns and counters of agent__send_event. */
int agent__send_encoded(struct agent_remote_ctx *rc, const char *url,
			const void *env, size_t len);
/* The EVENT envelope agent__send_event(rc, url, kind, body, len) queues,
 * encoded once for agent__send_encoded: 0 with *ret (the caller owns it)
 * or -errno. */
int agent__encode_event(struct agent_remote_ctx *rc, const char *kind,
			const void *body, size_t len, nng_msg **ret);
/* rc->pending, the remote requests waiting for their response: add one
 * (agent__request_remote), take the one of a response off it in the
 * same scan that finds it (NULL: none), and complete a taken one with
 * agent__req_deliver (its unlinking then scans nothing) */
void agent__remote_pending_add(struct agent_remote_ctx *rc,
			       struct agent_req *req);
struct agent_req *agent__remote_take(struct agent_remote_ctx *rc,
				     uint64_t corr);
void agent__remote_deliver(struct agent_remote_ctx *rc, struct agent_req *req,
			   int err, void *payload,
			   struct agent_remote_info *ri);
/* close every destination socket (the last batches leave first) and
 * forget the pools */
void agent__peers_free(struct agent_remote_ctx *rc);

/* agent-inbox.c */
void agent__inbox_resume_fire(struct agent_tnode *n);
/* our inbox URL that dest can answer to */
const char *agent__inbox_reply_url(struct agent_remote_ctx *rc,
				   const char *dest);
void agent__inbox_relisten(struct agent_remote_ctx *rc);
void agent__inbox_close(struct agent_remote_ctx *rc);
/* Dispatch msg (owned) as if the inbox had received it from a local
 * process: the path of every received message, for the fuzzer. Needs
 * rc->inbox_agent. -EBUSY (msg not taken) while a message is pending. */
int agent__inbox_feed(struct agent_remote_ctx *rc, nng_msg *msg);
/* May a message from `from` name url[0..len) (not NUL-terminated) as the
 * inbox to answer to (a request's reply_to, a subscriber's inbox)? */
bool agent__reply_to_ok(const struct agent_remote_ctx *rc,
			const struct agent_inbox_origin *from,
			const char *url, size_t len);

/* agent-pubsub.c */
void agent__pubsub_event(struct agent_remote_ctx *rc, agent *a,
			 const struct proto_env *env, const char *kind,
			 size_t kind_len, const void *body, size_t len);
void agent__pubsub_catch_up(struct agent_remote_ctx *rc, const char *url);
void agent__pubsub_drop_name(struct agent_remote_ctx *rc, const char *name,
			     size_t len);
void agent__pubsub_free(struct agent_remote_ctx *rc);
void agent__pubsub_check_fire(struct agent_tnode *n);

/* agent-agentd.c */
int agent__link_open(agent *a, const char *fd_str);
/* ask agentd for PEER_STATEs of name (on) or stop (off); -ENOTCONN
 * without a link */
int agent__link_monitor(struct agent_remote_ctx *rc, const char *name,
			bool on);
/* EXIT_REPORT "aborted" from a process that leaves without its agent */
void agent__link_report_aborted(struct agent_remote_ctx *rc);
void agent__link_close(struct agent_remote_ctx *rc);
/* proto_pack_fn of a struct proto_resolve (RESOLVE, HOST_RESOLVE) */
int agent__pack_resolve(msgpack_packer *pk, const void *arg);

/* agent-main.c */
/* block the signals the loop handles (nng threads inherit the mask) */
void agent__block_signals(sigset_t *old);

#endif
