/* SPDX-License-Identifier: MIT */
/*
 * events.c - every state change gets a sequence number (from 1) and a slot
 * in a bounded ring (EVENT_RING_SIZE). A watcher (`agentctl watch`, the
 * CTL_EVENTS long poll in control.c) that remembers the next sequence it
 * wants learns how many it missed from the first sequence still in the
 * ring.
 */
#include <stdio.h>
#include <string.h>

#include "agentd.h"

/* What is worth saying beside a transition: the pid it runs as, or how
 * the last run ended. */
static void
event_detail(struct agentd_event *e, const struct agent *a,
	     enum agent_state from, enum agent_state to)
{
	e->detail[0] = '\0';
	switch (to) {
	case AGENT_STARTING:
	case AGENT_RUNNING:
		if (a->pid > 0)
			snprintf(e->detail, sizeof(e->detail), "pid %d",
				 (int)a->pid);
		break;
	case AGENT_INACTIVE:
	case AGENT_BACKOFF:
	case AGENT_FAILED:
	case AGENT_DONE:
		if ((from == AGENT_STARTING || from == AGENT_RUNNING ||
		     from == AGENT_STOPPING) && a->pid <= 0)
			snprintf(e->detail, sizeof(e->detail), "%s",
				 a->last_exit);
		break;
	default:
		break;
	}
}

void
events_record(struct manager *m, struct agent *a, enum agent_state from,
	      enum agent_state to)
{
	struct agentd_event *e;

	m->event_seq++;
	e = &m->events[m->event_seq % EVENT_RING_SIZE];
	e->seq = m->event_seq;
	e->when = now_realtime_usec();
	memcpy(e->name, a->name, sizeof(e->name));
	e->from = from;
	e->to = to;
	e->pid = a->pid;
	event_detail(e, a, from, to);
	control_watch_kick(m);
}

uint64_t
events_first_seq(const struct manager *m)
{
	return m->event_seq >= EVENT_RING_SIZE
		       ? m->event_seq - EVENT_RING_SIZE + 1
		       : 1;
}

const struct agentd_event *
events_get(const struct manager *m, uint64_t seq)
{
	return &m->events[seq % EVENT_RING_SIZE];
}
