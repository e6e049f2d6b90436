/* SPDX-License-Identifier: MIT */
/*
 * link.c - the agents' link: one pair1 socket in polyamorous mode listening
 * on RUNTIME_DIR/link.sock (0600). A new pipe is accepted only when its
 * peer pid (NNG_OPT_IPC_PEER_PID) is a process agentd spawned; that check
 * runs on an nng thread, so the set of spawned pids is the one piece of
 * state shared across threads (a mutex). Everything else runs on the loop:
 * messages are received through NNG_OPT_RECVFD and replies are routed to
 * the agent's pipe with nng_msg_set_pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include <nng/transport/ipc/ipc.h>

#include "agentd.h"
#include "log.h"
#include "macro.h"
#include "proto-link.h"
#include "registry.h"

static pthread_mutex_t link_pids_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t *link_pids;
static size_t link_n_pids, link_cap_pids;

int
link_pid_add(pid_t pid)
{
	int r = 0;

	pthread_mutex_lock(&link_pids_lock);
	if (link_n_pids == link_cap_pids) {
		size_t cap = link_cap_pids ? link_cap_pids * 2 : 64;
		pid_t *n = realloc(link_pids, cap * sizeof(pid_t));

		if (!n)
			r = -ENOMEM;
		else {
			link_pids = n;
			link_cap_pids = cap;
		}
	}
	if (r == 0)
		link_pids[link_n_pids++] = pid;
	pthread_mutex_unlock(&link_pids_lock);
	return r;
}

void
link_pid_remove(pid_t pid)
{
	pthread_mutex_lock(&link_pids_lock);
	for (size_t i = 0; i < link_n_pids; i++)
		if (link_pids[i] == pid) {
			link_pids[i] = link_pids[--link_n_pids];
			break;
		}
	pthread_mutex_unlock(&link_pids_lock);
}

static bool
link_pid_known(pid_t pid)
{
	bool found = false;

	pthread_mutex_lock(&link_pids_lock);
	for (size_t i = 0; i < link_n_pids && !found; i++)
		found = link_pids[i] == pid;
	pthread_mutex_unlock(&link_pids_lock);
	return found;
}

/* The peer pid of an ipc pipe, or 0. */
static pid_t
link_peer_pid(nng_pipe p)
{
	uint64_t pid = 0;

	if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_PID, &pid) != 0 ||
	    pid == 0 || pid > INT32_MAX)
		return 0;
	return (pid_t)pid;
}

/*
 * Our direct child? Covers the few microseconds between the spawn and
 * link_pid_add(): the hello is checked against the agent's pid anyway.
 */
static bool
link_pid_is_child(pid_t pid)
{
	pid_t ppid;

	return proc_stat_read(pid, NULL, &ppid, NULL) == 0 &&
	       ppid == getpid();
}

/* On an nng thread: only look at the pid, and close strangers. */
static void
link_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	int pid = 0;

	struct manager *m = arg;

	nng_guard_pipe_event(&m->link_guard, p, ev);
	if (ev != NNG_PIPE_EV_ADD_PRE)
		return;
	pid = link_peer_pid(p);
	if (pid <= 0 ||
	    (!link_pid_known((pid_t)pid) && !link_pid_is_child((pid_t)pid)))
		nng_pipe_close(p);
}

static int
link_send(struct manager *m, uint32_t pipe_id, nng_msg *msg)
{
	nng_pipe p = { .id = pipe_id };
	int rv;

	nng_msg_set_pipe(msg, p);
	/* pair1 has no room for a second message while it hands the first
	 * to its pipe: queue it rather than lose it (sendq.c) */
	rv = sendq_send(&m->link_out, pipe_id, msg);
	return rv;
}

int
link_send_interrupt(struct agent *a, uint32_t level)
{
	struct proto_interrupt in = { .level = level };
	struct proto_builder b;
	nng_msg *msg;
	int r;

	if (!a->m->link_open || !a->link_pipe)
		return -ENOTCONN;
	r = proto_builder_begin(&b, PROTO_MSG_INTERRUPT, 0, 0, "agentd");
	if (r < 0)
		return r;
	r = proto_interrupt_pack(&b.pk, &in);
	if (r < 0) {
		proto_builder_abort(&b);
		return r;
	}
	r = proto_builder_finish(&b, &msg);
	if (r < 0)
		return r;
	return link_send(a->m, a->link_pipe, msg);
}

int
link_send_agent(struct agent *a, nng_msg *msg)
{
	if (!a->m->link_open || !a->link_pipe) {
		nng_msg_free(msg);
		return -ENOTCONN;
	}
	return link_send(a->m, a->link_pipe, msg);
}

