/* SPDX-License-Identifier: MIT */
/*
 * cmd-logs.c - 'logs NAME [-n N] [-f]': an agent's last output lines.
 * agentd keeps them, but there is no control message to fetch them yet
 * (proto-msgtypes.h), so this says so. Under systemd the journal has them:
 * journalctl AGENT=NAME.
 */
#include "agentctl.h"
#include "log.h"

static int
cmd_logs_exec(int argc, char **argv)
{
	log_warnx("logs: not supported by this agentd yet "
		  "(under systemd: journalctl AGENT=%s)", argv[0]);
	return EXIT_FAIL;
}

const struct agentctl_cmd cmd_logs_entry = {
	.name = "logs",
	.min_args = 1,
	.max_args = 1,
	.usage = "logs NAME [-n N] [-f]",
	.help = "Show an agent's last output lines (not supported by this agentd yet)",
	.flags = CMD_NEEDS_DAEMON | CMD_OPT_LOGS,
	.exec = cmd_logs_exec,
};
