/* SPDX-License-Identifier: MIT */
/*
 * supervisor.c - the agent state machine (a state x event -> action table,
 * as s6-supervise), restart policy with backoff, group strategies and
 * intensity (OTP), ordered start and stop of the groups, and reload.
 *
 * Every transition goes through agent_set_state(), which records an event,
 * re-arms the agent's one timer for the new state's absolute deadline and
 * schedules one dispatch pass (a defer source) that starts and stops what
 * the order allows and answers control requests that were waiting.
 */
#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <systemd/sd-daemon.h>

#include "agentd.h"
#include "log.h"
#include "macro.h"
#include "proto-link.h"

#define TIMER_ACCURACY	(100)               /* usec: deadlines are precise */
#define KILL_WAIT	(5 * USEC_PER_SEC)   /* after SIGKILL of the tree */
#define REAP_POLL	(10 * USEC_PER_MSEC) /* tree not empty yet */
#define REAP_MAX	(3 * USEC_PER_SEC)

static const char *const state_names[_AGENT_STATE_MAX] = {
	[AGENT_INACTIVE] = "inactive",
	[AGENT_STARTING] = "starting",
	[AGENT_RUNNING] = "running",
	[AGENT_STOPPING] = "stopping",
	[AGENT_BACKOFF] = "backoff",
	[AGENT_FAILED] = "failed",
	[AGENT_DONE] = "done",
};

static const char *const event_names[_AGENT_EVENT_MAX] = {
	[AGENT_EV_START] = "start",
	[AGENT_EV_STOP] = "stop",
	[AGENT_EV_READY] = "ready",
	[AGENT_EV_EXITED] = "exited",
	[AGENT_EV_TIMEOUT] = "timeout",
	[AGENT_EV_WATCHDOG] = "watchdog",
	[AGENT_EV_RESET] = "reset",
};

const char *
agent_state_to_string(enum agent_state s)
{
	return s < _AGENT_STATE_MAX ? state_names[s] : "?";
}

const char *
agent_event_to_string(enum agent_event e)
{
	return e < _AGENT_EVENT_MAX ? event_names[e] : "?";
}

static bool
agent_is_up(const struct agent *a)
{
	return a->state == AGENT_STARTING || a->state == AGENT_RUNNING;
}

/* ---- timers ------------------------------------------------------------- */

static void agent_arm_timer(struct agent *a);

static int
agent_timer_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct agent *a = userdata;
	usec_t now = now_usec();

	if (a->wd_deadline != USEC_INFINITY && a->wd_deadline <= now) {
		a->wd_deadline = USEC_INFINITY;
		agent_handle_event(a, AGENT_EV_WATCHDOG);
	} else if (a->deadline != USEC_INFINITY && a->deadline <= now) {
		a->deadline = USEC_INFINITY;
		agent_handle_event(a, AGENT_EV_TIMEOUT);
	}
	/* the other deadline may be due too (agents are freed only by the
	 * dispatch pass, never inside an event) */
	agent_arm_timer(a);
	return 0;
}

static void
agent_arm_timer(struct agent *a)
{
	usec_t t = MIN(a->deadline, a->wd_deadline);
	int r;

	if (t == USEC_INFINITY) {
		if (a->timer)
			sd_event_source_set_enabled(a->timer, SD_EVENT_OFF);
		return;
	}
	/* made with the agent (agent_new): arming never allocates */
	r = sd_event_source_set_time(a->timer, t);
	if (r >= 0)
		r = sd_event_source_set_enabled(a->timer, SD_EVENT_ONESHOT);
	if (r < 0)
		log_warnx("%s: cannot arm its timer: %s", a->name, strerror(-r));
}

static void
agent_set_deadline(struct agent *a, usec_t deadline)
{
	a->deadline = deadline;
	agent_arm_timer(a);
}

/* registry.c (messaging): monitors follow every transition */
void registry_state_changed(struct agent *a, enum agent_state from,
			    enum agent_state to) __attribute__((weak));

static void
agent_set_state(struct agent *a, enum agent_state to)
{
	enum agent_state from = a->state;

	a->state = to;
	a->deadline = USEC_INFINITY;
	if (to != AGENT_RUNNING)
		a->wd_deadline = USEC_INFINITY;
	if (to != AGENT_STOPPING)
		a->stop_phase = STOP_NONE;
	agent_arm_timer(a);
	if (from != to) {
		log_debug("%s: %s -> %s", a->name, state_names[from],
			  state_names[to]);
		events_record(a->m, a, from, to);
		if (registry_state_changed) /* weak: absent in unit tests */
			registry_state_changed(a, from, to);
	}
	manager_schedule_dispatch(a->m);
}

/* ---- restart policy ----------------------------------------------------- */

static usec_t
agent_backoff_delay(struct agent *a)
{
	usec_t d = a->unit->restart_sec, max = a->unit->restart_max_sec;

	for (unsigned i = 0; i < a->backoff_step && d < max; i++)
		d = d > max / 2 ? max : d * 2;
	if (d > max)
		d = max;
	/* jitter: somewhere in the last quarter below the nominal delay */
	if (d >= 4)
		d = d - d / 4 + (usec_t)random() % (d / 4 + 1);
	if (a->backoff_step < 64)
		a->backoff_step++;
	return d;
}

static void agent_begin_stop(struct agent *a, enum agent_then then);

static void
group_fail(struct agent_group *g, struct agent *culprit)
{
	struct manager *m = g->m;
	char buf[32];

	log_warnx("group %s: more than %u restarts in %s, stopping the group (failed)",
		  g->name, g->unit->intensity,
		  format_timespan(buf, sizeof(buf), g->unit->period));
	g->failed = true;
	for (size_t i = 0; i < g->n_agents; i++) {
		struct agent *b = g->agents[i];

		b->want_up = false;
		if (agent_is_up(b))
			agent_begin_stop(b, THEN_FAILED);
		else if (b->state == AGENT_STOPPING)
			b->then = THEN_FAILED;
		else if (b->state == AGENT_BACKOFF || b->state == AGENT_INACTIVE ||
			 b == culprit)
			agent_set_state(b, AGENT_FAILED);
	}
	if (g->unit->escalate && m->phase < PHASE_STOPPING) {
		log_warnx("group %s: Escalate=yes, agentd exits with failure",
			  g->name);
		manager_begin_shutdown(m, 1);
	}
}

