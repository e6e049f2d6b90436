/* SPDX-License-Identifier: MIT */
/*
 * control.c - the control socket: rep0 in raw mode on
 * RUNTIME_DIR/control.sock (0600), polled through NNG_OPT_RECVFD. Raw mode
 * lets a reply wait: start, stop and restart answer once the agents they
 * name have settled (running / stopped / failed), so `agentctl stop x`
 * returns when x is down. Every request gets exactly one reply with its
 * corr; anything malformed gets CTL_ERROR -EBADMSG and changes nothing.
 */
#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/transport/ipc/ipc.h>

#include "agentd.h"
#include "log.h"
#include "macro.h"
#include "proto-ctl.h"
#include "proto-link.h"

#define PENDING_MAX	1024
#define PENDING_TTL	(10 * USEC_PER_MINUTE)

/* Takes msg in every case; a pipe still busy with the previous reply
 * gets this one later (sendq.c). */
static void
ctl_send(struct manager *m, const void *hdr, size_t hdr_len, nng_msg *msg)
{
	sendq_reply(&m->ctl_out, hdr, hdr_len, msg);
}

static void
ctl_reply_result(struct manager *m, const void *hdr, size_t hdr_len,
		 uint64_t corr, int code, const char *text)
{
	sendq_reply_result(&m->ctl_out, hdr, hdr_len, corr, code, text);
}

static void ctl_reply_errorf(struct manager *m, const void *hdr,
			     size_t hdr_len, uint64_t corr, int code,
			     const char *fmt, ...) _printf_(6, 7);

static void
ctl_reply_errorf(struct manager *m, const void *hdr, size_t hdr_len,
		 uint64_t corr, int code, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	ctl_reply_result(m, hdr, hdr_len, corr, code, text);
}

/* ---- name matching ------------------------------------------------------ */

static bool
ctl_match(const struct agent *a, const char *pattern)
{
	if (strcmp(pattern, a->name) == 0)
		return true;
	if (a->unit && strcmp(pattern, a->unit->name) == 0)
		return true; /* "worker" names every worker@N */
	if (fnmatch(pattern, a->name, 0) == 0)
		return true;
	return a->group && fnmatch(pattern, a->unit->name, 0) == 0;
}

struct match_ctx {
	struct manager *m;
	bool *selected;
	size_t n_patterns;
	char missing[PROTO_NAME_MAX + 1];
};

static int
match_cb(const char *s, size_t len, void *userdata)
{
	struct match_ctx *c = userdata;
	char pattern[PROTO_NAME_MAX + 1];
	bool any = false;

	if (len > PROTO_NAME_MAX)
		return -EBADMSG;
	memcpy(pattern, s, len);
	pattern[len] = '\0';
	c->n_patterns++;
	for (size_t i = 0; i < c->m->n_agents; i++)
		if (ctl_match(c->m->agents[i], pattern)) {
			c->selected[i] = true;
			any = true;
		}
	if (!any && !c->missing[0])
		snprintf(c->missing, sizeof(c->missing), "%s", pattern);
	return 0;
}

/* ---- status ------------------------------------------------------------- */

static void
ctl_fill_record(struct agent *a, struct proto_status_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	snprintf(rec->name, sizeof(rec->name), "%s", a->name);
	snprintf(rec->group, sizeof(rec->group), "%s",
		 a->group ? a->group->name : "");
	snprintf(rec->state, sizeof(rec->state), "%s",
		 agent_state_to_string(a->state));
	rec->pid = a->pid > 0 ? (uint32_t)a->pid : 0;
	rec->restarts = a->restarts;
	if (a->pid > 0 && a->spawned_at)
		rec->uptime_ms = (now_usec() - a->spawned_at) / USEC_PER_MSEC;
	snprintf(rec->last_exit, sizeof(rec->last_exit), "%s", a->last_exit);
}

