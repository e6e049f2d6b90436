/* SPDX-License-Identifier: MIT */
/* test-unit.c - unit file parsing and validation (agentd/unit.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit.h"

/* Build a set from NAME, TEXT pairs (NULL-terminated) and validate it. */
static struct unit_set *
load(const char *first, ...)
{
	struct unit_set *s = unit_set_new();
	const char *path, *text;
	va_list ap;

	assert_non_null(s);
	va_start(ap, first);
	for (path = first; path; path = va_arg(ap, const char *)) {
		text = va_arg(ap, const char *);
		assert_int_equal(unit_set_add_string(s, path, text), 0);
	}
	va_end(ap);
	assert_int_equal(unit_set_validate(s), 0);
	return s;
}

static bool
has_error(const struct unit_set *s, const char *needle)
{
	for (size_t i = 0; i < s->n_errors; i++)
		if (strstr(s->errors[i], needle))
			return true;
	return false;
}

static void
dump_errors(const struct unit_set *s)
{
	for (size_t i = 0; i < s->n_errors; i++)
		/* cmocka prints at most ~1 KiB per call and drops the
		 * newline past it, which breaks the TAP stream */
		print_message("# error: %.300s\n", s->errors[i]);
}

#define assert_error(s, needle)                                         \
	do {                                                            \
		if (!has_error(s, needle)) {                            \
			dump_errors(s);                                 \
			fail_msg("no error containing '%s'", needle);   \
		}                                                       \
	} while (0)

static void
test_defaults(void **state)
{
	struct unit_set *s = load("/u/a.agent", "[Agent]\nExecStart=/bin/true\n",
				  NULL);
	struct unit_agent *a;
	struct unit_group *g;

	dump_errors(s);
	assert_int_equal(s->n_errors, 0);
	a = unit_set_find_agent(s, "a");
	assert_non_null(a);
	assert_string_equal(a->argv[0], "/bin/true");
	assert_null(a->argv[1]);
	assert_int_equal(a->type, UNIT_TYPE_AGENT);
	assert_string_equal(a->group, "default");
	assert_int_equal(a->restart, UNIT_RESTART_ON_FAILURE);
	assert_int_equal(a->restart_sec, 100 * USEC_PER_MSEC);
	assert_int_equal(a->restart_max_sec, 30 * USEC_PER_SEC);
	assert_int_equal(a->restart_reset_sec, 10 * USEC_PER_SEC);
	assert_int_equal(a->start_timeout, 10 * USEC_PER_SEC);
	assert_int_equal(a->stop_timeout, 5 * USEC_PER_SEC);
	assert_int_equal(a->watchdog, 0);
	assert_int_equal(a->instances, 1);
	assert_false(a->has_limit_nofile);
	g = unit_set_find_group(s, "default");
	assert_non_null(g);
	assert_int_equal(g->order, 0);
	assert_int_equal(g->strategy, UNIT_STRATEGY_ONE_FOR_ONE);
	assert_int_equal(g->intensity, 5);
	assert_int_equal(g->period, 10 * USEC_PER_SEC);
	assert_false(g->escalate);
	unit_set_free(s);
}

