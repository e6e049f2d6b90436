/* SPDX-License-Identifier: MIT */
/*
 * agent-addr.c - parse NAME[@N][@HOST[:PORT]] (agent-addr.h), build the
 * URL of a host's name server, and put a host into a URL whose host is a
 * wildcard. Pure string functions: no allocation, no I/O.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent-addr.h"

static bool
all_digits(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int
agent__port_parse(const char *s, size_t len, uint16_t *ret)
{
	unsigned v = 0;

	if (!s || len == 0 || len > 5 || !all_digits(s, len))
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if (v == 0 || v > 65535)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

static bool
host_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static bool
v6_char_ok(char c)
{
	return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	       (c >= '0' && c <= '9') || c == ':' || c == '.';
}

/* HOST, HOST:PORT, [V6], [V6]:PORT in s[0..len) */
static int
parse_host(const char *s, size_t len, struct agent_addr *a)
{
	const char *hs, *rest;
	size_t hlen, rlen;

	if (len == 0)
		return -EINVAL;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (!close)
			return -EINVAL;
		hs = s + 1;
		hlen = (size_t)(close - hs);
		if (hlen == 0 || hlen > AGENT_ADDR_V6_MAX || !memchr(hs, ':', hlen))
			return -EINVAL;
		for (size_t i = 0; i < hlen; i++)
			if (!v6_char_ok(hs[i]))
				return -EINVAL;
		a->v6 = true;
		rest = close + 1;
		rlen = len - (size_t)(rest - s);
	} else {
		const char *colon = memchr(s, ':', len);

		hs = s;
		hlen = colon ? (size_t)(colon - s) : len;
		if (hlen == 0 || hlen > AGENT_ADDR_HOST_MAX)
			return -EINVAL;
		for (size_t i = 0; i < hlen; i++)
			if (!host_char_ok(hs[i]))
				return -EINVAL;
		/* all digits would be an instance number */
		if (all_digits(hs, hlen) || hs[0] == '-' || hs[0] == '.')
			return -EINVAL;
		rest = s + hlen;
		rlen = len - hlen;
	}
	if (rlen > 0) {
		/* ":PORT" (a second ':' is a bare IPv6 address: needs []) */
		if (rest[0] != ':' ||
		    agent__port_parse(rest + 1, rlen - 1, &a->port) < 0)
			return -EINVAL;
	}
	memcpy(a->host, hs, hlen);
	a->host[hlen] = '\0';
	return 0;
}

int
agent__addr_parse(const char *s, struct agent_addr *ret)
{
	struct agent_addr a = { 0 };
	const char *at1, *at2 = NULL, *host = NULL;
	size_t len, name_len;

	if (!s)
		return -EINVAL;
	len = strnlen(s, AGENT_ADDR_MAX + 1);
	if (len == 0 || len > AGENT_ADDR_MAX || strstr(s, "://"))
		return -EINVAL;
	at1 = strchr(s, '@');
	if (!at1) {
		name_len = len;
	} else {
		const char *after = at1 + 1;

		at2 = strchr(after, '@');
		if (at2) {
			/* NAME@N@HOST: N must be an instance */
			if (!all_digits(after, (size_t)(at2 - after)) ||
			    strchr(at2 + 1, '@'))
				return -EINVAL;
			name_len = (size_t)(at2 - s);
			host = at2 + 1;
		} else if (all_digits(after, strlen(after))) {
			name_len = len; /* NAME@N, local */
		} else {
			name_len = (size_t)(at1 - s);
			host = after;
		}
	}
	if (!proto_name_is_valid(s, name_len))
		return -EINVAL;
	memcpy(a.name, s, name_len);
	a.name[name_len] = '\0';
	if (host && parse_host(host, strlen(host), &a) < 0)
		return -EINVAL;
	*ret = a;
	return 0;
}

int
agent__addr_ns_url(const struct agent_addr *a, bool tls,
		   uint16_t default_port, char *buf, size_t size)
{
	int n;

	if (!a || !a->host[0])
		return -EINVAL;
	n = snprintf(buf, size, "%s://%s%s%s:%u", tls ? "tls+tcp" : "tcp",
		     a->v6 ? "[" : "", a->host, a->v6 ? "]" : "",
		     (unsigned)(a->port ? a->port : default_port));
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

bool
agent__host_is_wildcard(const char *h, size_t len)
{
	static const char *const wild[] = { "", "0.0.0.0", "::", "[::]", "*" };

	for (size_t i = 0; i < sizeof(wild) / sizeof(wild[0]); i++)
		if (strlen(wild[i]) == len && memcmp(h, wild[i], len) == 0)
			return true;
	return false;
}

int
agent__url_rehost(const char *url, const char *host, bool v6, char *buf,
		  size_t size)
{
	const char *h, *colon;
	size_t scheme_len, hlen, ulen;
	uint16_t port;
	int n;

	if (!url || !host)
		return -EINVAL;
	if (strncmp(url, "tcp://", 6) == 0)
		scheme_len = 6;
	else if (strncmp(url, "tls+tcp://", 10) == 0)
		scheme_len = 10;
	else
		return -EINVAL;
	ulen = strlen(url);
	h = url + scheme_len;
	colon = strrchr(h, ':');
	if (!colon || agent__port_parse(colon + 1, strlen(colon + 1), &port) < 0)
		return -EINVAL;
	hlen = (size_t)(colon - h);
	if (!agent__host_is_wildcard(h, hlen)) {
		if (ulen >= size)
			return -ENAMETOOLONG;
		memcpy(buf, url, ulen + 1);
		return 0;
	}
	if (!*host)
		return -EINVAL;
	n = snprintf(buf, size, "%.*s%s%s%s:%u", (int)scheme_len, url,
		     v6 ? "[" : "", host, v6 ? "]" : "", (unsigned)port);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}