static void
ctl_status(struct manager *m, const void *hdr, size_t hdr_len,
	   const struct proto_env *env, const bool *selected, bool all)
{
	struct proto_builder b;
	nng_msg *msg;
	uint32_t n = 0;
	int r;

	for (size_t i = 0; i < m->n_agents; i++)
		if (all || selected[i])
			n++;
	r = proto_builder_begin(&b, PROTO_MSG_CTL_STATUS_REPLY, 0, env->corr,
				"agentd");
	if (r < 0)
		return;
	msgpack_pack_array(&b.pk, n);
	for (size_t i = 0; i < m->n_agents; i++) {
		struct proto_status_record rec;

		if (!all && !selected[i])
			continue;
		ctl_fill_record(m->agents[i], &rec);
		r = proto_status_record_pack(&b.pk, &rec);
		if (r < 0) {
			proto_builder_abort(&b);
			ctl_reply_errorf(m, hdr, hdr_len, env->corr, r,
					 "cannot encode the status of %s", rec.name);
			return;
		}
	}
	r = proto_builder_finish(&b, &msg);
	if (r < 0) {
		ctl_reply_errorf(m, hdr, hdr_len, env->corr, r,
				 "status reply too large");
		return;
	}
	ctl_send(m, hdr, hdr_len, msg);
}

/* ---- waiting replies ---------------------------------------------------- */

static void
pending_free(struct pending_ctl *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_names; i++)
		free(p->names[i]);
	free(p->names);
	free(p->header);
	free(p);
}

static const char *
verb_done(uint32_t type)
{
	switch (type) {
	case PROTO_MSG_CTL_START: return "started";
	case PROTO_MSG_CTL_STOP: return "stopped";
	case PROTO_MSG_CTL_RESTART: return "restarted";
	default: return "done";
	}
}

/* 1 when p is answered (and can be freed), 0 when still waiting. */
static int
pending_try(struct manager *m, struct pending_ctl *p, bool force)
{
	char failed[512] = "";
	size_t fl = 0;

	for (size_t i = 0; i < p->n_names; i++) {
		struct agent *a = manager_find_agent(m, p->names[i]);

		if (!a)
			continue; /* removed by a reload */
		if (!agent_is_settled_for(a, p->type)) {
			if (!force)
				return 0;
			continue;
		}
		if (p->type != PROTO_MSG_CTL_STOP && a->state != AGENT_RUNNING &&
		    a->state != AGENT_DONE && fl < sizeof(failed) - 1) {
			int n = snprintf(failed + fl, sizeof(failed) - fl, "%s%s %s%s%s%s",
					 fl ? ", " : "", a->name,
					 agent_state_to_string(a->state),
					 a->last_exit[0] ? " (" : "", a->last_exit,
					 a->last_exit[0] ? ")" : "");
			if (n > 0)
				fl = MIN(fl + (size_t)n, sizeof(failed) - 1);
		}
	}
	if (force)
		ctl_reply_errorf(m, p->header, p->header_len, p->corr, -ETIMEDOUT,
				 "gave up waiting for the agents to settle");
	else if (failed[0])
		ctl_reply_errorf(m, p->header, p->header_len, p->corr, -EIO,
				 "not running: %s", failed);
	else
		ctl_reply_errorf(m, p->header, p->header_len, p->corr, 0,
				 "%s %u agent%s", verb_done(p->type), p->count,
				 p->count == 1 ? "" : "s");
	return 1;
}

void
control_check_pending(struct manager *m)
{
	struct pending_ctl **pp = &m->pending;
	usec_t now = now_usec();

	while (*pp) {
		struct pending_ctl *p = *pp;

		if (pending_try(m, p, now > p->deadline)) {
			*pp = p->next;
			pending_free(p);
			continue;
		}
		pp = &p->next;
	}
}

static void
ctl_wait_or_reply(struct manager *m, const void *hdr, size_t hdr_len,
		  const struct proto_env *env, const bool *selected,
		  unsigned count)
{
	struct pending_ctl *p, *q;
	size_t n_pending = 0;

	for (q = m->pending; q; q = q->next)
		n_pending++;
	p = calloc(1, sizeof(*p));
	if (!p || n_pending >= PENDING_MAX)
		goto now;
	p->type = env->type;
	p->corr = env->corr;
	p->count = count;
	p->deadline = usec_add(now_usec(), PENDING_TTL);
	p->header = malloc(hdr_len ? hdr_len : 1);
	if (!p->header)
		goto now;
	memcpy(p->header, hdr, hdr_len);
	p->header_len = hdr_len;
	for (size_t i = 0; i < m->n_agents; i++) {
		char **nv;

		if (!selected[i])
			continue;
		nv = realloc(p->names, (p->n_names + 1) * sizeof(char *));
		if (!nv)
			goto now;
		p->names = nv;
		p->names[p->n_names] = strdup(m->agents[i]->name);
		if (!p->names[p->n_names])
			goto now;
		p->n_names++;
	}
	if (pending_try(m, p, false)) {
		pending_free(p);
		return;
	}
	p->next = m->pending;
	m->pending = p;
	return;
now:
	pending_free(p);
	ctl_reply_errorf(m, hdr, hdr_len, env->corr, 0, "%s %u agents (not waiting)",
			 verb_done(env->type), count);
}