static void
test_all_keys(void **state)
{
	struct unit_set *s = load(
		"/u/w.agent",
		"# comment\n"
		"; another\n"
		"[Agent]\n"
		"Description=a worker\n"
		"ExecStart=/bin/sh -c 'echo a; echo \"b c\"' x\\ y\n"
		"WorkingDirectory=/tmp\n"
		"Environment=A=1 \"B=2 3\"\n"
		"Environment=C=4\n"
		"Environment=A=5\n"
		"User=nobody\n"
		"LimitNOFILE=1024\n"
		"Type=notify\n"
		"Group=g1\n"
		"After=base\n"
		"Restart=always\n"
		"RestartSec=250ms\n"
		"RestartMaxSec=1min 30s\n"
		"RestartResetSec=2s\n"
		"StartTimeoutSec=3\n"
		"StopTimeoutSec=500ms\n"
		"WatchdogSec=2s\n"
		"Instances=3\n",
		"/u/base.agent", "[Agent]\nExecStart=true\nType=exec\nGroup=g1\n",
		"/u/g1.group",
		"[Group]\nOrder=-2\nStrategy=rest_for_one\nIntensity=0\n"
		"Period=1min\nEscalate=yes\nDescription=first\n",
		NULL);
	struct unit_agent *a;
	struct unit_group *g;

	dump_errors(s);
	assert_int_equal(s->n_errors, 0);
	a = unit_set_find_agent(s, "w");
	assert_non_null(a);
	assert_string_equal(a->description, "a worker");
	assert_string_equal(a->argv[0], "/bin/sh");
	assert_string_equal(a->argv[1], "-c");
	assert_string_equal(a->argv[2], "echo a; echo \"b c\"");
	assert_string_equal(a->argv[3], "x y");
	assert_null(a->argv[4]);
	assert_string_equal(a->working_directory, "/tmp");
	assert_int_equal(a->n_environment, 3);
	assert_string_equal(a->environment[0], "B=2 3");
	assert_string_equal(a->environment[1], "C=4");
	assert_string_equal(a->environment[2], "A=5");
	assert_string_equal(a->user, "nobody");
	assert_true(a->has_limit_nofile);
	assert_int_equal(a->limit_nofile, 1024);
	assert_int_equal(a->type, UNIT_TYPE_NOTIFY);
	assert_string_equal(a->group, "g1");
	assert_int_equal(a->n_after, 1);
	assert_string_equal(a->after[0], "base");
	assert_int_equal(a->restart, UNIT_RESTART_ALWAYS);
	assert_int_equal(a->restart_sec, 250 * USEC_PER_MSEC);
	assert_int_equal(a->restart_max_sec, 90 * USEC_PER_SEC);
	assert_int_equal(a->restart_reset_sec, 2 * USEC_PER_SEC);
	assert_int_equal(a->start_timeout, 3 * USEC_PER_SEC);
	assert_int_equal(a->stop_timeout, 500 * USEC_PER_MSEC);
	assert_int_equal(a->watchdog, 2 * USEC_PER_SEC);
	assert_int_equal(a->instances, 3);
	a = unit_set_find_agent(s, "base");
	assert_string_equal(a->argv[0], "true");
	assert_int_equal(a->type, UNIT_TYPE_EXEC);
	g = unit_set_find_group(s, "g1");
	assert_non_null(g);
	assert_int_equal(g->order, -2);
	assert_int_equal(g->strategy, UNIT_STRATEGY_REST_FOR_ONE);
	assert_int_equal(g->intensity, 0);
	assert_int_equal(g->period, 60 * USEC_PER_SEC);
	assert_true(g->escalate);
	/* groups sorted by order: g1 (-2) before default (0) */
	assert_string_equal(s->groups[0]->name, "g1");
	assert_string_equal(s->groups[1]->name, "default");
	unit_set_free(s);
}

static void
test_long_line(void **state)
{
	size_t n = 5000;
	char *text = malloc(n + 64);
	struct unit_set *s;
	struct unit_agent *a;

	assert_non_null(text);
	strcpy(text, "[Agent]\nExecStart=/bin/echo ");
	memset(text + strlen(text), 'x', n);
	strcpy(text + strlen("[Agent]\nExecStart=/bin/echo ") + n, "\nType=exec\n");
	s = load("/u/long.agent", text, NULL);
	dump_errors(s);
	assert_int_equal(s->n_errors, 0);
	a = unit_set_find_agent(s, "long");
	assert_int_equal(strlen(a->argv[1]), n);
	assert_int_equal(a->type, UNIT_TYPE_EXEC);
	free(text);
	unit_set_free(s);
}

struct bad_case {
	const char *path;
	const char *text;
	const char *want; /* substring of the error, with path:line */
};

