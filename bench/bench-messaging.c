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
 *  - fan-out: agent_publish() of N values of one topic to 8 subscribers
 *    (agents on their own loops in one process); the clock runs until
 *    every subscriber has the last value. Baseline: 8 raw nng push0 sends
 *    of the same bytes per event, to 8 pull0 sockets in another process.
 *    Also the sending thread's CPU time per event (the publisher's loop;
 *    the thread making the 8 nng_send()s), which preemption by the
 *    receivers does not inflate. No target: the figures show what one
 *    publish to 8 costs.
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
 *                        [-s PAYLOAD_BYTES] [-m pinned|unpinned|both] [-A]
 * (-A: libagent only, without the baselines, to profile it alone)
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
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
#define SINK_DEADLINE	(600 * AGENT_USEC_PER_SEC)
#define PUMP_BURST	64u
#define TAG_DEADLINE	1
#define TAG_STDIN	2
#define TARGET_RT	1.15
#define TARGET_RATE	10.0
#define MIN_U(a, b)	((a) < (b) ? (a) : (b))

static unsigned opt_rt = 20000;
static unsigned opt_warm = 2000;
static unsigned opt_events = 200000;
static unsigned opt_size = 64;
static bool opt_only_agent; /* -A: skip the baselines (for profiling) */

static uint64_t
now_nsec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* the CPU time of the calling thread */
static uint64_t
cpu_nsec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
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

/* "go": send n events (a uint32 in one atomic pipe write) */
static void
peer_go(struct peer *p, unsigned n)
{
	uint32_t v = n;

	if (write(p->to, &v, sizeof(v)) != sizeof(v))
		die("write go: %m");
}

/* Tell the peer to quit (EOF on its stdin), collect what it wrote on its
 * stdout after "ready" (a report line, or nothing) into report, and reap
 * it. */
