/* SPDX-License-Identifier: MIT */
/*
 * listener.c - nng ipc listeners that survive nng 1.5.2's bug #1518
 * ("Disconnect during negotiation breaks listener", fixed in 1.6): a peer
 * that connects and closes before the SP handshake makes the socket stop
 * taking new pipes from the listener for good (the transport still accepts
 * and negotiates, but nothing reaches the socket). agentd keeps a duplicate
 * of the listening socket's fd and watches it: after a connection arrives,
 * the connections accepted on the path are checked every LISTENER_CHECK;
 * one that still has no pipe in the socket at two checks in a row means
 * the listener is wedged, and it is recreated on the same path (the stuck
 * connections are shut down; clients get an error and can retry).
 * A wedged listener hands no pipe to the socket any more: when a pipe did
 * reach the socket since the connection arrived, the listener is healthy
 * and nothing is read. Only a connection not followed by any new pipe
 * within LISTENER_CHECK costs a scan (/proc/net/unix and agentd's fds),
 * at most one per LISTENER_CHECK.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/transport/ipc/ipc.h>

#include "agentd.h"
#include "log.h"
#include "macro.h"

#define LISTENER_CHECK	(500 * USEC_PER_MSEC)
/* nng's accept thread may drain the backlog before agentd's loop polls the
 * listening socket, so a connection can arrive unseen by the io source: a
 * check also starts every LISTENER_IDLE when none ran meanwhile (one scan
 * of /proc/net/unix and agentd's fds, about 5 ms with 1,000 agents). */
#define LISTENER_IDLE	(2 * USEC_PER_SEC)
#define GUARD_INODES_MAX	64

static uint64_t
guard_added(struct nng_guard *g)
{
	uint64_t n;

	pthread_mutex_lock(&g->lock);
	n = g->n_added;
	pthread_mutex_unlock(&g->lock);
	return n;
}

static bool
guard_pid_live(struct nng_guard *g, pid_t pid)
{
	bool found = false;

	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < g->n_live && !found; i++)
		found = g->live[i].pid == pid;
	pthread_mutex_unlock(&g->lock);
	return found;
}

/* The inode of the listening unix socket bound to path. */
static int
unix_listener_inode(const char *path, unsigned long *ret)
{
	FILE *f = fopen("/proc/net/unix", "re");
	char line[PATH_MAX + 256];
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long inode;
		unsigned int st;
		int off = 0;
		char *p;

		/* Num: RefCount Protocol Flags Type St Inode Path */
		if (sscanf(line, "%*s %*x %*x %*x %*x %x %lu %n", &st, &inode,
			   &off) != 2 || off == 0)
			continue;
		p = line + off;
		p[strcspn(p, "\n")] = '\0';
		if (st == 1 && strcmp(p, path) == 0) {
			*ret = inode;
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

/*
 * The connections accepted on path that carry no pipe of the socket (their
 * peer has no live pipe): up to max inodes in out. With do_shutdown, shut
 * them down (their fds are nng's: shutdown, not close). Connections that
 * nng 1.5.2 negotiated but never handed to the socket are otherwise never
 * closed, and a client that sent its request on one waits forever.
 */
static size_t
guard_scan(struct nng_guard *g, bool do_shutdown, unsigned long *out,
	   size_t max)
{
	FILE *f = fopen("/proc/net/unix", "re");
	char line[PATH_MAX + 256];
	unsigned long *inodes = NULL;
	size_t n = 0, n_out = 0;
	struct dirent *d;
	DIR *dir;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long inode, *ni;
		unsigned int st;
		int off = 0;
		char *p;

		if (sscanf(line, "%*s %*x %*x %*x %*x %x %lu %n", &st, &inode,
			   &off) != 2 || off == 0)
			continue;
		p = line + off;
		p[strcspn(p, "\n")] = '\0';
		if (st != 3 || strcmp(p, g->path) != 0)
			continue;
		ni = realloc(inodes, (n + 1) * sizeof(*ni));
		if (!ni)
			break;
		inodes = ni;
		inodes[n++] = inode;
	}
	fclose(f);
	dir = n ? opendir("/proc/self/fd") : NULL;
	while (dir && (d = readdir(dir))) {
		char fdpath[64], target[64];
		unsigned long inode;
		ssize_t len;

		if (d->d_name[0] == '.')
			continue;
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%.20s", d->d_name);
		len = readlink(fdpath, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (sscanf(target, "socket:[%lu]", &inode) != 1)
			continue;
		for (size_t i = 0; i < n; i++) {
			struct ucred cred;
			socklen_t cl = sizeof(cred);
			int fd = atoi(d->d_name);

			if (inodes[i] != inode)
				continue;
			if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 &&
			    guard_pid_live(g, cred.pid))
				continue; /* a pipe the socket has */
			if (n_out < max)
				out[n_out++] = inode;
			if (do_shutdown)
				(void)shutdown(fd, SHUT_RDWR);
		}
	}
	if (dir)
		closedir(dir);
	free(inodes);
	return n_out;
}

/* A duplicate of our fd for that socket inode. */
static int
dup_socket_fd(unsigned long inode)
{
	char want[64];
	struct dirent *d;
	DIR *dir;
	int r = -ENOENT;

	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	dir = opendir("/proc/self/fd");
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		char path[64], target[64];
		ssize_t n;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%.20s", d->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, want) == 0) {
			r = fcntl(atoi(d->d_name), F_DUPFD_CLOEXEC, 3);
			if (r < 0)
				r = -errno;
			break;
		}
	}
	closedir(dir);
	return r;
}

