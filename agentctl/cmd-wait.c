/* SPDX-License-Identifier: MIT */
/*
 * cmd-wait.c - 'wait NAME... [--state S[,S...]] [--timeout T]': poll
 * agentd's status until every NAME is in one of the states (default
 * running), or fail when the deadline (--timeout, default 10 s) passes.
 *
 * Exit: 0 reached, 1 timed out or unknown agent (agentd answered, the
 * condition did not hold), 3 agentd unreachable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentctl.h"
#include "log.h"

#define WAIT_POLL_USEC		(20 * USEC_PER_MSEC)
#define WAIT_REQUEST_MIN_USEC	(500 * USEC_PER_MSEC)

/* true if state is one of the comma-separated states. */
static bool
state_in(const char *state, const char *states)
{
	size_t len = strlen(state);
	const char *p = states;

	while (*p) {
		const char *end = strchrnul(p, ',');

		if ((size_t)(end - p) == len && strncmp(p, state, len) == 0)
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

/* Every comma-separated element is one of the 7 agent states (agentd's
 * names); NULL if so, else the first bad element (in a static buffer). */
static const char *
states_invalid(const char *states)
{
	static const char *const known[] = {
		"inactive", "starting", "running", "stopping", "backoff",
		"failed", "done",
	};
	static char bad[64];
	const char *p = states;

	for (;;) {
		const char *end = strchrnul(p, ',');
		size_t len = (size_t)(end - p), k;

		for (k = 0; k < ELEMENTSOF(known); k++)
			if (strlen(known[k]) == len && strncmp(p, known[k], len) == 0)
				break;
		if (k == ELEMENTSOF(known)) {
			snprintf(bad, sizeof(bad), "%.*s", (int)MIN(len, (size_t)40), p);
			return bad;
		}
		if (!*end)
			return NULL;
		p = end + 1;
	}
}

static int
cmd_wait_exec(int argc, char **argv)
{
	const char *states = arg_state ? arg_state : "running";
	usec_t deadline = usec_add(now_usec(), arg_timeout);
	usec_t total = arg_timeout;
	char last[PROTO_NAME_MAX + 1] = "";
	const char *pending = NULL;
	bool answered = false;
	int a;

	if (!*states || states[0] == ',' || strstr(states, ",,"))
		return agentctl_usage_error("invalid --state: '%s'", states);
	if (states_invalid(states))
		return agentctl_usage_error("invalid --state: '%s' is no state "
					    "(inactive, starting, running, stopping, "
					    "backoff, failed, done)",
					    states_invalid(states));
	for (a = 0; a < argc; a++)
		if (!proto_name_is_valid(argv[a], strlen(argv[a])))
			return agentctl_usage_error("invalid agent name: '%s'",
						    argv[a]);

	for (;;) {
		_cleanup_free_ struct proto_status_record *recs = NULL;
		size_t n = 0, i;
		usec_t left = usec_until(deadline);
		int r;

		if (left == 0)
			break;
		/* Each poll may use what is left of the deadline, and at
		 * least WAIT_REQUEST_MIN_USEC: a poll just before the
		 * deadline must not turn a slow answer into "unreachable". */
		arg_timeout = MAX(left, WAIT_REQUEST_MIN_USEC);
		r = ctl_fetch_status(argv, (uint32_t)argc, &recs, &n);
		if (r == -ETIMEDOUT && answered && usec_until(deadline) == 0)
			break;
		if (r < 0)
			return ctl_error_exit(r);
		answered = true;
		pending = NULL;
		for (a = 0; a < argc && !pending; a++) {
			for (i = 0; i < n; i++)
				if (strcmp(recs[i].name, argv[a]) == 0)
					break;
			if (i == n) {
				log_warnx("no such agent: %s", argv[a]);
				return EXIT_FAIL;
			}
			if (!state_in(recs[i].state, states)) {
				pending = argv[a];
				snprintf(last, sizeof(last), "%s",
					 recs[i].state);
			}
		}
		if (!pending)
			return EXIT_OK;
		left = usec_until(deadline);
		if (left == 0)
			break;
		left = MIN(left, WAIT_POLL_USEC);
		nanosleep(&(struct timespec){ .tv_sec = (time_t)(left / USEC_PER_SEC),
					      .tv_nsec = (long)(left % USEC_PER_SEC * 1000) },
			  NULL);
	}
	{
		char buf[64];

		log_warnx("timed out after %s waiting for %s to be %s (it is %s)",
			  format_timespan(buf, sizeof(buf), total),
			  pending ? pending : argv[0], states,
			  last[0] ? last : "unknown");
	}
	return EXIT_FAIL;
}

const struct agentctl_cmd cmd_wait_entry = {
	.name = "wait",
	.min_args = 1,
	.max_args = -1,
	.usage = "wait NAME... [--state S[,S...]] [--timeout T]",
	.help = "Wait until agents are in a state (default running) or time out",
	.flags = CMD_NEEDS_DAEMON | CMD_OPT_STATE,
	.exec = cmd_wait_exec,
};
