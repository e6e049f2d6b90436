/* SPDX-License-Identifier: MIT */
/*
 * agent-def.h - the declarative half of libagent: steps, states, message
 * types, handlers and the agent definition (crb's Agent trait as a table).
 *
 * Include <agent/agent.h>, which includes this file.
 *
 * crb concept            libagent
 * ---------------------  ------------------------------------------------
 * Agent trait            struct agent_def (begin, handlers, hooks)
 * Next<Self>             agent_step, built by agent_async(), agent_sync(),
 *                        agent_events(), agent_done(), agent_stop(),
 *                        agent_fail(), agent_wait(), agent_again(),
 *                        agent_error(), agent_perform()
 * DoAsync<S> / DoSync<S> struct agent_state (once, repeat, repair, fallback)
 *                        entered with agent_async() or agent_sync()
 * state struct S         the state's data pointer, freed with the state
 * OnEvent<E>             struct agent_handler .on_event for one type
 * OnRequest<R>           struct agent_handler .on_request
 * OnResponse<R>          struct agent_handler .on_response
 * Agent::interrupt       agent_def.on_interrupt
 * Agent::failed          agent_def.on_failed
 * Agent::finalize        agent_def.finalize
 * StatePerformer         struct agent_performer (custom kinds of step)
 */
#ifndef AGENT_AGENT_DEF_H
#define AGENT_AGENT_DEF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct agent agent;
typedef struct agent_msg agent_msg;

/* ---- exit reasons and interruption levels ------------------------------- */

/*
 * Why an agent ended. For a process these are also its exit status
 * (agent_main() returns them), the same numbers as proto-link.h.
 */
enum agent_exit_reason {
	AGENT_EXIT_DONE = 0,        /* agent_done()/agent_stop() on its own */
	AGENT_EXIT_FAILED = 1,      /* agent_fail(), or an unhandled state error */
	AGENT_EXIT_INTERRUPTED = 2, /* ended after an interruption; finalize ran */
	AGENT_EXIT_ABORTED = 3,     /* aborted: finalize did not run */
};

/*
 * Interruption levels (crb's InterruptionLevel, same numbers as proto-link.h):
 * EVENT  an interrupt message queued in FIFO order; when it is handled,
 *        on_interrupt(EVENT) runs (default: agent_done(), i.e. drain).
 * FLAG   at the next step boundary (never in the middle of a handler or a
 *        state call) the pending transition and queued messages are
 *        dropped, on_interrupt(FLAG) runs (default: agent_stop()) and the
 *        shutdown steps it returns run under the grace deadline
 *        (agent_def.grace_usec); past the deadline the agent is aborted.
 *        crb drops those shutdown states; libagent runs them.
 * ABORT  end now: no on_interrupt, no finalize. State data, queued
 *        messages and self are still freed. A sync state in progress is
 *        abandoned: its result is discarded when the worker returns.
 */
enum agent_level {
	AGENT_LEVEL_EVENT = 100,
	AGENT_LEVEL_FLAG = 1000,
	AGENT_LEVEL_ABORT = 10000,
};

/* ---- steps (crb's Next) -------------------------------------------------- */

enum agent_step_kind {
	AGENT_STEP_AGAIN = 0, /* repeat the current state (crb: Ok(None)) */
	AGENT_STEP_ASYNC,     /* run a state on the loop (crb: do_async) */
	AGENT_STEP_SYNC,      /* run a state on a worker thread (crb: do_sync) */
	AGENT_STEP_EVENTS,    /* actor mode: handle messages (crb: events) */
	AGENT_STEP_DONE,      /* close mailbox, handle what is queued, end */
	AGENT_STEP_STOP,      /* end now; queued messages are dropped */
	AGENT_STEP_FAIL,      /* end as failed with err; on_failed runs */
	AGENT_STEP_WAIT,      /* an await is in flight; its completion decides */
	AGENT_STEP_ERROR,     /* this call failed with err: repair/fallback */
	AGENT_STEP_PERFORM,   /* a custom performer (struct agent_performer) */
};

struct agent_state;
struct agent_performer;

/*
 * A step is a small value returned by states, completions, begin and
 * on_interrupt, and passed to agent_do_next(). Build it with the
 * constructors below; do not fill it by hand.
 *
 * Ownership of data: a step that carries data (ASYNC, SYNC, PERFORM) owns
 * it. When the engine leaves a state it frees the state's data with
 * state->free_data, unless the next step carries the very same pointer
 * (then the data moves on to the next state and survives). A step that is
 * never performed (replaced by a later agent_do_next(), dropped by a FLAG
 * interruption or an abort) has its data freed the same way.
 */
