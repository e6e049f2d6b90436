/* SPDX-License-Identifier: MIT */
/*
 * journal.c - agents' output lines to journald, without ever blocking
 * agentd's loop. libsystemd's sd_journal_send() writes on a blocking
 * socket (a journald that stops reading would stop agentd with it) and
 * returns 0 when the socket is gone (the line is lost and nobody knows).
 * This speaks journald's native protocol on a non-blocking datagram
 * socket and says when a line was not taken, so the caller can do
 * something else with it.
 *
 * The native protocol: one datagram per entry, fields as "KEY=value\n",
 * or "KEY\n" + little-endian 64-bit length + value + "\n" for a value with
 * a newline in it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "agentd.h"
#include "fd-util.h"

#define JOURNAL_SOCKET	"/run/systemd/journal/socket"
#define JOURNAL_SNDBUF	(8 * 1024 * 1024) /* as libsystemd asks */

int
journal_open(void)
{
	int fd, size = JOURNAL_SNDBUF;

	if (access(JOURNAL_SOCKET, W_OK) < 0)
		return -errno;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	return fd;
}

/* iovec wants a void *; these are only read */
static struct iovec
iov_of(const void *p, size_t len)
{
	return (struct iovec){ .iov_base = (void *)(uintptr_t)p, .iov_len = len };
}

/* One field into iov (5 slots used at most); *len64 is its storage. */
static size_t
field(struct iovec *iov, const char *key_eq, const char *value, size_t len,
      uint64_t *len64)
{
	size_t n = 0, klen = strlen(key_eq);

	if (!memchr(value, '\n', len)) {
		iov[n++] = iov_of(key_eq, klen);
	} else {
		uint64_t l = len;

		/* "KEY\n" and the length, in little endian */
		iov[n++] = iov_of(key_eq, klen - 1);
		iov[n++] = iov_of("\n", 1);
		for (int i = 0; i < 8; i++)
			((uint8_t *)len64)[i] = (uint8_t)(l >> (8 * i));
		iov[n++] = iov_of(len64, 8);
	}
	iov[n++] = iov_of(value, len);
	iov[n++] = iov_of("\n", 1);
	return n;
}

int
journal_send_line(int fd, const char *agent, const char *line, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct iovec iov[16];
	uint64_t len64[2];
	size_t n = 0, alen = strlen(agent);
	struct msghdr mh = {
		.msg_name = &sa,
		.msg_namelen = offsetof(struct sockaddr_un, sun_path) +
			       sizeof(JOURNAL_SOCKET),
		.msg_iov = iov,
	};

	if (fd < 0)
		return -EBADF;
	memcpy(sa.sun_path, JOURNAL_SOCKET, sizeof(JOURNAL_SOCKET));
	n += field(iov + n, "MESSAGE=", line, len, &len64[0]);
	n += field(iov + n, "AGENT=", agent, alen, &len64[1]);
	iov[n++] = iov_of("PRIORITY=6\n", 11);
	iov[n++] = iov_of("SYSLOG_IDENTIFIER=", 18);
	iov[n++] = iov_of(agent, alen);
	iov[n++] = iov_of("\n", 1);
	mh.msg_iovlen = n;
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0) /* a SOCK_NONBLOCK socket */
		return -errno;
	return 0;
}
