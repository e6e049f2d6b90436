/* SPDX-License-Identifier: MIT */
/*
 * supervisor - crb README, "Supervisor": an agent that spawns children in
 * groups and, when it stops, stops them in group order.
 *
 *	impl Supervisor for App { type GroupBy = Group; }
 *	enum Group { Workers, Requests, Server, HealthCheck, DbCleaner,
 *		     UserSession(Uid) }
 *
 * "The order of its values determines the sequence in which child agents
 * are terminated": the greatest group first (the user sessions, then the
 * db cleaner, ... the workers last), each group fully ended before the
 * next one is asked, and the supervisor's own finalize after the last
 * child. Children here take a little while to stop (an async shutdown
 * state scheduled by on_interrupt), so the output shows that a group is
 * waited for. libagent runs those shutdown states (crb drops them).
 *
 * The app runs for 100 ms, then ends (agent_done()); Ctrl-C (SIGINT) stops
 * it the same way, earlier.
 */
#include <stdio.h>

#include <agent/agent.h>

/* crb: enum Group. UserSession(uid) is GROUP_USER_SESSION + uid. */
enum group {
	GROUP_WORKERS,
	GROUP_REQUESTS,
	GROUP_SERVER,
	GROUP_HEALTH_CHECK,
	GROUP_DB_CLEANER,
	GROUP_USER_SESSION,
};

#define RUN_USEC	(100 * AGENT_USEC_PER_MSEC)
#define STOP_USEC	(20 * AGENT_USEC_PER_MSEC)

/* ---- a child: an actor that takes STOP_USEC to shut down ------------------ */

struct member {
	const char *name;
	int group;
};

static agent_step
stopped(agent *a, void *data, agent_msg *m)
{
	return agent_stop();
}

static agent_step
shutdown_once(agent *a, void *data)
{
	int r = agent_await_sleep(a, STOP_USEC, stopped); /* e.g. flushing */

	return r < 0 ? agent_error(r) : agent_wait();
}

static const struct agent_state shutdown_state = {
	.name = "ShutDown",
	.once = shutdown_once,
};

static agent_step
member_interrupt(agent *a, enum agent_level level)
{
	struct member *m = agent_self(a);

	printf("stopping %s (group %d)\n", m->name, m->group);
	return agent_async(&shutdown_state, NULL);
}

static void
member_finalize(agent *a, enum agent_exit_reason reason)
{
	struct member *m = agent_self(a);

	printf("stopped %s (group %d)\n", m->name, m->group);
}

static const struct agent_def member_def = {
	.name = "member",
	.on_interrupt = member_interrupt,
	.finalize = member_finalize,
};

static struct member members[] = {
	{ "worker-1", GROUP_WORKERS },
	{ "worker-2", GROUP_WORKERS },
	{ "requests", GROUP_REQUESTS },
	{ "server", GROUP_SERVER },
	{ "health-check", GROUP_HEALTH_CHECK },
	{ "db-cleaner", GROUP_DB_CLEANER },
	{ "session-1", GROUP_USER_SESSION + 1 },
	{ "session-2", GROUP_USER_SESSION + 2 },
};
#define N_MEMBERS (sizeof(members) / sizeof(members[0]))

/* ---- the supervisor --------------------------------------------------------- */

static agent_step
app_stop(agent *a, void *data, agent_msg *m)
{
	printf("app: done, stopping its children\n");
	return agent_done();
}

static agent_step
app_run_once(agent *a, void *data)
{
	int r;

	for (size_t i = 0; i < N_MEMBERS; i++) {
		r = agent_spawn(a, NULL, members[i].group, &member_def,
				&members[i]);
		if (r < 0)
			return agent_error(r);
	}
	printf("app: %zu children running\n", N_MEMBERS);
	r = agent_await_sleep(a, RUN_USEC, app_stop);
	return r < 0 ? agent_error(r) : agent_wait();
}

static const struct agent_state app_run = {
	.name = "Run",
	.once = app_run_once,
};

static agent_step
app_begin(agent *a)
{
	return agent_async(&app_run, NULL);
}

static void
app_finalize(agent *a, enum agent_exit_reason reason)
{
	printf("app: finalized (%s)\n", agent_exit_reason_to_string(reason));
}

static const struct agent_def app_def = {
	.name = "app",
	.begin = app_begin,
	.finalize = app_finalize,
};

int
main(int argc, char **argv)
{
	return agent_main(&app_def, NULL, argc, argv);
}
