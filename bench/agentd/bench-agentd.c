/* SPDX-License-Identifier: MIT */
/*
 * bench-agentd - agentd's performance figures (issue 4 "Performance" and
 * the agentctl figure of issue 6), each printed beside a baseline measured
 * in the same run:
 *
 *   crash   crash -> running again with RestartSec=0, p50/p99 over K
 *           SIGKILLs; baseline: posix_spawn+wait of the same agent binary
 *           (standalone, ending in begin()). Target: p99 < base p50 + 5 ms.
 *   start   N Type=agent agents (Instances=N) until all are running;
 *           baseline: N x posix_spawn+wait of /bin/true. Target: < 2x.
 *   rss     agentd's VmRSS with N agents running (target < 16 MB);
 *           baseline: agentd with one agent.
 *   status  `agentctl status --json` with N agents, R runs, p50/p99
 *           (target < 50 ms); baselines: the same request from this
 *           program over the control socket, and spawning
 *           `agentctl --version`.
 *   stop    SIGTERM -> agentd exit with N agents in 10 ordered groups
 *           (target < 2 s); baseline: SIGTERM + reap of N standalone
 *           bench agents this program started itself.
 *
 * Usage: bench-agentd --agentd PATH --agentctl PATH --agent PATH
 *                     [-n N] [-k CRASHES] [-r RUNS] [--no-cgroup] [TEST...]
 * TEST is one of crash start status rss stop (default: all, in that order;
 * rss and status run on the agentd of start). Run it under `taskset -c 0`
 * for the pinned figures (agentd and its agents inherit the affinity).
 *
 * The runtime directory is a fresh mkdtemp /tmp/a.XXXXXX, removed at the
 * end; every process started is killed on exit or on SIGINT/SIGTERM.
 * Agents report their own timestamps through a FIFO (bench-stamp.h), so
 * waiting for them costs no polling; the last step, "agentd says
 * running", is a long poll on agentd's event ring (crash) or a status
 * poll over the control socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "proto.h"
#include "proto-ctl.h"
#include "proto-read.h"

#include "bench-stamp.h"

extern char **environ;

/* ---- options -------------------------------------------------------- */

static char *arg_agentd;
static char *arg_agentctl;
static char *arg_agent;

/* argv strings (execve wants char *) */
static char s_units[] = "--units", s_rtdir[] = "--runtime-dir",
	    s_nocg[] = "--no-cgroup", s_json[] = "--json",
	    s_status[] = "status", s_version[] = "--version",
	    s_true[] = "/bin/true";
static unsigned arg_n = 1000;
static unsigned arg_crashes = 1000;
static unsigned arg_runs = 50;
static bool arg_no_cgroup;
static const char *arg_crash_type = "agent"; /* Type= of the crash agent */

/* ---- process bookkeeping and cleanup --------------------------------- */

#define MAX_TRACKED 8192

static volatile pid_t tracked[MAX_TRACKED];
static volatile sig_atomic_t n_tracked;
static char rt_dir[64];

static void
track(pid_t pid)
{
	for (int i = 0; i < n_tracked; i++)
		if (tracked[i] == 0) {
			tracked[i] = pid;
			return;
		}
	if (n_tracked < MAX_TRACKED)
		tracked[n_tracked++] = pid;
}

static void
untrack(pid_t pid)
{
	for (int i = 0; i < n_tracked; i++)
		if (tracked[i] == pid)
			tracked[i] = 0;
}

static void
kill_tracked(void)
{
	for (int i = 0; i < n_tracked; i++)
		if (tracked[i] > 0)
			kill(tracked[i], SIGKILL);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void
cleanup(void)
{
	kill_tracked();
	for (int i = 0; i < n_tracked; i++)
		if (tracked[i] > 0)
			waitpid(tracked[i], NULL, 0);
	n_tracked = 0;
	if (rt_dir[0] && getenv("BENCH_KEEP"))
		fprintf(stderr, "bench-agentd: kept %s\n", rt_dir);
	else if (rt_dir[0])
		nftw(rt_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	rt_dir[0] = 0;
}

static void
on_signal(int sig)
{
	kill_tracked();
	signal(sig, SIG_DFL);
	raise(sig);
}

static _Noreturn void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench-agentd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* ---- time and statistics -------------------------------------------- */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double
ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static void
sleep_us(unsigned us)
{
	struct timespec ts = { .tv_sec = us / 1000000,
			       .tv_nsec = (long)(us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct stats {
	double p50, p99, min, max, mean;
	size_t n;
};

/* Sorts v in place. Nearest-rank percentiles. */
static struct stats
stats_of(uint64_t *v, size_t n)
{
	struct stats s = { .n = n };
	double sum = 0;

	if (n == 0)
		return s;
	qsort(v, n, sizeof(*v), cmp_u64);
	for (size_t i = 0; i < n; i++)
		sum += (double)v[i];
	s.min = ms(v[0]);
	s.max = ms(v[n - 1]);
	s.mean = sum / (double)n / 1e6;
	s.p50 = ms(v[(n * 50 + 99) / 100 - 1]);
	s.p99 = ms(v[(n * 99 + 99) / 100 - 1]);
	return s;
}

static void
print_stats(const char *what, struct stats s)
{
	printf("  %-44s p50 %8.3f ms  p99 %8.3f ms  (min %.3f max %.3f mean %.3f, n=%zu)\n",
	       what, s.p50, s.p99, s.min, s.max, s.mean, s.n);
}

static const char *
verdict(bool ok)
{
	return ok ? "MET" : "MISSED";
}

/* ---- spawning --------------------------------------------------------- */

static char **bench_env;   /* environ without AGENTD_* etc., + BENCH_STAMP */
static char **exit_env;    /* bench_env + BENCH_EXIT=1 */

static bool
env_dropped(const char *e)
{
	static const char *const drop[] = {
		"AGENTD_", "NOTIFY_SOCKET=", "WATCHDOG_", "LISTEN_",
		"JOURNAL_STREAM=", "BENCH_",
	};

	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		if (strncmp(e, drop[i], strlen(drop[i])) == 0)
			return true;
	return false;
}

static char **
env_build(const char *extra1, const char *extra2)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 3, sizeof(*env));
	if (!env)
		die("out of memory");
	for (size_t i = 0; i < n; i++)
		if (!env_dropped(environ[i]))
			env[k++] = environ[i];
	if (extra1)
		env[k++] = strdup(extra1);
	if (extra2)
		env[k++] = strdup(extra2);
	return env;
}

/* posix_spawn path with argv; stdout/stderr to out_path (NULL: /dev/null),
 * stdin from /dev/null. Returns the pid (tracked). */
static pid_t
spawn(const char *path, char *const argv[], char *const envp[],
      const char *out_path)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t empty;
	pid_t pid;
	int r;

	sigemptyset(&empty);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &empty);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out_path ? out_path : "/dev/null",
					 O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	r = posix_spawn(&pid, path, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r != 0)
		die("posix_spawn %s: %s", path, strerror(r));
	track(pid);
	return pid;
}

static int
reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid %d: %s", (int)pid, strerror(errno));
	untrack(pid);
	return st;
}