/*
 * The ring of restart times grows (doubling, keeping the times in order)
 * up to Intensity entries: more restarts than that within Period fail the
 * group, so older ones never matter, and a large Intensity= costs memory
 * only for the restarts that happen.
 */
static int
group_history_reserve(struct agent_group *g, unsigned need)
{
	usec_t *h;

	if (need <= g->history_cap)
		return 0;
	h = calloc(need, sizeof(*h));
	if (!h)
		return -ENOMEM;
	for (unsigned i = 0; i < g->n_history; i++)
		h[i] = g->history[(g->history_head + g->history_cap -
				   g->n_history + i) % g->history_cap];
	free(g->history);
	g->history = h;
	g->history_cap = need;
	g->history_head = g->n_history % need;
	return 0;
}

/* Count a restart against the group's intensity; false if exceeded. */
static bool
group_count_restart(struct agent_group *g)
{
	usec_t now = now_usec(), since;
	unsigned n = 0;

	since = now > g->unit->period ? now - g->unit->period : 0;
	for (unsigned i = 0; i < g->n_history; i++)
		if (g->history[i] >= since)
			n++;
	if (n + 1 > g->unit->intensity)
		return false;
	if (g->n_history == g->history_cap &&
	    g->history_cap < g->unit->intensity &&
	    group_history_reserve(g, MIN(g->unit->intensity,
					 MAX(16u, 2 * g->history_cap))) < 0) {
		log_warnx("group %s: out of memory for its restart history, "
			  "this restart is not counted", g->name);
		return true;
	}
	g->history[g->history_head] = now;
	g->history_head = (g->history_head + 1) % g->history_cap;
	if (g->n_history < g->history_cap)
		g->n_history++;
	return true;
}

/* The main process ended badly (or cleanly, with Restart=always). */
static void
agent_apply_policy(struct agent *a, bool clean)
{
	struct manager *m = a->m;
	struct agent_group *g = a->group;
	enum unit_restart rs = a->unit->restart;
	char buf[32];
	usec_t delay;

	if (m->phase >= PHASE_STOPPING || !g || !a->want_up) {
		agent_set_state(a, AGENT_INACTIVE);
		return;
	}
	if (!(rs == UNIT_RESTART_ALWAYS ||
	      (rs == UNIT_RESTART_ON_FAILURE && !clean))) {
		a->want_up = false;
		log_info("%s: %s, not restarted (Restart=%s)", a->name,
			 a->last_exit, unit_restart_to_string(rs));
		agent_set_state(a, clean ? AGENT_DONE : AGENT_FAILED);
		return;
	}
	if (!group_count_restart(g)) {
		group_fail(g, a);
		return;
	}
	/* a healthy run resets the backoff */
	if (a->ready_at && now_usec() - a->ready_at >= a->unit->restart_reset_sec)
		a->backoff_step = 0;
	delay = agent_backoff_delay(a);
	a->restarts++;
	log_info("%s: %s, restart %u in %s", a->name, a->last_exit,
		 a->restarts, format_timespan(buf, sizeof(buf), delay));
	if (delay > 0) {
		agent_set_state(a, AGENT_BACKOFF);
		agent_set_deadline(a, usec_add(now_usec(), delay));
	} else {
		agent_set_state(a, AGENT_INACTIVE); /* RestartSec=0: dispatch starts it */
	}

	if (g->unit->strategy == UNIT_STRATEGY_ONE_FOR_ONE)
		return;
	for (size_t i = g->n_agents; i-- > 0;) {
		struct agent *b = g->agents[i];

		if (b == a)
			continue;
		if (g->unit->strategy == UNIT_STRATEGY_REST_FOR_ONE &&
		    b->order < a->order)
			continue;
		if (agent_is_up(b)) {
			log_info("%s: restarted with %s (Strategy=%s)", b->name,
				 a->name, unit_strategy_to_string(g->unit->strategy));
			b->restarts++;
			agent_begin_stop(b, THEN_INACTIVE);
		}
	}
}

/* ---- stopping ----------------------------------------------------------- */

static void
agent_finish_stop(struct agent *a)
{
	switch (a->then) {
	case THEN_INACTIVE:
		agent_set_state(a, AGENT_INACTIVE);
		break;
	case THEN_FAILED:
		agent_set_state(a, AGENT_FAILED);
		break;
	case THEN_POLICY:
		/* out of STOPPING first: the policy may fail the group */
		agent_set_state(a, AGENT_INACTIVE);
		agent_apply_policy(a, false);
		break;
	}
}

static void
agent_begin_stop(struct agent *a, enum agent_then then)
{
	usec_t now = now_usec();

	a->then = then;
	a->stop_started = now;
	agent_set_state(a, AGENT_STOPPING);
	if (a->unit->type == UNIT_TYPE_AGENT && link_is_up(a) &&
	    link_send_interrupt(a, PROTO_LEVEL_FLAG) >= 0) {
		log_debug("%s: interrupt sent", a->name);
		a->stop_phase = STOP_INTERRUPT;
		agent_set_deadline(a, usec_add(now, a->unit->stop_timeout / 2));
		return;
	}
	process_kill_main(a, SIGTERM);
	a->stop_phase = STOP_TERM;
	agent_set_deadline(a, usec_add(now, a->unit->stop_timeout));
}

/* ---- actions ------------------------------------------------------------ */

typedef void (*agent_action)(struct agent *a);

static void
act_spawn(struct agent *a)
{
	const char *step = NULL;
	int r;

	a->stop_phase = STOP_NONE;
	a->fail_reason[0] = '\0';
	a->exit_report[0] = '\0';
	a->status_text[0] = '\0';
	a->inbox[0] = '\0';
	a->ready_at = 0;
	r = process_spawn(a, &step);
	if (r < 0) {
		snprintf(a->last_exit, sizeof(a->last_exit), "spawn failed: %s: %s",
			 step ? step : "?", strerror(-r));
		log_warnx("%s: cannot start %s: %s: %s", a->name,
			  a->unit->argv[0], step ? step : "?", strerror(-r));
		agent_set_state(a, AGENT_INACTIVE);
		agent_apply_policy(a, false);
		return;
	}
	a->spawned_at = now_usec();
	log_info("%s: started, pid %d", a->name, (int)a->pid);
	agent_set_state(a, AGENT_STARTING);
	if (a->unit->start_timeout != USEC_INFINITY &&
	    a->unit->start_timeout > 0)
		agent_set_deadline(a, usec_add(a->spawned_at,
					       a->unit->start_timeout));
	if (a->unit->type == UNIT_TYPE_EXEC)
		agent_handle_event(a, AGENT_EV_READY);
}

