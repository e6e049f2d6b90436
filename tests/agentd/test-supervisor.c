/* SPDX-License-Identifier: MIT */
/*
 * test-supervisor.c - agentd's supervisor (agentd/supervisor.c) without
 * processes: the state x event table cell by cell, restart policy, backoff,
 * group strategies, intensity and stop escalation. Its neighbours
 * (process.c, link.c, logs.c, control.c) are replaced by the hand stubs
 * below, which record what the supervisor asked for.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agentd.h"
#include "log.h"

/* ---- stubs -------------------------------------------------------------- */

static int stub_spawn_result;      /* 0 or -errno */
static bool stub_tree_empty = true;
static int stub_link_result = -ENOTCONN;
static unsigned stub_spawns, stub_kill_main, stub_kill_tree, stub_interrupts;
static int stub_last_main_sig, stub_last_tree_sig;
static pid_t stub_next_pid = 1000;

int
process_spawn(struct agent *a, const char **ret_step)
{
	*ret_step = "execve";
	stub_spawns++;
	if (stub_spawn_result < 0)
		return stub_spawn_result;
	a->pid = a->pgid = stub_next_pid++;
	return 0;
}

void
process_kill_main(struct agent *a, int sig)
{
	stub_kill_main++;
	stub_last_main_sig = sig;
}

void
process_kill_tree(struct agent *a, int sig)
{
	stub_kill_tree++;
	stub_last_tree_sig = sig;
}

bool
process_tree_empty(struct agent *a)
{
	return a->pid == 0 && stub_tree_empty;
}

void
process_release(struct agent *a)
{
	a->pid = 0;
	a->linked = false;
}

bool
process_have_zombies(void)
{
	return false;
}

void
process_reap_all(struct manager *m)
{
}

void
cgroup_remove_agent(struct agent *a)
{
}

void
control_watch_kick(struct manager *m)
{
}

void
control_check_pending(struct manager *m)
{
}

bool
link_is_up(const struct agent *a)
{
	return a->linked;
}

void
link_drain(struct agent *a)
{
}

int
link_send_interrupt(struct agent *a, uint32_t level)
{
	stub_interrupts++;
	return stub_link_result;
}

int
logs_open_agent(struct agent *a)
{
	return 0;
}

void
logs_close_agent(struct agent *a)
{
}

/* ---- fixtures ----------------------------------------------------------- */

struct fixture {
	struct manager m;
};

static void
stubs_reset(void)
{
	stub_spawn_result = 0;
	stub_tree_empty = true;
	stub_link_result = -ENOTCONN;
	stub_spawns = stub_kill_main = stub_kill_tree = stub_interrupts = 0;
	stub_last_main_sig = stub_last_tree_sig = 0;
}

/* A manager over units given as NAME, TEXT pairs (NULL-terminated). */
static struct fixture *
fixture_new(const char *first, ...)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct unit_set *s = unit_set_new();
	const char *path;
	va_list ap;

	assert_non_null(f);
	assert_non_null(s);
	va_start(ap, first);
	for (path = first; path; path = va_arg(ap, const char *))
		assert_int_equal(unit_set_add_string(s, path, va_arg(ap, const char *)), 0);
	va_end(ap);
	assert_int_equal(unit_set_validate(s), 0);
	for (size_t i = 0; i < s->n_errors; i++)
		print_message("# %s\n", s->errors[i]);
	assert_int_equal(s->n_errors, 0);
	assert_int_equal(sd_event_new(&f->m.event), 0);
	f->m.notify_fd = f->m.null_fd = -1;
	assert_int_equal(manager_build(&f->m, s), 0);
	f->m.phase = PHASE_RUNNING;
	stubs_reset();
	return f;
}

static void
fixture_free(struct fixture *f)
{
	manager_free_agents(&f->m);
	unit_set_free(f->m.units);
	sd_event_unref(f->m.event);
	free(f);
}

static struct agent *
agent(struct fixture *f, const char *name)
{
	struct agent *a = manager_find_agent(&f->m, name);

	assert_non_null(a);
	return a;
}

