/* SPDX-License-Identifier: MIT */
/* cmd-stop.c - 'stop [--group G] [NAME...]': CTL_STOP [names]. */
#include "agentctl.h"

static int
cmd_stop_exec(int argc, char **argv)
{
	return ctl_names_verb(PROTO_MSG_CTL_STOP, argc, argv);
}

const struct agentctl_cmd cmd_stop_entry = {
	.name = "stop",
	.min_args = 0, /* names, or --group */
	.max_args = -1,
	.usage = "stop [--group G] NAME...",
	.help = "Stop agents in reverse order (--group G: the whole group)",
	.flags = CMD_NEEDS_DAEMON | CMD_OPT_GROUP,
	.exec = cmd_stop_exec,
};
