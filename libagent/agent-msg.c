/* SPDX-License-Identifier: MIT */
/*
 * agent-msg.c - messages, the bounded mailbox and its full policy, sends,
 * requests with timeouts and their responses, and awaits (completions
 * delivered to the waiting async state).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "agent-internal.h"

#define FREE_MSGS_MAX 4096u

static int64_t next_req_id;

/* ---- built-in types ------------------------------------------------------------ */

static void
exit_free(void *p)
{
	struct agent_exit *e = p;

	if (!e)
		return;
	agent_unref(e->child);
	free(e);
}

_public_ const struct agent_msg_type agent_type_timer = { .name = "timer" };
_public_ const struct agent_msg_type agent_type_tick = { .name = "tick" };
_public_ const struct agent_msg_type agent_type_data = { .name = "data",
							  .free = free };
_public_ const struct agent_msg_type agent_type_source_end = {
	.name = "source-end"
};
_public_ const struct agent_msg_type agent_type_fd = { .name = "fd",
							.free = free };
_public_ const struct agent_msg_type agent_type_exit = { .name = "exit",
							  .free = exit_free };
_public_ const struct agent_msg_type agent_type_wake = { .name = "wake" };
_public_ const struct agent_msg_type agent_type_pipeline_output = {
	.name = "pipeline-output"
};

/* ---- message objects ------------------------------------------------------------ */

agent_msg *
agent__msg_new(agent_loop *l)
{
	agent_msg *m;

	if (l && agent__on_loop(l) && l->free_msgs) {
		m = l->free_msgs;
		l->free_msgs = m->next;
		l->n_free_msgs--;
		memset(m, 0, sizeof(*m));
	} else {
		m = calloc(1, sizeof(*m));
		if (!m)
			return NULL;
	}
	m->n_ref = 1;
	return m;
}

static void
remote_info_free(struct agent_remote_info *ri)
{
	if (!ri)
		return;
	free(ri->reply_to);
	free(ri->body);
	free(ri);
}

static void
msg_free(agent_msg *m)
{
	agent_loop *l = agent__tls_loop;

	if (m->payload && m->payload_free)
		m->payload_free(m->payload);
	else if (m->payload && m->type) {
		void (*f)(void *) = m->kind == AGENT_MSG_RESPONSE
					    ? m->type->reply_free
					    : m->type->free;
		if (f)
			f(m->payload);
	}
	if (m->req) {
		/* an unanswered local request: the caller learns it */
		if (m->kind == AGENT_MSG_REQUEST && !m->replied)
			agent__req_deliver(m->req, -EPIPE, NULL, NULL);
		agent__req_unref(m->req);
	}
	if (m->remote) {
		if (m->kind == AGENT_MSG_REQUEST && !m->replied &&
		    m->remote->reply_to)
			(void)agent__remote_reply(NULL, m, -EPIPE, NULL);
		remote_info_free(m->remote);
	}
	if (m->await)
		free(m->await);
	if (l && l->n_free_msgs < FREE_MSGS_MAX) {
		m->next = l->free_msgs;
		l->free_msgs = m;
		l->n_free_msgs++;
	} else
		free(m);
}

_public_ agent_msg *
agent_msg_ref(agent_msg *m)
{
	if (m)
		m->n_ref++;
	return m;
}

_public_ agent_msg *
agent_msg_unref(agent_msg *m)
{
	if (m && --m->n_ref == 0)
		msg_free(m);
	return NULL;
}

_public_ const struct agent_msg_type *
agent_msg_get_type(agent_msg *m)
{
	return m ? m->type : NULL;
}

_public_ enum agent_msg_kind
agent_msg_kind(agent_msg *m)
{
	return m ? (enum agent_msg_kind)m->kind : AGENT_MSG_EVENT;
}

_public_ void *
agent_msg_payload(agent_msg *m)
{
	return m ? m->payload : NULL;
}

_public_ void *
agent_msg_take_payload(agent_msg *m)
{
	void *p;

	if (!m)
		return NULL;
	p = m->payload;
	m->payload = NULL;
	return p;
}

