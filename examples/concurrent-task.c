/* SPDX-License-Identifier: MIT */
/*
 * concurrent-task - crb README, "Concurrent Task": one async state starts
 * several requests at once and joins them (crb: future::join_all).
 *
 *	impl DoAsync for ConcurrentTask {
 *		async fn once(&mut self, _: &mut ()) -> Result<Next<Self>> {
 *			let urls = vec![ "https://www.rust-lang.org", ... ];
 *			let futures = urls.into_iter().map(|url| reqwest::get(url));
 *			future::join_all(futures).await;
 *			Ok(Next::done())
 *		}
 *	}
 *
 * once() starts every GET, then returns agent_wait(). Each completion
 * runs on the loop; it returns agent_wait() while others are still in
 * flight, and the next step once the last one has arrived: that is the
 * join. The fetches live in the state's data, so leaving the state early
 * (an interruption) cancels those still in flight.
 *
 * Usage: concurrent-task [BASE_URL]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <agent/agent.h>

#include "tasks.h"
#include "web.h"

static const char *const paths[] = {
	"/www.rust-lang.org",
	"/www.crates.io",
	"/crateful.substack.com",
	"/knowledge.dev",
};
#define N_PAGES (sizeof(paths) / sizeof(paths[0]))

struct join {
	struct web_fetch *fetch[N_PAGES];
	unsigned in_flight;
};

static void
join_free(void *data)
{
	struct join *j = data;

	for (size_t i = 0; i < N_PAGES; i++)
		web_fetch_free(j->fetch[i]);
	free(j);
}

static agent_step
loaded(agent *a, void *data, agent_msg *m)
{
	struct join *j = data;
	struct web_fetch *f = web_fetch_of(m);
	const char *text;
	size_t len;

	if (web_fetch_text(f, &text, &len) < 0)
		printf("can't load %s: %s\n", web_fetch_url(f),
		       web_fetch_error(f));
	else
		printf("loaded %s (%zu bytes)\n", web_fetch_url(f), len);
	if (--j->in_flight > 0)
		return agent_wait(); /* the others are still in flight */
	printf("joined %zu pages\n", N_PAGES);
	return agent_done();
}

static agent_step
concurrent_once(agent *a, void *data)
{
	struct concurrent_task *t = agent_self(a);
	struct join *j = data;

	for (size_t i = 0; i < N_PAGES; i++) {
		char *url = web_url(t->base_url, paths[i]);
		int r;

		if (!url)
			return agent_error(-ENOMEM);
		r = web_get(a, url, &j->fetch[i], loaded);
		free(url);
		if (r < 0)
			return agent_error(r);
		j->in_flight++;
	}
	printf("%u requests in flight\n", j->in_flight);
	return agent_wait();
}

static const struct agent_state concurrent_state = {
	.name = "ConcurrentTask",
	.once = concurrent_once,
	.free_data = join_free,
};

static agent_step
concurrent_begin(agent *a)
{
	struct join *j = calloc(1, sizeof(*j));

	if (!j)
		return agent_fail(-ENOMEM);
	return agent_async(&concurrent_state, j);
}

const struct agent_def concurrent_task_def = {
	.name = "concurrent-task",
	.begin = concurrent_begin,
};

#ifndef EXAMPLES_TASKS_ONLY
int
main(int argc, char **argv)
{
	struct web_server *srv;
	struct concurrent_task task;
	char *base;
	int reason;

	base = web_page_url(argc, argv, 0, "", &srv);
	if (!base)
		return 1;
	task.base_url = base;
	reason = agent_main(&concurrent_task_def, &task, argc, argv);
	web_server_stop(srv);
	free(base);
	return reason;
}
#endif