typedef struct agent_step {
	enum agent_step_kind kind;
	int err; /* FAIL, ERROR: -errno */
	union {
		const struct agent_state *state;
		const struct agent_performer *performer;
	};
	void *data;
} agent_step;

/*
 * A state (crb's DoAsync<S>/DoSync<S>). The same table serves both modes:
 * the step that enters it (agent_async or agent_sync) chooses where it
 * runs. All callbacks get the agent and the state's data.
 *
 * repeat  called again and again while it returns agent_again(); any
 *         other step ends the state. If NULL, once is used instead.
 * once    called once; its step is the next one. If both are NULL the
 *         state returns agent_done() at once (crb's default).
 * repair  on agent_error(err) from once/repeat: return >= 0 to swallow the
 *         error and call repeat/once again, < 0 to pass it to fallback.
 *         NULL: pass it on (crb's default re-raise).
 * fallback  receives the (unrepaired) error and returns the next step.
 *         NULL: agent_fail(err).
 * free_data frees the state's data when the state is left (may be NULL).
 *
 * In an ASYNC state the callbacks run on the loop thread and may start
 * awaits (agent_await_*) and return agent_wait(). In a SYNC state they run
 * on a worker thread; agent_wait() is invalid there (-EINVAL failure) and
 * only functions marked "any thread" or "sync states" may be called.
 * Between two repeat calls the engine checks for a FLAG interruption.
 */
struct agent_state {
	const char *name;
	agent_step (*once)(agent *a, void *data);
	agent_step (*repeat)(agent *a, void *data);
	int (*repair)(agent *a, void *data, int err);
	agent_step (*fallback)(agent *a, void *data, int err);
	void (*free_data)(void *data);
};

/*
 * A custom performer: a user-defined kind of step (crb's StatePerformer).
 * perform runs on the loop thread when the step is reached and returns
 * the step that follows; it may itself return agent_perform() again, so a
 * whole state machine can be driven by a user table. free_data frees the
 * step's data when the step is left (same rule as states).
 */
struct agent_performer {
	const char *name;
	agent_step (*perform)(agent *a, void *data);
	void (*free_data)(void *data);
};

static inline agent_step
agent_async(const struct agent_state *state, void *data)
{
	agent_step s = { .kind = AGENT_STEP_ASYNC, .state = state, .data = data };
	return s;
}

static inline agent_step
agent_sync(const struct agent_state *state, void *data)
{
	agent_step s = { .kind = AGENT_STEP_SYNC, .state = state, .data = data };
	return s;
}

static inline agent_step
agent_perform(const struct agent_performer *p, void *data)
{
	agent_step s = { .kind = AGENT_STEP_PERFORM, .performer = p,
			 .data = data };
	return s;
}

static inline agent_step
agent_events(void)
{
	agent_step s = { .kind = AGENT_STEP_EVENTS };
	return s;
}

static inline agent_step
agent_done(void)
{
	agent_step s = { .kind = AGENT_STEP_DONE };
	return s;
}

static inline agent_step
agent_stop(void)
{
	agent_step s = { .kind = AGENT_STEP_STOP };
	return s;
}

/* err: -errno (a positive value is negated). */
static inline agent_step
agent_fail(int err)
{
	agent_step s = { .kind = AGENT_STEP_FAIL, .err = err > 0 ? -err : err };
	return s;
}

static inline agent_step
agent_error(int err)
{
	agent_step s = { .kind = AGENT_STEP_ERROR,
			 .err = err > 0 ? -err : err };
	return s;
}

static inline agent_step
agent_wait(void)
{
	agent_step s = { .kind = AGENT_STEP_WAIT };
	return s;
}

static inline agent_step
agent_again(void)
{
	agent_step s = { .kind = AGENT_STEP_AGAIN };
	return s;
}

/* ---- message types ------------------------------------------------------- */

/*
 * A message type (crb: the Rust type E of OnEvent<E>). Declare one static
 * const object per type; in-process identity is the object's address,
 * across processes it is name (<= 64 bytes of [A-Za-z0-9_.:-]).
 *
 * free          frees a payload of this type (NULL: payloads are not freed)
 * encode/decode optional msgpack codec for remote delivery: encode packs a
 *               payload into one msgpack object in a malloc'd buffer
 *               (*ret_buf, owned by the caller); decode builds a payload
 *               from the bytes of one object (already bounds-checked by
 *               libagent). Without decode a remote message arrives with a
 *               NULL payload and its raw body (agent_msg_body()).
 * reply_*       the same three for the payload of a response to a request
 *               of this type.
 * All return 0 or -errno.
 */
struct agent_msg_type {
	const char *name;
	void (*free)(void *payload);
	int (*encode)(const void *payload, void **ret_buf, size_t *ret_len);
	int (*decode)(const void *buf, size_t len, void **ret_payload);
	void (*reply_free)(void *payload);
	int (*reply_encode)(const void *payload, void **ret_buf,
			    size_t *ret_len);
	int (*reply_decode)(const void *buf, size_t len, void **ret_payload);
};

