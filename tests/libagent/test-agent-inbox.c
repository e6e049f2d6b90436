/* SPDX-License-Identifier: MIT */
/*
 * test-agent-inbox.c - an agent's inbox against hostile input, and the
 * builtin ping. A raw push0 socket plays a stranger: junk, truncated
 * envelopes, a batch with a malformed envelope in the middle (what comes
 * before it is delivered, nothing after), an envelope of a foreign family,
 * a bad request (reply_to not a URL), an event nobody handles, an
 * oversized message, and 3000 random mutations of a valid batch (fixed
 * seed): the agent never crashes, keeps answering, and counts what it
 * dropped. The inbox socket file is owner-only. A "ping" request that the
 * agent does not handle is answered with its own body.
 *
 * Reply addresses: a request whose reply_to is not the sender's own
 * inbox (over ipc: outside $AGENTD_RUNTIME_DIR/inbox/, or a tcp URL; over
 * tcp: another host, or an ipc path; over tls: a plain tcp URL) is
 * dropped as malformed and nothing is sent there. Subscriptions from the inbox are bounded: 256
 * subscribers per topic, 64 topics nobody published, 4096 in all; the
 * ones beyond are dropped and counted, and agent_publish() still gets
 * its topics.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/supplemental/tls/tls.h>
#include <nng/supplemental/util/platform.h>

#include <agent/agent.h>

#include "proto.h"
#include "proto-agent.h"
#include "proto-ctl.h"
#include "proto-link.h"

static uint64_t n_good; /* "good" events handled */

static int
on_good(agent *a, agent_msg *m)
{
	(void)a;
	(void)m;
	n_good++;
	return 0;
}

static bool ended;

static int
on_end(agent *a, agent_msg *m)
{
	(void)a;
	(void)m;
	ended = true;
	return 0;
}

static const struct agent_msg_type good_type = { .name = "good" };
static const struct agent_msg_type end_type = { .name = "end" };

static const struct agent_handler handlers[] = {
	{ .type = &good_type, .on_event = on_good },
	{ .type = &end_type, .on_event = on_end },
	{ 0 },
};

static const struct agent_def target_def = {
	.name = "target",
	.handlers = handlers,
};

/* start one envelope of type at the end of *msg (a new one if NULL) */
static void
begin_env(struct proto_builder *b, nng_msg *msg, uint32_t type, uint64_t corr)
{
	if (msg)
		assert_int_equal(proto_builder_begin_append(b, msg, type, 0,
							    corr, "stranger"),
				 0);
	else
		assert_int_equal(proto_builder_begin(b, type, 0, corr,
						     "stranger"), 0);
}

/* append one EVENT envelope to *msg */
static void
add_event_body(nng_msg **msg, const char *kind, const void *body, size_t len)
{
	struct proto_builder b;
	struct proto_event ev = { .kind = kind, .kind_len = strlen(kind),
				  .body = body, .body_len = len };

	begin_env(&b, *msg, PROTO_MSG_EVENT, 0);
	assert_int_equal(proto_event_pack(&b.pk, &ev), 0);
	assert_int_equal(proto_builder_finish(&b, msg), 0);
}

static void
add_event(nng_msg **msg, const char *kind, uint8_t v)
{
	unsigned char body = v & 0x7f;

	add_event_body(msg, kind, &body, 1);
}

static void
add_request(nng_msg **msg, const char *kind, const char *reply_to,
	    uint64_t corr, const void *body, size_t len)
{
	struct proto_builder b;
	struct proto_request rq = { .kind = kind, .kind_len = strlen(kind),
				    .reply_to = reply_to,
				    .reply_to_len = strlen(reply_to),
				    .timeout_ms = 5000, .body = body,
				    .body_len = len };

	begin_env(&b, *msg, PROTO_MSG_REQUEST, corr);
	assert_int_equal(proto_request_pack(&b.pk, &rq), 0);
	assert_int_equal(proto_builder_finish(&b, msg), 0);
}

