/* SPDX-License-Identifier: MIT */
/*
 * process.c - an agent's processes: preparing and spawning the main
 * process, watching it through its pidfd, reaping every child (agentd is a
 * child subreaper, so orphaned descendants land here too), and killing the
 * agent's whole tree: its cgroup v2 (cgroup.kill) when agentd has a
 * writable cgroup, else its process group plus every process that descends
 * from it or carries its AGENTD_NAME (a setsid'ed double fork).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentd.h"
#include "fd-util.h"
#include "log.h"
#include "macro.h"
#include "spawn.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char **environ;

static int
pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int
pidfd_send_signal_(int fd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
}

/* ---- environment -------------------------------------------------------- */

static bool
env_key_is(const char *kv, const char *key)
{
	size_t l = strlen(key);

	return strncmp(kv, key, l) == 0 && kv[l] == '=';
}

static bool
env_is_private(const char *kv)
{
	static const char *const drop[] = {
		"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_PID",
		"LISTEN_FDS", "LISTEN_FDNAMES", "JOURNAL_STREAM", "AGENTD_NAME",
		"AGENTD_RUNTIME_DIR", "AGENTD_LINK_FD",
		"AGENTD_INBOX",
		"INVOCATION_ID", "MAINPID",
	};

	for (size_t i = 0; i < ELEMENTSOF(drop); i++)
		if (env_key_is(kv, drop[i]))
			return true;
	return false;
}

static bool
env_overridden(char *const *env, size_t n, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t kl = eq ? (size_t)(eq - kv) + 1 : strlen(kv);

	for (size_t i = 0; i < n; i++)
		if (strncmp(env[i], kv, kl) == 0)
			return true;
	return false;
}

struct envbuf {
	char **v;
	size_t n, cap;
};

static int
envbuf_add(struct envbuf *e, char *kv)
{
	if (!kv)
		return -ENOMEM;
	if (e->n + 2 > e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 64;
		char **nv = realloc(e->v, cap * sizeof(char *));

		if (!nv) {
			free(kv);
			return -ENOMEM;
		}
		e->v = nv;
		e->cap = cap;
	}
	e->v[e->n++] = kv;
	e->v[e->n] = NULL;
	return 0;
}

static int
envbuf_addf(struct envbuf *e, const char *fmt, ...) _printf_(2, 3);

static int
envbuf_addf(struct envbuf *e, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	return envbuf_add(e, s);
}

static void
envbuf_done(struct envbuf *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
}

/* agentd's environment minus its private variables, then Environment=,
 * then the AGENTD_* contract (docs/ARCHITECTURE.md). */
static int
build_env(struct agent *a, const struct passwd *pw, struct envbuf *e)
{
	struct manager *m = a->m;
	struct unit_agent *u = a->unit;
	int r = 0;

	for (char **p = environ; p && *p && r >= 0; p++) {
		if (env_is_private(*p) ||
		    env_overridden(u->environment, u->n_environment, *p))
			continue;
		if (pw && (env_key_is(*p, "HOME") || env_key_is(*p, "USER") ||
			   env_key_is(*p, "LOGNAME") || env_key_is(*p, "SHELL")))
			continue;
		r = envbuf_add(e, strdup(*p));
	}
	for (size_t i = 0; i < u->n_environment && r >= 0; i++) {
		if (env_is_private(u->environment[i]))
			continue;
		r = envbuf_add(e, strdup(u->environment[i]));
	}
	if (r >= 0 && pw) {
		r = envbuf_addf(e, "HOME=%s", pw->pw_dir);
		if (r >= 0)
			r = envbuf_addf(e, "USER=%s", pw->pw_name);
		if (r >= 0)
			r = envbuf_addf(e, "LOGNAME=%s", pw->pw_name);
		if (r >= 0)
			r = envbuf_addf(e, "SHELL=%s", pw->pw_shell);
	}
	if (r >= 0)
		r = envbuf_addf(e, "AGENTD_NAME=%s", a->name);
	if (r >= 0)
		r = envbuf_addf(e, "AGENTD_RUNTIME_DIR=%s", m->runtime_dir);
	if (r >= 0 && u->type == UNIT_TYPE_AGENT) {
		r = envbuf_addf(e, "AGENTD_LINK_FD=%d", SPAWN_LINK_FD);
		if (r >= 0)
			r = envbuf_addf(e, "AGENTD_INBOX=ipc://%s/inbox/%s.sock",
					m->runtime_dir, a->name);
	}
	if (r >= 0 && u->type == UNIT_TYPE_NOTIFY) {
		r = envbuf_addf(e, "NOTIFY_SOCKET=%s", m->notify_path);
		if (r >= 0 && u->watchdog > 0)
			r = envbuf_addf(e, "WATCHDOG_USEC=%llu",
					(unsigned long long)u->watchdog);
		/* the child fills in its pid (spawn.c) */
		if (r >= 0 && u->watchdog > 0)
			r = envbuf_addf(e, "WATCHDOG_PID=%0*d", SPAWN_PID_SLOT - 1, 0);
	}
	return r;
}

