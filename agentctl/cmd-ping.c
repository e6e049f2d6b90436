/* SPDX-License-Identifier: MIT */
/*
 * cmd-ping.c - 'ping NAME...': is the agent alive? agentd must report it
 * running, and a libagent agent's inbox must accept a connection.
 * Exit 0 if all are, 1 otherwise.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agentctl.h"
#include "log.h"

static int
cmd_ping_exec(int argc, char **argv)
{
	_cleanup_free_ struct proto_status_record *recs = NULL;
	size_t n = 0, i;
	int r, ret = EXIT_OK;

	for (i = 0; i < (size_t)argc; i++)
		if (!proto_name_is_valid(argv[i], strlen(argv[i])))
			return agentctl_usage_error("invalid agent name: '%s'",
						    argv[i]);
	r = status_fetch_matching(argc, argv, &recs, &n);
	if (r != EXIT_OK)
		return r;
	for (i = 0; i < n; i++) {
		const struct proto_status_record *rec = &recs[i];
		const char *inbox;

		if (strcmp(rec->state, "running") != 0) {
			log_warnx("%s is %s", rec->name, rec->state);
			ret = EXIT_FAIL;
			continue;
		}
		r = inbox_probe(rec->name, usec_add(now_usec(), arg_timeout));
		if (r == 0)
			inbox = "inbox answers";
		else if (r == -ENOENT)
			inbox = "no inbox"; /* not a libagent agent */
		else {
			log_warnx("%s is running (pid %u) but its inbox "
				  "refuses connections: %s", rec->name,
				  rec->pid, strerror(-r));
			ret = EXIT_FAIL;
			continue;
		}
		if (arg_json)
			printf("{\"name\":\"%s\",\"alive\":true,\"pid\":%u}\n",
			       rec->name, rec->pid);
		else
			printf("%s is alive (pid %u, %s)\n", rec->name,
			       rec->pid, inbox);
	}
	return ret;
}

const struct agentctl_cmd cmd_ping_entry = {
	.name = "ping",
	.min_args = 1,
	.max_args = -1,
	.usage = "ping NAME...",
	.help = "Check that agents are running and their inbox answers",
	.flags = CMD_NEEDS_DAEMON,
	.exec = cmd_ping_exec,
};