static void
act_ready(struct agent *a)
{
	a->ready_at = now_usec();
	log_debug("%s: ready", a->name);
	agent_set_state(a, AGENT_RUNNING);
	if (a->unit->watchdog > 0) {
		a->wd_deadline = usec_add(a->ready_at, a->unit->watchdog);
		agent_arm_timer(a);
	}
}

static void
act_stop(struct agent *a)
{
	agent_begin_stop(a, THEN_INACTIVE);
}

static void
act_start_timeout(struct agent *a)
{
	char buf[32];

	log_warnx("%s: not ready within %s, stopping it", a->name,
		  format_timespan(buf, sizeof(buf), a->unit->start_timeout));
	snprintf(a->fail_reason, sizeof(a->fail_reason), "start timeout");
	agent_begin_stop(a, THEN_POLICY);
}

static void
act_watchdog(struct agent *a)
{
	char buf[32];

	log_warnx("%s: no watchdog ping within %s, killing it", a->name,
		  format_timespan(buf, sizeof(buf), a->unit->watchdog));
	snprintf(a->fail_reason, sizeof(a->fail_reason), "watchdog timeout");
	a->then = THEN_POLICY;
	a->stop_started = now_usec();
	agent_set_state(a, AGENT_STOPPING);
	process_kill_tree(a, SIGKILL);
	a->stop_phase = STOP_KILL;
	agent_set_deadline(a, usec_add(now_usec(), KILL_WAIT));
}

/* EXITED while starting or running: nobody asked for it. */
static void
act_exited(struct agent *a)
{
	bool clean = a->exit_clean;

	if (!process_tree_empty(a))
		process_kill_tree(a, SIGKILL);
	if (a->state == AGENT_STARTING && clean &&
	    a->unit->type != UNIT_TYPE_EXEC)
		clean = false; /* ended before it was ready */
	agent_set_state(a, AGENT_INACTIVE);
	agent_apply_policy(a, clean);
}

static void
act_stop_exited(struct agent *a)
{
	if (a->fail_reason[0]) {
		size_t l = strlen(a->last_exit);

		snprintf(a->last_exit + l, sizeof(a->last_exit) - l, " (%s)",
			 a->fail_reason);
	}
	if (process_tree_empty(a)) {
		agent_finish_stop(a);
		return;
	}
	process_kill_tree(a, SIGKILL);
	a->stop_phase = STOP_REAP;
	agent_set_deadline(a, usec_add(now_usec(), REAP_POLL));
}

static void
act_stop_timeout(struct agent *a)
{
	usec_t now = now_usec();
	char buf[32];

	switch (a->stop_phase) {
	case STOP_INTERRUPT:
		log_info("%s: still running after the interrupt, SIGTERM",
			 a->name);
		process_kill_main(a, SIGTERM);
		a->stop_phase = STOP_TERM;
		agent_set_deadline(a, usec_add(a->stop_started,
					       a->unit->stop_timeout));
		break;
	case STOP_TERM:
		log_warnx("%s: did not stop within %s, SIGKILL", a->name,
			  format_timespan(buf, sizeof(buf), a->unit->stop_timeout));
		process_kill_tree(a, SIGKILL);
		a->stop_phase = STOP_KILL;
		agent_set_deadline(a, usec_add(now, KILL_WAIT));
		break;
	case STOP_KILL:
		if (a->pid <= 0) { /* cannot happen: the exit moves to REAP */
			a->stop_phase = STOP_REAP;
			agent_set_deadline(a, now);
			break;
		}
		log_warnx("%s: pid %d survives SIGKILL, still waiting", a->name,
			  (int)a->pid);
		process_kill_tree(a, SIGKILL);
		agent_set_deadline(a, usec_add(now, KILL_WAIT));
		break;
	case STOP_REAP:
		if (process_tree_empty(a)) {
			agent_finish_stop(a);
			break;
		}
		if (now - a->stop_started > a->unit->stop_timeout + REAP_MAX) {
			log_warnx("%s: processes of its tree survive SIGKILL, giving up on them",
				  a->name);
			agent_finish_stop(a);
			break;
		}
		process_kill_tree(a, SIGKILL);
		agent_set_deadline(a, usec_add(now, REAP_POLL));
		break;
	case STOP_NONE:
		break;
	}
}

static void
act_backoff_over(struct agent *a)
{
	agent_set_state(a, AGENT_INACTIVE); /* dispatch starts it */
}

static void
act_cancel(struct agent *a)
{
	agent_set_state(a, AGENT_INACTIVE);
}

static void
act_reset(struct agent *a)
{
	a->backoff_step = 0;
	agent_set_state(a, AGENT_INACTIVE);
}

/* NULL: the event means nothing in that state and is ignored. */
static const agent_action agent_table[_AGENT_STATE_MAX][_AGENT_EVENT_MAX] = {
	[AGENT_INACTIVE] = {
		[AGENT_EV_START] = act_spawn,
	},
	[AGENT_STARTING] = {
		[AGENT_EV_STOP] = act_stop,
		[AGENT_EV_READY] = act_ready,
		[AGENT_EV_EXITED] = act_exited,
		[AGENT_EV_TIMEOUT] = act_start_timeout,
		[AGENT_EV_WATCHDOG] = act_watchdog,
	},
	[AGENT_RUNNING] = {
		[AGENT_EV_STOP] = act_stop,
		[AGENT_EV_EXITED] = act_exited,
		[AGENT_EV_WATCHDOG] = act_watchdog,
	},
	[AGENT_STOPPING] = {
		[AGENT_EV_EXITED] = act_stop_exited,
		[AGENT_EV_TIMEOUT] = act_stop_timeout,
	},
	[AGENT_BACKOFF] = {
		[AGENT_EV_START] = act_spawn,
		[AGENT_EV_STOP] = act_cancel,
		[AGENT_EV_TIMEOUT] = act_backoff_over,
	},
	[AGENT_FAILED] = {
		[AGENT_EV_START] = act_spawn,
		[AGENT_EV_RESET] = act_reset,
	},
	[AGENT_DONE] = {
		[AGENT_EV_START] = act_spawn,
		[AGENT_EV_RESET] = act_reset,
	},
};