/* A pid exists and is not a zombie. */
static bool
pid_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool alive = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] && p[2])
		alive = p[2] != 'Z' && p[2] != 'X';
	fclose(f);
	return alive;
}

/* ---- the stamp FIFO ---------------------------------------------------- */

static int stamp_fd = -1;
static char stamp_path[128];

static void
stamp_open(void)
{
	snprintf(stamp_path, sizeof(stamp_path), "%s/stamps", rt_dir);
	if (mkfifo(stamp_path, 0600) < 0)
		die("mkfifo %s: %s", stamp_path, strerror(errno));
	/* O_RDWR: there is always a reader, and we never see EOF */
	stamp_fd = open(stamp_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (stamp_fd < 0)
		die("open %s: %s", stamp_path, strerror(errno));
	fcntl(stamp_fd, F_SETPIPE_SZ, 1024 * 1024);
}

/* Read one stamp, waiting up to deadline_ns; false on timeout. */
static bool
stamp_read(struct bench_stamp *s, uint64_t deadline_ns)
{
	for (;;) {
		ssize_t n = read(stamp_fd, s, sizeof(*s));
		struct pollfd pfd = { .fd = stamp_fd, .events = POLLIN };
		uint64_t now;

		if (n == (ssize_t)sizeof(*s))
			return true;
		if (n > 0)
			die("short stamp read (%zd bytes)", n);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			die("read stamps: %s", strerror(errno));
		now = now_ns();
		if (now >= deadline_ns)
			return false;
		poll(&pfd, 1, (int)((deadline_ns - now) / 1000000 + 1));
	}
}

static void
stamp_drain(void)
{
	struct bench_stamp s;

	while (read(stamp_fd, &s, sizeof(s)) > 0)
		;
}

/* ---- the control socket -------------------------------------------------- */

struct ctl {
	nng_socket s;
	uint64_t corr;
};

static void agentd_check_pid(pid_t pid, const char *log);

static int
ctl_open(struct ctl *c, uint64_t deadline_ns, pid_t pid, const char *log)
{
	char url[160];
	int rv;

	snprintf(url, sizeof(url), "ipc://%s/control.sock", rt_dir);
	if ((rv = nng_req0_open(&c->s)) != 0)
		return proto_errno_from_nng(rv);
	nng_socket_set_ms(c->s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_size(c->s, NNG_OPT_RECVMAXSZ, PROTO_MSG_MAX);
	nng_socket_set_ms(c->s, NNG_OPT_RECVTIMEO, 10000);
	nng_socket_set_ms(c->s, NNG_OPT_SENDTIMEO, 10000);
	for (;;) {
		char path[160];
		struct stat st;

		snprintf(path, sizeof(path), "%s/control.sock", rt_dir);
		/* only dial a socket that exists: a refused connect is cheap,
		 * but keep the listener's log quiet */
		if (stat(path, &st) == 0 &&
		    (rv = nng_dial(c->s, url, NULL, 0)) == 0)
			return 0;
		if (pid > 0)
			agentd_check_pid(pid, log);
		if (now_ns() > deadline_ns) {
			nng_close(c->s);
			return -ETIMEDOUT;
		}
		sleep_us(2000);
	}
}

static void
ctl_close(struct ctl *c)
{
	nng_close(c->s);
}

struct status_view {
	const char *want;     /* state that counts */
	unsigned n;           /* records */
	unsigned n_want;      /* records in state want */
	uint32_t *pids;       /* optional: every pid, in order */
	unsigned pids_cap;
	struct proto_status_record first;
};

static int
status_cb(const struct proto_status_record *rec, void *userdata)
{
	struct status_view *v = userdata;

	if (v->n == 0)
		v->first = *rec;
	if (v->pids && v->n < v->pids_cap)
		v->pids[v->n] = rec->pid;
	v->n++;
	if (strcmp(rec->state, v->want) == 0)
		v->n_want++;
	return 0;
}

static unsigned ctl_timeouts; /* requests agentd never answered */

static int ctl_status_once(struct ctl *c, const char *name,
			   struct status_view *v);

/*
 * CTL_STATUS names (NULL: all). 0 or -errno. A request that gets no answer
 * within 10 s is counted and retried once on a new connection, so one lost
 * request shows up in the report instead of ending the run.
 */
static int
ctl_status(struct ctl *c, const char *name, struct status_view *v)
{
	int r = ctl_status_once(c, name, v);

	if (r != -ETIMEDOUT)
		return r;
	ctl_timeouts++;
	fprintf(stderr, "bench-agentd: agentd did not answer a status request within 10 s, reconnecting\n");
	nng_close(c->s);
	r = ctl_open(c, now_ns() + 10000000000ull, 0, NULL);
	if (r < 0)
		return r;
	return ctl_status_once(c, name, v);
}

static int
pack_names(msgpack_packer *pk, const void *arg)
{
	return proto_names_pack(pk, arg);
}

static int
pack_events_req(msgpack_packer *pk, const void *arg)
{
	return proto_events_req_pack(pk, arg);
}

/*
 * One control request of type (payload packed by pack from arg) and its
 * answer, which must be reply_type with our corr: 0 with *ret (the caller
 * frees it) and its envelope in *env, or -errno.
 */
static int
ctl_call(struct ctl *c, uint32_t type, proto_pack_fn pack, const void *arg,
	 uint32_t reply_type, nng_msg **ret, struct proto_env *env)
{
	nng_msg *msg;
	int r, rv;

	r = proto_build(type, 0, ++c->corr, "agentctl", pack, arg, &msg);
	if (r < 0)
		return r;
	if ((rv = nng_sendmsg(c->s, msg, 0)) != 0) {
		nng_msg_free(msg);
		return proto_errno_from_nng(rv);
	}
	if ((rv = nng_recvmsg(c->s, &msg, 0)) != 0)
		return proto_errno_from_nng(rv);
	r = proto_env_decode_msg(msg, env);
	if (r >= 0 && (env->type != reply_type || env->corr != c->corr))
		r = -EBADMSG;
	if (r < 0) {
		nng_msg_free(msg);
		return r;
	}
	*ret = msg;
	return 0;
}

static int
ctl_status_once(struct ctl *c, const char *name, struct status_view *v)
{
	const char *names[1] = { name };
	struct proto_names pn = { .names = names, .n = name ? 1 : 0 };
	struct proto_env env;
	struct proto_reader rd;
	nng_msg *msg;
	int r;

	r = ctl_call(c, PROTO_MSG_CTL_STATUS, pack_names, &pn,
		     PROTO_MSG_CTL_STATUS_REPLY, &msg, &env);
	if (r < 0)
		return r;
	v->n = v->n_want = 0;
	proto_reader_init(&rd, env.payload, env.payload_len);
	r = proto_status_reply_unpack(&rd, status_cb, v);
	nng_msg_free(msg);
	return r;
}

/* What ctl_events_once looks for: NAME's transition to running with pid. */
struct event_wait {
	const char *name;
	char detail[32]; /* "pid N" */
	bool seen;
};

static int
event_cb(const struct proto_event_record *ev, void *userdata)
{
	struct event_wait *w = userdata;

	if (strcmp(ev->name, w->name) == 0 && strcmp(ev->to, "running") == 0 &&
	    strcmp(ev->detail, w->detail) == 0)
		w->seen = true;
	return 0;
}

/*
 * One CTL_EVENTS long poll: events from *since on, waiting up to wait_ms
 * for one; *since moves past what came. 0 or -errno.
 */
static int
ctl_events_once(struct ctl *c, uint64_t *since, uint32_t wait_ms,
		struct event_wait *w)
{
	struct proto_events_req q = { .since_seq = *since, .wait_ms = wait_ms };
	struct proto_seq_head head;
	struct proto_env env;
	struct proto_reader rd;
	nng_msg *msg;
	int r;

	r = ctl_call(c, PROTO_MSG_CTL_EVENTS, pack_events_req, &q,
		     PROTO_MSG_CTL_EVENTS_REPLY, &msg, &env);
	if (r < 0)
		return r;
	proto_reader_init(&rd, env.payload, env.payload_len);
	r = proto_events_reply_unpack(&rd, &head, event_cb, w);
	if (r >= 0)
		*since = head.next_seq;
	nng_msg_free(msg);
	return r;
}

/* ---- agentd ------------------------------------------------------------- */

struct agentd {
	pid_t pid;
	char units[128];
	char log[128];
	struct ctl ctl;
};

static void
write_file(const char *dir, const char *name, const char *fmt, ...)
{
	char path[256];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f)
		die("create %s: %s", path, strerror(errno));
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	if (fclose(f) != 0)
		die("write %s: %s", path, strerror(errno));
}

/* A fresh units directory below rt_dir. */
static void
units_dir(struct agentd *d, const char *name)
{
	snprintf(d->units, sizeof(d->units), "%s/%s", rt_dir, name);
	if (mkdir(d->units, 0700) < 0)
		die("mkdir %s: %s", d->units, strerror(errno));
	snprintf(d->log, sizeof(d->log), "%s/%s.log", rt_dir, name);
}

static void
agentd_start(struct agentd *d)
{
	char *argv[8];
	int i = 0;

	argv[i++] = arg_agentd;
	argv[i++] = s_units;
	argv[i++] = d->units;
	argv[i++] = s_rtdir;
	argv[i++] = rt_dir;
	if (arg_no_cgroup)
		argv[i++] = s_nocg;
	argv[i] = NULL;
	d->pid = spawn(arg_agentd, argv, bench_env, d->log);
}

static void
agentd_dial(struct agentd *d)
{
	int r = ctl_open(&d->ctl, now_ns() + 20000000000ull, d->pid, d->log);

	if (r < 0)
		die("cannot reach agentd's control socket in %s: %s (log: %s)",
		    rt_dir, strerror(-r), d->log);
}

static void
agentd_check_pid(pid_t pid, const char *log)
{
	char line[512];
	FILE *f;
	int st;

	if (waitpid(pid, &st, WNOHANG) != pid)
		return;
	untrack(pid);
	fprintf(stderr, "bench-agentd: agentd exited early (status 0x%x); %s:\n",
		st, log);
	f = fopen(log, "re");
	while (f && fgets(line, sizeof(line), f))
		fputs(line, stderr);
	if (f)
		fclose(f);
	exit(1);
}

static void
agentd_check_alive(struct agentd *d)
{
	agentd_check_pid(d->pid, d->log);
}

/* Wait until `want` agents are `running`: first for their begin stamps
 * (no polling), then poll status. Returns the time all were seen running. */
static uint64_t last_main_ns; /* stamp of the last main() seen */

static uint64_t
agentd_wait_running(struct agentd *d, unsigned want, uint64_t *ret_begin_all,
		    uint64_t timeout_ns)
{
	uint64_t deadline = now_ns() + timeout_ns;
	unsigned begins = 0;
	struct status_view v = { .want = "running" };
	struct bench_stamp s;
	int r;

	while (begins < want) {
		if (!stamp_read(&s, now_ns() + 200000000ull)) {
			agentd_check_alive(d);
			if (now_ns() > deadline)
				die("only %u of %u agents reached begin() in time",
				    begins, want);
			continue;
		}
		if (s.kind == BENCH_STAMP_BEGIN)
			begins++;
		else if (s.ns > last_main_ns)
			last_main_ns = s.ns;
	}
	if (ret_begin_all)
		*ret_begin_all = now_ns();
	for (;;) {
		r = ctl_status(&d->ctl, NULL, &v);
		if (r < 0)
			die("status: %s", strerror(-r));
		if (v.n_want >= want)
			return now_ns();
		if (now_ns() > deadline)
			die("only %u of %u agents running in time", v.n_want, want);
		sleep_us(500);
	}
}

static void
print_log_tail(const char *log, unsigned lines)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "tail -n %u '%s' >&2", lines, log);
	fprintf(stderr, "---- last lines of %s\n", log);
	fflush(stderr);
	(void)!system(cmd);
	fprintf(stderr, "----\n");
}

