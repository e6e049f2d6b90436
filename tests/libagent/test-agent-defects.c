/* SPDX-License-Identifier: MIT */
/*
 * test-agent-defects.c - regression tests for engine defects found in
 * review (use after free on the ready list and in an epoll batch, lost
 * cross-thread sends, teardown before finalize, never-started agents,
 * interrupts before the start, deadline overflow, the grace deadline over
 * a sync state, the LINES cap). Most of them only fail loudly under
 * AddressSanitizer; each also asserts the documented outcome.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <agent/agent.h>

static agent_step
stop_begin(agent *a)
{
	(void)a;
	return agent_stop();
}

static const struct agent_def stop_def = { .name = "stop",
					   .begin = stop_begin };
static const struct agent_def idle_def = { .name = "idle" };
static const struct agent_state plain_state = { .name = "s" };

/* 1A: agent_do_next() on a never-started agent is refused (it used to put
 * the agent on the ready list; freed, the loop then walked freed memory) */
static void
test_do_next_created(void **state)
{
	agent_loop *l;
	agent *a, *b;

	(void)state;
	assert_int_equal(agent_loop_new(&l), 0);
	assert_int_equal(agent_new(&a, l, &stop_def, NULL), 0);
	assert_int_equal(agent_do_next(a, agent_async(&plain_state, NULL)),
			 -EINVAL);
	agent_unref(a);
	assert_int_equal(agent_new(&b, l, &stop_def, NULL), 0);
	assert_int_equal(agent_run(b), AGENT_EXIT_DONE);
	agent_unref(b);
	agent_loop_unref(l);
}

/* 1B: ABORT outside the loop ends the agent while it is on the ready list;
 * the zombie is freed before the loop runs again */
static void
test_abort_outside_loop(void **state)
{
	agent_loop *l;
	agent *a, *b;

	(void)state;
	assert_int_equal(agent_loop_new(&l), 0);
	assert_int_equal(agent_new(&a, l, &stop_def, NULL), 0);
	assert_int_equal(agent_start(a), 0);
	assert_int_equal(agent_interrupt(a, AGENT_LEVEL_ABORT), 0);
	assert_int_equal(agent_exit_reason(a), AGENT_EXIT_ABORTED);
	agent_unref(a);
	assert_int_equal(agent_new(&b, l, &stop_def, NULL), 0);
	assert_int_equal(agent_run(b), AGENT_EXIT_DONE);
	agent_unref(b);
	agent_loop_unref(l);
}

/* 1C: the step budget of an iteration runs out while an agent ended by
 * another one is still on the ready list; the zombie is freed at the end
 * of the iteration */
static agent *budget_victim;

static agent_step
spin_repeat(agent *a, void *d)
{
	int *n = agent_self(a);

	(void)d;
	if ((*n)++ == 0 && budget_victim) {
		assert_int_equal(agent_interrupt(budget_victim,
						 AGENT_LEVEL_ABORT), 0);
		budget_victim = NULL;
	}
	return *n < 600 ? agent_again() : agent_stop();
}

static const struct agent_state spin_state = { .name = "spin",
					       .repeat = spin_repeat };

static agent_step
spin_begin(agent *a)
{
	(void)a;
	return agent_async(&spin_state, NULL);
}

static const struct agent_def spin_def = { .name = "spin",
					   .begin = spin_begin };