/* ---- long polls: CTL_EVENTS and CTL_LOGS -------------------------------- */

#define EVENTS_DEFAULT_MAX	1024
/* Room for the envelope and the reply head around the items. */
#define REPLY_ROOM		(PROTO_MSG_MAX - 1024)

/* The packed size of an event, at most (array, 2 uint64, 4 str headers). */
static size_t
event_size_max(const struct agentd_event *e, const char *from, const char *to)
{
	return 1 + 9 + 9 + 4 * 5 + strlen(e->name) + strlen(from) +
	       strlen(to) + strlen(e->detail);
}

/* Answer CTL_EVENTS with what the ring holds at or after since. */
static void
events_reply(struct manager *m, const void *hdr, size_t hdr_len,
	     uint64_t corr, uint64_t since, uint32_t max)
{
	struct proto_seq_head h = { 0 };
	struct proto_builder b;
	uint64_t start, avail;
	size_t bytes = 0;
	nng_msg *msg;
	int r;

	h.first_seq = events_first_seq(m);
	h.next_seq = m->event_seq + 1;
	if (since == 0)
		since = 1;
	if (since > h.next_seq)
		since = h.next_seq;
	h.missed = since < h.first_seq ? h.first_seq - since : 0;
	start = MAX(since, h.first_seq);
	avail = h.next_seq - start;
	if (max == 0)
		max = EVENTS_DEFAULT_MAX;
	while (h.n < avail && h.n < max) {
		const struct agentd_event *e = events_get(m, start + h.n);

		bytes += event_size_max(e, agent_state_to_string(e->from),
					agent_state_to_string(e->to));
		if (bytes > REPLY_ROOM)
			break; /* the rest comes with the next request */
		h.n++;
	}
	h.next_seq = start + h.n;

	r = proto_builder_begin(&b, PROTO_MSG_CTL_EVENTS_REPLY, 0, corr,
				"agentd");
	if (r < 0)
		return;
	r = proto_seq_head_pack(&b.pk, &h);
	for (uint32_t i = 0; i < h.n && r >= 0; i++) {
		const struct agentd_event *e = events_get(m, start + i);
		struct proto_event_record rec;

		memset(&rec, 0, sizeof(rec));
		rec.seq = e->seq;
		rec.realtime_usec = e->when;
		snprintf(rec.name, sizeof(rec.name), "%s", e->name);
		snprintf(rec.from, sizeof(rec.from), "%s",
			 agent_state_to_string(e->from));
		snprintf(rec.to, sizeof(rec.to), "%s",
			 agent_state_to_string(e->to));
		snprintf(rec.detail, sizeof(rec.detail), "%s", e->detail);
		r = proto_event_record_pack(&b.pk, &rec);
	}
	if (r < 0) {
		proto_builder_abort(&b);
		ctl_reply_errorf(m, hdr, hdr_len, corr, r,
				 "cannot encode the events");
		return;
	}
	r = proto_builder_finish(&b, &msg);
	if (r < 0) {
		ctl_reply_errorf(m, hdr, hdr_len, corr, r,
				 "events reply too large");
		return;
	}
	ctl_send(m, hdr, hdr_len, msg);
}

/*
 * Answer CTL_LOGS for agent a: since 0 means the last `lines` lines (all
 * when 0), else the lines at or after since, at most `lines`.
 */
static void
logs_reply(struct manager *m, const void *hdr, size_t hdr_len, uint64_t corr,
	   struct agent *a, uint64_t since, uint32_t lines)
{
	const struct log_ring *ring = &a->ring;
	struct proto_seq_head h = { 0 };
	struct proto_builder b;
	uint64_t start, avail;
	size_t bytes = 0;
	nng_msg *msg;
	int r;

