/* SPDX-License-Identifier: MIT */
/*
 * proto-host.h - the name server of a host: every agentd started with
 * --listen URL answers, on a rep0 socket at URL (tcp:// or tls+tcp://),
 * where its agents' network inboxes are (as epmd does for Erlang nodes).
 *
 * HOST_RESOLVE       client -> agentd: [name]
 * HOST_RESOLVE_REPLY agentd -> client: [name, [url...], pid, state]
 *   name:  the agent resolved (a pool's unit resolves to one of its
 *          running instances, round robin, reported under the instance
 *          name), or the name asked for when no agent has it
 *   url:   0..PROTO_NET_URLS_MAX network inbox URLs (tcp://, tls+tcp://),
 *          as the agent listens on them: a wildcard host (0.0.0.0, ::)
 *          is for the client to replace with the host it asked; none
 *          when the agent has no network inbox or is not running
 *   pid:   0 without a process
 *   state: agentd's state name, "unknown" when no agent has the name
 * A malformed request is answered with CTL_ERROR [-EBADMSG, text]; corr
 * pairs a reply with its request.
 *
 * The same URL list is the optional 4th element of the link's HELLO
 * (proto-link.h): how agentd learns an agent's network inboxes.
 * Bump PROTO_VERSION if any of these changes.
 */
#ifndef PROTO_HOST_H
#define PROTO_HOST_H

#include <stdint.h>

#include "proto.h"
#include "proto-read.h"

/* network inbox URLs of one agent ($AGENTD_LISTEN has at most 4) */
#define PROTO_NET_URLS_MAX	4

/* A list of network URLs: each tcp:// or tls+tcp://, 1..PROTO_URL_MAX
 * bytes, no NUL; pack checks (-EINVAL, -EMSGSIZE), unpack rejects the
 * rest (-EBADMSG). Strings point into the message after unpack. */
struct proto_urls {
	const char *url[PROTO_NET_URLS_MAX];
	size_t len[PROTO_NET_URLS_MAX];
	uint32_t n;
};
int proto_urls_pack(msgpack_packer *pk, const struct proto_urls *m);
int proto_urls_unpack(struct proto_reader *rd, struct proto_urls *m);
/* s[0..len) is a URL a network inbox can have (the rule above). */
bool proto_net_url_is_valid(const char *s, size_t len);

/* HOST_RESOLVE: [name]; the payload of RESOLVE (struct proto_resolve,
 * proto_resolve_pack/unpack in proto-link.h). */

struct proto_host_peer {
	const char *name; /* a valid name */
	size_t name_len;
	struct proto_urls urls;
	uint32_t pid;
	const char *state; /* 1..PROTO_NAME_MAX */
	size_t state_len;
};
int proto_host_peer_pack(msgpack_packer *pk, const struct proto_host_peer *m);
int proto_host_peer_unpack(struct proto_reader *rd,
			   struct proto_host_peer *m);

#endif
