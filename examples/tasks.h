/* SPDX-License-Identifier: MIT */
/*
 * tasks.h - ConcurrentTask (concurrent-task.c) and ParallelTask
 * (parallel-task.c), reused as sub-agents by run-both.c, as crb's README
 * reuses them in RunBoth.
 */
#ifndef EXAMPLES_TASKS_H
#define EXAMPLES_TASKS_H

#include <agent/agent.h>

/* self of concurrent_task_def: where the pages are */
struct concurrent_task {
	const char *base_url; /* borrowed */
};
extern const struct agent_def concurrent_task_def;

/* self of parallel_task_def (may be NULL) */
extern const struct agent_def parallel_task_def;

#endif
