/* SPDX-License-Identifier: MIT */
/*
 * fuzz-inbox-seed.c - write the seed corpus of the inbox fuzzer into DIR:
 * valid inbox messages (batches of envelopes) for the agent fuzz-inbox.c
 * sets up: events, requests of each kind it handles or not (with a reply
 * address in $FUZZ_RUNTIME_DIR/inbox/, and one that is refused),
 * responses and errors to its pending requests 1-3, subscribe /
 * unsubscribe / update, and batches that mix them.
 *	fuzz-inbox-seed DIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "proto-agent.h"
#include "proto-ctl.h"

static char reply[PROTO_URL_MAX];
static const char *out_dir;
static int failed;

static void
check(int r, const char *what)
{
	if (r < 0 && !failed) {
		fprintf(stderr, "fuzz-inbox-seed: %s: %s\n", what, strerror(-r));
		failed = 1;
	}
}

static int
begin(struct proto_builder *b, nng_msg *batch, uint32_t type, uint64_t corr)
{
	return batch ? proto_builder_begin_append(b, batch, type, 0, corr,
						  "seed")
		     : proto_builder_begin(b, type, 0, corr, "seed");
}

/* append to *batch (new if NULL) one envelope, packed by pack(arg) */
static void
add(nng_msg **batch, uint32_t type, uint64_t corr,
    int (*pack)(msgpack_packer *, const void *), const void *arg)
{
	struct proto_builder b;
	int r = begin(&b, *batch, type, corr);

	if (r < 0) {
		check(r, "begin");
		return;
	}
	r = pack(&b.pk, arg);
	if (r < 0) {
		proto_builder_abort(&b);
		check(r, "pack");
		return;
	}
	check(proto_builder_finish(&b, batch), "finish");
}

static int
pack_event(msgpack_packer *pk, const void *arg)
{
	return proto_event_pack(pk, arg);
}

static int
pack_request(msgpack_packer *pk, const void *arg)
{
	return proto_request_pack(pk, arg);
}

static int
pack_response(msgpack_packer *pk, const void *arg)
{
	return proto_response_pack(pk, arg);
}

static int
pack_result(msgpack_packer *pk, const void *arg)
{
	return proto_result_pack(pk, arg);
}

static void
event(nng_msg **batch, const char *kind, const void *body, size_t len)
{
	struct proto_event ev = { .kind = kind, .kind_len = strlen(kind),
				  .body = body, .body_len = len };

	add(batch, PROTO_MSG_EVENT, 0, pack_event, &ev);
}

static void
request(nng_msg **batch, const char *kind, const char *to, uint64_t corr,
	const void *body, size_t len)
{
	struct proto_request rq = { .kind = kind, .kind_len = strlen(kind),
				    .reply_to = to, .reply_to_len = strlen(to),
				    .timeout_ms = 1000, .body = body,
				    .body_len = len };

	add(batch, PROTO_MSG_REQUEST, corr, pack_request, &rq);
}

static void
response(nng_msg **batch, uint64_t corr, const void *body, size_t len)
{
	struct proto_response resp = { .body = body, .body_len = len };

	add(batch, PROTO_MSG_RESPONSE, corr, pack_response, &resp);
}

static void
error(nng_msg **batch, uint64_t corr, int32_t code)
{
	struct proto_result res = { .code = code, .message = "no",
				    .message_len = 2 };

	add(batch, PROTO_MSG_ERROR, corr, pack_result, &res);
}

