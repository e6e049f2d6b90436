/* SPDX-License-Identifier: MIT */
/*
 * agent.c - the agent object and its engine: lifetime, the step machine
 * (pending transition before queued messages, repeat/repair/fallback,
 * waits and completions, sync states on the pool), actor dispatch,
 * interruption levels, and ordered shutdown of children.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-internal.h"

static uint64_t next_agent_id;

static void end_begin(agent *a, int reason, int err, bool aborting);
static void finish_end(agent *a);
static void children_progress(agent *a);
static void leave_state(agent *a);
static void set_pending(agent *a, agent_step step);

/* ---- helpers --------------------------------------------------------------- */

static void
data_free(const agent_step *s)
{
	if (!s->data)
		return;
	if (s->kind == AGENT_STEP_PERFORM) {
		if (s->performer && s->performer->free_data)
			s->performer->free_data(s->data);
	} else if (s->kind == AGENT_STEP_ASYNC || s->kind == AGENT_STEP_SYNC) {
		if (s->state && s->state->free_data)
			s->state->free_data(s->data);
	}
}

/* Free a step that will never run (its data unless it is the current
 * state's data). */
void
agent__step_free(agent_step *s, agent *a)
{
	if (s->data && s->data != a->cur_data)
		data_free(s);
	s->data = NULL;
}

static void
report_failed(agent *a, int err, agent_msg *m)
{
	agent__log(a, 7, "%s failed: %s",
		   m ? (agent_msg_get_type(m) && agent_msg_get_type(m)->name ?
				agent_msg_get_type(m)->name : "handler")
		     : (a->state_name ? a->state_name : "agent"),
		   strerror(-err));
	if (a->def->on_failed)
		a->def->on_failed(a, err, m);
}

static void
grace_fire(struct agent_tnode *n)
{
	agent *a = container_of(n, agent, grace);

	agent__log(a, 7, "grace deadline passed, aborting");
	agent__interrupt_local(a, AGENT_LEVEL_ABORT);
}

/* ---- lifetime ---------------------------------------------------------------- */

static int
agent_alloc(agent **ret, agent_loop *loop, const struct agent_def *def,
	    void *self)
{
	agent *a;
	int r;

	if (!ret || !def)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	r = agent__loop_get(loop, &a->loop);
	if (r < 0) {
		free(a);
		return r;
	}
	a->private_loop = !loop;
	a->n_ref = 1;
	a->def = def;
	a->self = self;
	a->id = __atomic_add_fetch(&next_agent_id, 1, __ATOMIC_RELAXED);
	snprintf(a->name, sizeof(a->name), "%.64s#%llu",
		 def->name ? def->name : "agent", (unsigned long long)a->id);
	a->capacity = def->mailbox_capacity ? def->mailbox_capacity
					    : AGENT_MAILBOX_DEFAULT;
	a->stopping_group = INT_MIN;
	a->phase = PHASE_CREATED;
	agent__tnode_init(&a->grace, grace_fire);
	*ret = a;
	return 0;
}

_public_ int
agent_new(agent **ret, agent_loop *loop, const struct agent_def *def,
	  void *self)
{
	return agent_alloc(ret, loop, def, self);
}

static void
agent_free(agent *a)
{
	agent_loop *l = a->loop;
	agent_loop *saved = agent__tls_loop;

	/* messages go back to the loop's free list */
	if (!saved)
		agent__tls_loop = l;
	/* never left on the loop's ready list */
	agent__unready(a);
	if (a->phase == PHASE_CREATED && a->has_pending)
		agent__step_free(&a->pending, a);
	/* a never-started agent owns what was attached to it (an ended one
	 * has nothing left here) */
	agent__timers_free_all(a);
	agent__sources_free_all(a);
	agent__cancel_outgoing(a);
	agent__pipelines_free_all(a);
	agent__mailbox_free(a);
	if (a->result && a->result_free)
		a->result_free(a->result);
	if (a->fn_free)
		a->fn_free(a->fn_arg);
	if (a->def->free_self && a->self)
		a->def->free_self(a->self);
	agent__remote_detach(a);
	agent__tls_loop = saved;
	free(a);
	agent_loop_unref(l);
}

_public_ agent *
agent_ref(agent *a)
{
	if (a)
		__atomic_add_fetch(&a->n_ref, 1, __ATOMIC_RELAXED);
	return a;
}

