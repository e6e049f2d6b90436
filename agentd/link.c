/* SPDX-License-Identifier: MIT */
/*
 * link.c - the link to each Type=agent process: a SOCK_SEQPACKET
 * socketpair made for every start, whose other end the agent inherits as
 * $AGENTD_LINK_FD. Nobody else can reach it (no socket file, no peer
 * check), it costs the agent no connection handshake, and the messages an
 * agent sent just before it died (STOPPING, EXIT_REPORT) are still queued
 * on agentd's end when its pidfd fires: link_drain() reads them before the
 * exit is judged. One datagram carries one envelope (PROTO_LINK_MSG_MAX).
 * Everything runs on agentd's loop; a send the socket cannot take now
 * waits in the agent's small outbound queue until EPOLLOUT.
 *
 * Links are watched edge-triggered (EPOLLET): sd-event calls epoll_wait()
 * on every iteration and dispatches one source per iteration, so a
 * level-triggered link that waits its turn is returned again each time.
 * 1,000 agents starting at once made 2,000 epoll_wait() calls return a
 * million events (a third of agentd's CPU in the start). A read that
 * stops at its budget re-arms the edge (link_watch) so nothing is left.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agentd.h"
#include "fd-util.h"
#include "log.h"
#include "macro.h"
#include "nameserver.h"
#include "proto-link.h"
#include "registry.h"

#define LINK_OUT_MAX	1024 /* messages waiting for room, per agent */
#define LINK_SNDBUF	(256 * 1024)
#define LINK_BUDGET	64   /* datagrams per wake-up and agent */

static void link_handle(struct agent *a, const void *buf, size_t len,
			bool last_words);

static void
link_out_clear(struct agent *a)
{
	for (size_t i = 0; i < a->link_out_n; i++)
		nng_msg_free(a->link_out[i]);
	free(a->link_out);
	a->link_out = NULL;
	a->link_out_n = a->link_out_cap = 0;
}

/* 1 sent, 0 no room now, -errno the link is broken */
static int
link_write(struct agent *a, nng_msg *msg)
{
	ssize_t n = send(a->link_fd, nng_msg_body(msg), nng_msg_len(msg),
			 MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n >= 0)
		return 1;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
		return 0;
	return -errno;
}

static void
link_watch(struct agent *a, bool want_out)
{
	if (a->link_src)
		(void)sd_event_source_set_io_events(
			a->link_src,
			EPOLLIN | EPOLLET | (want_out ? EPOLLOUT : 0));
}

/* Send what waits, in order; stops at the first send without room. */
static void
link_out_flush(struct agent *a)
{
	size_t i = 0;

	while (i < a->link_out_n) {
		int r = link_write(a, a->link_out[i]);

		if (r == 0)
			break;
		if (r < 0) {
			log_debug("%s: link: %s, dropping what waits", a->name,
				  strerror(-r));
			link_out_clear(a);
			link_watch(a, false);
			return;
		}
		nng_msg_free(a->link_out[i++]);
	}
	memmove(a->link_out, a->link_out + i,
		(a->link_out_n - i) * sizeof(*a->link_out));
	a->link_out_n -= i;
	link_watch(a, a->link_out_n > 0);
}

int
link_send_agent(struct agent *a, nng_msg *msg)
{
	int r;

	if (a->link_fd < 0 || !a->linked) {
		nng_msg_free(msg);
		return -ENOTCONN;
	}
	if (nng_msg_len(msg) > PROTO_LINK_MSG_MAX) {
		nng_msg_free(msg);
		return -EMSGSIZE;
	}
	if (a->link_out_n == 0) {
		r = link_write(a, msg);
		if (r != 0) {
			nng_msg_free(msg);
			return r < 0 ? r : 0;
		}
	}
	if (a->link_out_n == LINK_OUT_MAX) {
		log_warnx("%s: link: %d messages wait for the agent to read, dropping %s",
			  a->name, LINK_OUT_MAX, "one");
		nng_msg_free(msg);
		return -ENOBUFS;
	}
	if (a->link_out_n == a->link_out_cap) {
		size_t cap = a->link_out_cap ? a->link_out_cap * 2 : 8;
		nng_msg **n = realloc(a->link_out, cap * sizeof(*n));

		if (!n) {
			nng_msg_free(msg);
			return -ENOMEM;
		}
		a->link_out = n;
		a->link_out_cap = cap;
	}
	a->link_out[a->link_out_n++] = msg;
	link_watch(a, true);
	return 0;
}

