/* SPDX-License-Identifier: MIT */
/*
 * inbox.c - talk to an agent directly, as agents talk to each other: an
 * EVENT or REQUEST envelope pushed (push0) into its inbox
 * ipc://DIR/inbox/NAME.sock (a pull0 listener), and for a request the
 * RESPONSE/ERROR received on a private pull0 inbox of our own, whose URL
 * travels in the request's reply_to.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

#include "agentctl.h"
#include "log.h"
#include "proto-agent.h"

#define SUN_PATH_MAX	sizeof(((struct sockaddr_un *)0)->sun_path)

int
inbox_path(const char *name, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/inbox/%s.sock", arg_runtime_dir, name);

	if (n < 0 || (size_t)n >= size || (size_t)n >= SUN_PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static int
inbox_check_path(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return negative_errno();
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	return 0;
}

int
inbox_probe(const char *name, usec_t deadline)
{
	char url[SUN_PATH_MAX + 8], path[SUN_PATH_MAX];
	nng_socket s = NNG_SOCKET_INITIALIZER;
	int rv, r;

	r = inbox_path(name, path, sizeof(path));
	if (r == 0)
		r = inbox_check_path(path);
	if (r < 0)
		return r;
	snprintf(url, sizeof(url), "ipc://%s", path);
	if ((rv = nng_push0_open(&s)) != 0)
		return proto_errno_from_nng(rv);
	/* A complete nng handshake, then close: see dial.c. */
	r = dial_connected(s, url, deadline, NULL);
	nng_close(s);
	return r;
}

static void
inbox_report(int r, const char *name)
{
	switch (r) {
	case -ENOENT:
	case -ECONNREFUSED:
		log_warnx("%s has no inbox: not running, or not a libagent "
			  "agent (no %s/inbox/%s.sock)", name, arg_runtime_dir,
			  name);
		break;
	case -ETIMEDOUT:
		log_warnx("%s did not take the message within the timeout",
			  name);
		break;
	default:
		log_warnx("cannot reach %s's inbox: %s", name, strerror(-r));
		break;
	}
}

static nng_duration
ms_left(usec_t deadline)
{
	usec_t left = usec_until(deadline);

	if (left == USEC_INFINITY)
		return NNG_DURATION_INFINITE;
	return (nng_duration)MIN(MAX((left + 999) / 1000, 1), (usec_t)INT32_MAX);
}

/* Messages written by socket s's pipes (nng statistics), or -errno. */
static int64_t
sent_count(nng_socket s)
{
	nng_stat *all;
	int64_t n;

	if (nng_stats_get(&all) != 0)
		return -ENOTSUP;
	n = (int64_t)proto_stat_pipes_tx(all, s);
	nng_stats_free(all);
	return n;
}

/*
 * nng has no linger: closing a push0 socket right after nng_sendmsg may
 * cut a message still being written. Wait (bounded) until the pipe has
 * written it, from nng's statistics; without statistics, a short grace.
 */
static void
wait_flushed(nng_socket s, usec_t deadline)
{
	usec_t grace = usec_add(now_usec(), 50 * USEC_PER_MSEC);

	for (;;) {
		int64_t n = sent_count(s);

		if (n > 0)
			return;
		if (n < 0 && now_usec() >= grace)
			return;
		if (usec_until(deadline) == 0)
			return;
		nanosleep(&(struct timespec){ .tv_nsec = 500 * 1000 }, NULL);
	}
}

int
inbox_deliver(const char *name, nng_msg *msg, usec_t deadline)
{
	char url[SUN_PATH_MAX + 8], path[SUN_PATH_MAX];
	nng_socket s = NNG_SOCKET_INITIALIZER;
	int rv, r;

	r = inbox_path(name, path, sizeof(path));
	if (r == 0)
		r = inbox_check_path(path);
	if (r < 0) {
		nng_msg_free(msg);
		inbox_report(r, name);
		return r;
	}
	snprintf(url, sizeof(url), "ipc://%s", path);
	if ((rv = nng_push0_open(&s)) != 0) {
		nng_msg_free(msg);
		r = proto_errno_from_nng(rv);
		inbox_report(r, name);
		return r;
	}
	r = dial_connected(s, url, deadline, NULL);
	if (r < 0) {
		nng_msg_free(msg);
		inbox_report(r, name);
		nng_close(s);
		return r;
	}
	if ((rv = nng_socket_set_ms(s, NNG_OPT_SENDTIMEO,
				    ms_left(deadline))) != 0 ||
	    (rv = nng_sendmsg(s, msg, 0)) != 0) {
		/* nng_sendmsg failed or was not reached: msg is ours. */
		nng_msg_free(msg);
		r = proto_errno_from_nng(rv);
		inbox_report(r, name);
		nng_close(s);
		return r;
	}
	wait_flushed(s, deadline);
	nng_close(s);
	return 0;
}

