/* SPDX-License-Identifier: MIT */
/*
 * link-agent.c - a libagent program for test-agent-link: an actor run by
 * agent_main(). It prints "ready" once begin ran and "stopping" from
 * on_interrupt, so the test knows when to signal it. With argv[1] ==
 * "stubborn" its shutdown state never ends (only ABORT ends it); with
 * "busychild" it spawns a child whose sync state never returns (only an
 * ABORT that leaves the worker behind ends the process). Each "note" event
 * it receives prints "note".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <agent/agent.h>

static int stubborn;
static int busychild;

/* a sync state that never returns: only the process's end stops it */
static agent_step
stuck_once(agent *a, void *data)
{
	for (;;)
		pause();
	return agent_done();
}

static const struct agent_state state_stuck = {
	.name = "stuck",
	.once = stuck_once,
};

static agent_step
child_begin(agent *a)
{
	return agent_sync(&state_stuck, NULL);
}

static const struct agent_def child_def = {
	.name = "stuck-child",
	.begin = child_begin,
};

static agent_step
forever_cb(agent *a, void *data, agent_msg *m)
{
	return agent_stop();
}

static agent_step
forever_once(agent *a, void *data)
{
	if (agent_await_sleep(a, 3600ULL * AGENT_USEC_PER_SEC, forever_cb) < 0)
		return agent_fail(-1);
	return agent_wait();
}

static const struct agent_state state_forever = {
	.name = "forever",
	.once = forever_once,
};

static agent_step
on_interrupt(agent *a, enum agent_level level)
{
	printf("stopping %d\n", (int)level);
	fflush(stdout);
	return stubborn ? agent_async(&state_forever, NULL) : agent_stop();
}

static agent_step
begin(agent *a)
{
	int r = agent_set_status(a, "serving notes");

	/* linked: the status goes to agentd; standalone: nobody to tell */
	if (r < 0 && r != -ENOTCONN)
		return agent_fail(r);
	if (busychild && (r = agent_spawn(a, NULL, 0, &child_def, NULL)) < 0)
		return agent_fail(r);
	printf("ready\n");
	fflush(stdout);
	return agent_events();
}

static const struct agent_msg_type msg_note = { .name = "note" };

static int
on_note(agent *a, agent_msg *m)
{
	printf("note\n");
	fflush(stdout);
	return 0;
}

static const struct agent_handler handlers[] = {
	{ .type = &msg_note, .on_event = on_note },
	{ 0 },
};

static const struct agent_def def = {
	.name = "linky",
	.begin = begin,
	.handlers = handlers,
	.on_interrupt = on_interrupt,
	.grace_usec = 60ULL * AGENT_USEC_PER_SEC,
};

/* libagent's diagnostics go to stdout as "log: ..." lines */
static void
log_line(int level, const char *name, const char *msg, void *userdata)
{
	printf("log: %s\n", msg);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	agent_log_set(log_line, NULL);
	stubborn = argc > 1 && strcmp(argv[1], "stubborn") == 0;
	busychild = argc > 1 && strcmp(argv[1], "busychild") == 0;
	return agent_main(&def, NULL, argc, argv);
}