int
link_send_packed(struct agent *a, uint32_t type, uint64_t corr,
		 proto_pack_fn pack, const void *arg)
{
	nng_msg *msg;
	int r = proto_build(type, 0, corr, "agentd", pack, arg, &msg);

	return r < 0 ? r : link_send_agent(a, msg);
}

static int
pack_interrupt(msgpack_packer *pk, const void *arg)
{
	return proto_interrupt_pack(pk, arg);
}

static int
pack_version(msgpack_packer *pk, const void *arg)
{
	return proto_version_pack(pk, arg);
}

static int
pack_hello_ack(msgpack_packer *pk, const void *arg)
{
	return proto_hello_ack_pack(pk, arg);
}

int
link_send_interrupt(struct agent *a, uint32_t level)
{
	struct proto_interrupt in = { .level = level };

	return link_send_packed(a, PROTO_MSG_INTERRUPT, 0, pack_interrupt, &in);
}

bool
link_is_up(const struct agent *a)
{
	return a->link_fd >= 0 && a->linked;
}

/* Stop listening to the agent: a broken or hostile link. The process is
 * left alone (its pidfd still tells its end). */
static void
link_shut(struct agent *a)
{
	a->link_src = sd_event_source_disable_unref(a->link_src);
	a->linked = false;
	link_out_clear(a);
	if (a->link_fd >= 0)
		(void)shutdown(a->link_fd, SHUT_RDWR);
}

static void
link_handle_hello(struct agent *a, const struct proto_env *env)
{
	struct proto_hello h;
	struct proto_hello_ack ack;
	struct proto_reader rd;

	proto_reader_init(&rd, env->payload, env->payload_len);
	if (proto_hello_unpack(&rd, &h) < 0) {
		log_warnx("%s: link: malformed hello, closing the link", a->name);
		link_shut(a);
		return;
	}
	if (strcmp(h.name, a->name) != 0 || h.pid != (uint32_t)a->pid) {
		/* the link fd was handed on (a child that kept it open) */
		log_warnx("%s: link: hello from pid %u as '%s', expected pid %d, closing",
			  a->name, h.pid, h.name, (int)a->pid);
		link_shut(a);
		return;
	}
	if (a->linked) {
		log_warnx("%s: link: a second hello, ignored", a->name);
		return;
	}
	a->linked = true;
	snprintf(a->inbox, sizeof(a->inbox), "%.*s",
		 (int)MIN(h.inbox_len, sizeof(a->inbox) - 1), h.inbox);
	/* its network inboxes, for the name server (--listen) */
	if (nameserver_set_urls(a, &h.net) < 0)
		log_warnx("%s: link: out of memory for its network inboxes, "
			  "ignoring", a->name);
	ack.watchdog_usec = a->unit->watchdog;
	ack.stop_timeout_usec = a->unit->stop_timeout;
	if (link_send_packed(a, PROTO_MSG_HELLO_ACK, env->corr, pack_hello_ack,
			     &ack) < 0)
		log_warnx("%s: cannot send hello-ack", a->name);
	log_debug("%s: linked", a->name);
	/* a stop requested before the hello: interrupt it now */
	if (a->state == AGENT_STOPPING && a->stop_phase == STOP_TERM)
		(void)link_send_interrupt(a, PROTO_LEVEL_FLAG);
}

