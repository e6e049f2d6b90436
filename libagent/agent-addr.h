/* SPDX-License-Identifier: MIT */
/*
 * agent-addr.h - the address of an agent as the send APIs take it
 * (internal, never installed; pure functions, no I/O):
 *
 *   NAME                 a local agent, or the unit of a local pool
 *   NAME@N               instance N (all digits), local
 *   NAME@HOST            NAME on HOST, found through HOST's agentd
 *   NAME@N@HOST          instance N on HOST
 *   NAME@HOST:PORT       HOST's agentd name server on PORT
 *   NAME@[V6ADDR]        an IPv6 address needs brackets
 *   NAME@[V6ADDR]:PORT
 *
 * HOST is anything that is not all digits: a DNS name or an IPv4 address
 * ([A-Za-z0-9._-], at most 253 bytes, no ':'), or a bracketed IPv6
 * address ([0-9A-Fa-f:.], at most 45 bytes). PORT is 1..65535. Explicit
 * URLs (tcp://, tls+tcp://, ipc://) are not addresses: the callers look
 * for "://" first.
 */
#ifndef LIBAGENT_AGENT_ADDR_H
#define LIBAGENT_AGENT_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define AGENT_ADDR_MAX		384  /* the longest address accepted */
#define AGENT_ADDR_HOST_MAX	253  /* a DNS name */
#define AGENT_ADDR_V6_MAX	45   /* INET6_ADDRSTRLEN - 1 */
/* The name server port when neither the address nor $AGENTD_PORT say. */
#define AGENT_NS_DEFAULT_PORT	7411

struct agent_addr {
	char name[PROTO_NAME_MAX + 1];      /* "NAME" or "NAME@N" */
	char host[AGENT_ADDR_HOST_MAX + 1]; /* "" when local; no brackets */
	bool v6;                            /* host is an IPv6 address */
	uint16_t port;                      /* 0 when the address has none */
};

/*
 * Parse s (NUL-terminated) into *ret. 0 (ret filled), or -EINVAL for NULL,
 * an empty part ("", "@h", "n@", "n@3@", "n@h:"), an invalid name, an
 * all-digit host after an instance ("n@3@4"), a bad port (0, > 65535,
 * not digits), a bad host, more '@'s, a URL, or more than AGENT_ADDR_MAX
 * bytes. *ret is not written on failure.
 */
int agent__addr_parse(const char *s, struct agent_addr *ret);

/* A port: 1..5 digits, 1..65535. 0 or -EINVAL (*ret untouched). */
int agent__port_parse(const char *s, size_t len, uint16_t *ret);
/* A host that means "every address": "", 0.0.0.0, ::, [::] or *. */
bool agent__host_is_wildcard(const char *h, size_t len);

/*
 * The URL of the name server of a remote address: "tcp://HOST:PORT"
 * ("tls+tcp://" when tls; "[V6]" for IPv6), PORT from the address, else
 * default_port. 0, or -ENAMETOOLONG if it does not fit size, -EINVAL for
 * a local address.
 */
int agent__addr_ns_url(const struct agent_addr *a, bool tls,
		       uint16_t default_port, char *buf, size_t size);

/*
 * url with a wildcard host (0.0.0.0, ::, [::], *, empty) replaced by host
 * (bracketed when v6), into buf; any other url is copied as is. Only
 * tcp:// and tls+tcp:// URLs with a port: -EINVAL otherwise;
 * -ENAMETOOLONG if the result does not fit size.
 */
int agent__url_rehost(const char *url, const char *host, bool v6, char *buf,
		      size_t size);

#endif
