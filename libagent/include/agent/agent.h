/* SPDX-License-Identifier: MIT */
/*
 * agent.h - libagent: hybrid agents in C (crb's model), the public API.
 *
 * An agent is a user struct ("self") plus a definition (struct agent_def in
 * <agent/agent-def.h>): it starts in begin(), runs async states on its
 * loop, sync states on a worker thread, and handles typed messages as an
 * actor. Agents live on a loop (struct agent_loop): one thread, one epoll,
 * any number of agents (sub-agents, supervisors, pipelines) in one process.
 * A process runs under agentd through agent_main(), which links to it.
 *
 * Conventions (sd-event's):
 *  - Functions return >= 0 on success and -errno on failure, and never
 *    print or exit. Diagnostics go to the optional log callback
 *    (agent_log_set()), at debug level.
 *  - Objects are reference counted: the _new and spawn functions give one
 *    reference, *_ref adds one, *_unref drops one and returns NULL.
 *    _cleanup_agent_unref_ and friends unref at scope exit.
 *  - Thread rules: everything runs on the loop's thread unless marked
 *    "any thread" (safe from any thread) or "sync states" (to be called
 *    from a sync state's callbacks on its worker thread). A sync state
 *    owns its agent while it runs: from it call only agent_self(),
 *    agent_send*() (any thread), agent_is_interrupted(), agent_parallel(),
 *    agent_set_result()/agent_get_result() and the accessors.
 *  - Payload ownership: a function that takes a payload takes ownership,
 *    also on failure (it is freed with the type's free/reply_free).
 *
 * crb concept -> libagent:
 *   Agent / begin / hooks      struct agent_def
 *   Next::*                    agent_async() ... agent_stop() (agent-def.h)
 *   RunAgent::run().await      agent_run()
 *   Standalone::spawn          agent_new() + agent_start()
 *   ctx.do_next(next)          agent_do_next()
 *   ctx.shutdown() / stop()    agent_shutdown() / agent_do_next(agent_stop())
 *   address.event(e)           agent_send(), agent_send_tagged()
 *   interact + forward_to      agent_request() (response to on_response)
 *   fetcher.await              agent_await_request()
 *   Responder                  agent_reply(), agent_reply_error()
 *   Interruptor                agent_interrupt(a, level)
 *   Supervisor, GroupBy        agent_spawn(parent, ..., group)
 *   join!(a.run(), b.run())    agent_spawn() + agent_await_child()
 *   Mission / Goal             agent_set_result(), agent_get_result()
 *   RunMission::new_sync/async agent_spawn_sync_fn(), agent_spawn_async_fn()
 *   Timer / Interval           agent_timer_*(), agent_interval_new()
 *   StreamSession / Drainer    agent_source_fd()
 *   rayon par_iter in DoSync   agent_parallel()
 *   Pipeline                   agent_pipeline_*()
 *   Main::join_or_signal       agent_main() (SIGTERM/SIGINT escalation)
 */
#ifndef AGENT_AGENT_H
#define AGENT_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <agent/agent-def.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct agent_loop agent_loop;
typedef struct agent_timer agent_timer;
typedef struct agent_source agent_source;
typedef struct agent_pipeline agent_pipeline;

#define AGENT_USEC_PER_MSEC	1000ULL
#define AGENT_USEC_PER_SEC	1000000ULL
/* Delays saturate: AGENT_USEC_INFINITY (or any delay that would overflow
 * the monotonic clock) means never (sleeps, timers, request timeouts). */
#define AGENT_USEC_INFINITY	UINT64_MAX
#define AGENT_TOPIC_MAX		64 /* topic and publisher names */

/* ---- logging -------------------------------------------------------------- */

/*
 * The log callback receives libagent's diagnostics (failing handlers,
 * dropped messages, rejected remote input), already formatted, with a
 * syslog level (7 = debug) and the agent's instance name (or NULL).
 * Without a callback nothing is reported anywhere. Process-wide; set it
 * before creating loops. Any thread may invoke it (workers too).
 */
typedef void (*agent_log_fn)(int level, const char *agent_name,
			     const char *msg, void *userdata);
void agent_log_set(agent_log_fn fn, void *userdata);

/* ---- loops ----------------------------------------------------------------- */

/*
 * Create a loop: one epoll set, a timer heap, a worker pool for sync
 * states (started lazily, one thread per CPU, at least 2) and the agents
 * that live on it. Returns 0 or -ENOMEM / -errno.
 */
int agent_loop_new(agent_loop **ret);
agent_loop *agent_loop_ref(agent_loop *l);
/* Drop a reference. Every agent holds a reference to its loop, so the
 * loop lives while agents (alive or not) are referenced; in particular an
 * agent that is alive (started, not ended) keeps its loop alive, and the
 * last agent_loop_unref() does NOT free the loop then: end (or abort with
 * agent_interrupt()) the agents and run the loop until agent_loop_alive()
 * is 0. Only the last reference of all joins the worker threads and
 * frees everything. */