static void
send_raw(nng_socket s, const void *buf, size_t len)
{
	nng_msg *m;

	assert_int_equal(nng_msg_alloc(&m, 0), 0);
	assert_int_equal(nng_msg_append(m, buf, len), 0);
	assert_int_equal(nng_sendmsg(s, m, 0), 0);
}

/* run the target's loop until cond or a deadline (10 s) */
static void
run_until(agent *a, bool (*cond)(void))
{
	nng_time end = nng_clock() + 10000;

	while (!cond() && nng_clock() < end)
		assert_true(agent_loop_iterate(agent_get_loop(a), 10000) >= 0);
	assert_true(cond());
}

static bool
end_reached(void)
{
	return ended;
}

struct sender {
	char url[256];
	char reply[256];
};

/* everything a stranger sends, on its own thread (the target's loop
 * runs on the test's thread meanwhile) */
static void *
sender_main(void *arg)
{
	struct sender *sd = arg;
	nng_msg *msg = NULL, *good_batch = NULL;
	nng_socket push, big;

	assert_int_equal(nng_push0_open(&push), 0);
	assert_int_equal(nng_dial(push, sd->url, NULL, 0), 0);

	/* junk and truncation */
	send_raw(push, "\x96\x01\xcc\xff", 4);
	send_raw(push, "", 0);
	add_event(&msg, "good", 1);
	send_raw(push, nng_msg_body(msg), nng_msg_len(msg) - 1);
	nng_msg_free(msg);
	msg = NULL;

	/* a batch: good, good, malformed, good -> the first two only */
	add_event(&msg, "good", 2);
	add_event(&msg, "good", 3);
	assert_int_equal(nng_msg_append(msg, "\x96\x01\xcd", 3), 0);
	add_event(&msg, "good", 99);
	assert_int_equal(nng_sendmsg(push, msg, 0), 0);
	msg = NULL;

	/* an event nobody handles (counted), a foreign family, a request
	 * whose reply_to is no URL */
	add_event(&msg, "nosuchkind", 4);
	assert_int_equal(nng_sendmsg(push, msg, 0), 0);
	msg = NULL;
	{
		struct proto_builder b;
		assert_int_equal(proto_builder_begin(&b, PROTO_MSG_READY, 0, 0,
						     "stranger"), 0);
		assert_int_equal(proto_empty_pack(&b.pk), 0);
		assert_int_equal(proto_builder_finish(&b, &msg), 0);
		assert_int_equal(nng_sendmsg(push, msg, 0), 0);
		msg = NULL;
	}
	add_request(&msg, "good", "file:///etc/passwd", 7, NULL, 0);
	assert_int_equal(nng_sendmsg(push, msg, 0), 0);
	msg = NULL;

	/* an oversized message, on a connection of its own (nng closes the
	 * pipe that carries it) */
	{
		size_t n = PROTO_MSG_MAX + 16;
		char *junk = calloc(1, n);
		assert_non_null(junk);
		assert_int_equal(nng_push0_open(&big), 0);
		assert_int_equal(nng_dial(big, sd->url, NULL, 0), 0);
		send_raw(big, junk, n);
		free(junk);
		nng_msleep(50); /* nng has no flush */
		nng_close(big);
	}

	/* mutations of a valid batch: bytes flipped, cut, duplicated */
	for (int i = 0; i < 8; i++)
		add_event(&good_batch, "good", (uint8_t)(10 + i));
	srand(12345);
	for (int i = 0; i < 3000; i++) {
		size_t len = nng_msg_len(good_batch);
		unsigned char *buf = malloc(len * 2);
		size_t n = len;

		assert_non_null(buf);
		memcpy(buf, nng_msg_body(good_batch), len);
		switch (rand() % 4) {
		case 0:
			for (int k = 0; k < 1 + rand() % 4; k++)
				buf[rand() % len] = (unsigned char)rand();
			break;
		case 1:
			n = 1 + (size_t)rand() % (len - 1);
			break;
		case 2:
			memcpy(buf + len, buf, len);
			n = len * 2;
			buf[len + rand() % len] ^= 0xff;
			break;
		default:
			buf[rand() % len] = 0xdd; /* array32 header */
			break;
		}
		send_raw(push, buf, n);
		free(buf);
	}
	nng_msg_free(good_batch);

	/* then a clean "end": everything before it has been dealt with */
	add_event(&msg, "end", 0);
	assert_int_equal(nng_sendmsg(push, msg, 0), 0);
	nng_msleep(50);
	nng_close(push);
	return NULL;
}