/*
 * Close a pipe from the loop, but only the pipe of a live process we
 * spawned. Messages of an agent we have already reaped (its STOPPING and
 * EXIT_REPORT are often still queued when its pidfd fires) come from a pipe
 * nng is tearing down by itself; calling nng_pipe_close() on it then races
 * with that teardown in nng 1.5.2 (pair1 poly) and ends in "panic:
 * pthread_mutex_lock: Invalid argument" on an nng thread during large
 * ordered stops. Such a pipe needs no closing: its peer is gone. Strangers
 * are closed in ADD_PRE already. Returns true if the pipe was closed.
 */
static bool
link_close_pipe(uint32_t pipe_id)
{
	nng_pipe p = { .id = pipe_id };
	pid_t pid = link_peer_pid(p);

	if (pid <= 0 || !link_pid_known(pid))
		return false;
	nng_pipe_close(p);
	return true;
}

static struct agent *
link_agent_of_pipe(struct manager *m, uint32_t pipe_id)
{
	for (size_t i = 0; i < m->n_agents; i++)
		if (m->agents[i]->link_pipe == pipe_id && m->agents[i]->pid > 0)
			return m->agents[i];
	return NULL;
}

static void
link_reply_version(struct manager *m, uint32_t pipe_id)
{
	struct proto_version v = { .supported = PROTO_VERSION };
	struct proto_builder b;
	nng_msg *msg;

	if (proto_builder_begin(&b, PROTO_MSG_VERSION, 0, 0, "agentd") < 0)
		return;
	if (proto_version_pack(&b.pk, &v) < 0) {
		proto_builder_abort(&b);
		return;
	}
	if (proto_builder_finish(&b, &msg) < 0)
		return;
	(void)link_send(m, pipe_id, msg);
}

static void
link_handle_hello(struct manager *m, uint32_t pipe_id,
		  const struct proto_env *env)
{
	struct proto_hello h;
	struct proto_hello_ack ack;
	struct proto_reader rd;
	struct proto_builder b;
	struct agent *a;
	nng_pipe p = { .id = pipe_id };
	nng_msg *msg;
	int pid = 0;

	proto_reader_init(&rd, env->payload, env->payload_len);
	if (proto_hello_unpack(&rd, &h) < 0) {
		log_warnx("link: malformed hello, closing the pipe");
		link_close_pipe(pipe_id);
		return;
	}
	a = manager_find_agent(m, h.name);
	pid = link_peer_pid(p);
	if (pid <= 0 || !a ||
	    a->pid != (pid_t)pid || h.pid != (uint32_t)pid ||
	    a->unit->type != UNIT_TYPE_AGENT) {
		log_warnx("link: hello from pid %d as '%s' does not match an agent we started, closing",
			  pid, h.name);
		link_close_pipe(pipe_id);
		return;
	}
	if (a->link_pipe && a->link_pipe != pipe_id)
		link_close_pipe(a->link_pipe);
	a->link_pipe = pipe_id;
	snprintf(a->inbox, sizeof(a->inbox), "%.*s",
		 (int)MIN(h.inbox_len, sizeof(a->inbox) - 1), h.inbox);
	ack.watchdog_usec = a->unit->watchdog;
	ack.stop_timeout_usec = a->unit->stop_timeout;
	if (proto_builder_begin(&b, PROTO_MSG_HELLO_ACK, 0, env->corr,
				"agentd") < 0)
		return;
	if (proto_hello_ack_pack(&b.pk, &ack) < 0) {
		proto_builder_abort(&b);
		return;
	}
	if (proto_builder_finish(&b, &msg) < 0)
		return;
	if (link_send(m, pipe_id, msg) < 0)
		log_warnx("%s: cannot send hello-ack", a->name);
	log_debug("%s: linked (pipe %u)", a->name, pipe_id);
	/* a stop requested before the hello: interrupt it now */
	if (a->state == AGENT_STOPPING && a->stop_phase == STOP_TERM)
		(void)link_send_interrupt(a, PROTO_LEVEL_FLAG);
}