_public_ agent *
agent_unref(agent *a)
{
	if (a && __atomic_sub_fetch(&a->n_ref, 1, __ATOMIC_ACQ_REL) == 0)
		agent_free(a);
	return NULL;
}

static agent_msg *interrupt_msg(agent *a);
static void arm_grace(agent *a);

_public_ int
agent_start(agent *a)
{
	int level;

	if (!a)
		return -EINVAL;
	if (a->phase != PHASE_CREATED)
		return -EALREADY;
	__atomic_store_n(&a->phase, PHASE_RUNNING, __ATOMIC_RELEASE);
	agent_ref(a); /* the loop's reference, dropped when it ends */
	agent__loop_add_alive(a->loop, a);
	agent__ready(a);
	/* replay an interrupt requested before the start */
	level = __atomic_load_n(&a->level, __ATOMIC_RELAXED);
	if (level >= AGENT_LEVEL_ABORT) {
		/* aborted before it ran: no on_interrupt, no finalize */
		a->began = true;
		end_begin(a, AGENT_EXIT_ABORTED, 0, true);
		if (__atomic_load_n(&a->loop->running, __ATOMIC_ACQUIRE) == 0)
			agent__free_all_zombies(a->loop);
	} else if (level >= AGENT_LEVEL_FLAG) {
		arm_grace(a);
	} else if (level > 0) {
		agent_msg *m = interrupt_msg(a);
		if (m && agent__enqueue(a, m) < 0)
			agent_msg_unref(m);
	}
	return 0;
}

_public_ int
agent_spawn(agent *parent, agent **ret, int group, const struct agent_def *def,
	    void *self)
{
	agent *a;
	int r;

	if (!parent || !def)
		return -EINVAL;
	if (parent->phase == PHASE_CREATED)
		return -EINVAL; /* a never-started parent cannot own children */
	if (parent->phase != PHASE_RUNNING)
		return -EPIPE;
	r = agent_alloc(&a, parent->loop, def, self);
	if (r < 0)
		return r;
	a->parent = parent;
	a->group = group;
	/* the parent's children list holds a reference */
	agent_ref(a);
	a->sib_prev = NULL;
	a->sib_next = parent->child_head;
	if (parent->child_head)
		parent->child_head->sib_prev = a;
	parent->child_head = a;
	(void)agent_start(a);
	if (parent->stopping_children && group >= parent->stopping_group)
		agent__interrupt_local(a, def->stop_level ? (int)def->stop_level
							  : AGENT_LEVEL_FLAG);
	if (ret)
		*ret = a;
	else
		agent_unref(a);
	return 0;
}

static bool
not_ended(void *arg)
{
	agent *a = arg;
	return a->phase != PHASE_ENDED;
}

_public_ int
agent_run(agent *a)
{
	int r;

	if (!a)
		return -EINVAL;
	if (a->phase == PHASE_CREATED)
		(void)agent_start(a);
	agent_ref(a);
	r = agent__loop_run_while(a->loop, not_ended, a);
	if (r >= 0)
		r = a->phase == PHASE_ENDED ? a->reason : -ECANCELED;
	agent_unref(a);
	return r;
}

/* ---- accessors ------------------------------------------------------------------ */

_public_ void *
agent_self(agent *a)
{
	return a ? a->self : NULL;
}

_public_ const struct agent_def *
agent_get_def(agent *a)
{
	return a ? a->def : NULL;
}

_public_ agent_loop *
agent_get_loop(agent *a)
{
	return a ? a->loop : NULL;
}

_public_ agent *
agent_get_parent(agent *a)
{
	return a ? a->parent : NULL;
}

_public_ uint64_t
agent_id(agent *a)
{
	return a ? a->id : 0;
}

_public_ const char *
agent_name(agent *a)
{
	return a ? a->name : NULL;
}

_public_ int
agent_set_name(agent *a, const char *name)
{
	if (!a || !name || !*name || strlen(name) > AGENT_NAME_MAX)
		return -EINVAL;
	strcpy(a->name, name);
	return 0;
}

_public_ const char *
agent_state_name(agent *a)
{
	return a ? a->state_name : NULL;
}

_public_ bool
agent_is_alive(agent *a)
{
	return a && (a->phase == PHASE_RUNNING || a->phase == PHASE_ENDING);
}

_public_ int
agent_exit_reason(agent *a)
{
	if (!a)
		return -EINVAL;
	return a->phase == PHASE_ENDED ? a->reason : -EBUSY;
}

