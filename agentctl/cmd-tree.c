/* SPDX-License-Identifier: MIT */
/*
 * cmd-tree.c - 'tree [NAME|GLOB...]': groups in the order agentd lists
 * them (its start order), each with its agents. With --json: an array of
 * {group, agents: [status objects]}. Sub-agents inside a process are not
 * reported by agentd yet.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agentctl.h"
#include "log.h"

static int
tree_json(const struct proto_status_record *recs, size_t n)
{
	json_t *groups = json_array();
	size_t i, j, k;
	int r = -ENOMEM;

	if (!groups)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		json_t *g, *agents;

		for (k = 0; k < i; k++)
			if (strcmp(recs[k].group, recs[i].group) == 0)
				break;
		if (k < i)
			continue; /* group already listed */
		agents = json_array();
		g = json_pack("{s:s?, s:o}", "group",
			      recs[i].group[0] ? recs[i].group : NULL,
			      "agents", agents);
		if (!g || json_array_append_new(groups, g) < 0)
			goto out;
		for (j = i; j < n; j++)
			if (strcmp(recs[j].group, recs[i].group) == 0 &&
			    json_array_append_new(agents,
						  output_status_record_json(&recs[j])) < 0)
				goto out;
	}
	json_dumpf(groups, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
	r = 0;
out:
	json_decref(groups);
	return r;
}

static int
cmd_tree_exec(int argc, char **argv)
{
	_cleanup_free_ struct proto_status_record *recs = NULL;
	size_t n = 0;
	int r;

	r = status_fetch_matching(argc, argv, &recs, &n);
	if (r != EXIT_OK)
		return r;
	if (arg_json)
		r = tree_json(recs, n);
	else
		r = output_status_tree(stdout, recs, n,
				       output_use_color(stdout));
	if (r < 0 || fflush(stdout) != 0) {
		log_warnx("cannot write the output");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

const struct agentctl_cmd cmd_tree_entry = {
	.name = "tree",
	.min_args = 0,
	.max_args = -1,
	.usage = "tree [NAME|GLOB...]",
	.help = "Show groups in start order with their agents",
	.flags = CMD_NEEDS_DAEMON,
	.exec = cmd_tree_exec,
};
