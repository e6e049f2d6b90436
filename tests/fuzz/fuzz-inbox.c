/* SPDX-License-Identifier: MIT */
/*
 * fuzz-inbox.c - libFuzzer target for libagent's inbox: the input is one
 * inbox message (a batch of envelopes), handed to agent__inbox_feed(),
 * the path every message the inbox socket receives takes (decode, then
 * events, requests, responses, agent.subscribe / agent.unsubscribe /
 * agent.update into the agent's mailbox), and the mailbox is then run so
 * that the handlers answer. Built from libagent's sources (the entry
 * point is internal, not exported).
 *
 * Per input, a fresh agent on a fresh loop with:
 *  - handlers for events "ev", requests "echo" (decoded, answered with
 *    the body), "fail" (answered with an error) and "slow" (never
 *    answered: dropped at the end, libagent answers -EPIPE);
 *  - three pending remote requests with ids 1, 2 and 3 (responses and
 *    errors with corr 1-3 complete them; the replies land in
 *    on_response);
 *  - a published topic "temp" (subscribe / unsubscribe / updates);
 *  - a small mailbox that drops the oldest (evicted requests are answered
 *    with -ENOBUFS).
 * The message comes "from a local process": reply addresses must lie in
 * $AGENTD_RUNTIME_DIR/inbox/, a throwaway directory ($FUZZ_RUNTIME_DIR,
 * else a mkdtemp one) where nothing listens, so answers fail fast with
 * -ECONNREFUSED and nothing is ever dialled. The reply address check is
 * also run on the raw input as a URL from tcp and tls peers.
 *
 * FUZZ_INBOX_VERBOSE=1 prints the counters after each input (to see what
 * a seed reaches) and lets libagent log to stderr.
 *
 * Invariants (abort when broken): a fed message is taken; no more than
 * three requests are pending, the subscription bounds hold, and every
 * refused reply address is refused for a stated reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent-remote.h"
#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char rt_dir[128];
static bool verbose; /* $FUZZ_INBOX_VERBOSE: counters per input */

/* "echo": the body is copied in and out */
static int
blob_decode(const void *buf, size_t len, void **ret)
{
	struct { size_t len; unsigned char b[]; } *p = malloc(sizeof(*p) + len);

	if (!p)
		return -ENOMEM;
	if (len && ((const uint8_t *)buf)[0] == 0xc1)
		return free(p), -EBADMSG; /* msgpack's never-used byte */
	p->len = len;
	memcpy(p->b, buf, len);
	*ret = p;
	return 0;
}

static int
blob_encode(const void *payload, void **buf, size_t *len)
{
	const struct { size_t len; unsigned char b[]; } *p = payload;

	*buf = NULL;
	*len = 0;
	if (!p || p->len == 0)
		return 0;
	if (proto_validate_object(p->b, p->len) < 0)
		return -EINVAL;
	*buf = malloc(p->len);
	if (!*buf)
		return -ENOMEM;
	memcpy(*buf, p->b, p->len);
	*len = p->len;
	return 0;
}

static const struct agent_msg_type ev_type = { .name = "ev" };
static const struct agent_msg_type echo_type = {
	.name = "echo", .decode = blob_decode, .free = free,
	.reply_encode = blob_encode, .reply_free = free,
};
static const struct agent_msg_type fail_type = { .name = "fail" };
static const struct agent_msg_type slow_type = { .name = "slow" };
/* what our pending requests asked: the answers are decoded */
static const struct agent_msg_type q_type = {
	.name = "q", .reply_decode = blob_decode, .reply_free = free,
};

static unsigned n_events, n_responses;

static int
on_ev(agent *a, agent_msg *m)
{
	const void *b;
	size_t len;

	(void)a;
	if (agent_msg_body(m, &b, &len) == 0)
		touch(b, len);
	touch(agent_msg_sender_name(m), strlen(agent_msg_sender_name(m)));
	n_events++;
	return 0;
}

static int
on_echo(agent *a, agent_msg *m)
{
	return agent_reply(a, m, agent_msg_take_payload(m));
}

static int
on_fail(agent *a, agent_msg *m)
{
	return agent_reply_error(a, m, -EINVAL);
}

static int
on_slow(agent *a, agent_msg *m)
{
	(void)a;
	(void)m;
	return 0; /* unanswered: libagent answers when m is dropped */
}

static int
on_q_response(agent *a, agent_msg *m)
{
	(void)a;
	(void)agent_msg_error(m);
	n_responses++;
	return 0;
}

static int
on_update(agent *a, agent_msg *m)
{
	const struct agent_update *u = agent_msg_payload(m);

	(void)a;
	CHECK(u != NULL);
	touch(u->value, u->len);
	CHECK(strlen(u->topic) <= AGENT_TOPIC_MAX);
	return 0;
}

static const struct agent_handler handlers[] = {
	{ .type = &ev_type, .on_event = on_ev },
	{ .type = &echo_type, .on_request = on_echo },
	{ .type = &fail_type, .on_request = on_fail },
	{ .type = &slow_type, .on_request = on_slow },
	{ .type = &q_type, .on_response = on_q_response },
	{ .type = &agent_type_update, .on_event = on_update },
	{ 0 },
};

static const struct agent_def fuzz_def = {
	.name = "fuzz",
	.handlers = handlers,
	.mailbox_capacity = 32,
	.full_policy = AGENT_FULL_DROP_OLDEST,
};