	h.first_seq = log_ring_first_seq(ring);
	h.next_seq = log_ring_next_seq(ring);
	if (since == 0) {
		since = h.first_seq;
		if (lines > 0 && h.next_seq - h.first_seq > lines)
			since = h.next_seq - lines;
	}
	if (since > h.next_seq)
		since = h.next_seq;
	h.missed = since < h.first_seq ? h.first_seq - since : 0;
	start = MAX(since, h.first_seq);
	avail = h.next_seq - start;
	if (lines == 0)
		lines = PROTO_LOG_LINES_MAX;
	while (h.n < avail && h.n < lines) {
		bytes += 5 + strlen(log_ring_line(ring, start + h.n));
		if (bytes > REPLY_ROOM)
			break;
		h.n++;
	}
	h.next_seq = start + h.n;

	r = proto_builder_begin(&b, PROTO_MSG_CTL_LOGS_REPLY, 0, corr, "agentd");
	if (r < 0)
		return;
	r = proto_seq_head_pack(&b.pk, &h);
	for (uint32_t i = 0; i < h.n && r >= 0; i++) {
		const char *line = log_ring_line(ring, start + i);

		r = proto_pack_str(&b.pk, line,
				   MIN(strlen(line), (size_t)PROTO_STR_MAX));
	}
	if (r < 0) {
		proto_builder_abort(&b);
		ctl_reply_errorf(m, hdr, hdr_len, corr, r,
				 "cannot encode the log lines");
		return;
	}
	r = proto_builder_finish(&b, &msg);
	if (r < 0) {
		ctl_reply_errorf(m, hdr, hdr_len, corr, r,
				 "logs reply too large");
		return;
	}
	ctl_send(m, hdr, hdr_len, msg);
}

static void
watch_free(struct ctl_watch *w)
{
	if (!w)
		return;
	free(w->header);
	free(w);
}

/* Answer w now: with what is there (possibly nothing). */
static void
watch_answer(struct manager *m, struct ctl_watch *w)
{
	struct agent *a;

	if (w->type == PROTO_MSG_CTL_EVENTS) {
		events_reply(m, w->header, w->header_len, w->corr, w->since,
			     w->max);
		return;
	}
	a = manager_find_agent(m, w->name);
	if (!a)
		ctl_reply_errorf(m, w->header, w->header_len, w->corr, -ENOENT,
				 "no such agent: %s (removed)", w->name);
	else
		logs_reply(m, w->header, w->header_len, w->corr, a, w->since,
			   w->max);
}

/* True when w has something to answer with (or its agent is gone). */
static bool
watch_ready(struct manager *m, const struct ctl_watch *w)
{
	struct agent *a;

	if (w->type == PROTO_MSG_CTL_EVENTS)
		return m->event_seq >= w->since;
	a = manager_find_agent(m, w->name);
	return !a || log_ring_next_seq(&a->ring) > w->since;
}

/* The rep0 backtrace starts with the pipe id (big endian). */
static bool
watch_pipe_alive(struct manager *m, const struct ctl_watch *w)
{
	uint32_t id = sendq_rep_pipe(w->header, w->header_len);
	bool alive = false;

	if (id == 0)
		return false;
	pthread_mutex_lock(&m->ctl_guard.lock);
	for (size_t i = 0; i < m->ctl_guard.n_live && !alive; i++)
		alive = m->ctl_guard.live[i].id == id;
	pthread_mutex_unlock(&m->ctl_guard.lock);
	return alive;
}

static int watch_timer_cb(sd_event_source *s, uint64_t usec, void *userdata);

/* Answer every watch that is ready or due, forget those whose client went
 * away, and arm the timer for the earliest deadline left. */
static void
watch_service(struct manager *m)
{
	struct ctl_watch **pp = &m->watches;
	usec_t now = now_usec(), next = USEC_INFINITY;
	int r;

	while (*pp) {
		struct ctl_watch *w = *pp;
		bool alive = watch_pipe_alive(m, w);

		if (!alive || watch_ready(m, w) || now >= w->deadline) {
			log_debug("control: watch %s", alive ? "answered" : "client gone");
			if (alive)
				watch_answer(m, w);
			*pp = w->next;
			m->n_watches--;
			watch_free(w);
			continue;
		}
		next = MIN(next, w->deadline);
		pp = &w->next;
	}
	if (next == USEC_INFINITY) {
		if (m->watch_timer)
			sd_event_source_set_enabled(m->watch_timer, SD_EVENT_OFF);
		return;
	}
	if (!m->watch_timer) {
		r = sd_event_add_time(m->event, &m->watch_timer, CLOCK_MONOTONIC,
				      next, 0, watch_timer_cb, m);
		if (r < 0)
			log_warnx("control: watch timer: %s", strerror(-r));
		return;
	}
	sd_event_source_set_time(m->watch_timer, next);
	sd_event_source_set_enabled(m->watch_timer, SD_EVENT_ONESHOT);
}

