/* SPDX-License-Identifier: MIT */
/*
 * test-agent-host.c - NAME@HOST destinations against a fake host: this
 * process plays HOST's agentd name server (rep0 on tcp://127.0.0.1:0,
 * answering HOST_RESOLVE by the name asked) and the target's inbox (pull0
 * on tcp://127.0.0.1:0, announced as tcp://0.0.0.0:PORT so the wildcard
 * must be replaced). One agent sends:
 *  - events before the answer is in: they wait, in order, up to the
 *    batch's bound (the next send is -EAGAIN), then all arrive in order;
 *  - $AGENTD_PORT for an address without a port: t@127.0.0.1 is then the
 *    destination t@127.0.0.1:PORT already is (one lookup, one order);
 *  - requests to a name with no network inbox, to an unknown name and to
 *    a name server that never answers: each completes with -EHOSTUNREACH
 *    (the last after the 2 s resolution timeout, before its own 10 s);
 *  - malformed addresses: -EINVAL;
 *  - to a name first resolved to an inbox nobody listens at (its agent
 *    died before its agentd knew): it is asked for again a second later
 *    and the events reach the real inbox, in order;
 * and the drops are counted.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>

#include <agent/agent.h>

#include "test-u64.h"

#include "proto.h"
#include "proto-agent.h"
#include "proto-host.h"
#include "proto-link.h"

#define N_QUEUED	256 /* a batch's bound (agent-peer.c BATCH_MAX_ENV) */
#define LATE_SEQ	100000
#define MOVING_SEQ	500000

/* ---- the fake host ------------------------------------------------------- */

static nng_socket ns_sock, inbox_sock;
static int ns_port, inbox_port, dead_port;
static atomic_int stop_threads;
static atomic_int resolves_t, resolves_mute, resolves_moving;

static pthread_mutex_t got_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t got[N_QUEUED + 16];
static unsigned n_got;
static uint64_t moving_got[4096];
static unsigned n_moving;
static unsigned bad_envelopes;

static void
ns_reply(nng_msg *req, const struct proto_env *env, const char *name,
	 size_t name_len)
{
	char url[64], tls_url[64];
	struct proto_host_peer p = { .name = name, .name_len = name_len,
				     .pid = 4242, .state = "running",
				     .state_len = 7 };
	struct proto_builder b;
	nng_msg *msg;

	if (name_len == 6 && memcmp(name, "moving", 6) == 0) {
		/* first a dead inbox, then the real one */
		snprintf(url, sizeof(url), "tcp://127.0.0.1:%d",
			 atomic_fetch_add(&resolves_moving, 1) == 0
				 ? dead_port
				 : inbox_port);
		p.urls.url[0] = url;
		p.urls.len[0] = strlen(url);
		p.urls.n = 1;
	} else if (name_len == 1 && name[0] == 't') {
		/* a tls URL first: a caller without a CA must skip it */
		snprintf(tls_url, sizeof(tls_url), "tls+tcp://0.0.0.0:%d",
			 inbox_port);
		snprintf(url, sizeof(url), "tcp://0.0.0.0:%d", inbox_port);
		p.urls.url[0] = tls_url;
		p.urls.len[0] = strlen(tls_url);
		p.urls.url[1] = url;
		p.urls.len[1] = strlen(url);
		p.urls.n = 2;
	} else if (name_len == 7 && memcmp(name, "unknown", 7) == 0) {
		p.state = "unknown";
		p.pid = 0;
	} /* "nourl": running, no network inbox */
	assert_int_equal(proto_builder_begin(&b, PROTO_MSG_HOST_RESOLVE_REPLY,
					     0, env->corr, "agentd"), 0);
	assert_int_equal(proto_host_peer_pack(&b.pk, &p), 0);
	assert_int_equal(proto_builder_finish(&b, &msg), 0);
	/* cooked rep0: the reply goes back to the request's pipe */
	(void)req;
	if (nng_sendmsg(ns_sock, msg, 0) != 0)
		nng_msg_free(msg);
}

