/* SPDX-License-Identifier: MIT */
/*
 * agent-agentd.c - the link to agentd: a SOCK_SEQPACKET socket inherited
 * as $AGENTD_LINK_FD, one envelope per datagram. HELLO when it
 * opens, READY at the agent's first step, HEARTBEAT while agentd's
 * watchdog asks for it, STOPPING and EXIT_REPORT at the end, STATUS_TEXT;
 * from agentd HELLO_ACK and INTERRUPT, and the registry's answers that
 * travel on the link: RESOLVE_REPLY (agent_resolve) and PEER_STATE
 * (agent_monitor). The transport is used by the four link_transport_*()
 * functions at the top of this file and nowhere else.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <nng/nng.h>

#include "agent-remote.h"
#include "proto-link.h"

#define LINK_SENDTIMEO	2000 /* ms: a stuck agentd cannot hang us for long */

struct resolve_wait {
	struct resolve_wait *next;
	uint64_t corr;
	agent *a; /* referenced */
	uint64_t tag;
};

_public_ const struct agent_msg_type agent_type_peer = {
	.name = "peer", .free = free,
};

/* ---- transport: the link's socket, used here and nowhere else ------ */

static void link_fire(struct agent_io *io, uint32_t revents);

/*
 * Take over the link agentd handed us: fd_str is $AGENTD_LINK_FD, the
 * number of an AF_UNIX SOCK_SEQPACKET socket (anything else is refused,
 * so a stray variable cannot make us write to some other file). It
 * becomes CLOEXEC (our children do not inherit it) and sends wait at
 * most LINK_SENDTIMEO for room. Watched from l (link_fire). 0 or -errno.
 */
static int
link_transport_open(struct agent_remote_ctx *rc, agent_loop *l,
		    const char *fd_str)
{
	struct timeval tv = {
		.tv_sec = LINK_SENDTIMEO / 1000,
		.tv_usec = (LINK_SENDTIMEO % 1000) * 1000,
	};
	int type = 0, domain = 0, fd, r;
	socklen_t sl = sizeof(type), dl = sizeof(domain);
	char *end;
	long v;

	errno = 0;
	v = strtol(fd_str, &end, 10);
	if (errno || end == fd_str || *end || v < 0 || v > INT_MAX)
		return -EINVAL;
	fd = (int)v;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dl) < 0)
		return errno == ENOTSOCK ? -ENOTSOCK : -EBADF;
	if (type != SOCK_SEQPACKET || domain != AF_UNIX)
		return -EPROTOTYPE;
	rc->link_buf = malloc(PROTO_LINK_MSG_MAX);
	if (!rc->link_buf)
		return -ENOMEM;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		free(rc->link_buf);
		rc->link_buf = NULL;
		return -errno;
	}
	rc->link_io.fd = fd;
	rc->link_io.fire = link_fire;
	r = agent__io_update(l, &rc->link_io, EPOLLIN);
	if (r < 0) {
		free(rc->link_buf);
		rc->link_buf = NULL;
		return r;
	}
	return 0;
}

/* Send one envelope (one datagram), waiting at most LINK_SENDTIMEO for
 * room. Takes msg in every case: 0 (sent) or -errno. */
