/* SPDX-License-Identifier: MIT */
/*
 * test-agent-remote.c - messages between agents of different loops over
 * their nng inboxes (the path two agent processes use under agentd):
 * events, requests with a msgpack body and their responses in FIFO order,
 * an error travelling back, an unknown kind, an unreachable name, an
 * interruption from another thread, and sends to a pool's instances. Two
 * loops on two threads stand in for two processes; each gets its own
 * AGENTD_NAME when its inbox is set up.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <msgpack.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

#include <agent/agent.h>

#include "test-u64.h"

static char trace[2048];
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;

static void tr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
tr(const char *fmt, ...)
{
	size_t n;
	va_list ap;

	pthread_mutex_lock(&trace_lock);
	n = strlen(trace);
	if (n && n < sizeof(trace) - 1)
		trace[n++] = ' ';
	va_start(ap, fmt);
	vsnprintf(trace + n, sizeof(trace) - n, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&trace_lock);
}

static uint64_t *
num(uint64_t v)
{
	uint64_t *p = malloc(sizeof(*p));
	*p = v;
	return p;
}

static const struct agent_msg_type msg_hello = {
	.name = "hello",
	.free = free,
	.encode = u64_encode,
	.decode = u64_decode,
};

static const struct agent_msg_type msg_double = {
	.name = "double",
	.free = free,
	.encode = u64_encode,
	.decode = u64_decode,
	.reply_free = free,
	.reply_encode = u64_encode,
	.reply_decode = u64_decode,
};

static const struct agent_msg_type msg_unknown = { .name = "nosuchkind" };

/* ---- beta: the server, on its own thread ------------------------------------ */

static int
beta_on_hello(agent *a, agent_msg *m)
{
	uint64_t *v = agent_msg_payload(m);

	tr("beta:hello:%llu:from:%s", (unsigned long long)*v,
	   agent_msg_sender_name(m));
	return 0;
}

static int
beta_on_double(agent *a, agent_msg *m)
{
	uint64_t *v = agent_msg_payload(m);

	if (*v == 13)
		return -EACCES;
	return agent_reply(a, m, num(*v * 2));
}

/* "hang": kept and answered only when beta ends (too late) */
static const struct agent_msg_type msg_hang = { .name = "hang" };
static agent_msg *held;

static int
beta_on_hang(agent *a, agent_msg *m)
{
	held = agent_msg_ref(m);
	return AGENT_REPLY_LATER;
}

static void
beta_finalize(agent *a, enum agent_exit_reason reason)
{
	if (held) {
		(void)agent_reply_error(a, held, -ECANCELED);
		held = agent_msg_unref(held);
	}
}

static const struct agent_handler beta_handlers[] = {
	{ .type = &msg_hello, .on_event = beta_on_hello },
	{ .type = &msg_double, .on_request = beta_on_double },
	{ .type = &msg_hang, .on_request = beta_on_hang },
	{ 0 },
};

static const struct agent_def beta_def = {
	.name = "beta",
	.handlers = beta_handlers,
	.finalize = beta_finalize,
};

struct beta_thread {
	agent *a;
	int reason;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ready;
};

static void *
beta_main(void *arg)
{
	struct beta_thread *bt = arg;

	pthread_mutex_lock(&bt->lock);
	bt->ready = true;
	pthread_cond_signal(&bt->cond);
	pthread_mutex_unlock(&bt->lock);
	bt->reason = agent_run(bt->a);
	return NULL;
}

/* ---- alpha: the client -------------------------------------------------------- */

static int
alpha_on_resp(agent *a, agent_msg *m)
{
	uint64_t *v = agent_msg_payload(m);

	if (agent_msg_error(m))
		tr("alpha:r%llu:err%d", (unsigned long long)agent_msg_tag(m),
		   agent_msg_error(m));
	else
		tr("alpha:r%llu:%llu", (unsigned long long)agent_msg_tag(m),
		   (unsigned long long)*v);
	return 0;
}

static int
alpha_on_unknown_resp(agent *a, agent_msg *m)
{
	tr("alpha:unknown:err%d", agent_msg_error(m));
	return 0;
}

static int
alpha_on_hang_resp(agent *a, agent_msg *m)
{
	tr("alpha:hang:err%d", agent_msg_error(m));
	return agent_shutdown(a);
}

