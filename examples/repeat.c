/* SPDX-License-Identifier: MIT */
/*
 * repeat - crb README, "Repeated routines": repeat() runs again and again
 * until it returns the next state; here it loads a page until that works.
 *
 *	impl DoAsync for Task {
 *		async fn repeat(&mut self, _: &mut ()) -> Result<Option<Next<Self>>> {
 *			reqwest::get("https://www.rust-lang.org").await?.text().await?;
 *			Ok(Some(Next::done()))
 *		}
 *	}
 *
 * crb's Ok(None) ("not yet, repeat") is agent_again(). A failed attempt
 * returns agent_error(); repair() swallows it (returns >= 0), so the
 * engine calls repeat() again instead of going to the fallback. The
 * local page server fails the first 3 requests with 503.
 *
 * Usage: repeat [URL]
 */
#include <stdio.h>
#include <stdlib.h>

#include <agent/agent.h>

#include "web.h"

#define FAILURES 3

struct task {
	char *url;
	struct web_fetch *fetch;
	unsigned attempt;
};

static agent_step
loaded(agent *a, void *data, agent_msg *m)
{
	struct task *t = agent_self(a);
	const char *text;
	int r;

	r = web_fetch_text(t->fetch, &text, NULL);
	if (r < 0)
		return agent_error(r);
	printf("attempt %u: loaded %s", t->attempt, text);
	return agent_done(); /* crb: Ok(Some(Next::done())) */
}

static agent_step
task_repeat(agent *a, void *data)
{
	struct task *t = agent_self(a);
	int r;

	web_fetch_free(t->fetch);
	t->fetch = NULL;
	t->attempt++;
	r = web_get(a, t->url, &t->fetch, loaded);
	if (r < 0)
		return agent_error(r);
	return agent_wait();
}

static int
task_repair(agent *a, void *data, int err)
{
	struct task *t = agent_self(a);

	printf("attempt %u: %s, repeating\n", t->attempt,
	       t->fetch ? web_fetch_error(t->fetch) : "no request");
	return 0; /* swallowed: repeat() runs again */
}

static const struct agent_state task_state = {
	.name = "Task",
	.repeat = task_repeat,
	.repair = task_repair,
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
