/* SPDX-License-Identifier: MIT */
/*
 * cmd-status.c - 'status [NAME|GLOB...]' (alias 'list'): a table of agents,
 * or a JSON array with --json.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agentctl.h"
#include "log.h"

/*
 * Fetch the records for NAME|GLOB arguments: plain names are asked from
 * agentd (it reports unknown names); with a glob every agent is fetched
 * and filtered here. A name missing from the reply is an error too.
 * Returns an exit code; *ret and *ret_n are set on EXIT_OK.
 */
int
status_fetch_matching(int argc, char **argv, struct proto_status_record **ret,
		      size_t *ret_n)
{
	_cleanup_free_ struct proto_status_record *recs = NULL;
	bool glob = false;
	size_t n = 0, i, k;
	int a, r;

	for (a = 0; a < argc; a++) {
		if (strlen(argv[a]) == 0 || strlen(argv[a]) > PROTO_NAME_MAX)
			return agentctl_usage_error("invalid agent name or pattern: '%s'",
						    argv[a]);
		if (match_is_glob(argv[a]))
			glob = true;
	}
	r = ctl_fetch_status(glob ? NULL : argv, glob ? 0 : (uint32_t)argc,
			     &recs, &n);
	if (r < 0)
		return ctl_error_exit(r);

	/* Keep only what was asked for (agentd may send more). */
	for (i = 0, k = 0; i < n; i++)
		if (match_any(recs[i].name, argv, (size_t)argc))
			recs[k++] = recs[i];
	n = k;
	for (a = 0; a < argc; a++) {
		if (match_is_glob(argv[a]))
			continue;
		for (i = 0; i < n; i++)
			if (strcmp(recs[i].name, argv[a]) == 0)
				break;
		if (i == n) {
			log_warnx("no such agent: %s", argv[a]);
			return EXIT_FAIL;
		}
	}
	*ret = TAKE_PTR(recs);
	*ret_n = n;
	return EXIT_OK;
}

static int
cmd_status_exec(int argc, char **argv)
{
	_cleanup_free_ struct proto_status_record *recs = NULL;
	size_t n = 0;
	int r;

	r = status_fetch_matching(argc, argv, &recs, &n);
	if (r != EXIT_OK)
		return r;
	if (arg_json)
		r = output_status_json(stdout, recs, n);
	else
		r = output_status_table(stdout, recs, n,
					output_use_color(stdout));
	if (r < 0 || fflush(stdout) != 0) {
		log_warnx("cannot write the output: %s",
			  strerror(r < 0 ? -r : errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

const struct agentctl_cmd cmd_status_entry = {
	.name = "status",
	.alias = "list",
	.min_args = 0,
	.max_args = -1,
	.usage = "status [NAME|GLOB...]",
	.help = "Show agents: name, group, state, pid, uptime, restarts, last exit",
	.flags = CMD_NEEDS_DAEMON,
	.exec = cmd_status_exec,
};
