/* SPDX-License-Identifier: MIT */
/*
 * agent-internal.h - private structures of libagent and the agent__*
 * functions shared between its files (hidden by libagent.sym).
 */
#ifndef LIBAGENT_AGENT_INTERNAL_H
#define LIBAGENT_AGENT_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "agent/agent.h"

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define _public_ __attribute__((visibility("default")))
#define _likely_(x)	__builtin_expect(!!(x), 1)
#define _unlikely_(x)	__builtin_expect(!!(x), 0)

#define AGENT_NAME_MAX		64
#define AGENT_REQ_DEFAULT_USEC	(30ULL * AGENT_USEC_PER_SEC)
#define AGENT_LOOP_BUDGET	4096u /* steps before a zero-timeout poll */
#define AGENT_QUANTUM		512u  /* steps per agent per turn */

/* ---- loop primitives ------------------------------------------------------ */

struct agent_tnode {
	uint64_t deadline;
	size_t idx; /* heap index, SIZE_MAX when not armed */
	void (*fire)(struct agent_tnode *n);
};

struct agent_io {
	int fd;
	uint32_t events;    /* registered epoll events, 0 = not registered */
	void (*fire)(struct agent_io *w, uint32_t revents);
};

struct agent_job {
	struct agent_job *next;
	void (*fn)(struct agent_job *j);
};

/* a cross-thread request to the loop */
enum xq_kind {
	XQ_SYNC_DONE,  /* a sync state returned: step */
	XQ_SEND,       /* agent_send from another thread: msg */
	XQ_INTERRUPT,  /* agent_interrupt from another thread: level */
	XQ_CALL,       /* run fn(arg) on the loop */
};

struct agent_xq {
	struct agent_xq *next;
	enum xq_kind kind;
	agent *a;     /* referenced */
	agent_step step;
	agent_msg *msg;
	int level;
	void (*fn)(void *arg);
	void *arg;
};

struct agent_loop {
	int n_ref;
	int epfd;
	int wake_fd;
	struct agent_io wake_io;
	int running; /* nesting depth of run/iterate calls */
	pthread_t owner; /* the thread that created or last ran the loop */
	bool exit_requested;

	/* agents with work, FIFO, linked through agent.ready_next */
	agent *ready_head, *ready_tail;
	/* all started, not ended agents (alive list) */
	agent *alive_head;
	unsigned n_alive;
	/* ended agents whose loop reference is dropped at a safe point */
	agent *zombies;

	/* timers */
	struct agent_tnode **heap;
	size_t n_heap, heap_cap;

	/* cross-thread queue */
	pthread_mutex_t xq_lock;
	struct agent_xq *xq_head, *xq_tail;
	bool wake_pending;

	/* worker pool */
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond;
	struct agent_job *jobs_head, *jobs_tail;
	pthread_t *workers;
	unsigned n_workers;
	bool pool_quit;

	/* message free list (loop thread only) */
	agent_msg *free_msgs;
	unsigned n_free_msgs;

	/* remote messaging (agent-remote.h), NULL until used */
	struct agent_remote_ctx *remote;

	/* the epoll batch being fired: agent__io_remove() clears a removed
	 * watcher's entries so a later event of the batch never reaches it */
	struct epoll_event *batch;
	int batch_n;
};

/* ---- messages ------------------------------------------------------------- */

struct agent_req;
struct agent_await;

/* what a remote message carries */
struct agent_remote_info {
	char sender[AGENT_NAME_MAX + 1];
	char *reply_to;    /* REQUEST: inbox URL of the caller */
	uint64_t corr;
	void *body;        /* copy of the msgpack body */
	size_t body_len;
	char kind[AGENT_NAME_MAX + 1];
};

struct agent_msg {
	int n_ref;
	uint8_t kind;      /* enum agent_msg_kind */
	bool control;      /* not counted against the mailbox bound */
	bool replied;
	bool internal_interrupt; /* EVENT-level interrupt message */
	int err;
	const struct agent_msg_type *type;
	void *payload;
	void (*payload_free)(void *); /* overrides the type's free */
	uint64_t tag;
	struct agent_req *req;  /* local request (REQUEST, RESPONSE) */
	struct agent_remote_info *remote;
	struct agent_await *await; /* completions */
	agent_msg *next;
};

/* an outgoing request, shared between the request msg and the caller */
struct agent_req {
	int n_ref;
	int64_t id;
	agent *caller;             /* referenced while not done */
	const struct agent_msg_type *type;
	uint64_t tag;
	bool done;
	bool remote;
	struct agent_await *await; /* awaited in a state, or NULL */
	struct agent_tnode timeout;
	struct agent_req *next_out, *prev_out; /* caller's outgoing list */
	struct agent_req *next_remote;         /* loop's remote table */
};