static const char *
env_get(char *const *env, const char *key)
{
	for (size_t i = 0; env && env[i]; i++)
		if (env_key_is(env[i], key))
			return env[i] + strlen(key) + 1;
	return NULL;
}

static void process_table_free(void);

/* ---- cgroups ------------------------------------------------------------ */

static int
read_small_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	safe_close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return (int)n;
}

/*
 * State, parent and process group of pid from /proc/PID/stat (the fields
 * after the last ')', since the command name may hold anything). Any
 * thread. 0, or -errno / -EBADMSG; outputs may be NULL.
 */
int
proc_stat_read(pid_t pid, char *ret_state, pid_t *ret_ppid, pid_t *ret_pgrp)
{
	char path[64], buf[1024], *rp, st;
	int ppid, pgrp, r;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	r = read_small_file(path, buf, sizeof(buf));
	if (r <= 0)
		return r < 0 ? r : -EBADMSG;
	rp = strrchr(buf, ')');
	if (!rp || sscanf(rp + 1, " %c %d %d", &st, &ppid, &pgrp) != 3)
		return -EBADMSG;
	if (ret_state)
		*ret_state = st;
	if (ret_ppid)
		*ret_ppid = (pid_t)ppid;
	if (ret_pgrp)
		*ret_pgrp = (pid_t)pgrp;
	return 0;
}

static int
write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	r = write_all(fd, s, strlen(s));
	safe_close(fd);
	return r;
}

/* The cgroup2 mount point, from /proc/self/mountinfo. */
static int
cgroup2_mount(char *buf, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], *sep;
		unsigned a, b;

		/* id parent maj:min root mountpoint opts... - fstype ... */
		if (sscanf(line, "%u %u %*s %*s %4095s", &a, &b, mnt) != 3)
			continue;
		sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		if (strlen(mnt) >= size) {
			r = -ENAMETOOLONG;
			break;
		}
		strcpy(buf, mnt);
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

/*
 * Each agentd holds flock(LOCK_EX) on its own agentd.PID directory for its
 * whole life (the fd is O_CLOEXEC, never closed; the kernel drops the lock
 * when agentd dies, however it dies). That, not the PID or /proc/PID/comm,
 * says "this agentd is gone": a second agentd sharing the parent cgroup
 * must never touch a live agentd's agents.
 */
static int cgroup_lock_fd = -1;

/*
 * The cgroups of an agentd that died without cleaning up (SIGKILL): its
 * agents' main processes died with it (PR_SET_PDEATHSIG), but their
 * descendants may live on in the agents' cgroups. Kill them and remove the
 * cgroups. Only agentd.PID directories that no live agentd holds locked
 * (LOCK_EX|LOCK_NB succeeds) are touched; the lock is held meanwhile.
 */
