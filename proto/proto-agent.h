/* SPDX-License-Identifier: MIT */
/*
 * proto-agent.h - payloads between agents (inboxes).
 *
 * EVENT    [kind, body]                  one-way
 * REQUEST  [kind, reply_to, timeout_ms, body]  corr in the envelope
 * RESPONSE [body]                        same corr as the request
 * ERROR    [code, message]               same corr; code is -errno
 * kind is the user's message type name (<= PROTO_NAME_MAX), body any one
 * msgpack object (nil when empty), reply_to the inbox URL for the answer.
 * kind must be a valid name (proto_name_is_valid); a body given to pack
 * must be exactly one well-formed object (else -EINVAL) and is copied as is.
 * Bump PROTO_VERSION if any of these changes.
 */
#ifndef PROTO_AGENT_H
#define PROTO_AGENT_H

#include <stdint.h>

#include "proto.h"
#include "proto-read.h"

#define PROTO_URL_MAX	256

struct proto_event {
	const char *kind;
	size_t kind_len;
	const void *body; /* raw msgpack of one object; NULL packs nil */
	size_t body_len;
};
int proto_event_pack(msgpack_packer *pk, const struct proto_event *m);
int proto_event_unpack(struct proto_reader *rd, struct proto_event *m);

struct proto_request {
	const char *kind;
	size_t kind_len;
	const char *reply_to;
	size_t reply_to_len;
	uint32_t timeout_ms;
	const void *body;
	size_t body_len;
};
int proto_request_pack(msgpack_packer *pk, const struct proto_request *m);
int proto_request_unpack(struct proto_reader *rd, struct proto_request *m);

struct proto_response {
	const void *body;
	size_t body_len;
};
int proto_response_pack(msgpack_packer *pk, const struct proto_response *m);
int proto_response_unpack(struct proto_reader *rd, struct proto_response *m);

/* ERROR uses struct proto_result (proto-ctl.h) and its pack/unpack. */

#endif
