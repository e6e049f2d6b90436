/* SPDX-License-Identifier: MIT */
/*
 * pong - a demo agent for agentd: an actor that answers demo.Ping requests
 * from other agent processes with the number of pings it has seen.
 *
 * Under agentd, agent_main() listens on the inbox agentd gives it
 * ($AGENTD_INBOX), so `ping` reaches it by its name, "pong". on_request
 * answers with agent_reply(); the answer travels back to the caller.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include <agent/agent.h>

#include "demo-ping.h"

struct pong {
	uint64_t seen;
};

static int
on_ping(agent *a, agent_msg *m)
{
	struct pong *self = agent_self(a);
	const uint64_t *n = agent_msg_payload(m);
	uint64_t *answer;

	if (!n)
		return -EBADMSG; /* sent back to the caller */
	self->seen++;
	printf("ping #%" PRIu64 " from %s\n", *n,
	       agent_msg_sender_name(m));
	answer = demo_u64_new(self->seen);
	if (!answer)
		return -ENOMEM;
	return agent_reply(a, m, answer);
}

static const struct agent_handler pong_handlers[] = {
	{ .type = &demo_ping, .on_request = on_ping },
	{ NULL },
};

static void
pong_finalize(agent *a, enum agent_exit_reason reason)
{
	struct pong *self = agent_self(a);

	printf("stopping after %" PRIu64 " pings (%s)\n", self->seen,
	       agent_exit_reason_to_string(reason));
}

static const struct agent_def pong_def = {
	.name = "pong",
	/* no begin: an actor from the start */
	.handlers = pong_handlers,
	.finalize = pong_finalize,
};

int
main(int argc, char **argv)
{
	struct pong self = { 0 };

	demo_setup_output();
	return agent_main(&pong_def, &self, argc, argv);
}
