/* SPDX-License-Identifier: MIT */
/*
 * agent-pubsub.c - topics and subscriptions between processes: the
 * agent.subscribe, agent.unsubscribe and agent.update events the inbox
 * hands over, each subscriber's count of missed updates, agent_publish(),
 * agent_subscribers(), agent_subscribe() and agent_unsubscribe().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-host.h"
#include "agent-remote.h"

/*
 * Wire (events between inboxes, kinds reserved by libagent):
 *   agent.subscribe    [topic, inbox]   from the subscriber
 *   agent.unsubscribe  [topic, inbox]
 *   agent.update       [topic, seq, missed, snapshot, value]  to it
 * The publisher answers a subscribe with the current value (snapshot =
 * true, the topic's seq), then sends every agent_publish() in order. An
 * update that cannot be sent (the subscriber's inbox is full: -EAGAIN) is
 * counted for that subscriber and the count travels with the next update
 * that gets through, so a subscriber that falls behind learns how many
 * it missed (seq then jumps by missed + 1). Under agentd the publisher
 * monitors each local subscriber: one that leaves running is forgotten.
 * A subscriber on another host (a tcp or tls inbox) is watched through
 * its connection, as Erlang's monitors see a node go: one we have had no
 * connection to for SUB_GRACE (it died, its host is gone, or it never
 * answered) is forgotten; if it lives, it subscribes again.
 *
 * Bounds (what remote input can make this process hold): a subscribe
 * beyond them is dropped and counted (`dropped`); one naming an inbox
 * that is not the sender's own (agent__reply_to_ok) is refused as
 * malformed. A subscribe may name a topic not published yet (it gets a
 * nil snapshot, then the first publish): such topics are bounded apart,
 * so subscribers can never use up the topics agent_publish() needs, and
 * go away with their last subscriber.
 */
#define TOPICS_MAX		1024 /* topics of a process, published or not */
#define TOPICS_UNPUBLISHED_MAX	64   /* named only by subscribers */
#define SUBS_PER_TOPIC_MAX	256  /* subscribers of one topic */
#define SUBS_MAX		4096 /* subscriptions of a process */
#define SUB_CHECK		(1 * AGENT_USEC_PER_SEC)
#define SUB_GRACE		(5 * AGENT_USEC_PER_SEC)

struct sub {
	struct sub *next;
	char name[PROTO_NAME_MAX + 1];
	char url[PROTO_URL_MAX];
	uint64_t missed;
	bool remote;         /* not ipc: watched through its connection */
	uint64_t down_since; /* no connection since (agent__now), or 0 */
};

struct topic {
	struct topic *next;
	char name[PROTO_NAME_MAX + 1];
	uint64_t seq;
	void *value; /* msgpack of one object, or NULL (nil) */
	size_t len;
	struct sub *subs;
	unsigned n_subs;
	bool published; /* by agent_publish (else only subscribed to) */
};

_public_ const struct agent_msg_type agent_type_update = {
	.name = "update", .free = free,
};

static struct topic *
topic_find(struct agent_remote_ctx *rc, const char *name, size_t len)
{
	struct topic *t;

	for (t = rc->topics; t; t = t->next)
		if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
			return t;
	return NULL;
}

static int send_update_missed(struct agent_remote_ctx *rc, struct topic *t,
			      struct sub *s, bool snapshot, uint64_t missed);

static int
send_update(struct agent_remote_ctx *rc, struct topic *t, struct sub *s,
	    bool snapshot)
{
	return send_update_missed(rc, t, s, snapshot, s->missed);
}

/*
 * The send buffer towards url has room again: a subscriber there that
 * missed updates gets the current value now (its seq was one of those
 * missed, hence missed - 1), instead of waiting for the next publish.
 */
void
agent__pubsub_catch_up(struct agent_remote_ctx *rc, const char *url)
{
	for (struct topic *t = rc->topics; t; t = t->next)
		for (struct sub *s = t->subs; s; s = s->next)
			if (s->missed > 0 && strcmp(s->url, url) == 0)
				(void)send_update_missed(rc, t, s, false,
							 s->missed - 1);
}

/* The body of an agent.update of t into sb (initialised; the caller
 * destroys it). */
static int
update_pack(const struct topic *t, bool snapshot, uint64_t missed,
	    msgpack_sbuffer *sb)
{
	msgpack_packer pk;
	int r;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 5);
	r = proto_pack_cstr(&pk, t->name);
	msgpack_pack_uint64(&pk, t->seq);
	msgpack_pack_uint64(&pk, missed);
	if (snapshot)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	if (r >= 0)
		r = proto_pack_raw(&pk, t->value, t->len);
	if (r >= 0 && !sb->data)
		r = -ENOMEM;
	return r;
}

