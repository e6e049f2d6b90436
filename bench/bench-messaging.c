/* SPDX-License-Identifier: MIT */
/*
 * bench-messaging - issue 5's performance figures: messages between two
 * agent processes through libagent, beside raw nng and a raw AF_UNIX
 * socketpair measured in the same run, with the same payload.
 *
 *  - request round trip: an actor in the peer process answers a request;
 *    the caller awaits the response (agent_await_request_remote) and sends
 *    the next request only after it; p50/p99/mean over R round trips after
 *    a warm-up. Baselines: nng pair0 echo (nng_send + nng_recv) and a
 *    SOCK_SEQPACKET socketpair echo. Target: libagent/nng <= 1.15.
 *  - one-way events: the peer sends N events with sequence numbers as fast
 *    as backpressure allows (agent_send_remote; on -EAGAIN it waits and
 *    retries); the receiving actor counts them and checks their order; the
 *    clock runs from "go" until the receiver has all N. Baselines: nng
 *    push0/pull0 with one message per event, and the socketpair.
 *    Target: libagent/nng >= 10 (batching).
 *
 * Two processes: every peer is this program re-executed (posix_spawn of
 * /proc/self/exe, never fork without exec: nng is not fork-safe) in a
 * "--peer" mode, with a pipe on its stdin ("go", and EOF = quit) and one on
 * its stdout ("ready"). Each configuration runs in its own measuring
 * process (--run CPU) so that every thread (nng's, libagent's) and every
 * peer inherits its CPU affinity: pinned = both processes on CPU 0
 * (sched_setaffinity, as taskset -c 0), unpinned = the scheduler's choice.
 * ipc sockets live in a short mkdtemp directory (AGENTD_RUNTIME_DIR).
 *
 * A benchmark, not a test: it asserts nothing but exits 1 if a transfer
 * failed (a lost, duplicated or reordered event, an error response).
 *
 * Usage: bench-messaging [-r ROUNDTRIPS] [-w WARMUP] [-e EVENTS]
 *                        [-s PAYLOAD_BYTES] [-m pinned|unpinned|both]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pair0/pair.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

#include <agent/agent.h>

extern char **environ;

#define PAYLOAD_MAX	4096u
#define RECV_MAX	(1024 * 1024)
#define REQ_TIMEOUT	(5 * AGENT_USEC_PER_SEC)
#define SINK_DEADLINE	(120 * AGENT_USEC_PER_SEC)
#define PUMP_BURST	64u
#define TAG_DEADLINE	1
#define TAG_STDIN	2
#define TARGET_RT	1.15
#define TARGET_RATE	10.0

static unsigned opt_rt = 20000;
static unsigned opt_warm = 2000;
static unsigned opt_events = 200000;
static unsigned opt_size = 64;

static uint64_t
now_nsec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench-messaging[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* the sequence number lives in the first 8 bytes of every payload */
static void
fill(unsigned char *buf, size_t len, uint64_t seq)
{
	memset(buf, 0xa5, len);
	memcpy(buf, &seq, sizeof(seq));
}

static uint64_t
seq_of(const unsigned char *buf)
{
	uint64_t seq;

	memcpy(&seq, buf, sizeof(seq));
	return seq;
}

/* ---- the payload type: 'len' opaque bytes as one msgpack bin --------------- */

struct blob {
	size_t len;
	unsigned char buf[];
};

static struct blob *
blob_new(size_t len, uint64_t seq)
{
	struct blob *b = malloc(sizeof(*b) + len);

	if (!b)
		die("out of memory");
	b->len = len;
	fill(b->buf, len, seq);
	return b;
}

static void
blob_free(void *p)
{
	free(p);
}

static int
blob_encode(const void *p, void **ret_buf, size_t *ret_len)
{
	const struct blob *b = p;
	unsigned char *out = malloc(3 + b->len);

	if (!out)
		return -ENOMEM;
	out[0] = 0xc5; /* bin 16 */
	out[1] = (unsigned char)(b->len >> 8);
	out[2] = (unsigned char)b->len;
	memcpy(out + 3, b->buf, b->len);
	*ret_buf = out;
	*ret_len = 3 + b->len;
	return 0;
}