agent_loop *agent_loop_unref(agent_loop *l);

/*
 * Run until no started agent is alive (or agent_loop_exit()). Returns 0
 * or -errno (epoll failure). Fast path: ready agents run up to a budget
 * of steps/messages before the loop polls its fds with a zero timeout.
 */
int agent_loop_run(agent_loop *l);
/* Make agent_loop_run() return after the current iteration. Any thread. */
int agent_loop_exit(agent_loop *l);
/* Run at most one iteration, waiting up to timeout_usec for fds/timers.
 * Returns 1 if agents are still alive, 0 if none, or -errno. */
int agent_loop_iterate(agent_loop *l, uint64_t timeout_usec);
/* Number of agents started on the loop and not yet ended. */
unsigned agent_loop_alive(agent_loop *l);

/* ---- agents: lifetime -------------------------------------------------- */

/*
 * Create a top-level agent on loop (NULL: a new private loop, released
 * with the agent). self is the user struct (crb: the struct implementing
 * Agent); the agent owns it if def->free_self is set. def must outlive
 * the agent. The agent is created idle: call agent_start() or agent_run().
 * Returns 0, -EINVAL (def NULL), -ENOMEM. On failure self is not freed.
 */
int agent_new(agent **ret, agent_loop *loop, const struct agent_def *def,
	      void *self);

/*
 * Spawn a child agent on the parent's loop and start it (crb: supervisor
 * spawn_agent). group orders shutdown (crb: GroupBy): when the parent
 * ends, or agent_stop_children() runs, children are stopped group by
 * group from the greatest group number down, each group fully ended
 * before the next one is asked; the parent's finalize comes after the
 * last child. A child spawned while its group is being stopped is
 * stopped at once. The child's end is delivered to the parent as an
 * agent_type_exit message (or to agent_await_child()). ret may be NULL;
 * otherwise the caller gets a reference. Returns 0, -ENOMEM, -EPIPE if
 * the parent is ending or has ended, -EINVAL (also when the parent was
 * never started: only a started agent owns children).
 */
int agent_spawn(agent *parent, agent **ret, int group,
		const struct agent_def *def, void *self);

agent *agent_ref(agent *a);
/* Drop a reference. An agent that is alive keeps itself referenced by its
 * loop until it ends; unref never stops an agent. A never-started agent
 * owns what was attached to it: its last unref frees its timers, sources,
 * pipelines and outgoing requests. */
agent *agent_unref(agent *a);

/* Start a created agent: begin() runs on the next loop iteration.
 * An interrupt requested before the start is replayed now: EVENT is
 * queued (on_interrupt(EVENT) after begin), FLAG runs on_interrupt(FLAG)
 * instead of begin, ABORT ends the agent at once as ABORTED (neither
 * on_interrupt nor finalize runs). Returns 0, -EALREADY. */
int agent_start(agent *a);

/*
 * Start a (if needed) and run its loop until a has ended (crb:
 * agent.run().await). Returns the exit reason (enum agent_exit_reason,
 * >= 0) or -errno if the loop failed. Other agents on the loop keep
 * running while it runs, and stay behind when it returns.
 */
int agent_run(agent *a);

/* Interrupt at a level (enum agent_level). Levels are cumulative and only
 * go up: a FLAG after an EVENT upgrades it. Loop thread, or any thread:
 * from another thread the request is queued and the loop woken. Returns
 * 0, -ESRCH if the agent has already ended, -EINVAL. On an agent not yet
 * started the level is stored and replayed by agent_start(). The grace
 * deadline (def->grace_usec) runs from the first FLAG, also while a sync
 * state runs: past it the agent is aborted (a sync state's result is
 * discarded when its worker returns). */
int agent_interrupt(agent *a, enum agent_level level);

/* Stop this agent's children as on shutdown (ordered groups) without
 * ending the agent; their exits arrive as usual. Returns 0. */
int agent_stop_children(agent *a);

/* ---- agents: accessors ------------------------------------------------- */

void *agent_self(agent *a);
const struct agent_def *agent_get_def(agent *a);
agent_loop *agent_get_loop(agent *a);
/* The parent of a spawned agent, or NULL. No reference is taken. */
agent *agent_get_parent(agent *a);
/* A stable, process-unique id (never reused) and a printable instance
 * name "DEFNAME#ID" (or the name set with agent_set_name()). */
uint64_t agent_id(agent *a);
const char *agent_name(agent *a);
/* Copy name (<= 64 bytes). Returns 0, -EINVAL. */
int agent_set_name(agent *a, const char *name);
/* Name of the state being run or NULL (for status displays). */
const char *agent_state_name(agent *a);

