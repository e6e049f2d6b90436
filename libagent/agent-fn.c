/* SPDX-License-Identifier: MIT */
/*
 * agent-fn.c - functional activities (a plain function as a one-shot
 * agent), pipelines (stages with a bounded pool each), and agent_parallel
 * (fan CPU work out over the worker pool).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent-internal.h"

/* ---- functional activities ----------------------------------------------------- */

static agent_step
sync_fn_once(agent *a, void *data)
{
	agent_sync_fn fn = (agent_sync_fn)a->fn;
	int r;

	(void)data;
	r = fn(a, a->fn_arg);
	return r < 0 ? agent_fail(r) : agent_done();
}

static agent_step
async_fn_once(agent *a, void *data)
{
	agent_async_fn fn = (agent_async_fn)a->fn;

	(void)data;
	return fn(a, a->fn_arg);
}

static const struct agent_state sync_fn_state = {
	.name = "sync-fn",
	.once = sync_fn_once,
};

static const struct agent_state async_fn_state = {
	.name = "async-fn",
	.once = async_fn_once,
};

static agent_step
sync_fn_begin(agent *a)
{
	return agent_sync(&sync_fn_state, NULL);
}

static agent_step
async_fn_begin(agent *a)
{
	return agent_async(&async_fn_state, NULL);
}

static const struct agent_def sync_fn_def = {
	.name = "sync-fn",
	.begin = sync_fn_begin,
};

static const struct agent_def async_fn_def = {
	.name = "async-fn",
	.begin = async_fn_begin,
};

static void
fn_setup(agent *a, void *fn, void *arg, void (*free_arg)(void *))
{
	a->fn = fn;
	a->fn_arg = arg;
	a->fn_free = free_arg;
}

static int
spawn_fn(agent *parent, agent **ret, int group, const struct agent_def *def,
	 void *fn, void *arg, void (*free_arg)(void *))
{
	agent *c;
	int r;

	if (!parent || !fn)
		return -EINVAL;
	/* create, set up, then start: spawn starts at once but begin only
	 * runs on the next loop turn, so setting fn now is safe */
	r = agent_spawn(parent, &c, group, def, NULL);
	if (r < 0)
		return r;
	fn_setup(c, fn, arg, free_arg);
	if (ret)
		*ret = c;
	else
		agent_unref(c);
	return 0;
}

_public_ int
agent_spawn_sync_fn(agent *parent, agent **ret, int group, agent_sync_fn fn,
		    void *arg, void (*free_arg)(void *))
{
	return spawn_fn(parent, ret, group, &sync_fn_def, (void *)fn, arg,
			free_arg);
}

_public_ int
agent_spawn_async_fn(agent *parent, agent **ret, int group, agent_async_fn fn,
		     void *arg, void (*free_arg)(void *))
{
	return spawn_fn(parent, ret, group, &async_fn_def, (void *)fn, arg,
			free_arg);
}

_public_ int
agent_new_sync_fn(agent **ret, agent_loop *loop, agent_sync_fn fn, void *arg,
		  void (*free_arg)(void *))
{
	int r;

	if (!fn)
		return -EINVAL;
	r = agent_new(ret, loop, &sync_fn_def, NULL);
	if (r >= 0)
		fn_setup(*ret, (void *)fn, arg, free_arg);
	return r;
}

_public_ int
agent_new_async_fn(agent **ret, agent_loop *loop, agent_async_fn fn,
		   void *arg, void (*free_arg)(void *))
{
	int r;

	if (!fn)
		return -EINVAL;
	r = agent_new(ret, loop, &async_fn_def, NULL);
	if (r >= 0)
		fn_setup(*ret, (void *)fn, arg, free_arg);
	return r;
}

/* ---- pipelines -------------------------------------------------------------------- */

struct pipe_item {
	struct pipe_item *next;
	int64_t seq;
	void *input;
	void (*free_fn)(void *);
};

struct pipe_stage {
	const struct agent_def *def;
	unsigned pool;
	unsigned running;
	struct pipe_item *head, *tail;
};