/* last_words: the process is gone (link_drain) */
static void
link_handle(struct agent *a, const void *buf, size_t len, bool last_words)
{
	struct proto_env env;
	struct proto_reader rd;
	int r;

	r = proto_env_decode(buf, len, &env);
	if (r == -EPROTONOSUPPORT) {
		struct proto_version v = { .supported = PROTO_VERSION };
		log_warnx("%s: link: protocol version %u, closing", a->name,
			  env.version);
		a->linked = true; /* let the answer out */
		(void)link_send_packed(a, PROTO_MSG_VERSION, 0, pack_version,
				       &v);
		link_shut(a);
		return;
	}
	if (r < 0 || proto_msgtype_family(env.type) != PROTO_FAMILY_LINK) {
		log_warnx("%s: link: malformed message, closing the link", a->name);
		link_shut(a);
		return;
	}
	if (env.type == PROTO_MSG_HELLO) {
		link_handle_hello(a, &env);
		return;
	}
	if (!a->linked) {
		log_warnx("%s: link: %s before hello, closing the link", a->name,
			  proto_msgtype_to_string(env.type));
		link_shut(a);
		return;
	}
	/* the process is gone: only its last words count */
	if (last_words && env.type != PROTO_MSG_EXIT_REPORT &&
	    env.type != PROTO_MSG_STOPPING && env.type != PROTO_MSG_STATUS_TEXT)
		return;
	proto_reader_init(&rd, env.payload, env.payload_len);
	switch (env.type) {
	case PROTO_MSG_READY:
		if (proto_empty_unpack(&rd) < 0)
			goto bad;
		agent_handle_event(a, AGENT_EV_READY);
		break;
	case PROTO_MSG_HEARTBEAT: {
		struct proto_heartbeat hb;

		if (proto_heartbeat_unpack(&rd, &hb) < 0)
			goto bad;
		agent_watchdog_ping(a);
		break;
	}
	case PROTO_MSG_STOPPING: {
		struct proto_text t;

		if (proto_text_unpack(&rd, &t) < 0)
			goto bad;
		log_debug("%s: stopping: %.*s", a->name, (int)MIN(t.len, 200),
			  t.text);
		break;
	}
	case PROTO_MSG_STATUS_TEXT: {
		struct proto_text t;

		if (proto_text_unpack(&rd, &t) < 0)
			goto bad;
		agent_set_status_text(a, t.text, t.len);
		break;
	}
	case PROTO_MSG_EXIT_REPORT: {
		struct proto_exit_report er;

		if (proto_exit_report_unpack(&rd, &er) < 0)
			goto bad;
		snprintf(a->exit_report, sizeof(a->exit_report), "%s%s%.*s",
			 proto_exit_reason_to_string(er.reason),
			 er.message_len ? ": " : "",
			 (int)MIN(er.message_len, 100), er.message);
		break;
	}
	case PROTO_MSG_RESOLVE:
	case PROTO_MSG_MONITOR:
		if (registry_handle(a->m, a, &env) < 0)
			goto bad;
		break;
	default:
		log_debug("%s: unexpected %s on the link, ignored", a->name,
			  proto_msgtype_to_string(env.type));
		break;
	}
	return;
bad:
	log_warnx("%s: malformed %s on the link, closing it", a->name,
		  proto_msgtype_to_string(env.type));
	link_shut(a);
}

/*
 * Read up to budget datagrams; 0: all, what a dead agent left (its last
 * words: link_drain). Returns -errno when the link is
 * over (the agent closed it or died), 1 when the budget ran out (more may
 * wait), 0 when all was read.
 */
static int
link_read(struct agent *a, unsigned budget)
{
	static uint8_t buf[PROTO_LINK_MSG_MAX];

	for (unsigned i = 0; budget == 0 || i < budget; i++) {
		ssize_t n;

		if (a->link_fd < 0 || !a->link_src)
			return -ENOTCONN;
		n = recv(a->link_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET; /* the agent's end is closed */
		if ((size_t)n > sizeof(buf)) {
			log_warnx("%s: link: a %zd-byte message (max %d), closing the link",
				  a->name, n, PROTO_LINK_MSG_MAX);
			link_shut(a);
			return -EMSGSIZE;
		}
		link_handle(a, buf, (size_t)n, budget == 0);
	}
	return 1;
}

static int
link_io_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct agent *a = userdata;

	(void)s;
	(void)fd;
	if (revents & EPOLLOUT)
		link_out_flush(a);
	if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		int r = link_read(a, LINK_BUDGET);

		if (r < 0 && a->link_src) {
			/* the agent closed its end: nothing more will come;
			 * the pidfd reports the process */
			a->link_src = sd_event_source_disable_unref(a->link_src);
			link_out_clear(a);
		} else if (r > 0) {
			link_watch(a, a->link_out_n > 0); /* a new edge */
		}
	}
	return 0;
}

int
link_prepare(struct agent *a, int *ret_child_fd)
{
	int sv[2], size = LINK_SNDBUF, r;

	link_release(a);
	/* both ends block: agentd never waits on its end (every send and
	 * recv is MSG_DONTWAIT), the agent's end bounds its sends with
	 * SO_SNDTIMEO (libagent); the spawn clears the CLOEXEC of the
	 * agent's end */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	r = sd_event_add_io(a->m->event, &a->link_src, sv[0],
			    EPOLLIN | EPOLLET, link_io_cb, a);
	if (r < 0) {
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	a->link_fd = sv[0];
	a->linked = false;
	*ret_child_fd = sv[1];
	return 0;
}

void
link_drain(struct agent *a)
{
	if (a->link_fd < 0 || !a->link_src)
		return;
	(void)link_read(a, 0);
}

void
link_release(struct agent *a)
{
	a->link_src = sd_event_source_disable_unref(a->link_src);
	link_out_clear(a);
	a->link_fd = safe_close(a->link_fd);
	a->linked = false;
	nameserver_forget(a); /* the process announced them */
}