/* Put an agent into a state the way the supervisor would have. */
static void
force_state(struct agent *a, enum agent_state s)
{
	a->state = s;
	a->deadline = a->wd_deadline = USEC_INFINITY;
	a->stop_phase = STOP_NONE;
	a->then = THEN_INACTIVE;
	a->pid = 0;
	a->exit_clean = false;
	a->want_up = true;
	if (s == AGENT_STARTING || s == AGENT_RUNNING || s == AGENT_STOPPING) {
		a->pid = a->pgid = 4242;
		a->spawned_at = now_usec();
	}
	if (s == AGENT_RUNNING)
		a->ready_at = now_usec();
	if (s == AGENT_STOPPING) {
		a->stop_phase = STOP_TERM;
		a->stop_started = now_usec();
	}
	if (s == AGENT_FAILED || s == AGENT_DONE)
		a->want_up = false;
	/* an EXITED event comes after the process was reaped */
}

/* ---- the table, cell by cell -------------------------------------------- */

#define S(x) AGENT_##x
static const struct cell {
	enum agent_state from;
	enum agent_event ev;
	enum agent_state to;
} cells[] = {
	{ S(INACTIVE), AGENT_EV_START, S(STARTING) },
	{ S(INACTIVE), AGENT_EV_STOP, S(INACTIVE) },
	{ S(INACTIVE), AGENT_EV_READY, S(INACTIVE) },
	{ S(INACTIVE), AGENT_EV_EXITED, S(INACTIVE) },
	{ S(INACTIVE), AGENT_EV_TIMEOUT, S(INACTIVE) },
	{ S(INACTIVE), AGENT_EV_WATCHDOG, S(INACTIVE) },
	{ S(INACTIVE), AGENT_EV_RESET, S(INACTIVE) },

	{ S(STARTING), AGENT_EV_START, S(STARTING) },
	{ S(STARTING), AGENT_EV_STOP, S(STOPPING) },
	{ S(STARTING), AGENT_EV_READY, S(RUNNING) },
	{ S(STARTING), AGENT_EV_EXITED, S(BACKOFF) },
	{ S(STARTING), AGENT_EV_TIMEOUT, S(STOPPING) },
	{ S(STARTING), AGENT_EV_WATCHDOG, S(STOPPING) },
	{ S(STARTING), AGENT_EV_RESET, S(STARTING) },

	{ S(RUNNING), AGENT_EV_START, S(RUNNING) },
	{ S(RUNNING), AGENT_EV_STOP, S(STOPPING) },
	{ S(RUNNING), AGENT_EV_READY, S(RUNNING) },
	{ S(RUNNING), AGENT_EV_EXITED, S(BACKOFF) },
	{ S(RUNNING), AGENT_EV_TIMEOUT, S(RUNNING) },
	{ S(RUNNING), AGENT_EV_WATCHDOG, S(STOPPING) },
	{ S(RUNNING), AGENT_EV_RESET, S(RUNNING) },

	{ S(STOPPING), AGENT_EV_START, S(STOPPING) },
	{ S(STOPPING), AGENT_EV_STOP, S(STOPPING) },
	{ S(STOPPING), AGENT_EV_READY, S(STOPPING) },
	{ S(STOPPING), AGENT_EV_EXITED, S(INACTIVE) },
	{ S(STOPPING), AGENT_EV_TIMEOUT, S(STOPPING) },
	{ S(STOPPING), AGENT_EV_WATCHDOG, S(STOPPING) },
	{ S(STOPPING), AGENT_EV_RESET, S(STOPPING) },

	{ S(BACKOFF), AGENT_EV_START, S(STARTING) },
	{ S(BACKOFF), AGENT_EV_STOP, S(INACTIVE) },
	{ S(BACKOFF), AGENT_EV_READY, S(BACKOFF) },
	{ S(BACKOFF), AGENT_EV_EXITED, S(BACKOFF) },
	{ S(BACKOFF), AGENT_EV_TIMEOUT, S(INACTIVE) },
	{ S(BACKOFF), AGENT_EV_WATCHDOG, S(BACKOFF) },
	{ S(BACKOFF), AGENT_EV_RESET, S(BACKOFF) },

	{ S(FAILED), AGENT_EV_START, S(STARTING) },
	{ S(FAILED), AGENT_EV_STOP, S(FAILED) },
	{ S(FAILED), AGENT_EV_READY, S(FAILED) },
	{ S(FAILED), AGENT_EV_EXITED, S(FAILED) },
	{ S(FAILED), AGENT_EV_TIMEOUT, S(FAILED) },
	{ S(FAILED), AGENT_EV_WATCHDOG, S(FAILED) },
	{ S(FAILED), AGENT_EV_RESET, S(INACTIVE) },

	{ S(DONE), AGENT_EV_START, S(STARTING) },
	{ S(DONE), AGENT_EV_STOP, S(DONE) },
	{ S(DONE), AGENT_EV_READY, S(DONE) },
	{ S(DONE), AGENT_EV_EXITED, S(DONE) },
	{ S(DONE), AGENT_EV_TIMEOUT, S(DONE) },
	{ S(DONE), AGENT_EV_WATCHDOG, S(DONE) },
	{ S(DONE), AGENT_EV_RESET, S(INACTIVE) },
};

