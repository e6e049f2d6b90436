/* SPDX-License-Identifier: MIT */
/*
 * events.c - every state change gets a sequence number and a slot in a
 * bounded ring (EVENT_RING_SIZE). A watcher that remembers the last
 * sequence it saw learns how many it missed from the first sequence still
 * in the ring (for a future `agentctl watch`).
 */
#include <string.h>

#include "agentd.h"

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
}