_public_ int
agent_exit_error(agent *a)
{
	return a && a->phase == PHASE_ENDED ? a->error : 0;
}

_public_ const char *
agent_exit_reason_to_string(int reason)
{
	switch (reason) {
	case AGENT_EXIT_DONE:
		return "done";
	case AGENT_EXIT_FAILED:
		return "failed";
	case AGENT_EXIT_INTERRUPTED:
		return "interrupted";
	case AGENT_EXIT_ABORTED:
		return "aborted";
	default:
		return "unknown";
	}
}

_public_ int
agent_set_result(agent *a, void *result, void (*free_fn)(void *))
{
	if (!a)
		return -EINVAL;
	if (a->result && a->result != result && a->result_free)
		a->result_free(a->result);
	a->result = result;
	a->result_free = free_fn;
	return 0;
}

_public_ void *
agent_get_result(agent *a)
{
	return a ? a->result : NULL;
}

_public_ void *
agent_take_result(agent *a)
{
	void *r;

	if (!a)
		return NULL;
	r = a->result;
	a->result = NULL;
	a->result_free = NULL;
	return r;
}

_public_ bool
agent_is_interrupted(agent *a)
{
	return a && __atomic_load_n(&a->level, __ATOMIC_RELAXED) >=
			    AGENT_LEVEL_FLAG;
}

/* ---- steps --------------------------------------------------------------------- */

static void
set_pending(agent *a, agent_step step)
{
	if (a->has_pending)
		agent__step_free(&a->pending, a);
	a->pending = step;
	a->has_pending = true;
	agent__ready(a);
}

_public_ int
agent_do_next(agent *a, agent_step step)
{
	if (!a)
		return -EINVAL;
	if (a->phase == PHASE_ENDED || a->phase == PHASE_ENDING) {
		agent__step_free(&step, a);
		return -ESRCH;
	}
	if (a->phase == PHASE_CREATED) {
		/* not on the loop yet: its first step is begin() */
		agent__step_free(&step, a);
		return -EINVAL;
	}
	set_pending(a, step);
	return 0;
}

_public_ int
agent_shutdown(agent *a)
{
	return agent_do_next(a, agent_done());
}

_public_ int
agent_continue(agent *a, agent_step step)
{
	if (!a)
		return -EINVAL;
	if (!a->waiting || a->phase != PHASE_RUNNING) {
		agent__step_free(&step, a);
		return -EBUSY;
	}
	if (step.kind == AGENT_STEP_WAIT)
		return 0;
	a->waiting = false;
	if (step.kind == AGENT_STEP_ERROR)
		step = agent_fail(step.err);
	set_pending(a, step);
	return 0;
}

static void
leave_state(agent *a)
{
	if (a->awaits || a->comp_head) {
		agent__comp_drop_all(a);
		agent__cancel_awaits(a);
	}
	if (!a->in_state)
		return;
	if (a->cur_data) {
		agent_step s = { .kind = a->cur_kind, .data = a->cur_data };
		if (a->cur_kind == AGENT_STEP_PERFORM)
			s.performer = a->cur_perf;
		else
			s.state = a->cur_state;
		a->cur_data = NULL;
		data_free(&s);
	}
	a->in_state = false;
	a->waiting = false;
	a->state_name = NULL;
}

/* A state call failed with err: repair, fallback, or fail. */
static agent_step
state_error(agent *a, int err)
{
	const struct agent_state *st = a->cur_state;
	agent_step r;

	if (a->cur_kind == AGENT_STEP_PERFORM)
		return agent_fail(err);
	if (st->repair && st->repair(a, a->cur_data, err) >= 0)
		return agent_again();
	if (!st->fallback)
		return agent_fail(err);
	r = st->fallback(a, a->cur_data, err);
	if (r.kind == AGENT_STEP_ERROR || r.kind == AGENT_STEP_WAIT)
		r = agent_fail(r.kind == AGENT_STEP_ERROR ? r.err : -EINVAL);
	return r;
}

static void
state_result(agent *a, agent_step r)
{
	if (r.kind == AGENT_STEP_ERROR)
		r = state_error(a, r.err);
	if (r.kind == AGENT_STEP_WAIT) {
		a->waiting = true;
		if (a->comp_head)
			agent__ready(a);
		return;
	}
	a->pending = r;
	a->has_pending = true;
}

/* ---- sync states ------------------------------------------------------------------ */

struct sync_job {
	struct agent_job job;
	agent *a;
	struct agent_xq *x; /* preallocated: the worker never allocates */
};