_public_ uint64_t
agent_msg_tag(agent_msg *m)
{
	return m ? m->tag : 0;
}

_public_ int
agent_msg_error(agent_msg *m)
{
	return m ? m->err : -EINVAL;
}

_public_ agent *
agent_msg_sender(agent_msg *m)
{
	if (m && m->kind == AGENT_MSG_REQUEST && m->req && !m->req->remote)
		return m->req->caller;
	return NULL;
}

_public_ const char *
agent_msg_sender_name(agent_msg *m)
{
	agent *s;

	if (!m)
		return "";
	if (m->remote)
		return m->remote->sender;
	s = agent_msg_sender(m);
	return s ? s->name : "";
}

_public_ int
agent_msg_body(agent_msg *m, const void **buf, size_t *len)
{
	if (!m || !buf || !len)
		return -EINVAL;
	if (!m->remote)
		return -ENODATA;
	*buf = m->remote->body;
	*len = m->remote->body_len;
	return 0;
}

/* ---- mailbox -------------------------------------------------------------------- */

/* the loop thread writes mb_len; agent_mailbox_len may read it anywhere */
static inline void
mb_len_set(agent *a, unsigned v)
{
	__atomic_store_n(&a->mb_len, v, __ATOMIC_RELAXED);
}

static int
mb_grow(agent *a)
{
	unsigned cap = a->mb_cap ? a->mb_cap * 2 : 16;
	agent_msg **n = malloc(cap * sizeof(*n));

	if (!n)
		return -ENOMEM;
	for (unsigned i = 0; i < a->mb_len; i++)
		n[i] = a->mb[(a->mb_head + i) & (a->mb_cap - 1)];
	free(a->mb);
	a->mb = n;
	a->mb_cap = cap;
	a->mb_head = 0;
	return 0;
}

/* Answer a request that will not be handled; count a dropped event. */
void
agent__answer_dropped(agent_msg *m, int err)
{
	if (m->kind != AGENT_MSG_REQUEST || m->replied)
		return;
	if (m->req) {
		m->replied = true;
		agent__req_deliver(m->req, err, NULL, NULL);
	} else if (m->remote && m->remote->reply_to) {
		(void)agent__remote_reply(NULL, m, err, NULL);
		m->replied = true;
	}
}

static int
drop_oldest(agent *a)
{
	unsigned i;

	for (i = 0; i < a->mb_len; i++) {
		agent_msg *m = a->mb[(a->mb_head + i) & (a->mb_cap - 1)];
		if (m->control)
			continue;
		for (unsigned j = i; j + 1 < a->mb_len; j++)
			a->mb[(a->mb_head + j) & (a->mb_cap - 1)] =
				a->mb[(a->mb_head + j + 1) & (a->mb_cap - 1)];
		mb_len_set(a, a->mb_len - 1);
		a->mb_user--;
		a->dropped++;
		agent__log(a, 7, "mailbox full: dropped the oldest %s (%llu "
			   "dropped so far)", m->type ? m->type->name : "?",
			   (unsigned long long)a->dropped);
		agent__answer_dropped(m, -ENOBUFS);
		agent_msg_unref(m);
		return 0;
	}
	return -ENOBUFS;
}

/* Queue m (taken only on success) into to's mailbox. Loop thread. */
int
agent__enqueue(agent *to, agent_msg *m)
{
	if (_unlikely_(to->phase == PHASE_ENDED || to->phase == PHASE_ENDING))
		return -EPIPE;
	if (!m->control) {
		if (_unlikely_(to->closed))
			return -EPIPE;
		if (_unlikely_(to->mb_user >= to->capacity)) {
			if (to->def->full_policy != AGENT_FULL_DROP_OLDEST ||
			    drop_oldest(to) < 0) {
				agent__log(to, 7, "mailbox full: %s rejected",
					   m->type ? m->type->name : "?");
				return -ENOBUFS;
			}
		}
		to->mb_user++;
	}
	if (_unlikely_(to->mb_len == to->mb_cap) && mb_grow(to) < 0) {
		if (!m->control)
			to->mb_user--;
		return -ENOMEM;
	}
	to->mb[(to->mb_head + to->mb_len) & (to->mb_cap - 1)] = m;
	mb_len_set(to, to->mb_len + 1);
	agent__ready(to);
	return 0;
}