static int
blob_decode(const void *buf, size_t len, void **ret)
{
	const unsigned char *in = buf;
	struct blob *b;
	size_t n;

	if (len < 3 || in[0] != 0xc5)
		return -EBADMSG;
	n = (size_t)in[1] << 8 | in[2];
	if (n != len - 3 || n < sizeof(uint64_t))
		return -EBADMSG;
	b = malloc(sizeof(*b) + n);
	if (!b)
		return -ENOMEM;
	b->len = n;
	memcpy(b->buf, in + 3, n);
	*ret = b;
	return 0;
}

static const struct agent_msg_type ping_type = {
	.name = "bench.ping",
	.free = blob_free, .encode = blob_encode, .decode = blob_decode,
	.reply_free = blob_free, .reply_encode = blob_encode,
	.reply_decode = blob_decode,
};

static const struct agent_msg_type event_type = {
	.name = "bench.event",
	.free = blob_free, .encode = blob_encode, .decode = blob_decode,
};

/* ---- spawning a peer ------------------------------------------------------- */

struct peer {
	pid_t pid;
	int to;   /* its stdin: "g" = go, EOF = quit */
	int from; /* its stdout: "R" = ready */
};

static void
peer_spawn(struct peer *p, int fd3, const char *mode, const char *arg1,
	   const char *arg2)
{
	char name[] = "bench-messaging", peer[] = "--peer";
	char m[32], a1[256], a2[256];
	char *argv[] = { name, peer, m, arg1 ? a1 : NULL, arg2 ? a2 : NULL,
			 NULL };
	posix_spawn_file_actions_t fa;
	int in[2], out[2], r;

	snprintf(m, sizeof(m), "%s", mode);
	snprintf(a1, sizeof(a1), "%s", arg1 ? arg1 : "");
	snprintf(a2, sizeof(a2), "%s", arg2 ? arg2 : "");

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		die("pipe: %m");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	if (fd3 >= 0)
		posix_spawn_file_actions_adddup2(&fa, fd3, 3);
	r = posix_spawn(&p->pid, "/proc/self/exe", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		die("posix_spawn: %s", strerror(r));
	close(in[0]);
	close(out[1]);
	p->to = in[1];
	p->from = out[0];
}

static void
peer_wait_ready(struct peer *p)
{
	struct pollfd pfd = { .fd = p->from, .events = POLLIN };
	char c;

	if (poll(&pfd, 1, 10000) != 1 || read(p->from, &c, 1) != 1 || c != 'R')
		die("peer %d did not become ready", (int)p->pid);
}

static void
peer_go(struct peer *p)
{
	if (write(p->to, "g", 1) != 1)
		die("write go: %m");
}

static void
peer_finish(struct peer *p)
{
	int status;

	close(p->to);
	close(p->from);
	for (int i = 0; i < 1000; i++) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);
		if (r == p->pid) {
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				die("peer %d ended badly (status 0x%x)",
				    (int)p->pid, status);
			return;
		}
		usleep(10000);
	}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &status, 0);
	die("peer %d did not quit within 10 s", (int)p->pid);
}

static void
peer_ready(void)
{
	if (write(1, "R", 1) != 1)
		die("write ready: %m");
}

static void
peer_await_go(void)
{
	char c;

	if (read(0, &c, 1) != 1 || c != 'g')
		die("no go");
}

static void
peer_await_eof(void)
{
	char c;

	while (read(0, &c, 1) > 0)
		;
}

/* ---- statistics ------------------------------------------------------------- */

struct lat {
	double p50, p99, mean; /* microseconds */
};

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static struct lat
lat_of(uint64_t *ns, size_t n)
{
	struct lat l;
	double sum = 0;

	qsort(ns, n, sizeof(*ns), cmp_u64);
	for (size_t i = 0; i < n; i++)
		sum += (double)ns[i];
	l.p50 = (double)ns[n / 2] / 1e3;
	l.p99 = (double)ns[(n * 99) / 100] / 1e3;
	l.mean = sum / (double)n / 1e3;
	return l;
}

/* ---- AF_UNIX socketpair ------------------------------------------------------- */

static void
peer_unix_echo(void)
{
	unsigned char buf[PAYLOAD_MAX];
	ssize_t n;

	peer_ready();
	while ((n = read(3, buf, sizeof(buf))) > 0)
		if (write(3, buf, (size_t)n) != n)
			die("unix echo write: %m");
	if (n < 0)
		die("unix echo read: %m");
}

