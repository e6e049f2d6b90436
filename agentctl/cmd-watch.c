/* SPDX-License-Identifier: MIT */
/*
 * cmd-watch.c - 'watch': stream agentd's state-change events. agentd has no
 * event subscription on its control socket yet (no message type for it in
 * proto-msgtypes.h), so this says so instead of pretending by polling.
 */
#include "agentctl.h"
#include "log.h"

static int
cmd_watch_exec(int argc, char **argv)
{
	log_warnx("watch: not supported by this agentd yet "
		  "(use 'agentctl wait' or poll 'agentctl status')");
	return EXIT_FAIL;
}

const struct agentctl_cmd cmd_watch_entry = {
	.name = "watch",
	.min_args = 0,
	.max_args = 0,
	.usage = "watch",
	.help = "Stream state-change events (not supported by this agentd yet)",
	.flags = CMD_NEEDS_DAEMON,
	.exec = cmd_watch_exec,
};