void
agent_handle_event(struct agent *a, enum agent_event ev)
{
	agent_action fn;

	if (a->state >= _AGENT_STATE_MAX || ev >= _AGENT_EVENT_MAX)
		fatalx("%s: %s: bad state %d or event %d", __func__, a->name,
		       a->state, ev);
	fn = agent_table[a->state][ev];
	if (!fn) {
		log_debug("%s: event %s ignored in state %s", a->name,
			  event_names[ev], state_names[a->state]);
		return;
	}
	fn(a);
}

static const char *
exit_reason_suffix(const struct agent *a, int code)
{
	if (a->unit->type != UNIT_TYPE_AGENT || code < 0 ||
	    code >= PROTO_EXIT_CRASHED)
		return NULL;
	return proto_exit_reason_to_string((uint32_t)code);
}

void
agent_exited(struct agent *a, const siginfo_t *si)
{
	const char *sfx;
	int n;

	link_drain(a); /* its EXIT_REPORT, if it said one */
	a->exit_clean = si->si_code == CLD_EXITED && si->si_status == 0;
	if (si->si_code == CLD_EXITED) {
		sfx = exit_reason_suffix(a, si->si_status);
		n = snprintf(a->last_exit, sizeof(a->last_exit), "exited %d",
			     si->si_status);
		if (sfx && si->si_status != 0 && n > 0)
			snprintf(a->last_exit + n, sizeof(a->last_exit) - (size_t)n,
				 " (%s)", sfx);
		if (si->si_status == 0 ||
		    (a->state == AGENT_STOPPING && a->unit->type == UNIT_TYPE_AGENT &&
		     si->si_status == PROTO_EXIT_INTERRUPTED))
			log_info("%s: pid %d exited %d%s", a->name, (int)si->si_pid,
				 si->si_status, sfx && si->si_status ? " (interrupted)" : "");
		else
			log_warnx("lost child: %s pid %d exited %d%s%s", a->name,
				  (int)si->si_pid, si->si_status,
				  a->exit_report[0] ? ": " : "", a->exit_report);
	} else {
		const char *sig = sigabbrev_np(si->si_status);

		snprintf(a->last_exit, sizeof(a->last_exit), "killed SIG%s%s",
			 sig ? sig : "?", si->si_code == CLD_DUMPED ? " (core)" : "");
		if (a->state == AGENT_STOPPING)
			log_info("%s: pid %d terminated; signal %d", a->name,
				 (int)si->si_pid, si->si_status);
		else
			log_warnx("lost child: %s pid %d terminated; signal %d",
				  a->name, (int)si->si_pid, si->si_status);
	}
	/* in a stop we asked for, "interrupted" is the clean answer */
	if (a->state == AGENT_STOPPING && si->si_code == CLD_EXITED &&
	    a->unit->type == UNIT_TYPE_AGENT &&
	    si->si_status == PROTO_EXIT_INTERRUPTED)
		snprintf(a->last_exit, sizeof(a->last_exit), "exited %d (%s)",
			 si->si_status,
			 proto_exit_reason_to_string(PROTO_EXIT_INTERRUPTED));
	process_release(a);
	agent_handle_event(a, AGENT_EV_EXITED);
}

void
agent_watchdog_ping(struct agent *a)
{
	if (a->state != AGENT_RUNNING || a->unit->watchdog == 0)
		return;
	a->wd_deadline = usec_add(now_usec(), a->unit->watchdog);
	agent_arm_timer(a);
}

void
agent_set_status_text(struct agent *a, const char *s, size_t len)
{
	if (len >= sizeof(a->status_text))
		len = sizeof(a->status_text) - 1;
	memcpy(a->status_text, s, len);
	a->status_text[len] = '\0';
}

/* ---- control requests --------------------------------------------------- */

int
agent_request_start(struct agent *a)
{
	if (a->m->phase >= PHASE_STOPPING)
		return -ESHUTDOWN;
	if (!a->group)
		return -ENOENT;
	if (a->group->failed) {
		a->group->failed = false;
		a->group->n_history = 0;
		a->group->history_head = 0;
	}
	a->want_up = true;
	if (a->state == AGENT_STOPPING)
		a->then = THEN_INACTIVE; /* then started again by dispatch */
	if (a->state == AGENT_FAILED || a->state == AGENT_DONE) {
		a->backoff_step = 0;
		agent_set_state(a, AGENT_INACTIVE);
	} else if (a->state == AGENT_BACKOFF) {
		agent_set_state(a, AGENT_INACTIVE);
	}
	manager_schedule_dispatch(a->m);
	return 1;
}

/*
 * Stop on request. Up agents are stopped by the next dispatch pass in
 * reverse order (manager_stop_requested): after the agents that depend on
 * them and are going down too, and after those of later groups.
 */
int
agent_request_stop(struct agent *a)
{
	a->want_up = false;
	if (agent_is_up(a)) {
		a->stop_requested = true;
		manager_schedule_dispatch(a->m);
	} else {
		agent_handle_event(a, AGENT_EV_STOP);
	}
	return 1;
}

int
agent_request_restart(struct agent *a)
{
	int r = agent_request_start(a);

	if (r < 0)
		return r;
	if (agent_is_up(a)) {
		a->restarts++;
		agent_begin_stop(a, THEN_INACTIVE);
	}
	return 1;
}

int
agent_request_reset_failed(struct agent *a)
{
	if (a->group && a->group->failed) {
		a->group->failed = false;
		a->group->n_history = 0;
		a->group->history_head = 0;
	}
	a->backoff_step = 0;
	if (a->state == AGENT_FAILED)
		agent_handle_event(a, AGENT_EV_RESET);
	return 1;
}

