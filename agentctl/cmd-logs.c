/* SPDX-License-Identifier: MIT */
/*
 * cmd-logs.c - 'logs NAME [-n N] [-f]': the last N (default 10) lines an
 * agent wrote on stdout/stderr, as agentd keeps them (the last 200 lines,
 * at most 32 KiB, per agent; under systemd the journal has everything:
 * journalctl AGENT=NAME). With -f, keep printing new lines (CTL_LOGS long
 * polls from the last line seen) until SIGINT/SIGTERM; lines overwritten
 * before they could be fetched are reported on stderr. --json prints one
 * object per line: {"seq": N, "line": "..."}.
 *
 * Exit: 0, 1 unknown agent (or agentd refused), 3 agentd unreachable or
 * gone.
 */
#include <errno.h>
#include <string.h>

#include "agentctl.h"
#include "log.h"
#include "proto-read.h"

#define LOGS_WAIT_MS	30000u

struct logs_ctx {
	int err;
};

static int
logs_print_cb(uint64_t seq, const char *line, size_t len, void *userdata)
{
	struct logs_ctx *c = userdata;

	if (arg_json) {
		json_t *j = json_pack("{s:I, s:s%}", "seq", (json_int_t)seq,
				      "line", line, len);

		if (!j) /* not UTF-8: jansson refuses it; keep the bytes */
			j = json_pack("{s:I, s:s}", "seq", (json_int_t)seq,
				      "line", "(not UTF-8)");
		if (!j)
			return -ENOMEM;
		if (json_dumpf(j, stdout, JSON_COMPACT) < 0)
			c->err = -EIO;
		putchar('\n');
		json_decref(j);
	} else if (fwrite(line, 1, len, stdout) != len || putchar('\n') == EOF) {
		c->err = -EIO;
	}
	return 0;
}

static int
logs_pack(msgpack_packer *pk, const void *userdata)
{
	return proto_logs_req_pack(pk, userdata);
}

/* One reply: print it, advance req->since_seq. Returns an exit code or -1
 * to go on. */
static int
logs_handle(struct ctl_reply *rep, struct proto_logs_req *req)
{
	struct logs_ctx c = { 0 };
	struct proto_seq_head h;
	struct proto_reader rd;
	int r;

	if (rep->env.type != PROTO_MSG_CTL_LOGS_REPLY) {
		r = ctl_reply_result(rep);
		return r == EXIT_OK ? EXIT_UNREACHABLE : r;
	}
	proto_reader_init(&rd, rep->env.payload, rep->env.payload_len);
	r = proto_logs_reply_unpack(&rd, &h, NULL, NULL);
	if (r == 0 && h.missed > 0 && req->since_seq != 0 &&
	    req->since_seq != PROTO_SEQ_NOW)
		log_warnx("missed %llu line%s (agentd keeps the last ones only)",
			  (unsigned long long)h.missed, h.missed == 1 ? "" : "s");
	if (r == 0) {
		proto_reader_init(&rd, rep->env.payload, rep->env.payload_len);
		r = proto_logs_reply_unpack(&rd, &h, logs_print_cb, &c);
	}
	if (r < 0) {
		log_warnx("malformed logs reply from agentd");
		return EXIT_UNREACHABLE;
	}
	if (fflush(stdout) != 0 || c.err)
		return EXIT_FAIL;
	req->since_seq = h.next_seq;
	return -1;
}

static int
cmd_logs_exec(int argc, char **argv)
{
	struct proto_logs_req req = { 0 };
	struct ctl_stream cs;
	int r, ret;

	if (!proto_name_is_valid(argv[0], strlen(argv[0])))
		return agentctl_usage_error("invalid agent name: '%s'", argv[0]);
	if (arg_lines > PROTO_LOG_LINES_MAX)
		return agentctl_usage_error("-n: at most %u lines",
					    PROTO_LOG_LINES_MAX);
	snprintf(req.name, sizeof(req.name), "%s", argv[0]);
	/* -n 0: nothing old (since past the newest), else the last N */
	req.since_seq = arg_lines == 0 ? PROTO_SEQ_NOW : 0;
	req.lines = arg_lines;

	r = ctl_stream_open(&cs);
	if (r < 0)
		return ctl_error_exit(r);
	for (;;) {
		struct ctl_reply rep;

		r = ctl_stream_request(&cs, PROTO_MSG_CTL_LOGS, logs_pack, &req,
				       req.wait_ms * USEC_PER_MSEC, &rep);
		if (r == -EINTR) {
			ret = EXIT_OK;
			break;
		}
		if (r < 0) {
			ret = EXIT_UNREACHABLE;
			break;
		}
		ret = logs_handle(&rep, &req);
		ctl_reply_done(&rep);
		if (ret >= 0)
			break;
		if (!arg_follow) {
			ret = EXIT_OK;
			break;
		}
		req.lines = 0;
		req.wait_ms = LOGS_WAIT_MS;
	}
	ctl_stream_close(&cs);
	return ret;
}

const struct agentctl_cmd cmd_logs_entry = {
	.name = "logs",
	.min_args = 1,
	.max_args = 1,
	.usage = "logs NAME [-n N] [-f]",
	.help = "Show an agent's last output lines (-f: follow)",
	.flags = CMD_NEEDS_DAEMON | CMD_OPT_LOGS,
	.exec = cmd_logs_exec,
};