/* SIGTERM and reap (SIGKILL after 30 s); returns the time from the signal
 * to the reap. A hang or a death by signal is reported with the log. */
struct agents_watch {
	struct pollfd *pfds;
	uint64_t *t_end; /* per agent, ns after SIGTERM (optional) */
	unsigned n;
	bool done;
	uint64_t t_done; /* ns after SIGTERM */
};

/* True once every pidfd in w is readable (the processes have ended). */
static bool
agents_watch_check(struct agents_watch *w, uint64_t t0)
{
	unsigned alive = 0;

	if (!w || w->done)
		return true;
	if (poll(w->pfds, w->n, 0) < 0)
		return false;
	for (unsigned i = 0; i < w->n; i++) {
		if (w->pfds[i].fd < 0)
			continue;
		if (w->pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
			w->pfds[i].events = 0; /* ended: stop asking */
			if (w->t_end)
				w->t_end[i] = now_ns() - t0;
		} else
			alive++;
		/* an fd with events 0 reports nothing: count it as ended */
	}
	for (unsigned i = 0; i < w->n; i++)
		if (w->pfds[i].fd >= 0 && w->pfds[i].events == 0)
			w->pfds[i].fd = ~w->pfds[i].fd; /* negative: poll skips it */
	if (alive == 0) {
		w->done = true;
		w->t_done = now_ns() - t0;
		for (unsigned i = 0; i < w->n; i++)
			if (w->pfds[i].fd < -1)
				w->pfds[i].fd = ~w->pfds[i].fd;
	}
	return w->done;
}