bool agent_is_alive(agent *a);
/* Exit reason after the agent ended, -EBUSY while alive or not started. */
int agent_exit_reason(agent *a);
/* The error (-errno) of a failed agent, 0 otherwise. */
int agent_exit_error(agent *a);
const char *agent_exit_reason_to_string(int reason);

/*
 * A child's result (crb: a Mission's Goal). The agent sets it (before it
 * ends, e.g. in its last state or finalize); it is kept by the agent
 * object and freed with free_fn when the object is freed or replaced.
 * agent_take_result() moves it out (the caller then owns it).
 */
int agent_set_result(agent *a, void *result, void (*free_fn)(void *));
void *agent_get_result(agent *a);
void *agent_take_result(agent *a);

/* ---- steps from handlers (crb: ctx.do_next, shutdown) -------------------- */

/*
 * Schedule a transition from a handler, hook or timer: the step runs
 * before the next queued message (crb's do_next; the last call wins, an
 * earlier pending step is dropped and its data freed). step's data is
 * owned by the agent from now on. Returns 0, -ESRCH (ending or ended),
 * -EINVAL (never started: its first step is begin(); step is freed).
 */
int agent_do_next(agent *a, agent_step step);

/* Close the mailbox: new sends fail with -EPIPE, queued messages are still
 * handled, then the agent ends (the same as the step agent_done()). */
int agent_shutdown(agent *a);

/*
 * Resume an async state parked in agent_wait() with step, from a callback
 * of your own (agent_await_* completions do this by returning a step).
 * Returns 0, -EBUSY if the agent is not waiting.
 */
int agent_continue(agent *a, agent_step step);

/* True once a FLAG or ABORT interruption was requested. Any thread: long
 * sync states poll it. */
bool agent_is_interrupted(agent *a);

/* ---- messages ------------------------------------------------------------ */

/* What a message is. */
enum agent_msg_kind {
	AGENT_MSG_EVENT = 0,
	AGENT_MSG_REQUEST = 1,
	AGENT_MSG_RESPONSE = 2,
};

/* The message's type (for a response: the type of the request). */
const struct agent_msg_type *agent_msg_get_type(agent_msg *m);
enum agent_msg_kind agent_msg_kind(agent_msg *m);
/* The payload, still owned by the message (freed with it). */
void *agent_msg_payload(agent_msg *m);
/* Move the payload out: the caller owns it now. */
void *agent_msg_take_payload(agent_msg *m);
/* The sender's tag (agent_send_tagged(), agent_request(), timers'
 * tags, sources' tags), 0 if none. */
uint64_t agent_msg_tag(agent_msg *m);
/* Responses: 0, or -errno (see struct agent_handler.on_response). */
int agent_msg_error(agent_msg *m);
/* The in-process sender, or NULL (remote, timer, source). No reference. */
agent *agent_msg_sender(agent_msg *m);
/* Printable name of the sender: an instance name, a remote agent's name,
 * or "" when unknown. */
const char *agent_msg_sender_name(agent_msg *m);
/* The raw msgpack body of a message that came from another process (one
 * validated msgpack object), for types without decode. Returns 0 and sets
 * buf and len (valid while the message lives), or -ENODATA if local. */
int agent_msg_body(agent_msg *m, const void **buf, size_t *len);
agent_msg *agent_msg_ref(agent_msg *m);
agent_msg *agent_msg_unref(agent_msg *m);

/*
 * Send an event to an in-process agent (crb: address.event). Any thread
 * (from another thread the message goes through a locked queue and the
 * loop is woken; the mailbox bound applies when it is moved in). payload
 * is taken (freed with type->free, also on failure).
 * Returns 0, -EPIPE (mailbox closed / agent ended), -ENOBUFS (full,
 * REJECT policy), -ENOMEM.
 */
int agent_send(agent *to, const struct agent_msg_type *type, void *payload);
int agent_send_tagged(agent *to, const struct agent_msg_type *type,
		      uint64_t tag, void *payload);

/*
 * Send a request from self to an in-process agent. The response (or an
 * error: the callee's, -ETIMEDOUT after timeout_usec, -EPIPE if the callee
 * ends first) arrives in self's mailbox as an AGENT_MSG_RESPONSE for
 * type's on_response handler, in FIFO order, with tag. timeout_usec 0
 * means the default of 30 s; AGENT_USEC_INFINITY is not allowed (every
 * request has a timeout). Loop thread; both agents on the same loop
 * (-EXDEV otherwise: use the remote form). Returns a request id > 0, or
 * -errno as agent_send() (then no response will come).
 */
int64_t agent_request(agent *self, agent *to,
		      const struct agent_msg_type *type, void *payload,
		      uint64_t timeout_usec, uint64_t tag);