static void
test_table(void **state)
{
	/* every (state, event) pair is listed exactly once */
	assert_int_equal(ELEMENTSOF(cells), _AGENT_STATE_MAX * _AGENT_EVENT_MAX);
	for (size_t i = 0; i < ELEMENTSOF(cells); i++) {
		const struct cell *c = &cells[i];
		struct fixture *f = fixture_new("/u/a.agent",
						"[Agent]\nExecStart=/bin/true\nWatchdogSec=1s\n",
						NULL);
		struct agent *a = agent(f, "a");

		force_state(a, c->from);
		if (c->ev == AGENT_EV_EXITED)
			process_release(a);
		agent_handle_event(a, c->ev);
		if (a->state != c->to)
			fail_msg("%s x %s: got %s, expected %s",
				 agent_state_to_string(c->from),
				 agent_event_to_string(c->ev),
				 agent_state_to_string(a->state),
				 agent_state_to_string(c->to));
		fixture_free(f);
	}
}

/* ---- what the actions do ------------------------------------------------ */

static void
test_exec_is_ready_at_once(void **state)
{
	struct fixture *f = fixture_new("/u/e.agent",
					"[Agent]\nExecStart=/bin/true\nType=exec\n", NULL);
	struct agent *a = agent(f, "e");

	agent_handle_event(a, AGENT_EV_START);
	assert_int_equal(a->state, AGENT_RUNNING);
	assert_int_equal(stub_spawns, 1);
	assert_true(a->pid > 0);
	fixture_free(f);
}

static void
test_spawn_failure_backs_off(void **state)
{
	struct fixture *f = fixture_new("/u/a.agent", "[Agent]\nExecStart=/bin/true\n",
					NULL);
	struct agent *a = agent(f, "a");

	a->want_up = true;
	stub_spawn_result = -ENOENT;
	agent_handle_event(a, AGENT_EV_START);
	assert_int_equal(a->state, AGENT_BACKOFF);
	assert_non_null(strstr(a->last_exit, "spawn failed: execve: No such file"));
	assert_int_equal(a->restarts, 1);
	fixture_free(f);
}