static void
cgroup_clean_stale(const char *parent)
{
	struct dirent *d;
	DIR *dir = opendir(parent);

	if (!dir)
		return;
	while ((d = readdir(dir))) {
		char path[PATH_MAX];
		struct dirent *e;
		DIR *sub;
		char *end;
		long pid;
		int lfd;

		if (strncmp(d->d_name, "agentd.", 7) != 0)
			continue;
		pid = strtol(d->d_name + 7, &end, 10);
		if (*end || pid <= 0 || pid == getpid())
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", parent,
				     d->d_name) >= sizeof(path))
			continue;
		lfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (lfd < 0)
			continue;
		if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
			if (errno != EWOULDBLOCK)
				log_warn("flock %s, leaving it alone", path);
			safe_close(lfd);
			continue; /* a live agentd holds it */
		}
		sub = fdopendir(lfd);
		if (!sub) {
			safe_close(lfd);
			continue;
		}
		/* sub owns lfd now: the lock lasts until closedir() */
		log_info("removing the cgroups of agentd %ld, which is gone", pid);
		while ((e = readdir(sub))) {
			char p2[PATH_MAX + 512], procs[16];

			if (e->d_type != DT_DIR || e->d_name[0] == '.' ||
			    strlen(path) + strlen(e->d_name) + 20 > sizeof(p2))
				continue;
			snprintf(p2, sizeof(p2), "%s/%.255s/cgroup.kill", path, e->d_name);
			(void)write_file(p2, "1");
			snprintf(p2, sizeof(p2), "%s/%.255s/cgroup.procs", path, e->d_name);
			for (int i = 0; i < 100 && read_small_file(p2, procs, sizeof(procs)) > 0; i++)
				usleep(10000); /* killed processes leave quickly */
			snprintf(p2, sizeof(p2), "%s/%.255s", path, e->d_name);
			if (rmdir(p2) < 0)
				log_warn("rmdir %s, ignoring", p2);
		}
		if (rmdir(path) < 0)
			log_warn("rmdir %s, ignoring", path);
		closedir(sub);
	}
	closedir(dir);
}

int
cgroup_setup(struct manager *m)
{
	char mnt[PATH_MAX], own[PATH_MAX], line[PATH_MAX];
	char *base = NULL;
	FILE *f;
	int r;

	if (m->no_cgroup) {
		log_info("process-group mode (--no-cgroup)");
		return 0;
	}
	r = cgroup2_mount(mnt, sizeof(mnt));
	if (r < 0) {
		log_info("no cgroup v2 mount, process-group mode");
		return 0;
	}
	own[0] = '\0';
	f = fopen("/proc/self/cgroup", "re");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "0::", 3) == 0) {
				line[strcspn(line, "\n")] = '\0';
				snprintf(own, sizeof(own), "%s", line + 3);
				break;
			}
		fclose(f);
	}
	if (!own[0]) {
		log_info("not in a cgroup v2 hierarchy, process-group mode");
		return 0;
	}
	{
		_cleanup_free_ char *parent = NULL;

		if (asprintf(&parent, "%s%s", mnt,
			     strcmp(own, "/") == 0 ? "" : own) < 0)
			return -ENOMEM;
		cgroup_clean_stale(parent);
	}
	if (asprintf(&base, "%s%s/agentd.%d", mnt,
		     strcmp(own, "/") == 0 ? "" : own, (int)getpid()) < 0)
		return -ENOMEM;
	if (mkdir(base, 0755) < 0 && errno != EEXIST) {
		log_info("cannot create cgroup %s (%s), process-group mode", base,
			 strerror(errno));
		free(base);
		return 0;
	}
	/* Lock it before anything else can see it as stale (see
	 * cgroup_lock_fd); no lock, no cgroup mode. */
	cgroup_lock_fd = open(base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			      O_CLOEXEC);
	if (cgroup_lock_fd < 0 || flock(cgroup_lock_fd, LOCK_EX | LOCK_NB) < 0) {
		log_info("cannot lock cgroup %s (%s), process-group mode", base,
			 strerror(errno));
		cgroup_lock_fd = safe_close(cgroup_lock_fd);
		(void)rmdir(base);
		free(base);
		return 0;
	}
	m->cgroup_base = base;
	m->cgroup_created = true;
	log_info("cgroup mode: agents under %s", base);
	return 0;
}

void
cgroup_remove_agent(struct agent *a)
{
	if (!a->cgroup)
		return;
	if (rmdir(a->cgroup) < 0 && errno != ENOENT)
		log_debug("%s: rmdir %s: %s", a->name, a->cgroup, strerror(errno));
}

void
cgroup_cleanup(struct manager *m)
{
	if (m->cgroup_base && m->cgroup_created &&
	    rmdir(m->cgroup_base) < 0 && errno != ENOENT)
		log_warn("%s: rmdir %s, ignoring", __func__, m->cgroup_base);
	free(m->cgroup_base);
	m->cgroup_base = NULL;
	process_table_free();
}

