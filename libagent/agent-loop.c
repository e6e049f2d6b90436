/* SPDX-License-Identifier: MIT */
/*
 * agent-loop.c - the loop: epoll, a timer heap, a cross-thread queue woken
 * through an eventfd, the worker pool of sync states, and the run loop that
 * gives ready agents a quantum of steps before polling with zero timeout.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "agent-internal.h"

__thread agent_loop *agent__tls_loop;

static agent_log_fn log_fn;
static void *log_userdata;

_public_ void
agent_log_set(agent_log_fn fn, void *userdata)
{
	log_fn = fn;
	log_userdata = userdata;
}

void
agent__log(agent *a, int level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_fn(level, a ? a->name : NULL, buf, log_userdata);
}

uint64_t
agent__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * AGENT_USEC_PER_SEC +
	       (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t
agent__deadline(uint64_t usec)
{
	uint64_t now = agent__now();

	if (usec >= UINT64_MAX - now)
		return UINT64_MAX; /* never fires */
	return now + usec;
}

/* ---- timer heap ------------------------------------------------------------ */

void
agent__tnode_init(struct agent_tnode *n, void (*fire)(struct agent_tnode *))
{
	n->deadline = 0;
	n->idx = SIZE_MAX;
	n->fire = fire;
}

static void
heap_swap(agent_loop *l, size_t i, size_t j)
{
	struct agent_tnode *t = l->heap[i];

	l->heap[i] = l->heap[j];
	l->heap[j] = t;
	l->heap[i]->idx = i;
	l->heap[j]->idx = j;
}

static void
heap_up(agent_loop *l, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (l->heap[p]->deadline <= l->heap[i]->deadline)
			break;
		heap_swap(l, i, p);
		i = p;
	}
}

static void
heap_down(agent_loop *l, size_t i)
{
	for (;;) {
		size_t c = 2 * i + 1, m = i;
		if (c < l->n_heap && l->heap[c]->deadline < l->heap[m]->deadline)
			m = c;
		if (c + 1 < l->n_heap &&
		    l->heap[c + 1]->deadline < l->heap[m]->deadline)
			m = c + 1;
		if (m == i)
			break;
		heap_swap(l, i, m);
		i = m;
	}
}

void
agent__tnode_disarm(agent_loop *l, struct agent_tnode *n)
{
	size_t i = n->idx;

	if (i == SIZE_MAX)
		return;
	l->n_heap--;
	if (i != l->n_heap) {
		l->heap[i] = l->heap[l->n_heap];
		l->heap[i]->idx = i;
		heap_down(l, i);
		heap_up(l, i);
	}
	n->idx = SIZE_MAX;
}

int
agent__tnode_arm(agent_loop *l, struct agent_tnode *n, uint64_t deadline)
{
	agent__tnode_disarm(l, n);
	if (l->n_heap == l->heap_cap) {
		size_t cap = l->heap_cap ? l->heap_cap * 2 : 64;
		struct agent_tnode **h = realloc(l->heap, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		l->heap = h;
		l->heap_cap = cap;
	}
	n->deadline = deadline;
	n->idx = l->n_heap;
	l->heap[l->n_heap++] = n;
	heap_up(l, n->idx);
	return 0;
}

static void
timers_run(agent_loop *l)
{
	uint64_t now = agent__now();

	while (l->n_heap > 0 && l->heap[0]->deadline <= now) {
		struct agent_tnode *n = l->heap[0];
		agent__tnode_disarm(l, n);
		n->fire(n);
	}
}

/* ---- io ------------------------------------------------------------------------ */

int
agent__io_update(agent_loop *l, struct agent_io *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };
	int r;

	if (events == w->events)
		return 0;
	if (events == 0) {
		agent__io_remove(l, w);
		return 0;
	}
	r = epoll_ctl(l->epfd, w->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
		      w->fd, &ev);
	if (r < 0)
		return -errno;
	w->events = events;
	return 0;
}

