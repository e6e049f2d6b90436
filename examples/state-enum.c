/* SPDX-License-Identifier: MIT */
/*
 * state-enum - crb README, "Shared state in a state machine": the states
 * form a state machine by themselves, but it can be made explicit with a
 * field of the agent and an enum; one function maps the enum to the step
 * that runs its handler.
 *
 *	enum State { First, Second, Third }
 *	struct Task { state: State }
 *	impl State {
 *		fn next(&self) -> Next<Task> {
 *			match self {
 *				State::First => Next::do_async(First),
 *				State::Second => Next::do_async(Second),
 *				State::Third => Next::do_async(Third),
 *			}
 *		}
 *	}
 *	impl Agent for Task { fn begin(&mut self) -> Next<Self> { self.state.next() } }
 *	impl DoAsync<First> for Task {
 *		async fn once(&mut self, _: &mut First) -> Result<Next<Self>> {
 *			self.state = State::Second;
 *			Ok(self.state.next())
 *		}
 *	}
 *	... Second -> Third, and Third ends with Next::done().
 */
#include <errno.h>
#include <stdio.h>

#include <agent/agent.h>

enum state {
	STATE_FIRST,
	STATE_SECOND,
	STATE_THIRD,
};

struct task {
	enum state state;
};

static agent_step state_next(enum state s);

static agent_step
first_once(agent *a, void *data)
{
	struct task *t = agent_self(a);

	printf("First -> Second\n");
	t->state = STATE_SECOND;
	return state_next(t->state);
}

static agent_step
second_once(agent *a, void *data)
{
	struct task *t = agent_self(a);

	printf("Second -> Third\n");
	t->state = STATE_THIRD;
	return state_next(t->state);
}

static agent_step
third_once(agent *a, void *data)
{
	printf("Third -> done\n");
	return agent_done();
}

static const struct agent_state first = { .name = "First", .once = first_once };
static const struct agent_state second = { .name = "Second", .once = second_once };
static const struct agent_state third = { .name = "Third", .once = third_once };

/* crb: State::next() */
static agent_step
state_next(enum state s)
{
	switch (s) {
	case STATE_FIRST:
		return agent_async(&first, NULL);
	case STATE_SECOND:
		return agent_async(&second, NULL);
	case STATE_THIRD:
		return agent_async(&third, NULL);
	}
	return agent_fail(-EINVAL) /* not a state */;
}

static agent_step
task_begin(agent *a)
{
	struct task *t = agent_self(a);

	return state_next(t->state);
}

static const struct agent_def task_def = {
	.name = "task",
	.begin = task_begin,
};

int
main(int argc, char **argv)
{
	/* the initial state is set when the task is created */
	struct task task = { .state = STATE_FIRST };

	return agent_main(&task_def, &task, argc, argv);
}
