/* SPDX-License-Identifier: MIT */
/*
 * agent-remote.c - the per-loop context of everything that crosses the
 * process boundary (agent-remote.h): made on first use from the
 * environment ($AGENTD_NAME, $AGENTD_RUNTIME_DIR, the TLS files), torn
 * down with the loop. Also the one check of a URL's scheme, the count of
 * malformed input dropped, and the public counters and flush.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-remote.h"

static void
sanitize_name(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	for (; src && *src && n + 1 < size && n < PROTO_NAME_MAX; src++) {
		char c = *src;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		    c == '.' || c == ':')
			dst[n++] = c;
	}
	if (n == 0 || dst[0] == '.' || dst[0] == '-')
		n = (size_t)snprintf(dst, size, "agent");
	dst[n] = '\0';
}

struct agent_remote_ctx *
agent__remote_get(agent_loop *l, agent *hint)
{
	struct agent_remote_ctx *rc = l->remote;
	const char *e;

	if (rc)
		return rc;
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return NULL;
	rc->loop = l;
	agent__tnode_init(&rc->resume, agent__inbox_resume_fire);
	agent__tnode_init(&rc->sub_check, agent__pubsub_check_fire);
	e = getenv("AGENTD_NAME");
	if (e && proto_name_is_valid(e, strlen(e)))
		snprintf(rc->name, sizeof(rc->name), "%s", e);
	else
		sanitize_name(rc->name, sizeof(rc->name),
			      hint ? hint->def->name : "agent");
	e = getenv("AGENTD_TLS_CERT_KEY_FILE");
	if (e && strlen(e) < sizeof(rc->tls_cert_key))
		snprintf(rc->tls_cert_key, sizeof(rc->tls_cert_key), "%s", e);
	e = getenv("AGENTD_TLS_CA_FILE");
	if (e && strlen(e) < sizeof(rc->tls_ca))
		snprintf(rc->tls_ca, sizeof(rc->tls_ca), "%s", e);
	e = getenv("AGENTD_RUNTIME_DIR");
	if (e && *e && strlen(e) < sizeof(rc->runtime_dir))
		snprintf(rc->runtime_dir, sizeof(rc->runtime_dir), "%s", e);
	l->remote = rc;
	return rc;
}

bool
agent__url_scheme_ok(const char *s, size_t len)
{
	static const char *const schemes[] = { "ipc://", "tcp://",
					       "tls+tcp://" };

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i]);

		if (len >= n && memcmp(s, schemes[i], n) == 0)
			return true;
	}
	return false;
}

void
agent__remote_reject(struct agent_remote_ctx *rc, agent *a, const char *what)
{
	rc->stats.malformed++;
	agent__log(a, 7, "inbox: %s dropped (%llu malformed so far)", what,
		   (unsigned long long)rc->stats.malformed);
}

/* a is being freed: the remote context holds no reference, forget it */
void
agent__remote_detach(agent *a)
{
	struct agent_remote_ctx *rc = a->loop->remote;

	if (!rc)
		return;
	if (rc->inbox_agent == a)
		rc->inbox_agent = NULL;
	if (rc->link_agent == a)
		rc->link_agent = NULL;
	if (rc->monitor_agent == a)
		rc->monitor_agent = NULL;
}

void
agent__remote_free(agent_loop *l)
{
	struct agent_remote_ctx *rc = l->remote;

	if (!rc)
		return;
	agent__link_close(rc);
	agent__inbox_close(rc);
	agent__peers_free(rc);
	agent__pubsub_free(rc);
	l->remote = NULL;
	free(rc);
}

_public_ int
agent_remote_stats(agent *a, struct agent_remote_stats *ret)
{
	if (!a || !ret)
		return -EINVAL;
	if (a->loop->remote)
		*ret = a->loop->remote->stats;
	else
		memset(ret, 0, sizeof(*ret));
	return 0;
}

_public_ int
agent_remote_flush(agent *a)
{
	if (!a)
		return -EINVAL;
	agent__remote_flush(a->loop);
	return 0;
}
