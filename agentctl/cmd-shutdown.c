/* SPDX-License-Identifier: MIT */
/* cmd-shutdown.c - 'shutdown': CTL_SHUTDOWN []. */
#include "agentctl.h"

static int
cmd_shutdown_exec(int argc, char **argv)
{
	return ctl_simple(PROTO_MSG_CTL_SHUTDOWN, NULL, NULL);
}

const struct agentctl_cmd cmd_shutdown_entry = {
	.name = "shutdown",
	.min_args = 0,
	.max_args = 0,
	.usage = "shutdown",
	.help = "Stop every agent in order, then agentd exits",
	.flags = CMD_NEEDS_DAEMON,
	.exec = cmd_shutdown_exec,
};