static void
peer_unix_send(unsigned n)
{
	unsigned char buf[PAYLOAD_MAX];

	peer_ready();
	peer_await_go();
	for (unsigned i = 1; i <= n; i++) {
		fill(buf, opt_size, i);
		if (write(3, buf, opt_size) != (ssize_t)opt_size)
			die("unix send: %m");
	}
	peer_await_eof();
}

static struct lat
bench_unix_rt(void)
{
	unsigned char buf[PAYLOAD_MAX], rbuf[PAYLOAD_MAX];
	uint64_t *ns = calloc(opt_rt, sizeof(*ns));
	struct peer p;
	struct lat l;
	int sv[2];

	if (!ns || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair: %m");
	peer_spawn(&p, sv[1], "unix-echo", NULL, NULL);
	close(sv[1]);
	peer_wait_ready(&p);
	for (unsigned i = 0; i < opt_warm + opt_rt; i++) {
		uint64_t t0;
		fill(buf, opt_size, i);
		t0 = now_nsec();
		if (write(sv[0], buf, opt_size) != (ssize_t)opt_size ||
		    read(sv[0], rbuf, sizeof(rbuf)) != (ssize_t)opt_size)
			die("unix round trip: %m");
		if (i >= opt_warm)
			ns[i - opt_warm] = now_nsec() - t0;
		if (seq_of(rbuf) != i)
			die("unix round trip: wrong answer");
	}
	close(sv[0]);
	peer_finish(&p);
	l = lat_of(ns, opt_rt);
	free(ns);
	return l;
}

static double
bench_unix_rate(void)
{
	unsigned char buf[PAYLOAD_MAX];
	uint64_t t0, t1;
	struct peer p;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair: %m");
	snprintf((char *)buf, sizeof(buf), "%u", opt_events);
	peer_spawn(&p, sv[1], "unix-send", (char *)buf, NULL);
	close(sv[1]);
	peer_wait_ready(&p);
	t0 = now_nsec();
	peer_go(&p);
	for (unsigned i = 1; i <= opt_events; i++) {
		if (read(sv[0], buf, sizeof(buf)) != (ssize_t)opt_size)
			die("unix receive: %m");
		if (seq_of(buf) != i)
			die("unix receive: event %u out of order", i);
	}
	t1 = now_nsec();
	close(sv[0]);
	peer_finish(&p);
	return (double)opt_events * 1e9 / (double)(t1 - t0);
}

/* ---- raw nng ------------------------------------------------------------------ */

static void
nng_check(int r, const char *what)
{
	if (r != 0)
		die("%s: %s", what, nng_strerror(r));
}

static void
peer_nng_echo(const char *url)
{
	unsigned char buf[PAYLOAD_MAX];
	nng_socket s;

	nng_check(nng_pair0_open(&s), "pair0");
	nng_check(nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, RECV_MAX), "opt");
	nng_check(nng_dial(s, url, NULL, 0), "dial");
	peer_ready();
	for (;;) {
		size_t sz = sizeof(buf);
		nng_check(nng_recv(s, buf, &sz, 0), "echo recv");
		if (sz == 0)
			break; /* quit */
		nng_check(nng_send(s, buf, sz, 0), "echo send");
	}
	nng_close(s);
}

static void
peer_nng_send(const char *url, unsigned n)
{
	unsigned char buf[PAYLOAD_MAX];
	nng_socket s;

	nng_check(nng_push0_open(&s), "push0");
	nng_check(nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, RECV_MAX), "opt");
	nng_check(nng_dial(s, url, NULL, 0), "dial");
	peer_ready();
	peer_await_go();
	for (unsigned i = 1; i <= n; i++) {
		fill(buf, opt_size, i);
		nng_check(nng_send(s, buf, opt_size, 0), "push send");
	}
	peer_await_eof(); /* the receiver has everything: closing is safe */
	nng_close(s);
}