static void
sync_run(struct agent_job *j)
{
	struct sync_job *sj = container_of(j, struct sync_job, job);
	agent *a = sj->a;
	struct agent_xq *x = sj->x;
	const struct agent_state *st = a->cur_state;
	agent_step (*fn)(agent *, void *) = st->repeat ? st->repeat : st->once;
	agent_step r;

	for (;;) {
		r = fn ? fn(a, a->cur_data) : agent_done();
		if (r.kind == AGENT_STEP_ERROR) {
			if (st->repair && st->repair(a, a->cur_data, r.err) >= 0)
				r = agent_again();
			else if (st->fallback) {
				r = st->fallback(a, a->cur_data, r.err);
				if (r.kind == AGENT_STEP_ERROR)
					r = agent_fail(r.err);
			} else
				r = agent_fail(r.err);
		}
		if (r.kind == AGENT_STEP_WAIT)
			r = agent_fail(-EINVAL);
		if (r.kind != AGENT_STEP_AGAIN || agent_is_interrupted(a))
			break;
	}
	free(sj);
	x->kind = XQ_SYNC_DONE;
	x->a = a; /* the reference taken when submitted */
	x->step = r;
	agent__xq_push(a->loop, x);
}

void
agent__sync_done(agent *a, agent_step step)
{
	a->in_sync = false;
	if (a->abort_pending) {
		agent__step_free(&step, a);
		a->abort_pending = false;
		end_begin(a, AGENT_EXIT_ABORTED, 0, true);
		return;
	}
	if (a->phase != PHASE_RUNNING) {
		agent__step_free(&step, a);
		return;
	}
	set_pending(a, step);
}

/* ---- performing a step ---------------------------------------------------------- */

static void
run_state(agent *a)
{
	agent_step r;

	if (a->cur_kind == AGENT_STEP_SYNC) {
		struct sync_job *sj = calloc(1, sizeof(*sj));
		int e;

		if (sj) {
			sj->x = calloc(1, sizeof(*sj->x));
			if (!sj->x) {
				free(sj);
				sj = NULL;
			}
		}
		if (!sj) {
			a->pending = agent_fail(-ENOMEM);
			a->has_pending = true;
			return;
		}
		sj->job.fn = sync_run;
		sj->a = agent_ref(a);
		a->in_sync = true;
		e = agent__pool_submit(a->loop, &sj->job);
		if (e < 0) {
			a->in_sync = false;
			agent_unref(a);
			free(sj->x);
			free(sj);
			a->pending = agent_fail(e);
			a->has_pending = true;
		}
		return;
	}
	if (a->cur_kind == AGENT_STEP_PERFORM) {
		r = a->cur_perf->perform ? a->cur_perf->perform(a, a->cur_data)
					 : agent_done();
	} else {
		const struct agent_state *st = a->cur_state;
		if (st->repeat)
			r = st->repeat(a, a->cur_data);
		else if (st->once)
			r = st->once(a, a->cur_data);
		else
			r = agent_done();
	}
	state_result(a, r);
}

static void
first_step(agent *a)
{
	if (a->ready_sent)
		return;
	a->ready_sent = true;
	if (a->on_first_step)
		a->on_first_step(a);
}

