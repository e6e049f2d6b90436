/* SPDX-License-Identifier: MIT */
/*
 * fallback - crb README, "Fallbacks": the async task of async-task.c with a
 * fallback that changes the course of action on an error: it logs the
 * error and enters the same state again, until the page loads.
 *
 *	impl DoAsync for Task {
 *		async fn fallback(&mut self, err: Error) -> Next<Self> {
 *			log::error!("Can't load a page: {err}. Trying again...");
 *			Next::do_async(())
 *		}
 *	}
 *
 * The local page server answers the first 2 requests with 503, so the
 * fallback runs twice before the third attempt succeeds.
 *
 * Usage: fallback [URL]
 */
#include <stdio.h>
#include <stdlib.h>

#include <agent/agent.h>

#include "web.h"

#define FAILURES 2 /* requests the local server fails on purpose */

struct task {
	char *url;
	struct web_fetch *fetch;
	unsigned attempts;
};

static agent_step
loaded(agent *a, void *data, agent_msg *m)
{
	struct task *t = agent_self(a);
	size_t len;
	const char *text;
	int r;

	r = web_fetch_text(t->fetch, &text, &len);
	if (r < 0)
		return agent_error(r); /* to the fallback */
	printf("loaded %s (%zu bytes) after %u attempts\n", t->url, len,
	       t->attempts);
	return agent_done();
}

static agent_step
task_once(agent *a, void *data)
{
	struct task *t = agent_self(a);
	int r;

	web_fetch_free(t->fetch); /* the previous attempt, if any */
	t->fetch = NULL;
	t->attempts++;
	r = web_get(a, t->url, &t->fetch, loaded);
	if (r < 0)
		return agent_error(r);
	return agent_wait();
}

static agent_step task_fallback(agent *a, void *data, int err);

static const struct agent_state task_state = {
	.name = "Task",
	.once = task_once,
	.fallback = task_fallback,
};

static agent_step
task_fallback(agent *a, void *data, int err)
{
	struct task *t = agent_self(a);

	printf("Can't load a page: %s. Trying again...\n",
	       t->fetch ? web_fetch_error(t->fetch) : "no request");
	return agent_async(&task_state, NULL);
}

static agent_step
task_begin(agent *a)
{
	return agent_async(&task_state, NULL);
}

static const struct agent_def task_def = {
	.name = "task",
	.begin = task_begin,
};

int
main(int argc, char **argv)
{
	struct web_server *srv;
	struct task task = { 0 };
	int reason;

	task.url = web_page_url(argc, argv, FAILURES, "/rust-lang", &srv);
	if (!task.url)
		return 1;
	reason = agent_main(&task_def, &task, argc, argv);
	printf("task ended: %s\n", agent_exit_reason_to_string(reason));
	web_fetch_free(task.fetch);
	web_server_stop(srv);
	free(task.url);
	return reason;
}