static uint64_t agentd_stop_watch(struct agentd *d, int *ret_status,
				  struct agents_watch *w);

static uint64_t
agentd_stop(struct agentd *d, int *ret_status)
{
	return agentd_stop_watch(d, ret_status, NULL);
}

static uint64_t
agentd_stop_watch(struct agentd *d, int *ret_status, struct agents_watch *w)
{
	uint64_t t0, deadline;
	bool killed = false;
	int st = 0;
	pid_t r;

	ctl_close(&d->ctl);
	t0 = now_ns();
	deadline = t0 + 30000000000ull;
	kill(d->pid, SIGTERM);
	while ((r = waitpid(d->pid, &st, WNOHANG)) == 0) {
		agents_watch_check(w, t0);
		if (!killed && now_ns() > deadline) {
			fprintf(stderr, "bench-agentd: agentd %d did not exit within 30 s of SIGTERM, SIGKILL\n",
				(int)d->pid);
			if (getenv("BENCH_GDB")) {
				char cmd[200];

				snprintf(cmd, sizeof(cmd),
					 "gdb -p %d -batch -ex 'thread apply all bt' >&2 2>/dev/null",
					 (int)d->pid);
				(void)!system(cmd);
			}
			kill(d->pid, SIGKILL);
			killed = true;
		}
		sleep_us(200);
	}
	if (r < 0)
		die("waitpid agentd: %s", strerror(errno));
	untrack(d->pid);
	agents_watch_check(w, t0);
	t0 = now_ns() - t0;
	if (killed || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "bench-agentd: agentd %s (status 0x%x)\n",
			killed ? "hung at exit" : "did not exit cleanly", st);
		print_log_tail(d->log, 30);
	}
	if (ret_status)
		*ret_status = killed ? -1 : st;
	d->pid = 0;
	return t0;
}

static void
proc_status_field(pid_t pid, const char *key, char *buf, size_t size)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	FILE *f;

	snprintf(buf, size, "?");
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			char *p = line + kl + 1;

			p += strspn(p, " \t");
			p[strcspn(p, "\n")] = 0;
			snprintf(buf, size, "%s", p);
			break;
		}
	fclose(f);
}

static long
proc_kb(pid_t pid, const char *key)
{
	char buf[64];

	proc_status_field(pid, key, buf, sizeof(buf));
	return strtol(buf, NULL, 10);
}

/* utime + stime of a process (all its threads), in ms. */
static double
proc_cpu_ms(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f) || !(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		   &ut, &st) != 2) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

static unsigned
count_fds(pid_t pid)
{
	char path[64];
	struct stat st;
	unsigned n = 0;

	/* cheap: probe the fd numbers below a bound */
	for (int fd = 0; fd < 20000; fd++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		if (lstat(path, &st) == 0)
			n++;
	}
	return n;
}

