/* SPDX-License-Identifier: MIT */
/*
 * parallel-task - crb README, "Parallel Task": a sync state fans CPU work
 * out over the worker pool (crb: rayon's into_par_iter) and waits for it.
 *
 *	impl DoSync for ParallelTask {
 *		fn once(&mut self, _: &mut ()) -> Result<Next<Self>> {
 *			let numbers = vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
 *			let squares = numbers.into_par_iter().map(|n| n * n).collect();
 *			Ok(Next::done())
 *		}
 *	}
 *
 * The state runs on a worker thread, so the loop (and any other agent on
 * it) keeps going; agent_parallel() runs square(i) for every i across the
 * pool and the calling worker, and returns when all are done.
 */
#include <stdio.h>

#include <agent/agent.h>

#include "tasks.h"

#define N 10

struct squares {
	int numbers[N];
	int squares[N];
};

static void
square(size_t i, void *arg)
{
	struct squares *s = arg;

	s->squares[i] = s->numbers[i] * s->numbers[i];
}

static agent_step
parallel_once(agent *a, void *data)
{
	struct squares s;
	int r;

	for (int i = 0; i < N; i++)
		s.numbers[i] = i + 1;
	r = agent_parallel(a, N, square, &s);
	if (r < 0)
		return agent_error(r);
	printf("squares:");
	for (int i = 0; i < N; i++)
		printf(" %d", s.squares[i]);
	printf("\n");
	return agent_done();
}

static const struct agent_state parallel_state = {
	.name = "ParallelTask",
	.once = parallel_once,
};

static agent_step
parallel_begin(agent *a)
{
	return agent_sync(&parallel_state, NULL);
}

const struct agent_def parallel_task_def = {
	.name = "parallel-task",
	.begin = parallel_begin,
};

#ifndef EXAMPLES_TASKS_ONLY
int
main(int argc, char **argv)
{
	return agent_main(&parallel_task_def, NULL, argc, argv);
}
#endif
