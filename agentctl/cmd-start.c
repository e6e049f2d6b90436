/* SPDX-License-Identifier: MIT */
/* cmd-start.c - 'start [--group G] [NAME...]': CTL_START [names]. */
#include "agentctl.h"

static int
cmd_start_exec(int argc, char **argv)
{
	return ctl_names_verb(PROTO_MSG_CTL_START, argc, argv);
}

const struct agentctl_cmd cmd_start_entry = {
	.name = "start",
	.min_args = 0, /* names, or --group */
	.max_args = -1,
	.usage = "start [--group G] NAME...",
	.help = "Start agents (--group G: every agent of group G)",
	.flags = CMD_NEEDS_DAEMON | CMD_OPT_GROUP,
	.exec = cmd_start_exec,
};