enum await_kind {
	AWAIT_SLEEP,
	AWAIT_FD,
	AWAIT_REQUEST,
	AWAIT_CHILD,
	AWAIT_EXTERNAL,
};

/* shared between the await (loop) and the waker's holder (any thread) */
struct agent_waker {
	int refs;                 /* atomic: the await + the holder */
	agent_loop *loop;
	struct agent_await *w;    /* loop side; NULL once cancelled */
	int err;
	void *payload;
	void (*free_fn)(void *);
};

struct agent_await {
	agent *a;
	agent_msg *done_msg; /* preallocated completion (sleep, fd) */
	enum await_kind kind;
	agent_await_fn cb;
	bool fired;
	struct agent_await *next, *prev; /* a's await list */
	struct agent_tnode tn;
	struct agent_io io;
	struct agent_req *req;
	agent *child;   /* referenced */
	struct agent_waker *waker;
};

/* ---- agents ----------------------------------------------------------------- */

enum agent_phase {
	PHASE_CREATED,
	PHASE_RUNNING,
	PHASE_ENDING,   /* stopping children, then finalize */
	PHASE_ENDED,
};

struct agent {
	int n_ref;
	agent_loop *loop;
	const struct agent_def *def;
	void *self;
	uint64_t id;
	char name[AGENT_NAME_MAX + 16];
	bool private_loop;

	/* tree */
	agent *parent;
	int group;
	agent *child_head;            /* alive children, referenced */
	agent *sib_next, *sib_prev;
	int stopping_group;           /* group being stopped, or INT_MIN */
	bool stopping_children;
	bool in_group_stop;
	struct agent_await *joiner;   /* parent's agent_await_child() */

	/* loop lists */
	agent *ready_next;
	bool in_ready;
	agent *alive_next, *alive_prev;
	agent *zombie_next;

	enum agent_phase phase;

	/* engine */
	agent_step pending;
	bool has_pending;
	enum agent_step_kind cur_kind; /* ASYNC/SYNC/PERFORM when in a state */
	bool in_state;
	const struct agent_state *cur_state;
	const struct agent_performer *cur_perf;
	void *cur_data;
	bool waiting;
	bool in_sync;
	bool events_mode;
	bool closed;        /* mailbox closed (done): drain then end */
	bool ready_sent;    /* first step produced (READY) */
	bool began;
	const char *state_name;

	/* mailbox: growable ring */
	agent_msg **mb;
	unsigned mb_cap, mb_head, mb_len, mb_user;
	unsigned capacity;
	uint64_t dropped;

	/* completions for awaits, FIFO */
	agent_msg *comp_head, *comp_tail;
	struct agent_await *awaits;

	/* interruption */
	int level;            /* highest level requested (atomic access) */
	bool flag_handled;
	bool interrupted;
	bool abort_pending;
	struct agent_tnode grace;
	uint64_t grace_usec;  /* 0: def's or default */

	/* exit */
	int reason;
	int error;
	void *result;
	void (*result_free)(void *);

	/* owned resources */
	struct agent_timer *timers;
	struct agent_source *sources;
	struct agent_req *out_head; /* outgoing requests */

	/* functional activity / pipelines */
	void *fn;
	void *fn_arg;
	void (*fn_free)(void *);
	struct agent_pipeline *pipe;  /* pipeline this agent is a stage of */
	unsigned pipe_stage;
	int64_t pipe_seq;
	struct agent_pipeline *pipes; /* pipelines owned */
	bool quiet_exit;              /* no exit message to the parent */
	bool is_inbox;                /* the inbox delivers to it */

	/* link hooks (agent-agentd.c) */
	void (*on_first_step)(agent *a);
	void (*on_end)(agent *a);
};

struct agent_timer {
	agent *a;
	struct agent_tnode tn;
	enum agent_timer_mode mode;
	uint64_t tag;
	uint64_t period; /* intervals */
	bool queued;
	struct agent_timer *next, *prev;
};

struct agent_source {
	agent *a;
	struct agent_io io;
	unsigned flags;
	uint64_t tag;
	bool ended;
	bool blocked;
	char *lbuf;   /* line buffer */
	size_t llen, lcap;
	struct agent_source *next, *prev;
};

/* ---- shared functions ----------------------------------------------------- */

extern __thread agent_loop *agent__tls_loop;

/* libagent's own message types (timer, exit, peer, update...): their
 * payloads are structs libagent makes, never a peer's bytes (agent.c) */
