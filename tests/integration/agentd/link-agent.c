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
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>

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
send_msg(nng_socket s, uint32_t type, int (*pack)(msgpack_packer *, const void *),
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
	if (nng_sendmsg(s, msg, 0) != 0) {
		nng_msg_free(msg);
		return -EIO;
	}
	return 0;
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

int
main(void)
{
	const char *url = getenv("AGENTD_LINK");
	const char *inbox = getenv("AGENTD_INBOX");
	bool no_ready = getenv("LINK_AGENT_NO_READY") != NULL;
	bool no_hb = getenv("LINK_AGENT_NO_HEARTBEAT") != NULL;
	bool ignore = getenv("LINK_AGENT_IGNORE_INTERRUPT") != NULL;
	struct proto_hello h = { 0 };
	struct proto_hello_ack ack = { 0 };
	uint64_t seq = 0;
	nng_socket s;
	int rv;

	name = getenv("AGENTD_NAME");
	if (!url || !name) {
		fprintf(stderr, "link-agent: AGENTD_LINK and AGENTD_NAME are needed\n");
		return 1;
	}
	if (ignore)
		signal(SIGTERM, SIG_IGN);
	if ((rv = nng_pair1_open(&s)) != 0 ||
	    (rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, PROTO_MSG_MAX)) != 0 ||
	    (rv = nng_dial(s, url, NULL, 0)) != 0) {
		fprintf(stderr, "link-agent: %s: %s\n", url, nng_strerror(rv));
		return 1;
	}
	snprintf(h.name, sizeof(h.name), "%s", name);
	h.pid = (uint32_t)getpid();
	h.inbox = inbox ? inbox : "";
	h.inbox_len = strlen(h.inbox);
	if (send_msg(s, PROTO_MSG_HELLO, pack_hello, &h) < 0)
		return 1;
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000);
	for (;;) {
		struct proto_env env;
		struct proto_reader rd;
		nng_msg *msg;

		if (nng_recvmsg(s, &msg, 0) != 0) {
			fprintf(stderr, "link-agent: no hello-ack\n");
			return 1;
		}
		if (proto_env_decode_msg(msg, &env) == 0 &&
		    env.type == PROTO_MSG_HELLO_ACK) {
			proto_reader_init(&rd, env.payload, env.payload_len);
			if (proto_hello_ack_unpack(&rd, &ack) < 0)
				return 1;
			nng_msg_free(msg);
			break;
		}
		nng_msg_free(msg);
	}
	printf("link-agent %s: linked, watchdog %llu us\n", name,
	       (unsigned long long)ack.watchdog_usec);
	fflush(stdout);
	if (!no_ready) {
		if (send_msg(s, PROTO_MSG_READY, NULL, NULL) < 0)
			return 1;
		record("ready");
	}
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO,
			  ack.watchdog_usec ? (nng_duration)(ack.watchdog_usec / 2000)
					    : 1000);
	for (;;) {
		struct proto_env env;
		nng_msg *msg;

		rv = nng_recvmsg(s, &msg, 0);
		if (rv == NNG_ETIMEDOUT) {
			struct proto_heartbeat hb = { .seq = ++seq };

			if (ack.watchdog_usec && !no_hb)
				(void)send_msg(s, PROTO_MSG_HEARTBEAT, pack_heartbeat, &hb);
			continue;
		}
		if (rv != 0)
			return 1;
		if (proto_env_decode_msg(msg, &env) == 0 &&
		    env.type == PROTO_MSG_INTERRUPT && !ignore) {
			struct proto_text t = { .text = "bye", .len = 3 };
			struct proto_exit_report er = {
				.reason = PROTO_EXIT_INTERRUPTED,
				.message = "interrupted",
				.message_len = 11,
			};

			record("interrupt");
			(void)send_msg(s, PROTO_MSG_STOPPING, pack_text, &t);
			(void)send_msg(s, PROTO_MSG_EXIT_REPORT, pack_exit, &er);
			nng_msg_free(msg);
			/* let nng flush before the socket goes away */
			usleep(20000);
			nng_close(s);
			return PROTO_EXIT_INTERRUPTED;
		}
		nng_msg_free(msg);
	}
}