/* A private inbox for the answer to a request. */
int
inbox_listen_private(nng_socket *ret, char *url, size_t size)
{
	nng_socket s = NNG_SOCKET_INITIALIZER;
	nng_listener l;
	char dir[SUN_PATH_MAX];
	int rv, n;

	n = snprintf(dir, sizeof(dir), "%s/inbox", arg_runtime_dir);
	/* In the runtime dir when we may create it there, else an abstract
	 * socket (Linux), which needs no file. */
	if (n > 0 && (size_t)n < sizeof(dir) && access(dir, W_OK) == 0)
		n = snprintf(url, size, "ipc://%s/.agentctl-%d.sock", dir,
			     (int)getpid());
	else
		n = -1;
	if (n < 0 || (size_t)n >= size || (size_t)n - 6 >= SUN_PATH_MAX)
		n = snprintf(url, size, "abstract://agentctl-%d-%lx",
			     (int)getpid(), (unsigned long)now_usec());
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;

	if ((rv = nng_pull0_open(&s)) != 0)
		return proto_errno_from_nng(rv);
	if ((rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, PROTO_MSG_MAX)) != 0 ||
	    (rv = nng_listener_create(&l, s, url)) != 0) {
		nng_close(s);
		return proto_errno_from_nng(rv);
	}
	/* The agent that answers may run as another user (User=), so any
	 * local user may connect (inbox/ is sticky: nobody else can remove
	 * the file); only an answer carrying our unguessable corr is taken
	 * (inbox_call). Abstract sockets have no permissions at all. */
	if (strncmp(url, "ipc://", 6) == 0 &&
	    (rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0666)) != 0) {
		nng_close(s);
		return proto_errno_from_nng(rv);
	}
	if ((rv = nng_listener_start(l, 0)) != 0) {
		nng_close(s);
		return proto_errno_from_nng(rv);
	}
	*ret = s;
	return 0;
}

void
inbox_close_private(nng_socket s, const char *url)
{
	nng_close(s);
	/* nng removes its ipc socket file on close; make sure. */
	if (strncmp(url, "ipc://", 6) == 0)
		(void)unlink(url + 6);
}

int
inbox_call(const char *name, const char *kind, const void *body,
	   size_t body_len, usec_t deadline,
	   int (*on_answer)(const struct proto_env *env, void *userdata),
	   void *userdata)
{
	nng_socket s = NNG_SOCKET_INITIALIZER;
	char url[PROTO_URL_MAX];
	uint64_t corr;
	struct proto_builder b;
	struct proto_request req;
	nng_msg *msg = NULL;
	usec_t left = usec_until(deadline);
	int r, ret;

	/* unguessable: the reply inbox accepts any local user */
	if (getrandom(&corr, sizeof(corr), 0) != (ssize_t)sizeof(corr)) {
		log_warn("getrandom");
		return EXIT_FAIL;
	}
	corr |= 1; /* never 0, which means "no correlation" */
	r = inbox_listen_private(&s, url, sizeof(url));
	if (r < 0) {
		log_warn_errno(r, "cannot open an inbox for the answer");
		return EXIT_FAIL;
	}
	req = (struct proto_request){
		.kind = kind,
		.kind_len = strlen(kind),
		.reply_to = url,
		.reply_to_len = strlen(url),
		.timeout_ms = (uint32_t)MIN(left / USEC_PER_MSEC,
					    (usec_t)UINT32_MAX),
		.body = body,
		.body_len = body_len,
	};
	r = proto_builder_begin(&b, PROTO_MSG_REQUEST, 0, corr, "agentctl");
	if (r >= 0) {
		r = proto_request_pack(&b.pk, &req);
		if (r < 0)
			proto_builder_abort(&b);
		else
			r = proto_builder_finish(&b, &msg);
	}
	if (r < 0) {
		log_warn_errno(r, "cannot build the request");
		ret = EXIT_FAIL;
		goto out;
	}
	r = inbox_deliver(name, msg, deadline);
	if (r < 0) {
		ret = r == -ETIMEDOUT ? EXIT_UNREACHABLE : EXIT_FAIL;
		goto out;
	}

	for (;;) {
		struct proto_env env;
		nng_msg *rep = NULL;
		int rv;

		if ((rv = nng_socket_set_ms(s, NNG_OPT_RECVTIMEO,
					    ms_left(deadline))) != 0 ||
		    (rv = nng_recvmsg(s, &rep, 0)) != 0) {
			if (rv == NNG_ETIMEDOUT)
				log_warnx("no answer from %s within the timeout",
					  name);
			else
				log_warnx("receiving the answer: %s",
					  nng_strerror(rv));
			ret = EXIT_UNREACHABLE;
			goto out;
		}
		r = proto_env_decode_msg(rep, &env);
		if (r < 0 || env.corr != corr ||
		    (env.type != PROTO_MSG_RESPONSE &&
		     env.type != PROTO_MSG_ERROR)) {
			/* A stranger or a late answer: not ours. */
			log_debug("ignoring a message on the reply inbox");
			nng_msg_free(rep);
			continue;
		}
		ret = on_answer(&env, userdata);
		nng_msg_free(rep);
		break;
	}
out:
	inbox_close_private(s, url);
	return ret;
}