/* run a's loop until pull has a message, within 10 s, and return it */
static nng_msg *
recv_answer(agent *a, nng_socket pull)
{
	nng_msg *got = NULL;

	for (nng_time end = nng_clock() + 10000; nng_clock() < end;) {
		(void)agent_loop_iterate(agent_get_loop(a), 10000);
		if (nng_recvmsg(pull, &got, NNG_FLAG_NONBLOCK) == 0)
			break;
		got = NULL;
	}
	assert_non_null(got);
	return got;
}

/* the target agent, with an ipc inbox in dir/inbox/ and a network one
 * on net_url (port 0) unless NULL */
static agent *
target_new(const char *dir, const char *net_url)
{
	char url[256];
	agent *a;

	setenv("AGENTD_RUNTIME_DIR", dir, 1);
	setenv("AGENTD_NAME", "target", 1);
	assert_int_equal(agent_new(&a, NULL, &target_def, NULL), 0);
	snprintf(url, sizeof(url), "ipc://%s/inbox/target.sock", dir);
	assert_int_equal(agent_listen(a, url), 0);
	if (net_url)
		assert_int_equal(agent_listen(a, net_url), 0);
	assert_int_equal(agent_start(a), 0);
	return a;
}

/* stop and free a, remove dir with its inbox and files (NULL-ended) */
static void
target_free_files(agent *a, const char *dir, const char *const *files)
{
	char path[256];

	assert_int_equal(agent_interrupt(a, AGENT_LEVEL_FLAG), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_INTERRUPTED);
	agent_unref(a);
	for (; files && *files; files++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *files);
		(void)unlink(path);
	}
	snprintf(path, sizeof(path), "%s/inbox/target.sock", dir);
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s/inbox", dir);
	(void)rmdir(path);
	(void)rmdir(dir);
	unsetenv("AGENTD_NAME");
	unsetenv("AGENTD_RUNTIME_DIR");
}

static void
target_free(agent *a, const char *dir)
{
	target_free_files(a, dir, NULL);
}