static void *
ns_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_threads)) {
		struct proto_resolve q;
		struct proto_reader rd;
		struct proto_env env;
		nng_msg *msg;

		if (nng_recvmsg(ns_sock, &msg, 0) != 0)
			continue; /* the receive timeout: look at stop */
		if (proto_env_decode_msg(msg, &env) < 0 ||
		    env.type != PROTO_MSG_HOST_RESOLVE) {
			nng_msg_free(msg);
			continue;
		}
		proto_reader_init(&rd, env.payload, env.payload_len);
		if (proto_resolve_unpack(&rd, &q) < 0) {
			nng_msg_free(msg);
			continue;
		}
		if (q.name_len == 4 && memcmp(q.name, "mute", 4) == 0) {
			atomic_fetch_add(&resolves_mute, 1);
			nng_msg_free(msg); /* never answered */
			continue;
		}
		if (q.name_len == 1 && q.name[0] == 't')
			atomic_fetch_add(&resolves_t, 1);
		ns_reply(msg, &env, q.name, q.name_len);
		nng_msg_free(msg);
	}
	return NULL;
}

static void *
inbox_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_threads)) {
		const uint8_t *buf;
		size_t len, off = 0;
		struct proto_env env;
		nng_msg *msg;

		if (nng_recvmsg(inbox_sock, &msg, 0) != 0)
			continue;
		buf = nng_msg_body(msg);
		len = nng_msg_len(msg);
		pthread_mutex_lock(&got_lock);
		while (off < len) {
			struct proto_event ev;
			struct proto_reader rd;
			msgpack_unpacked u;
			size_t uoff = 0;

			if (proto_env_decode_next(buf, len, &off, &env) < 0) {
				bad_envelopes++;
				break;
			}
			proto_reader_init(&rd, env.payload, env.payload_len);
			if (env.type != PROTO_MSG_EVENT ||
			    proto_event_unpack(&rd, &ev) < 0) {
				bad_envelopes++;
				continue;
			}
			msgpack_unpacked_init(&u);
			if (msgpack_unpack_next(&u, ev.body, ev.body_len,
						&uoff) != MSGPACK_UNPACK_SUCCESS ||
			    u.data.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
				bad_envelopes++;
			else if (u.data.via.u64 >= MOVING_SEQ) {
				if (n_moving < sizeof(moving_got) /
						       sizeof(moving_got[0]))
					moving_got[n_moving++] = u.data.via.u64;
			} else if (n_got < sizeof(got) / sizeof(got[0]))
				got[n_got++] = u.data.via.u64;
			else
				bad_envelopes++;
			msgpack_unpacked_destroy(&u);
		}
		pthread_mutex_unlock(&got_lock);
		nng_msg_free(msg);
	}
	return NULL;
}

static unsigned
got_count(void)
{
	unsigned n;

	pthread_mutex_lock(&got_lock);
	n = n_got;
	pthread_mutex_unlock(&got_lock);
	return n;
}

/* ---- the agent ------------------------------------------------------------ */

static const struct agent_msg_type msg_seq = {
	.name = "seq", .encode = u64_encode,
};
static const struct agent_msg_type msg_ask = { .name = "ask" };

static char addr_t[64], addr_nourl[64], addr_unknown[64], addr_mute[64];
static char addr_moving[64];
static uint64_t moving_seq = MOVING_SEQ;
static int first_refused = -1;
static unsigned refused_at;
static int resp_err[4];
static unsigned n_resp;
static uint64_t mute_sent_at, mute_failed_at;

static int
on_ask_resp(agent *a, agent_msg *m)
{
	uint64_t tag = agent_msg_tag(m);

	(void)a;
	if (tag < 4)
		resp_err[tag] = agent_msg_error(m);
	if (tag == 3)
		mute_failed_at = (uint64_t)nng_clock();
	n_resp++;
	return 0;
}

static uint64_t deadline_ms;
static bool late_sent;

static unsigned
moving_count(void)
{
	unsigned n;

	pthread_mutex_lock(&got_lock);
	n = n_moving;
	pthread_mutex_unlock(&got_lock);
	return n;
}