static struct lat
bench_nng_rt(const char *dir)
{
	unsigned char buf[PAYLOAD_MAX], rbuf[PAYLOAD_MAX];
	uint64_t *ns = calloc(opt_rt, sizeof(*ns));
	char url[256];
	nng_socket s;
	struct peer p;
	struct lat l;

	if (!ns)
		die("out of memory");
	snprintf(url, sizeof(url), "ipc://%s/raw-rt.sock", dir);
	nng_check(nng_pair0_open(&s), "pair0");
	nng_check(nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, RECV_MAX), "opt");
	nng_check(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 10000), "opt");
	nng_check(nng_listen(s, url, NULL, 0), "listen");
	peer_spawn(&p, -1, "nng-echo", url, NULL);
	peer_wait_ready(&p);
	for (unsigned i = 0; i < opt_warm + opt_rt; i++) {
		size_t sz = sizeof(rbuf);
		uint64_t t0;
		fill(buf, opt_size, i);
		t0 = now_nsec();
		nng_check(nng_send(s, buf, opt_size, 0), "send");
		nng_check(nng_recv(s, rbuf, &sz, 0), "recv");
		if (i >= opt_warm)
			ns[i - opt_warm] = now_nsec() - t0;
		if (sz != opt_size || seq_of(rbuf) != i)
			die("nng round trip: wrong answer");
	}
	nng_check(nng_send(s, buf, 0, 0), "send quit");
	peer_finish(&p);
	nng_close(s);
	l = lat_of(ns, opt_rt);
	free(ns);
	return l;
}

static double
bench_nng_rate(const char *dir)
{
	unsigned char buf[PAYLOAD_MAX];
	char url[256], num[32];
	uint64_t t0, t1;
	nng_socket s;
	struct peer p;

	snprintf(url, sizeof(url), "ipc://%s/raw-push.sock", dir);
	snprintf(num, sizeof(num), "%u", opt_events);
	nng_check(nng_pull0_open(&s), "pull0");
	nng_check(nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, RECV_MAX), "opt");
	nng_check(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 10000), "opt");
	nng_check(nng_listen(s, url, NULL, 0), "listen");
	peer_spawn(&p, -1, "nng-send", url, num);
	peer_wait_ready(&p);
	t0 = now_nsec();
	peer_go(&p);
	for (unsigned i = 1; i <= opt_events; i++) {
		size_t sz = sizeof(buf);
		nng_check(nng_recv(s, buf, &sz, 0), "pull recv");
		if (sz != opt_size || seq_of(buf) != i)
			die("nng receive: event %u out of order", i);
	}
	t1 = now_nsec();
	peer_finish(&p);
	nng_close(s);
	return (double)opt_events * 1e9 / (double)(t1 - t0);
}

/* ---- libagent: the peer's agents ------------------------------------------------ */

/* echo: answers every bench.ping request with its own payload; ends at
 * EOF on stdin */
static int
echo_on_request(agent *a, agent_msg *m)
{
	return agent_reply(a, m, agent_msg_take_payload(m));
}

static int
on_stdin_end(agent *a, agent_msg *m)
{
	(void)m;
	return agent_shutdown(a);
}

static int
on_ignore(agent *a, agent_msg *m)
{
	(void)a;
	(void)m;
	return 0;
}

static agent_step
echo_begin(agent *a)
{
	agent_source *src;
	int r = agent_source_fd(a, &src, 0, 0, TAG_STDIN);

	return r < 0 ? agent_fail(r) : agent_events();
}

static const struct agent_handler echo_handlers[] = {
	{ .type = &ping_type, .on_request = echo_on_request },
	{ .type = &agent_type_data, .on_event = on_ignore },
	{ .type = &agent_type_source_end, .on_event = on_stdin_end },
	{ .type = NULL },
};

static const struct agent_def echo_def = {
	.name = "echo",
	.begin = echo_begin,
	.handlers = echo_handlers,
};

/* sender: on "go", sends n events to "sink" as fast as backpressure
 * allows, then waits for EOF on stdin (its queue may still hold events) */
struct sender {
	unsigned n, seq;
	uint64_t eagain;
	uint64_t backoff_usec;
};

static agent_step
resume_cb(agent *a, void *data, agent_msg *m)
{
	(void)a;
	(void)data;
	(void)m;
	return agent_again();
}

static agent_step
eof_cb(agent *a, void *data, agent_msg *m)
{
	char buf[64];
	ssize_t n = read(0, buf, sizeof(buf));

	(void)data;
	(void)m;
	if (n > 0) {
		int r = agent_await_fd(a, 0, EPOLLIN, eof_cb);
		return r < 0 ? agent_fail(r) : agent_wait();
	}
	return agent_done();
}