static int guard_io_cb(sd_event_source *s, int fd, uint32_t revents,
		       void *userdata);
static int guard_timer_cb(sd_event_source *s, uint64_t usec, void *userdata);
static int guard_idle_cb(sd_event_source *s, uint64_t usec, void *userdata);

static void
guard_unwatch(struct nng_guard *g)
{
	g->io = sd_event_source_disable_unref(g->io);
	g->timer = sd_event_source_disable_unref(g->timer);
	g->idle = sd_event_source_disable_unref(g->idle);
	g->checking = g->late_arrival = false;
	g->dupfd = safe_close(g->dupfd);
}

static int
guard_listen(struct nng_guard *g)
{
	unsigned long inode;
	int rv, r;

	if ((rv = nng_listener_create(&g->l, g->sock, g->url)) != 0 ||
	    (rv = nng_listener_set_int(g->l, NNG_OPT_IPC_PERMISSIONS,
				       g->mode)) != 0 ||
	    (rv = nng_listener_start(g->l, 0)) != 0) {
		log_warnx("%s: %s", g->url, nng_strerror(rv));
		return proto_errno_from_nng(rv);
	}
	if ((g->mode & 0070) && chown(g->path, (uid_t)-1, g->gid) < 0) {
		r = -errno;
		log_warn("%s: chown to group %u", g->path, (unsigned)g->gid);
		return r;
	}
	/* The guard is best effort: without it the listener still works. */
	r = unix_listener_inode(g->path, &inode);
	if (r >= 0)
		r = dup_socket_fd(inode);
	if (r < 0) {
		log_debug("%s: cannot watch the listener: %s", g->path,
			  strerror(-r));
		return 0;
	}
	g->dupfd = r;
	r = sd_event_add_io(g->event, &g->io, g->dupfd, EPOLLIN, guard_io_cb, g);
	if (r < 0) {
		g->dupfd = safe_close(g->dupfd);
		return 0;
	}
	sd_event_source_set_enabled(g->io, SD_EVENT_ONESHOT);
	r = sd_event_add_time_relative(g->event, &g->idle, CLOCK_MONOTONIC,
				       LISTENER_IDLE, USEC_PER_MSEC * 100,
				       guard_idle_cb, g);
	if (r >= 0)
		sd_event_source_set_enabled(g->idle, SD_EVENT_ON);
	return 0;
}

/*
 * Checking mode: every LISTENER_CHECK, look for accepted connections
 * without a pipe. One seen at two checks in a row is stuck (a healthy
 * handshake takes microseconds): restart the listener. No such
 * connection: back to waiting for the next connection.
 */
static int
guard_timer_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct nng_guard *g = userdata;
	unsigned long now[GUARD_INODES_MAX];
	uint64_t added = guard_added(g);
	bool stuck = false;
	size_t n;

	bool late = g->late_arrival;

	g->late_arrival = false;
	if (g->n_prev == 0 && !late && added != g->added_at_check) {
		/* a pipe reached the socket since the connection came (and
		 * no other came since): the listener works */
		g->checking = false;
		sd_event_source_set_enabled(g->io, SD_EVENT_ONESHOT);
		return 0;
	}
	n = guard_scan(g, false, now, ELEMENTSOF(now));
	for (size_t i = 0; i < n && !stuck; i++)
		for (size_t k = 0; k < g->n_prev && !stuck; k++)
			stuck = now[i] == g->prev[k];
	if (stuck) {
		log_warnx("%s: a connection is stuck before reaching the socket (nng 1.5 bug #1518?), restarting the listener",
			  g->path);
		guard_unwatch(g);
		nng_listener_close(g->l);
		(void)guard_scan(g, true, now, ELEMENTSOF(now));
		g->n_prev = 0;
		if (guard_listen(g) < 0)
			log_warnx("%s: cannot listen again, connections will fail",
				  g->path);
		return 0;
	}
	sd_event_source_set_enabled(g->io, SD_EVENT_ONESHOT);
	if (n == 0) {
		g->n_prev = 0;
		g->checking = false;
		return 0;
	}
	memcpy(g->prev, now, n * sizeof(now[0]));
	g->n_prev = n;
	sd_event_source_set_time_relative(g->timer, LISTENER_CHECK);
	sd_event_source_set_enabled(g->timer, SD_EVENT_ONESHOT);
	return 0;
}