static const struct bad_case bad_cases[] = {
	{ "/u/a.agent", "[Agent]\nExecStart=/bin/true\nFoo=1\n",
	  "/u/a.agent:3: unknown key Foo in [Agent]" },
	{ "/u/a.agent", "[Agent]\n", "/u/a.agent: missing ExecStart=" },
	{ "/u/a.agent", "[Agent]\nExecStart=\n", "/u/a.agent:2: ExecStart= is empty" },
	{ "/u/a.agent", "[Agent]\nExecStart=/bin/sh -c 'oops\n",
	  "/u/a.agent:2: ExecStart=: unterminated quote" },
	{ "/u/a.agent", "[Agent]\nExecStart=-/bin/true\n",
	  "/u/a.agent:2: ExecStart=: prefix '-' is not supported" },
	{ "/u/a.agent", "[Agent]\nExecStart=./x\n",
	  "/u/a.agent:2: ExecStart=: the program must be an absolute path" },
	{ "/u/a.agent", "[Agent]\nExecStart=/bin/true\nType=forking\n",
	  "/u/a.agent:3: Type=forking" },
	{ "/u/a.agent", "[Agent]\nExecStart=/bin/true\nRestart=sometimes\n",
	  "/u/a.agent:3: Restart=sometimes" },
	{ "/u/a.agent", "[Agent]\nExecStart=/bin/true\n\nRestartSec=soon\n",
	  "/u/a.agent:4: RestartSec=soon: not a time span" },
	{ "/u/a.agent", "[Agent]\nExecStart=/bin/true\nStopTimeoutSec=5parsecs\n",
	  "/u/a.agent:3: StopTimeoutSec=5parsecs" },
	{ "/u/a.agent", "[Agent]\nExecStart=/bin/true\nInstances=0\n",
	  "/u/a.agent:3: Instances=0" },
	{ "/u/a.agent", "[Agent]\nExecStart=/bin/true\nInstances=x\n",
	  "/u/a.agent:3: Instances=x" },
	{ "/u/a.agent", "[Agent]\nExecStart=/bin/true\nLimitNOFILE=-1\n",
	  "/u/a.agent:3: LimitNOFILE=-1" },
	{ "/u/a.agent", "[Agent]\nExecStart=/bin/true\nEnvironment=1X=2\n",
	  "/u/a.agent:3: Environment=: '1X=2' is not NAME=VALUE" },
	{ "/u/a.agent", "[Agent]\nExecStart=/bin/true\nWorkingDirectory=tmp\n",
	  "/u/a.agent:3: WorkingDirectory=tmp" },
	{ "/u/a.agent", "[Agent]\nExecStart=/bin/true\nAfter=nope\n",
	  "/u/a.agent:3: After=nope: no such agent" },
	{ "/u/a.agent", "[Agent]\nExecStart=/bin/true\nAfter=a\n",
	  "/u/a.agent:3: After=: an agent cannot come after itself" },
	{ "/u/a.agent", "[Agent]\nExecStart=/bin/true\nAfter=b@1\n",
	  "/u/a.agent:3: After=: 'b@1' is not a valid agent name" },
	{ "/u/a.agent", "[Agent]\nExecStart=/bin/true\nGroup=nogroup\n",
	  "/u/a.agent:3: Group=nogroup: no such group" },
	{ "/u/a.agent", "[Service]\nExecStart=/bin/true\n",
	  "/u/a.agent:2: unknown section [Service]" },
	{ "/u/a.agent", "ExecStart=/bin/true\n",
	  "/u/a.agent:1: ExecStart= outside of a section" },
	{ "/u/a.agent", "[Agent]\nExecStart=/bin/true\nthis is not a key\n",
	  "/u/a.agent:3: syntax error" },
	{ "/u/bad@name.agent", "[Agent]\nExecStart=/bin/true\n",
	  "/u/bad@name.agent: 'bad@name' is not a valid name" },
	{ "/u/-x.agent", "[Agent]\nExecStart=/bin/true\n",
	  "is not a valid name" },
	{ "/u/a.service", "[Agent]\nExecStart=/bin/true\n",
	  "not a .agent or .group file" },
	{ "/u/g.group", "[Group]\nOrder=first\n", "/u/g.group:2: Order=first" },
	{ "/u/g.group", "[Group]\nStrategy=all_for_one\n",
	  "/u/g.group:2: Strategy=all_for_one" },
	{ "/u/g.group", "[Group]\nIntensity=-1\n", "/u/g.group:2: Intensity=-1" },
	{ "/u/g.group", "[Group]\nIntensity=1000001\n",
	  "/u/g.group:2: Intensity=1000001: expected a number from 0 to 1000000" },
	{ "/u/g.group", "[Group]\nPeriod=0\n", "/u/g.group:2: Period=0" },
	{ "/u/g.group", "[Group]\nEscalate=maybe\n", "/u/g.group:2: Escalate=maybe" },
	{ "/u/g.group", "[Group]\nExecStart=/bin/true\n",
	  "/u/g.group:2: unknown key ExecStart in [Group]" },
	{ "/u/a.agent", "[Agent]\nExecStart=/bin/true\nRestartSec=10s\nRestartMaxSec=1s\n",
	  "RestartMaxSec= is smaller than RestartSec=" },
};