/*
 * The agent's cgroup directory. A child created by
 * clone3(CLONE_INTO_CGROUP) into a cgroup that once got a cgroup.kill is
 * SIGKILLed at birth on this kernel (6.18: the fork's kill sequence is
 * taken from agentd's cgroup but compared with the target's), so after a
 * cgroup.kill the directory is made afresh (when it is empty), else the
 * child writes cgroup.procs. A cgroup that never got one is simply used
 * again: an rmdir and a mkdir per restart cost an RCU-delayed teardown
 * that the next mkdir can wait for (the crash -> running p99 of a plain
 * Type=exec agent went from 3-6 ms without cgroups to 7-11 ms with them).
 * *ret_fresh: clone3(CLONE_INTO_CGROUP) is safe.
 */
static int
cgroup_open_agent(struct agent *a, bool *ret_fresh)
{
	int fd;

	*ret_fresh = false;
	if (!a->m->cgroup_base)
		return -1;
	if (!a->cgroup &&
	    asprintf(&a->cgroup, "%s/%s", a->m->cgroup_base, a->name) < 0) {
		a->cgroup = NULL;
		return -ENOMEM;
	}
	if (!a->cgroup_killed) {
		fd = open(a->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			*ret_fresh = true;
			return fd;
		}
	}
	if (rmdir(a->cgroup) < 0 && errno != ENOENT)
		log_debug("%s: rmdir %s: %s, reusing it", a->name, a->cgroup,
			  strerror(errno));
	if (mkdir(a->cgroup, 0755) == 0) {
		*ret_fresh = true;
		a->cgroup_killed = false;
	} else if (errno != EEXIST)
		return -errno;
	fd = open(a->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fd;
}

/* Pids in the agent's cgroup (up to max); -errno if unreadable. */
static int
cgroup_pids(struct agent *a, pid_t *pids, size_t max, size_t *ret_n)
{
	char path[PATH_MAX], buf[8192];
	size_t n = 0;
	char *p;
	int r;

	snprintf(path, sizeof(path), "%s/cgroup.procs", a->cgroup);
	r = read_small_file(path, buf, sizeof(buf));
	if (r < 0)
		return r;
	for (p = buf; *p && n < max;) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		if (v > 0)
			pids[n++] = (pid_t)v;
		p = end;
		while (*p == '\n')
			p++;
	}
	*ret_n = n;
	return 0;
}

/* ---- the process table (pgid mode) -------------------------------------- */

struct proc_entry {
	pid_t pid, ppid, pgrp;
	int verdict; /* 0 unknown, 1 ours, -1 not ours, 2 visiting */
};

static int
proc_cmp(const void *x, const void *y)
{
	const struct proc_entry *a = x, *b = y;

	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

static struct proc_entry *
proc_find(struct proc_entry *t, size_t n, pid_t pid)
{
	struct proc_entry key = { .pid = pid };

	return bsearch(&key, t, n, sizeof(*t), proc_cmp);
}

/* Does /proc/PID/environ carry AGENTD_NAME=name? */
static bool
proc_env_has(pid_t pid, const char *kv)
{
	char path[64], buf[65536];
	size_t l = strlen(kv);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	safe_close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (ssize_t i = 0; i < n;) {
		size_t el = strnlen(buf + i, (size_t)(n - i));

		if (el == l && memcmp(buf + i, kv, l) == 0)
			return true;
		i += (ssize_t)el + 1;
	}
	return false;
}

static int
proc_table(struct proc_entry **ret, size_t *ret_n)
{
	struct proc_entry *t = NULL;
	size_t n = 0, cap = 0;
	struct dirent *d;
	DIR *dir;

	dir = opendir("/proc");
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		pid_t ppid, pgrp;
		char st;

		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		if (proc_stat_read((pid_t)atoi(d->d_name), &st, &ppid,
				   &pgrp) < 0)
			continue;
		if (st == 'Z' || st == 'X')
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			struct proc_entry *nt = realloc(t, nc * sizeof(*t));

			if (!nt) {
				free(t);
				closedir(dir);
				return -ENOMEM;
			}
			t = nt;
			cap = nc;
		}
		t[n].pid = (pid_t)atoi(d->d_name);
		t[n].ppid = ppid;
		t[n].pgrp = pgrp;
		t[n].verdict = 0;
		n++;
	}
	closedir(dir);
	if (n > 1)
		qsort(t, n, sizeof(*t), proc_cmp);
	*ret = t;
	*ret_n = n;
	return 0;
}

