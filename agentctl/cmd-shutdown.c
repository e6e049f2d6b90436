/* SPDX-License-Identifier: MIT */
/*
 * cmd-shutdown.c - 'shutdown': CTL_SHUTDOWN []; agentd stops every agent
 * in order and exits. agentd answers before it starts stopping, but the
 * answer can be lost when agentd exits right away: agentd closing the
 * connection after this request is taken as success.
 */
#include "agentctl.h"

static int
cmd_shutdown_exec(int argc, char **argv)
{
	struct ctl_reply rep;
	int r;

	r = ctl_request_flags(PROTO_MSG_CTL_SHUTDOWN, NULL, NULL,
			      CTL_REQ_GONE_OK, &rep);
	if (r < 0) {
		if (ctl_error_is_gone(r)) {
			if (!arg_json)
				printf("agentd exited\n");
			return EXIT_OK;
		}
		return ctl_error_exit(r);
	}
	r = ctl_reply_result(&rep);
	ctl_reply_done(&rep);
	return r;
}

const struct agentctl_cmd cmd_shutdown_entry = {
	.name = "shutdown",
	.min_args = 0,
	.max_args = 0,
	.usage = "shutdown",
	.help = "Stop every agent in order, then agentd exits",
	.flags = CMD_NEEDS_DAEMON,
	.exec = cmd_shutdown_exec,
};