/* Has a start / stop request on this agent come to an end? */
bool
agent_is_settled_for(struct agent *a, uint32_t type)
{
	switch (type) {
	case PROTO_MSG_CTL_STOP:
		return a->state != AGENT_STOPPING && !agent_is_up(a) &&
		       a->state != AGENT_BACKOFF && !a->stop_requested;
	case PROTO_MSG_CTL_START:
	case PROTO_MSG_CTL_RESTART:
		if (a->state == AGENT_RUNNING || a->state == AGENT_FAILED ||
		    a->state == AGENT_DONE || a->state == AGENT_BACKOFF)
			return true;
		return a->state == AGENT_INACTIVE && !a->want_up;
	default:
		return true;
	}
}

/* ---- ordering ----------------------------------------------------------- */

static bool
agent_depends_on(const struct agent *a, const struct agent *dep)
{
	for (size_t i = 0; i < a->unit->n_after; i++)
		if (strcmp(a->unit->after[i], dep->unit->name) == 0)
			return true;
	return false;
}

/* Every wanted dependency is running (or has finished its work). */
static bool
agent_deps_ready(struct manager *m, const struct agent *a)
{
	for (size_t i = 0; i < a->n_deps; i++) {
		struct agent *b = a->deps[i];

		if (b->want_up && b->state != AGENT_RUNNING &&
		    b->state != AGENT_DONE)
			return false;
	}
	return true;
}

static void
group_start_eligible(struct manager *m, struct agent_group *g)
{
	if (g->failed)
		return;
	for (size_t i = 0; i < g->n_agents; i++) {
		struct agent *a = g->agents[i];

		if (a->want_up && a->state == AGENT_INACTIVE &&
		    agent_deps_ready(m, a))
			agent_handle_event(a, AGENT_EV_START);
	}
}

static bool
group_settled(const struct agent_group *g)
{
	for (size_t i = 0; i < g->n_agents; i++) {
		const struct agent *a = g->agents[i];

		if (a->state == AGENT_STARTING || a->state == AGENT_STOPPING ||
		    a->state == AGENT_BACKOFF)
			return false;
		if (a->state == AGENT_INACTIVE && a->want_up && !g->failed)
			return false;
	}
	return true;
}

static bool
group_down(const struct agent_group *g)
{
	for (size_t i = 0; i < g->n_agents; i++) {
		const struct agent *a = g->agents[i];

		if (agent_is_up(a) || a->state == AGENT_STOPPING ||
		    a->state == AGENT_BACKOFF)
			return false;
	}
	return true;
}

/* Stop, in reverse start order, every agent nothing running depends on. */
static void
group_stop_eligible(struct agent_group *g)
{
	for (size_t i = g->n_agents; i-- > 0;) {
		struct agent *a = g->agents[i];
		bool blocked = false;

		if (a->state == AGENT_BACKOFF) {
			agent_handle_event(a, AGENT_EV_STOP);
			continue;
		}
		if (!agent_is_up(a))
			continue;
		for (size_t k = 0; k < a->n_rdeps && !blocked; k++) {
			struct agent *b = a->rdeps[k];

			if (b->group == g &&
			    (agent_is_up(b) || b->state == AGENT_STOPPING))
				blocked = true;
		}
		if (!blocked)
			agent_handle_event(a, AGENT_EV_STOP);
	}
}

/* Going down, not yet down. */
static bool
agent_leaving(const struct agent *a)
{
	return !a->want_up && (a->stop_requested || a->state == AGENT_STOPPING);
}

static void
manager_stop_requested(struct manager *m)
{
	/* the latest group (in start order) with an agent leaving: groups
	 * before it wait; one pass over the agents, not one per request */
	size_t leaving_max = SIZE_MAX;

	/* requests that no longer apply first: they do not hold anyone */
	for (size_t k = 0; k < m->n_agents; k++) {
		struct agent *b = m->agents[k];

		if (b->stop_requested && (b->want_up || !agent_is_up(b)))
			b->stop_requested = false;
	}
	for (size_t k = 0; k < m->n_agents; k++) {
		struct agent *b = m->agents[k];

		if (b->group && agent_leaving(b) &&
		    (leaving_max == SIZE_MAX || b->group->index > leaving_max))
			leaving_max = b->group->index;
	}
	for (size_t i = 0; i < m->n_agents; i++) {
		struct agent *a = m->agents[i];
		bool blocked = false;
		size_t gi;

		if (!a->stop_requested)
			continue;
		if (a->want_up || !agent_is_up(a)) {
			a->stop_requested = false;
			continue;
		}
		for (size_t k = 0; k < a->n_rdeps && !blocked; k++)
			blocked = agent_leaving(a->rdeps[k]);
		gi = a->group ? a->group->index : SIZE_MAX;
		if (!blocked)
			blocked = gi != SIZE_MAX && leaving_max != SIZE_MAX &&
				  leaving_max > gi;
		if (blocked)
			continue;
		a->stop_requested = false;
		agent_handle_event(a, AGENT_EV_STOP);
		if (gi != SIZE_MAX && agent_leaving(a) &&
		    (leaving_max == SIZE_MAX || gi > leaving_max))
			leaving_max = gi;
	}
}

static void manager_free_removed(struct manager *m);

void
manager_status_counts(struct manager *m, unsigned *running, unsigned *failed,
		      unsigned *total)
{
	*running = *failed = 0;
	*total = (unsigned)m->n_agents;
	for (size_t i = 0; i < m->n_agents; i++) {
		if (m->agents[i]->state == AGENT_RUNNING)
			(*running)++;
		else if (m->agents[i]->state == AGENT_FAILED)
			(*failed)++;
	}
}

static void
manager_notify_status(struct manager *m)
{
	unsigned running, failed, total;

	manager_status_counts(m, &running, &failed, &total);
	sd_notifyf(0, "STATUS=%s: %u/%u agents running, %u failed",
		   m->phase == PHASE_STARTING ? "starting" :
		   m->phase == PHASE_RUNNING ? "running" : "stopping",
		   running, total, failed);
}