static int
proc_judge(struct agent *a, struct proc_entry *t, size_t n,
	   struct proc_entry *e, const char *marker, pid_t self, int depth)
{
	struct proc_entry *p;

	if (e->verdict == 1 || e->verdict == -1)
		return e->verdict;
	if (depth > 64 || e->verdict == 2)
		return -1;
	if (e->pid == self || e->pid == 1) {
		e->verdict = -1;
		return -1;
	}
	if ((a->pgid > 0 && e->pgrp == a->pgid) ||
	    (a->pid > 0 && e->pid == a->pid)) {
		e->verdict = 1;
		return 1;
	}
	if (e->ppid == self) {
		/* our child: an agent's main process, or an orphan */
		if (manager_find_pid(a->m, e->pid))
			e->verdict = -1;
		else
			e->verdict = proc_env_has(e->pid, marker) ? 1 : -1;
		return e->verdict;
	}
	p = proc_find(t, n, e->ppid);
	if (!p) {
		e->verdict = -1;
		return -1;
	}
	e->verdict = 2;
	e->verdict = proc_judge(a, t, n, p, marker, self, depth + 1);
	return e->verdict;
}

/*
 * The table is read at most once per event-loop iteration and shared by
 * every agent that needs it in that iteration (a stale table only errs on
 * the side of "not empty yet": the next reap poll reads it again).
 */
static struct {
	struct proc_entry *t;
	size_t n;
	uint64_t iteration;
	bool valid;
} ptab;

static int
proc_table_get(struct manager *m, struct proc_entry **ret, size_t *ret_n)
{
	uint64_t it = 0;
	bool have_it = m->event && sd_event_get_iteration(m->event, &it) >= 0;
	int r;

	if (!have_it || !ptab.valid || ptab.iteration != it) {
		free(ptab.t);
		ptab.t = NULL;
		ptab.n = 0;
		ptab.valid = false;
		r = proc_table(&ptab.t, &ptab.n);
		if (r < 0)
			return r;
		ptab.valid = have_it;
		ptab.iteration = it;
	}
	for (size_t i = 0; i < ptab.n; i++)
		ptab.t[i].verdict = 0;
	*ret = ptab.t;
	*ret_n = ptab.n;
	return 0;
}

static void
process_table_free(void)
{
	free(ptab.t);
	ptab.t = NULL;
	ptab.n = 0;
	ptab.valid = false;
}

/* Signal every process of the agent's tree (pgid mode); returns how many. */
static unsigned
proc_signal_tree(struct agent *a, int sig)
{
	struct proc_entry *t = NULL;
	char marker[PROTO_NAME_MAX + 16];
	pid_t self = getpid();
	unsigned count = 0;
	size_t n = 0;

	if (proc_table_get(a->m, &t, &n) < 0)
		return 0;
	snprintf(marker, sizeof(marker), "AGENTD_NAME=%s", a->name);
	for (size_t i = 0; i < n; i++) {
		if (proc_judge(a, t, n, &t[i], marker, self, 0) != 1)
			continue;
		count++;
		if (sig > 0)
			(void)kill(t[i].pid, sig);
	}
	return count;
}

static int
pid_cmp(const void *x, const void *y)
{
	pid_t a = *(const pid_t *)x, b = *(const pid_t *)y;

	return a < b ? -1 : a > b;
}

/* ---- exited processes ------------------------------------------------- */

/*
 * Releasing an exited process (the waitid() that reaps it) is taken off
 * the restart path. The exit of a multi-threaded process ends with its
 * last thread in release_task(): that thread wakes us (SIGCHLD, pidfd) and
 * only then flushes its own /proc dentries. The wakeup usually preempts it
 * on its CPU, and a waitid() that reaps then flushes the leader's
 * /proc/PID, whose shrink_dcache_parent() spins until that thread has
 * finished, which it cannot do while we hold its CPU: we spun until the
 * scheduler's tick took the CPU from us, 2-4 ms (perf: d_walk <
 * shrink_dcache_parent < proc_invalidate_siblings_dcache < release_task <
 * waitid), in a few per cent of the restarts of a libagent agent (its nng
 * threads are named through /proc/self/task), and for half of agentd's
 * CPU time in a stop of 1,000 of them.
 *
 * So an agent's exit is read with WNOWAIT and handled while its zombie
 * stays here with its pidfd; the dispatch pass that follows (and spawns
 * the restart) releases the zombies at its end, after a yield that lets
 * exiting threads finish. A zombie keeps its pid: no new process takes it
 * meanwhile.
 */
