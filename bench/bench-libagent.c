/* SPDX-License-Identifier: MIT */
/*
 * bench-libagent - crb's own measurement (crb/tests/test_perf.rs) in C:
 * for one second each, count
 *  - FSM transitions: an async state whose once() returns the step that
 *    enters the same state again (crb: Next::do_async(SelfCall)), and the
 *    same with agent_again() (the state repeats without being re-entered);
 *  - self-messages: an actor whose handler sends itself the next event
 *    (crb: ctx.address().event(SelfCall));
 * next to two baselines measured in the same run:
 *  - a plain C loop that dispatches a step kind through a switch and calls
 *    the state function through a pointer (the least an FSM step costs);
 *  - a plain ring-buffer queue: push one pointer, pop it, call its handler
 *    through a pointer (the least a mailbox round trip costs);
 * and beside crb 0.0.28's published figures (release build, same kind of
 * 2-vCPU machine): 10.1 M transitions/s and 5.2 M self-messages/s; the
 * target is at least twice both.
 *
 * Each figure is measured pinned to CPU 0 (sched_setaffinity, the same as
 * taskset -c 0) and unpinned. A benchmark, not a test: it asserts nothing.
 *
 * Usage: bench-libagent [-d SECONDS] [-n RUNS]   (best of RUNS)
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <agent/agent.h>

#define CRB_TRANSITIONS	10.1e6
#define CRB_MESSAGES	5.2e6
#define CHECK_MASK	1023u /* read the clock every 1024 steps */

static double opt_seconds = 1.0;
static unsigned opt_runs = 1;

static uint64_t
now_nsec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct counter {
	uint64_t n;
	uint64_t start, deadline, end;
};

static void
counter_init(struct counter *c)
{
	c->n = 0;
	c->start = now_nsec();
	c->deadline = c->start + (uint64_t)(opt_seconds * 1e9);
}

/* Count one; true when the time is up. */
static inline bool
counter_tick(struct counter *c)
{
	if ((++c->n & CHECK_MASK) == 0 && now_nsec() >= c->deadline) {
		c->end = now_nsec();
		return true;
	}
	return false;
}

static double
counter_rate(const struct counter *c)
{
	return (double)c->n / ((double)(c->end - c->start) / 1e9);
}

/* ---- libagent: FSM transitions ------------------------------------------ */

static const struct agent_state reenter_state;

static agent_step
reenter_once(agent *a, void *data)
{
	struct counter *c = agent_self(a);

	if (counter_tick(c))
		return agent_done();
	return agent_async(&reenter_state, NULL); /* the same state again */
}

static const struct agent_state reenter_state = {
	.name = "SelfCall",
	.once = reenter_once,
};

static agent_step
reenter_begin(agent *a)
{
	return agent_async(&reenter_state, NULL);
}

static const struct agent_def reenter_def = {
	.name = "bench-fsm",
	.begin = reenter_begin,
};

static agent_step
again_repeat(agent *a, void *data)
{
	struct counter *c = agent_self(a);

	return counter_tick(c) ? agent_done() : agent_again();
}

static const struct agent_state again_state = {
	.name = "Again",
	.repeat = again_repeat,
};

static agent_step
again_begin(agent *a)
{
	return agent_async(&again_state, NULL);
}

static const struct agent_def again_def = {
	.name = "bench-again",
	.begin = again_begin,
};

/* ---- libagent: self-messages --------------------------------------------- */

static const struct agent_msg_type self_call = { .name = "SelfCall" };

static int
on_self_call(agent *a, agent_msg *m)
{
	struct counter *c = agent_self(a);

	if (counter_tick(c))
		return agent_do_next(a, agent_stop());
	return agent_send(a, &self_call, NULL);
}

static const struct agent_handler self_handlers[] = {
	{ .type = &self_call, .on_event = on_self_call },
	{ NULL },
};

static agent_step
self_begin(agent *a)
{
	int r = agent_send(a, &self_call, NULL);

	return r < 0 ? agent_fail(r) : agent_events();
}

static const struct agent_def self_def = {
	.name = "bench-actor",
	.begin = self_begin,
	.handlers = self_handlers,
};

static double
run_agent(const struct agent_def *def)
{
	struct counter c;
	agent *a;
	int r;

	r = agent_new(&a, NULL, def, &c);
	if (r < 0) {
		fprintf(stderr, "agent_new: %s\n", strerror(-r));
		exit(1);
	}
	counter_init(&c);
	r = agent_run(a);
	agent_unref(a);
	if (r != AGENT_EXIT_DONE) {
		fprintf(stderr, "%s ended with %d\n", def->name, r);
		exit(1);
	}
	return counter_rate(&c);
}

static double
bench_reenter(void)
{
	return run_agent(&reenter_def);
}

static double
bench_again(void)
{
	return run_agent(&again_def);
}

static double
bench_self_messages(void)
{
	return run_agent(&self_def);
}

/* ---- baselines ------------------------------------------------------------ */

/* The function pointers go through volatile globals so that the compiler
 * cannot inline the calls away: every step is a real indirect call. */
enum base_kind { BASE_ASYNC, BASE_DONE };

struct base_step {
	enum base_kind kind;
	struct base_step (*fn)(struct counter *c);
};

static struct base_step base_state(struct counter *c);
static struct base_step (*volatile base_state_ptr)(struct counter *c) = base_state;

static __attribute__((noinline)) struct base_step
base_state(struct counter *c)
{
	struct base_step s = { BASE_ASYNC, base_state_ptr };

	if (counter_tick(c))
		s.kind = BASE_DONE;
	return s;
}

