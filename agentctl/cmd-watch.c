/* SPDX-License-Identifier: MIT */
/*
 * cmd-watch.c - 'watch [NAME|GLOB...] [--json] [--since N] [--count N]':
 * stream agentd's state-change events. Each CTL_EVENTS request is a long
 * poll (agentd answers when an event at or after `since` exists, or after
 * WATCH_WAIT_MS with nothing); the reply's next_seq is the next request's
 * since, so nothing is skipped, and a gap (events overwritten in agentd's
 * ring before we asked) is printed as such.
 *
 * Output, one line per event: "TIME #SEQ NAME FROM -> TO [DETAIL]", or with
 * --json one object per line {seq, time, name, from, to, detail}; a gap is
 * "-- missed N events --" / {"missed": N}. Names and globs filter here
 * (a unit name also matches its instances, NAME@N).
 *
 * Exit: 0 on SIGINT/SIGTERM or after --count events, 1 when agentd refuses
 * the request, 3 when agentd is unreachable, goes away or does not answer
 * within WATCH_WAIT_MS + --timeout.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentctl.h"
#include "log.h"
#include "proto-read.h"

#define WATCH_WAIT_MS	30000u

struct watch_ctx {
	char *const *patterns;
	size_t n_patterns;
	uint64_t printed;
	bool done;  /* --count reached */
	int err;    /* a write error */
};

/* "2026-11-25T23:59:01.123456Z" (json) or "2026-11-25 23:59:01.123" */
static void
format_time(char *buf, size_t size, uint64_t usec, bool iso)
{
	time_t t = (time_t)(usec / USEC_PER_SEC);
	struct tm tm;
	char base[32];

	if (!(iso ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)) ||
	    strftime(base, sizeof(base), iso ? "%Y-%m-%dT%H:%M:%S"
					     : "%Y-%m-%d %H:%M:%S", &tm) == 0) {
		snprintf(buf, size, "%llu", (unsigned long long)usec);
		return;
	}
	if (iso)
		snprintf(buf, size, "%s.%06lluZ", base,
			 (unsigned long long)(usec % USEC_PER_SEC));
	else
		snprintf(buf, size, "%s.%03llu", base,
			 (unsigned long long)(usec % USEC_PER_SEC / 1000));
}

/* NAME, or the unit name of NAME@N, matches one of the patterns. */
static bool
watch_matches(const struct watch_ctx *c, const char *name)
{
	char unit[PROTO_NAME_MAX + 1];
	const char *at;

	if (c->n_patterns == 0 || match_any(name, c->patterns, c->n_patterns))
		return true;
	at = strchr(name, '@');
	if (!at)
		return false;
	snprintf(unit, sizeof(unit), "%.*s", (int)(at - name), name);
	return match_any(unit, c->patterns, c->n_patterns);
}

static int
watch_print_cb(const struct proto_event_record *ev, void *userdata)
{
	struct watch_ctx *c = userdata;
	char when[64];

	if (c->done || !watch_matches(c, ev->name))
		return 0;
	format_time(when, sizeof(when), ev->realtime_usec, arg_json);
	if (arg_json) {
		json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}",
				      "seq", (json_int_t)ev->seq, "time", when,
				      "name", ev->name, "from", ev->from,
				      "to", ev->to, "detail", ev->detail);

		if (!j)
			return -ENOMEM;
		if (json_dumpf(j, stdout, JSON_COMPACT) < 0)
			c->err = -EIO;
		putchar('\n');
		json_decref(j);
	} else {
		printf("%s #%llu %s %s -> %s%s%s\n", when,
		       (unsigned long long)ev->seq, ev->name, ev->from, ev->to,
		       ev->detail[0] ? " " : "", ev->detail);
	}
	if (arg_count && ++c->printed >= arg_count)
		c->done = true;
	return 0;
}

static int
watch_pack(msgpack_packer *pk, const void *userdata)
{
	return proto_events_req_pack(pk, userdata);
}

static int
cmd_watch_exec(int argc, char **argv)
{
	struct watch_ctx c = { .patterns = argv, .n_patterns = (size_t)argc };
	struct proto_events_req req = {
		.since_seq = arg_since_set ? arg_since : PROTO_SEQ_NOW,
		.max = 0,
		.wait_ms = 0, /* the first answers at once: a deaf agentd
			       * fails within --timeout */
	};
	struct ctl_stream cs;
	int r, ret = EXIT_OK;

	for (int i = 0; i < argc; i++)
		if (!*argv[i] || strlen(argv[i]) > PROTO_NAME_MAX)
			return agentctl_usage_error("invalid agent name: '%s'",
						    argv[i]);
	r = ctl_stream_open(&cs);
	if (r < 0)
		return ctl_error_exit(r);
	while (!c.done) {
		struct proto_seq_head h;
		struct proto_reader rd;
		struct ctl_reply rep;

		r = ctl_stream_request(&cs, PROTO_MSG_CTL_EVENTS, watch_pack,
				       &req, req.wait_ms * USEC_PER_MSEC, &rep);
		if (r == -EINTR)
			break;
		if (r < 0) {
			ret = EXIT_UNREACHABLE;
			break;
		}
		if (rep.env.type != PROTO_MSG_CTL_EVENTS_REPLY) {
			ret = ctl_reply_result(&rep);
			if (ret == EXIT_OK) /* a result is not an answer here */
				ret = EXIT_UNREACHABLE;
			ctl_reply_done(&rep);
			break;
		}
		proto_reader_init(&rd, rep.env.payload, rep.env.payload_len);
		/* validated whole before the first event is printed */
		r = proto_events_reply_unpack(&rd, &h, NULL, NULL);
		if (r == 0 && h.missed > 0) {
			if (arg_json)
				printf("{\"missed\":%llu}\n",
				       (unsigned long long)h.missed);
			else
				printf("-- missed %llu event%s (agentd keeps "
				       "the last ones only) --\n",
				       (unsigned long long)h.missed,
				       h.missed == 1 ? "" : "s");
		}
		if (r == 0) {
			proto_reader_init(&rd, rep.env.payload,
					  rep.env.payload_len);
			r = proto_events_reply_unpack(&rd, &h, watch_print_cb, &c);
		}
		ctl_reply_done(&rep);
		if (r < 0) {
			log_warnx("malformed events reply from agentd");
			ret = EXIT_UNREACHABLE;
			break;
		}
		if (fflush(stdout) != 0 || c.err) {
			ret = EXIT_FAIL;
			break;
		}
		req.since_seq = h.next_seq;
		req.wait_ms = WATCH_WAIT_MS;
	}
	ctl_stream_close(&cs);
	fflush(stdout);
	return ret;
}

const struct agentctl_cmd cmd_watch_entry = {
	.name = "watch",
	.min_args = 0,
	.max_args = -1,
	.usage = "watch [NAME|GLOB...] [--since N] [--count N]",
	.help = "Stream state-change events until interrupted (--json: one object per line)",
	.flags = CMD_NEEDS_DAEMON | CMD_OPT_WATCH,
	.exec = cmd_watch_exec,
};