static void
perform(agent *a, agent_step step)
{
	/* hot path: an async state entering itself (or another async state)
	 * with the data it already owns, nothing in flight */
	if (_likely_(step.kind == AGENT_STEP_ASYNC && a->in_state &&
		     a->cur_kind == AGENT_STEP_ASYNC && step.state &&
		     step.data == a->cur_data && !a->awaits && !a->comp_head)) {
		const struct agent_state *st = step.state;
		agent_step r;

		a->cur_state = st;
		a->state_name = st->name;
		if (st->repeat)
			r = st->repeat(a, a->cur_data);
		else if (st->once)
			r = st->once(a, a->cur_data);
		else
			r = agent_done();
		if (_likely_(r.kind != AGENT_STEP_ERROR &&
			     r.kind != AGENT_STEP_WAIT)) {
			a->pending = r;
			a->has_pending = true;
		} else
			state_result(a, r);
		return;
	}
	switch (step.kind) {
	case AGENT_STEP_ASYNC:
	case AGENT_STEP_SYNC:
	case AGENT_STEP_PERFORM:
		if ((step.kind == AGENT_STEP_PERFORM && !step.performer) ||
		    (step.kind != AGENT_STEP_PERFORM && !step.state)) {
			leave_state(a);
			end_begin(a, AGENT_EXIT_FAILED, -EINVAL, false);
			return;
		}
		if (a->in_state) {
			if (a->cur_data == step.data) {
				a->cur_data = NULL; /* moves on */
			}
			leave_state(a);
		} else if (a->awaits || a->comp_head) {
			agent__comp_drop_all(a);
			agent__cancel_awaits(a);
		}
		a->in_state = true;
		a->events_mode = false;
		a->cur_kind = step.kind;
		a->cur_data = step.data;
		if (step.kind == AGENT_STEP_PERFORM) {
			a->cur_perf = step.performer;
			a->state_name = step.performer->name;
		} else {
			a->cur_state = step.state;
			a->state_name = step.state->name;
		}
		first_step(a);
		run_state(a);
		return;
	case AGENT_STEP_AGAIN:
		if (!a->in_state) {
			end_begin(a, AGENT_EXIT_FAILED, -EINVAL, false);
			return;
		}
		run_state(a);
		return;
	case AGENT_STEP_EVENTS:
		leave_state(a);
		a->events_mode = true;
		first_step(a);
		return;
	case AGENT_STEP_DONE:
		leave_state(a);
		a->events_mode = true;
		a->closed = true;
		first_step(a);
		return;
	case AGENT_STEP_STOP:
		leave_state(a);
		end_begin(a, AGENT_EXIT_DONE, 0, false);
		return;
	case AGENT_STEP_WAIT:
		/* only a state's result may wait */
		step.err = -EINVAL;
		/* fall through */
	case AGENT_STEP_ERROR:
	case AGENT_STEP_FAIL:
		leave_state(a);
		report_failed(a, step.err ? step.err : -EIO, NULL);
		end_begin(a, AGENT_EXIT_FAILED, step.err ? step.err : -EIO,
			  false);
		return;
	}
}

/* ---- actor dispatch ---------------------------------------------------------------- */

static const struct agent_handler *
handler_find(agent *a, const struct agent_msg_type *type)
{
	const struct agent_handler *h = a->def->handlers;

	if (!h)
		return NULL;
	for (; h->type; h++)
		if (h->type == type)
			return h;
	return NULL;
}

bool
agent__type_is_builtin(const struct agent_msg_type *t)
{
	return t == &agent_type_timer || t == &agent_type_tick ||
	       t == &agent_type_data || t == &agent_type_source_end ||
	       t == &agent_type_exit || t == &agent_type_fd ||
	       t == &agent_type_wake || t == &agent_type_peer ||
	       t == &agent_type_update ||
	       t == &agent_type_pipeline_output;
}

static void
dispatch(agent *a, agent_msg *m)
{
	const struct agent_handler *h;
	int r;

	if (m->internal_interrupt) {
		agent_step s;
		a->interrupted = true;
		s = a->def->on_interrupt
			    ? a->def->on_interrupt(a, AGENT_LEVEL_EVENT)
			    : agent_done();
		agent_msg_unref(m);
		set_pending(a, s);
		return;
	}
	h = handler_find(a, m->type);
	switch (m->kind) {
	case AGENT_MSG_EVENT:
		if (h && h->on_event)
			r = h->on_event(a, m);
		else if (agent__type_is_builtin(m->type)) {
			agent__log(a, 7, "no handler for %s, ignored",
				   m->type->name);
			r = 0;
		} else
			r = -EOPNOTSUPP;
		if (r < 0)
			report_failed(a, r, m);
		break;
	case AGENT_MSG_REQUEST:
		if (h && h->on_request) {
			r = h->on_request(a, m);
			if (r == AGENT_REPLY_LATER)
				break;
			if (r < 0) {
				if (!m->replied)
					(void)agent_reply_error(a, m, r);
				report_failed(a, r, m);
			} else if (!m->replied)
				(void)agent_reply(a, m, NULL);
		} else if (m->type == &agent__ping_type) {
			(void)agent__ping_answer(a, m);
		} else if (m->type == &agent__stats_type) {
			(void)agent__stats_answer(a, m);
		} else {
			(void)agent_reply_error(a, m, -EOPNOTSUPP);
			report_failed(a, -EOPNOTSUPP, m);
		}
		break;
	case AGENT_MSG_RESPONSE:
		r = h && h->on_response ? h->on_response(a, m) : -EOPNOTSUPP;
		if (r < 0)
			report_failed(a, r, m);
		break;
	}
	agent_msg_unref(m);
}