static int
send_update_missed(struct agent_remote_ctx *rc, struct topic *t,
		   struct sub *s, bool snapshot, uint64_t missed)
{
	msgpack_sbuffer sb;
	int r;

	msgpack_sbuffer_init(&sb);
	r = update_pack(t, snapshot, missed, &sb);
	if (r >= 0)
		r = agent__send_event(rc, s->url, "agent.update", sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	if (r == 0)
		s->missed = 0;
	return r;
}

/* The envelope of t's current update for a subscriber that missed
 * nothing: the same bytes for each of them. */
static int
update_encode(struct agent_remote_ctx *rc, const struct topic *t,
	      nng_msg **ret)
{
	msgpack_sbuffer sb;
	int r;

	msgpack_sbuffer_init(&sb);
	r = update_pack(t, false, 0, &sb);
	if (r >= 0)
		r = agent__encode_event(rc, "agent.update", sb.data, sb.size,
					ret);
	msgpack_sbuffer_destroy(&sb);
	return r;
}

static void
topic_free(struct topic *t)
{
	while (t->subs) {
		struct sub *sb = t->subs;
		t->subs = sb->next;
		free(sb);
	}
	free(t->value);
	free(t);
}

/* Forget the topics nobody published whose last subscriber left. */
static void
topics_prune(struct agent_remote_ctx *rc)
{
	struct topic **pp = &rc->topics;

	while (*pp) {
		struct topic *t = *pp;
		if (!t->published && !t->subs) {
			*pp = t->next;
			rc->n_topics--;
			rc->n_topics_unpublished--;
			topic_free(t);
		} else
			pp = &t->next;
	}
}

static void
sub_unlink(struct agent_remote_ctx *rc, struct topic *t, struct sub **pp)
{
	struct sub *s = *pp;

	*pp = s->next;
	t->n_subs--;
	rc->n_subs--;
	if (s->remote)
		rc->n_remote_subs--;
	free(s);
}

/*
 * Every SUB_CHECK while subscribers on other hosts exist: forget those we
 * have had no connection to for SUB_GRACE. A subscriber whose peer was
 * closed as idle (no peer at all) is not judged: the next update dials it.
 */
void
agent__pubsub_check_fire(struct agent_tnode *n)
{
	struct agent_remote_ctx *rc =
		container_of(n, struct agent_remote_ctx, sub_check);
	uint64_t now = agent__now();

	for (struct topic *t = rc->topics; t; t = t->next) {
		struct sub **pp = &t->subs;

		while (*pp) {
			struct sub *s = *pp;
			int up = s->remote ? agent__peer_up(rc, s->url) : 1;

			if (up != 0)
				s->down_since = 0;
			else if (!s->down_since)
				s->down_since = now;
			if (s->down_since && now - s->down_since >= SUB_GRACE) {
				agent__log(rc->inbox_agent, 6,
					   "subscriber %s at %s unreachable for %u s: its subscription to '%s' ends",
					   s->name, s->url,
					   (unsigned)(SUB_GRACE / AGENT_USEC_PER_SEC),
					   t->name);
				sub_unlink(rc, t, pp);
				continue;
			}
			pp = &s->next;
		}
	}
	topics_prune(rc);
	if (rc->n_remote_subs)
		(void)agent__tnode_arm(rc->loop, &rc->sub_check, now + SUB_CHECK);
}

void
agent__pubsub_drop_name(struct agent_remote_ctx *rc, const char *name, size_t len)
{
	for (struct topic *t = rc->topics; t; t = t->next) {
		struct sub **pp = &t->subs;
		while (*pp) {
			struct sub *s = *pp;
			if (strlen(s->name) == len &&
			    memcmp(s->name, name, len) == 0)
				sub_unlink(rc, t, pp);
			else
				pp = &s->next;
		}
	}
	topics_prune(rc);
}

/* The topic name[0..len), created if needed: for agent_publish()
 * (publish) or for a subscriber. 0, -ENOSPC (a bound), -ENOMEM. */
static int
topic_get(struct agent_remote_ctx *rc, const char *name, size_t len,
	  bool publish, struct topic **ret)
{
	struct topic *t = topic_find(rc, name, len);

	if (t) {
		if (publish && !t->published) {
			t->published = true;
			rc->n_topics_unpublished--;
		}
		*ret = t;
		return 0;
	}
	if (rc->n_topics >= TOPICS_MAX ||
	    (!publish && rc->n_topics_unpublished >= TOPICS_UNPUBLISHED_MAX))
		return -ENOSPC;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	snprintf(t->name, sizeof(t->name), "%.*s", (int)len, name);
	t->published = publish;
	t->next = rc->topics;
	rc->topics = t;
	rc->n_topics++;
	if (!publish)
		rc->n_topics_unpublished++;
	*ret = t;
	return 0;
}

void
agent__pubsub_event(struct agent_remote_ctx *rc, agent *a, const struct proto_env *env,
	     const char *kind, size_t kind_len, const void *body, size_t len)
{
	struct proto_reader rd;
	const char *topic, *url;
	size_t topic_len, url_len;

	proto_reader_init(&rd, body, len);
	if (kind_len == 15 && memcmp(kind, "agent.subscribe", 15) == 0) {
		struct topic *t;
		struct sub *s;
		proto_read_array_n(&rd, 2);
		proto_read_str(&rd, &topic, &topic_len, PROTO_NAME_MAX);
		proto_read_str(&rd, &url, &url_len, PROTO_URL_MAX - 1);
		if (proto_read_end(&rd) < 0 || topic_len == 0 ||
		    env->sender_len == 0 || env->sender_len > PROTO_NAME_MAX) {
			agent__remote_reject(rc, a, "malformed subscribe");
			return;
		}
		if (!agent__reply_to_ok(rc, &rc->cur_from, url, url_len)) {
			agent__remote_reject(rc, a, "subscribe for an inbox "
					     "that is not the sender's");
			return;
		}
		if (topic_get(rc, topic, topic_len, false, &t) < 0) {
			rc->stats.dropped++;
			agent__log(a, 7, "inbox: subscribe to '%.*s' dropped: "
				   "too many topics", (int)topic_len, topic);
			return;
		}
		for (s = t->subs; s; s = s->next)
			if (strlen(s->url) == url_len &&
			    memcmp(s->url, url, url_len) == 0)
				break;
		if (!s) {
			if (t->n_subs >= SUBS_PER_TOPIC_MAX ||
			    rc->n_subs >= SUBS_MAX) {
				rc->stats.dropped++;
				agent__log(a, 7, "inbox: subscribe to '%s' "
					   "dropped: too many subscribers",
					   t->name);
				topics_prune(rc);
				return;
			}
			s = calloc(1, sizeof(*s));
			if (!s) {
				topics_prune(rc);
				return;
			}
			snprintf(s->name, sizeof(s->name), "%.*s",
				 (int)env->sender_len, env->sender);
			snprintf(s->url, sizeof(s->url), "%.*s", (int)url_len,
				 url);
			s->next = t->subs;
			t->subs = s;
			t->n_subs++;
			rc->n_subs++;
			/* under agentd: learn from it when it dies
			 * (-ENOTCONN without a link). Only a local
			 * subscriber (ipc://) is one of our agentd's
			 * agents: for a tcp/tls one (another agentd, maybe
			 * another host: NAME@HOST) ours would answer
			 * "unknown" and the subscription would end */
			if (agent__url_is_ipc(s->url) &&
			    proto_name_is_valid(s->name, strlen(s->name)))
				(void)agent__link_monitor(rc, s->name, true);
			else if (!agent__url_is_ipc(s->url)) {
				s->remote = true;
				if (rc->n_remote_subs++ == 0)
					(void)agent__tnode_arm(rc->loop,
							       &rc->sub_check,
							       agent__now() + SUB_CHECK);
			}
		}
		if (send_update(rc, t, s, true) < 0)
			s->missed++;
		return;
	}
	if (kind_len == 17 && memcmp(kind, "agent.unsubscribe", 17) == 0) {
		struct topic *t;
		proto_read_array_n(&rd, 2);
		proto_read_str(&rd, &topic, &topic_len, PROTO_NAME_MAX);
		proto_read_str(&rd, &url, &url_len, PROTO_URL_MAX - 1);
		if (proto_read_end(&rd) < 0) {
			agent__remote_reject(rc, a, "malformed unsubscribe");
			return;
		}
		t = topic_find(rc, topic, topic_len);
		for (struct sub **pp = t ? &t->subs : NULL; pp && *pp;
		     pp = &(*pp)->next)
			if (strlen((*pp)->url) == url_len &&
			    memcmp((*pp)->url, url, url_len) == 0) {
				sub_unlink(rc, t, pp);
				break;
			}
		topics_prune(rc);
		return;
	}
	if (kind_len == 12 && memcmp(kind, "agent.update", 12) == 0) {
		struct agent_update *u;
		const void *value;
		size_t value_len;
		bool snapshot;
		uint64_t seq, missed;
		agent_msg *m;
		proto_read_array_n(&rd, 5);
		proto_read_str(&rd, &topic, &topic_len, PROTO_NAME_MAX);
		proto_read_u64(&rd, &seq);
		proto_read_u64(&rd, &missed);
		proto_read_bool(&rd, &snapshot);
		proto_read_raw(&rd, &value, &value_len);
		if (proto_read_end(&rd) < 0) {
			agent__remote_reject(rc, a, "malformed update");
			return;
		}
		u = calloc(1, sizeof(*u) + value_len);
		m = u ? agent__msg_new(a->loop) : NULL;
		if (!m) {
			free(u);
			rc->stats.dropped++;
			return;
		}
		snprintf(u->topic, sizeof(u->topic), "%.*s", (int)topic_len,
			 topic);
		snprintf(u->publisher, sizeof(u->publisher), "%.*s",
			 (int)MIN_SZ(env->sender_len, PROTO_NAME_MAX),
			 env->sender);
		u->seq = seq;
		u->missed = missed;
		u->snapshot = snapshot;
		u->value = u->data;
		u->len = value_len;
		memcpy(u->data, value, value_len);
		m->kind = AGENT_MSG_EVENT;
		m->type = &agent_type_update;
		m->payload = u;
		if (agent__enqueue(a, m) < 0) {
			rc->stats.dropped++;
			agent_msg_unref(m);
		}
		return;
	}
	rc->stats.unhandled++;
}

_public_ int
agent_publish(agent *self, const char *topic, const void *value, size_t len)
{
	struct agent_remote_ctx *rc;
	struct topic *t;
	void *copy = NULL;
	nng_msg *env = NULL;
	bool enc_failed = false;
	int n = 0, r;

	if (!self || !topic || !*topic || strlen(topic) > PROTO_NAME_MAX)
		return -EINVAL;
	if (value && len && proto_validate_object(value, len) < 0)
		return -EINVAL;
	rc = agent__remote_get(self->loop, self);
	if (!rc)
		return -ENOMEM;
	r = topic_get(rc, topic, strlen(topic), true, &t);
	if (r < 0)
		return r;
	if (value && len) {
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, value, len);
	}
	free(t->value);
	t->value = copy;
	t->len = copy ? len : 0;
	t->seq++;
	for (struct sub *s = t->subs; s; s = s->next) {
		/* encoded once, when the first subscriber that missed nothing
		 * needs it; one that missed updates gets its own count */
		bool same = s->missed == 0 && !agent__url_is_host(s->url);

		if (same && !env && !enc_failed)
			enc_failed = update_encode(rc, t, &env) < 0;
		if (same && env)
			r = agent__send_encoded(rc, s->url, nng_msg_body(env),
						nng_msg_len(env));
		else
			r = send_update(rc, t, s, false);
		if (r < 0)
			s->missed++; /* told with the next one that gets through */
		else
			n++;
	}
	if (env)
		nng_msg_free(env);
	return n;
}