/*
 * Answer request m (borrowed) with payload (taken; freed with
 * type->reply_free). Exactly one answer per request: a second one fails
 * with -EALREADY. A caller that is gone is not an error (the answer is
 * freed). Loop thread.
 */
int agent_reply(agent *self, agent_msg *m, void *payload);
/* Answer with an error (-errno) instead. */
int agent_reply_error(agent *self, agent_msg *m, int err);

/* Messages queued (a snapshot; any thread) and dropped by DROP_OLDEST. */
unsigned agent_mailbox_len(agent *a);
uint64_t agent_mailbox_dropped(agent *a);

/* ---- remote agents (other processes, by name) ---------------------------- */
/* Where these functions take a name, it is one of:
 *  - NAME or NAME@N (an instance): an agent of our agentd, reached through
 *    its runtime directory, ipc://$AGENTD_RUNTIME_DIR/inbox/NAME.sock; a
 *    pool's unit name (Instances=N) picks one of its instances in turn;
 *  - NAME@HOST, NAME@N@HOST, NAME@HOST:PORT, NAME@[V6ADDR]:PORT: an agent
 *    on another host (HOST is anything not all digits), found through
 *    HOST's agentd, the name server of its host (agentd --listen), as
 *    Erlang finds nodes through epmd. It is asked at tcp://HOST:PORT
 *    (tls+tcp:// when $AGENTD_TLS_CA_FILE is set), PORT from the address,
 *    else $AGENTD_PORT, else 7411, and answers with the network inboxes
 *    the agent listens on ($AGENTD_LISTEN); the one of the same transport
 *    is used (a wildcard host replaced by HOST). Asking is asynchronous:
 *    the sends return at once and their envelopes wait, in order and
 *    bounded like a batch (-EAGAIN when full), until the answer. When
 *    there is none within 2 s, or the name is unknown or has no network
 *    inbox, they are dropped and counted (agent_remote_stats().dropped)
 *    and requests among them complete with -EHOSTUNREACH. The answer is
 *    cached until the connection to that inbox drops (the agent restarted),
 *    a send fails, or there is no connection a second after the answer;
 *    then the next send asks again;
 *  - an explicit inbox URL: "tcp://HOST:PORT", "tls+tcp://HOST:PORT"
 *    (another host or another agentd; see agent_listen() for TLS) or
 *    "ipc://PATH". */

/*
 * Send an event to the agent process called name (see above). The payload
 * is encoded with type->encode (no encode: a nil body) and freed. Returns
 * 0, -EINVAL (bad name or address, bad $AGENTD_PORT), -ENOTCONN (a local
 * name and no runtime dir: not under agentd), -ECONNREFUSED (nobody
 * listens), -EAGAIN (its queue is full, or NAME@HOST is being resolved
 * and its waiting batch is full), -ENOMEM. 0 for a NAME@HOST that is not
 * resolved yet means queued: a failed resolution drops it (counted).
 */
int agent_send_remote(agent *self, const char *name,
		      const struct agent_msg_type *type, void *payload);
/* The same with a ready msgpack body (one object, copied) and a kind name
 * (for tools that do not have the type). */
int agent_send_remote_body(agent *self, const char *name, const char *kind,
			   const void *body, size_t len);
/*
 * agent_send_remote() for sync states: blocks the calling worker thread
 * until the event is accepted (queued in order, as agent_send_remote()'s
 * 0) or timeout_usec has passed (AGENT_USEC_INFINITY: no deadline). While
 * the destination does not take more (-EAGAIN), the send is retried on the
 * agent's loop every millisecond; each refused try counts in
 * agent_remote_stats().dropped. The payload is encoded on the calling
 * thread with type->encode and freed. Returns 0, -ETIMEDOUT, -EDEADLK
 * (called on the loop thread: use agent_send_remote() there), or the
 * errors of agent_send_remote(). Sync states (any thread but the loop's);
 * the agent's loop must be running (it is while a sync state runs).
 */
int agent_send_remote_wait(agent *self, const char *name,
			   const struct agent_msg_type *type, void *payload,
			   uint64_t timeout_usec);
/* A request to a remote agent (a name as above): as agent_request(); the
 * response body is decoded with type->reply_decode (or left raw for
 * agent_msg_body()). A NAME@HOST that cannot be resolved answers
 * -EHOSTUNREACH, like any other request error (the response message). */
int64_t agent_request_remote(agent *self, const char *name,
			     const struct agent_msg_type *type, void *payload,
			     uint64_t timeout_usec, uint64_t tag);