static void
test_hostile_inbox(void **state)
{
	char dir[] = "/tmp/lh.XXXXXX";
	char path[256];
	struct sender sd;
	struct agent_remote_stats st;
	nng_socket pull, push;
	nng_msg *msg = NULL;
	struct stat sb;
	pthread_t th;
	agent *a;

	(void)state;
	assert_non_null(mkdtemp(dir));
	a = target_new(dir, NULL);
	snprintf(sd.url, sizeof(sd.url), "ipc://%s/inbox/target.sock", dir);

	/* owner-only inbox */
	snprintf(path, sizeof(path), "%s/inbox/target.sock", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0077, 0);

	assert_int_equal(nng_pull0_open(&pull), 0);
	snprintf(sd.reply, sizeof(sd.reply), "ipc://%s/inbox/stranger.sock",
		 dir);
	assert_int_equal(nng_listen(pull, sd.reply, NULL, 0), 0);

	assert_int_equal(pthread_create(&th, NULL, sender_main, &sd), 0);
	run_until(a, end_reached);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(agent_is_alive(a));
	assert_int_equal(agent_remote_stats(a, &st), 0);
	print_message("# inbox: received %llu malformed %llu unhandled %llu "
		      "good %llu\n", (unsigned long long)st.received,
		      (unsigned long long)st.malformed,
		      (unsigned long long)st.unhandled,
		      (unsigned long long)n_good);
	/* junk, the cut envelope, the bad middle, the foreign family, the
	 * bad reply_to, and most mutations */
	assert_true(st.malformed >= 5 + 1000);
	assert_true(st.unhandled >= 1);
	assert_true(n_good >= 2);

	/* the builtin ping answers with its body, through the mailbox */
	{
		static const unsigned char body[] = { 0x92, 0x01, 0xa1, 'x' };
		struct proto_env env;
		struct proto_response resp;
		struct proto_reader rd;
		nng_msg *got = NULL;

		assert_int_equal(nng_push0_open(&push), 0);
		assert_int_equal(nng_dial(push, sd.url, NULL, 0), 0);
		add_request(&msg, "ping", sd.reply, 4242, body, sizeof(body));
		assert_int_equal(nng_sendmsg(push, msg, 0), 0);
		msg = NULL;
		got = recv_answer(a, pull);
		assert_int_equal(proto_env_decode_msg(got, &env), 0);
		assert_int_equal(env.type, PROTO_MSG_RESPONSE);
		assert_int_equal(env.corr, 4242);
		proto_reader_init(&rd, env.payload, env.payload_len);
		assert_int_equal(proto_response_unpack(&rd, &resp), 0);
		assert_int_equal(resp.body_len, sizeof(body));
		assert_memory_equal(resp.body, body, sizeof(body));
		nng_msg_free(got);
		nng_close(push);
	}

	nng_close(pull);
	target_free_files(a, dir,
			  (const char *const[]){ "inbox/stranger.sock", NULL });
}

/* ---- reply addresses --------------------------------------------------- */

/* a pull0 listener on url (port 0: *port gets the one bound) */
static nng_socket
listener(const char *url, int *port)
{
	nng_socket s;
	nng_listener l;

	assert_int_equal(nng_pull0_open(&s), 0);
	assert_int_equal(nng_listen(s, url, &l, 0), 0);
	if (port)
		assert_int_equal(nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT,
						      port), 0);
	return s;
}

static nng_socket
dialer(const char *url)
{
	nng_socket s;

	assert_int_equal(nng_push0_open(&s), 0);
	assert_int_equal(nng_socket_set_int(s, NNG_OPT_SENDBUF, 64), 0);
	assert_int_equal(nng_dial(s, url, NULL, 0), 0);
	return s;
}

/* the corr of the next response on pull (running a's loop) */
static uint64_t
answer_on(agent *a, nng_socket pull)
{
	struct proto_env env;
	nng_msg *got = recv_answer(a, pull);
	uint64_t corr;

	assert_int_equal(proto_env_decode_msg(got, &env), 0);
	assert_int_equal(env.type, PROTO_MSG_RESPONSE);
	corr = env.corr;
	nng_msg_free(got);
	return corr;
}

static void
assert_nothing_on(nng_socket pull)
{
	nng_msg *got = NULL;

	assert_int_equal(nng_recvmsg(pull, &got, NNG_FLAG_NONBLOCK), NNG_EAGAIN);
}

static uint64_t
malformed(agent *a)
{
	struct agent_remote_stats st;

	assert_int_equal(agent_remote_stats(a, &st), 0);
	return st.malformed;
}