static void
test_restart_policies(void **state)
{
	static const struct {
		const char *restart;
		bool clean;
		enum agent_state want;
	} cases[] = {
		{ "on-failure", false, AGENT_BACKOFF },
		{ "on-failure", true, AGENT_DONE },
		{ "always", true, AGENT_BACKOFF },
		{ "always", false, AGENT_BACKOFF },
		{ "no", false, AGENT_FAILED },
		{ "no", true, AGENT_DONE },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char text[128];
		struct fixture *f;
		struct agent *a;

		snprintf(text, sizeof(text),
			 "[Agent]\nExecStart=/bin/true\nRestart=%s\n", cases[i].restart);
		f = fixture_new("/u/a.agent", text, NULL);
		a = agent(f, "a");
		force_state(a, AGENT_RUNNING);
		process_release(a);
		a->exit_clean = cases[i].clean;
		agent_handle_event(a, AGENT_EV_EXITED);
		if (a->state != cases[i].want)
			fail_msg("Restart=%s, clean=%d: got %s", cases[i].restart,
				 cases[i].clean, agent_state_to_string(a->state));
		fixture_free(f);
	}
}

static void
test_backoff_grows_and_resets(void **state)
{
	struct fixture *f = fixture_new("/u/a.agent",
					"[Agent]\nExecStart=/bin/true\nRestartSec=100ms\n"
					"RestartMaxSec=1s\nRestartResetSec=10s\n",
					"/u/default.group", "[Group]\nIntensity=100\n", NULL);
	struct agent *a = agent(f, "a");
	usec_t nominal = 100 * USEC_PER_MSEC;

	for (int i = 0; i < 6; i++) {
		usec_t before, delay;

		force_state(a, AGENT_RUNNING);
		a->ready_at = now_usec(); /* not healthy long enough */
		process_release(a);
		before = now_usec();
		agent_handle_event(a, AGENT_EV_EXITED);
		assert_int_equal(a->state, AGENT_BACKOFF);
		delay = a->deadline - before;
		/* jitter: [3/4 nominal, nominal] (+ scheduling slack) */
		if (delay < nominal * 3 / 4 || delay > nominal + 50 * USEC_PER_MSEC)
			fail_msg("restart %d: delay %llu, nominal %llu", i,
				 (unsigned long long)delay, (unsigned long long)nominal);
		nominal = MIN(nominal * 2, USEC_PER_SEC);
	}
	/* a healthy run (longer than RestartResetSec) resets it */
	force_state(a, AGENT_RUNNING);
	a->ready_at = now_usec() - 11 * USEC_PER_SEC;
	process_release(a);
	agent_handle_event(a, AGENT_EV_EXITED);
	assert_true(a->deadline - now_usec() <= 100 * USEC_PER_MSEC);
	assert_int_equal(a->restarts, 7);
	fixture_free(f);
}

/* Intensity= above the old fixed history of 64 restarts: the 71st restart
 * within Period fails the group, not never. */
static void
test_intensity_large(void **state)
{
	struct fixture *f = fixture_new(
		"/u/g.group", "[Group]\nIntensity=70\nPeriod=1h\n",
		"/u/a.agent", "[Agent]\nExecStart=/bin/true\nGroup=g\n", NULL);
	struct agent *a = agent(f, "a");

	for (int i = 0; i < 70; i++) {
		force_state(a, AGENT_RUNNING);
		process_release(a);
		agent_handle_event(a, AGENT_EV_EXITED);
		if (a->state != AGENT_BACKOFF)
			fail_msg("restart %d: %s", i + 1,
				 agent_state_to_string(a->state));
	}
	force_state(a, AGENT_RUNNING);
	process_release(a);
	agent_handle_event(a, AGENT_EV_EXITED);
	assert_int_equal(a->state, AGENT_FAILED);
	assert_true(a->group->failed);
	/* a start clears the history: 70 more restarts are allowed */
	assert_int_equal(agent_request_start(a), 1);
	for (int i = 0; i < 70; i++) {
		force_state(a, AGENT_RUNNING);
		process_release(a);
		agent_handle_event(a, AGENT_EV_EXITED);
		if (a->state != AGENT_BACKOFF)
			fail_msg("after reset, restart %d: %s", i + 1,
				 agent_state_to_string(a->state));
	}
	fixture_free(f);
}