static int
watch_timer_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
	watch_service(userdata);
	return 0;
}

static int
watch_defer_cb(sd_event_source *s, void *userdata)
{
	watch_service(userdata);
	return 0;
}

void
control_watch_kick(struct manager *m)
{
	int r;

	if (!m->watches)
		return;
	if (!m->watch_defer) {
		r = sd_event_add_defer(m->event, &m->watch_defer, watch_defer_cb,
				       m);
		if (r < 0) {
			log_warnx("control: watch: %s", strerror(-r));
			return;
		}
	}
	sd_event_source_set_enabled(m->watch_defer, SD_EVENT_ONESHOT);
}

/* Park a long poll until since exists or wait_ms passes. */
static void
watch_park(struct manager *m, const void *hdr, size_t hdr_len,
	   const struct proto_env *env, uint64_t since, uint32_t max,
	   const char *name, uint32_t wait_ms)
{
	struct ctl_watch *w;

	if (m->n_watches >= WATCH_MAX) {
		/* answer the oldest (the last in the list) to make room */
		struct ctl_watch **pp = &m->watches;

		while ((*pp)->next)
			pp = &(*pp)->next;
		watch_answer(m, *pp);
		watch_free(*pp);
		*pp = NULL;
		m->n_watches--;
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->header = malloc(hdr_len ? hdr_len : 1))) {
		watch_free(w);
		ctl_reply_errorf(m, hdr, hdr_len, env->corr, -ENOMEM,
				 "out of memory");
		return;
	}
	memcpy(w->header, hdr, hdr_len);
	w->header_len = hdr_len;
	w->type = env->type;
	w->corr = env->corr;
	w->since = since;
	w->max = max;
	if (name)
		snprintf(w->name, sizeof(w->name), "%s", name);
	w->deadline = usec_add(now_usec(), (usec_t)wait_ms * USEC_PER_MSEC);
	w->next = m->watches;
	m->watches = w;
	m->n_watches++;
	watch_service(m); /* arms the timer (and drops dead clients) */
}

static void
ctl_events(struct manager *m, const void *hdr, size_t hdr_len,
	   const struct proto_env *env, const struct proto_events_req *req)
{
	uint64_t since = req->since_seq;

	/* "from now on" (or past the newest): the next event to come */
	if (since > m->event_seq + 1)
		since = m->event_seq + 1;
	if (m->event_seq >= MAX(since, (uint64_t)1) || req->wait_ms == 0 ||
	    m->phase == PHASE_DONE) {
		events_reply(m, hdr, hdr_len, env->corr, since, req->max);
		return;
	}
	watch_park(m, hdr, hdr_len, env, MAX(since, (uint64_t)1), req->max,
		   NULL, req->wait_ms);
}

static void
ctl_logs(struct manager *m, const void *hdr, size_t hdr_len,
	 const struct proto_env *env, const struct proto_logs_req *req)
{
	struct agent *a = manager_find_agent(m, req->name);
	uint64_t since = req->since_seq, next;

	if (!a) {
		ctl_reply_errorf(m, hdr, hdr_len, env->corr, -ENOENT,
				 "no such agent: %s", req->name);
		return;
	}
	next = log_ring_next_seq(&a->ring);
	if (since == 0 || since < next || req->wait_ms == 0) {
		logs_reply(m, hdr, hdr_len, env->corr, a, since, req->lines);
		return;
	}
	watch_park(m, hdr, hdr_len, env, next, req->lines, a->name,
		   req->wait_ms);
}

/* ---- requests ----------------------------------------------------------- */

