/* SPDX-License-Identifier: MIT */
/*
 * cmd-reset-failed.c - 'reset-failed [--group G] [NAME...]': forget
 * failures (failed state, restart counters); no name and no group: every
 * agent (the names are fetched first: agentd wants them spelled out).
 */
#include <stdlib.h>

#include "agentctl.h"

static int
cmd_reset_failed_exec(int argc, char **argv)
{
	_cleanup_free_ struct proto_status_record *recs = NULL;
	_cleanup_free_ char **names = NULL;
	size_t n = 0, i;
	int r;

	if (argc > 0 || arg_group)
		return ctl_names_verb(PROTO_MSG_CTL_RESET_FAILED, argc, argv);

	r = ctl_fetch_status(NULL, 0, &recs, &n);
	if (r < 0)
		return ctl_error_exit(r);
	if (n == 0) {
		if (!arg_json)
			printf("no agents\n");
		return EXIT_OK;
	}
	names = calloc(n, sizeof(*names));
	if (!names)
		return EXIT_FAIL;
	for (i = 0; i < n; i++)
		names[i] = recs[i].name;
	return ctl_names_verb(PROTO_MSG_CTL_RESET_FAILED, (int)n, names);
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
