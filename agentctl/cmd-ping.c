/* SPDX-License-Identifier: MIT */
/*
 * cmd-ping.c - 'ping NAME...': is the agent alive? agentd must report it
 * running, and a libagent agent must answer a "ping" request, which it
 * handles in its mailbox in FIFO order with everything else: the time it
 * takes is the agent's queue latency plus the transport. An agent without
 * an inbox (Type=exec, Type=notify) only needs to be running.
 * Exit 0 if all are, 1 otherwise, 3 if one did not answer in time.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentctl.h"
#include "log.h"

struct ping_answer {
	bool ok;
};

static int
ping_on_answer(const struct proto_env *env, void *userdata)
{
	struct ping_answer *pa = userdata;

	pa->ok = env->type == PROTO_MSG_RESPONSE;
	return pa->ok ? EXIT_OK : EXIT_FAIL;
}

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

		if (strcmp(rec->state, "running") != 0) {
			log_warnx("%s is %s", rec->name, rec->state);
			ret = EXIT_FAIL;
			continue;
		}
		r = inbox_probe(rec->name, usec_add(now_usec(), arg_timeout));
		if (r == -ENOENT) {
			/* not a libagent agent: running is all we can say */
			if (arg_json)
				printf("{\"name\":\"%s\",\"alive\":true,"
				       "\"pid\":%u,\"rtt_us\":null}\n",
				       rec->name, rec->pid);
			else
				printf("%s is alive (pid %u, no inbox)\n",
				       rec->name, rec->pid);
			continue;
		}
		if (r < 0) {
			log_warnx("%s is running (pid %u) but its inbox "
				  "refuses connections: %s", rec->name,
				  rec->pid, strerror(-r));
			ret = EXIT_FAIL;
			continue;
		}
		{
			static const unsigned char nil = 0xc0;
			struct ping_answer pa = { false };
			usec_t t0 = now_usec(), rtt;
			int rc;

			rc = inbox_call(rec->name, "ping", &nil, 1,
					usec_add(t0, arg_timeout),
					ping_on_answer, &pa);
			rtt = now_usec() - t0;
			if (rc != EXIT_OK || !pa.ok) {
				if (rc == EXIT_OK)
					rc = EXIT_FAIL;
				log_warnx("%s did not answer the ping",
					  rec->name);
				if (rc > ret)
					ret = rc;
				continue;
			}
			if (arg_json)
				printf("{\"name\":\"%s\",\"alive\":true,"
				       "\"pid\":%u,\"rtt_us\":%llu}\n",
				       rec->name, rec->pid,
				       (unsigned long long)rtt);
			else
				printf("%s is alive (pid %u, mailbox answered "
				       "in %.3f ms)\n", rec->name, rec->pid,
				       (double)rtt / USEC_PER_MSEC);
		}
	}
	return ret;
}

const struct agentctl_cmd cmd_ping_entry = {
	.name = "ping",
	.min_args = 1,
	.max_args = -1,
	.usage = "ping NAME...",
	.help = "Check that agents are running and answer a ping through their mailbox",
	.flags = CMD_NEEDS_DAEMON,
	.exec = cmd_ping_exec,
};