static agent_step
linger_once(agent *a, void *data)
{
	int r = agent_await_fd(a, 0, EPOLLIN, eof_cb);

	(void)data;
	return r < 0 ? agent_fail(r) : agent_wait();
}

static const struct agent_state linger_state = {
	.name = "linger", .once = linger_once,
};

static agent_step
pump_repeat(agent *a, void *data)
{
	struct sender *s = data;

	for (unsigned k = 0; k < PUMP_BURST && s->seq < s->n; k++) {
		struct blob *b = blob_new(opt_size, s->seq + 1ull);
		int r = agent_send_remote(a, "sink", &event_type, b);
		if (r == -EAGAIN) {
			/* the sink's queue is full: let it drain */
			s->eagain++;
			r = agent_await_sleep(a, s->backoff_usec, resume_cb);
			return r < 0 ? agent_fail(r) : agent_wait();
		}
		if (r < 0)
			return agent_fail(r);
		s->seq++;
	}
	if (s->seq == s->n)
		return agent_async(&linger_state, s);
	return agent_again();
}

static const struct agent_state pump_state = {
	.name = "pump", .repeat = pump_repeat,
};

static agent_step
go_cb(agent *a, void *data, agent_msg *m)
{
	(void)a;
	(void)m;
	peer_await_go();
	return agent_async(&pump_state, data);
}

static agent_step
wait_go_once(agent *a, void *data)
{
	int r = agent_await_fd(a, 0, EPOLLIN, go_cb);

	(void)data;
	return r < 0 ? agent_fail(r) : agent_wait();
}

static const struct agent_state wait_go_state = {
	.name = "wait-go", .once = wait_go_once,
};

static agent_step
sender_begin(agent *a)
{
	return agent_async(&wait_go_state, agent_self(a));
}

static const struct agent_def sender_def = {
	.name = "sender",
	.begin = sender_begin,
};

static void
peer_agent_echo(const char *dir)
{
	agent *a = NULL;
	char url[256];
	int r;

	snprintf(url, sizeof(url), "ipc://%s/inbox/echo.sock", dir);
	r = agent_new(&a, NULL, &echo_def, NULL);
	if (r >= 0)
		r = agent_listen(a, url);
	if (r < 0)
		die("echo agent: %s", strerror(-r));
	peer_ready();
	r = agent_run(a);
	if (r != AGENT_EXIT_DONE)
		die("echo agent ended: %d", r);
	agent_unref(a);
}

static void
peer_agent_send(unsigned n)
{
	struct sender s = { .n = n, .backoff_usec = 20 };
	agent *a = NULL;
	int r;

	r = agent_new(&a, NULL, &sender_def, &s);
	if (r < 0)
		die("sender agent: %s", strerror(-r));
	peer_ready();
	r = agent_run(a);
	if (r != AGENT_EXIT_DONE)
		die("sender agent ended: %d (%s)", r,
		    strerror(-agent_exit_error(a)));
	agent_unref(a);
	fprintf(stderr, "  (libagent sender: %" PRIu64 " sends met -EAGAIN)\n",
		s.eagain);
}

/* ---- libagent: the measuring side ------------------------------------------------ */

struct caller {
	unsigned i;
	uint64_t t0;
	uint64_t *ns;
	int err;
};

static agent_step
rt_cb(agent *a, void *data, agent_msg *m)
{
	uint64_t t1 = now_nsec();
	struct caller *c = data;
	struct blob *b;

	(void)a;
	if (agent_msg_error(m) < 0) {
		c->err = agent_msg_error(m);
		return agent_fail(c->err);
	}
	b = agent_msg_payload(m);
	if (!b || b->len != opt_size || seq_of(b->buf) != c->i) {
		c->err = -EBADMSG;
		return agent_fail(c->err);
	}
	if (c->i >= opt_warm)
		c->ns[c->i - opt_warm] = t1 - c->t0;
	if (++c->i == opt_warm + opt_rt)
		return agent_done();
	return agent_again();
}