static const struct agent_handler alpha_handlers[] = {
	{ .type = &msg_double, .on_response = alpha_on_resp },
	{ .type = &msg_unknown, .on_response = alpha_on_unknown_resp },
	{ .type = &msg_hang, .on_response = alpha_on_hang_resp },
	{ 0 },
};

static agent_step
alpha_begin(agent *a)
{
	assert_int_equal(agent_send_remote(a, "beta", &msg_hello, num(7)), 0);
	assert_true(agent_request_remote(a, "beta", &msg_double, num(21), 0,
					 1) > 0);
	assert_true(agent_request_remote(a, "beta", &msg_double, num(13), 0,
					 2) > 0);
	assert_true(agent_request_remote(a, "beta", &msg_double, num(50), 0,
					 3) > 0);
	assert_true(agent_request_remote(a, "beta", &msg_unknown, NULL, 0, 4) >
		    0);
	/* never answered in time: the caller's timeout ends it */
	assert_true(agent_request_remote(a, "beta", &msg_hang, NULL,
					 30 * 1000ULL, 5) > 0);
	/* nobody listens there */
	assert_int_equal(agent_send_remote(a, "gamma", &msg_hello, num(1)),
			 -ECONNREFUSED);
	assert_int_equal(agent_send_remote(a, "../etc", &msg_hello, num(1)),
			 -EINVAL);
	return agent_events();
}

static const struct agent_def alpha_def = {
	.name = "alpha",
	.begin = alpha_begin,
	.handlers = alpha_handlers,
};

