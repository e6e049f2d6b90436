/* SPDX-License-Identifier: MIT */
/*
 * bench-agent - the smallest useful libagent agent, for bench-agentd.
 *
 * It runs as an actor with no handlers until it is stopped. Two optional
 * environment variables (agentd passes its environment on to agents):
 *   BENCH_STAMP=PATH  a FIFO the benchmark reads: the agent writes one
 *                     struct bench_stamp when main() starts (kind 0) and
 *                     one when begin() runs (kind 1), i.e. just before
 *                     libagent sends READY. Opened non-blocking: without a
 *                     reader, or with a full FIFO, the stamp is dropped.
 *   BENCH_EXIT=1      begin() ends the agent at once (exit status 0): the
 *                     "fork+exec of the same binary" baseline.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <agent/agent.h>

#include "bench-stamp.h"

static const char *stamp_path;

static void
stamp(uint32_t kind)
{
	struct bench_stamp s = { .pid = (uint32_t)getpid(), .kind = kind };
	struct timespec ts;
	int fd;

	if (!stamp_path)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	s.ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	fd = open(stamp_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	/* one write of 16 bytes < PIPE_BUF: atomic among all writers */
	(void)!write(fd, &s, sizeof(s));
	close(fd);
}

static agent_step
bench_begin(agent *a)
{
	const char *e = getenv("BENCH_EXIT");

	stamp(BENCH_STAMP_BEGIN);
	if (e && strcmp(e, "1") == 0)
		return agent_done();
	return agent_events();
}

static const struct agent_handler handlers[] = {
	{ 0 },
};

static const struct agent_def bench_def = {
	.name = "bench-agent",
	.begin = bench_begin,
	.handlers = handlers,
};

int
main(int argc, char **argv)
{
	static char self;

	stamp_path = getenv("BENCH_STAMP");
	stamp(BENCH_STAMP_MAIN);
	return agent_main(&bench_def, &self, argc, argv);
}