static agent_step
rt_repeat(agent *a, void *data)
{
	struct caller *c = data;
	int r;

	c->t0 = now_nsec();
	r = agent_await_request_remote(a, "echo", &ping_type,
				       blob_new(opt_size, c->i), REQ_TIMEOUT,
				       rt_cb);
	if (r < 0) {
		c->err = r;
		return agent_fail(r);
	}
	return agent_wait();
}

static const struct agent_state rt_state = {
	.name = "round-trips", .repeat = rt_repeat,
};

static agent_step
caller_begin(agent *a)
{
	return agent_async(&rt_state, agent_self(a));
}

static const struct agent_def caller_def = {
	.name = "caller",
	.begin = caller_begin,
};

static struct lat
bench_agent_rt(const char *dir)
{
	struct caller c = { .ns = calloc(opt_rt, sizeof(uint64_t)) };
	agent_loop *loop = NULL;
	agent *a = NULL;
	struct peer p;
	char url[256];
	struct lat l;
	int r;

	if (!c.ns)
		die("out of memory");
	peer_spawn(&p, -1, "agent-echo", dir, NULL);
	peer_wait_ready(&p);
	snprintf(url, sizeof(url), "ipc://%s/inbox/caller.sock", dir);
	r = agent_loop_new(&loop);
	if (r >= 0)
		r = agent_new(&a, loop, &caller_def, &c);
	if (r >= 0)
		r = agent_listen(a, url);
	if (r < 0)
		die("caller agent: %s", strerror(-r));
	r = agent_run(a);
	if (r != AGENT_EXIT_DONE || c.err < 0)
		die("libagent round trip %u failed: %s", c.i, strerror(-c.err));
	agent_unref(a);
	agent_loop_unref(loop);
	peer_finish(&p);
	l = lat_of(c.ns, opt_rt);
	free(c.ns);
	return l;
}

struct sink {
	struct peer *peer;
	unsigned n, got;
	uint64_t last, disorder;
	uint64_t t0, t1;
	bool timed_out;
};

static int
sink_on_event(agent *a, agent_msg *m)
{
	struct sink *s = agent_self(a);
	struct blob *b = agent_msg_payload(m);

	if (!b || b->len != opt_size || seq_of(b->buf) != s->last + 1)
		s->disorder++;
	if (b && b->len >= sizeof(uint64_t))
		s->last = seq_of(b->buf);
	if (++s->got == s->n) {
		s->t1 = now_nsec();
		return agent_shutdown(a);
	}
	return 0;
}

static int
sink_on_deadline(agent *a, agent_msg *m)
{
	struct sink *s = agent_self(a);

	(void)m;
	s->timed_out = true;
	return agent_shutdown(a);
}

static agent_step
sink_begin(agent *a)
{
	struct sink *s = agent_self(a);
	agent_timer *t;
	int r;

	r = agent_timer_new(a, &t, AGENT_TIMER_DEBOUNCE, TAG_DEADLINE);
	if (r >= 0)
		r = agent_timer_schedule(t, SINK_DEADLINE);
	if (r < 0)
		return agent_fail(r);
	s->t0 = now_nsec();
	peer_go(s->peer);
	return agent_events();
}

static const struct agent_handler sink_handlers[] = {
	{ .type = &event_type, .on_event = sink_on_event },
	{ .type = &agent_type_timer, .on_event = sink_on_deadline },
	{ .type = NULL },
};

static const struct agent_def sink_def = {
	.name = "sink",
	.begin = sink_begin,
	.handlers = sink_handlers,
};

static double
bench_agent_rate(const char *dir)
{
	agent_loop *loop = NULL;
	agent *a = NULL;
	struct sink s = { .n = opt_events };
	struct peer p;
	char url[256], num[32];
	int r;

	snprintf(url, sizeof(url), "ipc://%s/inbox/sink.sock", dir);
	snprintf(num, sizeof(num), "%u", opt_events);
	r = agent_loop_new(&loop);
	if (r >= 0)
		r = agent_new(&a, loop, &sink_def, &s);
	if (r >= 0)
		r = agent_listen(a, url);
	if (r < 0)
		die("sink agent: %s", strerror(-r));
	peer_spawn(&p, -1, "agent-send", num, NULL);
	peer_wait_ready(&p);
	s.peer = &p;
	r = agent_run(a);
	if (r != AGENT_EXIT_DONE || s.timed_out || s.disorder)
		die("libagent events: exit %d, %u of %u received, %" PRIu64
		    " out of order%s", r, s.got, s.n, s.disorder,
		    s.timed_out ? ", timed out" : "");
	agent_unref(a);
	agent_loop_unref(loop);
	peer_finish(&p);
	return (double)s.n * 1e9 / (double)(s.t1 - s.t0);
}

