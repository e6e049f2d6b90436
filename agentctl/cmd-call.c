/* SPDX-License-Identifier: MIT */
/*
 * cmd-call.c - 'call NAME KIND [JSON|-] [--timeout T]': a REQUEST into
 * NAME's inbox (inbox_call); the RESPONSE body is printed as JSON, an
 * ERROR [code, message] goes to stderr (exit 1). No answer within the
 * timeout: exit 3.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentctl.h"
#include "log.h"
#include "proto-agent.h"

static int
print_response(const struct proto_env *env)
{
	struct proto_reader rd;
	json_t *j = NULL;
	int r;

	proto_reader_init(&rd, env->payload, env->payload_len);
	if (env->type == PROTO_MSG_ERROR) {
		struct proto_result res;

		if (proto_result_unpack(&rd, &res) < 0) {
			log_warnx("malformed error response");
			return EXIT_UNREACHABLE;
		}
		if (res.message_len)
			log_warnx("%.*s", (int)res.message_len, res.message);
		else
			log_warnx("request failed: %s",
				  strerror(res.code < 0 ? -res.code : EIO));
		return EXIT_FAIL;
	} else {
		struct proto_response resp;

		if (proto_response_unpack(&rd, &resp) < 0) {
			log_warnx("malformed response");
			return EXIT_UNREACHABLE;
		}
		r = msgpack_to_json(resp.body, resp.body_len, &j);
		if (r < 0) {
			log_warnx("response body cannot be shown as JSON: %s",
				  strerror(-r));
			return EXIT_FAIL;
		}
	}
	json_dumpf(j, stdout, JSON_ENCODE_ANY | JSON_COMPACT |
				      JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(j);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

static int
on_answer(const struct proto_env *env, void *userdata)
{
	return print_response(env);
}

static int
cmd_call_exec(int argc, char **argv)
{
	const char *name = argv[0], *kind = argv[1];
	msgpack_sbuffer body;
	int ret;

	if (!proto_name_is_valid(name, strlen(name)))
		return agentctl_usage_error("invalid agent name: '%s'", name);
	if (!send_kind_is_valid(kind))
		return agentctl_usage_error("invalid message kind: '%s'", kind);
	if (send_body_from_arg(argc > 2 ? argv[2] : NULL, &body) < 0)
		return EXIT_USAGE;
	ret = inbox_call(name, kind, body.data, body.size,
			 usec_add(now_usec(), arg_timeout), on_answer, NULL);
	msgpack_sbuffer_destroy(&body);
	return ret;
}

const struct agentctl_cmd cmd_call_entry = {
	.name = "call",
	.min_args = 2,
	.max_args = 3,
	.usage = "call NAME KIND [JSON|-]",
	.help = "Send a request with a JSON body to an agent, print the JSON answer",
	.flags = 0,
	.exec = cmd_call_exec,
};