/* every 10 ms: the late event once the first ones are in, the end once
 * everything is (or after 20 s) */
static int
on_tick(agent *a, agent_msg *m)
{
	(void)m;
	if (!late_sent && got_count() >= N_QUEUED) {
		uint64_t v = LATE_SEQ;

		/* $AGENTD_PORT stands for the missing :PORT: the same
		 * destination as addr_t (sent after everything else
		 * arrived) */
		assert_int_equal(agent_send_remote(a, "t@127.0.0.1", &msg_seq,
						   &v), 0);
		late_sent = true;
	}
	/* one event a tick to "moving" until they arrive */
	if (moving_count() == 0 &&
	    agent_send_remote(a, addr_moving, &msg_seq, &moving_seq) == 0)
		moving_seq++;
	if ((n_resp == 3 && got_count() >= N_QUEUED + 1 &&
	     moving_count() > 0) ||
	    (uint64_t)nng_clock() > deadline_ms)
		return agent_shutdown(a);
	return 0;
}

static const struct agent_handler client_handlers[] = {
	{ .type = &msg_ask, .on_response = on_ask_resp },
	{ .type = &agent_type_tick, .on_event = on_tick },
	{ 0 },
};

static agent_step
client_begin(agent *a)
{
	static const char *const bad[] = {
		"t@", "t@127.0.0.1:0", "t@127.0.0.1:70000", "t@::1", "@h",
		"t@3@4", "t@h h", "tcp://@1",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 1;
		int r = agent_send_remote(a, bad[i], &msg_seq, &v);
		if (r != -EINVAL)
			fail_msg("%s: %d", bad[i], r);
	}
	/* nothing is answered before begin returns to the loop: the events
	 * wait, in order, up to the bound */
	for (uint64_t i = 1; i <= N_QUEUED + 50; i++) {
		int r = agent_send_remote(a, addr_t, &msg_seq, &i);

		if (r < 0) {
			first_refused = r;
			refused_at = (unsigned)i;
			break;
		}
	}
	/* no network inbox, no such name, no answer at all */
	assert_true(agent_request_remote(a, addr_nourl, &msg_ask, NULL,
					 10 * AGENT_USEC_PER_SEC, 1) > 0);
	{
		uint64_t v = 7;
		assert_int_equal(agent_send_remote(a, addr_nourl, &msg_seq,
						   &v), 0);
	}
	assert_true(agent_request_remote(a, addr_unknown, &msg_ask, NULL,
					 10 * AGENT_USEC_PER_SEC, 2) > 0);
	mute_sent_at = (uint64_t)nng_clock();
	assert_true(agent_request_remote(a, addr_mute, &msg_ask, NULL,
					 10 * AGENT_USEC_PER_SEC, 3) > 0);
	deadline_ms = (uint64_t)nng_clock() + 20000;
	{
		agent_timer *t;
		assert_int_equal(agent_interval_new(a, &t,
						    10 * AGENT_USEC_PER_MSEC, 0),
				 0);
	}
	return agent_events();
}

static const struct agent_def client_def = {
	.name = "client",
	.begin = client_begin,
	.handlers = client_handlers,
};

static int
listen_port(nng_socket s, int *port)
{
	nng_listener l;
	int r = nng_listen(s, "tcp://127.0.0.1:0", &l, 0);

	if (r == 0)
		r = nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, port);
	return r;
}