#define ZOMBIES_MAX 64 /* past it, release at once */

struct zombie {
	pid_t pid;
	int pidfd;
};

static struct zombie zombies[ZOMBIES_MAX];
static size_t n_zombies;

static void
let_exits_finish(void)
{
	(void)sched_yield();
}

static void
zombie_release(struct zombie *z)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid((idtype_t)P_PIDFD, (id_t)z->pidfd, &si, WEXITED | WNOHANG) < 0 &&
	    errno != ECHILD)
		log_warn("%s: waitid pid %d", __func__, (int)z->pid);
	z->pidfd = safe_close(z->pidfd);
}

/* The agent's main process, whose exit was read, is released later. */
static void
zombie_keep(struct agent *a)
{
	struct zombie z = { .pid = a->pid, .pidfd = a->pidfd };

	a->pidfd = -1; /* ours now */
	if (n_zombies == ZOMBIES_MAX) {
		let_exits_finish();
		zombie_release(&z);
		return;
	}
	zombies[n_zombies++] = z;
}

/* Release the zombie that leads process group PGID, if we keep it: a
 * zombie still counts as a member of its group. */
static void
zombie_release_pgid(pid_t pgid)
{
	for (size_t i = 0; i < n_zombies; i++)
		if (zombies[i].pid == pgid) {
			let_exits_finish();
			zombie_release(&zombies[i]);
			zombies[i] = zombies[--n_zombies];
			return;
		}
}

bool
process_have_zombies(void)
{
	return n_zombies > 0;
}

/*
 * Does agentd have a child that is no agent's main process? Orphans are
 * re-parented to the subreaper's first live thread, the main thread, so
 * its children file lists them. The file is read in page-sized pieces and
 * an exit between two pieces may hide an entry: it is read twice and any
 * stranger in either read counts. Unreadable: assume there are orphans.
 */
static bool
have_orphans(struct manager *m)
{
	_cleanup_free_ pid_t *known = NULL;
	_cleanup_free_ char *buf = NULL;
	size_t n_known = 0, cap = 0;
	char path[64];

	known = malloc((m->n_agents + n_zombies + 1) * sizeof(pid_t));
	if (!known)
		return true;
	for (size_t i = 0; i < m->n_agents; i++)
		if (m->agents[i]->pid > 0)
			known[n_known++] = m->agents[i]->pid;
	for (size_t i = 0; i < n_zombies; i++)
		known[n_known++] = zombies[i].pid;
	qsort(known, n_known, sizeof(pid_t), pid_cmp);
	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	for (int pass = 0; pass < 2; pass++) {
		size_t len = 0;
		ssize_t k;
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return true;
		for (;;) {
			if (len + 4096 + 1 > cap) {
				size_t nc = cap ? cap * 2 : 16384;
				char *nb = realloc(buf, nc);

				if (!nb) {
					safe_close(fd);
					return true;
				}
				buf = nb;
				cap = nc;
			}
			k = read(fd, buf + len, cap - len - 1);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				break;
			len += (size_t)k;
		}
		safe_close(fd);
		if (k < 0)
			return true;
		buf[len] = '\0';
		for (char *p = buf; *p;) {
			char *end;
			long v = strtol(p, &end, 10);
			pid_t pid = (pid_t)v;

			if (end == p)
				break;
			if (v > 0 && !bsearch(&pid, known, n_known,
					      sizeof(pid_t), pid_cmp))
				return true;
			p = end;
		}
	}
	return false;
}

/* ---- signals ------------------------------------------------------------ */

void
process_kill_main(struct agent *a, int sig)
{
	if (a->pidfd >= 0 && pidfd_send_signal_(a->pidfd, sig) < 0 &&
	    errno != ESRCH)
		log_warn("%s: %s: pidfd_send_signal %d, ignoring", __func__,
			 a->name, sig);
	/* its group: in cgroup mode only while the main process lives (the
	 * cgroup holds the rest; a group whose members are all gone frees
	 * its number for anyone's new session) */
	if (a->pgid > 0 && (a->pid > 0 || !a->cgroup))
		(void)kill(-a->pgid, sig);
}