static void
quiet_log(int level, const char *agent_name, const char *msg, void *userdata)
{
	(void)level;
	(void)agent_name;
	(void)msg;
	(void)userdata;
}

/* at exit, when we made rt_dir (registered then only) */
static void
cleanup(void)
{
	char p[sizeof(rt_dir) + 8];

	snprintf(p, sizeof(p), "%s/inbox", rt_dir);
	(void)rmdir(p);
	(void)rmdir(rt_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *e = getenv("FUZZ_RUNTIME_DIR");
	char p[sizeof(rt_dir) + 8];

	(void)argc;
	(void)argv;
	if (e && *e && strlen(e) < sizeof(rt_dir) - 8) {
		snprintf(rt_dir, sizeof(rt_dir), "%s", e);
		(void)mkdir(rt_dir, 0700);
	} else {
		snprintf(rt_dir, sizeof(rt_dir), "/tmp/fzi.XXXXXX");
		if (!mkdtemp(rt_dir)) {
			perror("mkdtemp");
			exit(1);
		}
		atexit(cleanup);
	}
	snprintf(p, sizeof(p), "%s/inbox", rt_dir);
	(void)mkdir(p, 0700);
	setenv("AGENTD_RUNTIME_DIR", rt_dir, 1);
	setenv("AGENTD_NAME", "fuzz", 1);
	unsetenv("AGENTD_LINK_FD");
	unsetenv("AGENTD_INBOX");
	unsetenv("AGENTD_LISTEN");
	verbose = getenv("FUZZ_INBOX_VERBOSE") != NULL;
	if (!verbose)
		agent_log_set(quiet_log, NULL);
	return 0;
}

/* The reply address check on arbitrary bytes, from network peers. */
static void
fuzz_reply_check(struct agent_remote_ctx *rc, const uint8_t *data,
		 size_t size)
{
	struct agent_inbox_origin from[3] = {
		{ .addr.s_in = { .sa_family = NNG_AF_INET,
				 .sa_addr = htonl(0x7f000001) } },
		{ .addr.s_in = { .sa_family = NNG_AF_INET,
				 .sa_addr = htonl(0xc0000201) } },
		{ .addr.s_in6 = { .sa_family = NNG_AF_INET6,
				  .sa_addr = { [15] = 1 } }, .tls = true },
	};
	const char *url = (const char *)data;
	size_t len = size < PROTO_URL_MAX + 8 ? size : PROTO_URL_MAX + 8;

	for (int i = 0; i < 3; i++) {
		if (!agent__reply_to_ok(rc, &from[i], url, len))
			continue;
		CHECK(len >= 7 && len < PROTO_URL_MAX);
		CHECK(!memchr(url, '\0', len));
		/* a scheme, a host and a port */
		CHECK((len > 12 && memcmp(url, "tls+tcp://", 10) == 0) ||
		      (!from[i].tls && len > 8 &&
		       memcmp(url, "tcp://", 6) == 0));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_remote_ctx *rc;
	struct agent_req *req;
	agent_loop *l;
	nng_msg *msg;
	agent *a;
	unsigned n;
	int r;

	CHECK(agent_new(&a, NULL, &fuzz_def, NULL) == 0);
	CHECK(agent_start(a) == 0);
	l = agent_get_loop(a);
	(void)agent_loop_iterate(l, 0);
	CHECK(agent_is_alive(a));
	rc = agent__remote_get(l, a);
	CHECK(rc != NULL);
	rc->inbox_agent = a; /* weak, as agent_listen() does */
	a->is_inbox = true;

	/* pending remote requests 1, 2, 3 (as agent__request_remote() makes
	 * them, the send aside; ids fixed so that seeds can answer them) */
	for (int64_t i = 1; i <= 3; i++) {
		CHECK(agent__request_new(a, &q_type, 60 * AGENT_USEC_PER_SEC,
					 (uint64_t)i, NULL, &req) > 0);
		req->id = i;
		agent__remote_pending_add(rc, req);
	}
	CHECK(agent_publish(a, "temp", "\x92\x01\x02", 3) == 0);

	CHECK(nng_msg_alloc(&msg, 0) == 0);
	if (size)
		CHECK(nng_msg_append(msg, data, size) == 0);
	r = agent__inbox_feed(rc, msg);
	CHECK(r == 0);
	for (int i = 0; i < 8 && agent_mailbox_len(a) > 0; i++)
		(void)agent_loop_iterate(l, 0);

	n = 0;
	for (struct agent_req *p = rc->pending; p; p = p->next_remote)
		n++;
	CHECK(n <= 3);
	CHECK(rc->n_topics <= 1024 && rc->n_subs <= 4096);
	CHECK(agent_subscribers(a, "temp") <= 256);

	if (verbose) {
		struct agent_remote_stats st;
		(void)agent_remote_stats(a, &st);
		fprintf(stderr, "fuzz-inbox: received %llu malformed %llu "
			"dropped %llu unhandled %llu, events %u responses %u, "
			"%u pending, %u subscribers, %u topics\n",
			(unsigned long long)st.received,
			(unsigned long long)st.malformed,
			(unsigned long long)st.dropped,
			(unsigned long long)st.unhandled, n_events,
			n_responses, n, agent_subscribers(a, "temp"),
			rc->n_topics);
	}
	fuzz_reply_check(rc, data, size);

	CHECK(agent_interrupt(a, AGENT_LEVEL_ABORT) == 0);
	(void)agent_run(a);
	agent_unref(a);
	return 0;
}
