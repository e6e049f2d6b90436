/* SPDX-License-Identifier: MIT */
/*
 * async-task - crb README, "Asynchronous tasks": a task that performs one
 * asynchronous activity (it loads a page) and then terminates.
 *
 *	impl Agent for Task {
 *		fn begin(&mut self) -> Next<Self> { Next::do_async(()) }
 *	}
 *	impl DoAsync for Task {
 *		async fn once(&mut self, _: &mut ()) -> Result<Next<Self>> {
 *			reqwest::get("https://www.rust-lang.org").await?.text().await?;
 *			Ok(Next::done())
 *		}
 *	}
 *
 * In C there is no .await: once() starts the request and returns
 * agent_wait(); the completion callback decides the next step. An error
 * returned as agent_error() goes to the state's fallback, which by default
 * fails the agent (crb's `?`).
 *
 * Usage: async-task [URL]   (default: a page of a local server it starts)
 */
#include <stdio.h>
#include <stdlib.h>

#include <agent/agent.h>

#include "web.h"

struct task {
	char *url;
	struct web_fetch *fetch; /* the request in flight */
};

static agent_step
loaded(agent *a, void *data, agent_msg *m)
{
	struct task *t = agent_self(a);
	const char *text;
	size_t len;
	int r;

	r = web_fetch_text(t->fetch, &text, &len);
	if (r < 0) {
		printf("can't load %s: %s\n", t->url, web_fetch_error(t->fetch));
		return agent_error(r);
	}
	printf("loaded %s (%zu bytes)\n", t->url, len);
	return agent_done();
}

static agent_step
task_once(agent *a, void *data)
{
	struct task *t = agent_self(a);
	int r;

	r = web_get(a, t->url, &t->fetch, loaded);
	if (r < 0)
		return agent_error(r);
	return agent_wait();
}

static const struct agent_state task_state = {
	.name = "Task",
	.once = task_once,
};

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

	task.url = web_page_url(argc, argv, 0, "/rust-lang", &srv);
	if (!task.url)
		return 1;
	reason = agent_main(&task_def, &task, argc, argv);
	printf("task ended: %s\n", agent_exit_reason_to_string(reason));
	web_fetch_free(task.fetch);
	web_server_stop(srv);
	free(task.url);
	return reason;
}