agent_msg *
agent__dequeue(agent *a)
{
	agent_msg *m;

	if (a->mb_len == 0)
		return NULL;
	m = a->mb[a->mb_head];
	a->mb_head = (a->mb_head + 1) & (a->mb_cap - 1);
	mb_len_set(a, a->mb_len - 1);
	if (!m->control) {
		a->mb_user--;
		if (_unlikely_(a->sources != NULL))
			agent__sources_unblock(a);
		if (_unlikely_(a->is_inbox))
			agent__remote_unblock(a);
	}
	return m;
}

void
agent__mailbox_drop_all(agent *a, int err)
{
	unsigned events = 0;
	agent_msg *m;

	while (a->mb_len > 0) {
		m = a->mb[a->mb_head];
		a->mb_head = (a->mb_head + 1) & (a->mb_cap - 1);
		mb_len_set(a, a->mb_len - 1);
		if (!m->control) {
			a->mb_user--;
			if (m->kind == AGENT_MSG_EVENT)
				events++;
		}
		agent__answer_dropped(m, err);
		agent_msg_unref(m);
	}
	if (events)
		agent__log(a, 7, "%u queued event(s) dropped on stop", events);
}

void
agent__mailbox_free(agent *a)
{
	agent__mailbox_drop_all(a, -EPIPE);
	agent__comp_drop_all(a);
	free(a->mb);
	a->mb = NULL;
	a->mb_cap = 0;
}

_public_ unsigned
agent_mailbox_len(agent *a)
{
	return a ? __atomic_load_n(&a->mb_len, __ATOMIC_RELAXED) : 0;
}

_public_ uint64_t
agent_mailbox_dropped(agent *a)
{
	return a ? a->dropped : 0;
}

/* ---- sends ---------------------------------------------------------------------- */

static void
payload_free(const struct agent_msg_type *type, void *payload)
{
	if (payload && type && type->free)
		type->free(payload);
}

_public_ int
agent_send_tagged(agent *to, const struct agent_msg_type *type, uint64_t tag,
		  void *payload)
{
	agent_msg *m;
	int r;

	if (_unlikely_(!to || !type)) {
		payload_free(type, payload);
		return -EINVAL;
	}
	m = agent__msg_new(to->loop);
	if (_unlikely_(!m)) {
		payload_free(type, payload);
		return -ENOMEM;
	}
	m->type = type;
	m->payload = payload;
	m->tag = tag;
	if (_unlikely_(!agent__may_touch(to->loop))) {
		struct agent_xq *x = calloc(1, sizeof(*x));

		if (!x) {
			agent_msg_unref(m);
			return -ENOMEM;
		}
		x->kind = XQ_SEND;
		x->a = agent_ref(to);
		x->msg = m;
		agent__xq_push(to->loop, x);
		return 0;
	}
	r = agent__enqueue(to, m);
	if (_unlikely_(r < 0))
		agent_msg_unref(m);
	return r;
}

_public_ int
agent_send(agent *to, const struct agent_msg_type *type, void *payload)
{
	return agent_send_tagged(to, type, 0, payload);
}

/* ---- requests ------------------------------------------------------------------- */

void
agent__req_unref(struct agent_req *r)
{
	if (r && --r->n_ref == 0)
		free(r);
}

static void
out_unlink(struct agent_req *r)
{
	agent *c = r->caller;

	if (!c)
		return;
	if (r->prev_out)
		r->prev_out->next_out = r->next_out;
	else if (c->out_head == r)
		c->out_head = r->next_out;
	if (r->next_out)
		r->next_out->prev_out = r->prev_out;
	r->next_out = r->prev_out = NULL;
}

