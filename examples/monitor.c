/* SPDX-License-Identifier: MIT */
/*
 * monitor - crb README, "Mutable states": a monitor that polls a site and
 * counts successful attempts in the data of its state, without touching
 * the task's own struct. The data survives across repeat() calls.
 *
 *	struct Monitor { total: u64, success: u64 }
 *	impl DoAsync<Monitor> for Task {
 *		async fn repeat(&mut self, state: &mut Monitor) -> Result<Option<Next<Self>>> {
 *			state.total += 1;
 *			reqwest::get("https://www.rust-lang.org").await?.error_for_status()?;
 *			state.success += 1;
 *			sleep(Duration::from_secs(10)).await;
 *			Ok(None)
 *		}
 *	}
 *
 * Two awaits in a row (the GET, then the sleep): each completion returns
 * the next step, agent_wait() after starting the next await, agent_again()
 * (crb's Ok(None)) after the sleep. A failed poll is counted and the
 * monitor sleeps all the same (crb's `?` would end it at the first
 * error). crb's monitor polls forever every 10 s; this one polls every
 * 100 ms and stops after POLLS polls so that it can be tested. The local
 * page server fails the first 2 requests.
 *
 * Usage: monitor [URL [POLLS]]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <agent/agent.h>

#include "web.h"

#define FAILURES	2
#define PERIOD_USEC	(100 * AGENT_USEC_PER_MSEC)

struct task {
	char *url;
	uint64_t polls; /* stop after that many (crb: never) */
};

struct monitor {
	uint64_t total;
	uint64_t success;
	struct web_fetch *fetch;
};

static void
monitor_free(void *data)
{
	struct monitor *s = data;

	web_fetch_free(s->fetch);
	free(s);
}

static agent_step
slept(agent *a, void *data, agent_msg *m)
{
	return agent_again(); /* crb: Ok(None) */
}

static agent_step
polled(agent *a, void *data, agent_msg *m)
{
	struct monitor *s = data;
	const char *text;
	int r;

	r = web_fetch_text(s->fetch, &text, NULL);
	if (r < 0) {
		printf("poll %" PRIu64 ": %s\n", s->total,
		       web_fetch_error(s->fetch));
	} else {
		s->success++;
		printf("poll %" PRIu64 ": ok\n", s->total);
	}
	r = agent_await_sleep(a, PERIOD_USEC, slept);
	if (r < 0)
		return agent_error(r);
	return agent_wait();
}

static agent_step
monitor_repeat(agent *a, void *data)
{
	struct task *t = agent_self(a);
	struct monitor *s = data;
	int r;

	if (s->total == t->polls) {
		printf("monitor: %" PRIu64 " polls, %" PRIu64 " successful\n",
		       s->total, s->success);
		return agent_done();
	}
	web_fetch_free(s->fetch);
	s->fetch = NULL;
	s->total++;
	r = web_get(a, t->url, &s->fetch, polled);
	if (r < 0)
		return agent_error(r);
	return agent_wait();
}

static const struct agent_state monitor_state = {
	.name = "Monitor",
	.repeat = monitor_repeat,
	.free_data = monitor_free,
};

static agent_step
task_begin(agent *a)
{
	struct monitor *s = calloc(1, sizeof(*s));

	if (!s)
		return agent_fail(-ENOMEM);
	return agent_async(&monitor_state, s);
}

static const struct agent_def task_def = {
	.name = "task",
	.begin = task_begin,
};

int
main(int argc, char **argv)
{
	struct web_server *srv;
	struct task task = { .polls = 5 };
	int reason;

	if (argc > 2)
		task.polls = strtoull(argv[2], NULL, 10);
	task.url = web_page_url(argc, argv, FAILURES, "/rust-lang", &srv);
	if (!task.url)
		return 1;
	reason = agent_main(&task_def, &task, argc, argv);
	web_server_stop(srv);
	free(task.url);
	return reason;
}