/*
 * The registry (under agentd). agent_resolve() asks agentd where name is:
 * the answer arrives in self's mailbox as an agent_type_peer event
 * (payload struct agent_peer, resolved = true) with tag. A pool's unit
 * name ("worker" with Instances=N) resolves to one of its running
 * instances, round robin (the reply names it: "worker@2"); an unknown
 * name has state "unknown". A name that agentd has but that is not
 * running has an empty inbox.
 * agent_monitor(self, name, true) makes agentd push name's transitions
 * (all instances of a pool) as agent_type_peer events to self (resolved =
 * false), the current state first; false ends it. The watches end when
 * this process leaves running. These events count against the mailbox
 * (a full mailbox drops them, counted in agent_remote_stats().dropped).
 * Both return 0, -EINVAL, -ENOTCONN (not linked to agentd), -ENOMEM.
 * Loop thread.
 */
struct agent_peer {
	char name[80];    /* the agent ("worker@2") */
	char inbox[256];  /* its inbox URL, "" when it has none */
	uint32_t pid;     /* 0 without a process */
	char state[72];   /* agentd's state: running, stopping, backoff, ... */
	bool resolved;    /* an agent_resolve() answer, else a monitor event */
};
extern const struct agent_msg_type agent_type_peer;
int agent_resolve(agent *self, const char *name, uint64_t tag);
int agent_monitor(agent *self, const char *name, bool on);

/*
 * Subscriptions between processes. A publisher keeps the last value of
 * each topic; agent_publish() replaces it (value: one msgpack object,
 * copied; NULL/0 = nil), increments the topic's seq and sends it to every
 * subscriber; it returns the number of subscribers reached or -errno.
 * agent_subscribe(self, publisher, topic) (publisher: a name, NAME@HOST or
 * URL as for agent_send_remote; self's process needs an inbox) makes the
 * publisher
 * send the current value first (snapshot = true, the topic's current seq,
 * 0 before any publish), then every update in order: agent_type_update
 * events (payload struct agent_update) in the mailbox of the process's
 * inbox agent. An update the publisher cannot send (the subscriber's
 * inbox is full) is counted and reported with the next one that gets
 * through: `missed`, and seq jumps by missed + 1. agent_unsubscribe()
 * ends it. Under agentd the publisher monitors its subscribers and
 * forgets one that leaves running (the publisher's agent also receives
 * those agent_type_peer events); agent_subscribers() counts them.
 * Loop thread. 0 / -EINVAL / -ENOTCONN / errors of agent_send_remote();
 * agent_publish() also -ENOSPC past 1,024 topics. A publisher keeps at
 * most 256 subscribers per topic and 4,096 in all: subscriptions past
 * that are dropped and counted.
 */
struct agent_update {
	char topic[AGENT_TOPIC_MAX + 1];
	char publisher[AGENT_TOPIC_MAX + 1];
	uint64_t seq;
	uint64_t missed;  /* updates lost before this one */
	bool snapshot;    /* the value at subscription time */
	const void *value; /* msgpack of one object (nil when none) */
	size_t len;
	unsigned char data[]; /* value points here */
};
extern const struct agent_msg_type agent_type_update;
int agent_publish(agent *self, const char *topic, const void *value,
		  size_t len);
int agent_subscribe(agent *self, const char *publisher, const char *topic);
int agent_unsubscribe(agent *self, const char *publisher, const char *topic);
unsigned agent_subscribers(agent *self, const char *topic);

/*
 * Batching, FIFO and backpressure. Remote envelopes for one destination
 * are appended to one nng message (a batch) that leaves when the loop is
 * about to poll for I/O, or at once when it holds 256 envelopes or 64 KiB;
 * the receiver dispatches a batch's envelopes in order. So between one
 * sending process and one receiving process messages arrive in the order
 * they were sent (events, requests and responses alike). A destination
 * that does not keep up fills nng's send buffer (128 batches), then its
 * batch: further sends fail with -EAGAIN (retry later: nothing was
 * queued). A receiver whose mailbox is full stops reading its inbox
 * (the rest of a batch waits), which is how the -EAGAIN reaches the
 * sender. A send to a name nobody listens on fails with -ECONNREFUSED.
 * Every failed send and every inbound message that could not be queued
 * is counted in `dropped`; malformed input (bad envelope, bad payload
 * schema, undecodable body) is dropped and counted in `malformed`; a
 * remote event of a kind the agent has no handler for is dropped and
 * counted in `unhandled` (a request of such a kind is answered
 * -EOPNOTSUPP). Builtin: a remote request "ping" that the agent does not
 * handle itself is answered with its own body when it reaches the head
 * of the mailbox (a round trip that includes the queue: `agentctl call
 * NAME ping`), and a request "agent.stats" with these counters as a map
 * (`agentctl call NAME agent.stats` ->
 * {"sent":..,"batches":..,"received":..,"dropped":..,"malformed":..,
 * "unhandled":..}).
 * Loop thread only (from a sync state, use agent_send() to an agent on
 * the loop that forwards).
 */
