/* SPDX-License-Identifier: MIT */
/*
 * registry.h - agentd's name registry for agent-to-agent messaging: the
 * link requests RESOLVE (name -> inbox, pid, state) and MONITOR (push the
 * transitions of a name to the asking agent as PEER_STATE).
 */
#ifndef AGENTD_REGISTRY_H
#define AGENTD_REGISTRY_H

#include <stdint.h>

#include "agentd.h"
#include "proto.h"

/* A RESOLVE or MONITOR from agent `from` (on its link). Returns 0, or
 * -EBADMSG for a malformed payload (the caller closes the link). */
int registry_handle(struct manager *m, struct agent *from,
		    const struct proto_env *env);

/* supervisor.c: a's state changed (called through a weak reference, so
 * the supervisor's unit tests link without the registry). */
void registry_state_changed(struct agent *a, enum agent_state from,
			    enum agent_state to);

/*
 * The agent called name (len bytes): that agent itself, or for the unit
 * name of a pool one of its instances for which live() holds, in turn
 * (round robin), else any instance; NULL for an unknown name.
 */
struct agent *registry_pick(struct manager *m, const char *name, size_t len,
			    bool (*live)(const struct agent *a));

/* Forget every watch (agentd's exit). */
void registry_free(void);

/* link.c: send msg (taken) to a linked agent. 0 or -errno. */
int link_send_agent(struct agent *a, nng_msg *msg);
/* link.c: build [type, corr] with pack(arg) as payload and send it. */
int link_send_packed(struct agent *a, uint32_t type, uint64_t corr,
		     proto_pack_fn pack, const void *arg);

#endif