bool agent__type_is_builtin(const struct agent_msg_type *t);
void agent__log(agent *a, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t agent__now(void);

/* loop */
int agent__loop_get(agent_loop *l, agent_loop **ret);
void agent__tnode_init(struct agent_tnode *n, void (*fire)(struct agent_tnode *));
/* 0 or -ENOMEM; re-arming a node from its own fire callback never fails */
int agent__tnode_arm(agent_loop *l, struct agent_tnode *n, uint64_t deadline);
void agent__tnode_disarm(agent_loop *l, struct agent_tnode *n);
int agent__io_update(agent_loop *l, struct agent_io *w, uint32_t events);
void agent__io_remove(agent_loop *l, struct agent_io *w);
void agent__xq_push(agent_loop *l, struct agent_xq *x);
int agent__pool_submit(agent_loop *l, struct agent_job *j);
void agent__ready(agent *a);
void agent__unready(agent *a);
/* now + usec, saturated: AGENT_USEC_INFINITY (or an overflow) = never */
uint64_t agent__deadline(uint64_t usec);
void agent__loop_add_alive(agent_loop *l, agent *a);
void agent__loop_remove_alive(agent_loop *l, agent *a);
/* run until pred(arg) is false (or exit/no agents) */
int agent__loop_run_while(agent_loop *l, bool (*pred)(void *), void *arg);
static inline bool
agent__on_loop(agent_loop *l)
{
	return agent__tls_loop == l;
}

/* Off the loop's iteration: may the caller touch the loop directly? Only
 * its owner thread, and only while it is not running it elsewhere. */
static inline bool
agent__may_touch(agent_loop *l)
{
	return agent__on_loop(l) ||
	       (__atomic_load_n(&l->running, __ATOMIC_ACQUIRE) == 0 &&
		pthread_equal(pthread_self(),
			      __atomic_load_n(&l->owner, __ATOMIC_ACQUIRE)));
}

/* engine (agent.c) */
void agent__process(agent *a, unsigned quantum, unsigned *used);
bool agent__has_work(agent *a);
void agent__sync_done(agent *a, agent_step step);
void agent__interrupt_local(agent *a, int level);
void agent__step_free(agent_step *s, agent *a);
void agent__child_ended(agent *parent, agent *child, agent_msg *exit_msg);
void agent__free_all_zombies(agent_loop *l);
/* aborted, and only sync states on workers (its own or its subtree's)
 * keep it from ending */
bool agent__abort_stuck(agent *a);

/* messages (agent-msg.c) */
agent_msg *agent__msg_new(agent_loop *l);
int agent__enqueue(agent *to, agent_msg *m);
agent_msg *agent__dequeue(agent *a);
void agent__mailbox_drop_all(agent *a, int err);
void agent__mailbox_free(agent *a);
void agent__req_unref(struct agent_req *r);
void agent__req_deliver(struct agent_req *r, int err, void *payload,
			struct agent_remote_info *remote);
void agent__cancel_outgoing(agent *a);
void agent__complete(struct agent_await *w, agent_msg *m);
void agent__cancel_awaits(agent *a);
void agent__comp_drop_all(agent *a);
void agent__answer_dropped(agent_msg *m, int err);
int64_t agent__request_new(agent *self, const struct agent_msg_type *type,
			   uint64_t timeout_usec, uint64_t tag,
			   struct agent_await *w, struct agent_req **ret);
void agent__sources_unblock(agent *a);

/* timers and sources (agent-timer.c) */
void agent__timers_free_all(agent *a);
void agent__sources_free_all(agent *a);
/* disarm every timer, stop watching every source (the agent is ending) */
void agent__timers_sources_quiet(agent *a);

/* pipelines (agent-fn.c) */
void agent__pipeline_stage_ended(agent *a);
void agent__pipelines_free_all(agent *a);

/* remote (agent-remote.c, agent-peer.c, agent-inbox.c; agent-remote.h
 * has what only they share) */
void agent__remote_free(agent_loop *l);
void agent__remote_flush(agent_loop *l);
extern const struct agent_msg_type agent__ping_type;
int agent__ping_answer(agent *a, agent_msg *m);
extern const struct agent_msg_type agent__stats_type;
int agent__stats_answer(agent *a, agent_msg *m);
int agent__remote_reply(agent *self, agent_msg *m, int err, void *payload);
int agent__request_remote(agent *self, const char *name,
			  const struct agent_msg_type *type, void *payload,
			  uint64_t timeout_usec, uint64_t tag,
			  struct agent_await *w);
void agent__remote_cancel(agent_loop *l, struct agent_req *r);
void agent__remote_unblock(agent *a);
void agent__remote_detach(agent *a);
void agent__req_abandon(struct agent_req *r);

#endif