struct agent_remote_stats {
	uint64_t sent;       /* envelopes accepted by agent_send_remote & co */
	uint64_t batches;    /* nng messages that left */
	uint64_t received;   /* envelopes read from the inbox */
	uint64_t dropped;    /* failed sends + inbound not queued */
	uint64_t malformed;  /* inbound input rejected as malformed */
	uint64_t unhandled;  /* inbound events of a kind without handler */
};
/* The counters of a's process-side messaging (its loop's). Returns 0,
 * -EINVAL. */
int agent_remote_stats(agent *a, struct agent_remote_stats *ret);
/* Send the pending batches now instead of when the loop polls (benchmarks,
 * or before a blocking call). Returns 0, -EINVAL. */
int agent_remote_flush(agent *a);

/*
 * Attach a's mailbox to a listening inbox (pull0) at url, so remote
 * events and requests for this process are delivered to a. agent_main()
 * does this with $AGENTD_INBOX, then with each URL of $AGENTD_LISTEN
 * (comma- or space-separated). url is ipc://PATH (mode 0600), tcp://H:P
 * or tls+tcp://H:P; port 0 picks a free port (agent_listen_url() tells
 * which). A second call for the same agent adds a network transport to
 * the same inbox (at most 4); requests sent to a tcp:// (tls+tcp://)
 * destination carry our tcp:// (tls+tcp://) inbox as the reply address.
 * TLS: $AGENTD_TLS_CERT_KEY_FILE is a PEM file with this process's
 * certificate and key (required to listen on tls+tcp://, and presented
 * to servers that ask), $AGENTD_TLS_CA_FILE the CA that peers'
 * certificates must chain to: dialers always verify the server (name =
 * the URL's host), a listener with a CA requires client certificates.
 * Returns 0, -EINVAL (bad URL / TLS without a certificate), -EALREADY
 * (another agent has the inbox, or a second ipc://), -ENOSPC,
 * -EADDRNOTAVAIL / -errno.
 */
int agent_listen(agent *a, const char *url);
/* The n-th URL the inbox listens on (0: the ipc one if any), with the real
 * port for a :0 listener; NULL past the last. Valid while the loop lives. */
const char *agent_listen_url(agent *a, unsigned n);

/* ---- awaiting inside an async state (crb: .await) ----------------------- */

/*
 * A completion callback: it runs on the loop with the state's data and the
 * completion as a message (borrowed; a response, an agent_type_timer, an
 * agent_type_fd or an agent_type_exit message), and returns the next
 * step: agent_wait() while other awaits are still in flight (join_all),
 * agent_again() to repeat the state, or any other step.
 * Awaits started by a state are cancelled (callbacks never run) when the
 * state is left, the agent is interrupted at FLAG or aborted.
 * Each function returns 0 or -errno; the state then returns agent_wait().
 */
typedef agent_step (*agent_await_fn)(agent *a, void *data, agent_msg *m);

int agent_await_sleep(agent *a, uint64_t usec, agent_await_fn cb);
/* One-shot readiness of fd (EPOLLIN/EPOLLOUT bits); the message payload
 * is a struct agent_fd_event. Use it for NNG_OPT_RECVFD/SENDFD too. */
int agent_await_fd(agent *a, int fd, uint32_t events, agent_await_fn cb);
/* A request whose response (or error) goes to cb, not the mailbox. */
int agent_await_request(agent *a, agent *to,
			const struct agent_msg_type *type, void *payload,
			uint64_t timeout_usec, agent_await_fn cb);
int agent_await_request_remote(agent *a, const char *name,
			       const struct agent_msg_type *type,
			       void *payload, uint64_t timeout_usec,
			       agent_await_fn cb);
/* The end of child (spawned by a), delivered to cb instead of the
 * mailbox. -ESRCH if child has already ended (its agent_type_exit message
 * is then in the mailbox), -EBUSY if someone awaits it already. */
int agent_await_child(agent *a, agent *child, agent_await_fn cb);

/*
 * An await completed by code outside libagent, from any thread: an nng
 * aio callback (nng's HTTP client, a req0 context), a thread of your own.
 * *ret is a one-shot waker: call agent_waker_wake() exactly once, from any
 * thread; it queues the completion on the agent's loop (the callback never
 * runs on the caller's thread) and releases the waker. cb then receives an
 * agent_type_wake message with err (agent_msg_error()) and payload (owned
 * by the message, freed with free_fn). If the state was left in the
 * meantime the wake is discarded (payload freed). Loop thread for the
 * await; any thread for the wake.
 */
typedef struct agent_waker agent_waker;
int agent_await_external(agent *a, agent_await_fn cb, agent_waker **ret);
int agent_waker_wake(agent_waker *w, int err, void *payload,
		     void (*free_fn)(void *));

