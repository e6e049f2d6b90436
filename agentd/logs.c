/* SPDX-License-Identifier: MIT */
/*
 * logs.c - each agent's stdout and stderr: one pipe per agent, created with
 * the agent and kept open across its restarts (agentd holds both ends), so
 * nothing written during a restart is lost. Lines go to the journal with
 * AGENT=NAME when journald is there (journal.c: never waiting for it; a
 * line it cannot take now is counted, and said once it takes lines
 * again), else to agentd's stderr prefixed with the name; the last
 * LOG_RING_LINES lines are kept for `agentctl logs`.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "agentd.h"
#include "fd-util.h"
#include "log.h"
#include "macro.h"

/*
 * Keep the last LOG_RING_LINES lines, at most LOG_RING_BYTES of them.
 * LINE has no NUL byte (logs_emit replaces them), so the strlen() of a
 * stored line is its length: what is counted in is what is counted out.
 */
static void
log_ring_push(struct log_ring *r, const char *line, size_t len)
{
	char *s;

	if (len > LOG_RING_BYTES)
		len = LOG_RING_BYTES;
	s = malloc(len + 1);
	if (!s)
		return;
	memcpy(s, line, len);
	s[len] = '\0';
	len = strlen(s); /* == len; a NUL would break the accounting */
	if (r->count == LOG_RING_LINES) {
		/* the slot at head is the oldest line */
		r->bytes -= strlen(r->lines[r->head]);
		free(r->lines[r->head]);
		r->lines[r->head] = NULL;
		r->count--;
	}
	while (r->count > 0 && r->bytes + len > LOG_RING_BYTES) {
		unsigned oldest = (r->head + LOG_RING_LINES - r->count) % LOG_RING_LINES;

		r->bytes -= strlen(r->lines[oldest]);
		free(r->lines[oldest]);
		r->lines[oldest] = NULL;
		r->count--;
	}
	r->lines[r->head] = s;
	r->head = (r->head + 1) % LOG_RING_LINES;
	r->count++;
	r->bytes += len;
	r->total++;
}

uint64_t
log_ring_first_seq(const struct log_ring *r)
{
	return r->total - r->count + 1;
}

uint64_t
log_ring_next_seq(const struct log_ring *r)
{
	return r->total + 1;
}

const char *
log_ring_line(const struct log_ring *r, uint64_t seq)
{
	/* head - 1 holds the newest line, seq total */
	uint64_t back = r->total - seq; /* 0 for the newest */

	return r->lines[(r->head + LOG_RING_LINES - 1 - (unsigned)back) %
			LOG_RING_LINES];
}

void
log_ring_free(struct log_ring *r)
{
	for (unsigned i = 0; i < LOG_RING_LINES; i++) {
		free(r->lines[i]);
		r->lines[i] = NULL;
	}
	r->count = r->head = 0;
	r->bytes = 0;
}

/*
 * One line (no '\n'; LINE is agentd's own buffer). NUL bytes become '?':
 * the ring, the journal and agentctl all handle C strings, and a NUL used
 * to make the ring count bytes it never gave back (it shrank for good).
 */
static void
logs_emit(struct agent *a, char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (char *p = memchr(line, '\0', len); p;
	     p = memchr(p, '\0', len - (size_t)(p - line)))
		*p = '?';
	log_ring_push(&a->ring, line, len);
	control_watch_kick(a->m);
	if (a->m->journal_fd >= 0) {
		struct manager *m = a->m;
		int r = journal_send_line(m->journal_fd, a->name, line, len);

		if (r == 0) {
			if (m->journal_lost) {
				log_warnx("journal: %" PRIu64 " lines of agents were not taken while journald was behind (agentctl logs keeps the last ones)",
					  m->journal_lost);
				m->journal_lost = 0;
			}
			return;
		}
		if (r == -EAGAIN || r == -ENOBUFS) {
			/* journald is behind: we do not wait for it */
			m->journal_lost++;
			return;
		}
		/* no journald any more (ENOENT, ECONNREFUSED): stderr */
	}
	fprintf(stderr, "%s: %.*s\n", a->name, (int)len, line);
	fflush(stderr);
}

/*
 * Every byte goes through a->log_partial, whether its line ends in this
 * read or a later one: one rule for every line. A line longer than
 * LOG_LINE_MAX is split, not truncated: it comes out as several lines of
 * LOG_LINE_MAX bytes, the last one shorter (a full buffer is emitted when
 * one more byte of the same line arrives, so a line of exactly
 * LOG_LINE_MAX bytes stays one line). Reads at most 16 x 8 KiB: true when
 * that ran out (more may wait).
 */
bool
logs_drain(struct agent *a)
{
	char buf[8192];

	for (int round = 0; round < 16; round++) {
		ssize_t n = read(a->log_r, buf, sizeof(buf));
		size_t start = 0;

		if (n <= 0)
			return false;
		while (start < (size_t)n) {
			const char *nl = memchr(buf + start, '\n', (size_t)n - start);
			size_t end = nl ? (size_t)(nl - buf) : (size_t)n;

			while (start < end) {
				size_t add;

				if (a->log_partial_len == LOG_LINE_MAX) {
					logs_emit(a, a->log_partial, LOG_LINE_MAX);
					a->log_partial_len = 0;
				}
				add = MIN(end - start,
					  LOG_LINE_MAX - a->log_partial_len);
				memcpy(a->log_partial + a->log_partial_len,
				       buf + start, add);
				a->log_partial_len += add;
				start += add;
			}
			if (nl) {
				logs_emit(a, a->log_partial, a->log_partial_len);
				a->log_partial_len = 0;
				start = end + 1;
			}
		}
	}
	return true; /* more may wait */
}

/* Edge-triggered, as links are (link.c: sd-event returns every ready
 * level-triggered fd on every iteration); a drain cut short re-arms. */
static int
logs_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	if (logs_drain(userdata))
		(void)sd_event_source_set_io_events(s, EPOLLIN | EPOLLET);
	return 0;
}

int
logs_open_agent(struct agent *a)
{
	int fds[2], r;

	a->log_partial = malloc(LOG_LINE_MAX);
	if (!a->log_partial)
		return -ENOMEM;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		r = -errno;
		log_warn("%s: pipe for %s", __func__, a->name);
		free(a->log_partial);
		a->log_partial = NULL;
		return r;
	}
	a->log_r = fds[0];
	a->log_w = fds[1];
	(void)fd_set_nonblock(a->log_r, true);
	r = sd_event_add_io(a->m->event, &a->log_src, a->log_r,
			    EPOLLIN | EPOLLET, logs_cb, a);
	if (r < 0) {
		logs_close_agent(a);
		return r;
	}
	return 0;
}

void
logs_close_agent(struct agent *a)
{
	if (a->log_src)
		logs_drain(a);
	if (a->log_partial && a->log_partial_len)
		logs_emit(a, a->log_partial, a->log_partial_len);
	a->log_partial_len = 0;
	a->log_src = sd_event_source_disable_unref(a->log_src);
	a->log_r = safe_close(a->log_r);
	a->log_w = safe_close(a->log_w);
	free(a->log_partial);
	a->log_partial = NULL;
	log_ring_free(&a->ring);
}
