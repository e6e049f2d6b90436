/* SPDX-License-Identifier: MIT */
/*
 * sync-task - crb README, "Synchronous tasks": a state entered with
 * agent_sync() runs on a worker thread of the loop's pool, so CPU work
 * does not block the loop (other agents keep running meanwhile).
 *
 *	impl Agent for Task {
 *		fn begin(&mut self) -> Next<Self> { Next::do_sync(()) }
 *	}
 *	impl DoSync for Task {
 *		fn once(&mut self, _: &mut ()) -> Result<Next<Self>> {
 *			let result: u64 = (1u64..=20).map(|x| x.pow(10)).sum();
 *			println!("{result}");
 *			Ok(Next::done())
 *		}
 *	}
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#include <agent/agent.h>

static agent_step
task_once(agent *a, void *data)
{
	uint64_t result = 0;

	for (uint64_t x = 1; x <= 20; x++) {
		uint64_t p = 1;
		for (int i = 0; i < 10; i++)
			p *= x;
		result += p;
	}
	printf("%" PRIu64 "\n", result);
	return agent_done();
}

static const struct agent_state task_state = {
	.name = "Task",
	.once = task_once,
};

static agent_step
task_begin(agent *a)
{
	return agent_sync(&task_state, NULL);
}

static const struct agent_def task_def = {
	.name = "task",
	.begin = task_begin,
};

int
main(int argc, char **argv)
{
	return agent_main(&task_def, NULL, argc, argv);
}
