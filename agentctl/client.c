/* SPDX-License-Identifier: MIT */
/*
 * client.c - talk to agentd's control socket: one request, one reply,
 * bounded by --timeout.
 *
 * A missing daemon must fail fast and never hang: a missing file or one
 * that is not a socket fails before nng is involved; then a req0 socket
 * dials without blocking and dial_connected() tells "refused" (a stale
 * socket: at once) from "connected"; the send and the receive each get
 * what is left of the deadline, so a peer that accepts and never answers
 * ends in -ETIMEDOUT. No raw connect(2) probe: see dial.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "agentctl.h"
#include "fd-util.h"
#include "log.h"
#include "proto-read.h"

int
ctl_socket_path(char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/control.sock", arg_runtime_dir);

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

void
ctl_reply_done(struct ctl_reply *r)
{
	if (r->msg)
		nng_msg_free(r->msg);
	r->msg = NULL;
}

/* A missing or foreign file fails at once, before nng. */
static int
ctl_check_path(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return negative_errno();
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	/* connect(2) to a unix socket needs write permission on it. */
	if (access(path, W_OK) < 0)
		return negative_errno();
	return 0;
}

static uint64_t
ctl_next_corr(void)
{
	static uint64_t counter;

	/* Unique enough per process; req0 matches replies by its own id too. */
	return ((uint64_t)getpid() << 32) | ++counter;
}

static nng_duration
ctl_ms_left(usec_t deadline)
{
	usec_t left = usec_until(deadline);

	if (left == USEC_INFINITY)
		return NNG_DURATION_INFINITE;
	/* Never 0: nng treats 0 as "do not wait at all". */
	return (nng_duration)MIN(MAX((left + 999) / 1000, 1), (usec_t)INT32_MAX);
}

void
ctl_report(int r, const char *path)
{
	switch (r) {
	case -ENOENT:
		log_warnx("agentd is not running: %s does not exist "
			  "(wrong --runtime-dir?)", path);
		break;
	case -ECONNREFUSED:
		log_warnx("agentd is not running: %s refuses connections",
			  path);
		break;
	case -ENOTSOCK:
		log_warnx("%s is not a socket", path);
		break;
	case -EACCES:
	case -EPERM:
		log_warnx("no permission to use %s (agentd's control socket "
			  "is for its owner, or its --socket-group)", path);
		break;
	case -EPROTO:
		log_warnx("%s is not agentd's control socket (another "
			  "protocol)", path);
		break;
	case -ETIMEDOUT:
		log_warnx("no answer from agentd on %s within the timeout",
			  path);
		break;
	case -ETIME:
		log_warnx("no answer from agentd on %s within the timeout "
			  "(the request was delivered)", path);
		break;
	case -EBADMSG:
		log_warnx("invalid reply from %s: not an agentd control reply",
			  path);
		break;
	case -EPROTONOSUPPORT:
		log_warnx("agentd on %s speaks another protocol version", path);
		break;
	default:
		log_warnx("cannot talk to agentd on %s: %s", path,
			  strerror(-r));
		break;
	}
}

bool
ctl_error_is_gone(int r)
{
	/* Not -ECONNREFUSED: then the request never reached agentd. */
	return r == -ECONNRESET || r == -ECONNABORTED || r == -EPIPE ||
	       r == -ESHUTDOWN;
}

int
ctl_error_exit(int r)
{
	if (r == -EREMOTEIO)
		return EXIT_FAIL;
	if (r == -ENOMEM || r == -EMSGSIZE || r == -EINVAL)
		return EXIT_FAIL;
	return EXIT_UNREACHABLE;
}

