/* SPDX-License-Identifier: MIT */
/*
 * ping - a demo agent for agentd: every second it sends a Ping request to
 * the agent process named "pong" and prints the answer.
 *
 * It is an actor with two message types: the tick of its interval timer,
 * and the responses to its requests (on_response), which arrive in its
 * mailbox in order with the tag it chose (the ping's number). Every
 * request has a timeout: if pong is stopped, the answer is -ETIMEDOUT or
 * -ECONNREFUSED, printed, and ping keeps going.
 *
 * Run it under agentd (examples/units/ping.agent); standalone it has no
 * runtime directory to find pong in and says so once a second.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <agent/agent.h>

#include "demo-ping.h"

#define PERIOD_USEC	(1 * AGENT_USEC_PER_SEC)
#define TIMEOUT_USEC	(2 * AGENT_USEC_PER_SEC)

struct ping {
	uint64_t sent;
	agent_timer *tick;
};

static int
on_tick(agent *a, agent_msg *m)
{
	struct ping *self = agent_self(a);
	uint64_t n = ++self->sent;
	int64_t r;

	r = agent_request_remote(a, "pong", &demo_ping, demo_u64_new(n),
				 TIMEOUT_USEC, n);
	if (r == -ENOTCONN)
		printf("ping #%" PRIu64 ": not under agentd, no pong to ask\n",
		       n);
	else if (r < 0)
		printf("ping #%" PRIu64 ": cannot send to pong: %s\n", n,
		       strerror((int)-r));
	else
		printf("ping #%" PRIu64 " -> pong\n", n);
	return 0;
}

static int
on_pong(agent *a, agent_msg *m)
{
	int err = agent_msg_error(m);

	if (err < 0)
		printf("ping #%" PRIu64 ": no answer: %s\n", agent_msg_tag(m),
		       strerror(-err));
	else
		printf("ping #%" PRIu64 " <- pong has seen %" PRIu64 " pings\n",
		       agent_msg_tag(m), *(uint64_t *)agent_msg_payload(m));
	return 0;
}

static const struct agent_handler ping_handlers[] = {
	{ .type = &agent_type_tick, .on_event = on_tick },
	{ .type = &demo_ping, .on_response = on_pong },
	{ NULL },
};

static agent_step
ping_begin(agent *a)
{
	struct ping *self = agent_self(a);
	int r;

	r = agent_interval_new(a, &self->tick, PERIOD_USEC, 0);
	return r < 0 ? agent_fail(r) : agent_events();
}

static void
ping_finalize(agent *a, enum agent_exit_reason reason)
{
	struct ping *self = agent_self(a);

	printf("stopping after %" PRIu64 " pings (%s)\n", self->sent,
	       agent_exit_reason_to_string(reason));
}

static const struct agent_def ping_def = {
	.name = "ping",
	.begin = ping_begin,
	.handlers = ping_handlers,
	.finalize = ping_finalize,
};

int
main(int argc, char **argv)
{
	struct ping self = { 0 };

	demo_setup_output();
	return agent_main(&ping_def, &self, argc, argv);
}