/* agent.subscribe / agent.unsubscribe [topic, inbox] */
static void
subscription(nng_msg **batch, const char *kind, const char *topic,
	     const char *inbox)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	check(proto_pack_cstr(&pk, topic), "topic");
	check(proto_pack_cstr(&pk, inbox), "inbox");
	event(batch, kind, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

/* agent.update [topic, seq, missed, snapshot, value] */
static void
update(nng_msg **batch, const char *topic, uint64_t seq, uint64_t missed,
       bool snapshot)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 5);
	check(proto_pack_cstr(&pk, topic), "topic");
	msgpack_pack_uint64(&pk, seq);
	msgpack_pack_uint64(&pk, missed);
	if (snapshot)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_int(&pk, -3);
	check(proto_pack_cstr(&pk, "v"), "value");
	event(batch, "agent.update", sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

static void
save(const char *name, nng_msg **batch)
{
	char path[4096];
	FILE *f;

	if (!*batch)
		return;
	if (snprintf(path, sizeof(path), "%s/seed-%s", out_dir, name) >=
	    (int)sizeof(path)) {
		check(-ENAMETOOLONG, name);
	} else if (!(f = fopen(path, "we"))) {
		check(-errno, path);
	} else {
		if (fwrite(nng_msg_body(*batch), 1, nng_msg_len(*batch), f) !=
		    nng_msg_len(*batch))
			check(-EIO, path);
		if (fclose(f) != 0)
			check(-errno, path);
	}
	nng_msg_free(*batch);
	*batch = NULL;
}

static const unsigned char body[] = { 0x93, 0x01, 0xa2, 'h', 'i', 0xc0 };

/* everything, one batch: what the fuzzer mixes from */
static void
all(nng_msg **m)
{
	event(m, "ev", body, sizeof(body));
	event(m, "nosuch", NULL, 0);
	request(m, "echo", reply, 10, body, sizeof(body));
	request(m, "fail", reply, 11, NULL, 0);
	request(m, "slow", reply, 12, NULL, 0);
	request(m, "ping", reply, 13, body, sizeof(body));
	request(m, "agent.stats", reply, 14, NULL, 0);
	request(m, "nosuch", reply, 15, NULL, 0);
	response(m, 1, body, sizeof(body));
	error(m, 2, -ENOENT);
	response(m, 3, NULL, 0);
	response(m, 77, NULL, 0);
	subscription(m, "agent.subscribe", "temp", reply);
	subscription(m, "agent.subscribe", "later", reply);
	update(m, "temp", 1, 0, true);
	subscription(m, "agent.unsubscribe", "temp", reply);
}

int
main(int argc, char **argv)
{
	const char *rt = getenv("FUZZ_RUNTIME_DIR");
	char url[PROTO_URL_MAX];
	nng_msg *m = NULL;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	out_dir = argv[1];
	snprintf(reply, sizeof(reply), "ipc://%s/inbox/reply.sock",
		 rt && *rt ? rt : "/tmp/fzi");

	event(&m, "ev", body, sizeof(body));
	save("event", &m);
	event(&m, "nosuch", body, sizeof(body));
	save("event-unhandled", &m);
	request(&m, "echo", reply, 10, body, sizeof(body));
	save("request-echo", &m);
	request(&m, "fail", reply, 11, NULL, 0);
	save("request-fail", &m);
	request(&m, "slow", reply, 12, NULL, 0);
	save("request-slow", &m);
	request(&m, "ping", reply, 13, body, sizeof(body));
	save("request-ping", &m);
	request(&m, "agent.stats", reply, 14, NULL, 0);
	save("request-stats", &m);
	request(&m, "nosuch", reply, 15, NULL, 0);
	save("request-unhandled", &m);
	request(&m, "echo", "tcp://192.0.2.1:9", 16, NULL, 0);
	save("request-refused", &m);
	response(&m, 1, body, sizeof(body));
	save("response", &m);
	error(&m, 2, -ENOENT);
	save("error", &m);
	subscription(&m, "agent.subscribe", "temp", reply);
	save("subscribe", &m);
	subscription(&m, "agent.subscribe", "temp", reply);
	subscription(&m, "agent.unsubscribe", "temp", reply);
	save("unsubscribe", &m);
	update(&m, "temp", 7, 2, false);
	save("update", &m);
	all(&m);
	save("all", &m);
	/* many subscribers, many topics nobody published */
	for (int i = 0; i < 40; i++) {
		snprintf(url, sizeof(url), "ipc://%s/inbox/s%d",
			 rt && *rt ? rt : "/tmp/fzi", i);
		subscription(&m, "agent.subscribe", "temp", url);
	}
	save("subscribers", &m);
	for (int i = 0; i < 80; i++) {
		char topic[16];
		snprintf(topic, sizeof(topic), "t%d", i);
		subscription(&m, "agent.subscribe", topic, reply);
	}
	save("topics", &m);
	/* the same, ten times over (a batch as senders make them) */
	for (int i = 0; i < 10; i++)
		all(&m);
	save("batch", &m);
	return failed;
}