static void
peer_finish(struct peer *p, char *report, size_t size)
{
	size_t len = 0;
	int status;

	close(p->to);
	for (;;) {
		struct pollfd pfd = { .fd = p->from, .events = POLLIN };
		char c;
		if (poll(&pfd, 1, 10000) != 1 || read(p->from, &c, 1) != 1)
			break;
		if (report && len + 1 < size)
			report[len++] = c;
	}
	if (report && size)
		report[len] = '\0';
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

/* The next "go": the number of events to send, or 0 at EOF (quit). */
static unsigned
peer_await_go(void)
{
	uint32_t v;
	ssize_t n = read(0, &v, sizeof(v));

	if (n == 0)
		return 0;
	if (n != sizeof(v) || v == 0)
		die("bad go");
	return v;
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

/* ---- peers: AF_UNIX socketpair (fd 3) ------------------------------------------ */

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
peer_unix_send(void)
{
	unsigned char buf[PAYLOAD_MAX];
	uint64_t seq = 0;
	unsigned n;

	peer_ready();
	while ((n = peer_await_go()) > 0)
		for (unsigned i = 0; i < n; i++) {
			fill(buf, opt_size, ++seq);
			if (write(3, buf, opt_size) != (ssize_t)opt_size)
				die("unix send: %m");
		}
}

/* ---- peers: raw nng ------------------------------------------------------------- */

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
peer_nng_send(const char *url)
{
	unsigned char buf[PAYLOAD_MAX];
	uint64_t seq = 0;
	nng_socket s;
	unsigned n;

	nng_check(nng_push0_open(&s), "push0");
	nng_check(nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, RECV_MAX), "opt");
	nng_check(nng_dial(s, url, NULL, 0), "dial");
	peer_ready();
	/* one nng message per event; nng_send blocks while the receiver's
	 * buffers are full (nng's backpressure) */
	while ((n = peer_await_go()) > 0)
		for (unsigned i = 0; i < n; i++) {
			fill(buf, opt_size, ++seq);
			nng_check(nng_send(s, buf, opt_size, 0), "push send");
		}
	/* EOF: the receiver has everything, closing is safe */
	nng_close(s);
}

/* ---- peers: libagent ----------------------------------------------------------- */

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

/* sender: on each "go n" sends n events to "sink" as fast as backpressure
 * allows (on -EAGAIN it sleeps backoff_usec on the loop and retries);
 * ends at EOF */
struct sender {
	unsigned n;       /* events left in this round */
	uint64_t seq;     /* last sequence number sent */
	uint64_t eagain;
	uint64_t backoff_usec;
	struct agent_remote_stats stats; /* at the end */
};

static const struct agent_state pump_state;

static agent_step
resume_cb(agent *a, void *data, agent_msg *m)
{
	(void)a;
	(void)data;
	(void)m;
	return agent_again();
}

static agent_step
go_cb(agent *a, void *data, agent_msg *m)
{
	struct sender *s = data;

	(void)m;
	s->n = peer_await_go();
	if (s->n == 0) {
		(void)agent_remote_stats(a, &s->stats);
		return agent_done();
	}
	return agent_async(&pump_state, s);
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
pump_repeat(agent *a, void *data)
{
	struct sender *s = data;

	for (unsigned k = 0; k < PUMP_BURST && s->n > 0; k++) {
		struct blob *b = blob_new(opt_size, s->seq + 1);
		int r = agent_send_remote(a, "sink", &event_type, b);
		if (r == -EAGAIN) {
			/* the sink does not keep up: let it drain */
			s->eagain++;
			r = agent_await_sleep(a, s->backoff_usec, resume_cb);
			return r < 0 ? agent_fail(r) : agent_wait();
		}
		if (r < 0)
			return agent_fail(r);
		s->seq++;
		s->n--;
	}
	if (s->n == 0)
		return agent_async(&wait_go_state, s);
	return agent_again();
}

static const struct agent_state pump_state = {
	.name = "pump", .repeat = pump_repeat,
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
peer_agent_send(void)
{
	struct sender s = { .backoff_usec = 20 };
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
	printf("%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", s.eagain,
	       s.stats.sent, s.stats.batches); /* the report */
	fflush(stdout);
}

/* ---- the measuring process: three peers, interleaved rounds --------------------- */

/*
 * The machine is shared and noisy, so the figures that are compared are
 * measured in alternation: each round runs a block of socketpair, raw nng
 * and libagent round trips (or events) in turn, from the libagent caller's
 * (the sink's) loop, while the libagent peer is idle.
 */
#define ROUNDS	10u

struct rig {
	char dir[32];
	int ux;                 /* our end of the socketpair */
	nng_socket ng;
	struct peer ux_p, ng_p, ag_p;
	bool warm;              /* baselines warmed up */
	unsigned blk;           /* round trips / events per round */
	uint64_t *ux_ns, *ng_ns, *ag_ns;
	size_t ux_n, ng_n;
	uint64_t ux_seq, ng_seq;          /* events received so far */
	uint64_t ux_time, ng_time;        /* ns spent receiving them */
	uint64_t ux_events, ng_events;
	uint64_t ag_sent, ag_batches;     /* the libagent sender's stats */
};

static void
unix_rt_block(struct rig *g, unsigned n, bool record)
{
	unsigned char buf[PAYLOAD_MAX], rbuf[PAYLOAD_MAX];

	for (unsigned i = 0; i < n; i++) {
		uint64_t t0;
		fill(buf, opt_size, i);
		t0 = now_nsec();
		if (write(g->ux, buf, opt_size) != (ssize_t)opt_size ||
		    read(g->ux, rbuf, sizeof(rbuf)) != (ssize_t)opt_size)
			die("unix round trip: %m");
		if (record)
			g->ux_ns[g->ux_n++] = now_nsec() - t0;
		if (seq_of(rbuf) != i)
			die("unix round trip: wrong answer");
	}
}

static void
nng_rt_block(struct rig *g, unsigned n, bool record)
{
	unsigned char buf[PAYLOAD_MAX], rbuf[PAYLOAD_MAX];

	for (unsigned i = 0; i < n; i++) {
		size_t sz = sizeof(rbuf);
		uint64_t t0;
		fill(buf, opt_size, i);
		t0 = now_nsec();
		nng_check(nng_send(g->ng, buf, opt_size, 0), "send");
		nng_check(nng_recv(g->ng, rbuf, &sz, 0), "recv");
		if (record)
			g->ng_ns[g->ng_n++] = now_nsec() - t0;
		if (sz != opt_size || seq_of(rbuf) != i)
			die("nng round trip: wrong answer");
	}
}

static void
raw_rt_round(struct rig *g)
{
	if (opt_only_agent)
		return;
	if (!g->warm) {
		unix_rt_block(g, opt_warm, false);
		nng_rt_block(g, opt_warm, false);
		g->warm = true;
	}
	unix_rt_block(g, g->blk, true);
	nng_rt_block(g, g->blk, true);
}

static void
unix_rate_round(struct rig *g, unsigned n, bool record)
{
	unsigned char buf[PAYLOAD_MAX];
	uint64_t t0 = now_nsec();

	peer_go(&g->ux_p, n);
	for (unsigned i = 0; i < n; i++) {
		if (read(g->ux, buf, sizeof(buf)) != (ssize_t)opt_size)
			die("unix receive: %m");
		if (seq_of(buf) != ++g->ux_seq)
			die("unix receive: event %" PRIu64 " out of order",
			    g->ux_seq);
	}
	if (record) {
		g->ux_time += now_nsec() - t0;
		g->ux_events += n;
	}
}

static void
nng_rate_round(struct rig *g, unsigned n, bool record)
{
	unsigned char buf[PAYLOAD_MAX];
	uint64_t t0 = now_nsec();

	peer_go(&g->ng_p, n);
	for (unsigned i = 0; i < n; i++) {
		size_t sz = sizeof(buf);
		nng_check(nng_recv(g->ng, buf, &sz, 0), "pull recv");
		if (sz != opt_size || seq_of(buf) != ++g->ng_seq)
			die("nng receive: event %" PRIu64 " out of order",
			    g->ng_seq);
	}
	if (record) {
		g->ng_time += now_nsec() - t0;
		g->ng_events += n;
	}
}

/* -- round trips: the libagent caller drives the rounds -- */

struct caller {
	struct rig *rig;
	unsigned i;
	uint64_t t0;
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
		c->rig->ag_ns[c->i - opt_warm] = t1 - c->t0;
	if (++c->i == opt_warm + c->rig->blk * ROUNDS)
		return agent_done();
	return agent_again();
}

static agent_step
rt_repeat(agent *a, void *data)
{
	struct caller *c = data;
	int r;

	if (c->i >= opt_warm && (c->i - opt_warm) % c->rig->blk == 0)
		raw_rt_round(c->rig); /* blocks the loop: nothing else runs */
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

static void
bench_rt(struct rig *g, struct lat *u, struct lat *n, struct lat *l)
{
	struct caller c = { .rig = g };
	agent_loop *loop = NULL;
	agent *a = NULL;
	char url[256];
	int sv[2], r;

	g->blk = opt_rt / ROUNDS;
	g->ux_ns = calloc(g->blk * ROUNDS, sizeof(uint64_t));
	g->ng_ns = calloc(g->blk * ROUNDS, sizeof(uint64_t));
	g->ag_ns = calloc(g->blk * ROUNDS, sizeof(uint64_t));
	if (!g->ux_ns || !g->ng_ns || !g->ag_ns)
		die("out of memory");

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair: %m");
	peer_spawn(&g->ux_p, sv[1], "unix-echo", NULL, NULL);
	close(sv[1]);
	g->ux = sv[0];

	snprintf(url, sizeof(url), "ipc://%s/raw-rt.sock", g->dir);
	nng_check(nng_pair0_open(&g->ng), "pair0");
	nng_check(nng_socket_set_size(g->ng, NNG_OPT_RECVMAXSZ, RECV_MAX),
		  "opt");
	nng_check(nng_socket_set_ms(g->ng, NNG_OPT_RECVTIMEO, 10000), "opt");
	nng_check(nng_listen(g->ng, url, NULL, 0), "listen");
	peer_spawn(&g->ng_p, -1, "nng-echo", url, NULL);

	peer_spawn(&g->ag_p, -1, "agent-echo", g->dir, NULL);
	peer_wait_ready(&g->ux_p);
	peer_wait_ready(&g->ng_p);
	peer_wait_ready(&g->ag_p);

	snprintf(url, sizeof(url), "ipc://%s/inbox/caller.sock", g->dir);
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

	close(g->ux);
	peer_finish(&g->ux_p, NULL, 0);
	nng_check(nng_send(g->ng, url, 0, 0), "send quit");
	peer_finish(&g->ng_p, NULL, 0);
	nng_close(g->ng);
	peer_finish(&g->ag_p, NULL, 0);

	*u = *n = (struct lat){ 0, 0, 0 };
	if (g->ux_n)
		*u = lat_of(g->ux_ns, g->ux_n);
	if (g->ng_n)
		*n = lat_of(g->ng_ns, g->ng_n);
	*l = lat_of(g->ag_ns, (size_t)g->blk * ROUNDS);
	free(g->ux_ns);
	free(g->ng_ns);
	free(g->ag_ns);
}

/* -- one-way events: the libagent sink drives the rounds -- */

struct sink {
	struct rig *rig;
	unsigned rounds_left;   /* timed rounds still to run */
	unsigned want;          /* events expected in this round */
	bool warming;
	uint64_t last, disorder, got;
	uint64_t t0, time, events;
	bool timed_out;
};

/* run the baselines' round, then start the sender's */
static void
sink_next_round(struct sink *s, bool warm)
{
	struct rig *g = s->rig;
	unsigned n = warm ? MIN_U(2000u, g->blk) : g->blk;

	if (!opt_only_agent) {
		unix_rate_round(g, n, !warm);
		nng_rate_round(g, n, !warm);
	}
	s->warming = warm;
	s->want = n;
	s->t0 = now_nsec();
	peer_go(&g->ag_p, n);
}

static int
sink_on_event(agent *a, agent_msg *m)
{
	struct sink *s = agent_self(a);
	struct blob *b = agent_msg_payload(m);

	if (!b || b->len != opt_size || seq_of(b->buf) != s->last + 1)
		s->disorder++;
	if (b && b->len >= sizeof(uint64_t))
		s->last = seq_of(b->buf);
	s->got++;
	if (--s->want > 0)
		return 0;
	if (!s->warming) {
		s->time += now_nsec() - s->t0;
		s->events += s->rig->blk;
		s->rounds_left--;
	}
	if (s->rounds_left == 0)
		return agent_shutdown(a);
	sink_next_round(s, false); /* blocks the loop: nothing else runs */
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
	sink_next_round(s, true);
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

static void
bench_rate(struct rig *g, double *u, double *n, double *l, uint64_t *eagain)
{
	struct sink s = { .rig = g, .rounds_left = ROUNDS };
	agent_loop *loop = NULL;
	agent *a = NULL;
	char url[256], report[64];
	int sv[2], r;

	g->blk = opt_events / ROUNDS;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair: %m");
	peer_spawn(&g->ux_p, sv[1], "unix-send", NULL, NULL);
	close(sv[1]);
	g->ux = sv[0];

	snprintf(url, sizeof(url), "ipc://%s/raw-push.sock", g->dir);
	nng_check(nng_pull0_open(&g->ng), "pull0");
	nng_check(nng_socket_set_size(g->ng, NNG_OPT_RECVMAXSZ, RECV_MAX),
		  "opt");
	nng_check(nng_socket_set_ms(g->ng, NNG_OPT_RECVTIMEO, 10000), "opt");
	nng_check(nng_listen(g->ng, url, NULL, 0), "listen");
	peer_spawn(&g->ng_p, -1, "nng-send", url, NULL);

	snprintf(url, sizeof(url), "ipc://%s/inbox/sink.sock", g->dir);
	r = agent_loop_new(&loop);
	if (r >= 0)
		r = agent_new(&a, loop, &sink_def, &s);
	if (r >= 0)
		r = agent_listen(a, url);
	if (r < 0)
		die("sink agent: %s", strerror(-r));
	peer_spawn(&g->ag_p, -1, "agent-send", NULL, NULL);
	peer_wait_ready(&g->ux_p);
	peer_wait_ready(&g->ng_p);
	peer_wait_ready(&g->ag_p);

	r = agent_run(a);
	if (r != AGENT_EXIT_DONE || s.timed_out || s.disorder)
		die("libagent events: exit %d, %" PRIu64 " received, %" PRIu64
		    " out of order%s", r, s.got, s.disorder,
		    s.timed_out ? ", timed out" : "");
	agent_unref(a);
	agent_loop_unref(loop);

	close(g->ux);
	peer_finish(&g->ux_p, NULL, 0);
	peer_finish(&g->ng_p, NULL, 0);
	nng_close(g->ng);
	peer_finish(&g->ag_p, report, sizeof(report));
	if (sscanf(report, "%" SCNu64 " %" SCNu64 " %" SCNu64, eagain,
		   &g->ag_sent, &g->ag_batches) != 3)
		die("no report from the libagent sender");

	*u = g->ux_time ? (double)g->ux_events * 1e9 / (double)g->ux_time : 0;
	*n = g->ng_time ? (double)g->ng_events * 1e9 / (double)g->ng_time : 0;
	*l = (double)s.events * 1e9 / (double)s.time;
}

/* -- fan-out: one publisher, FAN_SUBS subscribers -- */

/*
 * The libagent publisher (this process, agent "pub") publishes the topic
 * "fan" to FAN_SUBS subscribers, each an agent on its own loop and thread
 * in one peer process, in bursts of PUMP_BURST (a burst that some
 * subscriber could not take is followed by a short sleep on the loop,
 * and the subscriber learns what it missed: pub/sub semantics). The last
 * value of a round carries FAN_END in its sequence number; each
 * subscriber writes one byte to its stdout when it has it (per subscriber
 * order is FIFO, and a subscriber that missed updates is sent the current
 * value once it has room: it always gets the last one), and the round
 * ends when all FAN_SUBS bytes are in. Baseline, alternating with it:
 * FAN_SUBS raw nng push0 sockets in this process, each nng_send()ing the
 * same bytes (one nng message per event and subscriber, blocking on
 * backpressure) to a pull0 socket on its own thread in another peer.
 */
#define FAN_SUBS	8
#define FAN_END		(UINT64_C(1) << 63)

struct fsub {
	int fd;           /* a dup of stdin: EOF = quit */
	int index;
	uint64_t got, missed;
	pthread_t thread;
};

static uint64_t
fan_value_seq(const struct agent_update *u)
{
	/* the value is a blob as blob_encode makes it: bin 16, then bytes */
	if (u->len < 3 + sizeof(uint64_t))
		return 0;
	return seq_of((const unsigned char *)u->value + 3);
}

static int
fsub_on_update(agent *a, agent_msg *m)
{
	struct fsub *s = agent_self(a);
	const struct agent_update *u = agent_msg_payload(m);

	if (!u || u->snapshot)
		return 0;
	s->got++;
	s->missed += u->missed;
	if (fan_value_seq(u) & FAN_END)
		if (write(1, "D", 1) != 1)
			die("write: %m");
	return 0;
}

static agent_step
fsub_begin(agent *a)
{
	struct fsub *s = agent_self(a);
	agent_source *src;
	int r = agent_source_fd(a, &src, s->fd, AGENT_SOURCE_OWN_FD, TAG_STDIN);

	if (r >= 0)
		r = agent_subscribe(a, "pub", "fan");
	return r < 0 ? agent_fail(r) : agent_events();
}

static const struct agent_handler fsub_handlers[] = {
	{ .type = &agent_type_update, .on_event = fsub_on_update },
	{ .type = &agent_type_data, .on_event = on_ignore },
	{ .type = &agent_type_source_end, .on_event = on_stdin_end },
	{ .type = NULL },
};

static const struct agent_def fsub_def = {
	.name = "fsub",
	.begin = fsub_begin,
	.handlers = fsub_handlers,
};

static void *
fsub_thread(void *arg)
{
	struct fsub *s = arg;
	const char *dir = getenv("AGENTD_RUNTIME_DIR");
	agent_loop *loop = NULL;
	agent *a = NULL;
	char url[256];
	int r;

	snprintf(url, sizeof(url), "ipc://%s/inbox/fsub%d.sock", dir ? dir : "",
		 s->index);
	r = agent_loop_new(&loop);
	if (r >= 0)
		r = agent_new(&a, loop, &fsub_def, s);
	if (r >= 0)
		r = agent_listen(a, url);
	if (r < 0)
		die("subscriber %d: %s", s->index, strerror(-r));
	r = agent_run(a);
	if (r != AGENT_EXIT_DONE)
		die("subscriber %d ended: %d", s->index, r);
	agent_unref(a);
	agent_loop_unref(loop);
	return NULL;
}

static void
peer_agent_fan_sub(void)
{
	struct fsub subs[FAN_SUBS];
	uint64_t got = 0, missed = 0;

	for (int i = 0; i < FAN_SUBS; i++) {
		subs[i] = (struct fsub){ .index = i, .fd = dup(0) };
		if (subs[i].fd < 0)
			die("dup: %m");
		if (pthread_create(&subs[i].thread, NULL, fsub_thread,
				   &subs[i]) != 0)
			die("pthread_create");
	}
	peer_ready();
	for (int i = 0; i < FAN_SUBS; i++) {
		pthread_join(subs[i].thread, NULL);
		got += subs[i].got;
		missed += subs[i].missed;
	}
	printf("%" PRIu64 " %" PRIu64 "\n", got, missed); /* the report */
	fflush(stdout);
}

struct fpull {
	nng_socket s;
	pthread_t thread;
};

static void *
fpull_thread(void *arg)
{
	struct fpull *p = arg;
	unsigned char buf[PAYLOAD_MAX];

	for (;;) {
		size_t sz = sizeof(buf);
		int r = nng_recv(p->s, buf, &sz, 0);
		if (r == NNG_ECLOSED)
			break; /* quit: closed by the main thread */
		nng_check(r, "fan recv");
		if (sz >= sizeof(uint64_t) && (seq_of(buf) & FAN_END))
			if (write(1, "D", 1) != 1)
				die("write: %m");
	}
	return NULL;
}

static void
peer_nng_fan_recv(const char *dir)
{
	struct fpull p[FAN_SUBS];
	char url[256];

	for (int i = 0; i < FAN_SUBS; i++) {
		snprintf(url, sizeof(url), "ipc://%s/fan-%d.sock", dir, i);
		nng_check(nng_pull0_open(&p[i].s), "pull0");
		nng_check(nng_socket_set_size(p[i].s, NNG_OPT_RECVMAXSZ,
					      RECV_MAX), "opt");
		nng_check(nng_listen(p[i].s, url, NULL, 0), "listen");
		if (pthread_create(&p[i].thread, NULL, fpull_thread, &p[i]))
			die("pthread_create");
	}
	peer_ready();
	while (read(0, url, sizeof(url)) > 0)
		; /* until EOF: quit */
	for (int i = 0; i < FAN_SUBS; i++) {
		nng_close(p[i].s);
		pthread_join(p[i].thread, NULL);
	}
}

/* read n "D" bytes from fd (blocking) */
static void
fan_wait_done(int fd, unsigned n)
{
	char buf[FAN_SUBS];

	while (n > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t k;
		if (poll(&pfd, 1, 60000) != 1)
			die("fan-out: no end of round within 60 s");
		k = read(fd, buf, MIN_U(n, sizeof(buf)));
		if (k <= 0)
			die("fan-out: read: %m");
		n -= (unsigned)k;
	}
}

struct fanrig {
	nng_socket push[FAN_SUBS];
	struct peer nf_p, af_p;
	unsigned blk, rounds_left, left, done;
	bool warming;
	uint64_t seq, raw_seq;
	uint64_t t0, time, events, short_bursts;
	uint64_t raw_time, raw_events;
	uint64_t cpu0;                /* this thread's CPU time at t0 */
	uint64_t pub_cpu, raw_cpu;    /* CPU time of the timed rounds */
	int err;
};

static void
nng_fan_round(struct fanrig *f, unsigned n, bool record)
{
	unsigned char buf[PAYLOAD_MAX];
	uint64_t t0 = now_nsec(), c0 = cpu_nsec();

	for (unsigned i = 0; i < n; i++) {
		uint64_t seq = ++f->raw_seq | (i + 1 == n ? FAN_END : 0);
		fill(buf, opt_size, seq);
		for (int k = 0; k < FAN_SUBS; k++)
			nng_check(nng_send(f->push[k], buf, opt_size, 0),
				  "fan send");
	}
	fan_wait_done(f->nf_p.from, FAN_SUBS);
	if (record) {
		f->raw_cpu += cpu_nsec() - c0;
		f->raw_time += now_nsec() - t0;
		f->raw_events += n;
	}
}

static const struct agent_state fan_pump_state, fan_wait_state;

static agent_step
fan_next_round(struct fanrig *f, bool warm)
{
	unsigned n = warm ? MIN_U(2000u, f->blk) : f->blk;

	if (!opt_only_agent)
		nng_fan_round(f, n, !warm); /* blocks the loop */
	f->warming = warm;
	f->left = n;
	f->done = 0;
	f->t0 = now_nsec();
	f->cpu0 = cpu_nsec();
	return agent_async(&fan_pump_state, f);
}

static agent_step
fan_done_cb(agent *a, void *data, agent_msg *m)
{
	struct fanrig *f = data;
	char buf[FAN_SUBS];
	ssize_t k;

	(void)m;
	k = read(f->af_p.from, buf, FAN_SUBS - f->done);
	if (k <= 0) {
		f->err = -EPIPE;
		return agent_fail(-EPIPE);
	}
	f->done += (unsigned)k;
	if (f->done < FAN_SUBS)
		return agent_again();
	if (!f->warming) {
		f->time += now_nsec() - f->t0;
		f->pub_cpu += cpu_nsec() - f->cpu0;
		f->events += f->blk;
		f->rounds_left--;
	}
	if (f->rounds_left == 0)
		return agent_done();
	return fan_next_round(f, false);
}

static agent_step
fan_wait_once(agent *a, void *data)
{
	struct fanrig *f = data;
	int r = agent_await_fd(a, f->af_p.from, EPOLLIN, fan_done_cb);

	return r < 0 ? agent_fail(r) : agent_wait();
}

static const struct agent_state fan_wait_state = {
	.name = "fan-wait", .repeat = fan_wait_once,
};

static agent_step
fan_pump_repeat(agent *a, void *data)
{
	struct fanrig *f = data;

	for (unsigned k = 0; k < PUMP_BURST && f->left > 0; k++) {
		unsigned char v[3 + PAYLOAD_MAX];
		uint64_t seq = ++f->seq | (f->left == 1 ? FAN_END : 0);
		int r;

		v[0] = 0xc5; /* bin 16, as blob_encode */
		v[1] = (unsigned char)(opt_size >> 8);
		v[2] = (unsigned char)opt_size;
		fill(v + 3, opt_size, seq);
		r = agent_publish(a, "fan", v, 3 + opt_size);
		if (r < 0)
			return agent_fail(f->err = r);
		f->left--;
		if (r < FAN_SUBS) {
			/* someone's inbox is full: let it drain */
			f->short_bursts++;
			if (f->left == 0)
				break;
			r = agent_await_sleep(a, 20, resume_cb);
			return r < 0 ? agent_fail(r) : agent_wait();
		}
	}
	if (f->left == 0)
		return agent_async(&fan_wait_state, f);
	return agent_again();
}

static const struct agent_state fan_pump_state = {
	.name = "fan-pump", .repeat = fan_pump_repeat,
};

/* wait (up to 10 s) until every subscriber's subscribe is in */
static agent_step
fan_subs_repeat(agent *a, void *data)
{
	struct fanrig *f = data;
	int r;

	if (agent_subscribers(a, "fan") == FAN_SUBS)
		return fan_next_round(f, true);
	if (now_nsec() - f->t0 > 10 * 1000000000ull)
		return agent_fail(f->err = -ETIMEDOUT);
	r = agent_await_sleep(a, 1000, resume_cb);
	return r < 0 ? agent_fail(r) : agent_wait();
}

static const struct agent_state fan_subs_state = {
	.name = "fan-subs", .repeat = fan_subs_repeat,
};

static agent_step
fan_begin(agent *a)
{
	struct fanrig *f = agent_self(a);

	f->t0 = now_nsec();
	return agent_async(&fan_subs_state, f);
}

static const struct agent_def fan_def = {
	.name = "pub",
	.begin = fan_begin,
};

static void
bench_fanout(struct rig *g, double *n, double *l, double *n_us, double *l_us,
	     uint64_t *short_bursts, uint64_t *got, uint64_t *missed)
{
	struct fanrig f = { .rounds_left = ROUNDS };
	agent_loop *loop = NULL;
	agent *a = NULL;
	char url[256], report[64];
	int r;

	f.blk = opt_events / ROUNDS;
	peer_spawn(&f.nf_p, -1, "nng-fan-recv", g->dir, NULL);
	peer_wait_ready(&f.nf_p);
	for (int i = 0; i < FAN_SUBS; i++) {
		snprintf(url, sizeof(url), "ipc://%s/fan-%d.sock", g->dir, i);
		nng_check(nng_push0_open(&f.push[i]), "push0");
		nng_check(nng_dial(f.push[i], url, NULL, 0), "dial");
	}

	snprintf(url, sizeof(url), "ipc://%s/inbox/pub.sock", g->dir);
	r = agent_loop_new(&loop);
	if (r >= 0)
		r = agent_new(&a, loop, &fan_def, &f);
	if (r >= 0)
		r = agent_listen(a, url);
	if (r < 0)
		die("publisher agent: %s", strerror(-r));
	peer_spawn(&f.af_p, -1, "agent-fan-sub", NULL, NULL);
	peer_wait_ready(&f.af_p);
	r = agent_run(a);
	if (r != AGENT_EXIT_DONE || f.err < 0)
		die("libagent fan-out: exit %d (%s)", r, strerror(-f.err));
	agent_unref(a);
	agent_loop_unref(loop);

	for (int i = 0; i < FAN_SUBS; i++)
		nng_close(f.push[i]); /* the receivers have every event */
	peer_finish(&f.nf_p, NULL, 0);
	peer_finish(&f.af_p, report, sizeof(report));
	if (sscanf(report, "%" SCNu64 " %" SCNu64, got, missed) != 2)
		die("no report from the subscribers");
	*short_bursts = f.short_bursts;
	*n = f.raw_time ? (double)f.raw_events * 1e9 / (double)f.raw_time : 0;
	*l = (double)f.events * 1e9 / (double)f.time;
	*n_us = f.raw_events ? (double)f.raw_cpu / 1e3 / (double)f.raw_events
			     : 0;
	*l_us = (double)f.pub_cpu / 1e3 / (double)f.events;
}

/* ---- one configuration: every figure, printed as a table ------------------------- */

static const char *
verdict(bool ok)
{
	return ok ? "met" : "MISSED";
}

static void
rmdir_rig(const char *dir)
{
	static const char *const names[] = {
		"inbox/echo.sock", "inbox/caller.sock", "inbox/sink.sock",
		"inbox/pub.sock", "raw-rt.sock", "raw-push.sock",
	};
	char path[64];

	/* the sockets' owners are gone; remove their files */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		(void)remove(path);
	}
	for (int i = 0; i < FAN_SUBS; i++) {
		snprintf(path, sizeof(path), "%s/inbox/fsub%d.sock", dir, i);
		(void)remove(path);
		snprintf(path, sizeof(path), "%s/fan-%d.sock", dir, i);
		(void)remove(path);
	}
	snprintf(path, sizeof(path), "%s/inbox", dir);
	(void)remove(path);
	if (rmdir(dir) < 0)
		fprintf(stderr, "rmdir %s: %m, ignoring\n", dir);
}

static void
run_config(int cpu)
{
	struct rig g = { .dir = "/tmp/bm.XXXXXX" };
	struct lat u, n, l;
	double ur, nr, lr, fn, fl, fn_us, fl_us;
	uint64_t eagain, f_short, f_got, f_missed;

	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0)
			die("sched_setaffinity: %m");
	}
	if (!mkdtemp(g.dir))
		die("mkdtemp: %m");
	if (setenv("AGENTD_RUNTIME_DIR", g.dir, 1) < 0)
		die("setenv: %m");
	unsetenv("AGENTD_LINK_FD");
	unsetenv("AGENTD_INBOX");
	unsetenv("AGENTD_NAME");

	bench_rt(&g, &u, &n, &l);
	bench_rate(&g, &ur, &nr, &lr, &eagain);
	bench_fanout(&g, &fn, &fl, &fn_us, &fl_us, &f_short, &f_got,
		     &f_missed);
	rmdir_rig(g.dir);

	printf("\n== %s ==\n", cpu >= 0 ?
	       "pinned: both processes on CPU 0" :
	       "unpinned: the scheduler places both processes");
	printf("request round trip, %u-byte payload, %u round trips each "
	       "after %u warm-up,\nin %u interleaved rounds\n",
	       opt_size, opt_rt / ROUNDS * ROUNDS, opt_warm, ROUNDS);
	printf("  %-34s %10s %10s %10s\n", "", "p50 us", "p99 us", "mean us");
	printf("  %-34s %10.1f %10.1f %10.1f\n",
	       "AF_UNIX socketpair (floor)", u.p50, u.p99, u.mean);
	printf("  %-34s %10.1f %10.1f %10.1f\n",
	       "raw nng pair0 (baseline)", n.p50, n.p99, n.mean);
	printf("  %-34s %10.1f %10.1f %10.1f\n",
	       "libagent request -> response", l.p50, l.p99, l.mean);
	printf("  %-34s %10.2f %10.2f %10.2f   target <= %.2f: "
	       "p50 %s, mean %s\n", "ratio libagent / raw nng",
	       l.p50 / n.p50, l.p99 / n.p99, l.mean / n.mean, TARGET_RT,
	       verdict(l.p50 / n.p50 <= TARGET_RT),
	       verdict(l.mean / n.mean <= TARGET_RT));
	printf("one-way events, %u-byte payload, %u events each in order, "
	       "in %u interleaved rounds\n", opt_size,
	       opt_events / ROUNDS * ROUNDS, ROUNDS);
	printf("  %-34s %10s\n", "", "events/s");
	printf("  %-34s %10.0f\n", "AF_UNIX socketpair (floor)", ur);
	printf("  %-34s %10.0f\n", "raw nng push0/pull0 (baseline)", nr);
	printf("  %-34s %10.0f   (%" PRIu64 " sends met -EAGAIN; %.1f "
	       "envelopes per nng message)\n", "libagent events", lr, eagain,
	       g.ag_batches ? (double)g.ag_sent / (double)g.ag_batches : 0.0);
	printf("  %-34s %10.2f   target >= %.0f: %s\n",
	       "ratio libagent / raw nng", lr / nr, TARGET_RATE,
	       verdict(lr / nr >= TARGET_RATE));
	printf("fan-out, %u-byte value, %u events each to %d subscribers "
	       "(one process, a loop each),\nin %u interleaved rounds\n",
	       opt_size, opt_events / ROUNDS * ROUNDS, FAN_SUBS, ROUNDS);
	printf("  %-34s %10s %14s\n", "", "events/s", "sender CPU us");
	printf("  %-34s %10.0f %14.2f\n", "raw nng: 8 push0 sends (baseline)",
	       fn, fn_us);
	printf("  %-34s %10.0f %14.2f   (%" PRIu64 " publishes reached "
	       "fewer than %d; %" PRIu64 " updates received, %" PRIu64
	       " missed)\n", "libagent agent_publish", fl, fl_us, f_short,
	       FAN_SUBS, f_got, f_missed);
	printf("  %-34s %10.2f %14.2f\n", "ratio libagent / raw nng",
	       fl / fn, fn_us > 0 ? fl_us / fn_us : 0.0);
	fflush(stdout);
}

static void
spawn_config(const char *const fwd[], int cpu)
{
	char cpu_s[16], name[] = "bench-messaging", run[] = "--run";
	char buf[8][32];
	char *argv[16];
	size_t k = 0;
	pid_t pid;
	int status, r;

	snprintf(cpu_s, sizeof(cpu_s), "%d", cpu);
	argv[k++] = name;
	for (size_t i = 0; fwd[i] && i < 8; i++) {
		snprintf(buf[i], sizeof(buf[i]), "%s", fwd[i]);
		argv[k++] = buf[i];
	}
	argv[k++] = run;
	argv[k++] = cpu_s;
	argv[k] = NULL;
	fflush(stdout);
	r = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ);
	if (r != 0)
		die("posix_spawn: %s", strerror(r));
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		die("the %s measurement failed", cpu > 0 ? "pinned" :
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
		"[-e EVENTS] [-s PAYLOAD_BYTES] [-m pinned|unpinned|both] "
		"[-A]\n  -A: libagent only, no baselines (for perf record)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "run", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	char o_r[32], o_w[32], o_e[32], o_s[32], o_a[] = "-A";
	const char *fwd[] = { o_r, o_w, o_e, o_s, NULL, NULL };
	const char *mode = "both";
	sigset_t set;
	int c, run_cpu = -2;

	/* nng's threads inherit this mask (PLATFORM.md) */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (argc >= 3 && strcmp(argv[1], "--peer") == 0) {
		const char *m = argv[2];
		const char *e = getenv("BENCH_MSG_SIZE");
		if (e)
			opt_size = parse_uint(e, 8, PAYLOAD_MAX, "size");
		if (strcmp(m, "unix-echo") == 0)
			peer_unix_echo();
		else if (strcmp(m, "unix-send") == 0)
			peer_unix_send();
		else if (strcmp(m, "nng-echo") == 0 && argc >= 4)
			peer_nng_echo(argv[3]);
		else if (strcmp(m, "nng-send") == 0 && argc >= 4)
			peer_nng_send(argv[3]);
		else if (strcmp(m, "agent-echo") == 0 && argc >= 4)
			peer_agent_echo(argv[3]);
		else if (strcmp(m, "agent-send") == 0)
			peer_agent_send();
		else if (strcmp(m, "nng-fan-recv") == 0 && argc >= 4)
			peer_nng_fan_recv(argv[3]);
		else if (strcmp(m, "agent-fan-sub") == 0)
			peer_agent_fan_sub();
		else
			die("bad peer mode");
		return 0;
	}

	while ((c = getopt_long(argc, argv, "r:w:e:s:m:Ah", longopts,
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
		case 'A':
			opt_only_agent = true;
			break;
		case 'R':
			run_cpu = (int)parse_uint(optarg, 0, 1024, "cpu") - 1;
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

	/* the measuring processes get the options, the peers the size */
	snprintf(o_r, sizeof(o_r), "-r%u", opt_rt);
	snprintf(o_w, sizeof(o_w), "-w%u", opt_warm);
	snprintf(o_e, sizeof(o_e), "-e%u", opt_events);
	snprintf(o_s, sizeof(o_s), "-s%u", opt_size);
	if (opt_only_agent)
		fwd[4] = o_a;
	if (setenv("BENCH_MSG_SIZE", o_s + 2, 1) < 0)
		die("setenv: %m");

	printf("bench-messaging: two processes over ipc (nng %s), %u-byte "
	       "payloads; targets from issue 5\n", nng_version(), opt_size);
	if (strcmp(mode, "unpinned") != 0)
		spawn_config(fwd, 1);     /* --run CPU+1: CPU 0 */
	if (strcmp(mode, "pinned") != 0)
		spawn_config(fwd, 0);     /* --run 0: unpinned */
	return 0;
}
