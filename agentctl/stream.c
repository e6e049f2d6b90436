/* SPDX-License-Identifier: MIT */
/*
 * stream.c - long polls on agentd's control socket (watch, logs -f): one
 * req0 connection for a series of requests that agentd may keep for a
 * while before it answers. The wait for an answer polls three fds from
 * this thread: nng's RECVFD, a signalfd for SIGINT/SIGTERM (so Ctrl-C
 * ends a watch cleanly at once) and an eventfd that a pipe notifier (on an
 * nng thread: it only writes the eventfd) bumps when agentd goes away.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "agentctl.h"
#include "fd-util.h"
#include "log.h"

/* On an nng thread: only bump the eventfd. */
static void
stream_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	const struct ctl_stream *cs = arg;
	uint64_t one = 1;

	if (write(cs->gone_fd, &one, sizeof(one)) < 0) {
		/* the counter is full: it is readable anyway */
	}
}

int
ctl_stream_open(struct ctl_stream *cs)
{
	char url[sizeof(cs->path) + 8];
	sigset_t set;
	struct stat st;
	int rv, r;

	*cs = (struct ctl_stream){ .recv_fd = -1, .gone_fd = -1, .sig_fd = -1 };
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -EINVAL;
	cs->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	cs->gone_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (cs->sig_fd < 0 || cs->gone_fd < 0) {
		r = negative_errno();
		log_warn_errno(r, "cannot set up the stream");
		ctl_stream_close(cs);
		return r;
	}
	if (ctl_socket_path(cs->path, sizeof(cs->path)) < 0) {
		log_warnx("runtime directory path too long: %s", arg_runtime_dir);
		ctl_stream_close(cs);
		return -ENAMETOOLONG;
	}
	r = stat(cs->path, &st) < 0 ? negative_errno()
	    : !S_ISSOCK(st.st_mode) ? -ENOTSOCK
	    : access(cs->path, W_OK) < 0 ? negative_errno() : 0;
	if (r < 0) {
		ctl_report(r, cs->path);
		ctl_stream_close(cs);
		return r;
	}
	if ((rv = nng_req0_open(&cs->s)) != 0) {
		r = proto_errno_from_nng(rv);
		log_warn_errno(r, "cannot open a socket");
		ctl_stream_close(cs);
		return r;
	}
	cs->open = true;
	if ((rv = nng_socket_set_ms(cs->s, NNG_OPT_REQ_RESENDTIME,
				    NNG_DURATION_INFINITE)) != 0 ||
	    (rv = nng_socket_set_size(cs->s, NNG_OPT_RECVMAXSZ,
				      PROTO_MSG_MAX)) != 0 ||
	    (rv = nng_pipe_notify(cs->s, NNG_PIPE_EV_REM_POST, stream_pipe_cb,
				  cs)) != 0 ||
	    (rv = nng_socket_get_int(cs->s, NNG_OPT_RECVFD, &cs->recv_fd)) != 0) {
		r = proto_errno_from_nng(rv);
		log_warn_errno(r, "cannot set up the socket");
		ctl_stream_close(cs);
		return r;
	}
	snprintf(url, sizeof(url), "ipc://%s", cs->path);
	r = dial_connected(cs->s, url, usec_add(now_usec(), arg_timeout),
			   &cs->d);
	if (r < 0) {
		ctl_report(r, cs->path);
		ctl_stream_close(cs);
		return r;
	}
	return 0;
}

void
ctl_stream_close(struct ctl_stream *cs)
{
	if (cs->open)
		nng_close(cs->s); /* no notifier runs after this */
	cs->open = false;
	cs->recv_fd = -1;
	cs->gone_fd = safe_close(cs->gone_fd);
	cs->sig_fd = safe_close(cs->sig_fd);
}

static uint64_t
stream_next_corr(void)
{
	static uint64_t counter;

	return ((uint64_t)getpid() << 32) | (0x80000000u + ++counter);
}

int
ctl_stream_request(struct ctl_stream *cs, uint32_t type, ctl_pack_fn pack,
		   const void *userdata, usec_t wait, struct ctl_reply *ret)
{
	usec_t deadline = usec_add(usec_add(now_usec(), wait), arg_timeout);
	uint64_t corr = stream_next_corr();
	struct proto_env env;
	nng_msg *req, *rep = NULL;
	int rv, r;

	*ret = (struct ctl_reply){ 0 };
	r = proto_build(type, 0, corr, "agentctl", pack, userdata, &req);
	if (r < 0) {
		log_warn_errno(r, "cannot build the request");
		return r;
	}
	/* The pipe is up and the send queue empty: this does not block. */
	if ((rv = nng_socket_set_ms(cs->s, NNG_OPT_SENDTIMEO,
				    (nng_duration)MAX(usec_to_poll_ms(arg_timeout), 1))) != 0 ||
	    (rv = nng_sendmsg(cs->s, req, 0)) != 0) {
		nng_msg_free(req); /* a failed send leaves req with us */
		r = proto_errno_from_nng(rv);
		goto fail;
	}
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = cs->recv_fd, .events = POLLIN },
			{ .fd = cs->sig_fd, .events = POLLIN },
			{ .fd = cs->gone_fd, .events = POLLIN },
		};
		usec_t left = usec_until(deadline);

		if (left == 0) {
			r = -ETIMEDOUT;
			goto fail;
		}
		rv = poll(p, 3, usec_to_poll_ms(left));
		if (rv < 0 && errno != EINTR) {
			r = negative_errno();
			goto fail;
		}
		if (rv <= 0)
			continue;
		if (p[1].revents)
			return -EINTR;
		if (p[0].revents) {
			rv = nng_recvmsg(cs->s, &rep, NNG_FLAG_NONBLOCK);
			if (rv == NNG_EAGAIN)
				continue;
			if (rv != 0) {
				r = proto_errno_from_nng(rv);
				goto fail;
			}
			break;
		}
		if (p[2].revents) {
			r = -ECONNRESET;
			goto fail;
		}
	}
	r = proto_env_decode_msg(rep, &env);
	if (r == 0 && (env.corr != corr ||
		       (env.type != PROTO_MSG_CTL_EVENTS_REPLY &&
			env.type != PROTO_MSG_CTL_LOGS_REPLY &&
			env.type != PROTO_MSG_CTL_RESULT &&
			env.type != PROTO_MSG_CTL_ERROR)))
		r = -EBADMSG;
	if (r < 0) {
		nng_msg_free(rep);
		goto fail;
	}
	ret->msg = rep;
	ret->env = env;
	return 0;
fail:
	if (ctl_error_is_gone(r))
		log_warnx("agentd went away (%s)", cs->path);
	else
		ctl_report(r, cs->path);
	return r;
}
