/* SPDX-License-Identifier: MIT */
/*
 * test-agent-semantics.c - libagent's ordering and outcome guarantees, one
 * test per rule (issue 3, "Semantics tests"). Each test records what
 * happened in a trace string and compares it with the required order, so
 * a change of semantics makes it fail. No test asserts a duration: timer
 * tests compare deadlines against each other.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <agent/agent.h>

#define MS 1000ULL

static char trace[4096];

static void tr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
tr(const char *fmt, ...)
{
	size_t n = strlen(trace);
	va_list ap;

	if (n && n < sizeof(trace) - 1)
		trace[n++] = ' ';
	va_start(ap, fmt);
	vsnprintf(trace + n, sizeof(trace) - n, fmt, ap);
	va_end(ap);
}

static int
setup(void **state)
{
	(void)state;
	trace[0] = '\0';
	return 0;
}

static const struct agent_msg_type msg_a = { .name = "a" };
static const struct agent_msg_type msg_b = { .name = "b" };

static void
finalize_trace(agent *a, enum agent_exit_reason reason)
{
	tr("fin:%s:%s", agent_get_def(a)->name,
	   agent_exit_reason_to_string(reason));
}

/* ---- 1. a transition runs before queued messages ---------------------------- */

static agent_step
x_once(agent *a, void *data)
{
	tr("X");
	return agent_events();
}

static const struct agent_state state_x = { .name = "X", .once = x_once };

static int
prio_on_a(agent *a, agent_msg *m)
{
	uint64_t t = agent_msg_tag(m);

	tr("m%llu", (unsigned long long)t);
	if (t == 1)
		return agent_do_next(a, agent_async(&state_x, NULL));
	if (t == 4)
		return agent_shutdown(a);
	return 0;
}

static const struct agent_handler prio_handlers[] = {
	{ .type = &msg_a, .on_event = prio_on_a },
	{ 0 },
};

static const struct agent_def prio_def = {
	.name = "prio",
	.handlers = prio_handlers,
	.finalize = finalize_trace,
};