static void
ctl_handle(struct manager *m, nng_msg *req)
{
	const void *hdr = nng_msg_header(req);
	size_t hdr_len = nng_msg_header_len(req);
	_cleanup_free_ bool *selected = NULL;
	struct match_ctx mc = { .m = m };
	struct proto_events_req evreq;
	struct proto_logs_req logreq;
	struct proto_env env;
	struct proto_reader rd;
	unsigned count = 0;
	int32_t sig = 0;
	int r;

	r = proto_env_decode_msg(req, &env);
	if (r == 0)
		log_debug("control: %s request", proto_msgtype_to_string(env.type));
	if (r < 0) {
		log_debug("control: malformed request: %s", strerror(-r));
		ctl_reply_errorf(m, hdr, hdr_len, 0,
				 r == -EPROTONOSUPPORT ? r : -EBADMSG,
				 r == -EPROTONOSUPPORT ? "unsupported protocol version"
						       : "malformed request");
		return;
	}
	selected = calloc(m->n_agents + 1, sizeof(bool));
	if (!selected) {
		ctl_reply_errorf(m, hdr, hdr_len, env.corr, -ENOMEM, "out of memory");
		return;
	}
	mc.selected = selected;
	proto_reader_init(&rd, env.payload, env.payload_len);
	switch (env.type) {
	case PROTO_MSG_CTL_STATUS:
	case PROTO_MSG_CTL_START:
	case PROTO_MSG_CTL_STOP:
	case PROTO_MSG_CTL_RESTART:
	case PROTO_MSG_CTL_RESET_FAILED:
		r = proto_names_unpack(&rd, match_cb, &mc);
		break;
	case PROTO_MSG_CTL_KILL:
		r = proto_kill_unpack(&rd, &sig, match_cb, &mc);
		break;
	case PROTO_MSG_CTL_RELOAD:
	case PROTO_MSG_CTL_SHUTDOWN:
		r = proto_empty_unpack(&rd);
		break;
	case PROTO_MSG_CTL_EVENTS:
		r = proto_events_req_unpack(&rd, &evreq);
		break;
	case PROTO_MSG_CTL_LOGS:
		r = proto_logs_req_unpack(&rd, &logreq);
		break;
	default:
		ctl_reply_errorf(m, hdr, hdr_len, env.corr, -EBADMSG,
				 "not a request agentd serves: %s",
				 proto_msgtype_to_string(env.type) ?: "unknown type");
		return;
	}
	if (r < 0) {
		ctl_reply_errorf(m, hdr, hdr_len, env.corr, -EBADMSG,
				 "malformed %s request",
				 proto_msgtype_to_string(env.type));
		return;
	}
	if (mc.missing[0]) {
		ctl_reply_errorf(m, hdr, hdr_len, env.corr, -ENOENT,
				 "no such agent: %s", mc.missing);
		return;
	}
	switch (env.type) {
	case PROTO_MSG_CTL_STATUS:
		ctl_status(m, hdr, hdr_len, &env, selected, mc.n_patterns == 0);
		return;
	case PROTO_MSG_CTL_RELOAD: {
		char *text = NULL;

		r = manager_reload(m, &text);
		ctl_reply_result(m, hdr, hdr_len, env.corr, r < 0 ? r : 0,
				 text ? text : (r < 0 ? strerror(-r) : "reloaded"));
		free(text);
		return;
	}
	case PROTO_MSG_CTL_SHUTDOWN:
		ctl_reply_result(m, hdr, hdr_len, env.corr, 0, "shutting down");
		manager_begin_shutdown(m, 0);
		return;
	case PROTO_MSG_CTL_EVENTS:
		ctl_events(m, hdr, hdr_len, &env, &evreq);
		return;
	case PROTO_MSG_CTL_LOGS:
		ctl_logs(m, hdr, hdr_len, &env, &logreq);
		return;
	default:
		break;
	}
	if (mc.n_patterns == 0) {
		ctl_reply_errorf(m, hdr, hdr_len, env.corr, -EINVAL,
				 "no agent named");
		return;
	}
	if (m->phase >= PHASE_STOPPING && env.type != PROTO_MSG_CTL_STOP &&
	    env.type != PROTO_MSG_CTL_KILL) {
		ctl_reply_errorf(m, hdr, hdr_len, env.corr, -ESHUTDOWN,
				 "agentd is shutting down");
		return;
	}
	for (size_t i = 0; i < m->n_agents; i++) {
		struct agent *a = m->agents[i];

		if (!selected[i])
			continue;
		switch (env.type) {
		case PROTO_MSG_CTL_START:
			r = agent_request_start(a);
			break;
		case PROTO_MSG_CTL_STOP:
			r = agent_request_stop(a);
			break;
		case PROTO_MSG_CTL_RESTART:
			r = agent_request_restart(a);
			break;
		case PROTO_MSG_CTL_RESET_FAILED:
			r = agent_request_reset_failed(a);
			break;
		case PROTO_MSG_CTL_KILL:
			r = 0;
			if (a->pid > 0) {
				process_kill_main(a, sig);
				r = 1;
			}
			break;
		default:
			r = 0;
			break;
		}
		if (r < 0) {
			ctl_reply_errorf(m, hdr, hdr_len, env.corr, r, "%s: %s",
					 a->name, strerror(-r));
			return;
		}
		count += (unsigned)r;
	}
	switch (env.type) {
	case PROTO_MSG_CTL_START:
	case PROTO_MSG_CTL_STOP:
	case PROTO_MSG_CTL_RESTART:
		ctl_wait_or_reply(m, hdr, hdr_len, &env, selected, count);
		return;
	case PROTO_MSG_CTL_KILL:
		ctl_reply_errorf(m, hdr, hdr_len, env.corr, 0,
				 "sent SIG%s to %u agent%s",
				 sigabbrev_np(sig) ?: "?", count,
				 count == 1 ? "" : "s");
		return;
	default:
		ctl_reply_errorf(m, hdr, hdr_len, env.corr, 0,
				 "reset %u agent%s", count, count == 1 ? "" : "s");
		return;
	}
}

