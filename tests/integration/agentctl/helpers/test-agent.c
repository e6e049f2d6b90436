/* SPDX-License-Identifier: MIT */
/*
 * test-agent - a libagent agent for the integration tests. It runs as an
 * actor until it is stopped, and handles, from other processes:
 *   event   "note"   counts it
 *   request "count"  answers the number of "note" events so far
 *   request "echo"   answers its own body
 *   request "fail"   answers the error -EINVAL
 *   request "hang"   never answers (kept until the agent ends)
 * Anything else gets libagent's default (-EOPNOTSUPP for a request).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <agent/agent.h>

struct test_self {
	uint64_t notes;
	agent_msg *held[16]; /* "hang" requests, never answered */
	unsigned n_held;
};

/* A reply that is a ready msgpack object (buf, len). */
struct raw {
	size_t len;
	unsigned char buf[];
};

static int
raw_encode(const void *payload, void **ret_buf, size_t *ret_len)
{
	const struct raw *r = payload;
	void *b = malloc(r->len ? r->len : 1);

	if (!b)
		return -ENOMEM;
	memcpy(b, r->buf, r->len);
	*ret_buf = b;
	*ret_len = r->len;
	return 0;
}

static struct raw *
raw_new(const void *buf, size_t len)
{
	struct raw *r = malloc(sizeof(*r) + len);

	if (r) {
		r->len = len;
		memcpy(r->buf, buf, len);
	}
	return r;
}

/* msgpack of an unsigned integer, big-endian uint64 form (0xcf). */
static struct raw *
raw_uint(uint64_t v)
{
	unsigned char b[9] = { 0xcf };

	for (int i = 0; i < 8; i++)
		b[1 + i] = (unsigned char)(v >> (56 - 8 * i));
	return raw_new(b, sizeof(b));
}

static const struct agent_msg_type note_type = { .name = "note" };
static const struct agent_msg_type count_type = {
	.name = "count", .reply_free = free, .reply_encode = raw_encode,
};
static const struct agent_msg_type echo_type = {
	.name = "echo", .reply_free = free, .reply_encode = raw_encode,
};
static const struct agent_msg_type fail_type = { .name = "fail" };
static const struct agent_msg_type hang_type = { .name = "hang" };

static int
on_note(agent *a, agent_msg *m)
{
	struct test_self *self = agent_self(a);

	self->notes++;
	return 0;
}

static int
on_count(agent *a, agent_msg *m)
{
	struct test_self *self = agent_self(a);
	struct raw *r = raw_uint(self->notes);

	if (!r)
		return -ENOMEM;
	return agent_reply(a, m, r);
}

static int
on_echo(agent *a, agent_msg *m)
{
	const void *body;
	size_t len;
	struct raw *r;
	int err;

	err = agent_msg_body(m, &body, &len);
	if (err < 0)
		return err;
	r = raw_new(body, len);
	if (!r)
		return -ENOMEM;
	return agent_reply(a, m, r);
}

static int
on_fail(agent *a, agent_msg *m)
{
	return -EINVAL;
}

static int
on_hang(agent *a, agent_msg *m)
{
	struct test_self *self = agent_self(a);

	if (self->n_held == sizeof(self->held) / sizeof(self->held[0]))
		return -ENOBUFS;
	self->held[self->n_held++] = agent_msg_ref(m);
	return AGENT_REPLY_LATER;
}

static void
test_finalize(agent *a, enum agent_exit_reason reason)
{
	struct test_self *self = agent_self(a);

	while (self->n_held > 0)
		agent_msg_unref(self->held[--self->n_held]);
}

static const struct agent_handler handlers[] = {
	{ .type = &note_type, .on_event = on_note },
	{ .type = &count_type, .on_request = on_count },
	{ .type = &echo_type, .on_request = on_echo },
	{ .type = &fail_type, .on_request = on_fail },
	{ .type = &hang_type, .on_request = on_hang },
	{ 0 },
};

static const struct agent_def test_def = {
	.name = "test-agent",
	.handlers = handlers,
	.finalize = test_finalize,
};

int
main(int argc, char **argv)
{
	static struct test_self self;

	return agent_main(&test_def, &self, argc, argv);
}
