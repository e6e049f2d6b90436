/* SPDX-License-Identifier: MIT */
/*
 * cmd-call.c - 'call NAME KIND [JSON|-] [--timeout T]': a REQUEST
 * [kind, reply_to, timeout_ms, body] into NAME's inbox; the RESPONSE body
 * is printed as JSON, an ERROR [code, message] goes to stderr (exit 1).
 * No answer within the timeout: exit 3.
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
cmd_call_exec(int argc, char **argv)
{
	const char *name = argv[0], *kind = argv[1];
	usec_t deadline = usec_add(now_usec(), arg_timeout);
	nng_socket s = NNG_SOCKET_INITIALIZER;
	char url[PROTO_URL_MAX];
	uint64_t corr = ((uint64_t)getpid() << 32) | 1;
	msgpack_sbuffer body;
	struct proto_builder b;
	struct proto_request req;
	nng_msg *msg = NULL;
	int r, ret;

	if (!proto_name_is_valid(name, strlen(name)))
		return agentctl_usage_error("invalid agent name: '%s'", name);
	if (!send_kind_is_valid(kind))
		return agentctl_usage_error("invalid message kind: '%s'", kind);
	if (send_body_from_arg(argc > 2 ? argv[2] : NULL, &body) < 0)
		return EXIT_USAGE;

	r = inbox_listen_private(&s, url, sizeof(url));
	if (r < 0) {
		msgpack_sbuffer_destroy(&body);
		log_warn_errno(r, "cannot open an inbox for the answer");
		return EXIT_FAIL;
	}
	req = (struct proto_request){
		.kind = kind,
		.kind_len = strlen(kind),
		.reply_to = url,
		.reply_to_len = strlen(url),
		.timeout_ms = (uint32_t)MIN(arg_timeout / USEC_PER_MSEC,
					    (usec_t)UINT32_MAX),
		.body = body.data,
		.body_len = body.size,
	};
	r = proto_builder_begin(&b, PROTO_MSG_REQUEST, 0, corr, "agentctl");
	if (r >= 0) {
		r = proto_request_pack(&b.pk, &req);
		if (r < 0)
			proto_builder_abort(&b);
		else
			r = proto_builder_finish(&b, &msg);
	}
	msgpack_sbuffer_destroy(&body);
	if (r < 0) {
		log_warn_errno(r, "cannot build the request");
		ret = EXIT_FAIL;
		goto out;
	}
	r = inbox_deliver(name, msg, deadline);
	if (r < 0) {
		ret = r == -ETIMEDOUT ? EXIT_UNREACHABLE : EXIT_FAIL;
		goto out;
	}

	for (;;) {
		struct proto_env env;
		nng_msg *rep = NULL;
		int rv;

		if ((rv = nng_socket_set_ms(s, NNG_OPT_RECVTIMEO,
					    (nng_duration)MAX(1, (int64_t)usec_until(deadline) / 1000))) != 0 ||
		    (rv = nng_recvmsg(s, &rep, 0)) != 0) {
			if (rv == NNG_ETIMEDOUT)
				log_warnx("no answer from %s within the timeout",
					  name);
			else
				log_warnx("receiving the answer: %s",
					  nng_strerror(rv));
			ret = EXIT_UNREACHABLE;
			goto out;
		}
		r = proto_env_decode_msg(rep, &env);
		if (r < 0 || env.corr != corr ||
		    (env.type != PROTO_MSG_RESPONSE &&
		     env.type != PROTO_MSG_ERROR)) {
			/* A stranger or a late answer: not ours. */
			log_debug("ignoring a message on the reply inbox");
			nng_msg_free(rep);
			continue;
		}
		ret = print_response(&env);
		nng_msg_free(rep);
		break;
	}
out:
	inbox_close_private(s, url);
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