static void
test_bad_forms(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct unit_set *s = unit_set_new();

		assert_non_null(s);
		assert_int_equal(unit_set_add_string(s, c->path, c->text), 0);
		assert_int_equal(unit_set_validate(s), 0);
		if (!has_error(s, c->want)) {
			dump_errors(s);
			fail_msg("case %zu: no error containing '%s'", i, c->want);
		}
		unit_set_free(s);
	}
}

static void
test_several_errors_reported(void **state)
{
	struct unit_set *s = load("/u/a.agent",
				  "[Agent]\nFoo=1\nType=x\nExecStart=/bin/true\nBar=2\n",
				  NULL);

	assert_int_equal(s->n_errors, 3);
	assert_error(s, "/u/a.agent:2: unknown key Foo");
	assert_error(s, "/u/a.agent:3: Type=x");
	assert_error(s, "/u/a.agent:5: unknown key Bar");
	unit_set_free(s);
}

static void
test_cycle(void **state)
{
	struct unit_set *s = load(
		"/u/a.agent", "[Agent]\nExecStart=/bin/true\nAfter=c\n",
		"/u/b.agent", "[Agent]\nExecStart=/bin/true\nAfter=a\n",
		"/u/c.agent", "[Agent]\nExecStart=/bin/true\n\nAfter=b\n",
		"/u/d.agent", "[Agent]\nExecStart=/bin/true\nAfter=a\n",
		NULL);

	assert_error(s, "dependency cycle: ");
	assert_error(s, "a -> c -> b -> a");
	assert_int_equal(s->n_errors, 1);
	unit_set_free(s);
}

/* A 20,000-agent After= chain: the cycle check must not recurse per agent
 * (it used to overflow the stack: SIGSEGV in --check and on reload). */
#define DEEP_CHAIN 20000

static struct unit_set *
deep_chain(bool close_cycle)
{
	struct unit_set *s = unit_set_new();

	assert_non_null(s);
	for (int i = 0; i < DEEP_CHAIN; i++) {
		char path[64], text[128];

		snprintf(path, sizeof(path), "/u/a%05d.agent", i);
		if (i > 0)
			snprintf(text, sizeof(text),
				 "[Agent]\nExecStart=/bin/true\nAfter=a%05d\n",
				 i - 1);
		else if (close_cycle)
			snprintf(text, sizeof(text),
				 "[Agent]\nExecStart=/bin/true\nAfter=a%05d\n",
				 DEEP_CHAIN - 1);
		else
			snprintf(text, sizeof(text),
				 "[Agent]\nExecStart=/bin/true\n");
		assert_int_equal(unit_set_add_string(s, path, text), 0);
	}
	assert_int_equal(unit_set_validate(s), 0);
	return s;
}

static void
test_deep_chain(void **state)
{
	/* one set (loading 20,000 units is quadratic: duplicate check):
	 * the closed chain is walked 20,000 deep and yields exactly one
	 * error, so no false cycle either */
	struct unit_set *s = deep_chain(true);

	dump_errors(s);
	assert_int_equal(s->n_errors, 1);
	assert_error(s, "dependency cycle: a00000 -> a19999 -> a19998");
	unit_set_free(s);
}

static void
test_after_later_group(void **state)
{
	struct unit_set *s = load(
		"/u/a.agent", "[Agent]\nExecStart=/bin/true\nAfter=b\n",
		"/u/b.agent", "[Agent]\nExecStart=/bin/true\nGroup=late\n",
		"/u/late.group", "[Group]\nOrder=10\n",
		NULL);

	assert_error(s, "/u/a.agent:3: After=b: b is in group late, which starts after group default");
	unit_set_free(s);
	/* the other way round is fine */
	s = load("/u/a.agent", "[Agent]\nExecStart=/bin/true\nAfter=b\nGroup=late\n",
		 "/u/b.agent", "[Agent]\nExecStart=/bin/true\n",
		 "/u/late.group", "[Group]\nOrder=10\n", NULL);
	dump_errors(s);
	assert_int_equal(s->n_errors, 0);
	unit_set_free(s);
}

