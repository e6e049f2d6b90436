/* SPDX-License-Identifier: MIT */
/*
 * agent-timer.c - timers (debounce / keep-first), intervals, and fd sources
 * delivered as mailbox messages; a source that ends does not end its agent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "agent-internal.h"

#define SOURCE_READ_MAX 65536u
#define SOURCE_LINE_MAX 65536u /* LINES: longest line delivered whole */

/* ---- timers --------------------------------------------------------------------- */

static void
timer_fire(struct agent_tnode *n)
{
	struct agent_timer *t = container_of(n, struct agent_timer, tn);
	agent *a = t->a;
	agent_msg *m;

	if (t->period) {
		uint64_t now = agent__now();
		uint64_t next = n->deadline + t->period;
		if (next < n->deadline) /* saturated */
			next = UINT64_MAX;
		else if (next <= now) /* skip missed ticks, no burst */
			next += ((now - next) / t->period + 1) * t->period;
		(void)agent__tnode_arm(a->loop, n, next); /* a slot is free */
	}
	m = agent__msg_new(a->loop);
	if (!m)
		return; /* the next expiry will retry */
	m->type = t->period ? &agent_type_tick : &agent_type_timer;
	m->tag = t->tag;
	m->control = true;
	if (agent__enqueue(a, m) < 0)
		agent_msg_unref(m);
}

static int
timer_alloc(agent *a, agent_timer **ret, enum agent_timer_mode mode,
	    uint64_t tag, uint64_t period)
{
	struct agent_timer *t;

	if (!a || (mode != AGENT_TIMER_DEBOUNCE && mode != AGENT_TIMER_KEEP_FIRST))
		return -EINVAL;
	if (a->phase == PHASE_ENDED || a->phase == PHASE_ENDING)
		return -EPIPE;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->a = a;
	t->mode = mode;
	t->tag = tag;
	t->period = period;
	agent__tnode_init(&t->tn, timer_fire);
	t->next = a->timers;
	if (a->timers)
		a->timers->prev = t;
	a->timers = t;
	if (ret)
		*ret = t;
	return 0;
}

_public_ int
agent_timer_new(agent *a, agent_timer **ret, enum agent_timer_mode mode,
		uint64_t tag)
{
	if (!ret)
		return -EINVAL;
	return timer_alloc(a, ret, mode, tag, 0);
}

_public_ int
agent_timer_schedule(agent_timer *t, uint64_t delay_usec)
{
	if (!t || t->period)
		return -EINVAL;
	if (t->tn.idx != SIZE_MAX && t->mode == AGENT_TIMER_KEEP_FIRST)
		return 0;
	return agent__tnode_arm(t->a->loop, &t->tn, agent__deadline(delay_usec));
}

_public_ int
agent_timer_cancel(agent_timer *t)
{
	if (!t)
		return -EINVAL;
	agent__tnode_disarm(t->a->loop, &t->tn);
	return 0;
}

_public_ bool
agent_timer_is_pending(agent_timer *t)
{
	return t && t->tn.idx != SIZE_MAX;
}

_public_ void
agent_timer_free(agent_timer *t)
{
	agent *a;

	if (!t)
		return;
	a = t->a;
	agent__tnode_disarm(a->loop, &t->tn);
	if (t->prev)
		t->prev->next = t->next;
	else if (a->timers == t)
		a->timers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	free(t);
}

_public_ int
agent_interval_new(agent *a, agent_timer **ret, uint64_t period_usec,
		   uint64_t tag)
{
	struct agent_timer *t;
	int r;

	if (period_usec == 0)
		return -EINVAL;
	r = timer_alloc(a, &t, AGENT_TIMER_DEBOUNCE, tag, period_usec);
	if (r < 0)
		return r;
	r = agent__tnode_arm(a->loop, &t->tn, agent__deadline(period_usec));
	if (r < 0) {
		agent_timer_free(t);
		return r;
	}
	if (ret)
		*ret = t;
	return 0;
}

void
agent__timers_free_all(agent *a)
{
	while (a->timers)
		agent_timer_free(a->timers);
}

/* ---- sources -------------------------------------------------------------------- */

static bool
room(agent *a)
{
	return a->mb_user < a->capacity && !a->closed &&
	       a->phase == PHASE_RUNNING;
}

static int
emit(agent_source *s, const char *buf, size_t len)
{
	struct agent_data *d = malloc(sizeof(*d) + len + 1);
	agent_msg *m;
	int r;

	if (!d)
		return -ENOMEM;
	d->len = len;
	memcpy(d->buf, buf, len);
	d->buf[len] = '\0';
	m = agent__msg_new(s->a->loop);
	if (!m) {
		free(d);
		return -ENOMEM;
	}
	m->type = &agent_type_data;
	m->payload = d;
	m->tag = s->tag;
	r = agent__enqueue(s->a, m);
	if (r < 0)
		agent_msg_unref(m);
	return r;
}

