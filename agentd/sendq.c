/* SPDX-License-Identifier: MIT */
/*
 * sendq.c - messages a socket cannot take yet. rep0 (nng 1.5.2) writes
 * one message per pipe at a time and has no send buffer: a non-blocking
 * send to a pipe still writing the previous message fails with
 * NNG_EAGAIN. That happens whenever agentd answers twice in a row to one
 * peer (a watcher asking again as soon as it has its answer), on the
 * control socket and the name server's. Such messages wait here, in
 * order per pipe, retried every SENDQ_RETRY until SENDQ_TTL.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agentd.h"
#include "log.h"
#include "macro.h"
#include "proto-ctl.h"

#define SENDQ_MAX	4096
#define REP_RECV_BATCH	64 /* requests per wake-up and socket */
#define SENDQ_TTL	(5 * USEC_PER_SEC)
#define SENDQ_RETRY	(1 * USEC_PER_MSEC)

struct sendq_item {
	struct sendq_item *next;
	nng_msg *msg;
	uint32_t pipe;
	usec_t deadline;
};

static int sendq_timer_cb(sd_event_source *s, uint64_t usec, void *userdata);

void
sendq_flush(struct sendq *q)
{
	struct sendq_item **pp = &q->head;
	uint32_t busy[64];
	size_t n_busy = 0;
	usec_t now = now_usec();
	int rv;

	while (*pp) {
		struct sendq_item *o = *pp;
		bool skip = false;

		for (size_t i = 0; i < n_busy && !skip; i++)
			skip = busy[i] == o->pipe;
		if (skip) {
			pp = &o->next;
			continue;
		}
		rv = nng_sendmsg(q->sock, o->msg, NNG_FLAG_NONBLOCK);
		if (rv == NNG_EAGAIN && now < o->deadline) {
			if (n_busy == ELEMENTSOF(busy))
				break;
			busy[n_busy++] = o->pipe;
			pp = &o->next;
			continue;
		}
		if (rv != 0) {
			log_debug("%s: cannot send to pipe %u: %s", q->what,
				  o->pipe, nng_strerror(rv));
			nng_msg_free(o->msg);
		}
		*pp = o->next;
		free(o);
		q->n--;
	}
	if (!q->head) {
		if (q->timer)
			sd_event_source_set_enabled(q->timer, SD_EVENT_OFF);
		return;
	}
	if (!q->timer) {
		if (sd_event_add_time_relative(q->event, &q->timer,
					       CLOCK_MONOTONIC, SENDQ_RETRY, 0,
					       sendq_timer_cb, q) < 0)
			log_warnx("%s: no timer for queued messages", q->what);
		return;
	}
	sd_event_source_set_time_relative(q->timer, SENDQ_RETRY);
	sd_event_source_set_enabled(q->timer, SD_EVENT_ONESHOT);
}

static int
sendq_timer_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
	sendq_flush(userdata);
	return 0;
}

int
sendq_send(struct sendq *q, uint32_t pipe, nng_msg *msg)
{
	struct sendq_item *o, **tail;
	bool queued = false;
	int rv;

	for (o = q->head; o && !queued; o = o->next)
		queued = o->pipe == pipe;
	rv = queued ? NNG_EAGAIN : nng_sendmsg(q->sock, msg, NNG_FLAG_NONBLOCK);
	if (rv == 0)
		return 0;
	if (rv != NNG_EAGAIN || q->n >= SENDQ_MAX ||
	    !(o = calloc(1, sizeof(*o)))) {
		nng_msg_free(msg);
		return rv == NNG_EAGAIN ? -ENOBUFS : proto_errno_from_nng(rv);
	}
	o->msg = msg;
	o->pipe = pipe;
	o->deadline = usec_add(now_usec(), SENDQ_TTL);
	for (tail = &q->head; *tail; tail = &(*tail)->next)
		;
	*tail = o;
	q->n++;
	sendq_flush(q);
	return 0;
}

void
sendq_done(struct sendq *q)
{
	struct sendq_item *o;

	while ((o = q->head)) {
		q->head = o->next;
		nng_msg_free(o->msg);
		free(o);
	}
	q->n = 0;
	q->timer = sd_event_source_disable_unref(q->timer);
}

uint32_t
sendq_rep_pipe(const void *hdr, size_t hdr_len)
{
	const uint8_t *h = hdr;

	if (hdr_len < 4)
		return 0;
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
	       (uint32_t)h[2] << 8 | h[3];
}

void
sendq_reply(struct sendq *q, const void *hdr, size_t hdr_len, nng_msg *msg)
{
	int rv = nng_msg_header_append(msg, hdr, hdr_len);

	if (rv != 0) {
		log_debug("%s: cannot send a reply: %s", q->what,
			  nng_strerror(rv));
		nng_msg_free(msg);
		return;
	}
	if (sendq_send(q, sendq_rep_pipe(hdr, hdr_len), msg) < 0)
		log_debug("%s: a reply was dropped", q->what);
}

static int
pack_result(msgpack_packer *pk, const void *arg)
{
	return proto_result_pack(pk, arg);
}

void
sendq_reply_result(struct sendq *q, const void *hdr, size_t hdr_len,
		   uint64_t corr, int code, const char *text)
{
	struct proto_result res = {
		.code = code,
		.message = text ? text : "",
		.message_len = text ? MIN(strlen(text), (size_t)PROTO_STR_MAX) : 0,
	};
	nng_msg *msg;

	if (proto_build(code < 0 ? PROTO_MSG_CTL_ERROR : PROTO_MSG_CTL_RESULT,
			0, corr, "agentd", pack_result, &res, &msg) < 0)
		return;
	sendq_reply(q, hdr, hdr_len, msg);
}

void
rep_recv_batch(nng_socket sock, const char *what, struct manager *m,
	       void (*handle)(struct manager *m, nng_msg *msg))
{
	for (int i = 0; i < REP_RECV_BATCH; i++) {
		nng_msg *msg;
		int rv = nng_recvmsg(sock, &msg, NNG_FLAG_NONBLOCK);

		if (rv == NNG_EAGAIN)
			break;
		if (rv != 0) {
			log_warnx("%s: receive: %s", what, nng_strerror(rv));
			break;
		}
		handle(m, msg);
		nng_msg_free(msg);
	}
}
