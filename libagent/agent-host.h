/* SPDX-License-Identifier: MIT */
/*
 * agent-host.h - NAME@HOST destinations (internal, never installed).
 *
 * A destination NAME@HOST[:PORT] is resolved by HOST's agentd, its name
 * server (agentd --listen; HOST_RESOLVE in proto/proto-host.h), the way
 * Erlang asks epmd. agent__inbox_url_of() hands such a name to
 * agent__host_dest(): once resolved it gives the agent's inbox URL and the
 * send goes the usual way (agent-peer.c); until then it gives a stand-in,
 * "tcp://@ID" or "tls+tcp://@ID" (no real URL has '@' right after "//"),
 * whose scheme is the transport the answer will use, and send_env() hands
 * the envelope to agent__host_queue(): it waits, in order, in the
 * destination's own batch (bounded like a peer's) while the name server
 * is asked asynchronously (an nng aio whose callback only flags it and
 * writes an eventfd the loop watches).
 *
 * Resolved: the URL of the transport we ask with (tls+tcp:// when
 * $AGENTD_TLS_CA_FILE is set, else tcp://) is taken, a wildcard host
 * (0.0.0.0, ::) replaced by HOST, and the waiting envelopes move to that
 * inbox's peer. Failed (no answer within HOST_RESOLVE_TIMEOUT, an unknown
 * name, no network inbox, a malformed answer): the waiting envelopes are
 * dropped and counted, the waiting requests complete with -EHOSTUNREACH.
 * A resolution is cached until the connection to that inbox drops (the
 * agent restarted, maybe on another port: nng's pipe REM event), a send
 * to it fails, or there has been no connection to it HOST_RECHECK after
 * the answer; the next send resolves again. At most HOST_DEST_MAX
 * destinations are kept; the least recently used idle one makes room.
 */
#ifndef LIBAGENT_AGENT_HOST_H
#define LIBAGENT_AGENT_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "agent-remote.h"

#define HOST_DEST_MAX		256
#define HOST_RESOLVE_TIMEOUT	(2 * AGENT_USEC_PER_SEC)
/* a resolved inbox we have had no connection to for this long (the agent
 * died before its agentd knew, and we were told its old inbox) is asked
 * for again at the next send */
#define HOST_RECHECK		(1 * AGENT_USEC_PER_SEC)

struct host_ctx; /* agent-host.c */

/* a stand-in URL of agent__host_dest() */
static inline bool
agent__url_is_host(const char *url)
{
	/* on every send: fails at the first byte for ipc:// */
	return strncmp(url, "tcp://@", 7) == 0 ||
	       strncmp(url, "tls+tcp://@", 11) == 0;
}

/* agent-host.c */
/*
 * name has an '@' and is no local name: a known destination is found by
 * name, a new one is parsed (agent__addr_parse) and made. buf gets the
 * inbox URL when it is known, else a stand-in for agent__host_queue.
 * 0, -EINVAL (bad address or no host in it, bad $AGENTD_PORT),
 * -ENAMETOOLONG, -ENOMEM, -EAGAIN (HOST_DEST_MAX destinations, all busy
 * resolving).
 */
int agent__host_dest(struct agent_remote_ctx *rc, const char *name,
		     char *buf, size_t size);
/* Queue one envelope for the stand-in url (see send_env in agent-peer.c
 * for pack/arg). 0 once queued; -EAGAIN when the destination's batch is
 * full; -EHOSTUNREACH for a stale stand-in. Failures count as drops. */
int agent__host_queue(struct agent_remote_ctx *rc, const char *url,
		      uint32_t type, uint64_t corr,
		      int (*pack)(msgpack_packer *, const void *),
		      const void *arg);
/* The connection to url dropped, or a send to it failed: destinations
 * resolved to it resolve again at their next send. */
void agent__host_lost(struct agent_remote_ctx *rc, const char *url);
/* The fd a peer's pipe callback (nng thread) writes to wake the loop,
 * or -1 before the first NAME@HOST destination. */
int agent__host_wake_fd(struct agent_remote_ctx *rc);
/* Cancel what is being resolved (waiting requests are not completed: the
 * loop is going away), forget every destination. */
void agent__hosts_free(struct agent_remote_ctx *rc);

/* agent-peer.c */
/* Append one envelope to *batch (allocated when NULL; *n counts them)
 * within the caps of a peer's batch: 0, -EAGAIN (full), -EMSGSIZE,
 * -ENOMEM, or the pack function's error. On failure *batch is as it was. */
int agent__batch_append(struct agent_remote_ctx *rc, nng_msg **batch,
			unsigned *n, uint32_t type, uint64_t corr,
			int (*pack)(msgpack_packer *, const void *),
			const void *arg);
/* Hand a batch of n envelopes (taken in every case) to the peer of url,
 * created if needed and watched for dropped connections; it leaves at
 * the next flush, before anything queued for url later. 0 or -errno
 * (the envelopes were dropped and counted). */
int agent__peer_adopt(struct agent_remote_ctx *rc, const char *url,
		      nng_msg *batch, unsigned n);
/* Close the peer of url, if any (a resolution moved elsewhere): what it
 * still holds is dropped and counted. */
void agent__peer_close(struct agent_remote_ctx *rc, const char *url);
/* Call agent__host_lost(rc, url) for each watched peer whose connection
 * dropped since the last call. */
void agent__peers_check_lost(struct agent_remote_ctx *rc);
/* The peer of url: -ENOENT (none: never sent to, or closed as idle),
 * 1 with a connection now, 0 without. */
int agent__peer_up(struct agent_remote_ctx *rc, const char *url);

#endif
