/* SPDX-License-Identifier: MIT */
/*
 * pipeline - crb README, "Pipelines": tasks triggered by the output of the
 * previous stage. (crb's experimental pipeline crate left the repository;
 * libagent has them built in.)
 *
 * Three stages, each a small agent whose self is its input and whose
 * result (agent_set_result) becomes the self of the next stage's agent:
 *
 *	parse  (sync,  2 at a time)  "7"  -> 7
 *	square (sync,  4 at a time)  7    -> 49
 *	format (async, 1 at a time)  49   -> "7^2 = 49"  (after a short await)
 *
 * The owner pushes ITEMS inputs but never has more than CAPACITY inside
 * the pipeline: it pushes the next one each time an output arrives
 * (backpressure instead of an unbounded queue). Every item comes out
 * exactly once, as an agent_type_pipeline_output message tagged with the
 * sequence number agent_pipeline_push() returned.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <agent/agent.h>

#define ITEMS		20
#define CAPACITY	6

/* ---- stage 1: parse a string (self: char *) into a long ------------------- */

static agent_step
parse_once(agent *a, void *data)
{
	const char *text = agent_self(a);
	long *n = malloc(sizeof(*n));

	if (!n)
		return agent_error(-ENOMEM);
	*n = strtol(text, NULL, 10);
	return agent_set_result(a, n, free) < 0 ? agent_error(-ENOMEM)
						 : agent_done();
}

static const struct agent_state parse_state = { .name = "parse", .once = parse_once };

static agent_step
parse_begin(agent *a)
{
	return agent_sync(&parse_state, NULL);
}

static const struct agent_def parse_def = {
	.name = "parse",
	.begin = parse_begin,
	.free_self = free,
};

/* ---- stage 2: square (self: long *) ---------------------------------------- */

static agent_step
square_once(agent *a, void *data)
{
	long *n = agent_self(a);
	long *sq = malloc(2 * sizeof(*sq));

	if (!sq)
		return agent_error(-ENOMEM);
	sq[0] = *n;
	sq[1] = *n * *n;
	return agent_set_result(a, sq, free) < 0 ? agent_error(-ENOMEM)
						  : agent_done();
}

static const struct agent_state square_state = { .name = "square", .once = square_once };

static agent_step
square_begin(agent *a)
{
	return agent_sync(&square_state, NULL);
}

static const struct agent_def square_def = {
	.name = "square",
	.begin = square_begin,
	.free_self = free,
};

/* ---- stage 3: format (self: long[2]), async ------------------------------- */

static agent_step
formatted(agent *a, void *data, agent_msg *m)
{
	long *sq = agent_self(a);
	char *s;

	if (asprintf(&s, "%ld^2 = %ld", sq[0], sq[1]) < 0)
		return agent_error(-ENOMEM);
	return agent_set_result(a, s, free) < 0 ? agent_error(-ENOMEM)
						 : agent_done();
}

static agent_step
format_once(agent *a, void *data)
{
	int r = agent_await_sleep(a, AGENT_USEC_PER_MSEC, formatted);

	return r < 0 ? agent_error(r) : agent_wait();
}

static const struct agent_state format_state = { .name = "format", .once = format_once };

static agent_step
format_begin(agent *a)
{
	return agent_async(&format_state, NULL);
}

static const struct agent_def format_def = {
	.name = "format",
	.begin = format_begin,
	.free_self = free,
};

/* ---- the owner --------------------------------------------------------------- */

struct owner {
	agent_pipeline *pipe;
	unsigned pushed, received;
};

static int
push_next(struct owner *self)
{
	char *input;
	int64_t seq;

	if (asprintf(&input, "%u", self->pushed + 1) < 0)
		return -ENOMEM;
	seq = agent_pipeline_push(self->pipe, input, free); /* takes input */
	if (seq < 0)
		return (int)seq;
	self->pushed++;
	return 0;
}

static int
on_output(agent *a, agent_msg *m)
{
	struct owner *self = agent_self(a);
	int err = agent_msg_error(m);

	self->received++;
	if (err < 0)
		printf("item %llu: failed: %s\n",
		       (unsigned long long)agent_msg_tag(m), strerror(-err));
	else
		printf("item %llu: %s\n", (unsigned long long)agent_msg_tag(m),
		       (const char *)agent_msg_payload(m));
	if (self->pushed < ITEMS)
		return push_next(self);
	if (self->received == ITEMS) {
		printf("pipeline: %u items in, %u out\n", self->pushed,
		       self->received);
		agent_pipeline_free(self->pipe);
		self->pipe = NULL;
		return agent_shutdown(a);
	}
	return 0;
}

static const struct agent_handler owner_handlers[] = {
	{ .type = &agent_type_pipeline_output, .on_event = on_output },
	{ NULL },
};

static agent_step
owner_begin(agent *a)
{
	struct owner *self = agent_self(a);
	int r;

	r = agent_pipeline_new(a, &self->pipe, CAPACITY);
	if (r >= 0)
		r = agent_pipeline_add_stage(self->pipe, &parse_def, 2);
	if (r >= 0)
		r = agent_pipeline_add_stage(self->pipe, &square_def, 4);
	if (r >= 0)
		r = agent_pipeline_add_stage(self->pipe, &format_def, 1);
	while (r >= 0 && self->pushed < CAPACITY)
		r = push_next(self);
	return r < 0 ? agent_fail(r) : agent_events();
}

/* A pipeline still there when its owner ends is freed with it. */
static const struct agent_def owner_def = {
	.name = "owner",
	.begin = owner_begin,
	.handlers = owner_handlers,
};

int
main(int argc, char **argv)
{
	struct owner self = { 0 };

	return agent_main(&owner_def, &self, argc, argv);
}
