/* SPDX-License-Identifier: MIT */
/*
 * cmd-send.c - 'send NAME KIND [JSON|-]': an EVENT [kind, body] straight
 * into NAME's inbox, the body converted from JSON to msgpack (none: nil;
 * "-": JSON read from standard input). Fire and forget: exit 0 once the
 * agent's inbox took it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentctl.h"
#include "log.h"
#include "proto-agent.h"

#define STDIN_JSON_MAX	PROTO_MSG_MAX

bool
send_kind_is_valid(const char *kind)
{
	size_t len = strlen(kind);

	return len > 0 && len <= PROTO_NAME_MAX;
}

static char *
read_stdin(void)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	for (;;) {
		size_t n;

		if (len + 1 == cap) {
			char *p;

			if (cap > STDIN_JSON_MAX) {
				free(buf);
				errno = EMSGSIZE;
				return NULL;
			}
			p = realloc(buf, cap * 2);
			if (!p) {
				free(buf);
				return NULL;
			}
			buf = p;
			cap *= 2;
		}
		n = fread(buf + len, 1, cap - len - 1, stdin);
		len += n;
		if (n == 0) {
			if (ferror(stdin)) {
				free(buf);
				return NULL;
			}
			break;
		}
	}
	buf[len] = '\0';
	return buf;
}

int
send_body_from_arg(const char *arg, msgpack_sbuffer *ret)
{
	_cleanup_free_ char *in = NULL;
	msgpack_packer pk;
	char err[256];
	int r;

	msgpack_sbuffer_init(ret);
	msgpack_packer_init(&pk, ret, msgpack_sbuffer_write);
	if (!arg) {
		msgpack_pack_nil(&pk);
		return 0;
	}
	if (strcmp(arg, "-") == 0) {
		in = read_stdin();
		if (!in) {
			log_warn("cannot read JSON from standard input");
			return -EINVAL;
		}
		arg = in;
	}
	r = json_text_to_msgpack(arg, &pk, err, sizeof(err));
	if (r < 0) {
		msgpack_sbuffer_destroy(ret);
		msgpack_sbuffer_init(ret);
		fprintf(stderr, "agentctl: invalid JSON: %s\n", err);
		return -EINVAL;
	}
	if (ret->size > PROTO_MSG_MAX - 1024) {
		msgpack_sbuffer_destroy(ret);
		msgpack_sbuffer_init(ret);
		fprintf(stderr, "agentctl: message too large (at most %d bytes)\n",
			PROTO_MSG_MAX - 1024);
		return -EINVAL;
	}
	return 0;
}

static int
cmd_send_exec(int argc, char **argv)
{
	const char *name = argv[0], *kind = argv[1];
	usec_t deadline = usec_add(now_usec(), arg_timeout);
	msgpack_sbuffer body;
	struct proto_builder b;
	struct proto_event ev;
	nng_msg *msg;
	int r;

	if (!proto_name_is_valid(name, strlen(name)))
		return agentctl_usage_error("invalid agent name: '%s'", name);
	if (!send_kind_is_valid(kind))
		return agentctl_usage_error("invalid message kind: '%s'", kind);
	if (send_body_from_arg(argc > 2 ? argv[2] : NULL, &body) < 0)
		return EXIT_USAGE;

	ev = (struct proto_event){
		.kind = kind,
		.kind_len = strlen(kind),
		.body = body.data,
		.body_len = body.size,
	};
	r = proto_builder_begin(&b, PROTO_MSG_EVENT, 0, 0, "agentctl");
	if (r >= 0) {
		r = proto_event_pack(&b.pk, &ev);
		if (r < 0)
			proto_builder_abort(&b);
		else
			r = proto_builder_finish(&b, &msg);
	}
	msgpack_sbuffer_destroy(&body);
	if (r < 0) {
		log_warn_errno(r, "cannot build the message");
		return EXIT_FAIL;
	}
	r = inbox_deliver(name, msg, deadline);
	if (r == -ETIMEDOUT)
		return EXIT_UNREACHABLE;
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

const struct agentctl_cmd cmd_send_entry = {
	.name = "send",
	.min_args = 2,
	.max_args = 3,
	.usage = "send NAME KIND [JSON|-]",
	.help = "Send an event with a JSON body to an agent",
	.flags = 0,
	.exec = cmd_send_exec,
};
