/* SPDX-License-Identifier: MIT */
/*
 * web.c - the examples' local page server and HTTP GET (see web.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "web.h"

#define WEB_FETCH_TIMEOUT_MS	10000

/* ---- the page server ------------------------------------------------------ */

struct web_server {
	nng_http_server *srv;
	nng_url *url;
	unsigned fail_first;
	atomic_uint requests;
	char base[64];
};

/* Runs on an nng thread: only builds the answer. */
static void
page_cb(nng_aio *aio)
{
	nng_http_req *req = nng_aio_get_input(aio, 0);
	nng_http_handler *h = nng_aio_get_input(aio, 1);
	struct web_server *s = nng_http_handler_get_data(h);
	nng_http_res *res = NULL;
	unsigned n = atomic_fetch_add(&s->requests, 1);
	char body[256];
	int r;

	if (n < s->fail_first) {
		r = nng_http_res_alloc_error(&res,
			NNG_HTTP_STATUS_SERVICE_UNAVAILABLE);
	} else {
		snprintf(body, sizeof(body), "This is the page %.200s.\n",
			 nng_http_req_get_uri(req));
		r = nng_http_res_alloc(&res);
		if (r == 0)
			r = nng_http_res_set_header(res, "Content-Type",
						    "text/plain");
		if (r == 0)
			r = nng_http_res_copy_data(res, body, strlen(body));
	}
	if (r != 0) {
		if (res)
			nng_http_res_free(res);
		nng_aio_finish(aio, r);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

static int
nng_to_errno(int rv)
{
	switch (rv) {
	case 0:
		return 0;
	case NNG_ENOMEM:
		return -ENOMEM;
	case NNG_EINVAL:
	case NNG_EADDRINVAL:
		return -EINVAL;
	case NNG_EADDRINUSE:
		return -EADDRINUSE;
	case NNG_ECONNREFUSED:
		return -ECONNREFUSED;
	case NNG_ETIMEDOUT:
		return -ETIMEDOUT;
	case NNG_ENOTSUP:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

/* nng's threads must not take the signals agent_main() waits for. */
static void
block_signals(void)
{
	sigset_t ss;

	sigemptyset(&ss);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGHUP);
	sigaddset(&ss, SIGPIPE);
	sigaddset(&ss, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &ss, NULL);
}

int
web_server_start(struct web_server **ret, unsigned fail_first)
{
	struct web_server *s;
	nng_http_handler *h = NULL;
	nng_sockaddr sa;
	int rv;

	block_signals();
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fail_first = fail_first;
	atomic_init(&s->requests, 0);
	rv = nng_url_parse(&s->url, "http://127.0.0.1:0");
	if (rv == 0)
		rv = nng_http_server_hold(&s->srv, s->url);
	if (rv == 0)
		rv = nng_http_handler_alloc(&h, "/", page_cb);
	if (rv == 0)
		rv = nng_http_handler_set_tree(h);
	if (rv == 0)
		rv = nng_http_handler_set_data(h, s, NULL);
	if (rv == 0) {
		rv = nng_http_server_add_handler(s->srv, h);
		if (rv == 0)
			h = NULL; /* the server owns it now */
	}
	if (rv == 0)
		rv = nng_http_server_start(s->srv);
	if (rv == 0)
		rv = nng_http_server_get_addr(s->srv, &sa);
	if (rv == 0 && sa.s_family != NNG_AF_INET)
		rv = NNG_EADDRINVAL;
	if (h)
		nng_http_handler_free(h);
	if (rv != 0) {
		web_server_stop(s);
		return nng_to_errno(rv);
	}
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%u",
		 (unsigned)ntohs(sa.s_in.sa_port));
	*ret = s;
	return 0;
}

const char *
web_server_url(struct web_server *s)
{
	return s->base;
}

unsigned
web_server_requests(struct web_server *s)
{
	return atomic_load(&s->requests);
}

void
web_server_stop(struct web_server *s)
{
	if (!s)
		return;
	if (s->srv) {
		nng_http_server_stop(s->srv);
		nng_http_server_release(s->srv);
	}
	if (s->url)
		nng_url_free(s->url);
	free(s);
}

/* ---- GET from an async state ---------------------------------------------- */

struct web_fetch {
	char *url_str;
	nng_url *url;
	nng_http_client *cli;
	nng_http_req *req;
	nng_http_res *res;
	nng_aio *aio;
	agent_waker *waker;   /* woken once by fetch_cb */
	atomic_bool done;
	int rv;               /* nng's result, set before done */
	char *body;           /* NUL-terminated copy of the answer */
	size_t len;
	char err[128];
};

/*
 * Runs on an nng thread: record the outcome and hand the completion to
 * the agent's loop (agent_waker_wake is the one libagent call documented
 * for any thread). The payload is the fetch itself, not owned by the
 * message (no free function).
 */
static void
fetch_cb(void *arg)
{
	struct web_fetch *f = arg;

	f->rv = nng_aio_result(f->aio);
	atomic_store_explicit(&f->done, true, memory_order_release);
	(void)agent_waker_wake(f->waker, 0, f, NULL);
}

void
web_fetch_free(struct web_fetch *f)
{
	if (!f)
		return;
	if (f->aio) {
		nng_aio_stop(f->aio); /* waits for fetch_cb to be done */
		nng_aio_free(f->aio);
	}
	if (f->req)
		nng_http_req_free(f->req);
	if (f->res)
		nng_http_res_free(f->res);
	if (f->cli)
		nng_http_client_free(f->cli);
	if (f->url)
		nng_url_free(f->url);
	free(f->body);
	free(f->url_str);
	free(f);
}

int
web_get(agent *a, const char *url, struct web_fetch **ret, agent_await_fn cb)
{
	struct web_fetch *f;
	int rv, r;

	*ret = NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	atomic_init(&f->done, false);
	f->url_str = strdup(url);
	if (!f->url_str) {
		web_fetch_free(f);
		return -ENOMEM;
	}
	rv = nng_url_parse(&f->url, url);
	if (rv == 0)
		rv = nng_http_client_alloc(&f->cli, f->url);
	if (rv == 0)
		rv = nng_http_req_alloc(&f->req, f->url);
	if (rv == 0)
		rv = nng_http_res_alloc(&f->res);
	if (rv == 0)
		rv = nng_aio_alloc(&f->aio, fetch_cb, f);
	if (rv != 0) {
		web_fetch_free(f);
		return nng_to_errno(rv);
	}
	/* Nothing can fail after this: the waker must be woken exactly once,
	 * and fetch_cb does it when the transaction ends (or is stopped). */
	r = agent_await_external(a, cb, &f->waker);
	if (r < 0) {
		web_fetch_free(f);
		return r;
	}
	nng_aio_set_timeout(f->aio, WEB_FETCH_TIMEOUT_MS);
	nng_http_client_transact(f->cli, f->req, f->res, f->aio);
	*ret = f;
	return 0;
}

int
web_fetch_text(struct web_fetch *f, const char **text, size_t *len)
{
	unsigned status;
	void *data;
	size_t n;

	if (!atomic_load_explicit(&f->done, memory_order_acquire))
		return -EBUSY;
	if (f->rv != 0) {
		snprintf(f->err, sizeof(f->err), "%s", nng_strerror(f->rv));
		return -EIO;
	}
	status = nng_http_res_get_status(f->res);
	if (status < 200 || status > 299) {
		snprintf(f->err, sizeof(f->err), "HTTP %u %s", status,
			 nng_http_res_get_reason(f->res));
		return -EIO;
	}
	if (!f->body) {
		nng_http_res_get_data(f->res, &data, &n);
		f->body = malloc(n + 1);
		if (!f->body)
			return -ENOMEM;
		if (n)
			memcpy(f->body, data, n);
		f->body[n] = '\0';
		f->len = n;
	}
	*text = f->body;
	if (len)
		*len = f->len;
	return 0;
}

const char *
web_fetch_error(struct web_fetch *f)
{
	return f->err;
}

const char *
web_fetch_url(struct web_fetch *f)
{
	return f->url_str;
}

struct web_fetch *
web_fetch_of(agent_msg *m)
{
	if (agent_msg_get_type(m) != &agent_type_wake)
		return NULL;
	return agent_msg_payload(m);
}

char *
web_url(const char *base, const char *path)
{
	char *s;

	if (asprintf(&s, "%s%s%s", base,
		     path[0] == '/' || path[0] == '\0' ? "" : "/", path) < 0)
		return NULL;
	return s;
}

char *
web_page_url(int argc, char **argv, unsigned fail_first, const char *path,
	      struct web_server **srv)
{
	char *url;
	int r;

	*srv = NULL;
	if (argc > 1)
		url = strdup(argv[1]);
	else {
		r = web_server_start(srv, fail_first);
		if (r < 0) {
			fprintf(stderr, "%s: cannot start the page server: %s\n",
				argv[0], strerror(-r));
			return NULL;
		}
		url = web_url(web_server_url(*srv), path);
	}
	if (!url) {
		fprintf(stderr, "%s: out of memory\n", argv[0]);
		web_server_stop(*srv);
		*srv = NULL;
	}
	return url;
}
