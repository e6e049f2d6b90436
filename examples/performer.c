/* SPDX-License-Identifier: MIT */
/*
 * performer - crb README, "💡 ... implementing a custom Performer": the
 * explicit state machine of state-enum.c, driven by a user-defined kind
 * of step instead of one agent_state per state.
 *
 * A struct agent_performer is crb's StatePerformer: its perform() runs on
 * the loop when the step agent_perform(&performer, data) is reached and
 * returns the step that follows, which may be the same performer again.
 * Here it is a table-driven machine: the agent's `state` field picks a
 * row, the row's handler does the work and names the next state, and the
 * performer turns that into the next step. Every transition is visible in
 * one place (and logged by it).
 */
#include <stdio.h>

#include <agent/agent.h>

enum state {
	STATE_FIRST,
	STATE_SECOND,
	STATE_THIRD,
	STATE_END,
};

struct task {
	enum state state;
	unsigned steps;
};

/* one row per state: its name and its handler, returning the next state */
struct transition {
	const char *name;
	enum state (*handle)(struct task *t);
};

static enum state
first(struct task *t)
{
	return STATE_SECOND;
}

static enum state
second(struct task *t)
{
	return STATE_THIRD;
}

static enum state
third(struct task *t)
{
	return STATE_END;
}

static const struct transition table[] = {
	[STATE_FIRST] = { "First", first },
	[STATE_SECOND] = { "Second", second },
	[STATE_THIRD] = { "Third", third },
	[STATE_END] = { "End", NULL },
};

static const struct agent_performer table_performer;

/* The performer: run the current row, then go where it says. */
static agent_step
table_perform(agent *a, void *data)
{
	struct task *t = agent_self(a);
	const struct transition *row = &table[t->state];
	enum state next;

	if (!row->handle) {
		printf("%s: %u steps, done\n", row->name, t->steps);
		return agent_done();
	}
	next = row->handle(t);
	t->steps++;
	printf("%s -> %s\n", row->name, table[next].name);
	t->state = next;
	return agent_perform(&table_performer, NULL);
}

static const struct agent_performer table_performer = {
	.name = "table",
	.perform = table_perform,
};

static agent_step
task_begin(agent *a)
{
	return agent_perform(&table_performer, NULL);
}

static const struct agent_def task_def = {
	.name = "task",
	.begin = task_begin,
};

int
main(int argc, char **argv)
{
	struct task task = { .state = STATE_FIRST };

	return agent_main(&task_def, &task, argc, argv);
}