/* Mark r done without delivering anything; drop the caller's hold. */
void
agent__req_abandon(struct agent_req *r)
{
	agent *c = r->caller;

	if (r->done)
		return;
	r->done = true;
	if (c)
		agent__tnode_disarm(c->loop, &r->timeout);
	if (r->remote && c)
		agent__remote_cancel(c->loop, r);
	out_unlink(r);
	r->caller = NULL;
	if (r->await) {
		r->await->req = NULL;
		r->await = NULL;
	}
	agent__req_unref(r); /* the out list's reference */
	agent_unref(c);
}

void
agent__req_deliver(struct agent_req *r, int err, void *payload,
		   struct agent_remote_info *remote)
{
	agent *c = r->caller;
	struct agent_await *w = r->await;
	agent_msg *m;

	if (r->done || !c) {
		if (payload && r->type && r->type->reply_free)
			r->type->reply_free(payload);
		remote_info_free(remote);
		return;
	}
	m = agent__msg_new(c->loop);
	if (m) {
		m->kind = AGENT_MSG_RESPONSE;
		m->type = r->type;
		m->tag = r->tag;
		m->err = err;
		m->payload = payload;
		m->control = true;
		m->remote = remote;
	} else {
		if (payload && r->type && r->type->reply_free)
			r->type->reply_free(payload);
		remote_info_free(remote);
	}
	agent_ref(c);
	r->await = NULL;
	if (w)
		w->req = NULL;
	agent__req_abandon(r);
	if (m) {
		if (w)
			agent__complete(w, m);
		else if (agent__enqueue(c, m) < 0)
			agent_msg_unref(m);
	}
	agent_unref(c);
}

static void
req_timeout_fire(struct agent_tnode *n)
{
	struct agent_req *r = container_of(n, struct agent_req, timeout);

	r->n_ref++;
	agent__req_deliver(r, -ETIMEDOUT, NULL, NULL);
	agent__req_unref(r);
}

int64_t
agent__request_new(agent *self, const struct agent_msg_type *type,
		   uint64_t timeout_usec, uint64_t tag, struct agent_await *w,
		   struct agent_req **ret)
{
	struct agent_req *r;

	if (self->phase != PHASE_RUNNING)
		return -EPIPE;
	if (timeout_usec == AGENT_USEC_INFINITY)
		return -EINVAL;
	if (timeout_usec == 0)
		timeout_usec = AGENT_REQ_DEFAULT_USEC;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->n_ref = 1; /* the caller's out list */
	r->id = __atomic_add_fetch(&next_req_id, 1, __ATOMIC_RELAXED);
	r->caller = agent_ref(self);
	r->type = type;
	r->tag = tag;
	r->await = w;
	agent__tnode_init(&r->timeout, req_timeout_fire);
	if (agent__tnode_arm(self->loop, &r->timeout,
			     agent__deadline(timeout_usec)) < 0) {
		agent_unref(self);
		free(r);
		return -ENOMEM;
	}
	r->next_out = self->out_head;
	if (self->out_head)
		self->out_head->prev_out = r;
	self->out_head = r;
	*ret = r;
	return r->id;
}

void
agent__cancel_outgoing(agent *a)
{
	while (a->out_head)
		agent__req_abandon(a->out_head);
}

static int64_t
request_local(agent *self, agent *to, const struct agent_msg_type *type,
	      void *payload, uint64_t timeout_usec, uint64_t tag,
	      struct agent_await *w)
{
	struct agent_req *r;
	agent_msg *m;
	int64_t id;
	int e;

	if (!self || !to || !type) {
		payload_free(type, payload);
		return -EINVAL;
	}
	if (to->loop != self->loop) {
		payload_free(type, payload);
		return -EXDEV;
	}
	id = agent__request_new(self, type, timeout_usec, tag, w, &r);
	if (id < 0) {
		payload_free(type, payload);
		return id;
	}
	m = agent__msg_new(self->loop);
	if (!m) {
		payload_free(type, payload);
		agent__req_abandon(r);
		return -ENOMEM;
	}
	m->kind = AGENT_MSG_REQUEST;
	m->type = type;
	m->payload = payload;
	m->req = r;
	r->n_ref++;
	e = agent__enqueue(to, m);
	if (e < 0) {
		m->replied = true; /* no -EPIPE response: the caller gets e */
		agent__req_abandon(r);
		agent_msg_unref(m);
		return e;
	}
	return id;
}

