/* SPDX-License-Identifier: MIT */
/*
 * dial.c - dial an ipc socket and wait, bounded, until the connection is
 * up, telling "nobody listens" apart from "nobody answers".
 *
 * Why not a plain connect(2) probe: nng 1.5.2 has a bug (nng#1518, fixed
 * in 1.6) where a peer that connects and disconnects before the SP
 * handshake breaks the listener for good - a probe would wedge agentd's
 * control socket or an agent's inbox. And a blocking nng_dial waits for
 * the handshake without a timeout of ours. So: a non-blocking dial, then
 * nng's own statistics tell whether a pipe is up ("pipes" of the socket)
 * or the dialer was refused ("refused": ENOENT and ECONNREFUSED; "auth":
 * no permission; "proto"/"reject": the peer speaks another SP protocol).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>

#include "agentctl.h"

struct dial_state {
	int pipes;   /* -1: not found */
	int refused; /* -1: not found; ENOENT, ECONNREFUSED */
	int auth;    /* EACCES / EPERM */
	int proto;   /* the peer speaks another SP protocol */
};

static uint64_t
stat_child_value(nng_stat *scope, const char *name, bool *found)
{
	nng_stat *st = nng_stat_find(scope, name);

	*found = st != NULL;
	return st ? nng_stat_value(st) : 0;
}

static int
dial_state_get(nng_socket s, nng_dialer d, struct dial_state *ret)
{
	nng_stat *all, *st;
	int sid = nng_socket_id(s), did = nng_dialer_id(d);

	*ret = (struct dial_state){ -1, -1, 0, 0 };
	if (nng_stats_get(&all) != 0)
		return -ENOMEM;
	for (st = nng_stat_child(all); st; st = nng_stat_next(st)) {
		const char *scope = nng_stat_name(st);
		bool found;
		uint64_t id;

		if (nng_stat_type(st) != NNG_STAT_SCOPE)
			continue;
		id = stat_child_value(st, "id", &found);
		if (!found)
			continue;
		if (strcmp(scope, "socket") == 0 && (int)id == sid) {
			uint64_t v = stat_child_value(st, "pipes", &found);

			if (found)
				ret->pipes = (int)MIN(v, (uint64_t)INT32_MAX);
		} else if (strcmp(scope, "dialer") == 0 && (int)id == did) {
			uint64_t v = stat_child_value(st, "refused", &found);

			if (found)
				ret->refused = (int)MIN(v, (uint64_t)INT32_MAX);
			ret->auth = stat_child_value(st, "auth", &found) > 0;
			ret->proto = stat_child_value(st, "proto", &found) > 0 ||
				     stat_child_value(st, "reject", &found) > 0;
		}
	}
	nng_stats_free(all);
	return 0;
}

static int
dial_state_error(const struct dial_state *ds)
{
	if (ds->refused > 0)
		return -ECONNREFUSED;
	if (ds->auth > 0)
		return -EACCES;
	if (ds->proto > 0)
		return -EPROTO;
	return 0;
}

int
dial_refine_error(nng_socket s, nng_dialer d, int r)
{
	struct dial_state ds;
	int e;

	if (r != -ETIMEDOUT || dial_state_get(s, d, &ds) < 0)
		return r;
	e = dial_state_error(&ds);
	return e < 0 ? e : r;
}

int
dial_connected(nng_socket s, const char *url, usec_t deadline,
	       nng_dialer *ret_dialer)
{
	nng_dialer d;
	usec_t step = 50; /* us, doubling up to 5 ms */
	int rv;

	if ((rv = nng_socket_set_ms(s, NNG_OPT_RECONNMINT, 20)) != 0 ||
	    (rv = nng_socket_set_ms(s, NNG_OPT_RECONNMAXT, 200)) != 0 ||
	    (rv = nng_dial(s, url, &d, NNG_FLAG_NONBLOCK)) != 0)
		return proto_errno_from_nng(rv);
	if (ret_dialer)
		*ret_dialer = d;

	for (;;) {
		struct dial_state ds;

		int e;

		if (dial_state_get(s, d, &ds) < 0)
			return 0; /* no statistics: let send/recv time out */
		/* Errors first: a rejected pipe may have been counted. */
		e = dial_state_error(&ds);
		if (e < 0)
			return e;
		if (ds.pipes > 0)
			return 0;
		if (ds.pipes < 0 && ds.refused < 0)
			return 0; /* statistics compiled out: same */
		if (usec_until(deadline) == 0)
			return -ETIMEDOUT;
		nanosleep(&(struct timespec){ .tv_nsec = (long)step * 1000 },
			  NULL);
		step = MIN(step * 2, 5000);
	}
}
