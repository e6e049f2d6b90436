/* SPDX-License-Identifier: MIT */
/*
 * nameserver.h - agentd as the name server of its host (--listen URL):
 * HOST_RESOLVE [name] -> HOST_RESOLVE_REPLY [name, [url...], pid, state]
 * over a rep0 socket on tcp:// or tls+tcp:// (proto/proto-host.h), so
 * that NAME@HOST reaches an agent of this host, as epmd does for Erlang.
 */
#ifndef AGENTD_NAMESERVER_H
#define AGENTD_NAMESERVER_H

#include <stdbool.h>

#include "agentd.h"
#include "proto-host.h"

#define NAMESERVER_LISTEN_MAX	8 /* --listen options */

/* Check and remember one --listen URL (before nameserver_open). 0, or
 * -EINVAL (not tcp://HOST:PORT / tls+tcp://HOST:PORT), -ENOSPC (too
 * many), -ENOMEM. */
int nameserver_add_listen(const char *url);

/* Open the listeners given with --listen (none: nothing to do), log the
 * URLs they really listen on and write them one per line to
 * RUNTIME_DIR/listen. 0 or -errno (the caller exits). */
int nameserver_open(struct manager *m);
/* Close the socket, remove RUNTIME_DIR/listen, forget the options. */
void nameserver_close(struct manager *m);

/* link.c: agent a's current process announced its network inboxes in
 * HELLO. Kept as one malloc'ed string in a->net_urls (URLs separated by
 * '\n') until the link is released with the process. 0 or -ENOMEM. */
int nameserver_set_urls(struct agent *a, const struct proto_urls *urls);
/* Free a's URLs (its process is gone, or it is freed). */
void nameserver_forget(struct agent *a);

#endif