void
agent__io_remove(agent_loop *l, struct agent_io *w)
{
	/* its owner may free it now: forget it in the batch being fired */
	for (int i = 0; i < l->batch_n; i++)
		if (l->batch[i].data.ptr == w)
			l->batch[i].data.ptr = NULL;
	if (w->events == 0)
		return;
	(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->events = 0;
}

/* ---- cross-thread queue ----------------------------------------------------- */

static void
loop_wake(agent_loop *l)
{
	uint64_t one = 1;

	if (write(l->wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: counter saturated, the loop is woken anyway */
	}
}

void
agent__xq_push(agent_loop *l, struct agent_xq *x)
{
	bool wake;

	x->next = NULL;
	pthread_mutex_lock(&l->xq_lock);
	if (l->xq_tail)
		l->xq_tail->next = x;
	else
		l->xq_head = x;
	l->xq_tail = x;
	wake = !l->wake_pending;
	l->wake_pending = true;
	/* written under the lock: the loop cannot drain, drop the last
	 * reference of x->a and be freed (closing wake_fd) before it */
	if (wake)
		loop_wake(l);
	pthread_mutex_unlock(&l->xq_lock);
}

static void
xq_drain(agent_loop *l)
{
	struct agent_xq *x;

	pthread_mutex_lock(&l->xq_lock);
	x = l->xq_head;
	l->xq_head = l->xq_tail = NULL;
	l->wake_pending = false;
	pthread_mutex_unlock(&l->xq_lock);

	while (x) {
		struct agent_xq *next = x->next;
		switch (x->kind) {
		case XQ_SYNC_DONE:
			agent__sync_done(x->a, x->step);
			break;
		case XQ_SEND: {
			int r = agent__enqueue(x->a, x->msg);
			if (r < 0) {
				/* refused (ended, closed, full): counted and
				 * reported, never silently lost */
				x->a->dropped++;
				agent__log(x->a, 4,
					   "message %s from another thread "
					   "dropped: %s",
					   x->msg->type && x->msg->type->name ?
						   x->msg->type->name : "?",
					   strerror(-r));
				agent_msg_unref(x->msg);
			}
			break;
		}
		case XQ_INTERRUPT:
			agent__interrupt_local(x->a, x->level);
			break;
		case XQ_CALL:
			x->fn(x->arg);
			break;
		}
		if (x->a)
			agent_unref(x->a);
		free(x);
		x = next;
	}
}

static void
wake_fire(struct agent_io *w, uint32_t revents)
{
	agent_loop *l = container_of(w, agent_loop, wake_io);
	uint64_t v;

	(void)revents;
	if (read(l->wake_fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing pending */
	}
	xq_drain(l);
}

/* ---- worker pool ------------------------------------------------------------ */

static void *
worker_main(void *arg)
{
	agent_loop *l = arg;

	for (;;) {
		struct agent_job *j;

		pthread_mutex_lock(&l->pool_lock);
		while (!l->jobs_head && !l->pool_quit)
			pthread_cond_wait(&l->pool_cond, &l->pool_lock);
		if (!l->jobs_head) {
			pthread_mutex_unlock(&l->pool_lock);
			return NULL;
		}
		j = l->jobs_head;
		l->jobs_head = j->next;
		if (!l->jobs_head)
			l->jobs_tail = NULL;
		pthread_mutex_unlock(&l->pool_lock);
		j->fn(j);
	}
}

static int
pool_start(agent_loop *l)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned want = n < 2 ? 2 : (unsigned)(n > 64 ? 64 : n);

	l->workers = calloc(want, sizeof(pthread_t));
	if (!l->workers)
		return -ENOMEM;
	for (unsigned i = 0; i < want; i++) {
		int r = pthread_create(&l->workers[i], NULL, worker_main, l);
		if (r != 0) {
			if (i == 0) {
				free(l->workers);
				l->workers = NULL;
				return -r;
			}
			break;
		}
		l->n_workers++;
	}
	return 0;
}

int
agent__pool_submit(agent_loop *l, struct agent_job *j)
{
	pthread_mutex_lock(&l->pool_lock);
	if (!l->workers) {
		int r = pool_start(l);
		if (r < 0) {
			pthread_mutex_unlock(&l->pool_lock);
			return r;
		}
	}
	j->next = NULL;
	if (l->jobs_tail)
		l->jobs_tail->next = j;
	else
		l->jobs_head = j;
	l->jobs_tail = j;
	pthread_cond_signal(&l->pool_cond);
	pthread_mutex_unlock(&l->pool_lock);
	return 0;
}

/* ---- ready list and alive list ------------------------------------------------ */

void
agent__ready(agent *a)
{
	agent_loop *l = a->loop;

	if (a->in_ready)
		return;
	a->in_ready = true;
	a->ready_next = NULL;
	if (l->ready_tail)
		l->ready_tail->ready_next = a;
	else
		l->ready_head = a;
	l->ready_tail = a;
}

/* Take a off the ready list (it is being freed). */
void
agent__unready(agent *a)
{
	agent_loop *l = a->loop;
	agent *prev = NULL;

	if (!a->in_ready)
		return;
	for (agent *c = l->ready_head; c; prev = c, c = c->ready_next) {
		if (c != a)
			continue;
		if (prev)
			prev->ready_next = a->ready_next;
		else
			l->ready_head = a->ready_next;
		if (l->ready_tail == a)
			l->ready_tail = prev;
		break;
	}
	a->in_ready = false;
	a->ready_next = NULL;
}

void
agent__loop_add_alive(agent_loop *l, agent *a)
{
	a->alive_prev = NULL;
	a->alive_next = l->alive_head;
	if (l->alive_head)
		l->alive_head->alive_prev = a;
	l->alive_head = a;
	l->n_alive++;
}

void
agent__loop_remove_alive(agent_loop *l, agent *a)
{
	if (a->alive_prev)
		a->alive_prev->alive_next = a->alive_next;
	else
		l->alive_head = a->alive_next;
	if (a->alive_next)
		a->alive_next->alive_prev = a->alive_prev;
	a->alive_next = a->alive_prev = NULL;
	l->n_alive--;
}

/* ---- public loop API ----------------------------------------------------------- */


_public_ int
agent_loop_new(agent_loop **ret)
{
	agent_loop *l;

	if (!ret)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->n_ref = 1;
	__atomic_store_n(&l->owner, pthread_self(), __ATOMIC_RELEASE);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int r = -errno;
		free(l);
		return r;
	}
	l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wake_fd < 0) {
		int r = -errno;
		close(l->epfd);
		free(l);
		return r;
	}
	pthread_mutex_init(&l->xq_lock, NULL);
	pthread_mutex_init(&l->pool_lock, NULL);
	pthread_cond_init(&l->pool_cond, NULL);
	l->wake_io.fd = l->wake_fd;
	l->wake_io.fire = wake_fire;
	if (agent__io_update(l, &l->wake_io, EPOLLIN) < 0) {
		close(l->wake_fd);
		close(l->epfd);
		free(l);
		return -EIO;
	}
	*ret = l;
	return 0;
}