static void
test_host_destinations(void **state)
{
	struct agent_remote_stats st;
	pthread_t ns_th, inbox_th;
	char port[16];
	agent *a;

	(void)state;
	unsetenv("AGENTD_RUNTIME_DIR");
	unsetenv("AGENTD_TLS_CA_FILE");
	unsetenv("AGENTD_TLS_CERT_KEY_FILE");
	setenv("AGENTD_NAME", "client", 1);

	assert_int_equal(nng_rep0_open(&ns_sock), 0);
	assert_int_equal(nng_pull0_open(&inbox_sock), 0);
	assert_int_equal(nng_socket_set_ms(ns_sock, NNG_OPT_RECVTIMEO, 50), 0);
	assert_int_equal(nng_socket_set_ms(inbox_sock, NNG_OPT_RECVTIMEO, 50),
			 0);
	assert_int_equal(listen_port(ns_sock, &ns_port), 0);
	assert_int_equal(listen_port(inbox_sock, &inbox_port), 0);
	{
		/* a port nobody listens at any more */
		nng_socket dead;
		assert_int_equal(nng_pull0_open(&dead), 0);
		assert_int_equal(listen_port(dead, &dead_port), 0);
		nng_close(dead);
	}
	snprintf(addr_t, sizeof(addr_t), "t@127.0.0.1:%d", ns_port);
	snprintf(addr_nourl, sizeof(addr_nourl), "nourl@127.0.0.1:%d",
		 ns_port);
	snprintf(addr_unknown, sizeof(addr_unknown), "unknown@127.0.0.1:%d",
		 ns_port);
	snprintf(addr_mute, sizeof(addr_mute), "mute@127.0.0.1:%d", ns_port);
	snprintf(addr_moving, sizeof(addr_moving), "moving@127.0.0.1:%d",
		 ns_port);
	snprintf(port, sizeof(port), "%d", ns_port);
	setenv("AGENTD_PORT", port, 1);
	assert_int_equal(pthread_create(&ns_th, NULL, ns_main, NULL), 0);
	assert_int_equal(pthread_create(&inbox_th, NULL, inbox_main, NULL), 0);

	assert_int_equal(agent_new(&a, NULL, &client_def, NULL), 0);
	/* requests need an inbox to be answered at */
	assert_int_equal(agent_listen(a, "tcp://127.0.0.1:0"), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_int_equal(agent_remote_stats(a, &st), 0);

	atomic_store(&stop_threads, 1);
	pthread_join(ns_th, NULL);
	pthread_join(inbox_th, NULL);
	nng_close(ns_sock);
	nng_close(inbox_sock);

	/* the batch's bound while waiting for the answer */
	assert_int_equal(first_refused, -EAGAIN);
	assert_int_equal(refused_at, N_QUEUED + 1);
	/* everything queued arrived, in order, then the late one */
	assert_int_equal(bad_envelopes, 0);
	assert_int_equal(n_got, N_QUEUED + 1);
	for (unsigned i = 0; i < N_QUEUED; i++)
		assert_int_equal(got[i], i + 1);
	assert_int_equal(got[N_QUEUED], LATE_SEQ);
	/* t@127.0.0.1:P and t@127.0.0.1 ($AGENTD_PORT = P) are one
	 * destination: asked once */
	assert_int_equal(atomic_load(&resolves_t), 1);
	assert_int_equal(atomic_load(&resolves_mute), 1);
	/* the failures travelled back as request errors */
	assert_int_equal(n_resp, 3);
	assert_int_equal(resp_err[1], -EHOSTUNREACH);
	assert_int_equal(resp_err[2], -EHOSTUNREACH);
	assert_int_equal(resp_err[3], -EHOSTUNREACH);
	/* the resolution timed out (2 s), not the request (10 s) */
	assert_true(mute_failed_at - mute_sent_at >= 1500);
	assert_true(mute_failed_at - mute_sent_at < 9000);
	/* "moving": asked again after HOST_RECHECK without a connection;
	 * what went to the dead inbox is lost, the rest arrives in order */
	assert_true(atomic_load(&resolves_moving) >= 2);
	assert_true(n_moving > 0);
	for (unsigned i = 1; i < n_moving; i++)
		assert_true(moving_got[i] > moving_got[i - 1]);
	assert_true(moving_got[0] > MOVING_SEQ);
	/* dropped: the refused send, the nourl event and request, the
	 * unknown and mute requests, and what the dead inbox's peer held
	 * when it was closed */
	assert_true(st.dropped >= 5);
	agent_unref(a);
	unsetenv("AGENTD_PORT");
	unsetenv("AGENTD_NAME");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_destinations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