static int
ctl_exchange(const char *path, nng_msg *req, uint64_t corr,
	     struct ctl_reply *ret)
{
	char url[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
	usec_t deadline = usec_add(now_usec(), arg_timeout);
	nng_socket s = NNG_SOCKET_INITIALIZER;
	nng_dialer d = NNG_DIALER_INITIALIZER;
	nng_msg *rep = NULL;
	struct proto_env env;
	int rv, r;

	snprintf(url, sizeof(url), "ipc://%s", path);
	if ((rv = nng_req0_open(&s)) != 0) {
		nng_msg_free(req);
		return proto_errno_from_nng(rv);
	}
	if ((rv = nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME,
				    NNG_DURATION_INFINITE)) != 0 ||
	    (rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, PROTO_MSG_MAX)) != 0) {
		nng_msg_free(req);
		r = proto_errno_from_nng(rv);
		goto out;
	}
	r = dial_connected(s, url, deadline, &d);
	if (r < 0) {
		nng_msg_free(req);
		goto out;
	}
	if ((rv = nng_socket_set_ms(s, NNG_OPT_SENDTIMEO,
				    ctl_ms_left(deadline))) != 0 ||
	    (rv = nng_sendmsg(s, req, 0)) != 0) {
		/* nng_sendmsg failed: we still own req. */
		nng_msg_free(req);
		r = dial_refine_error(s, d, proto_errno_from_nng(rv));
		goto out;
	}
	if ((rv = nng_socket_set_ms(s, NNG_OPT_RECVTIMEO,
				    ctl_ms_left(deadline))) != 0 ||
	    (rv = nng_recvmsg(s, &rep, 0)) != 0) {
		r = dial_refine_error(s, d, proto_errno_from_nng(rv));
		/* agentd took the request on a live connection and has not
		 * answered yet: busy (a long stop), not unreachable */
		if (r == -ETIMEDOUT)
			r = -ETIME;
		goto out;
	}
	r = proto_env_decode_msg(rep, &env);
	if (r < 0)
		goto out;
	if (env.corr != corr ||
	    (env.type != PROTO_MSG_CTL_STATUS_REPLY &&
	     env.type != PROTO_MSG_CTL_RESULT &&
	     env.type != PROTO_MSG_CTL_ERROR)) {
		log_debug("%s: reply type %u corr %llu, expected corr %llu",
			  __func__, env.type, (unsigned long long)env.corr,
			  (unsigned long long)corr);
		r = -EBADMSG;
		goto out;
	}
	ret->msg = TAKE_PTR(rep);
	ret->env = env;
	r = 0;
out:
	if (rep)
		nng_msg_free(rep);
	nng_close(s);
	return r;
}

int
ctl_request(uint32_t type, ctl_pack_fn pack, const void *userdata,
	    struct ctl_reply *ret)
{
	return ctl_request_flags(type, pack, userdata, 0, ret);
}

/* the payload of a request without arguments: [] */
static int
pack_nothing(msgpack_packer *pk, const void *userdata)
{
	(void)userdata;
	return msgpack_pack_array(pk, 0) < 0 ? -ENOMEM : 0;
}

int
ctl_request_flags(uint32_t type, ctl_pack_fn pack, const void *userdata,
		  unsigned flags, struct ctl_reply *ret)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uint64_t corr = ctl_next_corr();
	nng_msg *req;
	int r;

	*ret = (struct ctl_reply){ 0 };
	r = ctl_socket_path(path, sizeof(path));
	if (r < 0) {
		log_warnx("runtime directory path too long: %s",
			  arg_runtime_dir);
		return r;
	}
	r = ctl_check_path(path);
	if (r < 0) {
		ctl_report(r, path);
		return r;
	}

	r = proto_build(type, 0, corr, "agentctl", pack ? pack : pack_nothing,
			userdata, &req);
	if (r < 0) {
		log_warn_errno(r, "cannot build the request");
		return r;
	}
	/* ctl_exchange owns req from here. */
	r = ctl_exchange(path, req, corr, ret);
	if (r < 0 && !((flags & CTL_REQ_GONE_OK) && ctl_error_is_gone(r)) &&
	    !((flags & CTL_REQ_SLOW_OK) && r == -ETIME))
		ctl_report(r, path);
	return r;
}

int
ctl_pack_names(msgpack_packer *pk, const void *userdata)
{
	const struct ctl_names *n = userdata;
	struct proto_names m = {
		.names = (const char *const *)n->names,
		.n = n->n,
	};

	return proto_names_pack(pk, &m);
}

int
ctl_reply_result(const struct ctl_reply *r)
{
	struct proto_reader rd;
	struct proto_result res;

	if (r->env.type != PROTO_MSG_CTL_RESULT &&
	    r->env.type != PROTO_MSG_CTL_ERROR) {
		log_warnx("unexpected reply from agentd: %s",
			  proto_msgtype_to_string(r->env.type));
		return EXIT_UNREACHABLE;
	}
	proto_reader_init(&rd, r->env.payload, r->env.payload_len);
	if (proto_result_unpack(&rd, &res) < 0) {
		log_warnx("malformed %s reply from agentd",
			  proto_msgtype_to_string(r->env.type));
		return EXIT_UNREACHABLE;
	}
	if (r->env.type == PROTO_MSG_CTL_ERROR || res.code < 0) {
		if (res.message_len > 0)
			log_warnx("%.*s", (int)res.message_len, res.message);
		else
			log_warnx("agentd reported: %s",
				  strerror(res.code < 0 ? -res.code : EIO));
		return EXIT_FAIL;
	}
	if (res.message_len > 0 && !arg_json)
		printf("%.*s\n", (int)res.message_len, res.message);
	if (arg_json) {
		json_t *j = json_pack("{s:I, s:s%}", "code", (json_int_t)res.code,
				      "message", res.message ? res.message : "",
				      res.message_len);

		if (j) {
			json_dumpf(j, stdout, JSON_COMPACT);
			putchar('\n');
			json_decref(j);
		}
	}
	return EXIT_OK;
}