void
process_kill_tree(struct agent *a, int sig)
{
	if (a->cgroup && sig == SIGKILL) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/cgroup.kill", a->cgroup);
		a->cgroup_killed = true; /* the next start needs a new one */
		if (write_file(path, "1") >= 0) {
			process_kill_main(a, sig);
			return;
		}
	}
	if (a->cgroup) {
		pid_t pids[1024];
		size_t n = 0;

		if (cgroup_pids(a, pids, ELEMENTSOF(pids), &n) >= 0)
			for (size_t i = 0; i < n; i++)
				(void)kill(pids[i], sig);
		process_kill_main(a, sig);
		return;
	}
	process_kill_main(a, sig);
	/*
	 * The group is signalled; what left it (setsid) is found in the
	 * process table. Once the main process is gone, its descendants
	 * outside the group are agentd's children (subreaper), so the
	 * table is read only if agentd has such orphans; a signal other
	 * than SIGKILL (agentctl kill) always reads it.
	 */
	if (sig != SIGKILL || a->pid > 0 || have_orphans(a->m))
		proc_signal_tree(a, sig);
}

bool
process_tree_empty(struct agent *a)
{
	if (a->pid > 0)
		return false;
	if (a->cgroup) {
		pid_t pids[4];
		size_t n = 0;

		if (cgroup_pids(a, pids, ELEMENTSOF(pids), &n) >= 0)
			return n == 0;
	}
	if (a->pgid > 0) {
		zombie_release_pgid(a->pgid);
		if (kill(-a->pgid, 0) == 0)
			return false;
		if (errno == ESRCH)
			a->pgid = 0; /* empty: its number may be anyone's next */
	}
	if (a->cgroup)
		return true;
	/*
	 * Main process gone, group empty: what may remain left the group
	 * (setsid, double fork) and, its ancestors being gone, was
	 * re-parented to agentd. No orphans, nothing left.
	 */
	if (!have_orphans(a->m))
		return true;
	return proc_signal_tree(a, 0) == 0;
}

/* ---- spawning ----------------------------------------------------------- */

/* An agent's main process exited, its status read with WNOWAIT into si:
 * keep the zombie for the dispatch pass, handle the exit now. */
static void
main_exited(struct agent *a, siginfo_t *si)
{
	a->pidfd_src = sd_event_source_disable_unref(a->pidfd_src);
	zombie_keep(a);
	agent_exited(a, si);
}

static int
pidfd_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct agent *a = userdata;
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid((idtype_t)P_PIDFD, (id_t)fd, &si,
		   WEXITED | WNOHANG | WNOWAIT) < 0) {
		if (errno == ECHILD) /* reaped by process_reap_all */
			return 0;
		log_warn("%s: waitid %s", __func__, a->name);
		return 0;
	}
	if (si.si_pid == 0)
		return 0;
	main_exited(a, &si);
	return 0;
}

void
process_release(struct agent *a)
{
	a->pidfd_src = sd_event_source_disable_unref(a->pidfd_src);
	a->pidfd = safe_close(a->pidfd);
	link_release(a);
	a->pid = 0;
}

