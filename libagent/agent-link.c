/* SPDX-License-Identifier: MIT */
/* agent-link.c - placeholder while the link lands. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#include "agent-internal.h"

void
agent__remote_free(agent_loop *l)
{
	(void)l;
}

int
agent__remote_reply(agent *self, agent_msg *m, int err, void *payload)
{
	(void)self; (void)err;
	if (payload && m->type && m->type->reply_free)
		m->type->reply_free(payload);
	return -ENOTCONN;
}

void
agent__remote_cancel(agent_loop *l, struct agent_req *r)
{
	(void)l; (void)r;
}

int agent__request_remote(agent *self, const char *name,
			  const struct agent_msg_type *type, void *payload,
			  uint64_t timeout_usec, uint64_t tag,
			  struct agent_await *w);
int
agent__request_remote(agent *self, const char *name,
		      const struct agent_msg_type *type, void *payload,
		      uint64_t timeout_usec, uint64_t tag, struct agent_await *w)
{
	(void)self; (void)name; (void)timeout_usec; (void)tag; (void)w;
	if (payload && type && type->free)
		type->free(payload);
	return -ENOTCONN;
}

_public_ int
agent_send_remote(agent *self, const char *name,
		  const struct agent_msg_type *type, void *payload)
{
	return (int)agent__request_remote(self, name, type, payload, 0, 0, NULL);
}

_public_ int
agent_send_remote_body(agent *self, const char *name, const char *kind,
		       const void *body, size_t len)
{
	(void)self; (void)name; (void)kind; (void)body; (void)len;
	return -ENOTCONN;
}

_public_ int64_t
agent_request_remote(agent *self, const char *name,
		     const struct agent_msg_type *type, void *payload,
		     uint64_t timeout_usec, uint64_t tag)
{
	return agent__request_remote(self, name, type, payload, timeout_usec,
				     tag, NULL);
}

_public_ int
agent_listen(agent *a, const char *url)
{
	(void)a; (void)url;
	return -EOPNOTSUPP;
}

_public_ int
agent_main(const struct agent_def *def, void *self, int argc, char **argv)
{
	agent *a;
	int r;

	(void)argc; (void)argv;
	r = agent_new(&a, NULL, def, self);
	if (r < 0)
		return 1;
	r = agent_run(a);
	agent_unref(a);
	return r < 0 ? 1 : r;
}
