/* SPDX-License-Identifier: MIT */
/* cmd-restart.c - 'restart [--group G] [NAME...]': CTL_RESTART [names]. */
#include "agentctl.h"

static int
cmd_restart_exec(int argc, char **argv)
{
	return ctl_names_verb(PROTO_MSG_CTL_RESTART, argc, argv);
}

const struct agentctl_cmd cmd_restart_entry = {
	.name = "restart",
	.min_args = 0, /* names, or --group */
	.max_args = -1,
	.usage = "restart [--group G] NAME...",
	.help = "Restart agents (--group G: the whole group)",
	.flags = CMD_NEEDS_DAEMON | CMD_OPT_GROUP,
	.exec = cmd_restart_exec,
};