_public_ int64_t
agent_request(agent *self, agent *to, const struct agent_msg_type *type,
	      void *payload, uint64_t timeout_usec, uint64_t tag)
{
	return request_local(self, to, type, payload, timeout_usec, tag, NULL);
}

_public_ int
agent_reply(agent *self, agent_msg *m, void *payload)
{
	if (!m || m->kind != AGENT_MSG_REQUEST) {
		if (m && payload && m->type && m->type->reply_free)
			m->type->reply_free(payload);
		return -EINVAL;
	}
	if (m->replied) {
		if (payload && m->type->reply_free)
			m->type->reply_free(payload);
		return -EALREADY;
	}
	m->replied = true;
	if (m->remote)
		return agent__remote_reply(self, m, 0, payload);
	if (m->req)
		agent__req_deliver(m->req, 0, payload, NULL);
	return 0;
}

_public_ int
agent_reply_error(agent *self, agent_msg *m, int err)
{
	if (!m || m->kind != AGENT_MSG_REQUEST)
		return -EINVAL;
	if (m->replied)
		return -EALREADY;
	if (err > 0)
		err = -err;
	if (err == 0)
		err = -EIO;
	m->replied = true;
	if (m->remote)
		return agent__remote_reply(self, m, err, NULL);
	if (m->req)
		agent__req_deliver(m->req, err, NULL, NULL);
	return 0;
}

/* ---- awaits --------------------------------------------------------------------- */

static void
await_unlink(struct agent_await *w)
{
	agent *a = w->a;

	if (w->prev)
		w->prev->next = w->next;
	else if (a->awaits == w)
		a->awaits = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->next = w->prev = NULL;
}

static void
waker_release(struct agent_waker *k)
{
	if (__atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		agent_loop *l = k->loop;

		if (k->payload && k->free_fn)
			k->free_fn(k->payload);
		free(k);
		agent_loop_unref(l); /* the waker's loop reference */
	}
}

static void
await_free(struct agent_await *w)
{
	if (w->done_msg)
		agent_msg_unref(w->done_msg);
	free(w);
}

/* The await fired: queue its completion for the waiting state. */
void
agent__complete(struct agent_await *w, agent_msg *m)
{
	agent *a = w->a;

	await_unlink(w);
	w->fired = true;
	if (w->kind == AWAIT_SLEEP)
		agent__tnode_disarm(a->loop, &w->tn);
	if (w->kind == AWAIT_FD)
		agent__io_remove(a->loop, &w->io);
	if (w->child) {
		agent_unref(w->child);
		w->child = NULL;
	}
	if (w->waker) {
		__atomic_store_n(&w->waker->w, NULL, __ATOMIC_RELEASE);
		waker_release(w->waker);
		w->waker = NULL;
	}
	m->await = w;
	m->next = NULL;
	if (a->comp_tail)
		a->comp_tail->next = m;
	else
		a->comp_head = m;
	a->comp_tail = m;
	agent__ready(a);
}

void
agent__comp_drop_all(agent *a)
{
	while (a->comp_head) {
		agent_msg *m = a->comp_head;
		a->comp_head = m->next;
		m->next = NULL;
		agent_msg_unref(m); /* frees m->await */
	}
	a->comp_tail = NULL;
}

void
agent__cancel_awaits(agent *a)
{
	while (a->awaits) {
		struct agent_await *w = a->awaits;

		await_unlink(w);
		switch (w->kind) {
		case AWAIT_SLEEP:
			agent__tnode_disarm(a->loop, &w->tn);
			break;
		case AWAIT_FD:
			agent__io_remove(a->loop, &w->io);
			break;
		case AWAIT_REQUEST:
			if (w->req) {
				struct agent_req *r = w->req;
				r->await = NULL;
				w->req = NULL;
				agent__req_abandon(r);
			}
			break;
		case AWAIT_CHILD:
			if (w->child) {
				if (w->child->joiner == w)
					w->child->joiner = NULL;
				agent_unref(w->child);
			}
			break;
		case AWAIT_EXTERNAL:
			if (w->waker) {
				__atomic_store_n(&w->waker->w, NULL,
						 __ATOMIC_RELEASE);
				waker_release(w->waker);
			}
			break;
		}
		await_free(w);
	}
}