static void
test_reply_to_refused(void **state)
{
	char dir[] = "/tmp/lr.XXXXXX";
	char url[256], tcp_ok[64], tcp_other[64], ipc_ok[256];
	nng_socket in_ok, out, net_ok, net_other, push;
	nng_msg *msg = NULL;
	int port_ok, port_other;
	uint64_t m0;
	agent *a;

	(void)state;
	assert_non_null(mkdtemp(dir));
	a = target_new(dir, "tcp://127.0.0.1:0");

	snprintf(ipc_ok, sizeof(ipc_ok), "ipc://%s/inbox/stranger.sock", dir);
	in_ok = listener(ipc_ok, NULL);
	snprintf(url, sizeof(url), "ipc://%s/stranger.sock", dir);
	out = listener(url, NULL);
	net_ok = listener("tcp://127.0.0.1:0", &port_ok);
	snprintf(tcp_ok, sizeof(tcp_ok), "tcp://127.0.0.1:%d", port_ok);
	/* another host as far as the agent can tell (Linux answers on all
	 * of 127/8) */
	net_other = listener("tcp://127.0.0.2:0", &port_other);
	snprintf(tcp_other, sizeof(tcp_other), "tcp://127.0.0.2:%d",
		 port_other);

	/* from a local process: only its inbox in DIR/inbox/ */
	m0 = malformed(a);
	snprintf(url, sizeof(url), "ipc://%s/inbox/target.sock", dir);
	push = dialer(url);
	snprintf(url, sizeof(url), "ipc://%s/stranger.sock", dir);
	add_request(&msg, "ping", url, 1, NULL, 0);
	snprintf(url, sizeof(url), "ipc://%s/inbox/../stranger.sock", dir);
	add_request(&msg, "ping", url, 2, NULL, 0);
	add_request(&msg, "ping", tcp_ok, 3, NULL, 0);
	add_request(&msg, "ping", ipc_ok, 4, NULL, 0);
	assert_int_equal(nng_sendmsg(push, msg, 0), 0);
	msg = NULL;
	assert_int_equal(answer_on(a, in_ok), 4);
	assert_int_equal(malformed(a), m0 + 3);
	nng_close(push);

	/* from a tcp peer: only a tcp/tls inbox on its own address */
	m0 = malformed(a);
	push = dialer(agent_listen_url(a, 1));
	add_request(&msg, "ping", tcp_other, 5, NULL, 0);
	add_request(&msg, "ping", ipc_ok, 6, NULL, 0);
	snprintf(url, sizeof(url), "tcp://example.invalid:%d", port_ok);
	add_request(&msg, "ping", url, 7, NULL, 0);
	add_request(&msg, "ping", tcp_ok, 8, NULL, 0);
	assert_int_equal(nng_sendmsg(push, msg, 0), 0);
	msg = NULL;
	assert_int_equal(answer_on(a, net_ok), 8);
	assert_int_equal(malformed(a), m0 + 3);
	/* a loopback peer may name localhost */
	snprintf(url, sizeof(url), "tcp://localhost:%d", port_ok);
	add_request(&msg, "ping", url, 9, NULL, 0);
	assert_int_equal(nng_sendmsg(push, msg, 0), 0);
	msg = NULL;
	assert_int_equal(answer_on(a, net_ok), 9);
	nng_close(push);

	/* nothing went where it was refused (answers leave in order, and
	 * every refusal came before an answer that arrived) */
	(void)agent_remote_flush(a);
	nng_msleep(20);
	assert_nothing_on(out);
	assert_nothing_on(net_other);
	assert_nothing_on(in_ok);
	assert_nothing_on(net_ok);

	nng_close(in_ok);
	nng_close(out);
	nng_close(net_ok);
	nng_close(net_other);
	target_free_files(a, dir, (const char *const[]){
		"inbox/stranger.sock", "stranger.sock", NULL });
}

/* over tls, answers go over tls only: a plain tcp reply_to is refused
 * (certificates made with openssl, skipped without it) */