/* ---- sync states: CPU work on the pool (crb: DoSync + rayon) ------------ */

/*
 * Run fn(i, arg) for i in [0, n) across the loop's worker pool and the
 * calling thread, and return when all have run. Sync states (any worker
 * thread; also usable on the loop thread, which then blocks). Returns 0,
 * -EINVAL.
 */
int agent_parallel(agent *a, size_t n, void (*fn)(size_t i, void *arg),
		   void *arg);

/* ---- timers and intervals (delivered as messages) ----------------------- */

/*
 * AGENT_TIMER_DEBOUNCE: agent_timer_schedule() while pending moves the
 *   deadline to now + delay (restart from now).
 * AGENT_TIMER_KEEP_FIRST: scheduling while pending keeps the first
 *   deadline (a window that opens with the first schedule; crb's Timer).
 * On expiry an agent_type_timer message with the timer's tag is queued
 * (a control message: never rejected); at most one is queued per expiry.
 */
enum agent_timer_mode {
	AGENT_TIMER_DEBOUNCE = 0,
	AGENT_TIMER_KEEP_FIRST = 1,
};

/* Create a timer of a (idle until scheduled). The agent owns it: it is
 * freed when the agent ends, or by agent_timer_free(). Returns 0, -ENOMEM. */
int agent_timer_new(agent *a, agent_timer **ret, enum agent_timer_mode mode,
		    uint64_t tag);
int agent_timer_schedule(agent_timer *t, uint64_t delay_usec);
/* Cancel a pending expiry (no message will be queued). */
int agent_timer_cancel(agent_timer *t);
bool agent_timer_is_pending(agent_timer *t);
void agent_timer_free(agent_timer *t);

/* An interval: an agent_type_tick message with tag every period_usec;
 * the next deadline is the previous deadline + period, missed ticks are
 * skipped (no catch-up burst). Freed with agent_timer_free() or when the
 * agent ends. Returns 0, -EINVAL (period 0), -ENOMEM. */
int agent_interval_new(agent *a, agent_timer **ret, uint64_t period_usec,
		       uint64_t tag);

/* ---- sources (crb: StreamSession, Drainer) ------------------------------- */

/* one message per line (no '\n'); a line longer than 64 KiB is delivered
 * in 64 KiB chunks (the source never buffers more) */
#define AGENT_SOURCE_LINES	0x1u
#define AGENT_SOURCE_OWN_FD	0x2u /* close fd when the source is freed */

/*
 * Read fd (made non-blocking) on the loop and deliver what arrives as
 * agent_type_data messages (payload struct agent_data, tag). At EOF or
 * on a read error one agent_type_source_end message (its error in
 * agent_msg_error()) is delivered and the source stops; THE AGENT KEEPS
 * RUNNING (crb stops it). When the mailbox is full the source stops
 * reading until there is room (backpressure, nothing dropped).
 * The agent owns the source; freed when it ends or by agent_source_free().
 */
int agent_source_fd(agent *a, agent_source **ret, int fd, unsigned flags,
		    uint64_t tag);
void agent_source_free(agent_source *s);

/* ---- built-in message types ------------------------------------------- */

/* payload of agent_type_data */
struct agent_data {
	size_t len;
	char buf[]; /* len bytes, NUL-terminated for convenience */
};

/* payload of agent_type_fd (agent_await_fd completions) */
struct agent_fd_event {
	int fd;
	uint32_t revents;
};

/* payload of agent_type_exit: a child ended */
struct agent_exit {
	agent *child;  /* a reference held by the message */
	int group;
	enum agent_exit_reason reason;
	int error;     /* -errno if failed */
};

extern const struct agent_msg_type agent_type_timer;  /* payload NULL */
extern const struct agent_msg_type agent_type_tick;   /* payload NULL */
extern const struct agent_msg_type agent_type_data;
extern const struct agent_msg_type agent_type_source_end; /* payload NULL */
extern const struct agent_msg_type agent_type_fd;
extern const struct agent_msg_type agent_type_exit;
extern const struct agent_msg_type agent_type_wake;   /* agent_waker_wake */
/* pipeline outputs: payload = the last stage's result, tag = input seq,
 * agent_msg_error() = the stage's error when an item failed */
extern const struct agent_msg_type agent_type_pipeline_output;

/* ---- functional activities (crb: RunMission::new_sync/new_async) --------- */

/*
 * A plain function as a one-shot agent. A sync fn runs on a worker thread;
 * it returns 0 (done) or -errno (failed) and may set a result with
 * agent_set_result(). An async fn is a one-state async agent: it returns
 * a step (agent_done(), agent_fail(), agent_wait() after agent_await_*...).
 * arg is borrowed unless free_arg is set (called when the agent is freed).
 * Spawned as children of parent in group; ret may be NULL.
 */