static void
test_transition_before_queued(void **state)
{
	agent *a;

	assert_int_equal(agent_new(&a, NULL, &prio_def, NULL), 0);
	for (uint64_t i = 1; i <= 4; i++)
		assert_int_equal(agent_send_tagged(a, &msg_a, i, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_string_equal(trace, "m1 X m2 m3 m4 fin:prio:done");
	agent_unref(a);
}

/* ---- 2. done drains the mailbox, stop drops it ------------------------------- */

static agent_step
done_once(agent *a, void *data)
{
	tr("state");
	return agent_done();
}

static agent_step
stop_once(agent *a, void *data)
{
	tr("state");
	return agent_stop();
}

static const struct agent_state state_done = { .name = "d", .once = done_once };
static const struct agent_state state_stop = { .name = "s", .once = stop_once };

static int
count_on_a(agent *a, agent_msg *m)
{
	tr("m%llu", (unsigned long long)agent_msg_tag(m));
	/* the mailbox is closed after done: sends are refused */
	if (agent_msg_tag(m) == 1)
		assert_int_equal(agent_send(a, &msg_a, NULL), -EPIPE);
	return 0;
}

static const struct agent_handler count_handlers[] = {
	{ .type = &msg_a, .on_event = count_on_a },
	{ 0 },
};

static agent_step
begin_done(agent *a)
{
	return agent_async(&state_done, NULL);
}

static agent_step
begin_stop(agent *a)
{
	return agent_async(&state_stop, NULL);
}

static const struct agent_def drain_def = {
	.name = "drain",
	.begin = begin_done,
	.handlers = count_handlers,
	.finalize = finalize_trace,
};

static const struct agent_def drop_def = {
	.name = "drop",
	.begin = begin_stop,
	.handlers = count_handlers,
	.finalize = finalize_trace,
};

static void
test_done_drains_stop_drops(void **state)
{
	agent *a;

	assert_int_equal(agent_new(&a, NULL, &drain_def, NULL), 0);
	for (uint64_t i = 1; i <= 3; i++)
		assert_int_equal(agent_send_tagged(a, &msg_a, i, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_string_equal(trace, "state m1 m2 m3 fin:drain:done");
	agent_unref(a);

	trace[0] = '\0';
	assert_int_equal(agent_new(&a, NULL, &drop_def, NULL), 0);
	for (uint64_t i = 1; i <= 3; i++)
		assert_int_equal(agent_send_tagged(a, &msg_a, i, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_string_equal(trace, "state fin:drop:done");
	agent_unref(a);
}

/* ---- 3. a failing handler leaves the actor alive ----------------------------- */

static int
fail_on_a(agent *a, agent_msg *m)
{
	tr("a%llu", (unsigned long long)agent_msg_tag(m));
	if (agent_msg_tag(m) == 1)
		return -EIO;
	return agent_shutdown(a);
}

static void
on_failed_trace(agent *a, int err, agent_msg *m)
{
	tr("failed:%d:%s", err, m ? agent_msg_get_type(m)->name : "-");
}

static const struct agent_handler fail_handlers[] = {
	{ .type = &msg_a, .on_event = fail_on_a },
	{ 0 },
};

static const struct agent_def failh_def = {
	.name = "failh",
	.handlers = fail_handlers,
	.on_failed = on_failed_trace,
	.finalize = finalize_trace,
};

static void
test_failing_handler_keeps_actor(void **state)
{
	agent *a;

	assert_int_equal(agent_new(&a, NULL, &failh_def, NULL), 0);
	assert_int_equal(agent_send_tagged(a, &msg_a, 1, NULL), 0);
	/* a message nobody handles is reported the same way */
	assert_int_equal(agent_send_tagged(a, &msg_b, 9, NULL), 0);
	assert_int_equal(agent_send_tagged(a, &msg_a, 2, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_string_equal(trace, "a1 failed:-5:a failed:-95:b a2 "
				   "fin:failh:done");
	agent_unref(a);
}

/* ---- 4. fallback and repair ------------------------------------------------------ */

struct rep {
	int calls;
	int repairs;
};

static agent_step
recovered_once(agent *a, void *data)
{
	tr("recovered");
	return agent_stop();
}

static const struct agent_state state_recovered = {
	.name = "recovered",
	.once = recovered_once,
};

static agent_step
broken_once(agent *a, void *data)
{
	tr("broken");
	return agent_error(-EIO);
}

static agent_step
broken_fallback(agent *a, void *data, int err)
{
	tr("fallback:%d", err);
	return agent_async(&state_recovered, NULL);
}

static const struct agent_state state_broken_fb = {
	.name = "broken",
	.once = broken_once,
	.fallback = broken_fallback,
};

static const struct agent_state state_broken = {
	.name = "broken",
	.once = broken_once,
};

static agent_step
begin_broken_fb(agent *a)
{
	return agent_async(&state_broken_fb, NULL);
}

static agent_step
begin_broken(agent *a)
{
	return agent_async(&state_broken, NULL);
}

static const struct agent_def fb_def = {
	.name = "fb",
	.begin = begin_broken_fb,
	.finalize = finalize_trace,
};

static const struct agent_def nofb_def = {
	.name = "nofb",
	.begin = begin_broken,
	.on_failed = on_failed_trace,
	.finalize = finalize_trace,
};

static agent_step
flaky_repeat(agent *a, void *data)
{
	struct rep *r = data;

	r->calls++;
	tr("try%d", r->calls);
	if (r->calls < 3)
		return agent_error(-EAGAIN);
	return agent_done();
}

static int
flaky_repair(agent *a, void *data, int err)
{
	struct rep *r = data;

	r->repairs++;
	tr("repair:%d", err);
	return 0;
}

static void
rep_free(void *p)
{
	struct rep *r = p;

	tr("free:%d:%d", r->calls, r->repairs);
	free(r);
}

static const struct agent_state state_flaky = {
	.name = "flaky",
	.repeat = flaky_repeat,
	.repair = flaky_repair,
	.free_data = rep_free,
};

static agent_step
begin_flaky(agent *a)
{
	return agent_async(&state_flaky, calloc(1, sizeof(struct rep)));
}

static const struct agent_def repair_def = {
	.name = "repair",
	.begin = begin_flaky,
	.finalize = finalize_trace,
};

static void
test_fallback_and_repair(void **state)
{
	agent *a;

	assert_int_equal(agent_new(&a, NULL, &fb_def, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_string_equal(trace, "broken fallback:-5 recovered fin:fb:done");
	agent_unref(a);

	/* without fallback the error fails the agent (crb's default) */
	trace[0] = '\0';
	assert_int_equal(agent_new(&a, NULL, &nofb_def, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_FAILED);
	assert_int_equal(agent_exit_error(a), -EIO);
	assert_string_equal(trace, "broken failed:-5:- fin:nofb:failed");
	agent_unref(a);

	/* repair swallows errors and repeats; the data lives on */
	trace[0] = '\0';
	assert_int_equal(agent_new(&a, NULL, &repair_def, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_string_equal(trace, "try1 repair:-11 try2 repair:-11 try3 "
				   "free:3:2 fin:repair:done");
	agent_unref(a);
}

/* ---- 5. repeat keeps its state data; a state may move its data on ------------ */

static agent_step
mon_repeat(agent *a, void *data)
{
	struct rep *r = data;

	if (++r->calls < 5)
		return agent_again();
	tr("five");
	return agent_async(&state_flaky, r); /* the same data moves on */
}

static const struct agent_state state_monitor = {
	.name = "monitor",
	.repeat = mon_repeat,
	.free_data = rep_free,
};

static agent_step
begin_monitor(agent *a)
{
	return agent_async(&state_monitor, calloc(1, sizeof(struct rep)));
}

static const struct agent_def monitor_def = {
	.name = "monitor",
	.begin = begin_monitor,
};

static void
test_repeat_keeps_data(void **state)
{
	agent *a;

	assert_int_equal(agent_new(&a, NULL, &monitor_def, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	/* flaky sees calls == 5 already: no error path, freed once */
	assert_string_equal(trace, "five try6 free:6:0");
	agent_unref(a);
}

/* ---- 6. FLAG runs on_interrupt and its shutdown state; ABORT skips finalize --- */

static agent_step
never_cb(agent *a, void *data, agent_msg *m)
{
	tr("sleep-completed");
	return agent_stop();
}

static agent_step
long_once(agent *a, void *data)
{
	tr("long");
	assert_int_equal(agent_await_sleep(a, 3600ULL * AGENT_USEC_PER_SEC,
					   never_cb), 0);
	return agent_wait();
}

static void
long_free(void *p)
{
	tr("free-long");
	free(p);
}

static const struct agent_state state_long = {
	.name = "long",
	.once = long_once,
	.free_data = long_free,
};

static agent_step
shutdown_cb(agent *a, void *data, agent_msg *m)
{
	tr("shutdown-state-end");
	return agent_stop();
}

static agent_step
shutdown_once(agent *a, void *data)
{
	tr("shutdown-state");
	/* an async shutdown step: it may still await */
	assert_int_equal(agent_await_sleep(a, 1 * MS, shutdown_cb), 0);
	return agent_wait();
}

static const struct agent_state state_shutdown = {
	.name = "shutdown",
	.once = shutdown_once,
};

static agent_step
flag_on_interrupt(agent *a, enum agent_level level)
{
	tr("on_interrupt:%d", (int)level);
	return agent_async(&state_shutdown, NULL);
}

static int
never_on_a(agent *a, agent_msg *m)
{
	tr("handled");
	return 0;
}

static const struct agent_handler never_handlers[] = {
	{ .type = &msg_a, .on_event = never_on_a },
	{ 0 },
};

static agent_step
begin_long(agent *a)
{
	return agent_async(&state_long, malloc(16));
}

static const struct agent_def victim_def = {
	.name = "victim",
	.begin = begin_long,
	.handlers = never_handlers,
	.on_interrupt = flag_on_interrupt,
	.finalize = finalize_trace,
};

/* the killer: interrupts its self (the victim) at a level from a timer */
struct killer {
	agent *victim;
	enum agent_level level;
};

static int
killer_on_timer(agent *a, agent_msg *m)
{
	struct killer *k = agent_self(a);

	tr("interrupt");
	/* queued before the interruption: dropped by FLAG/ABORT */
	assert_int_equal(agent_send(k->victim, &msg_a, NULL), 0);
	assert_int_equal(agent_interrupt(k->victim, k->level), 0);
	return agent_shutdown(a);
}

static const struct agent_handler killer_handlers[] = {
	{ .type = &agent_type_timer, .on_event = killer_on_timer },
	{ 0 },
};

static agent_step
killer_begin(agent *a)
{
	agent_timer *t;

	assert_int_equal(agent_timer_new(a, &t, AGENT_TIMER_DEBOUNCE, 0), 0);
	assert_int_equal(agent_timer_schedule(t, 1 * MS), 0);
	return agent_events();
}

static const struct agent_def killer_def = {
	.name = "killer",
	.begin = killer_begin,
	.handlers = killer_handlers,
};

static void
run_victim(enum agent_level level, int expect_reason)
{
	agent_loop *l;
	agent *v, *k;
	struct killer ks;

	assert_int_equal(agent_loop_new(&l), 0);
	assert_int_equal(agent_new(&v, l, &victim_def, NULL), 0);
	ks.victim = v;
	ks.level = level;
	assert_int_equal(agent_new(&k, l, &killer_def, &ks), 0);
	assert_int_equal(agent_start(v), 0);
	assert_int_equal(agent_start(k), 0);
	assert_int_equal(agent_loop_run(l), 0);
	assert_int_equal(agent_exit_reason(v), expect_reason);
	agent_unref(k);
	agent_unref(v);
	agent_loop_unref(l);
}

static void
test_flag_runs_on_interrupt_and_shutdown_state(void **state)
{
	run_victim(AGENT_LEVEL_FLAG, AGENT_EXIT_INTERRUPTED);
	assert_string_equal(trace,
			    "long interrupt free-long on_interrupt:1000 "
			    "shutdown-state shutdown-state-end "
			    "fin:victim:interrupted");
}

static void
test_abort_skips_finalize(void **state)
{
	run_victim(AGENT_LEVEL_ABORT, AGENT_EXIT_ABORTED);
	/* the state's data is still freed; no on_interrupt, no finalize */
	assert_string_equal(trace, "long interrupt free-long");
}

/* EVENT: an interrupt message in FIFO order; default on_interrupt drains */
static const struct agent_def evint_def = {
	.name = "evint",
	.handlers = count_handlers,
	.finalize = finalize_trace,
};

static void
test_event_interrupt_in_fifo_order(void **state)
{
	agent *a;

	assert_int_equal(agent_new(&a, NULL, &evint_def, NULL), 0);
	assert_int_equal(agent_send_tagged(a, &msg_a, 2, NULL), 0);
	assert_int_equal(agent_start(a), 0);
	assert_int_equal(agent_interrupt(a, AGENT_LEVEL_EVENT), 0);
	assert_int_equal(agent_send_tagged(a, &msg_a, 3, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_INTERRUPTED);
	assert_string_equal(trace, "m2 m3 fin:evint:interrupted");
	agent_unref(a);
}

/* ---- 7. supervisor: ordered groups, each fully ended before the next -------- */

static agent_step
slow_stop_cb(agent *a, void *data, agent_msg *m)
{
	tr("%s-slow-stopped", agent_name(a));
	return agent_stop();
}

static agent_step
slow_stop_once(agent *a, void *data)
{
	tr("%s-stopping", agent_name(a));
	assert_int_equal(agent_await_sleep(a, 20 * MS, slow_stop_cb), 0);
	return agent_wait();
}

static const struct agent_state state_slow_stop = {
	.name = "slow-stop",
	.once = slow_stop_once,
};

static agent_step
slow_on_interrupt(agent *a, enum agent_level level)
{
	return agent_async(&state_slow_stop, NULL);
}

static void
child_finalize(agent *a, enum agent_exit_reason reason)
{
	tr("fin:%s", agent_name(a));
}

static const struct agent_def child_def = {
	.name = "child",
	.finalize = child_finalize,
};

static const struct agent_def slow_child_def = {
	.name = "slowchild",
	.on_interrupt = slow_on_interrupt,
	.finalize = child_finalize,
};

static void
spawn_named(agent *parent, int group, const struct agent_def *def,
	    const char *name)
{
	agent *c;

	assert_int_equal(agent_spawn(parent, &c, group, def, NULL), 0);
	assert_int_equal(agent_set_name(c, name), 0);
	agent_unref(c);
}

static agent_step
sup_begin(agent *a)
{
	spawn_named(a, 1, &child_def, "g1a");
	spawn_named(a, 3, &slow_child_def, "g3");
	spawn_named(a, 2, &child_def, "g2");
	spawn_named(a, 1, &child_def, "g1b");
	/* end at once: the children are stopped before finalize */
	return agent_stop();
}

static void
sup_finalize(agent *a, enum agent_exit_reason reason)
{
	tr("fin:sup");
}

static const struct agent_def sup_def = {
	.name = "sup",
	.begin = sup_begin,
	.finalize = sup_finalize,
};

static void
test_group_stop_order(void **state)
{
	agent *a;

	assert_int_equal(agent_new(&a, NULL, &sup_def, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	/* greatest group first; g2 is asked only after g3 fully ended
	 * (its slow shutdown state included); g1's two members together;
	 * the supervisor's finalize last */
	if (strcmp(trace, "g3-stopping g3-slow-stopped fin:g3 fin:g2 "
			  "fin:g1a fin:g1b fin:sup") != 0)
		assert_string_equal(trace,
				    "g3-stopping g3-slow-stopped fin:g3 "
				    "fin:g2 fin:g1b fin:g1a fin:sup");
	agent_unref(a);
}

/* nested: stopping a supervisor stops its subtree first and waits */
static agent_step
inner_begin(agent *a)
{
	spawn_named(a, 0, &slow_child_def, "leaf");
	return agent_events();
}

static const struct agent_def inner_def = {
	.name = "inner",
	.begin = inner_begin,
	.finalize = child_finalize,
};

static int
outer_on_timer(agent *a, agent_msg *m)
{
	tr("outer-interrupted");
	return agent_interrupt(a, AGENT_LEVEL_FLAG);
}

static const struct agent_handler outer_handlers[] = {
	{ .type = &agent_type_timer, .on_event = outer_on_timer },
	{ 0 },
};

static agent_step
outer_begin(agent *a)
{
	agent_timer *t;

	spawn_named(a, 0, &inner_def, "inner");
	assert_int_equal(agent_timer_new(a, &t, AGENT_TIMER_DEBOUNCE, 0), 0);
	assert_int_equal(agent_timer_schedule(t, 1 * MS), 0);
	return agent_events();
}

static const struct agent_def outer_def = {
	.name = "outer",
	.begin = outer_begin,
	.handlers = outer_handlers,
	.finalize = finalize_trace,
};

static void
test_nested_supervisor_subtree_first(void **state)
{
	agent *a;

	assert_int_equal(agent_new(&a, NULL, &outer_def, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_INTERRUPTED);
	assert_string_equal(trace, "outer-interrupted leaf-stopping "
				   "leaf-slow-stopped fin:leaf fin:inner "
				   "fin:outer:interrupted");
	agent_unref(a);
}

/* ---- 8. requests: timeout, error propagation, FIFO responses ----------------- */

static int
server_on_req(agent *a, agent_msg *m)
{
	uint64_t *v = agent_msg_payload(m);

	if (*v == 13)
		return -EACCES; /* travels back to the caller */
	uint64_t *r = malloc(sizeof(*r));
	*r = *v * 10;
	return agent_reply(a, m, r);
}

static const struct agent_msg_type msg_num = {
	.name = "num",
	.free = free,
	.reply_free = free,
};

static const struct agent_handler server_handlers[] = {
	{ .type = &msg_num, .on_request = server_on_req },
	{ 0 },
};

/* a server that is busy (an async state) for a while before it serves */
static agent_step
busy_cb(agent *a, void *data, agent_msg *m)
{
	return agent_events();
}

static agent_step
busy_once(agent *a, void *data)
{
	assert_int_equal(agent_await_sleep(a, 50 * MS, busy_cb), 0);
	return agent_wait();
}

static const struct agent_state state_busy = { .name = "busy",
					       .once = busy_once };

static agent_step
server_begin(agent *a)
{
	return agent_async(&state_busy, NULL);
}

static const struct agent_def server_def = {
	.name = "server",
	.begin = server_begin,
	.handlers = server_handlers,
};

static uint64_t *
num(uint64_t v)
{
	uint64_t *p = malloc(sizeof(*p));
	*p = v;
	return p;
}

static int
client_on_resp(agent *a, agent_msg *m)
{
	uint64_t *v = agent_msg_payload(m);

	if (agent_msg_error(m))
		tr("r%llu:err%d", (unsigned long long)agent_msg_tag(m),
		   agent_msg_error(m));
	else
		tr("r%llu:%llu", (unsigned long long)agent_msg_tag(m),
		   (unsigned long long)*v);
	if (agent_msg_tag(m) == 5)
		return agent_shutdown(a);
	return 0;
}

static int
client_on_event(agent *a, agent_msg *m)
{
	tr("ev");
	return 0;
}

static const struct agent_handler client_handlers[] = {
	{ .type = &msg_num, .on_response = client_on_resp },
	{ .type = &msg_a, .on_event = client_on_event },
	{ 0 },
};

struct client {
	agent *server;
};

static agent_step
client_begin(agent *a)
{
	struct client *c = agent_self(a);

	/* 1: times out (the server is busy for 50 ms); the late answer is
	 * dropped. 2..5 are answered in FIFO order, 4 with an error. */
	assert_true(agent_request(a, c->server, &msg_num, num(1), 5 * MS, 1) > 0);
	assert_true(agent_request(a, c->server, &msg_num, num(2), 0, 2) > 0);
	assert_true(agent_request(a, c->server, &msg_num, num(3), 0, 3) > 0);
	assert_true(agent_request(a, c->server, &msg_num, num(13), 0, 4) > 0);
	assert_true(agent_request(a, c->server, &msg_num, num(5), 0, 5) > 0);
	return agent_events();
}

static const struct agent_def client_def = {
	.name = "client",
	.begin = client_begin,
	.handlers = client_handlers,
};

static void
test_requests_timeout_errors_order(void **state)
{
	agent_loop *l;
	agent *s, *c;
	struct client cs;

	assert_int_equal(agent_loop_new(&l), 0);
	assert_int_equal(agent_new(&s, l, &server_def, NULL), 0);
	cs.server = s;
	assert_int_equal(agent_new(&c, l, &client_def, &cs), 0);
	assert_int_equal(agent_start(s), 0);
	assert_int_equal(agent_run(c), AGENT_EXIT_DONE);
	assert_string_equal(trace, "r1:err-110 r2:20 r3:30 r4:err-13 r5:50");
	assert_int_equal(agent_interrupt(s, AGENT_LEVEL_FLAG), 0);
	assert_int_equal(agent_run(s), AGENT_EXIT_INTERRUPTED);
	agent_unref(c);
	agent_unref(s);
	agent_loop_unref(l);
}

/* awaited inside an async state instead of the mailbox */
static agent_step
await_cb(agent *a, void *data, agent_msg *m)
{
	uint64_t *v = agent_msg_payload(m);
	int *left = data;

	tr("got:%llu", (unsigned long long)*v);
	if (--*left > 0)
		return agent_wait(); /* join: more in flight */
	return agent_stop();
}

static agent_step
awaiter_once(agent *a, void *data)
{
	struct client *c = agent_self(a);

	assert_int_equal(agent_await_request(a, c->server, &msg_num, num(7), 0,
					     await_cb), 0);
	assert_int_equal(agent_await_request(a, c->server, &msg_num, num(8), 0,
					     await_cb), 0);
	return agent_wait();
}

static const struct agent_state state_awaiter = {
	.name = "awaiter",
	.once = awaiter_once,
	.free_data = free,
};

static agent_step
awaiter_begin(agent *a)
{
	int *left = malloc(sizeof(*left));
	*left = 2;
	return agent_async(&state_awaiter, left);
}

static const struct agent_def awaiter_def = {
	.name = "awaiter",
	.begin = awaiter_begin,
};

static void
test_request_awaited_in_state(void **state)
{
	agent_loop *l;
	agent *s, *c;
	struct client cs;

	assert_int_equal(agent_loop_new(&l), 0);
	assert_int_equal(agent_new(&s, l, &server_def, NULL), 0);
	cs.server = s;
	assert_int_equal(agent_new(&c, l, &awaiter_def, &cs), 0);
	assert_int_equal(agent_start(s), 0);
	assert_int_equal(agent_run(c), AGENT_EXIT_DONE);
	assert_string_equal(trace, "got:70 got:80");
	assert_int_equal(agent_interrupt(s, AGENT_LEVEL_ABORT), 0);
	agent_unref(c);
	agent_unref(s);
	agent_loop_unref(l);
}

/* ---- 9. a source that ends leaves the agent alive ---------------------------- */

static int
src_on_data(agent *a, agent_msg *m)
{
	struct agent_data *d = agent_msg_payload(m);

	tr("line:%s", d->buf);
	return 0;
}

static int
src_on_end(agent *a, agent_msg *m)
{
	agent_timer *t;

	tr("end:%d", agent_msg_error(m));
	/* still alive: a timer set now is delivered */
	assert_int_equal(agent_timer_new(a, &t, AGENT_TIMER_DEBOUNCE, 7), 0);
	return agent_timer_schedule(t, 1 * MS);
}

static int
src_on_timer(agent *a, agent_msg *m)
{
	tr("timer:%llu", (unsigned long long)agent_msg_tag(m));
	return agent_shutdown(a);
}

static const struct agent_handler src_handlers[] = {
	{ .type = &agent_type_data, .on_event = src_on_data },
	{ .type = &agent_type_source_end, .on_event = src_on_end },
	{ .type = &agent_type_timer, .on_event = src_on_timer },
	{ 0 },
};

static const struct agent_def src_def = {
	.name = "src",
	.handlers = src_handlers,
	.finalize = finalize_trace,
};

static void
test_source_end_keeps_agent(void **state)
{
	agent *a;
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "one\ntwo\nthr", 11), 11);
	close(p[1]);
	assert_int_equal(agent_new(&a, NULL, &src_def, NULL), 0);
	assert_int_equal(agent_source_fd(a, NULL, p[0],
					 AGENT_SOURCE_LINES | AGENT_SOURCE_OWN_FD,
					 1), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_string_equal(trace, "line:one line:two line:thr end:0 timer:7 "
				   "fin:src:done");
	agent_unref(a);
}

/* a full mailbox applies backpressure to a source: nothing lost */
static int bp_lines;

static int
bp_on_data(agent *a, agent_msg *m)
{
	bp_lines++;
	return 0;
}

static int
bp_on_end(agent *a, agent_msg *m)
{
	return agent_shutdown(a);
}

static const struct agent_handler bp_handlers[] = {
	{ .type = &agent_type_data, .on_event = bp_on_data },
	{ .type = &agent_type_source_end, .on_event = bp_on_end },
	{ 0 },
};

static const struct agent_def bp_def = {
	.name = "bp",
	.handlers = bp_handlers,
	.mailbox_capacity = 2,
};

static void
test_source_backpressure(void **state)
{
	agent *a;
	int p[2];
	char buf[1000];

	for (int i = 0; i < 500; i++) {
		buf[2 * i] = 'x';
		buf[2 * i + 1] = '\n';
	}
	bp_lines = 0;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(p[1]);
	assert_int_equal(agent_new(&a, NULL, &bp_def, NULL), 0);
	assert_int_equal(agent_source_fd(a, NULL, p[0],
					 AGENT_SOURCE_LINES | AGENT_SOURCE_OWN_FD,
					 0), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_int_equal(bp_lines, 500);
	assert_int_equal(agent_mailbox_dropped(a), 0);
	agent_unref(a);
}

/* ---- 10. both timer modes ------------------------------------------------------------ */

struct timers {
	agent_timer *debounce, *keep_first, *ref;
};

static int
tm_on_timer(agent *a, agent_msg *m)
{
	static const char *names[] = { "?", "debounce", "keep_first", "ref" };
	uint64_t t = agent_msg_tag(m);

	tr("%s", names[t < 4 ? t : 0]);
	if (strstr(trace, "debounce") && strstr(trace, "keep_first") &&
	    strstr(trace, "ref"))
		return agent_shutdown(a);
	return 0;
}

static const struct agent_handler tm_handlers[] = {
	{ .type = &agent_type_timer, .on_event = tm_on_timer },
	{ 0 },
};

static agent_step
tm_resched_cb(agent *a, void *data, agent_msg *m)
{
	struct timers *t = agent_self(a);

	/* at t0 + >=50ms: reschedule both by 300ms */
	assert_int_equal(agent_timer_schedule(t->debounce, 300 * MS), 0);
	assert_int_equal(agent_timer_schedule(t->keep_first, 300 * MS), 0);
	assert_true(agent_timer_is_pending(t->keep_first));
	return agent_events();
}

static agent_step
tm_once(agent *a, void *data)
{
	struct timers *t = agent_self(a);

	/* t0: both at t0+300ms; the reference at t0+325ms */
	assert_int_equal(agent_timer_schedule(t->debounce, 300 * MS), 0);
	assert_int_equal(agent_timer_schedule(t->keep_first, 300 * MS), 0);
	assert_int_equal(agent_timer_schedule(t->ref, 325 * MS), 0);
	assert_int_equal(agent_await_sleep(a, 50 * MS, tm_resched_cb), 0);
	return agent_wait();
}

static const struct agent_state state_tm = { .name = "tm", .once = tm_once };

static agent_step
tm_begin(agent *a)
{
	struct timers *t = agent_self(a);

	assert_int_equal(agent_timer_new(a, &t->debounce, AGENT_TIMER_DEBOUNCE,
					 1), 0);
	assert_int_equal(agent_timer_new(a, &t->keep_first,
					 AGENT_TIMER_KEEP_FIRST, 2), 0);
	assert_int_equal(agent_timer_new(a, &t->ref, AGENT_TIMER_DEBOUNCE, 3),
			 0);
	return agent_async(&state_tm, NULL);
}

static const struct agent_def tm_def = {
	.name = "tm",
	.begin = tm_begin,
	.handlers = tm_handlers,
};

static void
test_timer_modes(void **state)
{
	struct timers t;
	agent *a;

	assert_int_equal(agent_new(&a, NULL, &tm_def, &t), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	/* keep_first fired at its first deadline (t0+300) before the
	 * reference (t0+325); debounce restarted from t0+50 (>= t0+350) */
	assert_string_equal(trace, "keep_first ref debounce");
	agent_unref(a);
}

/* intervals: ticks keep coming until freed */
static int ticks;

static int
iv_on_tick(agent *a, agent_msg *m)
{
	if (++ticks == 3)
		return agent_shutdown(a);
	return 0;
}

static const struct agent_handler iv_handlers[] = {
	{ .type = &agent_type_tick, .on_event = iv_on_tick },
	{ 0 },
};

static agent_step
iv_begin(agent *a)
{
	assert_int_equal(agent_interval_new(a, NULL, 1 * MS, 0), 0);
	return agent_events();
}

static const struct agent_def iv_def = {
	.name = "iv",
	.begin = iv_begin,
	.handlers = iv_handlers,
};

static void
test_interval(void **state)
{
	agent *a;

	ticks = 0;
	assert_int_equal(agent_new(&a, NULL, &iv_def, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_int_equal(ticks, 3);
	agent_unref(a);
}

/* ---- 11. a full mailbox follows its policy ----------------------------------------- */

static const struct agent_def reject_def = {
	.name = "reject",
	.begin = begin_done,
	.handlers = count_handlers,
	.mailbox_capacity = 4,
};

static const struct agent_def dropold_def = {
	.name = "dropold",
	.begin = begin_done,
	.handlers = count_handlers,
	.mailbox_capacity = 4,
	.full_policy = AGENT_FULL_DROP_OLDEST,
};

static void
test_full_mailbox_policy(void **state)
{
	agent *a;

	assert_int_equal(agent_new(&a, NULL, &reject_def, NULL), 0);
	for (uint64_t i = 1; i <= 6; i++)
		assert_int_equal(agent_send_tagged(a, &msg_a, i, NULL),
				 i <= 4 ? 0 : -ENOBUFS);
	assert_int_equal(agent_mailbox_len(a), 4);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_string_equal(trace, "state m1 m2 m3 m4");
	agent_unref(a);

	trace[0] = '\0';
	assert_int_equal(agent_new(&a, NULL, &dropold_def, NULL), 0);
	for (uint64_t i = 2; i <= 7; i++)
		assert_int_equal(agent_send_tagged(a, &msg_a, i, NULL), 0);
	assert_int_equal(agent_mailbox_dropped(a), 2);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_string_equal(trace, "state m4 m5 m6 m7");
	agent_unref(a);
}

/* a request refused by a full mailbox fails the request call itself */
static void
test_full_mailbox_request(void **state)
{
	agent_loop *l;
	agent *s, *c;

	assert_int_equal(agent_loop_new(&l), 0);
	assert_int_equal(agent_new(&s, l, &reject_def, NULL), 0);
	assert_int_equal(agent_new(&c, l, &evint_def, NULL), 0);
	assert_int_equal(agent_start(c), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(agent_send(s, &msg_a, NULL), 0);
	assert_int_equal(agent_request(c, s, &msg_num, num(1), 0, 0),
			 -ENOBUFS);
	assert_int_equal(agent_interrupt(s, AGENT_LEVEL_ABORT), 0);
	assert_int_equal(agent_interrupt(c, AGENT_LEVEL_ABORT), 0);
	agent_unref(c);
	agent_unref(s);
	agent_loop_unref(l);
}

/* ---- 12. a sync state runs on another thread; the loop receives meanwhile
 * but dispatches nothing ---------------------------------------------------------- */

struct syncer {
	pthread_t loop_thread;
	agent *self;
	int handled;
	int seen_queued;
	int handled_during;
	bool other_thread;
};

static agent_step
sync_once(agent *a, void *data)
{
	struct syncer *s = agent_self(a);
	struct timespec ts = { 0, 1000000 };

	s->other_thread = !pthread_equal(pthread_self(), s->loop_thread);
	/* wait (bounded) until the loop has received 3 messages */
	for (int i = 0; i < 10000 && agent_mailbox_len(a) < 3; i++)
		nanosleep(&ts, NULL);
	s->seen_queued = (int)agent_mailbox_len(a);
	s->handled_during = __atomic_load_n(&s->handled, __ATOMIC_SEQ_CST);
	return agent_done();
}

static const struct agent_state state_sync = { .name = "sync",
					       .once = sync_once };

static int
syncer_on_a(agent *a, agent_msg *m)
{
	struct syncer *s = agent_self(a);

	__atomic_add_fetch(&s->handled, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static const struct agent_handler syncer_handlers[] = {
	{ .type = &msg_a, .on_event = syncer_on_a },
	{ 0 },
};

static agent_step
syncer_begin(agent *a)
{
	return agent_sync(&state_sync, NULL);
}

static const struct agent_def syncer_def = {
	.name = "syncer",
	.begin = syncer_begin,
	.handlers = syncer_handlers,
};

/* a feeder on the same loop sends one message per tick */
static int
feeder_on_tick(agent *a, agent_msg *m)
{
	struct syncer *s = agent_self(a);
	static int sent;

	if (sent < 3) {
		sent++;
		return agent_send(s->self, &msg_a, NULL);
	}
	sent = 0;
	return agent_shutdown(a);
}

static const struct agent_handler feeder_handlers[] = {
	{ .type = &agent_type_tick, .on_event = feeder_on_tick },
	{ 0 },
};

static const struct agent_def feeder_def = {
	.name = "feeder",
	.begin = iv_begin,
	.handlers = feeder_handlers,
};

static void
test_sync_state_other_thread(void **state)
{
	struct syncer s = { .loop_thread = pthread_self() };
	agent_loop *l;
	agent *a, *f;

	assert_int_equal(agent_loop_new(&l), 0);
	assert_int_equal(agent_new(&a, l, &syncer_def, &s), 0);
	s.self = a;
	assert_int_equal(agent_new(&f, l, &feeder_def, &s), 0);
	assert_int_equal(agent_start(a), 0);
	assert_int_equal(agent_start(f), 0);
	assert_int_equal(agent_loop_run(l), 0);
	assert_true(s.other_thread);
	assert_int_equal(s.seen_queued, 3);   /* received meanwhile */
	assert_int_equal(s.handled_during, 0); /* but not dispatched */
	assert_int_equal(s.handled, 3);        /* handled after done */
	assert_int_equal(agent_exit_reason(a), AGENT_EXIT_DONE);
	agent_unref(f);
	agent_unref(a);
	agent_loop_unref(l);
}

/* ---- 13. sub-agents: join, results (missions), exit reasons ------------------ */

static int
sq_fn(agent *a, void *arg)
{
	long *v = malloc(sizeof(*v));

	*v = (long)(intptr_t)arg * (long)(intptr_t)arg;
	agent_set_result(a, v, free);
	return 0;
}

static int
failing_fn(agent *a, void *arg)
{
	return -ENOENT;
}

static agent_step
join_cb(agent *a, void *data, agent_msg *m)
{
	struct agent_exit *e = agent_msg_payload(m);
	long *res = agent_get_result(e->child);
	int *left = data;

	tr("%s:%s:%ld:%d", agent_name(e->child),
	   agent_exit_reason_to_string(e->reason), res ? *res : -1L, e->error);
	return --*left ? agent_wait() : agent_stop();
}

static agent_step
join_once(agent *a, void *data)
{
	agent *c1, *c2;

	assert_int_equal(agent_spawn_sync_fn(a, &c1, 0, sq_fn, (void *)7, NULL),
			 0);
	assert_int_equal(agent_spawn_sync_fn(a, &c2, 0, failing_fn, NULL, NULL),
			 0);
	agent_set_name(c1, "sq");
	agent_set_name(c2, "bad");
	assert_int_equal(agent_await_child(a, c1, join_cb), 0);
	assert_int_equal(agent_await_child(a, c2, join_cb), 0);
	agent_unref(c1);
	agent_unref(c2);
	return agent_wait();
}

static const struct agent_state state_join = {
	.name = "join",
	.once = join_once,
	.free_data = free,
};

static agent_step
join_begin(agent *a)
{
	int *left = malloc(sizeof(*left));
	*left = 2;
	return agent_async(&state_join, left);
}

static const struct agent_def join_def = {
	.name = "join",
	.begin = join_begin,
};

static void
test_subagents_join_and_results(void **state)
{
	agent *a;

	assert_int_equal(agent_new(&a, NULL, &join_def, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	if (strcmp(trace, "sq:done:49:0 bad:failed:-1:-2") != 0)
		assert_string_equal(trace, "bad:failed:-1:-2 sq:done:49:0");
	agent_unref(a);
}

/* ---- 14. pipelines, parallel, custom performers -------------------------------- */

static agent_step
stage_once(agent *a, void *data)
{
	long *in = agent_self(a);
	long *out = malloc(sizeof(*out));

	*out = strcmp(agent_get_def(a)->name, "double") == 0 ? *in * 2
							    : *in + 1;
	agent_set_result(a, out, free);
	return agent_done();
}

static const struct agent_state state_stage = { .name = "stage",
						.once = stage_once };

static agent_step
stage_begin(agent *a)
{
	return agent_async(&state_stage, NULL);
}

static const struct agent_def double_def = { .name = "double",
					     .begin = stage_begin,
					     .free_self = free };
static const struct agent_def inc_def = { .name = "inc",
					  .begin = stage_begin,
					  .free_self = free };

static long pipe_sum;
static int pipe_outputs;

static int
owner_on_output(agent *a, agent_msg *m)
{
	long *v = agent_msg_payload(m);

	assert_int_equal(agent_msg_error(m), 0);
	pipe_sum += *v;
	if (++pipe_outputs == 3)
		return agent_shutdown(a);
	return 0;
}

static const struct agent_handler owner_handlers[] = {
	{ .type = &agent_type_pipeline_output, .on_event = owner_on_output },
	{ 0 },
};

static agent_step
owner_begin(agent *a)
{
	agent_pipeline *p;

	assert_int_equal(agent_pipeline_new(a, &p, 3), 0);
	assert_int_equal(agent_pipeline_add_stage(p, &double_def, 1), 0);
	assert_int_equal(agent_pipeline_add_stage(p, &inc_def, 2), 0);
	for (long i = 1; i <= 3; i++) {
		long *v = malloc(sizeof(*v));
		*v = i;
		assert_int_equal(agent_pipeline_push(p, v, free), i);
	}
	{
		long *v = malloc(sizeof(*v));
		*v = 99;
		/* bounded: the fourth item in flight is refused */
		assert_int_equal(agent_pipeline_push(p, v, free), -ENOBUFS);
	}
	return agent_events();
}

static const struct agent_def owner_def = {
	.name = "owner",
	.begin = owner_begin,
	.handlers = owner_handlers,
};

static void
test_pipeline(void **state)
{
	agent *a;

	pipe_sum = 0;
	pipe_outputs = 0;
	assert_int_equal(agent_new(&a, NULL, &owner_def, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_int_equal(pipe_sum, (2 + 1) + (4 + 1) + (6 + 1));
	agent_unref(a);
}

static void
square_into(size_t i, void *arg)
{
	long *out = arg;

	out[i] = (long)i * (long)i;
}

static agent_step
par_once(agent *a, void *data)
{
	long *out = calloc(1000, sizeof(*out));
	long sum = 0;

	assert_int_equal(agent_parallel(a, 1000, square_into, out), 0);
	for (int i = 0; i < 1000; i++)
		sum += out[i];
	free(out);
	tr("sum:%ld", sum);
	return agent_done();
}

static const struct agent_state state_par = { .name = "par", .once = par_once };

static agent_step
par_begin(agent *a)
{
	return agent_sync(&state_par, NULL);
}

static const struct agent_def par_def = { .name = "par", .begin = par_begin };

static void
test_parallel(void **state)
{
	agent *a;

	assert_int_equal(agent_new(&a, NULL, &par_def, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_string_equal(trace, "sum:332833500");
	agent_unref(a);
}

/* a custom performer: a table-driven machine as a user-defined step */
static const char *const table[] = { "first", "second", "third", NULL };

static const struct agent_performer table_performer;

static agent_step
table_perform(agent *a, void *data)
{
	int *i = data;

	tr("%s", table[*i]);
	if (!table[++*i])
		return agent_done();
	/* the same data moves on to the next step */
	return agent_perform(&table_performer, i);
}

static const struct agent_performer table_performer = {
	.name = "table",
	.perform = table_perform,
	.free_data = free,
};

static agent_step
table_begin(agent *a)
{
	return agent_perform(&table_performer, calloc(1, sizeof(int)));
}

static const struct agent_def table_def = { .name = "table",
					    .begin = table_begin };

static void
test_custom_performer(void **state)
{
	agent *a;

	assert_int_equal(agent_new(&a, NULL, &table_def, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_string_equal(trace, "first second third");
	agent_unref(a);
}

/* ---- 15. external completions (an nng aio callback, a thread) ----------------- */

static void *
waker_thread(void *arg)
{
	agent_waker *k = arg;
	struct timespec ts = { 0, 1000000 };
	long *v = malloc(sizeof(*v));

	nanosleep(&ts, NULL);
	*v = 42;
	agent_waker_wake(k, 0, v, free);
	return NULL;
}

static agent_step
wake_cb(agent *a, void *data, agent_msg *m)
{
	long *v = agent_msg_payload(m);

	tr("woken:%d:%ld:%s", agent_msg_error(m), *v,
	   pthread_equal(pthread_self(), *(pthread_t *)agent_self(a))
		   ? "loop-thread" : "other-thread");
	return agent_stop();
}

static agent_step
ext_once(agent *a, void *data)
{
	agent_waker *k;
	pthread_t *th = data;

	assert_int_equal(agent_await_external(a, wake_cb, &k), 0);
	assert_int_equal(pthread_create(th, NULL, waker_thread, k), 0);
	return agent_wait();
}

static const struct agent_state state_ext = { .name = "ext", .once = ext_once };

static agent_step
ext_begin(agent *a)
{
	return agent_async(&state_ext, agent_get_result(a));
}

static const struct agent_def ext_def = { .name = "ext", .begin = ext_begin };

static void
test_external_wake(void **state)
{
	pthread_t self = pthread_self(), th;
	agent *a;

	assert_int_equal(agent_new(&a, NULL, &ext_def, &self), 0);
	agent_set_result(a, &th, NULL); /* where the state keeps its thread */
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_string_equal(trace, "woken:0:42:loop-thread");
	agent_unref(a);
}

/* ---- 16. FLAG reaches a sync state between repeats ------------------------------ */

static int sync_iterations;

static agent_step
spin_repeat(agent *a, void *data)
{
	struct timespec ts = { 0, 1000000 };

	__atomic_add_fetch(&sync_iterations, 1, __ATOMIC_SEQ_CST);
	nanosleep(&ts, NULL);
	/* bounded: a broken FLAG check fails the test instead of hanging */
	if (__atomic_load_n(&sync_iterations, __ATOMIC_SEQ_CST) > 20000)
		return agent_fail(-ETIME);
	return agent_again();
}

static const struct agent_state state_spin = { .name = "spin",
					       .repeat = spin_repeat,
					       .free_data = long_free };

static agent_step
spin_on_interrupt(agent *a, enum agent_level level)
{
	tr("on_interrupt:%d:in-sync-state:%s", (int)level,
	   agent_state_name(a) ? agent_state_name(a) : "none");
	return agent_stop();
}

static agent_step
spin_begin(agent *a)
{
	return agent_sync(&state_spin, malloc(8));
}

static const struct agent_def spin_def = {
	.name = "spin",
	.begin = spin_begin,
	.on_interrupt = spin_on_interrupt,
	.finalize = finalize_trace,
};

static void
test_flag_stops_sync_repeat(void **state)
{
	agent_loop *l;
	agent *v, *k;
	struct killer ks;

	sync_iterations = 0;
	assert_int_equal(agent_loop_new(&l), 0);
	assert_int_equal(agent_new(&v, l, &spin_def, NULL), 0);
	ks.victim = v;
	ks.level = AGENT_LEVEL_FLAG;
	assert_int_equal(agent_new(&k, l, &killer_def, &ks), 0);
	assert_int_equal(agent_start(v), 0);
	assert_int_equal(agent_start(k), 0);
	assert_int_equal(agent_loop_run(l), 0);
	assert_int_equal(agent_exit_reason(v), AGENT_EXIT_INTERRUPTED);
	assert_true(sync_iterations > 0 && sync_iterations <= 20000);
	/* the state was left (its data freed) before on_interrupt ran */
	assert_string_equal(trace, "interrupt free-long "
				   "on_interrupt:1000:in-sync-state:none "
				   "fin:spin:interrupted");
	agent_unref(k);
	agent_unref(v);
	agent_loop_unref(l);
}

/* an ABORT while a sync state runs ends the agent when the worker hands
 * it back; no finalize */
static void
test_abort_sync_state(void **state)
{
	agent_loop *l;
	agent *v, *k;
	struct killer ks;

	sync_iterations = 0;
	assert_int_equal(agent_loop_new(&l), 0);
	assert_int_equal(agent_new(&v, l, &spin_def, NULL), 0);
	ks.victim = v;
	ks.level = AGENT_LEVEL_ABORT;
	assert_int_equal(agent_new(&k, l, &killer_def, &ks), 0);
	assert_int_equal(agent_start(v), 0);
	assert_int_equal(agent_start(k), 0);
	assert_int_equal(agent_loop_run(l), 0);
	assert_int_equal(agent_exit_reason(v), AGENT_EXIT_ABORTED);
	assert_true(sync_iterations <= 20000);
	assert_string_equal(trace, "interrupt free-long");
	agent_unref(k);
	agent_unref(v);
	agent_loop_unref(l);
}

/* DROP_OLDEST evicts a queued request: its caller gets -ENOBUFS */
static int
evict_on_resp(agent *a, agent_msg *m)
{
	tr("resp:%d", agent_msg_error(m));
	return agent_shutdown(a);
}

static const struct agent_handler evict_handlers[] = {
	{ .type = &msg_num, .on_response = evict_on_resp },
	{ 0 },
};

static const struct agent_def evict_client_def = {
	.name = "evict-client",
	.handlers = evict_handlers,
};

static const struct agent_def dropold_server_def = {
	.name = "dropold-server",
	.handlers = server_handlers,
	.mailbox_capacity = 1,
	.full_policy = AGENT_FULL_DROP_OLDEST,
};

static void
test_drop_oldest_answers_requests(void **state)
{
	agent_loop *l;
	agent *s, *c;

	assert_int_equal(agent_loop_new(&l), 0);
	assert_int_equal(agent_new(&s, l, &dropold_server_def, NULL), 0);
	assert_int_equal(agent_new(&c, l, &evict_client_def, NULL), 0);
	assert_int_equal(agent_start(c), 0);
	assert_true(agent_request(c, s, &msg_num, num(1), 0, 1) > 0);
	/* evicts the request */
	assert_int_equal(agent_send(s, &msg_a, NULL), 0);
	assert_int_equal(agent_mailbox_dropped(s), 1);
	assert_int_equal(agent_run(c), AGENT_EXIT_DONE);
	assert_string_equal(trace, "resp:-105");
	agent_unref(c);
	agent_unref(s);
	agent_loop_unref(l);
}

/* ---- 17. pipeline pools bound the agents of a stage ------------------------------ */

static int stage_running[2], stage_max[2];

static agent_step
pstage_cb(agent *a, void *data, agent_msg *m)
{
	int i = strcmp(agent_get_def(a)->name, "slow1") == 0;
	long *in = agent_self(a);
	long *out = malloc(sizeof(*out));

	stage_running[i]--;
	*out = *in + 100 * (i + 1);
	agent_set_result(a, out, free);
	return agent_done();
}

static agent_step
pstage_once(agent *a, void *data)
{
	int i = strcmp(agent_get_def(a)->name, "slow1") == 0;

	if (++stage_running[i] > stage_max[i])
		stage_max[i] = stage_running[i];
	/* stage 1 is slower than stage 0: its pool fills up */
	assert_int_equal(agent_await_sleep(a, (i ? 20 : 1) * MS, pstage_cb),
			 0);
	return agent_wait();
}

static const struct agent_state state_pstage = { .name = "pstage",
						 .once = pstage_once };

static agent_step
pstage_begin(agent *a)
{
	return agent_async(&state_pstage, NULL);
}

static const struct agent_def slow0_def = { .name = "slow0",
					    .begin = pstage_begin,
					    .free_self = free };
static const struct agent_def slow1_def = { .name = "slow1",
					    .begin = pstage_begin,
					    .free_self = free };

static long pool_sum;
static int pool_outputs;

static int
pool_on_output(agent *a, agent_msg *m)
{
	long *v = agent_msg_payload(m);

	assert_int_equal(agent_msg_error(m), 0);
	pool_sum += *v;
	if (++pool_outputs == 6)
		return agent_shutdown(a);
	return 0;
}

static const struct agent_handler pool_handlers[] = {
	{ .type = &agent_type_pipeline_output, .on_event = pool_on_output },
	{ 0 },
};

static agent_step
pool_begin(agent *a)
{
	agent_pipeline *p;

	assert_int_equal(agent_pipeline_new(a, &p, 16), 0);
	assert_int_equal(agent_pipeline_add_stage(p, &slow0_def, 1), 0);
	assert_int_equal(agent_pipeline_add_stage(p, &slow1_def, 2), 0);
	for (long i = 1; i <= 6; i++) {
		long *v = malloc(sizeof(*v));
		*v = i;
		assert_true(agent_pipeline_push(p, v, free) > 0);
	}
	assert_int_equal(agent_pipeline_pending(p), 6);
	return agent_events();
}

static const struct agent_def pool_def = {
	.name = "pool-owner",
	.begin = pool_begin,
	.handlers = pool_handlers,
};

static void
test_pipeline_pools(void **state)
{
	agent *a;

	memset(stage_running, 0, sizeof(stage_running));
	memset(stage_max, 0, sizeof(stage_max));
	pool_sum = 0;
	pool_outputs = 0;
	assert_int_equal(agent_new(&a, NULL, &pool_def, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_int_equal(pool_sum, 21 + 6 * 300);
	assert_int_equal(stage_max[0], 1); /* pool 1 */
	assert_int_equal(stage_max[1], 2); /* pool 2, and it filled up */
	agent_unref(a);
}

/* ---- 18. an async function as a one-shot agent -------------------------------- */

static agent_step
afn_cb(agent *a, void *data, agent_msg *m)
{
	long *r = malloc(sizeof(*r));

	*r = 99;
	agent_set_result(a, r, free);
	return agent_done();
}

static agent_step
afn(agent *a, void *arg)
{
	tr("afn:%s", (const char *)arg);
	assert_int_equal(agent_await_sleep(a, 1 * MS, afn_cb), 0);
	return agent_wait();
}

static void
test_async_fn(void **state)
{
	agent *a;

	assert_int_equal(agent_new_async_fn(&a, NULL, afn, (void *)"arg",
					    NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_string_equal(trace, "afn:arg");
	assert_int_equal(*(long *)agent_get_result(a), 99);
	agent_unref(a);
}

/* ---- 19. a sync state sends from its worker thread ------------------------------- */

static agent_step
sender_once(agent *a, void *data)
{
	/* off the loop thread: goes through the loop's queue */
	assert_int_equal(agent_send_tagged(a, &msg_a, 1, NULL), 0);
	assert_int_equal(agent_send_tagged(a, &msg_a, 2, NULL), 0);
	return agent_events();
}

static const struct agent_state state_sender = { .name = "sender",
						 .once = sender_once };

static int
sender_on_a(agent *a, agent_msg *m)
{
	tr("m%llu", (unsigned long long)agent_msg_tag(m));
	return agent_msg_tag(m) == 2 ? agent_shutdown(a) : 0;
}

static const struct agent_handler sender_handlers[] = {
	{ .type = &msg_a, .on_event = sender_on_a },
	{ 0 },
};

static agent_step
sender_begin(agent *a)
{
	return agent_sync(&state_sender, NULL);
}

static const struct agent_def sender_def = {
	.name = "sender",
	.begin = sender_begin,
	.handlers = sender_handlers,
};

static void
test_sync_state_sends(void **state)
{
	agent *a;

	assert_int_equal(agent_new(&a, NULL, &sender_def, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_string_equal(trace, "m1 m2");
	agent_unref(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_transition_before_queued, setup),
		cmocka_unit_test_setup(test_done_drains_stop_drops, setup),
		cmocka_unit_test_setup(test_failing_handler_keeps_actor, setup),
		cmocka_unit_test_setup(test_fallback_and_repair, setup),
		cmocka_unit_test_setup(test_repeat_keeps_data, setup),
		cmocka_unit_test_setup(
			test_flag_runs_on_interrupt_and_shutdown_state, setup),
		cmocka_unit_test_setup(test_abort_skips_finalize, setup),
		cmocka_unit_test_setup(test_event_interrupt_in_fifo_order,
				       setup),
		cmocka_unit_test_setup(test_group_stop_order, setup),
		cmocka_unit_test_setup(test_nested_supervisor_subtree_first,
				       setup),
		cmocka_unit_test_setup(test_requests_timeout_errors_order,
				       setup),
		cmocka_unit_test_setup(test_request_awaited_in_state, setup),
		cmocka_unit_test_setup(test_source_end_keeps_agent, setup),
		cmocka_unit_test_setup(test_source_backpressure, setup),
		cmocka_unit_test_setup(test_timer_modes, setup),
		cmocka_unit_test_setup(test_interval, setup),
		cmocka_unit_test_setup(test_full_mailbox_policy, setup),
		cmocka_unit_test_setup(test_full_mailbox_request, setup),
		cmocka_unit_test_setup(test_sync_state_other_thread, setup),
		cmocka_unit_test_setup(test_subagents_join_and_results, setup),
		cmocka_unit_test_setup(test_pipeline, setup),
		cmocka_unit_test_setup(test_parallel, setup),
		cmocka_unit_test_setup(test_custom_performer, setup),
		cmocka_unit_test_setup(test_external_wake, setup),
		cmocka_unit_test_setup(test_flag_stops_sync_repeat, setup),
		cmocka_unit_test_setup(test_abort_sync_state, setup),
		cmocka_unit_test_setup(test_drop_oldest_answers_requests, setup),
		cmocka_unit_test_setup(test_pipeline_pools, setup),
		cmocka_unit_test_setup(test_async_fn, setup),
		cmocka_unit_test_setup(test_sync_state_sends, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