/* Every LISTENER_IDLE: start a check unless one is under way. */
static int
guard_idle_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct nng_guard *g = userdata;

	sd_event_source_set_time_relative(s, LISTENER_IDLE);
	if (!g->checking)
		(void)guard_io_cb(NULL, -1, 0, g);
	return 0;
}

/*
 * A connection arrives: enter checking mode, and notice one more arrival
 * (at most one wake-up per check: the io source stays off until the tick).
 */
static int
guard_io_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct nng_guard *g = userdata;
	int r;

	if (g->checking) {
		g->late_arrival = true;
		return 0;
	}
	g->checking = true;
	g->late_arrival = false;
	g->n_prev = 0;
	g->added_at_check = guard_added(g);
	if (!g->timer) {
		r = sd_event_add_time_relative(g->event, &g->timer, CLOCK_MONOTONIC,
					       LISTENER_CHECK, USEC_PER_MSEC * 10,
					       guard_timer_cb, g);
		if (r < 0) { /* best effort: the guard stops watching */
			g->checking = false;
			return 0;
		}
	} else {
		sd_event_source_set_time_relative(g->timer, LISTENER_CHECK);
	}
	sd_event_source_set_enabled(g->timer, SD_EVENT_ONESHOT);
	sd_event_source_set_enabled(g->io, SD_EVENT_ONESHOT);
	return 0;
}

int
nng_guard_init(struct nng_guard *g)
{
	memset(g, 0, sizeof(*g));
	g->dupfd = -1;
	g->mode = 0600;
	return -pthread_mutex_init(&g->lock, NULL);
}

int
nng_guard_listen(struct nng_guard *g, sd_event *e, nng_socket sock,
		 const char *path)
{
	g->dupfd = -1;
	g->event = e;
	g->sock = sock;
	if ((size_t)snprintf(g->path, sizeof(g->path), "%s", path) >=
	    sizeof(g->path))
		return -ENAMETOOLONG;
	snprintf(g->url, sizeof(g->url), "ipc://%s", path);
	return guard_listen(g);
}

/*
 * From an nng pipe notifier (any thread): a pipe reached the socket
 * (ADD_PRE) or left it (REM_POST). Counts additions and remembers the peer
 * pids of live pipes, so a restart spares their connections.
 */
void
nng_guard_pipe_event(struct nng_guard *g, nng_pipe p, nng_pipe_ev ev)
{
	uint32_t id = nng_pipe_id(p);
	uint64_t pid = 0;

	pthread_mutex_lock(&g->lock);
	if (ev == NNG_PIPE_EV_ADD_PRE) {
		(void)nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_PID, &pid);
		if (g->n_live == g->cap_live) {
			size_t cap = g->cap_live ? g->cap_live * 2 : 16;
			struct nng_guard_pipe *n = realloc(g->live, cap * sizeof(*n));

			if (n) {
				g->live = n;
				g->cap_live = cap;
			}
		}
		g->n_added++;
		if (g->n_live < g->cap_live) {
			g->live[g->n_live].id = id;
			g->live[g->n_live].pid = (pid_t)pid;
			g->n_live++;
		}
	} else if (ev == NNG_PIPE_EV_REM_POST) {
		for (size_t i = 0; i < g->n_live; i++)
			if (g->live[i].id == id) {
				g->live[i] = g->live[--g->n_live];
				break;
			}
	}
	pthread_mutex_unlock(&g->lock);
}

void
nng_guard_close(struct nng_guard *g)
{
	guard_unwatch(g);
}

/* After the socket is closed (no notifier runs any more). */
void
nng_guard_done(struct nng_guard *g)
{
	free(g->live);
	g->live = NULL;
	g->n_live = g->cap_live = 0;
	pthread_mutex_destroy(&g->lock);
}
