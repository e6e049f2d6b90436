/* SPDX-License-Identifier: MIT */
/*
 * actor - crb README, "Actor Model": an agent without a begin state is an
 * actor; it handles typed messages, one handler per message type.
 *
 *	struct Actor;
 *	impl Agent for Actor {}
 *	struct AddUrl { url: Url }
 *	impl OnEvent<AddUrl> for Actor {
 *		async handle(&mut self, event: AddUrl, ctx: &mut Context<Self>) -> Result<()>
 *	}
 *	struct DeleteUrl { url: Url }
 *	impl OnEvent<DeleteUrl> for Actor { ... }
 *
 * The context lets a handler send messages, stop the actor, or schedule a
 * state with agent_do_next(). "State transitions have the highest
 * priority": a scheduled state runs before the messages already queued,
 * which wait until the agent is back in actor mode (here: Report).
 * A handler that fails (DeleteUrl of an unknown URL) is reported through
 * on_failed and the actor keeps running.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <agent/agent.h>

#define MAX_URLS 16

struct actor {
	char *urls[MAX_URLS];
	size_t n;
};

/* message types: the payload of AddUrl and DeleteUrl is a malloc'd URL */
static const struct agent_msg_type add_url = { .name = "AddUrl", .free = free };
static const struct agent_msg_type delete_url = { .name = "DeleteUrl", .free = free };
static const struct agent_msg_type report = { .name = "Report" };

static void
print_urls(struct actor *self, const char *what)
{
	printf("%s:", what);
	for (size_t i = 0; i < self->n; i++)
		printf(" %s", self->urls[i]);
	printf(" (%zu)\n", self->n);
}

static int
on_add_url(agent *a, agent_msg *m)
{
	struct actor *self = agent_self(a);

	if (self->n == MAX_URLS)
		return -ENOSPC;
	self->urls[self->n++] = agent_msg_take_payload(m);
	printf("AddUrl %s\n", self->urls[self->n - 1]);
	return 0;
}

static int
on_delete_url(agent *a, agent_msg *m)
{
	struct actor *self = agent_self(a);
	const char *url = agent_msg_payload(m);

	for (size_t i = 0; i < self->n; i++) {
		if (strcmp(self->urls[i], url) == 0) {
			free(self->urls[i]);
			self->urls[i] = self->urls[--self->n];
			printf("DeleteUrl %s\n", url);
			return 0;
		}
	}
	return -ENOENT; /* reported to on_failed; the actor lives on */
}

/* Report: a sync state scheduled from a handler, then back to events. */
static agent_step
report_once(agent *a, void *data)
{
	print_urls(agent_self(a), "Report (a state, before the queued messages)");
	return agent_events();
}

static const struct agent_state report_state = {
	.name = "Report",
	.once = report_once,
};

static int
on_report(agent *a, agent_msg *m)
{
	return agent_do_next(a, agent_sync(&report_state, NULL));
}

static const struct agent_handler actor_handlers[] = {
	{ .type = &add_url, .on_event = on_add_url },
	{ .type = &delete_url, .on_event = on_delete_url },
	{ .type = &report, .on_event = on_report },
	{ NULL },
};

static void
actor_failed(agent *a, int err, agent_msg *m)
{
	printf("%s failed: %s; the actor keeps running\n",
	       m ? agent_msg_get_type(m)->name : "actor", strerror(-err));
}

static void
actor_finalize(agent *a, enum agent_exit_reason reason)
{
	print_urls(agent_self(a), "finalize");
}

static const struct agent_def actor_def = {
	.name = "actor",
	/* no begin: an actor */
	.handlers = actor_handlers,
	.on_failed = actor_failed,
	.finalize = actor_finalize,
};

static int
send_url(agent *to, const struct agent_msg_type *type, const char *url)
{
	char *payload = strdup(url);

	if (!payload)
		return -ENOMEM;
	return agent_send(to, type, payload); /* takes payload */
}

int
main(void)
{
	struct actor self = { 0 };
	agent *a;
	int r, reason;

	r = agent_new(&a, NULL, &actor_def, &self);
	if (r < 0) {
		fprintf(stderr, "actor: %s\n", strerror(-r));
		return 1;
	}
	r = agent_start(a);
	/* Queue messages as other actors would; they run once the loop runs. */
	if (r >= 0)
		r = send_url(a, &add_url, "https://www.rust-lang.org");
	if (r >= 0)
		r = send_url(a, &add_url, "https://www.crates.io");
	if (r >= 0)
		r = agent_send(a, &report, NULL);
	if (r >= 0)
		r = send_url(a, &add_url, "https://knowledge.dev");
	if (r >= 0)
		r = send_url(a, &delete_url, "https://example.invalid");
	if (r >= 0)
		r = send_url(a, &delete_url, "https://www.crates.io");
	/* crb's address.interrupt(): an interrupt message in FIFO order; the
	 * default on_interrupt drains what is queued, then the actor ends. */
	if (r >= 0)
		r = agent_interrupt(a, AGENT_LEVEL_EVENT);
	if (r < 0) {
		fprintf(stderr, "actor: %s\n", strerror(-r));
		agent_unref(a);
		return 1;
	}
	reason = agent_run(a);
	printf("actor ended: %s\n", agent_exit_reason_to_string(reason));
	agent_unref(a);
	for (size_t i = 0; i < self.n; i++)
		free(self.urls[i]);
	return reason < 0 ? 1 : 0;
}