static struct agent_await *
await_new(agent *a, enum await_kind kind, agent_await_fn cb)
{
	struct agent_await *w;

	if (!a || !cb || a->phase != PHASE_RUNNING || !a->in_state ||
	    a->cur_kind == AGENT_STEP_SYNC)
		return NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->a = a;
	w->kind = kind;
	w->cb = cb;
	w->next = a->awaits;
	if (a->awaits)
		a->awaits->prev = w;
	a->awaits = w;
	return w;
}

static int
await_check(agent *a, agent_await_fn cb)
{
	if (!a || !cb)
		return -EINVAL;
	if (a->phase != PHASE_RUNNING)
		return -EPIPE;
	if (!a->in_state || a->cur_kind == AGENT_STEP_SYNC)
		return -EINVAL; /* only async states await */
	return 0;
}

static void
sleep_fire(struct agent_tnode *n)
{
	struct agent_await *w = container_of(n, struct agent_await, tn);
	agent_msg *m = w->done_msg;

	w->done_msg = NULL;
	m->type = &agent_type_timer;
	m->control = true;
	agent__complete(w, m);
}

_public_ int
agent_await_sleep(agent *a, uint64_t usec, agent_await_fn cb)
{
	struct agent_await *w;
	int r = await_check(a, cb);

	if (r < 0)
		return r;
	w = await_new(a, AWAIT_SLEEP, cb);
	if (!w)
		return -ENOMEM;
	w->done_msg = agent__msg_new(a->loop);
	agent__tnode_init(&w->tn, sleep_fire);
	if (!w->done_msg ||
	    agent__tnode_arm(a->loop, &w->tn, agent__deadline(usec)) < 0) {
		await_unlink(w);
		await_free(w);
		return -ENOMEM;
	}
	return 0;
}

static void
fd_fire(struct agent_io *io, uint32_t revents)
{
	struct agent_await *w = container_of(io, struct agent_await, io);
	agent_msg *m = w->done_msg;
	struct agent_fd_event *ev = m->payload;

	w->done_msg = NULL;
	ev->fd = io->fd;
	ev->revents = revents;
	m->type = &agent_type_fd;
	m->control = true;
	agent__complete(w, m);
}

_public_ int
agent_await_fd(agent *a, int fd, uint32_t events, agent_await_fn cb)
{
	struct agent_await *w;
	int r = await_check(a, cb);

	if (r < 0)
		return r;
	if (fd < 0 || !events)
		return -EINVAL;
	w = await_new(a, AWAIT_FD, cb);
	if (!w)
		return -ENOMEM;
	w->io.fd = fd;
	w->io.fire = fd_fire;
	w->done_msg = agent__msg_new(a->loop);
	if (w->done_msg) {
		w->done_msg->type = &agent_type_fd;
		w->done_msg->payload = calloc(1, sizeof(struct agent_fd_event));
	}
	r = !w->done_msg || !w->done_msg->payload
		    ? -ENOMEM
		    : agent__io_update(a->loop, &w->io, events);
	if (r < 0) {
		await_unlink(w);
		await_free(w);
		return r;
	}
	return 0;
}

_public_ int
agent_await_request(agent *a, agent *to, const struct agent_msg_type *type,
		    void *payload, uint64_t timeout_usec, agent_await_fn cb)
{
	struct agent_await *w;
	int64_t id;
	int r = await_check(a, cb);

	if (r < 0) {
		payload_free(type, payload);
		return r;
	}
	w = await_new(a, AWAIT_REQUEST, cb);
	if (!w) {
		payload_free(type, payload);
		return -ENOMEM;
	}
	id = request_local(a, to, type, payload, timeout_usec, 0, w);
	if (id < 0) {
		await_unlink(w);
		free(w);
		return (int)id;
	}
	w->req = a->out_head; /* request_new put it first */
	return 0;
}

