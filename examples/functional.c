/* SPDX-License-Identifier: MIT */
/*
 * functional - crb README, "Functional activities (fn or Future as tasks)"
 * (a "todo" in the README; crb has RunMission::new_sync/new_async): a plain
 * function run as a one-shot agent, with a result.
 *
 *  - sum_of_powers() is a sync function: it runs on a worker thread and
 *    returns 0 (done) or -errno (failed), leaving its result with
 *    agent_set_result();
 *  - load_page() is an async function: it runs on the loop as a one-state
 *    async agent and may await (here a GET); its completion sets the
 *    result.
 *
 * Both are started with agent_new_*_fn() and run with agent_run() (crb:
 * .await), and the caller reads the result with agent_get_result().
 *
 * Usage: functional [URL]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <agent/agent.h>

#include "web.h"

/* ---- a sync function --------------------------------------------------------- */

static int
sum_of_powers(agent *a, void *arg)
{
	const unsigned *exponent = arg;
	uint64_t *sum = calloc(1, sizeof(*sum));

	if (!sum)
		return -ENOMEM;
	for (uint64_t x = 1; x <= 20; x++) {
		uint64_t p = 1;
		for (unsigned i = 0; i < *exponent; i++)
			p *= x;
		*sum += p;
	}
	return agent_set_result(a, sum, free);
}

/* ---- an async function --------------------------------------------------- */

struct page_job {
	const char *url;
	struct web_fetch *fetch; /* freed with the job */
};

static void
page_job_free(void *arg)
{
	struct page_job *j = arg;

	web_fetch_free(j->fetch);
}

static agent_step
page_loaded(agent *a, void *data, agent_msg *m)
{
	struct web_fetch *f = web_fetch_of(m);
	const char *text;
	char *copy;
	int r;

	r = web_fetch_text(f, &text, NULL);
	if (r < 0)
		return agent_error(r);
	copy = strdup(text);
	if (!copy || agent_set_result(a, copy, free) < 0)
		return agent_error(-ENOMEM);
	return agent_done();
}

static agent_step
load_page(agent *a, void *arg)
{
	struct page_job *j = arg;
	int r;

	r = web_get(a, j->url, &j->fetch, page_loaded);
	return r < 0 ? agent_error(r) : agent_wait();
}

int
main(int argc, char **argv)
{
	struct web_server *srv;
	unsigned exponent = 10;
	struct page_job job = { 0 };
	char *url;
	agent *a;
	int r;

	/* sync: sum of x^10 for x in 1..=20 */
	r = agent_new_sync_fn(&a, NULL, sum_of_powers, &exponent, NULL);
	if (r < 0)
		return 1;
	r = agent_run(a);
	if (r == AGENT_EXIT_DONE)
		printf("sum_of_powers: %" PRIu64 "\n",
		       *(uint64_t *)agent_get_result(a));
	else
		printf("sum_of_powers: %s\n", agent_exit_reason_to_string(r));
	agent_unref(a);

	/* async: load a page */
	url = web_page_url(argc, argv, 0, "/knowledge.dev", &srv);
	if (!url)
		return 1;
	job.url = url;
	r = agent_new_async_fn(&a, NULL, load_page, &job, page_job_free);
	if (r >= 0) {
		r = agent_run(a);
		if (r == AGENT_EXIT_DONE)
			printf("load_page: %s", (char *)agent_get_result(a));
		else
			printf("load_page: %s (%s)\n",
			       agent_exit_reason_to_string(r),
			       job.fetch ? web_fetch_error(job.fetch) : "");
		agent_unref(a);
	}
	web_server_stop(srv);
	free(url);
	return r == AGENT_EXIT_DONE ? 0 : 1;
}