struct status_collect {
	struct proto_status_record *recs;
	size_t n, cap;
};

static int
status_collect_cb(const struct proto_status_record *rec, void *userdata)
{
	struct status_collect *c = userdata;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		void *p = reallocarray(c->recs, cap, sizeof(*c->recs));

		if (!p)
			return -ENOMEM;
		c->recs = p;
		c->cap = cap;
	}
	c->recs[c->n++] = *rec;
	return 0;
}

int
ctl_fetch_status(char *const *names, uint32_t n,
		 struct proto_status_record **ret, size_t *ret_n)
{
	struct ctl_names nm = { .names = names, .n = n };
	struct status_collect c = { 0 };
	struct ctl_reply rep;
	struct proto_reader rd;
	int r;

	r = ctl_request(PROTO_MSG_CTL_STATUS, ctl_pack_names, &nm, &rep);
	if (r < 0)
		return r;
	if (rep.env.type != PROTO_MSG_CTL_STATUS_REPLY) {
		r = ctl_reply_result(&rep);
		ctl_reply_done(&rep);
		/* A result where records were expected is still a failure. */
		return r == EXIT_UNREACHABLE ? -EBADMSG : -EREMOTEIO;
	}
	proto_reader_init(&rd, rep.env.payload, rep.env.payload_len);
	r = proto_status_reply_unpack(&rd, status_collect_cb, &c);
	ctl_reply_done(&rep);
	if (r < 0) {
		free(c.recs);
		if (r == -ENOMEM)
			log_warnx("out of memory");
		else
			log_warnx("malformed status reply from agentd");
		return r == -ENOMEM ? r : -EBADMSG;
	}
	*ret = c.recs;
	*ret_n = c.n;
	return 0;
}

int
ctl_names_verb(uint32_t type, int argc, char **argv)
{
	_cleanup_free_ struct proto_status_record *recs = NULL;
	_cleanup_free_ char **names = NULL;
	struct ctl_names nm;
	struct ctl_reply rep;
	size_t nrecs = 0, n = 0, i;
	int r;

	if (arg_group) {
		if (!proto_name_is_valid(arg_group, strlen(arg_group)))
			return agentctl_usage_error("invalid group name: %s",
						    arg_group);
		r = ctl_fetch_status(NULL, 0, &recs, &nrecs);
		if (r < 0)
			return ctl_error_exit(r);
	}
	names = calloc((size_t)argc + nrecs + 1, sizeof(*names));
	if (!names) {
		log_warnx("out of memory");
		return EXIT_FAIL;
	}
	for (i = 0; i < (size_t)argc; i++)
		names[n++] = argv[i];
	for (i = 0; i < nrecs; i++)
		if (strcmp(recs[i].group, arg_group) == 0)
			names[n++] = recs[i].name;
	if (n == 0) {
		if (arg_group) {
			log_warnx("no agent in group %s", arg_group);
			return EXIT_FAIL;
		}
		return agentctl_usage_error("no agent named");
	}
	for (i = 0; i < n; i++)
		if (strlen(names[i]) == 0 || strlen(names[i]) > PROTO_NAME_MAX)
			return agentctl_usage_error("invalid agent name: '%s'",
						    names[i]);
	if (n > PROTO_LIST_MAX)
		return agentctl_usage_error("too many names (at most %u)",
					    PROTO_LIST_MAX);
	nm.names = names;
	nm.n = (uint32_t)n;
	r = ctl_request_flags(type, ctl_pack_names, &nm, CTL_REQ_SLOW_OK, &rep);
	if (r == -ETIME) {
		/* agentd has it and goes on (a stop waits for StopTimeoutSec,
		 * a start for readiness)? If it still answers a status, not
		 * done yet is a failure of this command, not an unreachable
		 * agentd. */
		_cleanup_free_ struct proto_status_record *probe = NULL;
		usec_t saved = arg_timeout;
		size_t np = 0;

		arg_timeout = MIN(arg_timeout, USEC_PER_SEC);
		r = ctl_fetch_status(NULL, 0, &probe, &np);
		arg_timeout = saved;
		if (r < 0)
			return ctl_error_exit(r);
		log_warnx("not done within the timeout; agentd goes on with "
			  "it (see 'agentctl status')");
		return EXIT_FAIL;
	}
	if (r < 0)
		return ctl_error_exit(r);
	r = ctl_reply_result(&rep);
	ctl_reply_done(&rep);
	return r;
}

int
ctl_simple(uint32_t type, ctl_pack_fn pack, const void *userdata)
{
	struct ctl_reply rep;
	int r;

	r = ctl_request(type, pack, userdata, &rep);
	if (r < 0)
		return ctl_error_exit(r);
	r = ctl_reply_result(&rep);
	ctl_reply_done(&rep);
	return r;
}