_public_ int
agent_await_request_remote(agent *a, const char *name,
			   const struct agent_msg_type *type, void *payload,
			   uint64_t timeout_usec, agent_await_fn cb)
{
	struct agent_await *w;
	int64_t id;
	int r = await_check(a, cb);

	if (r < 0) {
		payload_free(type, payload);
		return r;
	}
	w = await_new(a, AWAIT_REQUEST, cb);
	if (!w) {
		payload_free(type, payload);
		return -ENOMEM;
	}
	id = agent__request_remote(a, name, type, payload, timeout_usec, 0, w);
	if (id < 0) {
		await_unlink(w);
		free(w);
		return (int)id;
	}
	w->req = a->out_head;
	return 0;
}

_public_ int
agent_await_child(agent *a, agent *child, agent_await_fn cb)
{
	struct agent_await *w;
	int r = await_check(a, cb);

	if (r < 0)
		return r;
	if (!child || child->parent != a)
		return -EINVAL;
	if (child->joiner)
		return -EBUSY;
	if (child->phase == PHASE_ENDED)
		return -ESRCH; /* its exit message is in the mailbox */
	w = await_new(a, AWAIT_CHILD, cb);
	if (!w)
		return -ENOMEM;
	w->child = agent_ref(child);
	child->joiner = w;
	return 0;
}

/* ---- external completions (wakers) -------------------------------------------------- */

/* on the loop: deliver a wake queued by agent_waker_wake */
static void
waker_deliver(void *arg)
{
	struct agent_waker *k = arg;
	struct agent_await *w = __atomic_load_n(&k->w, __ATOMIC_ACQUIRE);
	agent_msg *m;

	if (w && (m = agent__msg_new(k->loop))) {
		m->type = &agent_type_wake;
		m->err = k->err;
		m->payload = k->payload;
		m->payload_free = k->free_fn;
		m->control = true;
		k->payload = NULL;
		agent__complete(w, m); /* releases the await's reference */
	}
	waker_release(k); /* the holder's reference */
}

_public_ int
agent_await_external(agent *a, agent_await_fn cb, agent_waker **ret)
{
	struct agent_waker *k;
	struct agent_await *w;
	int r = await_check(a, cb);

	if (r < 0)
		return r;
	if (!ret)
		return -EINVAL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	w = await_new(a, AWAIT_EXTERNAL, cb);
	if (!w) {
		free(k);
		return -ENOMEM;
	}
	k->refs = 2;
	/* the holder may wake it after the agent ended and every other
	 * reference to the loop is gone */
	k->loop = agent_loop_ref(a->loop);
	k->w = w;
	w->waker = k;
	*ret = k;
	return 0;
}

_public_ int
agent_waker_wake(agent_waker *k, int err, void *payload,
		 void (*free_fn)(void *))
{
	struct agent_xq *x;

	if (!k) {
		if (payload && free_fn)
			free_fn(payload);
		return -EINVAL;
	}
	k->err = err > 0 ? -err : err;
	k->payload = payload;
	k->free_fn = free_fn;
	if (agent__on_loop(k->loop)) {
		waker_deliver(k);
		return 0;
	}
	if (!__atomic_load_n(&k->w, __ATOMIC_ACQUIRE)) {
		/* the await is gone: the wake would be discarded; release
		 * here (the loop may have no one left to run it) */
		k->payload = NULL;
		if (payload && free_fn)
			free_fn(payload);
		waker_release(k);
		return 0;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		/* cannot queue: the wake is lost, the await stays pending
		 * until its state is left */
		k->payload = NULL;
		if (payload && free_fn)
			free_fn(payload);
		waker_release(k);
		return -ENOMEM;
	}
	x->kind = XQ_CALL;
	x->fn = waker_deliver;
	x->arg = k;
	agent__xq_push(k->loop, x);
	return 0;
}
