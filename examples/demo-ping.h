/* SPDX-License-Identifier: MIT */
/*
 * demo-ping.h - the message the demo agents exchange across processes:
 * ping sends a Ping request carrying its counter to the agent named
 * "pong"; pong answers with how many pings it has seen.
 *
 * Across processes a message type is known by its name ("demo.Ping"), and
 * its payloads travel as msgpack: encode/decode for the request (a
 * uint64_t), reply_encode/reply_decode for the response (a uint64_t).
 * Payloads are malloc'd uint64_t, freed with free().
 */
#ifndef EXAMPLES_DEMO_PING_H
#define EXAMPLES_DEMO_PING_H

#include <stdint.h>

#include <agent/agent.h>

extern const struct agent_msg_type demo_ping;

/* A malloc'd uint64_t payload holding v, or NULL. */
uint64_t *demo_u64_new(uint64_t v);

/* Line-buffered stdout: agentd shows each line as it comes, prefixed
 * with the agent's name. */
void demo_setup_output(void);

#endif