static int
ctl_recv_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct manager *m = userdata;

	rep_recv_batch(m->ctl_sock, "control", m, ctl_handle);
	return 0;
}

/* On an nng thread: only count (see listener.c). */
static void
ctl_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct manager *m = arg;

	nng_guard_pipe_event(&m->ctl_guard, p, ev);
}

int
control_open(struct manager *m)
{
	char path[512];
	int rv, fd, r;

	snprintf(path, sizeof(path), "%s/control.sock", m->runtime_dir);
	rv = nng_guard_init(&m->ctl_guard);
	if (rv < 0)
		return rv;
	if (m->socket_group) {
		m->ctl_guard.mode = 0660;
		m->ctl_guard.gid = m->socket_gid;
	}
	rv = nng_rep0_open_raw(&m->ctl_sock);
	if (rv != 0)
		return proto_errno_from_nng(rv);
	m->ctl_open = true;
	m->ctl_out = (struct sendq){ .event = m->event, .sock = m->ctl_sock,
				     .what = "control" };
	if ((rv = nng_socket_set_size(m->ctl_sock, NNG_OPT_RECVMAXSZ,
				      PROTO_MSG_MAX)) != 0 ||
	    (rv = nng_pipe_notify(m->ctl_sock, NNG_PIPE_EV_ADD_PRE, ctl_pipe_cb,
				  m)) != 0 ||
	    (rv = nng_pipe_notify(m->ctl_sock, NNG_PIPE_EV_REM_POST, ctl_pipe_cb,
				  m)) != 0 ||
	    (rv = nng_socket_get_int(m->ctl_sock, NNG_OPT_RECVFD, &fd)) != 0) {
		log_warnx("control: %s", nng_strerror(rv));
		return proto_errno_from_nng(rv);
	}
	r = nng_guard_listen(&m->ctl_guard, m->event, m->ctl_sock, path);
	if (r < 0)
		return r;
	return sd_event_add_io(m->event, &m->ctl_src, fd, EPOLLIN, ctl_recv_cb, m);
}

void
control_close(struct manager *m)
{
	struct pending_ctl *p;
	struct ctl_watch *w;

	while ((p = m->pending)) {
		m->pending = p->next;
		ctl_reply_errorf(m, p->header, p->header_len, p->corr, -ESHUTDOWN,
				 "agentd exited");
		pending_free(p);
	}
	/*
	 * Parked long polls are not answered: their clients would ask again
	 * at once, and a request arriving while nng_close() runs was seen to
	 * wedge it (nng 1.5.2). They see the connection close instead.
	 */
	while ((w = m->watches)) {
		m->watches = w->next;
		watch_free(w);
	}
	m->n_watches = 0;
	m->watch_defer = sd_event_source_disable_unref(m->watch_defer);
	m->watch_timer = sd_event_source_disable_unref(m->watch_timer);
	if (m->ctl_out.head)
		sendq_flush(&m->ctl_out);
	sendq_done(&m->ctl_out);
	m->ctl_src = sd_event_source_disable_unref(m->ctl_src);
	nng_guard_close(&m->ctl_guard);
	if (m->ctl_open) {
		nng_close(m->ctl_sock);
		nng_guard_done(&m->ctl_guard);
	}
	m->ctl_open = false;
}