static int
link_transport_send(struct agent_remote_ctx *rc, nng_msg *msg)
{
	size_t len = nng_msg_len(msg);
	ssize_t n = -1;
	int r = 0;

	if (len > PROTO_LINK_MSG_MAX)
		r = -EMSGSIZE;
	else {
		do
			n = send(rc->link_io.fd, nng_msg_body(msg), len,
				 MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			r = errno == EAGAIN ? -ETIMEDOUT : -errno;
	}
	nng_msg_free(msg);
	return r;
}

/* The next message from agentd without waiting, into rc->link_buf:
 * 0 with *len, -EAGAIN (none now), -EMSGSIZE (one too long, dropped),
 * -ECONNRESET (agentd closed the link) or -errno. */
static int
link_transport_recv(struct agent_remote_ctx *rc, size_t *len)
{
	ssize_t n;

	do
		n = recv(rc->link_io.fd, rc->link_buf, PROTO_LINK_MSG_MAX,
			 MSG_DONTWAIT | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n == 0)
		return -ECONNRESET;
	if ((size_t)n > PROTO_LINK_MSG_MAX)
		return -EMSGSIZE;
	*len = (size_t)n;
	return 0;
}

/* Stop watching the link and close it. What we sent waits on agentd's
 * end, which reads it even after we are gone: no flush is needed. */
static void
link_transport_close(struct agent_remote_ctx *rc)
{
	agent__io_remove(rc->loop, &rc->link_io);
	if (rc->link_io.fd >= 0)
		close(rc->link_io.fd);
	rc->link_io.fd = -1;
	free(rc->link_buf);
	rc->link_buf = NULL;
}

/* ---- messages to agentd ---------------------------------------------- */

static int
link_send_corr(struct agent_remote_ctx *rc, uint32_t type, uint64_t corr,
	       int (*pack)(msgpack_packer *, const void *), const void *arg)
{
	nng_msg *msg;
	int r;

	if (!rc->has_link)
		return -ENOTCONN;
	r = proto_build(type, 0, corr, rc->name, pack, arg, &msg);
	return r < 0 ? r : link_transport_send(rc, msg);
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
		agent__remote_reject(rc, rc->link_agent, "malformed peer message");
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
			agent__pubsub_drop_name(rc, p.name, p.name_len); /* it died */
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

int
agent__pack_resolve(msgpack_packer *pk, const void *arg)
{
	return proto_resolve_pack(pk, arg);
}

static int
pack_monitor(msgpack_packer *pk, const void *arg)
{
	return proto_monitor_pack(pk, arg);
}

int
agent__link_monitor(struct agent_remote_ctx *rc, const char *name, bool on)
{
	struct proto_monitor q = {
		.name = name, .name_len = strlen(name), .on = on,
	};

	return link_send_corr(rc, PROTO_MSG_MONITOR, 0, pack_monitor, &q);
}

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
	r = link_send_corr(rc, PROTO_MSG_RESOLVE, w->corr, agent__pack_resolve, &q);
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

	if (!self || !name || !proto_name_is_valid(name, strlen(name)))
		return -EINVAL;
	rc = self->loop->remote;
	if (!rc || !rc->has_link)
		return -ENOTCONN;
	rc->monitor_agent = self;
	return agent__link_monitor(rc, name, on);
}

static void
link_fire(struct agent_io *io, uint32_t revents)
{
	struct agent_remote_ctx *rc =
		container_of(io, struct agent_remote_ctx, link_io);
	agent *a = rc->link_agent;

	(void)revents;
	for (int i = 0; i < 64; i++) {
		struct proto_env env;
		struct proto_reader rd;
		size_t len = 0;
		int r = link_transport_recv(rc, &len);

		if (r == -EAGAIN)
			return;
		if (r == -EMSGSIZE) {
			agent__remote_reject(rc, a, "oversized link message");
			continue;
		}
		if (r < 0) {
			/* agentd is gone or hung up on us: nothing more
			 * will come (sends fail from now on) */
			agent__log(a, 7, "link closed: %s", strerror(-r));
			agent__io_remove(rc->loop, &rc->link_io);
			return;
		}
		if (!a)
			continue; /* the agent is gone: drop */
		r = proto_env_decode(rc->link_buf, len, &env);
		if (r < 0 || proto_msgtype_family(env.type) != PROTO_FAMILY_LINK) {
			agent__remote_reject(rc, a, "malformed link message");
			continue;
		}
		proto_reader_init(&rd, env.payload, env.payload_len);
		switch (env.type) {
		case PROTO_MSG_HELLO_ACK: {
			struct proto_hello_ack ack;
			if (proto_hello_ack_unpack(&rd, &ack) < 0) {
				agent__remote_reject(rc, a, "malformed hello-ack");
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
				agent__remote_reject(rc, a, "malformed interrupt");
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

int
agent__link_open(agent *a, const char *fd_str)
{
	struct agent_remote_ctx *rc = agent__remote_get(a->loop, a);
	struct proto_hello h = { 0 };
	int r;

	if (!rc)
		return -ENOMEM;
	r = link_transport_open(rc, a->loop, fd_str);
	if (r < 0)
		return r;
	rc->has_link = true;
	rc->link_agent = a; /* weak */
	agent__tnode_init(&rc->heartbeat, heartbeat_fire);
	a->on_first_step = link_first_step;
	a->on_end = link_on_end;

	snprintf(h.name, sizeof(h.name), "%s", rc->name);
	h.pid = (uint32_t)getpid();
	h.inbox = rc->has_inbox ? rc->inbox_url : "";
	h.inbox_len = strlen(h.inbox);
	/* our network inboxes: agentd's name server gives them to NAME@HOST
	 * senders on other hosts */
	for (unsigned i = 0; rc->has_inbox && i < rc->n_extra &&
			     h.net.n < PROTO_NET_URLS_MAX; i++) {
		h.net.url[h.net.n] = rc->extra_url[i];
		h.net.len[h.net.n++] = strlen(rc->extra_url[i]);
	}
	return link_send(rc, PROTO_MSG_HELLO, pack_hello, &h);
}

void
agent__link_report_aborted(struct agent_remote_ctx *rc)
{
	struct proto_exit_report er = { .reason = AGENT_EXIT_ABORTED };

	(void)link_send(rc, PROTO_MSG_EXIT_REPORT, pack_exit, &er);
}

void
agent__link_close(struct agent_remote_ctx *rc)
{
	if (rc->has_link) {
		agent__tnode_disarm(rc->loop, &rc->heartbeat);
		link_transport_close(rc);
	}
	while (rc->resolving) {
		struct resolve_wait *w = rc->resolving;
		rc->resolving = w->next;
		agent_unref(w->a);
		free(w);
	}
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