static void
test_intensity(void **state)
{
	struct fixture *f = fixture_new(
		"/u/g.group", "[Group]\nIntensity=2\nPeriod=1min\n",
		"/u/a.agent", "[Agent]\nExecStart=/bin/true\nGroup=g\n",
		"/u/b.agent", "[Agent]\nExecStart=/bin/true\nGroup=g\n", NULL);
	struct agent *a = agent(f, "a"), *b = agent(f, "b");

	force_state(b, AGENT_RUNNING);
	for (int i = 0; i < 2; i++) {
		force_state(a, AGENT_RUNNING);
		process_release(a);
		agent_handle_event(a, AGENT_EV_EXITED);
		assert_int_equal(a->state, AGENT_BACKOFF);
	}
	force_state(a, AGENT_RUNNING);
	process_release(a);
	agent_handle_event(a, AGENT_EV_EXITED);
	assert_int_equal(a->state, AGENT_FAILED);
	assert_true(a->group->failed);
	/* the sibling is stopped and ends failed */
	assert_int_equal(b->state, AGENT_STOPPING);
	assert_int_equal(b->then, THEN_FAILED);
	process_release(b);
	agent_handle_event(b, AGENT_EV_EXITED);
	assert_int_equal(b->state, AGENT_FAILED);
	/* start clears the group's failure */
	assert_int_equal(agent_request_start(a), 1);
	assert_false(a->group->failed);
	assert_int_equal(a->state, AGENT_INACTIVE);
	assert_true(a->want_up);
	fixture_free(f);
}

/* A failure found by a stop (watchdog, start timeout) that exceeds the
 * intensity leaves the agent failed, not stuck in stopping. */
static void
test_intensity_after_watchdog(void **state)
{
	struct fixture *f = fixture_new(
		"/u/g.group", "[Group]\nIntensity=1\n",
		"/u/a.agent", "[Agent]\nExecStart=/bin/true\nGroup=g\nWatchdogSec=1s\n",
		NULL);
	struct agent *a = agent(f, "a");

	for (int i = 0; i < 2; i++) {
		force_state(a, AGENT_RUNNING);
		agent_handle_event(a, AGENT_EV_WATCHDOG);
		assert_int_equal(a->state, AGENT_STOPPING);
		assert_int_equal(stub_last_tree_sig, SIGKILL);
		process_release(a);
		agent_handle_event(a, AGENT_EV_EXITED);
		assert_int_equal(a->state, i == 0 ? AGENT_BACKOFF : AGENT_FAILED);
	}
	assert_true(a->group->failed);
	assert_int_equal(a->deadline, USEC_INFINITY);
	fixture_free(f);
}

static void
test_escalate(void **state)
{
	struct fixture *f = fixture_new(
		"/u/g.group", "[Group]\nIntensity=0\nEscalate=yes\n",
		"/u/a.agent", "[Agent]\nExecStart=/bin/true\nGroup=g\n", NULL);
	struct agent *a = agent(f, "a");

	force_state(a, AGENT_RUNNING);
	process_release(a);
	agent_handle_event(a, AGENT_EV_EXITED);
	assert_int_equal(a->state, AGENT_FAILED);
	assert_int_equal(f->m.phase, PHASE_STOPPING);
	assert_int_equal(f->m.exit_code, 1);
	fixture_free(f);
}

static void
strategy_case(const char *strategy, const char *want_stopped)
{
	char group[128];
	struct fixture *f;
	const char *names[] = { "a", "b", "c" };
	char stopped[8] = "";

	snprintf(group, sizeof(group), "[Group]\nStrategy=%s\n", strategy);
	f = fixture_new("/u/g.group", group,
			"/u/a.agent", "[Agent]\nExecStart=/bin/true\nGroup=g\n",
			"/u/b.agent", "[Agent]\nExecStart=/bin/true\nGroup=g\nAfter=a\n",
			"/u/c.agent", "[Agent]\nExecStart=/bin/true\nGroup=g\nAfter=b\n",
			NULL);
	for (int i = 0; i < 3; i++)
		force_state(agent(f, names[i]), AGENT_RUNNING);
	process_release(agent(f, "b"));
	agent_handle_event(agent(f, "b"), AGENT_EV_EXITED);
	assert_int_equal(agent(f, "b")->state, AGENT_BACKOFF);
	for (int i = 0; i < 3; i++)
		if (agent(f, names[i])->state == AGENT_STOPPING) {
			strcat(stopped, names[i]);
			/* stopped for a restart: wanted up again afterwards */
			assert_true(agent(f, names[i])->want_up);
		}
	if (strcmp(stopped, want_stopped) != 0)
		fail_msg("%s: stopped '%s', expected '%s'", strategy, stopped,
			 want_stopped);
	fixture_free(f);
}