/* ---- one configuration: every figure, printed as a table ------------------------- */

static const char *
verdict(bool ok)
{
	return ok ? "met" : "MISSED";
}

static void
run_config(int cpu)
{
	char dir[] = "/tmp/bm.XXXXXX", path[64];
	struct lat u, n, g;
	double ur, nr, gr;

	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0)
			die("sched_setaffinity: %m");
	}
	if (!mkdtemp(dir))
		die("mkdtemp: %m");
	if (setenv("AGENTD_RUNTIME_DIR", dir, 1) < 0)
		die("setenv: %m");

	u = bench_unix_rt();
	n = bench_nng_rt(dir);
	g = bench_agent_rt(dir);
	ur = bench_unix_rate();
	nr = bench_nng_rate(dir);
	gr = bench_agent_rate(dir);

	printf("\n== %s ==\n", cpu >= 0 ?
	       "pinned: both processes on CPU 0" :
	       "unpinned: the scheduler places both processes");
	printf("request round trip, %u-byte payload, %u round trips after "
	       "%u warm-up\n", opt_size, opt_rt, opt_warm);
	printf("  %-34s %10s %10s %10s\n", "", "p50 us", "p99 us", "mean us");
	printf("  %-34s %10.1f %10.1f %10.1f\n",
	       "AF_UNIX socketpair (floor)", u.p50, u.p99, u.mean);
	printf("  %-34s %10.1f %10.1f %10.1f\n",
	       "raw nng pair0 (baseline)", n.p50, n.p99, n.mean);
	printf("  %-34s %10.1f %10.1f %10.1f\n",
	       "libagent request/response", g.p50, g.p99, g.mean);
	printf("  %-34s %10.2f %10.2f %10.2f   target <= %.2f: "
	       "p50 %s, mean %s\n", "ratio libagent / raw nng",
	       g.p50 / n.p50, g.p99 / n.p99, g.mean / n.mean, TARGET_RT,
	       verdict(g.p50 / n.p50 <= TARGET_RT),
	       verdict(g.mean / n.mean <= TARGET_RT));
	printf("one-way events, %u-byte payload, %u events in order\n",
	       opt_size, opt_events);
	printf("  %-34s %10s\n", "", "events/s");
	printf("  %-34s %10.0f\n", "AF_UNIX socketpair (floor)", ur);
	printf("  %-34s %10.0f\n", "raw nng push0/pull0 (baseline)", nr);
	printf("  %-34s %10.0f\n", "libagent events", gr);
	printf("  %-34s %10.2f   target >= %.0f: %s\n",
	       "ratio libagent / raw nng", gr / nr, TARGET_RATE,
	       verdict(gr / nr >= TARGET_RATE));
	fflush(stdout);

	/* the sockets are gone with their owners; remove the files */
	for (size_t i = 0; i < 3; i++) {
		static const char *const names[] = {
			"inbox/echo.sock", "inbox/caller.sock", "inbox/sink.sock",
		};
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		(void)unlink(path);
	}
	snprintf(path, sizeof(path), "%s/raw-rt.sock", dir);
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s/raw-push.sock", dir);
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s/inbox", dir);
	(void)rmdir(path);
	if (rmdir(dir) < 0)
		fprintf(stderr, "rmdir %s: %m, ignoring\n", dir);
}

static void
spawn_config(const char *argv0_opts[], int cpu)
{
	char cpu_s[16];
	const char *argv[32];
	size_t k = 0;
	pid_t pid;
	int status, r;

	(void)argv0_opts;
	snprintf(cpu_s, sizeof(cpu_s), "%d", cpu);
	argv[k++] = "bench-messaging";
	for (const char **o = argv0_opts; *o && k < 28; o++)
		argv[k++] = *o;
	argv[k++] = "--run";
	argv[k++] = cpu_s;
	argv[k] = NULL;
	fflush(stdout);
	r = posix_spawn(&pid, "/proc/self/exe", NULL, NULL,
			(char *const *)(uintptr_t)argv, environ);
	if (r != 0)
		die("posix_spawn: %s", strerror(r));
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		die("the %s measurement failed", cpu >= 0 ? "pinned" :
		    "unpinned");
}

