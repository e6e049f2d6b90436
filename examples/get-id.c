/* SPDX-License-Identifier: MIT */
/*
 * get-id - crb README, "Interactions": a Server reserves an id in answer
 * to a GetId request; a Client configures itself by asking for ids and
 * handles the responses as messages (OnResponse).
 *
 *	impl OnRequest<GetId> for Server {
 *		async on_request(&mut self, _: GetId, ctx) -> Result<usize> {
 *			Ok(self.slab.insert(record))
 *		}
 *	}
 *	impl Duty<Configure> for Client {
 *		async fn once(&mut self, _: &mut Configure, ctx) -> Result<Next<Self>> {
 *			self.server.request(GetId)?.forward_to(ctx)?;
 *			Ok(Next::events())
 *		}
 *	}
 *	impl OnResponse<GetId> for Client {
 *		async on_response(&mut self, id: usize, ctx) -> Result<()> {
 *			println!("Reserved id: {id}");
 *		}
 *	}
 *
 * on_request answers with agent_reply() (or returns -errno, which travels
 * back to the caller: the slab here has 3 slots and the 4th request gets
 * -ENOSPC). Responses reach the client's mailbox in FIFO order with the
 * tag it chose; every request has a timeout (the default 30 s here).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <agent/agent.h>

#define SLOTS		3
#define REQUESTS	4

/* GetId: no request payload; the response payload is a malloc'd size_t */
static const struct agent_msg_type get_id = {
	.name = "GetId",
	.reply_free = free,
};

/* ---- Server ---------------------------------------------------------------- */

struct record {
	uint64_t owner; /* id of the agent that reserved the slot */
};

struct server {
	struct record slab[SLOTS];
	bool used[SLOTS];
};

static int
server_on_get_id(agent *a, agent_msg *m)
{
	struct server *self = agent_self(a);
	agent *from = agent_msg_sender(m);
	size_t *id;

	for (size_t i = 0; i < SLOTS; i++) {
		if (self->used[i])
			continue;
		id = malloc(sizeof(*id));
		if (!id)
			return -ENOMEM;
		self->used[i] = true;
		self->slab[i].owner = from ? agent_id(from) : 0;
		*id = i;
		return agent_reply(a, m, id); /* takes id */
	}
	return -ENOSPC; /* sent back to the caller */
}

static const struct agent_handler server_handlers[] = {
	{ .type = &get_id, .on_request = server_on_get_id },
	{ NULL },
};

static const struct agent_def server_def = {
	.name = "server",
	.handlers = server_handlers,
};

/* ---- Client ---------------------------------------------------------------- */

struct client {
	agent *server; /* crb: Address<Server> */
	unsigned answers;
};

static agent_step
configure_once(agent *a, void *data)
{
	struct client *self = agent_self(a);

	for (uint64_t tag = 1; tag <= REQUESTS; tag++) {
		int64_t r = agent_request(a, self->server, &get_id, NULL, 0,
					  tag);
		if (r < 0)
			return agent_error((int)r);
	}
	return agent_events(); /* the responses come as messages */
}

static const struct agent_state configure = {
	.name = "Configure",
	.once = configure_once,
};

static int
client_on_get_id(agent *a, agent_msg *m)
{
	struct client *self = agent_self(a);
	int err = agent_msg_error(m);

	if (err < 0)
		printf("request %llu: no id: %s\n",
		       (unsigned long long)agent_msg_tag(m), strerror(-err));
	else
		printf("Reserved id: %zu\n", *(size_t *)agent_msg_payload(m));
	if (++self->answers == REQUESTS)
		return agent_shutdown(a);
	return 0;
}

static const struct agent_handler client_handlers[] = {
	{ .type = &get_id, .on_response = client_on_get_id },
	{ NULL },
};

static agent_step
client_begin(agent *a)
{
	return agent_async(&configure, NULL);
}

static const struct agent_def client_def = {
	.name = "client",
	.begin = client_begin,
	.handlers = client_handlers,
};

int
main(void)
{
	struct server server = { 0 };
	struct client client = { 0 };
	agent_loop *loop = NULL;
	agent *s = NULL, *c = NULL;
	int r;

	/* two agents on one loop (one thread) */
	r = agent_loop_new(&loop);
	if (r >= 0)
		r = agent_new(&s, loop, &server_def, &server);
	if (r >= 0) {
		client.server = s;
		r = agent_new(&c, loop, &client_def, &client);
	}
	if (r >= 0)
		r = agent_start(s);
	if (r >= 0)
		r = agent_run(c); /* until the client ends */
	if (r >= 0)
		printf("client ended: %s\n", agent_exit_reason_to_string(r));
	if (r >= 0)
		r = agent_interrupt(s, AGENT_LEVEL_EVENT);
	if (r >= 0)
		r = agent_run(s);
	if (r >= 0)
		printf("server ended: %s\n", agent_exit_reason_to_string(r));
	if (r < 0)
		fprintf(stderr, "get-id: %s\n", strerror(-r));
	agent_unref(c);
	agent_unref(s);
	agent_loop_unref(loop);
	return r < 0 ? 1 : 0;
}