/* ---- interruption --------------------------------------------------------------- */

/* The grace deadline runs from the first FLAG the agent sees, whatever
 * it is doing (a sync state too); armed once. */
static void
arm_grace(agent *a)
{
	uint64_t grace;

	if (a->grace.idx != SIZE_MAX || a->phase != PHASE_RUNNING)
		return;
	grace = a->grace_usec ? a->grace_usec
	      : a->def->grace_usec ? a->def->grace_usec
				   : AGENT_GRACE_DEFAULT_USEC;
	if (agent__tnode_arm(a->loop, &a->grace, agent__deadline(grace)) < 0)
		agent__log(a, 7, "no memory for the grace deadline");
}

static void
flag_begin(agent *a)
{
	agent_step s;

	a->flag_handled = true;
	a->interrupted = true;
	a->began = true; /* interrupted before begin: begin never runs */
	if (a->has_pending) {
		agent__step_free(&a->pending, a);
		a->has_pending = false;
	}
	leave_state(a);
	agent__mailbox_drop_all(a, -ECANCELED);
	arm_grace(a);
	s = a->def->on_interrupt ? a->def->on_interrupt(a, AGENT_LEVEL_FLAG)
				 : agent_stop();
	set_pending(a, s);
}

static agent_msg *
interrupt_msg(agent *a)
{
	agent_msg *m = agent__msg_new(a->loop);

	if (!m)
		return NULL;
	m->type = &agent_type_timer; /* never dispatched by type */
	m->internal_interrupt = true;
	m->control = true;
	return m;
}

void
agent__interrupt_local(agent *a, int level)
{
	if (a->phase == PHASE_ENDED)
		return;
	if (level <= a->level)
		return;
	__atomic_store_n(&a->level, level, __ATOMIC_RELAXED);
	if (a->phase == PHASE_CREATED)
		return;
	if (level < AGENT_LEVEL_FLAG) {
		agent_msg *m = interrupt_msg(a);
		if (m && agent__enqueue(a, m) < 0)
			agent_msg_unref(m);
		return;
	}
	a->interrupted = true;
	if (level < AGENT_LEVEL_ABORT) {
		arm_grace(a);
		agent__ready(a);
		return;
	}
	/* ABORT */
	if (a->in_sync) {
		a->abort_pending = true;
		/* abort the subtree now; this agent follows when the worker
		 * hands it back */
		for (agent *c = a->child_head; c; c = c->sib_next)
			agent__interrupt_local(c, AGENT_LEVEL_ABORT);
		return;
	}
	end_begin(a, AGENT_EXIT_ABORTED, 0, true);
}

_public_ int
agent_interrupt(agent *a, enum agent_level level)
{
	if (!a)
		return -EINVAL;
	if (level != AGENT_LEVEL_EVENT && level != AGENT_LEVEL_FLAG &&
	    level != AGENT_LEVEL_ABORT)
		return -EINVAL;
	if (__atomic_load_n(&a->phase, __ATOMIC_ACQUIRE) == PHASE_ENDED)
		return -ESRCH;
	if (!agent__may_touch(a->loop)) {
		struct agent_xq *x = calloc(1, sizeof(*x));
		if (!x)
			return -ENOMEM;
		x->kind = XQ_INTERRUPT;
		x->a = agent_ref(a);
		x->level = (int)level;
		agent__xq_push(a->loop, x);
		return 0;
	}
	agent_ref(a);
	agent__interrupt_local(a, (int)level);
	if (__atomic_load_n(&a->loop->running, __ATOMIC_ACQUIRE) == 0)
		agent__free_all_zombies(a->loop);
	agent_unref(a);
	return 0;
}

/* ---- ending ------------------------------------------------------------------------- */

static bool
subtree_stuck(agent *a)
{
	if (a->phase == PHASE_ENDED)
		return true;
	if (a->phase == PHASE_RUNNING && !a->abort_pending)
		return false; /* it still makes progress on the loop */
	for (agent *c = a->child_head; c; c = c->sib_next)
		if (!subtree_stuck(c))
			return false;
	return true;
}

/* a was aborted and what keeps it from ending is only sync states still
 * running on workers (its own or its descendants'): nothing on the loop
 * will make progress until they return. For agent_main(). */
bool
agent__abort_stuck(agent *a)
{
	if (a->phase == PHASE_ENDED ||
	    __atomic_load_n(&a->level, __ATOMIC_RELAXED) < AGENT_LEVEL_ABORT)
		return false;
	return subtree_stuck(a);
}

