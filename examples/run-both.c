/* SPDX-License-Identifier: MIT */
/*
 * run-both - crb README, "Subtask Execution": tasks are reused inside other
 * tasks. RunBoth runs ConcurrentTask and ParallelTask (the two previous
 * examples, unchanged) as sub-agents on its own loop and waits for both.
 *
 *	impl DoAsync for RunBoth {
 *		async fn once(&mut self, _: &mut ()) -> Result<Next<Self>> {
 *			join!(ConcurrentTask.run(), ParallelTask.run()).await;
 *			Ok(Next::done())
 *		}
 *	}
 *
 * agent_spawn() starts a child on the parent's loop; agent_await_child()
 * delivers its end (an agent_type_exit message with the exit reason) to a
 * completion callback, which joins them like the concurrent task joins
 * its requests.
 *
 * Usage: run-both [BASE_URL]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <agent/agent.h>

#include "tasks.h"
#include "web.h"

struct run_both {
	struct concurrent_task concurrent;
};

struct children {
	agent *child[2];
	unsigned running;
};

static void
children_free(void *data)
{
	struct children *c = data;

	for (int i = 0; i < 2; i++)
		agent_unref(c->child[i]);
	free(c);
}

static agent_step
child_ended(agent *a, void *data, agent_msg *m)
{
	struct children *c = data;
	struct agent_exit *e = agent_msg_payload(m);

	printf("%s ended: %s\n", agent_get_def(e->child)->name,
	       agent_exit_reason_to_string(e->reason));
	if (--c->running > 0)
		return agent_wait();
	printf("both ended\n");
	return agent_done();
}

static agent_step
run_both_once(agent *a, void *data)
{
	struct run_both *self = agent_self(a);
	struct children *c = data;
	int r;

	r = agent_spawn(a, &c->child[0], 0, &concurrent_task_def,
			&self->concurrent);
	if (r >= 0)
		r = agent_spawn(a, &c->child[1], 0, &parallel_task_def, NULL);
	if (r < 0)
		return agent_error(r);
	for (int i = 0; i < 2; i++) {
		r = agent_await_child(a, c->child[i], child_ended);
		if (r < 0)
			return agent_error(r);
		c->running++;
	}
	return agent_wait();
}

static const struct agent_state run_both_state = {
	.name = "RunBoth",
	.once = run_both_once,
	.free_data = children_free,
};

static agent_step
run_both_begin(agent *a)
{
	struct children *c = calloc(1, sizeof(*c));

	if (!c)
		return agent_fail(-ENOMEM);
	return agent_async(&run_both_state, c);
}

static const struct agent_def run_both_def = {
	.name = "run-both",
	.begin = run_both_begin,
};

int
main(int argc, char **argv)
{
	struct web_server *srv;
	struct run_both self;
	char *base;
	int reason;

	base = web_page_url(argc, argv, 0, "", &srv);
	if (!base)
		return 1;
	self.concurrent.base_url = base;
	reason = agent_main(&run_both_def, &self, argc, argv);
	web_server_stop(srv);
	free(base);
	return reason;
}
