/* SPDX-License-Identifier: MIT */
/*
 * registry.c - names to inboxes, and monitors.
 *
 * RESOLVE [name] is answered with RESOLVE_REPLY [name, inbox, pid, state]
 * (same corr). name is an agent ("db", "worker@3") or the unit of a pool
 * ("worker" with Instances=N): then one of its running instances, round
 * robin, under the instance's name. An unknown name is state "unknown".
 *
 * MONITOR [name, 1] makes agentd push PEER_STATE [name, inbox, pid, state]
 * to the asking agent on every transition of the agent(s) called name (a
 * pool's name covers its instances), starting with the current state;
 * MONITOR [name, 0] ends it. Watches belong to the watcher's process: they
 * end when it leaves running (a restarted agent monitors again).
 * Everything runs on agentd's loop.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agentd.h"
#include "log.h"
#include "macro.h"
#include "proto-link.h"
#include "registry.h"
#include "unit.h"

struct watch {
	struct watch *next;
	char watcher[PROTO_NAME_MAX + 1];
	char target[PROTO_NAME_MAX + 1];
};

static struct watch *watches;
static unsigned rr_next; /* round robin over a pool's instances */

static bool
name_matches(const struct agent *a, const char *name, size_t len)
{
	if (strlen(a->name) == len && memcmp(a->name, name, len) == 0)
		return true;
	/* the unit of a pool names all its instances */
	return a->instance > 0 && a->unit && a->unit->name &&
	       strlen(a->unit->name) == len &&
	       memcmp(a->unit->name, name, len) == 0;
}

static int
pack_peer(msgpack_packer *pk, const void *arg)
{
	return proto_peer_pack(pk, arg);
}

static int
send_peer(struct agent *to, uint32_t type, uint64_t corr, const char *name,
	  size_t name_len, const struct agent *a)
{
	const char *state = a ? agent_state_to_string(a->state) : "unknown";
	bool live = a && a->pid > 0 &&
		    (a->state == AGENT_RUNNING || a->state == AGENT_STARTING);
	struct proto_peer p = {
		.name = a ? a->name : name,
		.name_len = a ? strlen(a->name) : name_len,
		.inbox = live ? a->inbox : "",
		.inbox_len = live ? strlen(a->inbox) : 0,
		.pid = a && a->pid > 0 ? (uint32_t)a->pid : 0,
		.state = state,
		.state_len = strlen(state),
	};

	return link_send_packed(to, type, corr, pack_peer, &p);
}

struct agent *
registry_pick(struct manager *m, const char *name, size_t len,
	      bool (*live)(const struct agent *a))
{
	struct agent *pick = NULL, *any = NULL;
	size_t n_live = 0;

	for (size_t i = 0; i < m->n_agents; i++) {
		struct agent *a = m->agents[i];
		if (!name_matches(a, name, len))
			continue;
		if (strlen(a->name) == len)
			return a; /* an exact agent name */
		if (!any)
			any = a;
		if (live(a))
			n_live++;
	}
	if (n_live > 0) {
		size_t k = rr_next++ % n_live;
		for (size_t i = 0; i < m->n_agents && !pick; i++) {
			struct agent *a = m->agents[i];
			if (name_matches(a, name, len) && live(a) && k-- == 0)
				pick = a;
		}
	}
	return pick ? pick : any;
}

/* running with a local inbox: what RESOLVE answers with */
static bool
has_inbox(const struct agent *a)
{
	return a->state == AGENT_RUNNING && a->inbox[0];
}

int
registry_handle(struct manager *m, struct agent *from,
		const struct proto_env *env)
{
	struct proto_reader rd;

	proto_reader_init(&rd, env->payload, env->payload_len);
	if (env->type == PROTO_MSG_RESOLVE) {
		struct proto_resolve q;
		if (proto_resolve_unpack(&rd, &q) < 0)
			return -EBADMSG;
		(void)send_peer(from, PROTO_MSG_RESOLVE_REPLY, env->corr,
				q.name, q.name_len, registry_pick(m, q.name, q.name_len, has_inbox));
		return 0;
	}
	if (env->type == PROTO_MSG_MONITOR) {
		struct proto_monitor q;
		struct watch **pp, *w;
		if (proto_monitor_unpack(&rd, &q) < 0)
			return -EBADMSG;
		for (pp = &watches; *pp; pp = &(*pp)->next)
			if (strcmp((*pp)->watcher, from->name) == 0 &&
			    strlen((*pp)->target) == q.name_len &&
			    memcmp((*pp)->target, q.name, q.name_len) == 0)
				break;
		if (!q.on) {
			if (*pp) {
				w = *pp;
				*pp = w->next;
				free(w);
			}
			return 0;
		}
		if (!*pp) {
			w = calloc(1, sizeof(*w));
			if (!w)
				return 0;
			snprintf(w->watcher, sizeof(w->watcher), "%s", from->name);
			snprintf(w->target, sizeof(w->target), "%.*s",
				 (int)q.name_len, q.name);
			w->next = watches;
			watches = w;
		}
		/* the current state first, then every transition */
		{
			bool any = false;
			for (size_t i = 0; i < m->n_agents; i++)
				if (name_matches(m->agents[i], q.name, q.name_len)) {
					any = true;
					(void)send_peer(from, PROTO_MSG_PEER_STATE, 0,
							NULL, 0, m->agents[i]);
				}
			if (!any)
				(void)send_peer(from, PROTO_MSG_PEER_STATE, 0,
						q.name, q.name_len, NULL);
		}
		return 0;
	}
	return -EBADMSG;
}

void
registry_state_changed(struct agent *a, enum agent_state from,
		       enum agent_state to)
{
	struct watch **pp = &watches;

	(void)from;
	while (*pp) {
		struct watch *w = *pp;
		/* the watcher's process is gone: its watches with it */
		if (to != AGENT_RUNNING && to != AGENT_STARTING &&
		    strcmp(w->watcher, a->name) == 0) {
			*pp = w->next;
			free(w);
			continue;
		}
		if (name_matches(a, w->target, strlen(w->target))) {
			struct agent *to_a = manager_find_agent(a->m, w->watcher);
			if (to_a && link_is_up(to_a))
				(void)send_peer(to_a, PROTO_MSG_PEER_STATE, 0,
						NULL, 0, a);
		}
		pp = &w->next;
	}
}

void
registry_free(void)
{
	while (watches) {
		struct watch *w = watches;
		watches = w->next;
		free(w);
	}
}