static int
dispatch_cb(sd_event_source *s, void *userdata)
{
	struct manager *m = userdata;

	switch (m->phase) {
	case PHASE_STARTING:
		manager_stop_requested(m);
		for (;;) {
			if (m->cursor >= m->n_groups) {
				m->phase = PHASE_RUNNING;
				log_info("start phase over: %zu agents in %zu groups",
					 m->n_agents, m->n_groups);
				sd_notify(0, "READY=1");
				break;
			}
			for (size_t i = 0; i <= m->cursor; i++)
				group_start_eligible(m, m->groups[i]);
			if (!group_settled(m->groups[m->cursor]))
				break;
			m->cursor++;
		}
		break;
	case PHASE_RUNNING:
		manager_stop_requested(m);
		/* the group order holds after the start phase too (start
		 * NAMES, agents added by a reload, restarts): a group starts
		 * agents only once every earlier group is settled */
		for (size_t i = 0; i < m->n_groups; i++) {
			group_start_eligible(m, m->groups[i]);
			if (!group_settled(m->groups[i]))
				break;
		}
		break;
	case PHASE_STOPPING:
		for (;;) {
			struct agent_group *g = m->groups[m->cursor];

			group_stop_eligible(g);
			if (!group_down(g))
				break;
			if (m->cursor == 0) {
				m->phase = PHASE_DONE;
				break;
			}
			m->cursor--;
		}
		break;
	case PHASE_DONE:
		break;
	}
	manager_free_removed(m);
	if (m->phase == PHASE_DONE) {
		bool removed_left = false;

		for (size_t i = 0; i < m->n_agents; i++)
			if (!m->agents[i]->group &&
			    (agent_is_up(m->agents[i]) ||
			     m->agents[i]->state == AGENT_STOPPING))
				removed_left = true;
		if (!removed_left) {
			log_info("every agent stopped, exiting");
			sd_event_exit(m->event, m->exit_code);
		}
	}
	control_check_pending(m);
	manager_notify_status(m);
	/* exits read in the meantime: released now, after the restarts
	 * this pass spawned */
	if (process_have_zombies())
		process_reap_all(m);
	return 0;
}

void
manager_schedule_dispatch(struct manager *m)
{
	int r;

	/* made by manager_build(): enabling never allocates */
	r = sd_event_source_set_enabled(m->dispatch_src, SD_EVENT_ONESHOT);
	if (r < 0)
		log_warnx("%s: %s", __func__, strerror(-r));
}

bool
manager_dispatch_pending(struct manager *m)
{
	int state = SD_EVENT_OFF;

	return m->dispatch_src &&
	       sd_event_source_get_enabled(m->dispatch_src, &state) >= 0 &&
	       state != SD_EVENT_OFF;
}

void
manager_begin_shutdown(struct manager *m, int exit_code)
{
	if (exit_code && !m->exit_code)
		m->exit_code = exit_code;
	if (m->phase >= PHASE_STOPPING)
		return;
	log_info("stopping every agent");
	sd_notify(0, "STOPPING=1");
	m->phase = PHASE_STOPPING;
	m->cursor = m->n_groups - 1;
	for (size_t i = 0; i < m->n_agents; i++) {
		m->agents[i]->want_up = false;
		m->agents[i]->stop_requested = false;
	}
	manager_schedule_dispatch(m);
}

/* ---- building the agents from units ------------------------------------- */

struct agent *
manager_find_agent(struct manager *m, const char *name)
{
	for (size_t i = 0; i < m->n_agents; i++)
		if (strcmp(m->agents[i]->name, name) == 0)
			return m->agents[i];
	return NULL;
}

struct agent *
manager_find_pid(struct manager *m, pid_t pid)
{
	if (pid <= 0)
		return NULL;
	for (size_t i = 0; i < m->n_agents; i++)
		if (m->agents[i]->pid == pid)
			return m->agents[i];
	return NULL;
}

static struct agent *
agent_new(struct manager *m, struct unit_agent *u, unsigned instance)
{
	struct agent *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->m = m;
	a->unit = u;
	a->instance = instance;
	if (u->instances > 1 || instance > 0)
		snprintf(a->name, sizeof(a->name), "%s@%u", u->name, instance);
	else
		snprintf(a->name, sizeof(a->name), "%s", u->name);
	a->state = AGENT_INACTIVE;
	if (sd_event_add_time(m->event, &a->timer, CLOCK_MONOTONIC,
			      USEC_INFINITY, TIMER_ACCURACY, agent_timer_cb,
			      a) < 0 ||
	    sd_event_source_set_enabled(a->timer, SD_EVENT_OFF) < 0) {
		sd_event_source_disable_unref(a->timer);
		free(a);
		return NULL;
	}
	a->pidfd = -1;
	a->link_fd = -1;
	a->log_r = a->log_w = -1;
	a->deadline = a->wd_deadline = USEC_INFINITY;
	if (logs_open_agent(a) < 0) {
		sd_event_source_disable_unref(a->timer);
		free(a);
		return NULL;
	}
	return a;
}

static void
agent_free(struct agent *a)
{
	if (!a)
		return;
	process_release(a);
	sd_event_source_disable_unref(a->timer);
	logs_close_agent(a);
	cgroup_remove_agent(a);
	free(a->cgroup);
	free(a->deps);
	free(a->rdeps);
	free(a);
}

/*
 * Topological order of a group's units by After= (Kahn), ties by name;
 * instances of one unit stay together.
 */
static int
group_order_units(struct unit_set *s, const char *group,
		  struct unit_agent ***ret, size_t *ret_n)
{
	struct unit_agent **in = NULL, **out = NULL;
	bool *done = NULL;
	size_t n = 0, k = 0;

	for (size_t i = 0; i < s->n_agents; i++)
		if (strcmp(s->agents[i]->group, group) == 0)
			n++;
	in = calloc(n + 1, sizeof(*in));
	out = calloc(n + 1, sizeof(*out));
	done = calloc(n + 1, sizeof(*done));
	if (!in || !out || !done) {
		free(in);
		free(out);
		free(done);
		return -ENOMEM;
	}
	n = 0;
	for (size_t i = 0; i < s->n_agents; i++)
		if (strcmp(s->agents[i]->group, group) == 0)
			in[n++] = s->agents[i]; /* sorted by name already */
	while (k < n) {
		bool progress = false;

		for (size_t i = 0; i < n; i++) {
			bool ready = true;

			if (done[i])
				continue;
			for (size_t d = 0; d < in[i]->n_after && ready; d++)
				for (size_t j = 0; j < n; j++)
					if (!done[j] &&
					    strcmp(in[j]->name, in[i]->after[d]) == 0)
						ready = false;
			if (!ready)
				continue;
			done[i] = true;
			out[k++] = in[i];
			progress = true;
			break; /* restart: keeps name order among the ready */
		}
		if (!progress)
			break; /* a cycle: validation rejects it earlier */
	}
	free(in);
	free(done);
	if (k != n) {
		free(out);
		return -ELOOP;
	}
	*ret = out;
	*ret_n = n;
	return 0;
}