struct agent_pipeline {
	agent *owner;
	unsigned capacity;
	unsigned n_items;
	struct pipe_stage *stages;
	unsigned n_stages;
	int64_t next_seq;
	struct agent_pipeline *next, *prev;
};

static void
item_free(struct pipe_item *it)
{
	if (it->input && it->free_fn)
		it->free_fn(it->input);
	free(it);
}

static void
output(agent_pipeline *p, int64_t seq, int err, void *payload,
       void (*free_fn)(void *))
{
	agent_msg *m = agent__msg_new(p->owner->loop);

	p->n_items--;
	if (!m) {
		if (payload && free_fn)
			free_fn(payload);
		return;
	}
	m->type = &agent_type_pipeline_output;
	m->tag = (uint64_t)seq;
	m->err = err;
	m->payload = payload;
	m->payload_free = free_fn;
	m->control = true; /* bounded by the pipeline's capacity */
	if (agent__enqueue(p->owner, m) < 0)
		agent_msg_unref(m);
}

static void
pump(agent_pipeline *p, unsigned i)
{
	struct pipe_stage *st = &p->stages[i];

	while (st->head && st->running < st->pool) {
		struct pipe_item *it = st->head;
		agent *c;
		int r;

		st->head = it->next;
		if (!st->head)
			st->tail = NULL;
		r = agent_spawn(p->owner, &c, 0, st->def, it->input);
		if (r < 0) {
			output(p, it->seq, r, NULL, NULL);
			item_free(it);
			continue;
		}
		c->pipe = p;
		c->pipe_stage = i;
		c->pipe_seq = it->seq;
		c->quiet_exit = true;
		st->running++;
		agent_unref(c);
		free(it);
	}
}

static void
stage_queue(agent_pipeline *p, unsigned i, struct pipe_item *it)
{
	struct pipe_stage *st = &p->stages[i];

	it->next = NULL;
	if (st->tail)
		st->tail->next = it;
	else
		st->head = it;
	st->tail = it;
	pump(p, i);
}

void
agent__pipeline_stage_ended(agent *a)
{
	agent_pipeline *p = a->pipe;
	unsigned i = a->pipe_stage;
	void (*rfree)(void *) = a->result_free;
	void *res;

	a->pipe = NULL;
	p->stages[i].running--;
	if (a->reason != AGENT_EXIT_DONE) {
		output(p, a->pipe_seq, a->error ? a->error : -ECANCELED, NULL,
		       NULL);
	} else {
		res = agent_take_result(a);
		if (i + 1 == p->n_stages)
			output(p, a->pipe_seq, 0, res, rfree);
		else {
			struct pipe_item *it = calloc(1, sizeof(*it));
			if (!it) {
				if (res && rfree)
					rfree(res);
				output(p, a->pipe_seq, -ENOMEM, NULL, NULL);
			} else {
				it->seq = a->pipe_seq;
				it->input = res;
				it->free_fn = rfree;
				stage_queue(p, i + 1, it);
			}
		}
	}
	if (p->owner->phase == PHASE_RUNNING)
		pump(p, i);
}

_public_ int
agent_pipeline_new(agent *owner, agent_pipeline **ret, unsigned capacity)
{
	agent_pipeline *p;

	if (!owner || !ret || capacity == 0)
		return -EINVAL;
	if (owner->phase == PHASE_ENDED || owner->phase == PHASE_ENDING)
		return -EPIPE;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->owner = owner;
	p->capacity = capacity;
	p->next = owner->pipes;
	if (owner->pipes)
		owner->pipes->prev = p;
	owner->pipes = p;
	*ret = p;
	return 0;
}