static void
test_reply_to_tls(void **state)
{
	char dir[] = "/tmp/lt.XXXXXX";
	char cmd[1024], both[256], cert[256], tls_ok[64], tcp_no[64];
	nng_socket net_tls, net_tcp, push;
	nng_listener l;
	nng_dialer d;
	nng_msg *msg = NULL;
	int port_tls, port_tcp;
	uint64_t m0;
	agent *a;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
		 "-subj /CN=127.0.0.1 -addext "
		 "subjectAltName=DNS:127.0.0.1,IP:127.0.0.1 "
		 "-keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1 && "
		 "cat %s/cert.pem %s/key.pem >%s/both.pem",
		 dir, dir, dir, dir, dir);
	if (system(cmd) != 0) {
		(void)rmdir(dir);
		skip(); /* no openssl */
	}
	snprintf(both, sizeof(both), "%s/both.pem", dir);
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	setenv("AGENTD_TLS_CERT_KEY_FILE", both, 1);
	setenv("AGENTD_TLS_CA_FILE", cert, 1);
	a = target_new(dir, "tls+tcp://127.0.0.1:0");

	/* the stranger's inboxes: tls (its certificate) and plain tcp */
	assert_int_equal(nng_pull0_open(&net_tls), 0);
	assert_int_equal(nng_listener_create(&l, net_tls,
					     "tls+tcp://127.0.0.1:0"), 0);
	assert_int_equal(nng_listener_set_string(l, NNG_OPT_TLS_CERT_KEY_FILE,
						 both), 0);
	assert_int_equal(nng_listener_start(l, 0), 0);
	assert_int_equal(nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT,
					      &port_tls), 0);
	snprintf(tls_ok, sizeof(tls_ok), "tls+tcp://127.0.0.1:%d", port_tls);
	net_tcp = listener("tcp://127.0.0.1:0", &port_tcp);
	snprintf(tcp_no, sizeof(tcp_no), "tcp://127.0.0.1:%d", port_tcp);

	/* the stranger calls over tls (mutual: the agent has a CA) */
	assert_int_equal(nng_push0_open(&push), 0);
	assert_int_equal(nng_dialer_create(&d, push, agent_listen_url(a, 1)), 0);
	assert_int_equal(nng_dialer_set_string(d, NNG_OPT_TLS_CERT_KEY_FILE,
					       both), 0);
	assert_int_equal(nng_dialer_set_string(d, NNG_OPT_TLS_CA_FILE, cert),
			 0);
	assert_int_equal(nng_dialer_start(d, 0), 0);
	m0 = malformed(a);
	add_request(&msg, "ping", tcp_no, 1, NULL, 0);
	add_request(&msg, "ping", tls_ok, 2, NULL, 0);
	assert_int_equal(nng_sendmsg(push, msg, 0), 0);
	msg = NULL;
	assert_int_equal(answer_on(a, net_tls), 2);
	assert_int_equal(malformed(a), m0 + 1);
	(void)agent_remote_flush(a);
	nng_msleep(20);
	assert_nothing_on(net_tcp);

	nng_close(push);
	nng_close(net_tls);
	nng_close(net_tcp);
	unsetenv("AGENTD_TLS_CERT_KEY_FILE");
	unsetenv("AGENTD_TLS_CA_FILE");
	target_free_files(a, dir, (const char *[]){ "key.pem", "cert.pem",
						    "both.pem", NULL });
}

/* ---- bounds on subscriptions -------------------------------------------- */