_public_ unsigned
agent_subscribers(agent *self, const char *topic)
{
	struct agent_remote_ctx *rc;
	struct topic *t;

	if (!self || !topic || !(rc = self->loop->remote))
		return 0;
	t = topic_find(rc, topic, strlen(topic));
	return t ? t->n_subs : 0;
}

static int
subscribe_send(agent *self, const char *publisher, const char *topic,
	       const char *kind)
{
	struct agent_remote_ctx *rc;
	char url[PROTO_URL_MAX];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	const char *reply;
	int r;

	if (!self || !topic || !*topic || strlen(topic) > PROTO_NAME_MAX)
		return -EINVAL;
	rc = agent__remote_get(self->loop, self);
	if (!rc)
		return -ENOMEM;
	if (!rc->has_inbox)
		return -ENOTCONN;
	r = agent__inbox_url_of(rc, publisher, url, sizeof(url));
	if (r < 0)
		return r;
	reply = agent__inbox_reply_url(rc, url);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	r = proto_pack_cstr(&pk, topic);
	if (r >= 0)
		r = proto_pack_cstr(&pk, reply);
	if (r >= 0 && !sb.data)
		r = -ENOMEM;
	if (r >= 0)
		r = agent__send_event(rc, url, kind, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	return r;
}

_public_ int
agent_subscribe(agent *self, const char *publisher, const char *topic)
{
	return subscribe_send(self, publisher, topic, "agent.subscribe");
}

_public_ int
agent_unsubscribe(agent *self, const char *publisher, const char *topic)
{
	return subscribe_send(self, publisher, topic, "agent.unsubscribe");
}

void
agent__pubsub_free(struct agent_remote_ctx *rc)
{
	agent__tnode_disarm(rc->loop, &rc->sub_check);
	while (rc->topics) {
		struct topic *t = rc->topics;
		rc->topics = t->next;
		topic_free(t);
	}
	rc->n_topics = rc->n_topics_unpublished = rc->n_subs = 0;
	rc->n_remote_subs = 0;
}