/* Returned by on_request when the handler keeps the request to answer
 * later: it took a reference with agent_msg_ref() and will call
 * agent_reply()/agent_reply_error() and agent_msg_unref(). */
#define AGENT_REPLY_LATER 1

/*
 * One entry of an agent's handler table (actor mode). The table is an
 * array ended by an entry with type == NULL. Lookup is by type (pointer
 * equality; for remote messages by name). Handlers run on the loop thread,
 * one message at a time, only while the agent is in actor mode.
 *
 * on_event     an event of this type. Return 0, or -errno: a failing
 *              handler is reported (on_failed with the message, and the
 *              log callback at debug) and the actor keeps running.
 * on_request   a request of this type: answer with agent_reply() (or
 *              agent_reply_error()) before returning 0; returning 0
 *              without an answer replies with a NULL payload; returning
 *              -errno sends that error back to the caller (crb: the Err of
 *              on_request travels back); AGENT_REPLY_LATER defers.
 * on_response  the answer to a request of this type that this agent made
 *              with agent_request*(): agent_msg_error() is 0 or -errno
 *              (-ETIMEDOUT after the request's timeout, the callee's
 *              error, -ECONNREFUSED / -EPIPE when it could not be reached
 *              or ended), agent_msg_tag() is the caller's tag. Responses
 *              are mailbox messages in FIFO order with everything else.
 *
 * The message is borrowed: it is freed after the handler returns unless
 * the handler took a reference (agent_msg_ref()).
 * A message with no matching handler is reported like a failing handler
 * with -EOPNOTSUPP (a request gets that error back).
 */
struct agent_handler {
	const struct agent_msg_type *type;
	int (*on_event)(agent *a, agent_msg *m);
	int (*on_request)(agent *a, agent_msg *m);
	int (*on_response)(agent *a, agent_msg *m);
};

/* What happens when a send finds the mailbox full. Nothing is dropped
 * silently: REJECT fails the send with -ENOBUFS (the sender knows);
 * DROP_OLDEST evicts the oldest queued event, counts it
 * (agent_mailbox_dropped()) and reports it through the log callback;
 * a request evicted that way is answered with -ENOBUFS. */
enum agent_full_policy {
	AGENT_FULL_REJECT = 0,
	AGENT_FULL_DROP_OLDEST = 1,
};

#define AGENT_MAILBOX_DEFAULT	1024u
#define AGENT_GRACE_DEFAULT_USEC (5ULL * 1000000ULL)

/*
 * The agent definition (crb's `impl Agent`). Usually a static const object.
 *
 * name         kind name used in logs and as the default instance name
 * begin        first step (crb: begin). NULL: agent_events() (an actor).
 * handlers     actor handler table, {NULL}-terminated; may be NULL.
 * on_interrupt called when an EVENT interrupt message is handled, or at
 *              the step boundary after a FLAG interruption; returns the
 *              shutdown step(s). NULL: EVENT -> agent_done(),
 *              FLAG -> agent_stop().
 * on_failed    failure report (crb: failed): err is -errno; m is the
 *              message whose handler failed (the actor keeps running), or
 *              NULL when the agent itself fails (it then ends). May be NULL.
 * finalize     last call before the agent ends (crb: finalize), with the
 *              reason; it runs after every child has ended. Not called on
 *              ABORT. May be NULL.
 * free_self    frees the user struct (self) when the agent object is
 *              freed; may be NULL.
 * mailbox_capacity  bound of queued events/requests from senders
 *              (0: AGENT_MAILBOX_DEFAULT). Control messages (responses to
 *              this agent's own requests, its timers, child exits,
 *              interrupts) are bounded by what the agent itself started
 *              and are always accepted.
 * full_policy  see enum agent_full_policy.
 * grace_usec   deadline for shutdown steps after a FLAG interruption
 *              (0: AGENT_GRACE_DEFAULT_USEC); past it the agent is aborted.
 * stop_level   level a supervisor uses to stop this agent (0: FLAG).
 */
struct agent_def {
	const char *name;
	agent_step (*begin)(agent *a);
	const struct agent_handler *handlers;
	agent_step (*on_interrupt)(agent *a, enum agent_level level);
	void (*on_failed)(agent *a, int err, agent_msg *m);
	void (*finalize)(agent *a, enum agent_exit_reason reason);
	void (*free_self)(void *self);
	unsigned mailbox_capacity;
	enum agent_full_policy full_policy;
	uint64_t grace_usec;
	enum agent_level stop_level;
};

#ifdef __cplusplus
}
#endif

#endif