static void
test_duplicate(void **state)
{
	struct unit_set *s = load(
		"/u/a.agent", "[Agent]\nExecStart=/bin/true\n",
		"/v/a.agent", "[Agent]\nExecStart=/bin/true\n", NULL);

	assert_error(s, "/v/a.agent: agent a defined twice");
	unit_set_free(s);
}

static void
test_split_words(void **state)
{
	static const struct {
		const char *in;
		const char *out[5];
		bool bad;
	} cases[] = {
		{ "a b  c", { "a", "b", "c" }, false },
		{ "  'a b' \"c d\"", { "a b", "c d" }, false },
		{ "a\\ b\\tc", { "a b\tc" }, false },
		{ "\"a\\\"b\"", { "a\"b" }, false },
		{ "''", { "" }, false },
		{ "", { NULL }, false },
		{ "'a'b", { NULL }, true },
		{ "a\\", { NULL }, true },
		{ "a\\q", { NULL }, true },
		{ "\"abc", { NULL }, true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *err = NULL;
		char **v = NULL;
		int r = unit_split_words(cases[i].in, &v, &err);
		size_t k;

		if (cases[i].bad) {
			assert_int_equal(r, -EINVAL);
			assert_non_null(err);
			continue;
		}
		assert_int_equal(r, 0);
		for (k = 0; cases[i].out[k]; k++) {
			assert_non_null(v[k]);
			assert_string_equal(v[k], cases[i].out[k]);
		}
		assert_null(v[k]);
		strv_free(v);
	}
}

static void
test_equal(void **state)
{
	struct unit_set *s1 = load("/u/a.agent", "[Agent]\nExecStart=/bin/true x\n", NULL);
	struct unit_set *s2 = load("/u/a.agent", "[Agent]\nExecStart=/bin/true  x\n", NULL);
	struct unit_set *s3 = load("/u/a.agent", "[Agent]\nExecStart=/bin/true y\n", NULL);
	struct unit_set *s4 = load("/u/a.agent", "[Agent]\nExecStart=/bin/true x\nRestartSec=1s\n", NULL);

	assert_true(unit_agent_equal(s1->agents[0], s2->agents[0]));
	assert_false(unit_agent_equal(s1->agents[0], s3->agents[0]));
	assert_false(unit_agent_equal(s1->agents[0], s4->agents[0]));
	unit_set_free(s1);
	unit_set_free(s2);
	unit_set_free(s3);
	unit_set_free(s4);
}

static void
test_load_dir(void **state)
{
	char dir[] = "/tmp/tu.XXXXXX";
	char path[256];
	struct unit_set *s = NULL;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.agent", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[Agent]\nExecStart=/bin/true\nGroup=g\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/g.group", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[Group]\nOrder=3\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/README", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("ignored\n", f);
	fclose(f);

	assert_int_equal(unit_set_load_dir(dir, &s), 0);
	dump_errors(s);
	assert_int_equal(s->n_errors, 0);
	assert_int_equal(s->n_agents, 1);
	assert_int_equal(s->n_groups, 2);
	assert_int_equal(unit_set_find_group(s, "g")->order, 3);
	unit_set_free(s);

	snprintf(path, sizeof(path), "%s/x.agent", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/g.group", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/README", dir);
	unlink(path);
	rmdir(dir);
	assert_int_equal(unit_set_load_dir(dir, &s), -ENOENT);
}

/* A FIFO (or a directory) named *.agent is refused with a message; opening
 * the FIFO used to block agentd forever (load and reload). */
static void
test_load_fifo(void **state)
{
	char dir[] = "/tmp/tu.XXXXXX";
	char fifo[256], sub[256];
	struct unit_set *s = NULL;

	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/f.agent", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	snprintf(sub, sizeof(sub), "%s/d.agent", dir);
	assert_int_equal(mkdir(sub, 0700), 0);

	assert_int_equal(unit_set_load_dir(dir, &s), 0);
	assert_error(s, "/f.agent: not a regular file");
	assert_error(s, "/d.agent: not a regular file");
	assert_int_equal(s->n_agents, 0);
	unit_set_free(s);

	unlink(fifo);
	rmdir(sub);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_bad_forms),
		cmocka_unit_test(test_several_errors_reported),
		cmocka_unit_test(test_cycle),
		cmocka_unit_test(test_after_later_group),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_split_words),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_load_dir),
		cmocka_unit_test(test_deep_chain),
		cmocka_unit_test(test_load_fifo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