/* ---- baselines ------------------------------------------------------------ */

/* n x posix_spawn + wait, each timed. */
static void
spawn_wait_times(const char *path, char *const argv[], char *const envp[],
		 uint64_t *v, unsigned n, uint64_t *ret_total)
{
	uint64_t t_all = now_ns();

	for (unsigned i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		pid_t pid = spawn(path, argv, envp, NULL);
		int st = reap(pid);

		v[i] = now_ns() - t0;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("%s exited with status 0x%x", path, st);
	}
	if (ret_total)
		*ret_total = now_ns() - t_all;
}

/* ---- crash -> running ----------------------------------------------------- */

static void
bench_crash(void)
{
	unsigned k = arg_crashes, base_n = k < 200 ? k : 200;
	uint64_t *crash = calloc(k, sizeof(uint64_t));
	uint64_t *to_main = calloc(k, sizeof(uint64_t));
	uint64_t *to_begin = calloc(k, sizeof(uint64_t));
	uint64_t *base = calloc(base_n, sizeof(uint64_t));
	uint64_t *base_begin = calloc(base_n, sizeof(uint64_t));
	uint64_t *base_main = calloc(base_n, sizeof(uint64_t));
	char *argv[] = { arg_agent, NULL };
	struct status_view v = { .want = "running" };
	struct agentd d = { 0 };
	struct stats sc, sb, sm, sg, sbb, sbm;
	uint32_t pid;
	uint64_t since = PROTO_SEQ_NOW;
	char rss[64];
	int r;

	if (!crash || !to_main || !to_begin || !base || !base_begin ||
	    !base_main)
		die("out of memory");

	printf("== crash -> running again (Restart=always, RestartSec=0), %u crashes\n", k);

	/* baseline: the same binary, standalone, ending in begin() */
	stamp_drain();
	for (unsigned i = 0; i < base_n; i++) {
		struct bench_stamp s;
		uint64_t t0 = now_ns();
		pid_t p = spawn(arg_agent, argv, exit_env, NULL);
		int st = reap(p);

		base[i] = now_ns() - t0;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("bench-agent (BENCH_EXIT=1) exited with status 0x%x", st);
		base_begin[i] = base_main[i] = 0;
		while (stamp_read(&s, now_ns()))
			if (s.pid == (uint32_t)p && s.kind == BENCH_STAMP_BEGIN)
				base_begin[i] = s.ns - t0;
			else if (s.pid == (uint32_t)p)
				base_main[i] = s.ns - t0;
	}

	units_dir(&d, "crash");
	write_file(d.units, "crash.group",
		   "[Group]\nOrder=1\nIntensity=1000000\nPeriod=1s\n");
	write_file(d.units, "crash.agent",
		   "[Agent]\nExecStart=%s\nType=%s\nGroup=crash\n"
		   "Restart=always\nRestartSec=0\n", arg_agent, arg_crash_type);
	agentd_start(&d);
	agentd_dial(&d);
	agentd_wait_running(&d, 1, NULL, 20000000000ull);
	proc_status_field(d.pid, "VmRSS", rss, sizeof(rss));
	printf("  (agentd with 1 agent: VmRSS %s)\n", rss);

	r = ctl_status(&d.ctl, "crash", &v);
	if (r < 0 || v.n != 1 || v.n_want != 1)
		die("crash agent not running (%s)", strerror(-r));
	pid = v.first.pid;
	{
		/* where agentd's event ring is now: later waits start here */
		struct event_wait w = { .name = "crash" };
		r = ctl_events_once(&d.ctl, &since, 0, &w);
		if (r < 0)
			die("events: %s", strerror(-r));
	}

	for (unsigned i = 0; i < k; i++) {
		uint64_t t_kill, deadline, t_main = 0, t_begin = 0;
		struct bench_stamp s;
		uint32_t newpid = 0;

		stamp_drain();
		t_kill = now_ns();
		if (kill((pid_t)pid, SIGKILL) < 0)
			die("kill %u: %s", pid, strerror(errno));
		deadline = t_kill + 10000000000ull;
		/* the restarted agent tells us when it runs main() and begin() */
		while (!t_begin) {
			if (!stamp_read(&s, deadline))
				die("crash %u: no restart within 10 s (see %s)", i, d.log);
			if (s.pid == pid)
				continue;
			if (s.kind == BENCH_STAMP_MAIN)
				t_main = s.ns;
			else {
				t_begin = s.ns;
				newpid = s.pid;
			}
		}
		/* then agentd must say running with the new pid: a long
		 * poll on its event ring (as agentctl wait does), which
		 * costs no CPU while the agent starts */
		{
			struct event_wait w = { .name = "crash" };

			snprintf(w.detail, sizeof(w.detail), "pid %u", newpid);
			while (!w.seen) {
				uint64_t now = now_ns();

				if (now > deadline)
					die("crash %u: agentd does not report pid %u running",
					    i, newpid);
				r = ctl_events_once(&d.ctl, &since,
						    (uint32_t)((deadline - now) / 1000000 + 1),
						    &w);
				if (r < 0)
					die("events: %s", strerror(-r));
			}
		}
		crash[i] = now_ns() - t_kill;
		to_main[i] = t_main ? t_main - t_kill : 0;
		to_begin[i] = t_begin - t_kill;
		pid = newpid;
	}
	r = ctl_status(&d.ctl, "crash", &v);
	printf("  agentd after %u crashes: state %s, restarts %u, VmRSS %s\n",
	       k, r >= 0 ? v.first.state : "?", r >= 0 ? v.first.restarts : 0,
	       (proc_status_field(d.pid, "VmRSS", rss, sizeof(rss)), rss));
	agentd_stop(&d, NULL);

	sb = stats_of(base, base_n);
	sbb = stats_of(base_begin, base_n);
	sbm = stats_of(base_main, base_n);
	sm = stats_of(to_main, k);
	sg = stats_of(to_begin, k);
	sc = stats_of(crash, k);
	print_stats("baseline: posix_spawn+wait, same binary", sb);
	print_stats("baseline: posix_spawn -> its main()", sbm);
	print_stats("baseline: posix_spawn -> its begin()", sbb);
	print_stats("ours: kill -> new agent's main()", sm);
	print_stats("ours: kill -> new agent's begin()", sg);
	print_stats("ours: kill -> agentd reports running", sc);
	printf("  target: p99 %.3f ms < baseline p50 %.3f + 5 ms = %.3f ms: %s\n\n",
	       sc.p99, sb.p50, sb.p50 + 5, verdict(sc.p99 < sb.p50 + 5));
	free(crash);
	free(to_main);
	free(to_begin);
	free(base);
	free(base_begin);
	free(base_main);
}