static void
test_strategies(void **state)
{
	strategy_case("one_for_one", "");
	strategy_case("one_for_all", "ac");
	strategy_case("rest_for_one", "c");
}

static void
test_stop_escalation(void **state)
{
	struct fixture *f = fixture_new("/u/a.agent",
					"[Agent]\nExecStart=/bin/true\nStopTimeoutSec=2s\n", NULL);
	struct agent *a = agent(f, "a");

	/* linked: interrupt first, SIGTERM at half the budget, SIGKILL at the end */
	force_state(a, AGENT_RUNNING);
	a->linked = true;
	stub_link_result = 0;
	agent_handle_event(a, AGENT_EV_STOP);
	assert_int_equal(a->state, AGENT_STOPPING);
	assert_int_equal(a->stop_phase, STOP_INTERRUPT);
	assert_int_equal(stub_interrupts, 1);
	assert_int_equal(stub_kill_main, 0);
	assert_true(a->deadline - now_usec() <= USEC_PER_SEC);
	agent_handle_event(a, AGENT_EV_TIMEOUT);
	assert_int_equal(a->stop_phase, STOP_TERM);
	assert_int_equal(stub_last_main_sig, SIGTERM);
	agent_handle_event(a, AGENT_EV_TIMEOUT);
	assert_int_equal(a->stop_phase, STOP_KILL);
	assert_int_equal(stub_last_tree_sig, SIGKILL);
	/* the main process is gone but the tree is not: reap phase */
	stub_tree_empty = false;
	process_release(a);
	agent_handle_event(a, AGENT_EV_EXITED);
	assert_int_equal(a->state, AGENT_STOPPING);
	assert_int_equal(a->stop_phase, STOP_REAP);
	stub_tree_empty = true;
	agent_handle_event(a, AGENT_EV_TIMEOUT);
	assert_int_equal(a->state, AGENT_INACTIVE);

	/* not linked: SIGTERM at once */
	stubs_reset();
	force_state(a, AGENT_RUNNING);
	agent_handle_event(a, AGENT_EV_STOP);
	assert_int_equal(a->stop_phase, STOP_TERM);
	assert_int_equal(stub_interrupts, 0);
	assert_int_equal(stub_last_main_sig, SIGTERM);
	fixture_free(f);
}

static void
test_start_timeout_counts_as_failure(void **state)
{
	struct fixture *f = fixture_new("/u/a.agent", "[Agent]\nExecStart=/bin/true\n",
					NULL);
	struct agent *a = agent(f, "a");

	force_state(a, AGENT_STARTING);
	agent_handle_event(a, AGENT_EV_TIMEOUT);
	assert_int_equal(a->state, AGENT_STOPPING);
	assert_int_equal(a->then, THEN_POLICY);
	process_release(a);
	snprintf(a->last_exit, sizeof(a->last_exit), "killed SIGTERM");
	agent_handle_event(a, AGENT_EV_EXITED);
	assert_int_equal(a->state, AGENT_BACKOFF);
	assert_non_null(strstr(a->last_exit, "(start timeout)"));
	fixture_free(f);
}