int
process_spawn(struct agent *a, const char **ret_step)
{
	struct manager *m = a->m;
	struct unit_agent *u = a->unit;
	struct spawn_params p = {
		.argv = u->argv,
		.cwd = u->working_directory,
		.stdin_fd = m->null_fd,
		.stdout_fd = a->log_w,
		.cgroup_fd = -1,
		.link_fd = -1,
		.pdeathsig = SIGKILL,
	};
	struct envbuf env = { 0 };
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ gid_t *groups = NULL;
	struct passwd *pw = NULL;
	pid_t pid = 0;
	int r, pidfd;

	*ret_step = NULL;
	if (u->user) {
		int ng = 64;

		errno = 0;
		pw = getpwnam(u->user);
		if (!pw) {
			*ret_step = "User=";
			return errno ? -errno : -ESRCH;
		}
		for (;;) {
			gid_t *ng_buf = realloc(groups, (size_t)ng * sizeof(gid_t));
			int want = ng;

			if (!ng_buf)
				return -ENOMEM;
			groups = ng_buf;
			if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &want) >= 0) {
				ng = want;
				break;
			}
			if (want <= ng || want > 65536) {
				*ret_step = "getgrouplist";
				return -EINVAL;
			}
			ng = want;
		}
		p.set_user = true;
		p.uid = pw->pw_uid;
		p.gid = pw->pw_gid;
		p.groups = groups;
		p.n_groups = (size_t)ng;
		if (!p.cwd)
			p.cwd = NULL; /* systemd would use ~ only with WorkingDirectory=~ */
	}
	if (u->has_limit_nofile) {
		p.set_rlimit_nofile = true;
		p.rlimit_nofile.rlim_cur = p.rlimit_nofile.rlim_max =
			u->limit_nofile == UINT64_MAX ? RLIM_INFINITY
						      : (rlim_t)u->limit_nofile;
	}
	r = build_env(a, pw, &env);
	if (r < 0)
		goto out;
	r = spawn_find_program(u->argv[0], env_get(env.v, "PATH"), &path);
	if (r < 0) {
		*ret_step = "finding the program in PATH";
		goto out;
	}
	p.path = path;
	p.envp = env.v;
	for (size_t i = 0; i < env.n; i++)
		if (env_key_is(env.v[i], "WATCHDOG_PID"))
			p.pid_slot = env.v[i] + strlen("WATCHDOG_PID=");
	if (m->cgroup_base) {
		r = cgroup_open_agent(a, &p.cgroup_fresh);
		if (r < 0) {
			*ret_step = "creating its cgroup";
			goto out;
		}
		p.cgroup_fd = r;
	}
	if (u->type == UNIT_TYPE_AGENT) {
		r = link_prepare(a, &p.link_fd);
		if (r < 0) {
			*ret_step = "creating its link";
			safe_close(p.cgroup_fd);
			goto out;
		}
	}
	r = spawn_process(&p, &pid, ret_step);
	safe_close(p.cgroup_fd);
	safe_close(p.link_fd);
	if (r < 0) {
		link_release(a);
		goto out;
	}
	pidfd = pidfd_open_(pid);
	if (pidfd < 0) {
		/* cannot watch it: do not keep it */
		r = -errno;
		*ret_step = "pidfd_open";
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		link_release(a);
		goto out;
	}
	a->pid = pid;
	a->pgid = pid; /* setsid: it leads its own session and group */
	a->pidfd = pidfd;
	/* edge-triggered: an exit is reported once (see link.c) */
	r = sd_event_add_io(m->event, &a->pidfd_src, pidfd, EPOLLIN | EPOLLET,
			    pidfd_cb, a);
	if (r < 0) {
		/* cannot watch it: do not keep it */
		*ret_step = "watching its pidfd";
		(void)pidfd_send_signal_(pidfd, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		process_release(a);
		goto out;
	}
	r = 0;
out:
	envbuf_done(&env);
	return r;
}

/*
 * Reap whatever exited: the zombies kept above, and every other child. An
 * agent's main process goes through agent_exited() (whichever of this and
 * its pidfd comes first); anything else is an orphan that was re-parented
 * to us and is simply reaped. Called on SIGCHLD (process_sigchld), at the
 * end of a dispatch pass that has zombies to release, and at exit.
 */
void
process_reap_all(struct manager *m)
{
	if (n_zombies > 0) {
		let_exits_finish();
		for (size_t i = 0; i < n_zombies; i++)
			zombie_release(&zombies[i]);
		n_zombies = 0;
	}
	for (;;) {
		siginfo_t si;
		struct agent *a;

		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
		    si.si_pid == 0)
			return;
		a = manager_find_pid(m, si.si_pid);
		if (a) {
			/* as its pidfd would have: the zombie is kept, and
			 * P_ALL would give it again: the dispatch pass this
			 * exit schedules goes on from here */
			main_exited(a, &si);
			return;
		}
		pid_t orphan = si.si_pid;

		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)orphan, &si, WEXITED | WNOHANG) < 0)
			return;
		log_debug("reaped orphan pid %d", (int)orphan);
	}
}

/*
 * SIGCHLD. While a dispatch pass is pending and zombies are kept, that
 * pass reaps (after the restarts it spawns); both wake up together on an
 * agent's exit.
 */
void
process_sigchld(struct manager *m)
{
	if (n_zombies > 0 && manager_dispatch_pending(m))
		return;
	process_reap_all(m);
}