_public_ int
agent_pipeline_add_stage(agent_pipeline *p, const struct agent_def *def,
			 unsigned pool)
{
	struct pipe_stage *n;

	if (!p || !def || pool == 0)
		return -EINVAL;
	if (p->next_seq > 0)
		return -EBUSY;
	n = realloc(p->stages, (p->n_stages + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->stages = n;
	memset(&n[p->n_stages], 0, sizeof(*n));
	n[p->n_stages].def = def;
	n[p->n_stages].pool = pool;
	p->n_stages++;
	return 0;
}

_public_ int64_t
agent_pipeline_push(agent_pipeline *p, void *input, void (*free_fn)(void *))
{
	struct pipe_item *it;
	int64_t seq;

	if (!p || p->n_stages == 0) {
		if (input && free_fn)
			free_fn(input);
		return -EINVAL;
	}
	if (p->n_items >= p->capacity || p->owner->phase != PHASE_RUNNING) {
		if (input && free_fn)
			free_fn(input);
		return p->owner->phase != PHASE_RUNNING ? -EPIPE : -ENOBUFS;
	}
	it = calloc(1, sizeof(*it));
	if (!it) {
		if (input && free_fn)
			free_fn(input);
		return -ENOMEM;
	}
	it->seq = ++p->next_seq;
	it->input = input;
	it->free_fn = free_fn;
	p->n_items++;
	seq = it->seq;
	stage_queue(p, 0, it); /* may start and free it */
	return seq;
}

_public_ unsigned
agent_pipeline_pending(agent_pipeline *p)
{
	return p ? p->n_items : 0;
}

_public_ void
agent_pipeline_free(agent_pipeline *p)
{
	agent *o;

	if (!p)
		return;
	o = p->owner;
	if (p->prev)
		p->prev->next = p->next;
	else if (o->pipes == p)
		o->pipes = p->next;
	if (p->next)
		p->next->prev = p->prev;
	for (unsigned i = 0; i < p->n_stages; i++) {
		while (p->stages[i].head) {
			struct pipe_item *it = p->stages[i].head;
			p->stages[i].head = it->next;
			item_free(it);
		}
	}
	for (agent *c = o->child_head; c; c = c->sib_next) {
		if (c->pipe == p) {
			c->pipe = NULL;
			agent__interrupt_local(c, AGENT_LEVEL_FLAG);
		}
	}
	free(p->stages);
	free(p);
}

void
agent__pipelines_free_all(agent *a)
{
	while (a->pipes)
		agent_pipeline_free(a->pipes);
}

/* ---- parallel --------------------------------------------------------------------- */

struct par {
	size_t n;
	size_t next; /* atomic */
	size_t done; /* under lock */
	int refs;    /* atomic */
	void (*fn)(size_t i, void *arg);
	void *arg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

struct par_job {
	struct agent_job job;
	struct par *p;
};

static void
par_release(struct par *p)
{
	if (__atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->cond);
		free(p);
	}
}

static void
par_work(struct par *p)
{
	size_t ran = 0;

	for (;;) {
		size_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
		if (i >= p->n)
			break;
		p->fn(i, p->arg);
		ran++;
	}
	if (ran) {
		pthread_mutex_lock(&p->lock);
		p->done += ran;
		if (p->done == p->n)
			pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
	}
}

static void
par_job_run(struct agent_job *j)
{
	struct par_job *pj = container_of(j, struct par_job, job);
	struct par *p = pj->p;

	free(pj);
	par_work(p);
	par_release(p);
}

_public_ int
agent_parallel(agent *a, size_t n, void (*fn)(size_t i, void *arg), void *arg)
{
	struct par *p;
	unsigned helpers;

	if (!a || !fn)
		return -EINVAL;
	if (n == 0)
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->n = n;
	p->fn = fn;
	p->arg = arg;
	p->refs = 1;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	helpers = n - 1 > 64 ? 64 : (unsigned)(n - 1);
	for (unsigned k = 0; k < helpers; k++) {
		struct par_job *pj = calloc(1, sizeof(*pj));
		if (!pj)
			break;
		pj->job.fn = par_job_run;
		pj->p = p;
		__atomic_add_fetch(&p->refs, 1, __ATOMIC_ACQ_REL);
		if (agent__pool_submit(a->loop, &pj->job) < 0) {
			free(pj);
			__atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL);
			break;
		}
		if (k + 1 >= a->loop->n_workers)
			break;
	}
	par_work(p);
	pthread_mutex_lock(&p->lock);
	while (p->done < p->n)
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
	par_release(p);
	return 0;
}