static unsigned
parse_uint(const char *s, unsigned min, unsigned max, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		die("bad %s '%s' (%u..%u)", what, s, min, max);
	return (unsigned)v;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench-messaging [-r ROUNDTRIPS] [-w WARMUP] "
		"[-e EVENTS] [-s PAYLOAD_BYTES] [-m pinned|unpinned|both]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static char opts_buf[4][2][16];
	const char *fwd[16];
	const char *mode = "both";
	sigset_t set;
	int c, run_cpu = -2;
	size_t k = 0;

	/* nng's threads inherit this mask (PLATFORM.md) */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (argc >= 3 && strcmp(argv[1], "--peer") == 0) {
		const char *m = argv[2];
		if (getenv("BENCH_MSG_SIZE"))
			opt_size = parse_uint(getenv("BENCH_MSG_SIZE"), 8,
					      PAYLOAD_MAX, "size");
		if (strcmp(m, "unix-echo") == 0)
			peer_unix_echo();
		else if (strcmp(m, "unix-send") == 0 && argc >= 4)
			peer_unix_send(parse_uint(argv[3], 1, UINT32_MAX, "n"));
		else if (strcmp(m, "nng-echo") == 0 && argc >= 4)
			peer_nng_echo(argv[3]);
		else if (strcmp(m, "nng-send") == 0 && argc >= 5)
			peer_nng_send(argv[3], parse_uint(argv[4], 1,
							  UINT32_MAX, "n"));
		else if (strcmp(m, "agent-echo") == 0 && argc >= 4)
			peer_agent_echo(argv[3]);
		else if (strcmp(m, "agent-send") == 0 && argc >= 4)
			peer_agent_send(parse_uint(argv[3], 1, UINT32_MAX, "n"));
		else
			die("bad peer mode");
		return 0;
	}

	static const struct option longopts[] = {
		{ "run", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	while ((c = getopt_long(argc, argv, "r:w:e:s:m:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'r':
			opt_rt = parse_uint(optarg, 100, 10000000, "round trips");
			break;
		case 'w':
			opt_warm = parse_uint(optarg, 0, 10000000, "warm-up");
			break;
		case 'e':
			opt_events = parse_uint(optarg, 1000, 100000000, "events");
			break;
		case 's':
			opt_size = parse_uint(optarg, 8, PAYLOAD_MAX, "size");
			break;
		case 'm':
			mode = optarg;
			break;
		case 'R':
			run_cpu = (int)strtol(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (run_cpu != -2) {
		run_config(run_cpu);
		return 0;
	}
	if (strcmp(mode, "both") && strcmp(mode, "pinned") &&
	    strcmp(mode, "unpinned"))
		usage();

	/* peers learn the payload size from the environment */
	snprintf(opts_buf[0][0], sizeof(opts_buf[0][0]), "%u", opt_size);
	if (setenv("BENCH_MSG_SIZE", opts_buf[0][0], 1) < 0)
		die("setenv: %m");
	snprintf(opts_buf[1][0], sizeof(opts_buf[1][0]), "-r%u", opt_rt);
	snprintf(opts_buf[1][1], sizeof(opts_buf[1][1]), "-w%u", opt_warm);
	snprintf(opts_buf[2][0], sizeof(opts_buf[2][0]), "-e%u", opt_events);
	snprintf(opts_buf[2][1], sizeof(opts_buf[2][1]), "-s%u", opt_size);
	fwd[k++] = opts_buf[1][0];
	fwd[k++] = opts_buf[1][1];
	fwd[k++] = opts_buf[2][0];
	fwd[k++] = opts_buf[2][1];
	fwd[k] = NULL;

	printf("bench-messaging: two processes over ipc (nng 1.5), %u-byte "
	       "payloads; targets from issue 5\n", opt_size);
	if (strcmp(mode, "unpinned") != 0)
		spawn_config(fwd, 0);
	if (strcmp(mode, "pinned") != 0)
		spawn_config(fwd, -1);
	return 0;
}
