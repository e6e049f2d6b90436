/* SPDX-License-Identifier: MIT */
/*
 * get-page - crb README, "Multiple states (state-machines)": an agent that
 * prints a web page. GetPage (async, on the loop) loads it and hands the
 * text to Print (sync, on a worker thread), which prints it.
 *
 *	fn begin(&mut self) -> Next<Self> {
 *		Next::do_async(GetPage { url })
 *	}
 *	impl DoAsync<GetPage> for Task {
 *		async fn once(&mut self, state: &mut GetPage) -> Result<Next<Self>> {
 *			let text = reqwest::get(state.url).await?.text().await?;
 *			Ok(Next::do_sync(Print { text }))
 *		}
 *	}
 *	impl DoSync<Print> for Task {
 *		fn once(&mut self, state: &mut Print) -> Result<Next<Self>> {
 *			println!("{}", state.text);
 *			Ok(Next::done())
 *		}
 *	}
 *
 * Each state's data is a struct owned by the state: it is freed (with the
 * state's free_data) when the agent leaves the state.
 *
 * Usage: get-page [URL]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <agent/agent.h>

#include "web.h"

struct get_page {
	char *url;
	struct web_fetch *fetch;
};

struct print {
	char *text;
};

static void
get_page_free(void *data)
{
	struct get_page *s = data;

	web_fetch_free(s->fetch);
	free(s->url);
	free(s);
}

static void
print_free(void *data)
{
	struct print *s = data;

	free(s->text);
	free(s);
}

static agent_step
print_once(agent *a, void *data)
{
	struct print *s = data;

	fputs(s->text, stdout);
	return agent_done();
}

static const struct agent_state print_state = {
	.name = "Print",
	.once = print_once,
	.free_data = print_free,
};

static agent_step
got_page(agent *a, void *data, agent_msg *m)
{
	struct get_page *s = data;
	struct print *p;
	const char *text;
	int r;

	r = web_fetch_text(s->fetch, &text, NULL);
	if (r < 0) {
		printf("can't load %s: %s\n", s->url, web_fetch_error(s->fetch));
		return agent_error(r);
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->text = strdup(text))) {
		free(p);
		return agent_error(-ENOMEM);
	}
	return agent_sync(&print_state, p);
}

static agent_step
get_page_once(agent *a, void *data)
{
	struct get_page *s = data;
	int r;

	r = web_get(a, s->url, &s->fetch, got_page);
	if (r < 0)
		return agent_error(r);
	return agent_wait();
}

static const struct agent_state get_page_state = {
	.name = "GetPage",
	.once = get_page_once,
	.free_data = get_page_free,
};

struct task {
	const char *url;
};

static agent_step
task_begin(agent *a)
{
	struct task *t = agent_self(a);
	struct get_page *s;

	s = calloc(1, sizeof(*s));
	if (!s || !(s->url = strdup(t->url))) {
		free(s);
		return agent_fail(-ENOMEM);
	}
	return agent_async(&get_page_state, s);
}

static const struct agent_def task_def = {
	.name = "task",
	.begin = task_begin,
};

int
main(int argc, char **argv)
{
	struct web_server *srv;
	struct task task;
	char *url;
	int reason;

	url = web_page_url(argc, argv, 0, "/rust-lang", &srv);
	if (!url)
		return 1;
	task.url = url;
	reason = agent_main(&task_def, &task, argc, argv);
	web_server_stop(srv);
	free(url);
	return reason;
}