static void
add_subscription(nng_msg **msg, const char *kind, const char *topic,
		 const char *inbox)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	assert_int_equal(proto_pack_cstr(&pk, topic), 0);
	assert_int_equal(proto_pack_cstr(&pk, inbox), 0);
	add_event_body(msg, kind, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

/* send msg, then "end", and run the target until it got there */
static void
send_and_settle(agent *a, nng_socket push, nng_msg *msg)
{
	nng_msg *end = NULL;

	ended = false;
	assert_int_equal(nng_sendmsg(push, msg, 0), 0);
	add_event(&end, "end", 0);
	assert_int_equal(nng_sendmsg(push, end, 0), 0);
	run_until(a, end_reached);
}

static void
test_subscribe_bounds(void **state)
{
	char dir[] = "/tmp/ls.XXXXXX";
	char url[256], topic[32];
	struct agent_remote_stats st0, st;
	nng_socket push;
	nng_msg *msg = NULL;
	unsigned n;
	agent *a;

	(void)state;
	assert_non_null(mkdtemp(dir));
	a = target_new(dir, NULL);
	assert_int_equal(agent_publish(a, "temp", NULL, 0), 0);
	snprintf(url, sizeof(url), "ipc://%s/inbox/target.sock", dir);
	push = dialer(url);
	assert_int_equal(agent_remote_stats(a, &st0), 0);

	/* 300 subscribers of one topic: 256 taken. Their inboxes do not
	 * exist, so each accepted one also costs a dropped snapshot: one
	 * drop per subscribe either way */
	for (int i = 0; i < 300; i++) {
		snprintf(url, sizeof(url), "ipc://%s/inbox/s%d.sock", dir, i);
		add_subscription(&msg, "agent.subscribe", "temp", url);
	}
	send_and_settle(a, push, msg);
	msg = NULL;
	assert_int_equal(agent_subscribers(a, "temp"), 256);
	assert_int_equal(agent_remote_stats(a, &st), 0);
	assert_int_equal(st.dropped - st0.dropped, 300);
	assert_int_equal(st.malformed, st0.malformed);

	/* 100 topics nobody published: 64 */
	snprintf(url, sizeof(url), "ipc://%s/inbox/s0.sock", dir);
	for (int i = 0; i < 100; i++) {
		snprintf(topic, sizeof(topic), "u%d", i);
		add_subscription(&msg, "agent.subscribe", topic, url);
	}
	send_and_settle(a, push, msg);
	msg = NULL;
	n = 0;
	for (int i = 0; i < 100; i++) {
		snprintf(topic, sizeof(topic), "u%d", i);
		n += agent_subscribers(a, topic);
	}
	assert_int_equal(n, 64);
	/* publishing still gets its topics */
	assert_true(agent_publish(a, "fresh", NULL, 0) >= 0);

	/* an unsubscribe frees its topic for another one */
	add_subscription(&msg, "agent.unsubscribe", "u0", url);
	add_subscription(&msg, "agent.subscribe", "u99", url);
	send_and_settle(a, push, msg);
	msg = NULL;
	assert_int_equal(agent_subscribers(a, "u0"), 0);
	assert_int_equal(agent_subscribers(a, "u99"), 1);

	/* 4096 subscriptions in all: 16 more published topics with 256
	 * subscribers each would make 4096 + 256 + 64 + 1 */
	for (int t = 0; t < 16; t++) {
		snprintf(topic, sizeof(topic), "p%d", t);
		assert_int_equal(agent_publish(a, topic, NULL, 0), 0);
		for (int i = 0; i < 256; i++) {
			snprintf(url, sizeof(url), "ipc://%s/inbox/s%d.sock",
				 dir, i);
			add_subscription(&msg, "agent.subscribe", topic, url);
		}
		send_and_settle(a, push, msg);
		msg = NULL;
	}
	n = agent_subscribers(a, "temp") + agent_subscribers(a, "fresh");
	for (int i = 0; i < 100; i++) {
		snprintf(topic, sizeof(topic), "u%d", i);
		n += agent_subscribers(a, topic);
	}
	for (int t = 0; t < 16; t++) {
		snprintf(topic, sizeof(topic), "p%d", t);
		n += agent_subscribers(a, topic);
	}
	assert_int_equal(n, 4096);

	/* a subscriber inbox that is not the sender's: refused */
	assert_int_equal(agent_remote_stats(a, &st0), 0);
	add_subscription(&msg, "agent.subscribe", "fresh", "tcp://127.0.0.1:9");
	send_and_settle(a, push, msg);
	msg = NULL;
	assert_int_equal(agent_remote_stats(a, &st), 0);
	assert_int_equal(st.malformed - st0.malformed, 1);
	assert_int_equal(agent_subscribers(a, "fresh"), 0);

	nng_close(push);
	target_free(a, dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_inbox),
		cmocka_unit_test(test_reply_to_refused),
		cmocka_unit_test(test_reply_to_tls),
		cmocka_unit_test(test_subscribe_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
