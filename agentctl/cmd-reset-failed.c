/* SPDX-License-Identifier: MIT */
/*
 * cmd-reset-failed.c - 'reset-failed [--group G] [NAME...]': forget
 * failures (failed state, restart counters); no name: every agent.
 */
#include <string.h>

#include "agentctl.h"

static int
cmd_reset_failed_exec(int argc, char **argv)
{
	struct ctl_names nm = { .names = argv, .n = 0 };

	if (argc == 0 && !arg_group)
		return ctl_simple(PROTO_MSG_CTL_RESET_FAILED, ctl_pack_names,
				  &nm);
	return ctl_names_verb(PROTO_MSG_CTL_RESET_FAILED, argc, argv);
}

const struct agentctl_cmd cmd_reset_failed_entry = {
	.name = "reset-failed",
	.min_args = 0,
	.max_args = -1,
	.usage = "reset-failed [--group G] [NAME...]",
	.help = "Clear the failed state and restart counters (no name: all)",
	.flags = CMD_NEEDS_DAEMON | CMD_OPT_GROUP,
	.exec = cmd_reset_failed_exec,
};
