/* SPDX-License-Identifier: MIT */
/*
 * link-agent.c - a libagent program for test-agent-link: an actor run by
 * agent_main(). It prints "ready" once begin ran and "stopping" from
 * on_interrupt, so the test knows when to signal it. With argv[1] ==
 * "stubborn" its shutdown state never ends (only ABORT ends it).
 */
#include <stdio.h>
#include <string.h>

#include <agent/agent.h>

static int stubborn;

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
	printf("ready\n");
	fflush(stdout);
	return agent_events();
}

static const struct agent_def def = {
	.name = "linky",
	.begin = begin,
	.on_interrupt = on_interrupt,
	.grace_usec = 60ULL * AGENT_USEC_PER_SEC,
};

int
main(int argc, char **argv)
{
	stubborn = argc > 1 && strcmp(argv[1], "stubborn") == 0;
	return agent_main(&def, NULL, argc, argv);
}