/* ---- start, rss, status ------------------------------------------------- */

static void
bench_status(struct agentd *d)
{
	unsigned runs = arg_runs;
	uint64_t *v_json = calloc(runs, sizeof(uint64_t));
	uint64_t *v_plain = calloc(runs, sizeof(uint64_t));
	uint64_t *v_raw = calloc(runs, sizeof(uint64_t));
	uint64_t *v_ver = calloc(runs, sizeof(uint64_t));
	uint64_t *v_true = calloc(runs, sizeof(uint64_t));
	char *json_argv[] = { arg_agentctl, s_rtdir,
			      rt_dir, s_json, s_status, NULL };
	char *plain_argv[] = { arg_agentctl, s_rtdir,
			       rt_dir, s_status, NULL };
	char *ver_argv[] = { arg_agentctl, s_version, NULL };
	char *true_argv[] = { s_true, NULL };
	struct status_view sv = { .want = "running" };
	struct stats sj, sp, sr, svv, st;
	char out[160];
	struct stat sst;
	pid_t pid;
	int status;

	if (!v_json || !v_plain || !v_raw || !v_ver || !v_true)
		die("out of memory");
	printf("== agentctl status --json with %u agents, %u runs\n", arg_n, runs);

	/* one checked run: exit 0 and the size of the output */
	snprintf(out, sizeof(out), "%s/status.json", rt_dir);
	pid = spawn(arg_agentctl, json_argv, bench_env, out);
	status = reap(pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("agentctl --json status exited with 0x%x (see %s)", status, out);
	if (stat(out, &sst) == 0)
		printf("  (one run: exit 0, %lld bytes of JSON)\n",
		       (long long)sst.st_size);

	for (unsigned i = 0; i < runs; i++) {
		uint64_t t0 = now_ns();
		int r = ctl_status(&d->ctl, NULL, &sv);

		v_raw[i] = now_ns() - t0;
		if (r < 0 || sv.n != arg_n)
			die("raw status: %s, %u records", strerror(-r), sv.n);
	}
	spawn_wait_times("/bin/true", true_argv, bench_env, v_true, runs, NULL);
	spawn_wait_times(arg_agentctl, ver_argv, bench_env, v_ver, runs, NULL);
	spawn_wait_times(arg_agentctl, plain_argv, bench_env, v_plain, runs, NULL);
	spawn_wait_times(arg_agentctl, json_argv, bench_env, v_json, runs, NULL);

	st = stats_of(v_true, runs);
	svv = stats_of(v_ver, runs);
	sr = stats_of(v_raw, runs);
	sp = stats_of(v_plain, runs);
	sj = stats_of(v_json, runs);
	print_stats("baseline: posix_spawn+wait /bin/true", st);
	print_stats("baseline: agentctl --version", svv);
	print_stats("baseline: raw CTL_STATUS round trip (C)", sr);
	print_stats("ours: agentctl status (plain)", sp);
	print_stats("ours: agentctl --json status", sj);
	printf("  target: p99 %.3f ms < 50 ms: %s\n\n", sj.p99,
	       verdict(sj.p99 < 50));
	free(v_json);
	free(v_plain);
	free(v_raw);
	free(v_ver);
	free(v_true);
}

static void
bench_start(bool do_rss, bool do_status)
{
	unsigned n = arg_n;
	uint64_t *v = calloc(n, sizeof(uint64_t));
	char *true_argv[] = { s_true, NULL };
	char *agent_argv[] = { arg_agent, NULL };
	uint64_t base_total, agent_total, t0, t_begin, t_run;
	double cpu;
	struct agentd d = { 0 };
	struct stats sb, sa;
	char buf[64];
	int st;

	if (!v)
		die("out of memory");
	printf("== start %u Type=agent agents until all are running\n", n);
	spawn_wait_times("/bin/true", true_argv, bench_env, v, n, &base_total);
	sb = stats_of(v, n);
	stamp_drain();
	spawn_wait_times(arg_agent, agent_argv, exit_env, v, n, &agent_total);
	sa = stats_of(v, n);
	stamp_drain();

	units_dir(&d, "start");
	write_file(d.units, "bench.agent",
		   "[Agent]\nExecStart=%s\nType=agent\nInstances=%u\n"
		   "StartTimeoutSec=60s\n", arg_agent, n);
	t0 = now_ns();
	agentd_start(&d);
	agentd_dial(&d);
	last_main_ns = 0;
	t_run = agentd_wait_running(&d, n, &t_begin, 120000000000ull);
	cpu = proc_cpu_ms(d.pid);

	printf("  baseline: %u x posix_spawn+wait /bin/true        %9.1f ms  (p50 %.3f ms each)\n",
	       n, ms(base_total), sb.p50);
	printf("  baseline: %u x posix_spawn+wait bench-agent      %9.1f ms  (p50 %.3f ms each; same binary, standalone, ends in begin)\n",
	       n, ms(agent_total), sa.p50);
	printf("  ours: agentd spawned -> all %u main() stamps    %9.1f ms  (all exec'd)\n",
	       n, ms(last_main_ns - t0));
	printf("  ours: agentd spawned -> all %u begin() stamps   %9.1f ms\n",
	       n, ms(t_begin - t0));
	printf("  ours: agentd spawned -> all %u running         %9.1f ms  (%.2fx baseline)\n",
	       n, ms(t_run - t0), (double)(t_run - t0) / (double)base_total);
	printf("  (agentd's own CPU time until then: %.0f ms)\n", cpu);
	printf("  target: within 2x of /bin/true: %.1f ms < %.1f ms: %s\n\n",
	       ms(t_run - t0), 2 * ms(base_total),
	       verdict(t_run - t0 < 2 * base_total));

	if (do_rss) {
		long rss = proc_kb(d.pid, "VmRSS");

		printf("== agentd's memory with %u agents running\n", n);
		proc_status_field(d.pid, "VmHWM", buf, sizeof(buf));
		printf("  ours: VmRSS %ld kB (%.1f MB), VmHWM %s, threads %ld, fds %u\n",
		       rss, rss / 1024.0, buf, proc_kb(d.pid, "Threads"),
		       count_fds(d.pid));
		printf("  target: VmRSS < 16 MB: %s\n\n", verdict(rss < 16 * 1024));
	}
	if (do_status)
		bench_status(&d);

	t0 = agentd_stop(&d, &st);
	printf("== (extra) SIGTERM -> agentd exit, %u agents in one group: %.1f ms, status 0x%x\n\n",
	       n, ms(t0), st);
	free(v);
}

/* ---- ordered stop ----------------------------------------------------- */

#define STOP_GROUPS 10

static void
bench_stop(void)
{
	unsigned n = arg_n, per = (n + STOP_GROUPS - 1) / STOP_GROUPS;
	unsigned total = per * STOP_GROUPS;
	uint32_t *pids = calloc(total, sizeof(uint32_t));
	pid_t *own = calloc(total, sizeof(pid_t));
	char *agent_argv[] = { arg_agent, NULL };
	struct status_view v = { .want = "running", .pids_cap = total };
	uint64_t t0, t_base, t_start, t_stop;
	struct pollfd *pfds = calloc(total, sizeof(struct pollfd));
	uint64_t *t_end = calloc(total, sizeof(uint64_t));
	struct agents_watch watch = { 0 };
	struct agentd d = { 0 };
	unsigned left = 0, begins = 0;
	struct bench_stamp s;
	int st, r;

	if (!pids || !own || !pfds || !t_end)
		die("out of memory");
	v.pids = pids;
	printf("== ordered stop: %u agents in %d groups (Order=1..%d), SIGTERM -> agentd exit\n",
	       total, STOP_GROUPS, STOP_GROUPS);

	/* baseline: the same agents without agentd, SIGTERM all, reap all */
	stamp_drain();
	for (unsigned i = 0; i < total; i++)
		own[i] = spawn(arg_agent, agent_argv, bench_env, NULL);
	while (begins < total) {
		if (!stamp_read(&s, now_ns() + 60000000000ull))
			die("standalone agents did not start");
		if (s.kind == BENCH_STAMP_BEGIN)
			begins++;
	}
	t0 = now_ns();
	for (unsigned i = 0; i < total; i++)
		kill(own[i], SIGTERM);
	for (unsigned i = 0; i < total; i++)
		reap(own[i]);
	t_base = now_ns() - t0;
	stamp_drain();

	units_dir(&d, "stop");
	for (int g = 1; g <= STOP_GROUPS; g++) {
		char name[32];

		snprintf(name, sizeof(name), "g%02d.group", g);
		write_file(d.units, name, "[Group]\nOrder=%d\n", g);
		snprintf(name, sizeof(name), "w%02d.agent", g);
		write_file(d.units, name,
			   "[Agent]\nExecStart=%s\nType=agent\nGroup=g%02d\n"
			   "Instances=%u\nStartTimeoutSec=60s\n", arg_agent, g, per);
	}
	t0 = now_ns();
	agentd_start(&d);
	agentd_dial(&d);
	t_start = agentd_wait_running(&d, total, NULL, 120000000000ull) - t0;
	r = ctl_status(&d.ctl, NULL, &v);
	if (r < 0 || v.n != total)
		die("status before stop: %s, %u records", strerror(-r), v.n);

	/* pidfds of every agent: readable once it has exited (reaped or not),
	 * so the time the last agent ended is seen apart from agentd's exit */
	for (unsigned i = 0; i < total; i++) {
		pfds[i].fd = pids[i] ? (int)syscall(SYS_pidfd_open, pids[i], 0) : -1;
		pfds[i].events = POLLIN;
		if (pids[i] && pfds[i].fd < 0)
			die("pidfd_open %u: %s", pids[i], strerror(errno));
	}
	watch.pfds = pfds;
	watch.t_end = t_end;
	watch.n = total;
	t_stop = agentd_stop_watch(&d, &st, &watch);
	for (unsigned i = 0; i < total; i++) {
		if (pids[i] && pid_alive((pid_t)pids[i]))
			left++;
		if (pfds[i].fd >= 0)
			close(pfds[i].fd);
	}
	printf("  (start of the %u agents in %d ordered groups took %.1f ms)\n",
	       total, STOP_GROUPS, ms(t_start));
	printf("  baseline: SIGTERM + reap of %u standalone bench agents (no agentd): %9.1f ms\n",
	       total, ms(t_base));
	/* status lists agents by group in start order: w01 (Order=1) first */
	printf("  agents ended, by group (stopped in reverse order), ms after SIGTERM:\n   ");
	for (int g = STOP_GROUPS; g >= 1; g--) {
		uint64_t lo = UINT64_MAX, hi = 0;

		for (unsigned i = (unsigned)(g - 1) * per; i < (unsigned)g * per; i++) {
			lo = t_end[i] < lo ? t_end[i] : lo;
			hi = t_end[i] > hi ? t_end[i] : hi;
		}
		printf(" g%02d %.0f-%.0f", g, ms(lo), ms(hi));
	}
	printf("\n");
	printf("  ours: SIGTERM -> the last of the %u agents ended:    %9.1f ms\n",
	       total, watch.done ? ms(watch.t_done) : -1.0);
	if (st == -1)
		printf("  ours: SIGTERM -> agentd exited: HUNG at exit, SIGKILLed after %.1f ms; %u agents left\n",
		       ms(t_stop), left);
	else
		printf("  ours: SIGTERM -> agentd exited (status 0x%x), %u agents left: %9.1f ms\n",
		       st, left, ms(t_stop));
	printf("  target: < 2000 ms (agents gone and agentd exited): %s%s\n\n",
	       verdict(t_stop < 2000000000ull && left == 0 && st == 0),
	       watch.done && watch.t_done < 2000000000ull && st != 0 ?
	       " (the agents were gone in time; agentd's exit was not)" : "");
	free(pfds);
	free(t_end);
	free(pids);
	free(own);
}

/* ---- main --------------------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: bench-agentd --agentd PATH --agentctl PATH --agent PATH\n"
		"                    [-n N] [-k CRASHES] [-r RUNS] [--no-cgroup]\n"
		"                    [--crash-type agent|exec]\n"
		"                    [crash|start|rss|status|stop...]\n"
		"  -n N         agents (default 1000)\n"
		"  -k CRASHES   crashes for the crash test (default 1000)\n"
		"  -r RUNS      agentctl runs for the status test (default 50)\n"
		"  --no-cgroup  pass --no-cgroup to agentd\n"
		"  --crash-type Type= of the crash test's agent (default agent;\n"
		"               exec: running at exec, no link nor inbox, the\n"
		"               agent runs standalone: agentd's own restart path)\n");
}

static unsigned
parse_count(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 100000)
		die("%s: expected a number from 1 to 100000, got '%s'", what, s);
	return (unsigned)v;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agentd", required_argument, NULL, 'D' },
		{ "agentctl", required_argument, NULL, 'C' },
		{ "agent", required_argument, NULL, 'A' },
		{ "no-cgroup", no_argument, NULL, 'G' },
		{ "crash-type", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool t_crash = false, t_start = false, t_rss = false, t_status = false,
	     t_stop = false;
	char stamp_env[200];
	char cpus[64];
	sigset_t mask;
	int c;

	while ((c = getopt_long(argc, argv, "n:k:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'D': arg_agentd = optarg; break;
		case 'C': arg_agentctl = optarg; break;
		case 'A': arg_agent = optarg; break;
		case 'G': arg_no_cgroup = true; break;
		case 'T':
			if (strcmp(optarg, "agent") && strcmp(optarg, "exec"))
				die("--crash-type: agent or exec, not '%s'", optarg);
			arg_crash_type = optarg;
			break;
		case 'n': arg_n = parse_count(optarg, "-n"); break;
		case 'k': arg_crashes = parse_count(optarg, "-k"); break;
		case 'r': arg_runs = parse_count(optarg, "-r"); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!arg_agentd || !arg_agentctl || !arg_agent) {
		usage(stderr);
		return 2;
	}
	/* unit files want an absolute ExecStart= */
	if (!(arg_agentd = realpath(arg_agentd, NULL)) ||
	    !(arg_agentctl = realpath(arg_agentctl, NULL)) ||
	    !(arg_agent = realpath(arg_agent, NULL)))
		die("realpath of a program: %s", strerror(errno));
	if (optind == argc)
		t_crash = t_start = t_rss = t_status = t_stop = true;
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "crash") == 0)
			t_crash = true;
		else if (strcmp(argv[i], "start") == 0)
			t_start = true;
		else if (strcmp(argv[i], "rss") == 0)
			t_rss = true;
		else if (strcmp(argv[i], "status") == 0)
			t_status = true;
		else if (strcmp(argv[i], "stop") == 0)
			t_stop = true;
		else {
			usage(stderr);
			return 2;
		}
	}

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* nng needs SIGPIPE blocked before its first call (its threads
	 * inherit the mask); children get an empty mask (spawn()). */
	sigemptyset(&mask);
	sigaddset(&mask, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	snprintf(rt_dir, sizeof(rt_dir), "/tmp/a.XXXXXX");
	if (!mkdtemp(rt_dir))
		die("mkdtemp: %s", strerror(errno));
	atexit(cleanup);
	stamp_open();
	snprintf(stamp_env, sizeof(stamp_env), "BENCH_STAMP=%s", stamp_path);
	bench_env = env_build(stamp_env, NULL);
	exit_env = env_build(stamp_env, "BENCH_EXIT=1");

	{
		cpu_set_t set;

		cpus[0] = 0;
		if (sched_getaffinity(0, sizeof(set), &set) == 0) {
			size_t off = 0;

			for (int i = 0; i < CPU_SETSIZE && off < sizeof(cpus) - 8; i++)
				if (CPU_ISSET(i, &set))
					off += (size_t)snprintf(cpus + off, sizeof(cpus) - off,
								"%s%d", off ? "," : "", i);
		}
	}
	printf("bench-agentd: N=%u crashes=%u runs=%u cpus=%s cgroup=%s runtime=%s\n\n",
	       arg_n, arg_crashes, arg_runs, cpus,
	       arg_no_cgroup ? "off (--no-cgroup)" : "agentd's choice", rt_dir);
	fflush(stdout);

	if (t_crash)
		bench_crash();
	fflush(stdout);
	if (t_start || t_rss || t_status)
		bench_start(t_rss, t_status);
	fflush(stdout);
	if (t_stop)
		bench_stop();
	if (ctl_timeouts)
		printf("WARNING: %u status requests got no answer within 10 s\n",
		       ctl_timeouts);
	fflush(stdout);
	return 0;
}