typedef int (*agent_sync_fn)(agent *a, void *arg);
typedef agent_step (*agent_async_fn)(agent *a, void *arg);

int agent_spawn_sync_fn(agent *parent, agent **ret, int group,
			agent_sync_fn fn, void *arg, void (*free_arg)(void *));
int agent_spawn_async_fn(agent *parent, agent **ret, int group,
			 agent_async_fn fn, void *arg,
			 void (*free_arg)(void *));
/* Top-level forms (loop NULL: private loop); start with agent_run(). */
int agent_new_sync_fn(agent **ret, agent_loop *loop, agent_sync_fn fn,
		      void *arg, void (*free_arg)(void *));
int agent_new_async_fn(agent **ret, agent_loop *loop, agent_async_fn fn,
		       void *arg, void (*free_arg)(void *));

/* ---- pipelines ------------------------------------------------------------ */

/*
 * A pipeline owned by agent owner: stages run in order; each input pushed
 * becomes the self of a new agent of stage 0's def (a child of owner,
 * freed with def->free_self); the result it sets (agent_set_result) becomes
 * the self of a stage 1 agent, and so on. At most `pool` agents of a stage
 * run at once; further items wait in the stage's queue. The last stage's
 * results reach the owner as agent_type_pipeline_output messages (tag =
 * the item's sequence number from agent_pipeline_push). A stage agent
 * that fails ends its item with an output message carrying the error.
 * capacity bounds items inside the pipeline (queued + running).
 */
int agent_pipeline_new(agent *owner, agent_pipeline **ret, unsigned capacity);
/* Append a stage. Returns 0, -EINVAL (pool 0), -EBUSY (items pushed). */
int agent_pipeline_add_stage(agent_pipeline *p, const struct agent_def *def,
			     unsigned pool);
/* Push an input (taken, freed with free_fn unless a stage agent took it).
 * Returns its sequence number (>= 1), -ENOBUFS (full), -EINVAL. */
int64_t agent_pipeline_push(agent_pipeline *p, void *input,
			    void (*free_fn)(void *));
/* Items pushed and not yet output. */
unsigned agent_pipeline_pending(agent_pipeline *p);
/* Free the pipeline; running stage agents are stopped. */
void agent_pipeline_free(agent_pipeline *p);

/* ---- process entry and the link to agentd ------------------------------- */

/*
 * Run def as this process's agent and return the process exit status:
 *
 *	int main(int argc, char **argv) {
 *		return agent_main(&my_def, &my_self, argc, argv);
 *	}
 *
 * It blocks SIGTERM/SIGINT/SIGHUP/SIGPIPE/SIGCHLD in all threads, creates
 * the loop and the agent, and:
 *  - with $AGENTD_LINK_FD set (under agentd: its end of a SOCK_SEQPACKET
 *    socketpair, made CLOEXEC and the variable removed), sends
 *    HELLO [name, pid, inbox], READY once begin() has produced its first
 *    step, HEARTBEAT every watchdog/2 when HELLO_ACK asks for one;
 *    INTERRUPT [level] interrupts the agent at that level; STOPPING when
 *    it starts to end and EXIT_REPORT [reason, code, message] at the end;
 *  - with $AGENTD_INBOX set: listens there for remote messages;
 *  - the first SIGTERM/SIGINT is a FLAG interruption, the second ABORT.
 * Without $AGENTD_LINK_FD it runs the same, standalone.
 * Returns enum agent_exit_reason (0 done, 1 failed, 2 interrupted,
 * 3 aborted), or 1 when set-up fails. self is owned as agent_new() says.
 * argc/argv are not interpreted (reserved).
 */
int agent_main(const struct agent_def *def, void *self, int argc,
	       char **argv);

/*
 * Publish a one-line status text for this process's agent (agentctl
 * status shows it): sent to agentd as STATUS_TEXT over the link. Loop
 * thread. Returns 0, -ENOTCONN when not linked (standalone), -EINVAL
 * (NULL or longer than 4096 bytes).
 */
int agent_set_status(agent *a, const char *text);

/* ---- cleanup helpers (as sd-event.h) ------------------------------------ */

static inline void
agent_unrefp(agent **p)
{
	if (*p)
		agent_unref(*p);
}
static inline void
agent_loop_unrefp(agent_loop **p)
{
	if (*p)
		agent_loop_unref(*p);
}
static inline void
agent_msg_unrefp(agent_msg **p)
{
	if (*p)
		agent_msg_unref(*p);
}
#define _cleanup_agent_unref_      __attribute__((cleanup(agent_unrefp)))
#define _cleanup_agent_loop_unref_ __attribute__((cleanup(agent_loop_unrefp)))
#define _cleanup_agent_msg_unref_  __attribute__((cleanup(agent_msg_unrefp)))

#ifdef __cplusplus
}
#endif

#endif