static int
push_agent(struct agent ***v, size_t *n, struct agent *a)
{
	struct agent **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = a;
	*v = nv;
	return 0;
}

static void
group_free(struct agent_group *g)
{
	if (!g)
		return;
	free(g->agents);
	free(g->history);
	free(g);
}

/*
 * Resolve After= into pointers both ways (deps: what a waits for; rdeps:
 * who waits for a), so ordering checks cost O(edges), not O(agents^2).
 * A unit name in After= means every instance of that unit.
 */
static int
agents_link_deps(struct agent **agents, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(agents[i]->deps);
		free(agents[i]->rdeps);
		agents[i]->deps = agents[i]->rdeps = NULL;
		agents[i]->n_deps = agents[i]->n_rdeps = 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct agent *a = agents[i];

		if (!a->group || a->unit->n_after == 0)
			continue;
		for (size_t k = 0; k < n; k++) {
			struct agent *b = agents[k];

			if (b == a || !b->group || !agent_depends_on(a, b))
				continue;
			if (push_agent(&a->deps, &a->n_deps, b) < 0 ||
			    push_agent(&b->rdeps, &b->n_rdeps, a) < 0)
				goto oom;
		}
	}
	return 0;
oom:
	/* out of memory: no half-built graph; After= goes unenforced
	 * until the next reload, which is said loudly */
	for (size_t i = 0; i < n; i++) {
		free(agents[i]->deps);
		free(agents[i]->rdeps);
		agents[i]->deps = agents[i]->rdeps = NULL;
		agents[i]->n_deps = agents[i]->n_rdeps = 0;
	}
	log_warnx("out of memory: After= is not enforced until the next reload");
	return -ENOMEM;
}

/*
 * Build groups and agents for units. Agents with the same name that exist
 * already are kept (same process, pipes, counters) and repointed; the
 * old ones that are not in units are returned in *ret_removed.
 */
static int
manager_build_from(struct manager *m, struct unit_set *units,
		   struct agent ***ret_removed, size_t *ret_n_removed,
		   struct agent ***ret_changed, size_t *ret_n_changed)
{
	struct agent_group **groups = NULL;
	struct agent **agents = NULL, **removed = NULL, **changed = NULL;
	size_t n_groups = 0, n_agents = 0, n_removed = 0, n_changed = 0;
	int r = -ENOMEM;

	for (size_t i = 0; i < m->n_agents; i++)
		m->agents[i]->marked = false;
	m->build_added = 0;
	groups = calloc(units->n_groups, sizeof(*groups));
	if (!groups)
		goto fail;
	for (size_t gi = 0; gi < units->n_groups; gi++) {
		struct unit_group *ug = units->groups[gi];
		struct agent_group *g = calloc(1, sizeof(*g));
		struct unit_agent **order = NULL;
		size_t n_order = 0;

		if (!g)
			goto fail;
		groups[n_groups++] = g;
		g->m = m;
		g->unit = ug;
		snprintf(g->name, sizeof(g->name), "%s", ug->name);
		for (size_t i = 0; i < m->n_groups; i++)
			if (strcmp(m->groups[i]->name, g->name) == 0)
				g->failed = m->groups[i]->failed;
		r = group_order_units(units, ug->name, &order, &n_order);
		if (r < 0)
			goto fail;
		r = -ENOMEM;
		for (size_t ui = 0; ui < n_order; ui++) {
			struct unit_agent *u = order[ui];
			unsigned n_inst = u->instances;

			for (unsigned inst = n_inst > 1 ? 1 : 0;
			     inst <= (n_inst > 1 ? n_inst : 0); inst++) {
				char name[PROTO_NAME_MAX + 1];
				struct agent *a;

				if (n_inst > 1)
					snprintf(name, sizeof(name), "%s@%u",
						 u->name, inst);
				else
					snprintf(name, sizeof(name), "%s", u->name);
				a = manager_find_agent(m, name);
				if (a && !a->marked) {
					a->marked = true;
					if (!a->group) {
						/* removed by an earlier reload
						 * and still stopping: wanted
						 * again (want_up at commit) */
						m->build_added++;
					} else if (!unit_agent_equal(a->unit, u) &&
					    push_agent(&changed, &n_changed, a) < 0) {
						free(order);
						goto fail;
					}
					a->unit = u;
				} else {
					a = agent_new(m, u, n_inst > 1 ? inst : 0);
					if (!a) {
						free(order);
						goto fail;
					}
					a->want_up = m->phase < PHASE_STOPPING;
					a->marked = true;
					m->build_added++;
					if (push_agent(&agents, &n_agents, a) < 0) {
						agent_free(a);
						free(order);
						goto fail;
					}
					a->order = g->n_agents;
					a->group = g;
					if (push_agent(&g->agents, &g->n_agents, a) < 0) {
						n_agents--;
						agent_free(a);
						free(order);
						goto fail;
					}
					continue;
				}
				a->order = g->n_agents;
				if (push_agent(&g->agents, &g->n_agents, a) < 0 ||
				    push_agent(&agents, &n_agents, a) < 0) {
					free(order);
					goto fail;
				}
			}
		}
		free(order);
	}
	for (size_t i = 0; i < m->n_agents; i++)
		if (!m->agents[i]->marked &&
		    push_agent(&removed, &n_removed, m->agents[i]) < 0)
			goto fail;

	/* room for the removed agents, which stay in the list until down */
	if (n_removed > 0) {
		struct agent **nv = realloc(agents, (n_agents + n_removed) *
							    sizeof(*nv));
		if (!nv)
			goto fail;
		agents = nv;
	}