static void
test_no_restart_while_shutting_down(void **state)
{
	struct fixture *f = fixture_new("/u/a.agent",
					"[Agent]\nExecStart=/bin/true\nRestart=always\n", NULL);
	struct agent *a = agent(f, "a");

	force_state(a, AGENT_RUNNING);
	manager_begin_shutdown(&f->m, 0);
	process_release(a);
	agent_handle_event(a, AGENT_EV_EXITED);
	assert_int_equal(a->state, AGENT_INACTIVE);
	fixture_free(f);
}

static void
test_instances(void **state)
{
	struct fixture *f = fixture_new("/u/w.agent",
					"[Agent]\nExecStart=/bin/true\nInstances=3\n", NULL);

	assert_int_equal(f->m.n_agents, 3);
	assert_string_equal(f->m.agents[0]->name, "w@1");
	assert_string_equal(f->m.agents[2]->name, "w@3");
	assert_null(manager_find_agent(&f->m, "w"));
	fixture_free(f);
}

/* events.c: numbered from 1, a bounded ring, a detail per transition. */
static void
test_events_ring(void **state)
{
	struct fixture *f = fixture_new("/u/a.agent",
					"[Agent]\nType=exec\nExecStart=/bin/true\n", NULL);
	struct agent *a = agent(f, "a");
	const struct agentd_event *e;
	char want[32];
	uint64_t n;

	assert_int_equal(f->m.event_seq, 0);
	assert_int_equal(events_first_seq(&f->m), 1); /* empty: next */
	agent_handle_event(a, AGENT_EV_START);
	assert_int_equal(a->state, AGENT_RUNNING);
	assert_int_equal(f->m.event_seq, 2);
	e = events_get(&f->m, 1);
	assert_int_equal(e->seq, 1);
	assert_string_equal(e->name, "a");
	assert_int_equal(e->from, AGENT_INACTIVE);
	assert_int_equal(e->to, AGENT_STARTING);
	snprintf(want, sizeof(want), "pid %d", (int)a->pid);
	assert_string_equal(e->detail, want);
	e = events_get(&f->m, 2);
	assert_int_equal(e->from, AGENT_STARTING);
	assert_int_equal(e->to, AGENT_RUNNING);

	/* how the run ended, once the process is gone */
	a->pid = 0;
	snprintf(a->last_exit, sizeof(a->last_exit), "exited 3");
	events_record(&f->m, a, AGENT_RUNNING, AGENT_BACKOFF);
	assert_string_equal(events_get(&f->m, 3)->detail, "exited 3");
	events_record(&f->m, a, AGENT_BACKOFF, AGENT_STARTING);
	assert_string_equal(events_get(&f->m, 4)->detail, "");

	/* past the ring's size the oldest are overwritten */
	for (int i = 0; i < 2 * EVENT_RING_SIZE + 5; i++)
		events_record(&f->m, a, AGENT_RUNNING, AGENT_STOPPING);
	n = f->m.event_seq;
	assert_int_equal(n, 4 + 2 * EVENT_RING_SIZE + 5);
	assert_int_equal(events_first_seq(&f->m), n - EVENT_RING_SIZE + 1);
	assert_int_equal(events_get(&f->m, n)->seq, n);
	assert_int_equal(events_get(&f->m, n - EVENT_RING_SIZE + 1)->seq,
			 n - EVENT_RING_SIZE + 1);
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_exec_is_ready_at_once),
		cmocka_unit_test(test_spawn_failure_backs_off),
		cmocka_unit_test(test_restart_policies),
		cmocka_unit_test(test_backoff_grows_and_resets),
		cmocka_unit_test(test_intensity),
		cmocka_unit_test(test_intensity_large),
		cmocka_unit_test(test_intensity_after_watchdog),
		cmocka_unit_test(test_escalate),
		cmocka_unit_test(test_strategies),
		cmocka_unit_test(test_stop_escalation),
		cmocka_unit_test(test_start_timeout_counts_as_failure),
		cmocka_unit_test(test_no_restart_while_shutting_down),
		cmocka_unit_test(test_instances),
		cmocka_unit_test(test_events_ring),
	};

	log_init("test-supervisor", LOG_LEVEL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