static double
bench_switch(void)
{
	struct counter c;
	struct base_step s = { BASE_ASYNC, base_state_ptr };

	counter_init(&c);
	for (;;) {
		switch (s.kind) {
		case BASE_ASYNC:
			s = s.fn(&c);
			continue;
		case BASE_DONE:
			break;
		}
		break;
	}
	return counter_rate(&c);
}

#define RING_SIZE 1024u

struct ring_msg {
	int (*handle)(struct counter *c, struct ring_msg *m);
};

struct ring {
	struct ring_msg *slot[RING_SIZE];
	unsigned head, tail;
};

static struct ring ring;

static inline int
ring_push(struct ring *r, struct ring_msg *m)
{
	if (r->tail - r->head == RING_SIZE)
		return -ENOBUFS;
	r->slot[r->tail++ & (RING_SIZE - 1)] = m;
	return 0;
}

static inline struct ring_msg *
ring_pop(struct ring *r)
{
	if (r->head == r->tail)
		return NULL;
	return r->slot[r->head++ & (RING_SIZE - 1)];
}

static int ring_handle(struct counter *c, struct ring_msg *m);
static int (*volatile ring_handle_ptr)(struct counter *c, struct ring_msg *m) = ring_handle;

static __attribute__((noinline)) int
ring_handle(struct counter *c, struct ring_msg *m)
{
	if (counter_tick(c))
		return 1;
	return ring_push(&ring, m); /* send itself the next one */
}

static double
bench_ring(void)
{
	struct counter c;
	struct ring_msg msg = { ring_handle_ptr };
	struct ring_msg *m;

	ring.head = ring.tail = 0;
	counter_init(&c);
	ring_push(&ring, &msg);
	while ((m = ring_pop(&ring)))
		if (m->handle(&c, m) != 0)
			break;
	return counter_rate(&c);
}

/* ---- driver ------------------------------------------------------------------ */

struct bench {
	const char *name;
	double (*fn)(void);
	double crb;  /* crb's figure, 0 if none */
	double best[2]; /* pinned, unpinned */
};

static struct bench benches[] = {
	{ "FSM transitions (re-enter the state)", bench_reenter, CRB_TRANSITIONS, { 0, 0 } },
	{ "FSM transitions (agent_again)", bench_again, CRB_TRANSITIONS, { 0, 0 } },
	{ "self-messages (actor sends itself)", bench_self_messages, CRB_MESSAGES, { 0, 0 } },
	{ "baseline: switch + call through pointer", bench_switch, 0, { 0, 0 } },
	{ "baseline: ring push/pop + call", bench_ring, 0, { 0, 0 } },
};
#define N_BENCHES (sizeof(benches) / sizeof(benches[0]))

static int
pin(bool on, const cpu_set_t *all)
{
	cpu_set_t one;

	if (!on)
		return sched_setaffinity(0, sizeof(*all), all);
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	return sched_setaffinity(0, sizeof(one), &one);
}

int
main(int argc, char **argv)
{
	cpu_set_t all;
	bool can_pin;
	int c;

	while ((c = getopt(argc, argv, "d:n:h")) != -1) {
		switch (c) {
		case 'd':
			opt_seconds = strtod(optarg, NULL);
			if (opt_seconds <= 0 || opt_seconds > 60) {
				fprintf(stderr, "-d: 0 < SECONDS <= 60\n");
				return 2;
			}
			break;
		case 'n':
			opt_runs = (unsigned)strtoul(optarg, NULL, 10);
			if (opt_runs < 1 || opt_runs > 100) {
				fprintf(stderr, "-n: 1 <= RUNS <= 100\n");
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: %s [-d SECONDS] [-n RUNS]\n",
				argv[0]);
			return 2;
		}
	}
	can_pin = sched_getaffinity(0, sizeof(all), &all) == 0 &&
		  CPU_ISSET(0, &all);

	for (int p = 0; p < 2; p++) {
		if (p == 0 && (!can_pin || pin(true, &all) < 0))
			continue;
		if (p == 1 && can_pin)
			(void)pin(false, &all);
		for (unsigned r = 0; r < opt_runs; r++)
			for (size_t i = 0; i < N_BENCHES; i++) {
				double v = benches[i].fn();
				if (v > benches[i].best[p])
					benches[i].best[p] = v;
			}
	}

	printf("libagent %s, %.1f s per figure, best of %u; M/s\n",
	       "bench", opt_seconds, opt_runs);
	printf("%-42s %9s %9s %9s %8s\n", "", "pinned", "unpinned",
	       "crb", "x crb");
	for (size_t i = 0; i < N_BENCHES; i++) {
		const struct bench *b = &benches[i];
		char crb[16] = "", ratio[16] = "";
		char pinned[16] = "n/a";

		if (b->crb > 0) {
			snprintf(crb, sizeof(crb), "%.1f", b->crb / 1e6);
			snprintf(ratio, sizeof(ratio), "%.2f",
				 (b->best[0] > b->best[1] ? b->best[0]
							  : b->best[1]) /
					 b->crb);
		}
		if (b->best[0] > 0)
			snprintf(pinned, sizeof(pinned), "%.2f",
				 b->best[0] / 1e6);
		printf("%-42s %9s %9.2f %9s %8s\n", b->name, pinned,
		       b->best[1] / 1e6, crb, ratio);
	}
	printf("target: >= 2x crb 0.0.28 (%.1f M transitions/s, %.1f M "
	       "self-messages/s)\n",
	       2 * CRB_TRANSITIONS / 1e6, 2 * CRB_MESSAGES / 1e6);
	return 0;
}
