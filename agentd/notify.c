/* SPDX-License-Identifier: MIT */
/*
 * notify.c - the sd_notify protocol for Type=notify agents: one AF_UNIX
 * datagram socket RUNTIME_DIR/notify.sock with SO_PASSCRED. The sender's
 * pid (from the kernel, not from the message) is mapped to the agent whose
 * main process it is or descends from (systemd-notify is a child of the
 * agent's shell). READY=1, STATUS=, WATCHDOG=1 and STOPPING=1 are
 * understood; file descriptors sent along (systemd-notify's BARRIER=1) are
 * closed once the datagram is handled, which releases the sender.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agentd.h"
#include "log.h"
#include "macro.h"

#define NOTIFY_MSG_MAX	4096
#define NOTIFY_FDS_MAX	16

static pid_t
proc_ppid(pid_t pid)
{
	pid_t ppid;

	return proc_stat_read(pid, NULL, &ppid, NULL) < 0 ? 0 : ppid;
}

static struct agent *
notify_find_agent(struct manager *m, pid_t pid)
{
	pid_t self = getpid();

	for (int depth = 0; depth < 32 && pid > 1 && pid != self; depth++) {
		struct agent *a = manager_find_pid(m, pid);

		if (a)
			return a;
		pid = proc_ppid(pid);
	}
	return NULL;
}

static void
notify_handle(struct manager *m, struct agent *a, char *buf)
{
	char *save = NULL;

	for (char *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strcmp(line, "READY=1") == 0) {
			if (a->unit->type == UNIT_TYPE_NOTIFY)
				agent_handle_event(a, AGENT_EV_READY);
			else
				log_debug("%s: READY=1 ignored (Type=%s)", a->name,
					  unit_type_to_string(a->unit->type));
		} else if (strcmp(line, "WATCHDOG=1") == 0) {
			agent_watchdog_ping(a);
		} else if (strncmp(line, "STATUS=", 7) == 0) {
			agent_set_status_text(a, line + 7, strlen(line + 7));
			log_debug("%s: status: %s", a->name, line + 7);
		} else if (strcmp(line, "STOPPING=1") == 0) {
			log_debug("%s: stopping", a->name);
		} else if (strcmp(line, "WATCHDOG=trigger") == 0) {
			if (a->unit->watchdog > 0)
				agent_handle_event(a, AGENT_EV_WATCHDOG);
		}
		/* everything else (MAINPID=, BARRIER=1, ...) is ignored */
	}
}

static int
notify_recv_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct manager *m = userdata;

	for (int i = 0; i < 64; i++) {
		char buf[NOTIFY_MSG_MAX + 1];
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(struct ucred)) +
				 CMSG_SPACE(sizeof(int) * NOTIFY_FDS_MAX)];
		} control;
		struct iovec iov = { .iov_base = buf, .iov_len = NOTIFY_MSG_MAX };
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = &control,
			.msg_controllen = sizeof(control),
		};
		struct ucred *cred = NULL;
		int fds[NOTIFY_FDS_MAX];
		size_t n_fds = 0;
		struct agent *a;
		ssize_t n;

		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("%s: recvmsg", __func__);
			break;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
		     c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET)
				continue;
			if (c->cmsg_type == SCM_CREDENTIALS &&
			    c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
				cred = (struct ucred *)(void *)CMSG_DATA(c);
			else if (c->cmsg_type == SCM_RIGHTS) {
				size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				int *p = (int *)(void *)CMSG_DATA(c);

				for (size_t j = 0; j < k; j++) {
					if (n_fds < NOTIFY_FDS_MAX)
						fds[n_fds++] = p[j];
					else
						safe_close(p[j]);
				}
			}
		}
		buf[n] = '\0';
		if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
			log_debug("notify: truncated datagram dropped");
		else if (!cred || cred->pid <= 0)
			log_debug("notify: datagram without credentials dropped");
		else if (memchr(buf, '\0', (size_t)n))
			log_debug("notify: datagram with a NUL byte dropped");
		else if (!(a = notify_find_agent(m, cred->pid)))
			log_debug("notify: datagram from pid %d, not an agent, dropped",
				  (int)cred->pid);
		else
			notify_handle(m, a, buf);
		for (size_t j = 0; j < n_fds; j++)
			safe_close(fds[j]);
	}
	return 0;
}

int
notify_open(struct manager *m)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int one = 1, fd, r;

	if ((size_t)snprintf(m->notify_path, sizeof(m->notify_path),
			     "%s/notify.sock", m->runtime_dir) >=
	    sizeof(m->notify_path))
		return -ENAMETOOLONG;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", m->notify_path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	(void)unlink(m->notify_path);
	/* 0666, set by the umask at bind (no chmod by path): agents with
	 * User= send here too; SO_PASSCRED names the sender, and only a
	 * datagram from an agent's process tree is acted upon. */
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
		r = -errno;
		safe_close(fd);
		return r;
	}
	{
		mode_t old = umask(0111);

		r = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
		umask(old);
	}
	if (r < 0) {
		safe_close(fd);
		return r;
	}
	m->notify_fd = fd;
	r = sd_event_add_io(m->event, &m->notify_src, fd, EPOLLIN,
			    notify_recv_cb, m);
	return r < 0 ? r : 0;
}

void
notify_close(struct manager *m)
{
	m->notify_src = sd_event_source_disable_unref(m->notify_src);
	m->notify_fd = safe_close(m->notify_fd);
	if (m->notify_path[0])
		(void)unlink(m->notify_path);
}
