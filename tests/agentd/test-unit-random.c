/* SPDX-License-Identifier: MIT */
/*
 * test-unit-random.c - the unit parser on random and mutated input: it
 * never crashes, leaks (ASan run) or accepts a set with errors silently;
 * every error names its file. Deterministic seeds, bounded iterations.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

static const char *const seeds[] = {
	"[Agent]\nExecStart=/bin/sh -c 'echo a; echo \"b\"'\nType=notify\n"
	"Environment=A=1 \"B=2 3\"\nAfter=b\nRestart=always\nRestartSec=1min 30s\n"
	"WatchdogSec=2s\nInstances=3\nLimitNOFILE=1024\nUser=nobody\n",
	"[Agent]\nExecStart=true\nGroup=g\nWorkingDirectory=/tmp\n",
	"[Group]\nOrder=-3\nStrategy=rest_for_one\nIntensity=2\nPeriod=1min\nEscalate=yes\n",
	"; comment\n# comment\n\n[Agent]\nExecStart=\"/bin/x y\" \\\\ \\n\\t\n",
};

static const char alphabet[] = "[]=\n\\\"' ;#@-_.:/AgentExecStartGroupOrder0123456789msinfinity\t\r\x01\xff";

static uint64_t rng_state;

static uint32_t
rng(void)
{
	/* xorshift64*: deterministic across runs */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

static char *
mutate(const char *in)
{
	size_t len = strlen(in), cap = len * 2 + 64, n;
	char *s = malloc(cap + 1);
	unsigned edits = 1 + rng() % 8;

	assert_non_null(s);
	memcpy(s, in, len + 1);
	n = len;
	while (edits--) {
		size_t at = n ? rng() % (n + 1) : 0;
		char c = alphabet[rng() % (sizeof(alphabet) - 1)];

		switch (rng() % 3) {
		case 0: /* insert */
			if (n + 1 >= cap)
				break;
			memmove(s + at + 1, s + at, n - at + 1);
			s[at] = c;
			n++;
			break;
		case 1: /* delete */
			if (at < n) {
				memmove(s + at, s + at + 1, n - at);
				n--;
			}
			break;
		default: /* replace */
			if (at < n)
				s[at] = c;
			break;
		}
	}
	s[n] = '\0';
	return s;
}

static void
check_set(struct unit_set *s)
{
	for (size_t i = 0; i < s->n_errors; i++)
		assert_non_null(strstr(s->errors[i], "/u/"));
	/* a set without errors has every agent well-formed */
	if (s->n_errors == 0)
		for (size_t i = 0; i < s->n_agents; i++) {
			assert_non_null(s->agents[i]->argv);
			assert_non_null(s->agents[i]->argv[0]);
			assert_non_null(s->agents[i]->group);
			assert_true(s->agents[i]->instances >= 1);
		}
}

static void
test_mutations(void **state)
{
	static const char *const paths[] = { "/u/a.agent", "/u/b.agent", "/u/g.group" };

	rng_state = 0x9E3779B97F4A7C15ULL;
	for (int iter = 0; iter < 20000; iter++) {
		struct unit_set *s = unit_set_new();

		assert_non_null(s);
		for (size_t k = 0; k < 3; k++) {
			char *text = mutate(seeds[rng() % (sizeof(seeds) / sizeof(seeds[0]))]);

			assert_int_equal(unit_set_add_string(s, paths[k], text), 0);
			free(text);
		}
		assert_int_equal(unit_set_validate(s), 0);
		check_set(s);
		unit_set_free(s);
	}
}

static void
test_random_bytes(void **state)
{
	char buf[512];

	rng_state = 42;
	for (int iter = 0; iter < 5000; iter++) {
		struct unit_set *s = unit_set_new();
		size_t n = rng() % (sizeof(buf) - 1);

		for (size_t i = 0; i < n; i++)
			buf[i] = alphabet[rng() % (sizeof(alphabet) - 1)];
		buf[n] = '\0';
		assert_int_equal(unit_set_add_string(s, "/u/r.agent", buf), 0);
		assert_int_equal(unit_set_validate(s), 0);
		check_set(s);
		unit_set_free(s);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_random_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