_public_ agent_loop *
agent_loop_ref(agent_loop *l)
{
	if (l)
		__atomic_add_fetch(&l->n_ref, 1, __ATOMIC_RELAXED);
	return l;
}

static void
loop_free(agent_loop *l)
{
	agent_loop *saved = agent__tls_loop;

	agent__tls_loop = l;
	/* abort what is still alive, top-level agents first */
	while (l->alive_head) {
		agent *a = l->alive_head;
		while (a->parent && a->parent->phase != PHASE_ENDED)
			a = a->parent;
		agent__interrupt_local(a, AGENT_LEVEL_ABORT);
		if (a->phase != PHASE_ENDED) {
			/* in a sync state: wait for the worker to return */
			struct epoll_event ev;
			if (epoll_wait(l->epfd, &ev, 1, 100) == 1) {
				struct agent_io *w = ev.data.ptr;
				if (w == &l->wake_io)
					w->fire(w, ev.events);
			}
		}
		agent__free_all_zombies(l);
	}
	xq_drain(l);
	agent__free_all_zombies(l);

	pthread_mutex_lock(&l->pool_lock);
	l->pool_quit = true;
	pthread_cond_broadcast(&l->pool_cond);
	pthread_mutex_unlock(&l->pool_lock);
	for (unsigned i = 0; i < l->n_workers; i++)
		pthread_join(l->workers[i], NULL);
	free(l->workers);
	xq_drain(l);
	agent__free_all_zombies(l);

	agent__remote_free(l);
	while (l->free_msgs) {
		agent_msg *m = l->free_msgs;
		l->free_msgs = m->next;
		free(m);
	}
	free(l->heap);
	close(l->wake_fd);
	close(l->epfd);
	pthread_mutex_destroy(&l->xq_lock);
	pthread_mutex_destroy(&l->pool_lock);
	pthread_cond_destroy(&l->pool_cond);
	agent__tls_loop = saved == l ? NULL : saved;
	free(l);
}

_public_ agent_loop *
agent_loop_unref(agent_loop *l)
{
	if (l && __atomic_sub_fetch(&l->n_ref, 1, __ATOMIC_ACQ_REL) == 0)
		loop_free(l);
	return NULL;
}

_public_ int
agent_loop_exit(agent_loop *l)
{
	if (!l)
		return -EINVAL;
	__atomic_store_n(&l->exit_requested, true, __ATOMIC_RELAXED);
	if (!agent__on_loop(l))
		loop_wake(l);
	return 0;
}

_public_ unsigned
agent_loop_alive(agent_loop *l)
{
	return l ? l->n_alive : 0;
}