static void
end_begin(agent *a, int reason, int err, bool aborting)
{
	if (a->phase == PHASE_ENDING) {
		if (aborting && a->reason != AGENT_EXIT_ABORTED) {
			a->reason = AGENT_EXIT_ABORTED;
			for (agent *c = a->child_head; c;) {
				agent *next = c->sib_next;
				agent__interrupt_local(c, AGENT_LEVEL_ABORT);
				c = next;
			}
			children_progress(a);
		}
		return;
	}
	if (a->phase != PHASE_RUNNING)
		return;
	if (reason == AGENT_EXIT_DONE && a->interrupted)
		reason = AGENT_EXIT_INTERRUPTED;
	a->reason = reason;
	a->error = err;
	__atomic_store_n(&a->phase, PHASE_ENDING, __ATOMIC_RELEASE);
	if (a->has_pending) {
		agent__step_free(&a->pending, a);
		a->has_pending = false;
	}
	leave_state(a);
	a->closed = true;
	agent__mailbox_drop_all(a, -EPIPE);
	/* timers and sources go quiet; they, and the pipelines, stay valid
	 * for finalize and are freed after it (finish_end) */
	agent__timers_sources_quiet(a);
	agent__cancel_outgoing(a);
	if (a->on_end)
		a->on_end(a); /* link: STOPPING */
	if (a->child_head) {
		a->stopping_children = true;
		if (aborting) {
			for (agent *c = a->child_head; c;) {
				agent *next = c->sib_next;
				agent__interrupt_local(c, AGENT_LEVEL_ABORT);
				c = next;
			}
		}
		children_progress(a);
		return;
	}
	finish_end(a);
}

static void
finish_end(agent *a)
{
	agent_loop *l = a->loop;
	agent *p = a->parent;

	if (a->phase != PHASE_ENDING)
		return;
	agent__tnode_disarm(l, &a->grace);
	if (a->reason != AGENT_EXIT_ABORTED && a->def->finalize)
		a->def->finalize(a, (enum agent_exit_reason)a->reason);
	__atomic_store_n(&a->phase, PHASE_ENDED, __ATOMIC_RELEASE);
	agent__mailbox_drop_all(a, -EPIPE);
	agent__timers_free_all(a);
	agent__sources_free_all(a);
	agent__cancel_outgoing(a);
	agent__pipelines_free_all(a);
	agent__loop_remove_alive(l, a);
	if (a->on_end)
		a->on_end(a); /* link: EXIT_REPORT */
	if (a->pipe)
		agent__pipeline_stage_ended(a);
	if (p) {
		agent_msg *m = NULL;
		struct agent_exit *e = calloc(1, sizeof(*e));

		if (e) {
			m = agent__msg_new(l);
			if (!m) {
				free(e);
			} else {
				e->child = agent_ref(a);
				e->group = a->group;
				e->reason = (enum agent_exit_reason)a->reason;
				e->error = a->error;
				m->type = &agent_type_exit;
				m->payload = e;
				m->control = true;
			}
		}
		agent__child_ended(p, a, m);
	}
	/* the loop's reference goes at a safe point */
	a->zombie_next = l->zombies;
	l->zombies = a;
}

void
agent__free_all_zombies(agent_loop *l)
{
	while (l->zombies) {
		agent *a = l->zombies;
		l->zombies = a->zombie_next;
		agent_unref(a);
	}
}

/* A child has ended: unlink it and route its exit. m may be NULL (ENOMEM). */
void
agent__child_ended(agent *p, agent *c, agent_msg *m)
{
	if (c->sib_prev)
		c->sib_prev->sib_next = c->sib_next;
	else if (p->child_head == c)
		p->child_head = c->sib_next;
	if (c->sib_next)
		c->sib_next->sib_prev = c->sib_prev;
	c->sib_next = c->sib_prev = NULL;

	if (c->joiner && m) {
		struct agent_await *w = c->joiner;
		c->joiner = NULL;
		agent__complete(w, m);
		m = NULL;
	} else if (m && p->phase == PHASE_RUNNING && !c->quiet_exit) {
		if (agent__enqueue(p, m) < 0)
			agent_msg_unref(m);
		m = NULL;
	}
	if (m)
		agent_msg_unref(m);
	/* the children list's reference; the parent still holds c through
	 * the exit message if it was queued */
	agent_unref(c);
	if (p->stopping_children)
		children_progress(p);
}