static void
link_handle(struct manager *m, nng_msg *msg)
{
	uint32_t pipe_id = nng_pipe_id(nng_msg_get_pipe(msg));
	struct proto_env env;
	struct proto_reader rd;
	struct agent *a;
	int r;

	r = proto_env_decode_msg(msg, &env);
	if (r == -EPROTONOSUPPORT) {
		log_warnx("link: protocol version %u on pipe %u, closing",
			  env.version, pipe_id);
		link_reply_version(m, pipe_id);
		link_close_pipe(pipe_id);
		return;
	}
	if (r < 0 || proto_msgtype_family(env.type) != PROTO_FAMILY_LINK) {
		log_warnx("link: malformed message on pipe %u, closing", pipe_id);
		link_close_pipe(pipe_id);
		return;
	}
	if (env.type == PROTO_MSG_HELLO) {
		link_handle_hello(m, pipe_id, &env);
		return;
	}
	a = link_agent_of_pipe(m, pipe_id);
	if (!a) {
		/* a new pipe of a linked agent (after a listener restart) */
		nng_pipe p = { .id = pipe_id };
		int pid = 0;

		pid = link_peer_pid(p);
		if (pid > 0 && (a = manager_find_pid(m, (pid_t)pid)) &&
		    a->unit->type == UNIT_TYPE_AGENT && a->link_pipe) {
			log_debug("%s: link moved to pipe %u", a->name, pipe_id);
			a->link_pipe = pipe_id;
		} else {
			a = NULL;
		}
	}
	if (!a) {
		if (link_close_pipe(pipe_id))
			log_warnx("link: %s before hello on pipe %u, closed",
				  proto_msgtype_to_string(env.type), pipe_id);
		else
			log_debug("link: %s on pipe %u of an agent already reaped, dropped",
				  proto_msgtype_to_string(env.type), pipe_id);
		return;
	}
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
		if (registry_handle(m, a, pipe_id, &env) < 0)
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
	a->link_pipe = 0;
	link_close_pipe(pipe_id);
}

static int
link_recv_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct manager *m = userdata;

	/* bounded per wake-up so one chatty agent cannot starve the loop */
	for (int i = 0; i < 256; i++) {
		nng_msg *msg;
		int rv = nng_recvmsg(m->link_sock, &msg, NNG_FLAG_NONBLOCK);

		if (rv == NNG_EAGAIN)
			break;
		if (rv != 0) {
			log_warnx("link: receive: %s", nng_strerror(rv));
			break;
		}
		link_handle(m, msg);
		nng_msg_free(msg);
	}
	return 0;
}

int
link_open(struct manager *m)
{
	char path[512];
	int rv, fd, r;

	snprintf(path, sizeof(path), "%s/link.sock", m->runtime_dir);
	rv = nng_guard_init(&m->link_guard);
	if (rv < 0)
		return rv;
	rv = nng_pair1_open_poly(&m->link_sock);
	if (rv != 0)
		return proto_errno_from_nng(rv);
	m->link_open = true;
	m->link_out = (struct sendq){ .event = m->event, .sock = m->link_sock,
				      .what = "link" };
	if ((rv = nng_pipe_notify(m->link_sock, NNG_PIPE_EV_REM_POST,
				  link_pipe_cb, m)) != 0 ||
	    (rv = nng_socket_set_size(m->link_sock, NNG_OPT_RECVMAXSZ,
				      PROTO_MSG_MAX)) != 0 ||
	    (rv = nng_pipe_notify(m->link_sock, NNG_PIPE_EV_ADD_PRE,
				  link_pipe_cb, m)) != 0 ||
	    /*
	     * nng's default send buffer (0) lets a non-blocking send succeed
	     * only while pair1's single upper-queue reader waits: with many
	     * agents saying hello at once most HELLO_ACKs got NNG_EAGAIN (776
	     * of 1,000) and had to wait in the sendq. What still gets
	     * NNG_EAGAIN waits there (sendq.c).
	     */
	    (rv = nng_socket_set_int(m->link_sock, NNG_OPT_SENDBUF,
				     1024)) != 0 ||
	    (rv = nng_socket_get_int(m->link_sock, NNG_OPT_RECVFD, &fd)) != 0) {
		log_warnx("link: %s", nng_strerror(rv));
		return proto_errno_from_nng(rv);
	}
	r = nng_guard_listen(&m->link_guard, m->event, m->link_sock, path);
	if (r < 0)
		return r;
	return sd_event_add_io(m->event, &m->link_src, fd, EPOLLIN, link_recv_cb, m);
}

void
link_close(struct manager *m)
{
	m->link_src = sd_event_source_disable_unref(m->link_src);
	if (m->link_out.head)
		sendq_flush(&m->link_out);
	sendq_done(&m->link_out);
	nng_guard_close(&m->link_guard);
	if (m->link_open) {
		nng_close(m->link_sock);
		nng_guard_done(&m->link_guard);
	}
	m->link_open = false;
	registry_free();
	pthread_mutex_lock(&link_pids_lock);
	free(link_pids);
	link_pids = NULL;
	link_n_pids = link_cap_pids = 0;
	pthread_mutex_unlock(&link_pids_lock);
}