static void
test_budget_zombie_on_ready(void **state)
{
	int counts[10] = { 0 };
	agent_loop *l;
	agent *v;

	(void)state;
	assert_int_equal(agent_loop_new(&l), 0);
	for (int i = 0; i < 10; i++) {
		agent *s;
		assert_int_equal(agent_new(&s, l, &spin_def, &counts[i]), 0);
		assert_int_equal(agent_start(s), 0);
		agent_unref(s); /* the loop keeps it while it runs */
	}
	assert_int_equal(agent_new(&v, l, &idle_def, NULL), 0);
	assert_int_equal(agent_start(v), 0); /* listed after the spinners */
	budget_victim = v;
	agent_unref(v);
	assert_int_equal(agent_loop_run(l), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(counts[i], 600);
	agent_loop_unref(l);
}

/* 2: one epoll batch holds the wake eventfd (a cross-thread ABORT that
 * frees the agent's source) and the source's fd */
static agent *abort_target;

static void *
abort_thread(void *arg)
{
	(void)arg;
	assert_int_equal(agent_interrupt(abort_target, AGENT_LEVEL_ABORT), 0);
	return NULL;
}

static void
test_batch_freed_watcher(void **state)
{
	agent_loop *l;
	pthread_t t;
	int p[2];

	(void)state;
	assert_int_equal(agent_loop_new(&l), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(agent_new(&abort_target, l, &idle_def, NULL), 0);
	assert_int_equal(agent_start(abort_target), 0);
	assert_int_equal(agent_source_fd(abort_target, NULL, p[0],
					 AGENT_SOURCE_OWN_FD, 1), 0);
	(void)agent_loop_iterate(l, 0); /* begin: actor */
	assert_int_equal(pthread_create(&t, NULL, abort_thread, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	(void)agent_loop_iterate(l, 0);
	assert_int_equal(agent_exit_reason(abort_target), AGENT_EXIT_ABORTED);
	agent_unref(abort_target);
	close(p[1]);
	agent_loop_unref(l);
}

/* 3: a send from another thread that the mailbox refuses is counted as
 * dropped, reported, and its payload freed (it used to leak silently) */
static const struct agent_msg_type freed_type = { .name = "freed",
						  .free = free };
static agent *send_target;
static int logged_drops;

static void
count_log(int level, const char *name, const char *msg, void *ud)
{
	(void)level;
	(void)name;
	(void)ud;
	if (strstr(msg, "dropped"))
		logged_drops++;
}

static void *
send_thread(void *arg)
{
	(void)arg;
	(void)agent_send(send_target, &freed_type, malloc(100));
	return NULL;
}

static void
test_xthread_send_refused(void **state)
{
	agent_loop *l;
	pthread_t t;

	(void)state;
	logged_drops = 0;
	agent_log_set(count_log, NULL);
	assert_int_equal(agent_loop_new(&l), 0);
	assert_int_equal(agent_new(&send_target, l, &stop_def, NULL), 0);
	/* alive but closed: the send is queued, then refused on the loop */
	assert_int_equal(agent_start(send_target), 0);
	assert_int_equal(agent_shutdown(send_target), 0);
	(void)agent_loop_iterate(l, 0);
	assert_int_equal(agent_exit_reason(send_target), AGENT_EXIT_DONE);
	assert_int_equal(pthread_create(&t, NULL, send_thread, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	/* queued (another thread), refused on the loop: -EPIPE */
	(void)agent_loop_iterate(l, 0);
	assert_int_equal(agent_mailbox_dropped(send_target), 1);
	assert_int_equal(logged_drops, 1);
	agent_log_set(NULL, NULL);
	agent_unref(send_target);
	agent_loop_unref(l);
}

/* 3b: the same with a full mailbox (capacity 1, REJECT): the agent is
 * not started, so nothing empties it while the queue drains */
static const struct agent_msg_type fill_type = { .name = "fill" };

static const struct agent_def full_def = {
	.name = "full", .mailbox_capacity = 1,
};

static void
test_xthread_send_full(void **state)
{
	agent_loop *l;
	pthread_t t;

	(void)state;
	logged_drops = 0;
	agent_log_set(count_log, NULL);
	assert_int_equal(agent_loop_new(&l), 0);
	assert_int_equal(agent_new(&send_target, l, &full_def, NULL), 0);
	assert_int_equal(agent_send(send_target, &fill_type, NULL), 0);
	assert_int_equal(agent_mailbox_len(send_target), 1);
	assert_int_equal(pthread_create(&t, NULL, send_thread, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	(void)agent_loop_iterate(l, 0);
	assert_int_equal(agent_mailbox_len(send_target), 1);
	assert_int_equal(agent_mailbox_dropped(send_target), 1);
	assert_int_equal(logged_drops, 1);
	agent_log_set(NULL, NULL);
	agent_unref(send_target);
	agent_loop_unref(l);
}

/* 4: the user frees their own timer and pipeline in finalize */
struct fin_self {
	agent_timer *t;
	agent_pipeline *p;
	int finalized;
};

static agent_step
fin_begin(agent *a)
{
	struct fin_self *s = agent_self(a);

	assert_int_equal(agent_timer_new(a, &s->t, AGENT_TIMER_DEBOUNCE, 1),
			 0);
	assert_int_equal(agent_timer_schedule(s->t, 1000000), 0);
	assert_int_equal(agent_pipeline_new(a, &s->p, 4), 0);
	return agent_stop();
}

static void
fin_finalize(agent *a, enum agent_exit_reason r)
{
	struct fin_self *s = agent_self(a);

	(void)r;
	agent_timer_free(s->t);
	agent_pipeline_free(s->p);
	s->finalized++;
}

static const struct agent_def fin_def = {
	.name = "fin", .begin = fin_begin, .finalize = fin_finalize,
};

static void
test_free_in_finalize(void **state)
{
	struct fin_self s = { 0 };
	agent *a;

	(void)state;
	assert_int_equal(agent_new(&a, NULL, &fin_def, &s), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_int_equal(s.finalized, 1);
	agent_unref(a);
}

/* 5: a never-started agent cannot own children, and owns its timers */
static agent_step
slept_stop(agent *a, void *d, agent_msg *m)
{
	(void)a;
	(void)d;
	(void)m;
	return agent_stop();
}

static agent_step
sleep_once(agent *a, void *d)
{
	(void)d;
	assert_int_equal(agent_await_sleep(a, 20000, slept_stop), 0);
	return agent_wait();
}

static const struct agent_state sleep_state = { .name = "sleep",
						.once = sleep_once };

static agent_step
sleep_begin(agent *a)
{
	(void)a;
	return agent_async(&sleep_state, NULL);
}

static const struct agent_def sleep_def = { .name = "sleeper",
					    .begin = sleep_begin };

static void
test_never_started_owns(void **state)
{
	agent_loop *l;
	agent *p, *o;
	agent_timer *t;
	int fds[2];

	(void)state;
	assert_int_equal(agent_loop_new(&l), 0);
	assert_int_equal(agent_new(&p, l, &idle_def, NULL), 0);
	assert_int_equal(agent_timer_new(p, &t, AGENT_TIMER_DEBOUNCE, 7), 0);
	assert_int_equal(agent_timer_schedule(t, 1000), 0);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(agent_source_fd(p, NULL, fds[0], AGENT_SOURCE_OWN_FD,
					 2), 0);
	assert_int_equal(write(fds[1], "x", 1), 1);
	agent_unref(p); /* never started: frees its timer and source */
	assert_int_equal(agent_new(&o, l, &sleep_def, NULL), 0);
	assert_int_equal(agent_run(o), AGENT_EXIT_DONE);
	agent_unref(o);
	close(fds[1]);
	/* only a started agent owns children */
	assert_int_equal(agent_new(&p, l, &idle_def, NULL), 0);
	assert_int_equal(agent_spawn(p, NULL, 0, &stop_def, NULL), -EINVAL);
	agent_unref(p);
	agent_loop_unref(l);
}

/* 6: interrupts before agent_start are replayed */
static int seen_level, finalized;

static agent_step
rec_interrupt(agent *a, enum agent_level level)
{
	(void)a;
	seen_level = (int)level;
	return agent_stop();
}

static void
rec_finalize(agent *a, enum agent_exit_reason r)
{
	(void)a;
	(void)r;
	finalized++;
}

static const struct agent_def rec_def = {
	.name = "rec", .on_interrupt = rec_interrupt,
	.finalize = rec_finalize,
};

static void
test_interrupt_before_start(void **state)
{
	agent_loop *l;
	agent *a, *b;

	(void)state;
	seen_level = -1;
	finalized = 0;
	assert_int_equal(agent_loop_new(&l), 0);
	assert_int_equal(agent_new(&a, l, &rec_def, NULL), 0);
	assert_int_equal(agent_interrupt(a, AGENT_LEVEL_EVENT), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_INTERRUPTED);
	assert_int_equal(seen_level, AGENT_LEVEL_EVENT);
	assert_int_equal(finalized, 1);
	agent_unref(a);

	seen_level = -1;
	finalized = 0;
	assert_int_equal(agent_new(&b, l, &rec_def, NULL), 0);
	assert_int_equal(agent_interrupt(b, AGENT_LEVEL_ABORT), 0);
	assert_int_equal(agent_run(b), AGENT_EXIT_ABORTED);
	assert_int_equal(seen_level, -1);
	assert_int_equal(finalized, 0);
	agent_unref(b);
	agent_loop_unref(l);
}

/* 7: deadlines saturate: AGENT_USEC_INFINITY is never */
static int inf_fired;

static agent_step
inf_slept(agent *a, void *d, agent_msg *m)
{
	(void)a;
	(void)d;
	(void)m;
	inf_fired++;
	return agent_stop();
}

static agent_step
inf_once(agent *a, void *d)
{
	(void)d;
	assert_int_equal(agent_await_sleep(a, AGENT_USEC_INFINITY, inf_slept),
			 0);
	return agent_wait();
}

static const struct agent_state inf_state = { .name = "inf",
					      .once = inf_once };

static agent_step
inf_begin(agent *a)
{
	agent_timer *t;

	assert_int_equal(agent_timer_new(a, &t, AGENT_TIMER_DEBOUNCE, 1), 0);
	assert_int_equal(agent_timer_schedule(t, UINT64_MAX - 1), 0);
	return agent_async(&inf_state, NULL);
}

static const struct agent_def inf_def = { .name = "inf", .begin = inf_begin };

static void
test_deadline_saturates(void **state)
{
	agent *a;

	(void)state;
	inf_fired = 0;
	assert_int_equal(agent_new(&a, NULL, &inf_def, NULL), 0);
	assert_int_equal(agent_start(a), 0);
	for (int i = 0; i < 5; i++)
		(void)agent_loop_iterate(agent_get_loop(a), 1000);
	assert_int_equal(inf_fired, 0);
	assert_true(agent_is_alive(a));
	assert_int_equal(agent_mailbox_len(a), 0); /* the timer did not fire */
	assert_int_equal(agent_interrupt(a, AGENT_LEVEL_ABORT), 0);
	agent_unref(a);
}

/* 8: FLAG while a sync state runs: the grace deadline (armed at the FLAG)
 * aborts the agent; the sync state's result is discarded */
static int sync_gate; /* 0 run, 1 released */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;

static agent_step
gated_once(agent *a, void *d)
{
	(void)a;
	(void)d;
	pthread_mutex_lock(&gate_lock);
	while (!sync_gate)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	return agent_done();
}

static const struct agent_state gated_state = { .name = "gated",
						.once = gated_once };

static agent_step
gated_begin(agent *a)
{
	(void)a;
	return agent_sync(&gated_state, NULL);
}

static agent_step
gated_interrupt(agent *a, enum agent_level level)
{
	(void)a;
	(void)level;
	seen_level = (int)level;
	return agent_stop();
}

static const struct agent_def gated_def = {
	.name = "gated", .begin = gated_begin, .grace_usec = 1000,
	.on_interrupt = gated_interrupt,
};

static uint64_t
mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Iterate the loop until well past the 1 ms grace deadline (an ordering
 * condition, not a timing assertion: the deadline is behind us). */
static void
iterate_past_grace(agent *a)
{
	uint64_t t0 = mono_usec();

	while (mono_usec() - t0 < 20000)
		(void)agent_loop_iterate(agent_get_loop(a), 1000);
	(void)agent_loop_iterate(agent_get_loop(a), 0);
}

static void
test_grace_over_sync(void **state)
{
	agent *a;

	(void)state;
	seen_level = -1;
	sync_gate = 0;
	assert_int_equal(agent_new(&a, NULL, &gated_def, NULL), 0);
	assert_int_equal(agent_start(a), 0);
	(void)agent_loop_iterate(agent_get_loop(a), 0); /* sync submitted */
	assert_int_equal(agent_interrupt(a, AGENT_LEVEL_FLAG), 0);
	iterate_past_grace(a);
	assert_true(agent_is_alive(a)); /* the worker still holds it */
	pthread_mutex_lock(&gate_lock);
	sync_gate = 1;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	/* the grace passed before the state returned: aborted, and
	 * on_interrupt(FLAG) never ran */
	assert_int_equal(agent_run(a), AGENT_EXIT_ABORTED);
	assert_int_equal(seen_level, -1);
	agent_unref(a);
}

/* 10: a LINES source fed a long line without '\n' delivers 64 KiB chunks
 * instead of buffering without bound */
#define LONG_LINE (300u * 1024u)
static size_t longest, total;

static int
on_data(agent *a, agent_msg *m)
{
	const struct agent_data *d = agent_msg_payload(m);

	(void)a;
	if (d->len > longest)
		longest = d->len;
	total += d->len;
	return 0;
}

static int
on_end(agent *a, agent_msg *m)
{
	(void)m;
	return agent_shutdown(a);
}

static const struct agent_handler lines_handlers[] = {
	{ .type = &agent_type_data, .on_event = on_data },
	{ .type = &agent_type_source_end, .on_event = on_end },
	{ 0 },
};

static const struct agent_def lines_def = { .name = "lines",
					    .handlers = lines_handlers };

static int writer_fd;

static void *
writer(void *arg)
{
	static char buf[LONG_LINE];

	(void)arg;
	memset(buf, 'x', sizeof(buf));
	for (size_t off = 0; off < sizeof(buf);) {
		ssize_t n = write(writer_fd, buf + off, sizeof(buf) - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(writer_fd);
	return NULL;
}

static void
test_lines_cap(void **state)
{
	agent *a;
	pthread_t t;
	int p[2];

	(void)state;
	longest = total = 0;
	assert_int_equal(pipe(p), 0);
	writer_fd = p[1];
	assert_int_equal(agent_new(&a, NULL, &lines_def, NULL), 0);
	assert_int_equal(agent_source_fd(a, NULL, p[0],
					 AGENT_SOURCE_LINES |
						 AGENT_SOURCE_OWN_FD, 1), 0);
	assert_int_equal(pthread_create(&t, NULL, writer, NULL), 0);
	assert_int_equal(agent_run(a), AGENT_EXIT_DONE);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(total, LONG_LINE);
	assert_true(longest <= 64u * 1024u);
	agent_unref(a);
}

/* 9: a waker woken after its agent ended and the (private) loop lost
 * every other reference: the waker keeps the loop */
static agent_waker *late_waker;

static agent_step
ext_cb(agent *a, void *d, agent_msg *m)
{
	(void)a;
	(void)d;
	(void)m;
	return agent_done();
}

static agent_step
ext_once(agent *a, void *d)
{
	(void)d;
	assert_int_equal(agent_await_external(a, ext_cb, &late_waker), 0);
	return agent_wait();
}

static const struct agent_state ext_state = { .name = "ext",
					      .once = ext_once };

static agent_step
ext_begin(agent *a)
{
	(void)a;
	return agent_async(&ext_state, NULL);
}

static const struct agent_def ext_def = { .name = "ext", .begin = ext_begin };

static void *
late_wake_thread(void *arg)
{
	(void)arg;
	(void)agent_waker_wake(late_waker, 0, malloc(16), free);
	return NULL;
}

static void
test_waker_outlives_loop(void **state)
{
	agent *a;
	pthread_t t;

	(void)state;
	assert_int_equal(agent_new(&a, NULL, &ext_def, NULL), 0);
	assert_int_equal(agent_start(a), 0);
	(void)agent_loop_iterate(agent_get_loop(a), 0);
	assert_non_null(late_waker);
	assert_int_equal(agent_interrupt(a, AGENT_LEVEL_ABORT), 0);
	assert_int_equal(agent_exit_reason(a), AGENT_EXIT_ABORTED);
	agent_unref(a); /* the private loop's last reference but the waker's */
	assert_int_equal(pthread_create(&t, NULL, late_wake_thread, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_do_next_created),
		cmocka_unit_test(test_abort_outside_loop),
		cmocka_unit_test(test_budget_zombie_on_ready),
		cmocka_unit_test(test_batch_freed_watcher),
		cmocka_unit_test(test_xthread_send_refused),
		cmocka_unit_test(test_xthread_send_full),
		cmocka_unit_test(test_free_in_finalize),
		cmocka_unit_test(test_never_started_owns),
		cmocka_unit_test(test_interrupt_before_start),
		cmocka_unit_test(test_deadline_saturates),
		cmocka_unit_test(test_grace_over_sync),
		cmocka_unit_test(test_lines_cap),
		cmocka_unit_test(test_waker_outlives_loop),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]); /* one test, by name */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