/* One iteration: run ready agents up to the budget, then poll. */
static int
loop_iterate(agent_loop *l, uint64_t max_wait, bool (*pred)(void *), void *arg)
{
	struct epoll_event evs[32], *saved_batch;
	unsigned budget = AGENT_LOOP_BUDGET;
	int timeout, n, saved_n;

	while (l->ready_head && budget > 0) {
		agent *a = l->ready_head;
		unsigned used = 0;

		l->ready_head = a->ready_next;
		if (!l->ready_head)
			l->ready_tail = NULL;
		a->in_ready = false;
		agent__process(a, AGENT_QUANTUM, &used);
		budget -= used < budget ? used : budget;
		if (budget == 0 && used == 0)
			break;
		if (agent__has_work(a))
			agent__ready(a);
		if (used == 0)
			budget = budget > 8 ? budget - 8 : 0;
	}
	agent__free_all_zombies(l);
	if (pred && !pred(arg))
		max_wait = 0; /* the caller's condition changed: do not block */

	if (l->ready_head || max_wait == 0)
		timeout = 0;
	else {
		uint64_t wait = max_wait;
		if (l->n_heap > 0) {
			uint64_t now = agent__now(), d = l->heap[0]->deadline;
			uint64_t t = d > now ? d - now : 0;
			if (t < wait)
				wait = t;
		}
		if (wait == AGENT_USEC_INFINITY)
			timeout = -1;
		else {
			uint64_t ms = (wait + 999) / 1000;
			timeout = ms > INT_MAX ? INT_MAX : (int)ms;
		}
	}
	if (l->remote)
		agent__remote_flush(l); /* batches leave before we poll */
	n = epoll_wait(l->epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), timeout);
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	/* a callback may remove (and free) the watcher of a later event:
	 * agent__io_remove() clears its entry */
	saved_batch = l->batch; /* nested runs */
	saved_n = l->batch_n;
	l->batch = evs;
	l->batch_n = n;
	for (int i = 0; i < n; i++) {
		struct agent_io *w = evs[i].data.ptr;
		if (w)
			w->fire(w, evs[i].events);
	}
	l->batch = saved_batch;
	l->batch_n = saved_n;
	timers_run(l);
	agent__free_all_zombies(l);
	return 0;
}

int
agent__loop_get(agent_loop *l, agent_loop **ret)
{
	if (l) {
		*ret = agent_loop_ref(l);
		return 0;
	}
	return agent_loop_new(ret);
}

/* Run until pred(arg) is false (or exit/no agents). */
int
agent__loop_run_while(agent_loop *l, bool (*pred)(void *), void *arg)
{
	agent_loop *saved = agent__tls_loop;
	int r = 0;

	agent__tls_loop = l;
	agent_loop_ref(l);
	__atomic_store_n(&l->owner, pthread_self(), __ATOMIC_RELEASE);
	__atomic_add_fetch(&l->running, 1, __ATOMIC_ACQ_REL);
	while (!__atomic_load_n(&l->exit_requested, __ATOMIC_RELAXED) &&
	       pred(arg)) {
		r = loop_iterate(l, AGENT_USEC_INFINITY, pred, arg);
		if (r < 0)
			break;
	}
	l->exit_requested = false;
	__atomic_sub_fetch(&l->running, 1, __ATOMIC_ACQ_REL);
	agent__tls_loop = saved;
	agent_loop_unref(l);
	return r;
}

static bool
any_alive(void *arg)
{
	agent_loop *l = arg;
	return l->n_alive > 0;
}


_public_ int
agent_loop_run(agent_loop *l)
{
	if (!l)
		return -EINVAL;
	return agent__loop_run_while(l, any_alive, l);
}

_public_ int
agent_loop_iterate(agent_loop *l, uint64_t timeout_usec)
{
	agent_loop *saved = agent__tls_loop;
	unsigned alive;
	int r;

	if (!l)
		return -EINVAL;
	agent__tls_loop = l;
	agent_loop_ref(l); /* a callback may drop the caller's last one */
	__atomic_store_n(&l->owner, pthread_self(), __ATOMIC_RELEASE);
	__atomic_add_fetch(&l->running, 1, __ATOMIC_ACQ_REL);
	r = loop_iterate(l, timeout_usec, NULL, NULL);
	__atomic_sub_fetch(&l->running, 1, __ATOMIC_ACQ_REL);
	alive = l->n_alive;
	agent__tls_loop = saved;
	agent_loop_unref(l);
	if (r < 0)
		return r;
	return alive > 0;
}

