/* SPDX-License-Identifier: MIT */
/*
 * web.h - the examples' stand-in for the web: a local HTTP page server on
 * 127.0.0.1 (ephemeral port) and an HTTP GET that an async state awaits.
 *
 * crb's examples fetch https://www.rust-lang.org with reqwest. Ours fetch
 * from a page server the example starts itself, so they run offline and
 * their tests know what the pages say. Both sides are nng's HTTP server
 * and client (the same libnng that carries agentd's messages).
 *
 * Thread rule: nng completes a fetch on one of its own threads. That
 * thread only stores the result and wakes the await with
 * agent_waker_wake() (documented "any thread"); the completion callback
 * then runs on the agent's loop thread. No other agent function is ever
 * called from an nng thread.
 */
#ifndef EXAMPLES_WEB_H
#define EXAMPLES_WEB_H

#include <stddef.h>

#include <agent/agent.h>

struct web_server;
struct web_fetch;

/*
 * Start a page server on http://127.0.0.1:PORT (PORT chosen by the
 * kernel). GET /NAME answers 200 with the text "This is the page /NAME.\n";
 * the first fail_first requests (any path) are answered with 503 Service
 * Unavailable, to exercise retries. Blocks SIGINT, SIGTERM, SIGHUP,
 * SIGPIPE and SIGCHLD in the calling thread first, so that nng's threads
 * inherit the mask (agent_main() handles those signals on its loop).
 * Returns 0 or -errno.
 */
int web_server_start(struct web_server **ret, unsigned fail_first);
/* "http://127.0.0.1:PORT", valid until web_server_stop(). */
const char *web_server_url(struct web_server *s);
/* Requests answered so far (any thread). */
unsigned web_server_requests(struct web_server *s);
void web_server_stop(struct web_server *s);

/*
 * GET url from an async state: starts the request and awaits its
 * completion on a's loop; cb then runs with the state's data (as any
 * agent_await_* completion) and reads the outcome with web_fetch_text().
 * *ret receives the fetch, owned by the caller (free it with
 * web_fetch_free(), typically in the state's free_data, so that leaving
 * the state early cancels it). The state returns agent_wait() after a
 * success. Returns 0 or -errno (then *ret is NULL).
 */
int web_get(agent *a, const char *url, struct web_fetch **ret,
	    agent_await_fn cb);
/*
 * The outcome of a completed fetch: 0 with the body (NUL-terminated,
 * owned by the fetch) and its length for a 2xx answer; -EIO for an HTTP
 * error status or a transport error (web_fetch_error() says which);
 * -EBUSY while still in flight.
 */
int web_fetch_text(struct web_fetch *f, const char **text, size_t *len);
/* A printable reason for a failed fetch ("HTTP 503 Service Unavailable",
 * "Connection refused", ...), or "" when it succeeded. */
const char *web_fetch_error(struct web_fetch *f);
const char *web_fetch_url(struct web_fetch *f);
/* The fetch a completion message (the cb's m) is about: with several
 * fetches in flight, it tells which one is done. NULL for another message. */
struct web_fetch *web_fetch_of(agent_msg *m);
/* Cancel if in flight (waits for nng's callback to be done) and free.
 * NULL is fine. */
void web_fetch_free(struct web_fetch *f);

/* Build "BASE/PATH" into a malloc'd string (NULL on ENOMEM). */
char *web_url(const char *base, const char *path);

/*
 * The examples' common start: with a URL as argv[1], return a copy of it;
 * otherwise start a local page server (*srv, see web_server_start) and
 * return its URL for path. The string is malloc'd (the caller frees it).
 * On failure print why to stderr and return NULL.
 */
char *web_page_url(int argc, char **argv, unsigned fail_first,
		   const char *path, struct web_server **srv);

#endif