static void
source_end(agent_source *s, int err)
{
	agent_msg *m;

	s->ended = true;
	agent__io_remove(s->a->loop, &s->io);
	m = agent__msg_new(s->a->loop);
	if (!m)
		return;
	m->type = &agent_type_source_end;
	m->tag = s->tag;
	m->err = err;
	m->control = true;
	if (agent__enqueue(s->a, m) < 0)
		agent_msg_unref(m);
}

/* Emit complete lines from the buffer while there is room. Returns true
 * if the buffer holds no complete line any more. */
static bool
emit_lines(agent_source *s)
{
	size_t off = 0;
	bool drained = true;

	while (off < s->llen) {
		char *nl = memchr(s->lbuf + off, '\n', s->llen - off);
		size_t n = nl ? (size_t)(nl - (s->lbuf + off)) : s->llen - off;
		size_t skip = 1;

		if (n > SOURCE_LINE_MAX) {
			/* a longer line is delivered in chunks of the cap */
			n = SOURCE_LINE_MAX;
			skip = 0;
		} else if (!nl)
			break;
		if (!room(s->a)) {
			drained = false;
			break;
		}
		if (emit(s, s->lbuf + off, n) < 0) {
			drained = false;
			break;
		}
		off += n + skip;
	}
	if (off > 0) {
		memmove(s->lbuf, s->lbuf + off, s->llen - off);
		s->llen -= off;
	}
	return drained;
}

static void
source_block(agent_source *s)
{
	s->blocked = true;
	agent__io_remove(s->a->loop, &s->io);
}

static void
source_fire(struct agent_io *io, uint32_t revents)
{
	agent_source *s = container_of(io, agent_source, io);
	char buf[SOURCE_READ_MAX];
	ssize_t n;

	(void)revents;
	if (!room(s->a)) {
		source_block(s);
		return;
	}
	if ((s->flags & AGENT_SOURCE_LINES) && !emit_lines(s)) {
		source_block(s);
		return;
	}
	n = read(io->fd, buf, sizeof(buf));
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		source_end(s, -errno);
		return;
	}
	if (n == 0) {
		if ((s->flags & AGENT_SOURCE_LINES) && s->llen > 0) {
			if (!room(s->a)) {
				source_block(s);
				return;
			}
			(void)emit(s, s->lbuf, s->llen);
			s->llen = 0;
		}
		source_end(s, 0);
		return;
	}
	if (!(s->flags & AGENT_SOURCE_LINES)) {
		(void)emit(s, buf, (size_t)n);
		return;
	}
	if (s->llen + (size_t)n > s->lcap) {
		size_t cap = s->lcap ? s->lcap : 4096;
		char *nb;
		while (cap < s->llen + (size_t)n)
			cap *= 2;
		nb = realloc(s->lbuf, cap);
		if (!nb) {
			source_end(s, -ENOMEM);
			return;
		}
		s->lbuf = nb;
		s->lcap = cap;
	}
	memcpy(s->lbuf + s->llen, buf, (size_t)n);
	s->llen += (size_t)n;
	if (!emit_lines(s))
		source_block(s);
}

void
agent__sources_unblock(agent *a)
{
	for (agent_source *s = a->sources; s; s = s->next) {
		if (!s->blocked || s->ended || !room(a))
			continue;
		s->blocked = false;
		if ((s->flags & AGENT_SOURCE_LINES) && !emit_lines(s)) {
			s->blocked = true;
			continue;
		}
		(void)agent__io_update(a->loop, &s->io, EPOLLIN);
	}
}

_public_ int
agent_source_fd(agent *a, agent_source **ret, int fd, unsigned flags,
		uint64_t tag)
{
	agent_source *s;
	int fl, r;

	if (!a || fd < 0)
		return -EINVAL;
	if (a->phase == PHASE_ENDED || a->phase == PHASE_ENDING)
		return -EPIPE;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->a = a;
	s->flags = flags;
	s->tag = tag;
	s->io.fd = fd;
	s->io.fire = source_fire;
	r = agent__io_update(a->loop, &s->io, EPOLLIN);
	if (r < 0) {
		free(s);
		return r;
	}
	s->next = a->sources;
	if (a->sources)
		a->sources->prev = s;
	a->sources = s;
	if (ret)
		*ret = s;
	return 0;
}

_public_ void
agent_source_free(agent_source *s)
{
	agent *a;

	if (!s)
		return;
	a = s->a;
	agent__io_remove(a->loop, &s->io);
	if (s->prev)
		s->prev->next = s->next;
	else if (a->sources == s)
		a->sources = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (s->flags & AGENT_SOURCE_OWN_FD)
		close(s->io.fd);
	free(s->lbuf);
	free(s);
}

void
agent__timers_sources_quiet(agent *a)
{
	for (struct agent_timer *t = a->timers; t; t = t->next)
		agent__tnode_disarm(a->loop, &t->tn);
	for (agent_source *s = a->sources; s; s = s->next)
		agent__io_remove(a->loop, &s->io);
}

void
agent__sources_free_all(agent *a)
{
	while (a->sources)
		agent_source_free(a->sources);
}
