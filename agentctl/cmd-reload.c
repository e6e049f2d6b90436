/* SPDX-License-Identifier: MIT */
/* cmd-reload.c - 'reload': CTL_RELOAD []. */
#include "agentctl.h"

static int
cmd_reload_exec(int argc, char **argv)
{
	return ctl_simple(PROTO_MSG_CTL_RELOAD, NULL, NULL);
}

const struct agentctl_cmd cmd_reload_entry = {
	.name = "reload",
	.min_args = 0,
	.max_args = 0,
	.usage = "reload",
	.help = "Re-read the unit files and apply the difference",
	.flags = CMD_NEEDS_DAEMON,
	.exec = cmd_reload_exec,
};