static int
stop_level_of(agent *c)
{
	return c->def->stop_level ? (int)c->def->stop_level : AGENT_LEVEL_FLAG;
}

/* Stop children group by group, greatest group first, each group fully
 * ended before the next one is asked. Re-entered on every child exit. */
static void
children_progress(agent *a)
{
	if (a->in_group_stop)
		return;
	a->in_group_stop = true;
	for (;;) {
		int g = INT_MIN;

		if (!a->child_head) {
			a->stopping_children = false;
			a->stopping_group = INT_MIN;
			break;
		}
		for (agent *c = a->child_head; c; c = c->sib_next)
			if (c->group > g)
				g = c->group;
		if (a->stopping_group == INT_MIN || g < a->stopping_group)
			a->stopping_group = g;
		/* interrupt every member of groups >= the current one that
		 * has not been asked yet (late joiners too) */
		for (;;) {
			agent *pick = NULL;
			for (agent *c = a->child_head; c; c = c->sib_next)
				if (c->group >= a->stopping_group &&
				    c->level < stop_level_of(c)) {
					pick = c;
					break;
				}
			if (!pick)
				break;
			agent__interrupt_local(pick, stop_level_of(pick));
		}
		/* still members in the current group: wait for them */
		g = INT_MIN;
		for (agent *c = a->child_head; c; c = c->sib_next)
			if (c->group > g)
				g = c->group;
		if (a->child_head && g >= a->stopping_group)
			break;
	}
	a->in_group_stop = false;
	if (!a->stopping_children && a->phase == PHASE_ENDING)
		finish_end(a);
}

_public_ int
agent_stop_children(agent *a)
{
	if (!a)
		return -EINVAL;
	if (!a->child_head)
		return 0;
	a->stopping_children = true;
	children_progress(a);
	return 0;
}

/* ---- the engine ------------------------------------------------------------------- */

bool
agent__has_work(agent *a)
{
	if (a->phase != PHASE_RUNNING || a->in_sync)
		return false;
	if (a->has_pending || !a->began)
		return true;
	if (a->level >= AGENT_LEVEL_FLAG && !a->flag_handled)
		return true;
	if (a->waiting)
		return a->comp_head != NULL;
	if (a->events_mode)
		return a->mb_len > 0 || a->closed;
	return false;
}

void
agent__process(agent *a, unsigned quantum, unsigned *used)
{
	unsigned n;

	for (n = 0; n < quantum; n++) {
		if (a->phase != PHASE_RUNNING || a->in_sync)
			break;
		if (_likely_(a->has_pending)) {
			agent_step s = a->pending;
			a->has_pending = false;
			if (_unlikely_(a->level >= AGENT_LEVEL_FLAG &&
				       !a->flag_handled)) {
				a->pending = s;
				a->has_pending = true;
				flag_begin(a);
				continue;
			}
			perform(a, s);
			continue;
		}
		if (_unlikely_(a->level >= AGENT_LEVEL_FLAG &&
			       !a->flag_handled)) {
			flag_begin(a);
			continue;
		}
		if (_unlikely_(!a->began)) {
			agent_step s;
			a->began = true;
			s = a->def->begin ? a->def->begin(a) : agent_events();
			if (s.kind == AGENT_STEP_WAIT || s.kind == AGENT_STEP_AGAIN)
				s = agent_fail(-EINVAL);
			a->pending = s;
			a->has_pending = true;
			continue;
		}
		if (a->waiting) {
			agent_msg *m = a->comp_head;
			struct agent_await *w;
			agent_step r;

			if (!m)
				break;
			a->comp_head = m->next;
			if (!a->comp_head)
				a->comp_tail = NULL;
			m->next = NULL;
			w = m->await;
			m->await = NULL;
			a->waiting = false;
			r = w->cb(a, a->cur_data, m);
			free(w);
			agent_msg_unref(m);
			if (a->phase != PHASE_RUNNING)
				break;
			if (a->has_pending) {
				/* a do_next() from the callback wins */
				agent__step_free(&r, a);
				continue;
			}
			state_result(a, r);
			continue;
		}
		if (a->events_mode) {
			agent_msg *m = agent__dequeue(a);
			if (!m) {
				if (a->closed)
					end_begin(a, AGENT_EXIT_DONE, 0, false);
				break;
			}
			dispatch(a, m);
			continue;
		}
		break;
	}
	*used = n;
}