	/* commit: nothing below fails */
	for (size_t gi = 0; gi < n_groups; gi++) {
		groups[gi]->index = gi;
		for (size_t i = 0; i < groups[gi]->n_agents; i++) {
			struct agent *a = groups[gi]->agents[i];

			if (!a->group) /* re-added before it was down */
				a->want_up = m->phase < PHASE_STOPPING;
			a->group = groups[gi];
		}
	}
	for (size_t i = 0; i < n_removed; i++)
		removed[i]->group = NULL;
	for (size_t i = 0; i < m->n_groups; i++)
		group_free(m->groups[i]);
	free(m->groups);
	m->groups = groups;
	m->n_groups = n_groups;
	/* removed agents stay in m->agents until they are down */
	for (size_t i = 0; i < n_removed; i++)
		agents[n_agents++] = removed[i];
	(void)agents_link_deps(agents, n_agents);
	free(m->agents);
	m->agents = agents;
	m->n_agents = n_agents;
	*ret_removed = removed;
	*ret_n_removed = n_removed;
	*ret_changed = changed;
	*ret_n_changed = n_changed;
	return 0;
fail:
	/* free only what is new: agents not found in m->agents */
	for (size_t i = 0; i < n_agents; i++) {
		bool old = false;

		for (size_t k = 0; k < m->n_agents && !old; k++)
			old = m->agents[k] == agents[i];
		if (!old)
			agent_free(agents[i]);
	}
	free(agents);
	for (size_t i = 0; i < n_groups; i++)
		group_free(groups[i]);
	free(groups);
	free(removed);
	free(changed);
	return r;
}

int
manager_build(struct manager *m, struct unit_set *units)
{
	struct agent **removed, **changed;
	size_t n_removed, n_changed;
	int r;

	if (!m->dispatch_src) {
		r = sd_event_add_defer(m->event, &m->dispatch_src, dispatch_cb, m);
		if (r < 0)
			return r;
		(void)sd_event_source_set_enabled(m->dispatch_src, SD_EVENT_OFF);
	}
	r = manager_build_from(m, units, &removed, &n_removed, &changed,
			       &n_changed);
	if (r < 0)
		return r;
	free(removed);
	free(changed);
	m->units = units;
	return 0;
}

/* Agents that left the configuration are freed once they are down. */
static void
manager_free_removed(struct manager *m)
{
	size_t k = 0;

	for (size_t i = 0; i < m->n_agents; i++) {
		struct agent *a = m->agents[i];

		if (!a->group && !agent_is_up(a) && a->state != AGENT_STOPPING &&
		    a->state != AGENT_BACKOFF) {
			log_info("%s: removed", a->name);
			agent_free(a);
			continue;
		}
		m->agents[k++] = a;
	}
	m->n_agents = k;
}

int
manager_reload(struct manager *m, char **ret_msg)
{
	_cleanup_(unit_set_freep) struct unit_set *units = NULL;
	struct agent **removed = NULL, **changed = NULL;
	size_t n_removed = 0, n_changed = 0, n_added;
	int r;

	*ret_msg = NULL;
	if (m->phase >= PHASE_STOPPING)
		return -ESHUTDOWN;
	r = unit_set_load_dir(m->units_dir, &units);
	if (r < 0) {
		log_warn_errno(r, "reload: cannot read %s, keeping the running set",
			       m->units_dir);
		if (asprintf(ret_msg, "cannot read %s: %s", m->units_dir,
			     strerror(-r)) < 0)
			*ret_msg = NULL;
		return r;
	}
	if (units->n_errors > 0) {
		for (size_t i = 0; i < units->n_errors; i++)
			log_warnx("%s", units->errors[i]);
		log_warnx("reload: %zu errors, keeping the running set",
			  units->n_errors);
		if (asprintf(ret_msg, "%zu errors in the units, nothing changed; first: %s",
			     units->n_errors, units->errors[0]) < 0)
			*ret_msg = NULL;
		return -EINVAL;
	}
	{
		/* a slot for the old unit set, taken before anything changes */
		struct unit_set **old = realloc(m->old_units,
						(m->n_old_units + 1) * sizeof(*old));

		if (!old)
			return -ENOMEM;
		m->old_units = old;
	}
	r = manager_build_from(m, units, &removed, &n_removed, &changed,
			       &n_changed);
	if (r < 0)
		return r;
	n_added = m->build_added;
	/* the old unit set is still referenced by removed agents: keep it */
	if (n_removed > 0) {
		m->old_units[m->n_old_units++] = m->units;
	} else {
		unit_set_free(m->units);
	}
	m->units = TAKE_PTR(units);
	for (size_t i = 0; i < n_removed; i++) {
		removed[i]->want_up = false;
		agent_handle_event(removed[i], AGENT_EV_STOP);
	}
	for (size_t i = 0; i < n_changed; i++) {
		struct agent *a = changed[i];

		log_info("%s: unit changed, restarting", a->name);
		if (agent_is_up(a))
			agent_begin_stop(a, THEN_INACTIVE);
		else if (a->state == AGENT_BACKOFF)
			agent_set_state(a, AGENT_INACTIVE);
	}
	if (asprintf(ret_msg, "reloaded: %zu added, %zu removed, %zu changed",
		     n_added, n_removed, n_changed) < 0)
		*ret_msg = NULL;
	log_info("reload: %zu added, %zu removed, %zu changed", n_added,
		 n_removed, n_changed);
	free(removed);
	free(changed);
	manager_schedule_dispatch(m);
	return 0;
}

void
manager_free_agents(struct manager *m)
{
	for (size_t i = 0; i < m->n_agents; i++)
		agent_free(m->agents[i]);
	free(m->agents);
	m->agents = NULL;
	m->n_agents = 0;
	for (size_t i = 0; i < m->n_groups; i++)
		group_free(m->groups[i]);
	free(m->groups);
	m->groups = NULL;
	m->n_groups = 0;
	for (size_t i = 0; i < m->n_old_units; i++)
		unit_set_free(m->old_units[i]);
	free(m->old_units);
	m->old_units = NULL;
	m->n_old_units = 0;
	m->dispatch_src = sd_event_source_disable_unref(m->dispatch_src);
}
