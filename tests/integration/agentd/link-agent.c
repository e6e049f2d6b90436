/* SPDX-License-Identifier: MIT */
/*
 * link-agent.c - a minimal agent speaking agentd's link protocol by hand
 * (not libagent), to test agentd's side of the link: HELLO -> HELLO_ACK,
 * READY, HEARTBEAT every watchdog/2, INTERRUPT -> STOPPING + EXIT_REPORT
 * and exit status 2 (interrupted).
 *
 * Behaviour switches (environment):
 *   LINK_AGENT_NO_READY=1          never send READY
 *   LINK_AGENT_NO_HEARTBEAT=1      never send HEARTBEAT
 *   LINK_AGENT_IGNORE_INTERRUPT=1  ignore INTERRUPT (and SIGTERM)
 *   LINK_AGENT_RECORD=FILE         append "ready NAME" / "interrupt NAME"
 *   LINK_AGENT_GARBAGE=bad|big     after READY, send a malformed (bad) or
 *                                  an oversized (big) datagram, and print
 *                                  what agentd did with the link
 *
 * The link is the SOCK_SEQPACKET fd $AGENTD_LINK_FD: one datagram per
 * envelope.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"
#include "proto-link.h"

static const char *name;

static void
record(const char *what)
{
	const char *path = getenv("LINK_AGENT_RECORD");
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "a");
	if (!f)
		return;
	fprintf(f, "%s %s\n", what, name);
	fclose(f);
}

static int
send_msg(int s, uint32_t type, int (*pack)(msgpack_packer *, const void *),
	 const void *arg)
{
	struct proto_builder b;
	nng_msg *msg;
	int r;

	r = proto_builder_begin(&b, type, 0, 0, name);
	if (r < 0)
		return r;
	r = pack ? pack(&b.pk, arg) : proto_empty_pack(&b.pk);
	if (r < 0) {
		proto_builder_abort(&b);
		return r;
	}
	r = proto_builder_finish(&b, &msg);
	if (r < 0)
		return r;
	if (send(s, nng_msg_body(msg), nng_msg_len(msg), MSG_NOSIGNAL) < 0) {
		nng_msg_free(msg);
		return -errno;
	}
	nng_msg_free(msg);
	return 0;
}

/* One datagram into env (pointing into buf), waiting up to ms; 0, or
 * -ETIMEDOUT, or -EPIPE at the end of the link. */
static int
recv_msg(int s, int ms, uint8_t *buf, size_t size, struct proto_env *env)
{
	struct pollfd p = { .fd = s, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) == 0)
		return -ETIMEDOUT;
	n = recv(s, buf, size, 0);
	if (n <= 0)
		return -EPIPE;
	return proto_env_decode(buf, (size_t)n, env) < 0 ? -EBADMSG : 0;
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

/* Hostile input on the link: agentd must close it and stay up. */
static int
garbage(int s, bool big_one)
{
	static uint8_t big[PROTO_LINK_MSG_MAX + 16];
	uint8_t buf[256];
	struct proto_env env;

	memset(big, 0x90, sizeof(big));
	if (big_one)
		(void)send(s, big, sizeof(big), MSG_NOSIGNAL);
	else
		(void)send(s, "\x93\xff\x00garbage", 10, MSG_NOSIGNAL);
	for (;;) {
		int r = recv_msg(s, 5000, buf, sizeof(buf), &env);

		if (r == -EPIPE) {
			printf("link-agent %s: agentd closed the link\n", name);
			break;
		}
		if (r == -ETIMEDOUT) {
			printf("link-agent %s: link still open\n", name);
			break;
		}
	}
	fflush(stdout);
	pause(); /* until stopped */
	return 0;
}

int
main(void)
{
	const char *fd_s = getenv("AGENTD_LINK_FD");
	const char *inbox = getenv("AGENTD_INBOX");
	bool no_ready = getenv("LINK_AGENT_NO_READY") != NULL;
	bool no_hb = getenv("LINK_AGENT_NO_HEARTBEAT") != NULL;
	bool ignore = getenv("LINK_AGENT_IGNORE_INTERRUPT") != NULL;
	struct proto_hello h = { 0 };
	struct proto_hello_ack ack = { 0 };
	uint8_t buf[PROTO_LINK_MSG_MAX];
	uint64_t seq = 0;
	int s, rv;

	name = getenv("AGENTD_NAME");
	if (!fd_s || !name) {
		fprintf(stderr, "link-agent: AGENTD_LINK_FD and AGENTD_NAME are needed\n");
		return 1;
	}
	s = atoi(fd_s);
	if (ignore)
		signal(SIGTERM, SIG_IGN);
	snprintf(h.name, sizeof(h.name), "%s", name);
	h.pid = (uint32_t)getpid();
	h.inbox = inbox ? inbox : "";
	h.inbox_len = strlen(h.inbox);
	if (send_msg(s, PROTO_MSG_HELLO, pack_hello, &h) < 0) {
		fprintf(stderr, "link-agent: fd %d: %s\n", s, strerror(errno));
		return 1;
	}
	for (;;) {
		struct proto_env env;
		struct proto_reader rd;

		rv = recv_msg(s, 5000, buf, sizeof(buf), &env);
		if (rv == -ETIMEDOUT || rv == -EPIPE) {
			fprintf(stderr, "link-agent: no hello-ack\n");
			return 1;
		}
		if (rv == 0 && env.type == PROTO_MSG_HELLO_ACK) {
			proto_reader_init(&rd, env.payload, env.payload_len);
			if (proto_hello_ack_unpack(&rd, &ack) < 0)
				return 1;
			break;
		}
	}
	printf("link-agent %s: linked, watchdog %llu us\n", name,
	       (unsigned long long)ack.watchdog_usec);
	fflush(stdout);
	if (!no_ready) {
		if (send_msg(s, PROTO_MSG_READY, NULL, NULL) < 0)
			return 1;
		record("ready");
	}
	if (getenv("LINK_AGENT_GARBAGE"))
		return garbage(s, strcmp(getenv("LINK_AGENT_GARBAGE"), "big") == 0);
	for (;;) {
		struct proto_env env;
		int ms = ack.watchdog_usec ? (int)(ack.watchdog_usec / 2000) : 1000;

		rv = recv_msg(s, ms, buf, sizeof(buf), &env);
		if (rv == -ETIMEDOUT) {
			struct proto_heartbeat hb = { .seq = ++seq };

			if (ack.watchdog_usec && !no_hb)
				(void)send_msg(s, PROTO_MSG_HEARTBEAT, pack_heartbeat, &hb);
			continue;
		}
		if (rv == -EPIPE)
			return 1;
		if (rv == 0 && env.type == PROTO_MSG_INTERRUPT && !ignore) {
			struct proto_text t = { .text = "bye", .len = 3 };
			struct proto_exit_report er = {
				.reason = PROTO_EXIT_INTERRUPTED,
				.message = "interrupted",
				.message_len = 11,
			};

			record("interrupt");
			(void)send_msg(s, PROTO_MSG_STOPPING, pack_text, &t);
			(void)send_msg(s, PROTO_MSG_EXIT_REPORT, pack_exit, &er);
			/* no flush needed: the datagrams wait on agentd's end */
			return PROTO_EXIT_INTERRUPTED;
		}
	}
}