static void
test_remote_events_requests(void **state)
{
	char dir[] = "/tmp/la.XXXXXX";
	char url[256];
	struct beta_thread bt = { .lock = PTHREAD_MUTEX_INITIALIZER,
				  .cond = PTHREAD_COND_INITIALIZER };
	pthread_t th;
	agent *alpha;

	assert_non_null(mkdtemp(dir));
	setenv("AGENTD_RUNTIME_DIR", dir, 1);

	setenv("AGENTD_NAME", "beta", 1);
	assert_int_equal(agent_new(&bt.a, NULL, &beta_def, NULL), 0);
	snprintf(url, sizeof(url), "ipc://%s/inbox/beta.sock", dir);
	assert_int_equal(agent_listen(bt.a, url), 0);
	assert_int_equal(agent_start(bt.a), 0);

	setenv("AGENTD_NAME", "alpha", 1);
	assert_int_equal(agent_new(&alpha, NULL, &alpha_def, NULL), 0);
	snprintf(url, sizeof(url), "ipc://%s/inbox/alpha.sock", dir);
	assert_int_equal(agent_listen(alpha, url), 0);

	/* junk on beta's inbox is dropped and counted; beta goes on */
	{
		nng_socket junk;
		nng_msg *msg;

		snprintf(url, sizeof(url), "ipc://%s/inbox/beta.sock", dir);
		assert_int_equal(nng_push0_open(&junk), 0);
		assert_int_equal(nng_dial(junk, url, NULL, 0), 0);
		assert_int_equal(nng_msg_alloc(&msg, 0), 0);
		assert_int_equal(nng_msg_append(msg, "\x96\x01\xcc\xff", 4), 0);
		assert_int_equal(nng_sendmsg(junk, msg, 0), 0);
		nng_close(junk);
	}
	assert_int_equal(pthread_create(&th, NULL, beta_main, &bt), 0);
	pthread_mutex_lock(&bt.lock);
	while (!bt.ready)
		pthread_cond_wait(&bt.cond, &bt.lock);
	pthread_mutex_unlock(&bt.lock);

	assert_int_equal(agent_run(alpha), AGENT_EXIT_DONE);
	/* stop beta from this thread: goes through its loop's queue */
	assert_int_equal(agent_interrupt(bt.a, AGENT_LEVEL_FLAG), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(bt.reason, AGENT_EXIT_INTERRUPTED);

	/* one sender, one receiver: FIFO; the error travelled back */
	assert_string_equal(trace, "beta:hello:7:from:alpha alpha:r1:42 "
				   "alpha:r2:err-13 alpha:r3:100 "
				   "alpha:unknown:err-95 alpha:hang:err-110");
	agent_unref(alpha);
	agent_unref(bt.a);
	snprintf(url, sizeof(url), "%s/inbox", dir);
	(void)rmdir(url);
	(void)rmdir(dir);
	unsetenv("AGENTD_NAME");
	unsetenv("AGENTD_RUNTIME_DIR");
}

/* ---- agent_send_remote_wait: a sync fn's blocking sends --------------------- */

#define WAIT_N	20000

static const struct agent_msg_type msg_tick = {
	.name = "tick",
	.free = free,
	.encode = u64_encode,
	.decode = u64_decode,
};

static uint64_t sink_got, sink_bad_order;
static int sink_loop_r;

static int
sink_on_tick(agent *a, agent_msg *m)
{
	uint64_t *v = agent_msg_payload(m);

	if (*v != __atomic_load_n(&sink_got, __ATOMIC_RELAXED))
		sink_bad_order++;
	__atomic_store_n(&sink_got, sink_got + 1, __ATOMIC_RELEASE);
	return 0;
}

static agent_step
sink_begin(agent *a)
{
	/* on the loop thread it would wait for itself */
	sink_loop_r = agent_send_remote_wait(a, "sink", &msg_tick, num(0),
					     AGENT_USEC_INFINITY);
	return agent_events();
}

static const struct agent_handler sink_handlers[] = {
	{ .type = &msg_tick, .on_event = sink_on_tick },
	{ 0 },
};

static const struct agent_def sink_def = {
	.name = "sink",
	.begin = sink_begin,
	.handlers = sink_handlers,
	.mailbox_capacity = 16, /* a small mailbox: the sender meets -EAGAIN */
};

static int wait_fails, wait_refused, wait_inval, wait_timedout;
static char stuck_name[64];

static int
sender_fn(agent *a, void *arg)
{
	for (uint64_t i = 0; i < WAIT_N; i++)
		if (agent_send_remote_wait(a, "sink", &msg_tick, num(i),
					   30 * AGENT_USEC_PER_SEC) != 0)
			wait_fails++;
	wait_refused = agent_send_remote_wait(a, "nobody", &msg_tick, num(1),
					      AGENT_USEC_PER_SEC);
	wait_inval = agent_send_remote_wait(a, "../etc", &msg_tick, num(1),
					    AGENT_USEC_PER_SEC);
	/* an inbox nobody reads: sends are accepted until every buffer on
	 * the way is full, then one waits out its deadline */
	for (unsigned i = 0; i < 2000000; i++) {
		int r = agent_send_remote_wait(a, stuck_name, &msg_tick,
					       num(i),
					       20 * AGENT_USEC_PER_MSEC);
		if (r != 0) {
			wait_timedout = r;
			break;
		}
	}
	return 0;
}

static void
test_remote_send_wait(void **state)
{
	char dir[] = "/tmp/la.XXXXXX";
	char url[256];
	struct beta_thread st = { .lock = PTHREAD_MUTEX_INITIALIZER,
				  .cond = PTHREAD_COND_INITIALIZER };
	nng_socket stuck;
	pthread_t th;
	agent *snd;
	uint64_t deadline;

	assert_non_null(mkdtemp(dir));
	setenv("AGENTD_RUNTIME_DIR", dir, 1);
	setenv("AGENTD_NAME", "sink", 1);
	assert_int_equal(agent_new(&st.a, NULL, &sink_def, NULL), 0);
	snprintf(url, sizeof(url), "ipc://%s/inbox/sink.sock", dir);
	assert_int_equal(agent_listen(st.a, url), 0);
	assert_int_equal(agent_start(st.a), 0);
	assert_int_equal(pthread_create(&th, NULL, beta_main, &st), 0);

	/* a raw pull0 inbox that never receives */
	snprintf(stuck_name, sizeof(stuck_name), "stuck");
	snprintf(url, sizeof(url), "ipc://%s/inbox/stuck.sock", dir);
	assert_int_equal(nng_pull0_open(&stuck), 0);
	assert_int_equal(nng_listen(stuck, url, NULL, 0), 0);

	setenv("AGENTD_NAME", "sender", 1);
	assert_int_equal(agent_new_sync_fn(&snd, NULL, sender_fn, NULL, NULL),
			 0);
	assert_int_equal(agent_run(snd), AGENT_EXIT_DONE);
	assert_int_equal(wait_fails, 0);
	assert_int_equal(wait_refused, -ECONNREFUSED);
	assert_int_equal(wait_inval, -EINVAL);
	assert_int_equal(wait_timedout, -ETIMEDOUT);
	agent_unref(snd);
	nng_close(stuck);

	/* every accepted event arrives, in order (bounded wait) */
	deadline = (uint64_t)time(NULL) + 60;
	while (__atomic_load_n(&sink_got, __ATOMIC_ACQUIRE) < WAIT_N &&
	       (uint64_t)time(NULL) < deadline)
		usleep(10000);
	assert_int_equal(agent_interrupt(st.a, AGENT_LEVEL_FLAG), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(sink_got, WAIT_N);
	assert_int_equal(sink_bad_order, 0);
	assert_int_equal(sink_loop_r, -EDEADLK);
	agent_unref(st.a);
	snprintf(url, sizeof(url), "%s/inbox/stuck.sock", dir);
	(void)unlink(url);
	snprintf(url, sizeof(url), "%s/inbox", dir);
	(void)rmdir(url);
	(void)rmdir(dir);
	unsetenv("AGENTD_NAME");
	unsetenv("AGENTD_RUNTIME_DIR");
}

/*
 * The peer cache is bounded: 1,200 destinations (one event each, flushed
 * every time) leave at most 1,024 push0 sockets open, counted from nng's
 * statistics; every send is accepted (an idle peer is closed to make
 * room). The destinations are 1,200 loopback addresses on one port the
 * test holds bound (not listening) for its whole run: nobody can listen
 * there, and no other port of this machine is touched.
 */
#define SPRAY_N		1200
static int spray_fails;
static unsigned spray_i;
static unsigned spray_port;
static const struct agent_msg_type spray_type = { .name = "spray" };

static agent_step
spray_repeat(agent *a, void *data)
{
	char url[64];

	(void)data;
	if (spray_i == SPRAY_N)
		return agent_done();
	snprintf(url, sizeof(url), "tcp://127.0.%u.%u:%u", 1 + spray_i / 250,
		 1 + spray_i % 250, spray_port);
	spray_i++;
	if (agent_send_remote(a, url, &spray_type, NULL) < 0)
		spray_fails++;
	(void)agent_remote_flush(a);
	return agent_again();
}

static const struct agent_state spray_state = {
	.name = "spray", .repeat = spray_repeat,
};

static agent_step
spray_begin(agent *a)
{
	(void)a;
	return agent_async(&spray_state, NULL);
}

static const struct agent_def spray_def = {
	.name = "spray", .begin = spray_begin,
};

/* push0 sockets nng knows of */
static unsigned
push_sockets(void)
{
	nng_stat *all, *st;
	unsigned n = 0;

	assert_int_equal(nng_stats_get(&all), 0);
	for (st = nng_stat_child(all); st; st = nng_stat_next(st)) {
		nng_stat *proto = nng_stat_find(st, "protocol");
		if (proto && nng_stat_type(proto) == NNG_STAT_STRING &&
		    strcmp(nng_stat_string(proto), "push") == 0)
			n++;
	}
	nng_stats_free(all);
	return n;
}

static void
test_peer_cache_bounded(void **state)
{
	agent *a;
	unsigned n;
	int hold;

	(void)state;
	{
		struct sockaddr_in sa = { .sin_family = AF_INET };
		socklen_t sl = sizeof(sa);

		hold = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(hold >= 0);
		assert_int_equal(bind(hold, (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(getsockname(hold, (struct sockaddr *)&sa, &sl), 0);
		spray_port = ntohs(sa.sin_port);
	}
	assert_int_equal(agent_new(&a, NULL, &spray_def, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_int_equal(spray_fails, 0);
	n = push_sockets();
	printf("# push sockets after %u destinations: %u\n", SPRAY_N, n);
	assert_true(n > 0);
	assert_true(n <= 1024);
	agent_unref(a);
	close(hold);
}

/* ---- pools: NAME with no inbox of its own, instances NAME@N -------------- */

/*
 * "work" has two instances (work@1, work@2: raw pull0 inboxes): sends to
 * "work" alternate between them. Then the unit gets an inbox of its own
 * (work.sock): what tells a pool from an agent is cached with the pool's
 * member list, so the sends reach work.sock, not at once but within the
 * pool's refresh (bounded here by a 10 s deadline).
 */
#define POOL_SENDS	10

static char pool_url[3][256]; /* work@1, work@2, work */
static nng_socket pool_pull[3];
static unsigned pool_stage, pool_fails;
static bool pool_got[3];
static struct timespec pool_deadline;

static bool
pool_recv(int i, nng_duration wait)
{
	nng_msg *m;

	assert_int_equal(nng_socket_set_ms(pool_pull[i], NNG_OPT_RECVTIMEO,
					   wait), 0);
	if (nng_recvmsg(pool_pull[i], &m, 0) != 0)
		return false;
	nng_msg_free(m);
	return true;
}

static bool
pool_past_deadline(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > pool_deadline.tv_sec;
}

static agent_step
pool_wake(agent *a, void *data, agent_msg *m)
{
	(void)a;
	(void)data;
	(void)m;
	return agent_again();
}

static agent_step
pool_repeat(agent *a, void *data)
{
	int r;

	(void)data;
	switch (pool_stage++) {
	case 0:
		for (uint64_t i = 0; i < POOL_SENDS; i++)
			if (agent_send_remote(a, "work", &msg_hello, num(i)) != 0)
				pool_fails++;
		break; /* they leave when the loop polls */
	case 1:
		pool_got[0] = pool_recv(0, 5000);
		pool_got[1] = pool_recv(1, 5000);
		assert_int_equal(nng_listen(pool_pull[2], pool_url[2], NULL, 0),
				 0);
		clock_gettime(CLOCK_MONOTONIC, &pool_deadline);
		pool_deadline.tv_sec += 10;
		break;
	default:
		if (pool_recv(2, 0)) {
			pool_got[2] = true;
			return agent_done();
		}
		if (pool_past_deadline())
			return agent_done();
		if (agent_send_remote(a, "work", &msg_hello, num(99)) != 0)
			pool_fails++;
		break;
	}
	r = agent_await_sleep(a, 10 * AGENT_USEC_PER_MSEC, pool_wake);
	return r < 0 ? agent_fail(r) : agent_wait();
}

static const struct agent_state pool_state = {
	.name = "pool", .repeat = pool_repeat,
};

static agent_step
pool_begin(agent *a)
{
	(void)a;
	return agent_async(&pool_state, NULL);
}

static const struct agent_def pool_def = {
	.name = "pooler", .begin = pool_begin,
};

static void
test_pool_sends(void **state)
{
	char dir[] = "/tmp/la.XXXXXX";
	char path[256];
	agent *a;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/inbox", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	setenv("AGENTD_RUNTIME_DIR", dir, 1);
	snprintf(pool_url[0], sizeof(pool_url[0]), "ipc://%s/inbox/work@1.sock",
		 dir);
	snprintf(pool_url[1], sizeof(pool_url[1]), "ipc://%s/inbox/work@2.sock",
		 dir);
	snprintf(pool_url[2], sizeof(pool_url[2]), "ipc://%s/inbox/work.sock",
		 dir);
	for (int i = 0; i < 3; i++)
		assert_int_equal(nng_pull0_open(&pool_pull[i]), 0);
	assert_int_equal(nng_listen(pool_pull[0], pool_url[0], NULL, 0), 0);
	assert_int_equal(nng_listen(pool_pull[1], pool_url[1], NULL, 0), 0);

	assert_int_equal(agent_new(&a, NULL, &pool_def, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	agent_unref(a);
	assert_int_equal(pool_fails, 0);
	assert_true(pool_got[0]); /* round robin: both instances */
	assert_true(pool_got[1]);
	assert_true(pool_got[2]); /* the unit's own inbox, once it is there */

	for (int i = 0; i < 3; i++) {
		nng_close(pool_pull[i]);
		(void)unlink(pool_url[i] + 6);
	}
	(void)rmdir(path);
	(void)rmdir(dir);
	unsetenv("AGENTD_RUNTIME_DIR");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remote_events_requests),
		cmocka_unit_test(test_remote_send_wait),
		cmocka_unit_test(test_peer_cache_bounded),
		cmocka_unit_test(test_pool_sends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
