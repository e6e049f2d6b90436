/* SPDX-License-Identifier: MIT */
/* cmd-kill.c - 'kill [-s SIGNAL] NAME...': CTL_KILL [signal, [names]]. */
#include <string.h>

#include "agentctl.h"

static int
cmd_kill_pack(msgpack_packer *pk, const void *userdata)
{
	return proto_kill_pack(pk, userdata);
}

static int
cmd_kill_exec(int argc, char **argv)
{
	struct proto_kill m = {
		.signal = arg_signal,
		.names = { .names = (const char *const *)argv,
			   .n = (uint32_t)argc },
	};
	int a;

	for (a = 0; a < argc; a++)
		if (!argv[a][0] || strlen(argv[a]) > PROTO_NAME_MAX)
			return agentctl_usage_error("invalid agent name: '%s'",
						    argv[a]);
	if (argc > PROTO_LIST_MAX)
		return agentctl_usage_error("too many names");
	return ctl_simple(PROTO_MSG_CTL_KILL, cmd_kill_pack, &m);
}

const struct agentctl_cmd cmd_kill_entry = {
	.name = "kill",
	.min_args = 1,
	.max_args = -1,
	.usage = "kill [-s SIGNAL] NAME...",
	.help = "Send a signal (default TERM) to agents' processes",
	.flags = CMD_NEEDS_DAEMON | CMD_OPT_SIGNAL,
	.exec = cmd_kill_exec,
};
