/* SPDX-License-Identifier: MIT */
/* test-args.c - agentctl's option parsing and verb lookup. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agentctl.h"
#include "config.h"

/* Parse a NULL-terminated list; argv strings are copied (getopt permutes). */
static int
parse(bool *help, bool *version, char **argv_out, ...)
{
	va_list ap;
	int argc = 0;
	const char *s;

	agentctl_reset_args();
	argv_out[argc++] = (char *)(uintptr_t)"agentctl";
	va_start(ap, argv_out);
	while ((s = va_arg(ap, const char *)))
		argv_out[argc++] = (char *)(uintptr_t)s;
	va_end(ap);
	argv_out[argc] = NULL;
	return agentctl_parse_args(argc, argv_out, help, version);
}

static int
setup(void **state)
{
	unsetenv("AGENTD_RUNTIME_DIR");
	return 0;
}

static void
test_globals(void **state)
{
	char *argv[16];
	bool help, version;
	int v;

	v = parse(&help, &version, argv, "--runtime-dir", "/x", "--json",
		  "--timeout", "250ms", "status", "a", NULL);
	assert_int_equal(v, 6);
	assert_string_equal(argv[v], "status");
	assert_string_equal(arg_runtime_dir, "/x");
	assert_true(arg_json);
	assert_int_equal(arg_timeout, 250 * USEC_PER_MSEC);
	assert_false(help);
	assert_false(version);

	/* Default timeout unit is seconds; options after the verb. */
	v = parse(&help, &version, argv, "stop", "--timeout", "3", "a",
		  "--group", "g", NULL);
	assert_true(v > 0);
	assert_string_equal(argv[v], "stop");
	assert_string_equal(argv[v + 1], "a");
	assert_int_equal(arg_timeout, 3 * USEC_PER_SEC);
	assert_string_equal(arg_group, "g");
	assert_string_equal(arg_runtime_dir, AGENTD_DEFAULT_RUNTIME_DIR);
}

static void
test_env_runtime_dir(void **state)
{
	char *argv[16];
	bool help, version;

	setenv("AGENTD_RUNTIME_DIR", "/from/env", 1);
	parse(&help, &version, argv, "status", NULL);
	assert_string_equal(arg_runtime_dir, "/from/env");
	parse(&help, &version, argv, "--runtime-dir", "/opt", "status", NULL);
	assert_string_equal(arg_runtime_dir, "/opt");
	unsetenv("AGENTD_RUNTIME_DIR");
}

static void
test_signal(void **state)
{
	char *argv[16];
	bool help, version;

	assert_true(parse(&help, &version, argv, "kill", "-s", "KILL", "a",
			  NULL) > 0);
	assert_int_equal(arg_signal, SIGKILL);
	assert_true(parse(&help, &version, argv, "kill", "-s", "sighup", "a",
			  NULL) > 0);
	assert_int_equal(arg_signal, SIGHUP);
	assert_true(parse(&help, &version, argv, "kill", "--signal=9", "a",
			  NULL) > 0);
	assert_int_equal(arg_signal, 9);
	assert_true(parse(&help, &version, argv, "kill", "a", NULL) > 0);
	assert_int_equal(arg_signal, SIGTERM);
	assert_int_equal(parse(&help, &version, argv, "kill", "-s", "NOPE",
			       "a", NULL), -1);
	assert_int_equal(parse(&help, &version, argv, "kill", "-s", "0", "a",
			       NULL), -1);
	assert_int_equal(parse(&help, &version, argv, "kill", "-s", "99", "a",
			       NULL), -1);
}

static void
test_errors(void **state)
{
	char *argv[16];
	bool help, version;

	assert_int_equal(parse(&help, &version, argv, "--bogus", "status",
			       NULL), -1);
	assert_int_equal(parse(&help, &version, argv, "--timeout", "x",
			       "status", NULL), -1);
	assert_int_equal(parse(&help, &version, argv, "--timeout", "0",
			       "status", NULL), -1);
	assert_int_equal(parse(&help, &version, argv, "status", "--timeout",
			       NULL), -1);
	assert_int_equal(parse(&help, &version, argv, "logs", "-n", "-3", "a",
			       NULL), -1);
	/* no verb */
	assert_int_equal(parse(&help, &version, argv, "--json", NULL), 0);
	assert_int_equal(parse(&help, &version, argv, "-h", NULL), 0);
	assert_true(help);
	assert_int_equal(parse(&help, &version, argv, "--version", NULL), 0);
	assert_true(version);
}

static void
test_dashdash(void **state)
{
	char *argv[16];
	bool help, version;
	int v;

	v = parse(&help, &version, argv, "send", "a", "k", "--", "-1", NULL);
	assert_true(v > 0);
	assert_string_equal(argv[v], "send");
	assert_string_equal(argv[v + 1], "a");
	assert_string_equal(argv[v + 2], "k");
	assert_string_equal(argv[v + 3], "-1");
}

static void
test_find_cmd(void **state)
{
	bool amb;
	const struct agentctl_cmd *c;

	c = agentctl_find_cmd("status", &amb);
	assert_non_null(c);
	assert_string_equal(c->name, "status");
	c = agentctl_find_cmd("list", &amb);
	assert_non_null(c);
	assert_string_equal(c->name, "status");
	c = agentctl_find_cmd("sto", &amb);
	assert_non_null(c);
	assert_string_equal(c->name, "stop");
	c = agentctl_find_cmd("res", &amb); /* restart, reset-failed */
	assert_null(c);
	assert_true(amb);
	c = agentctl_find_cmd("reset", &amb);
	assert_non_null(c);
	assert_string_equal(c->name, "reset-failed");
	c = agentctl_find_cmd("nope", &amb);
	assert_null(c);
	assert_false(amb);
	c = agentctl_find_cmd("", &amb);
	assert_null(c);
}

static void
test_table_sane(void **state)
{
	size_t i, j;

	for (i = 0; cmd_table[i]; i++) {
		const struct agentctl_cmd *c = cmd_table[i];

		assert_non_null(c->name);
		assert_non_null(c->usage);
		assert_non_null(c->help);
		assert_non_null(c->exec);
		/* usage starts with the verb's name */
		assert_int_equal(strncmp(c->usage, c->name, strlen(c->name)), 0);
		assert_true(c->max_args < 0 || c->max_args >= c->min_args);
		for (j = 0; j < i; j++)
			assert_string_not_equal(c->name, cmd_table[j]->name);
	}
	assert_true(i >= 15);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_globals, setup),
		cmocka_unit_test_setup(test_env_runtime_dir, setup),
		cmocka_unit_test_setup(test_signal, setup),
		cmocka_unit_test_setup(test_errors, setup),
		cmocka_unit_test_setup(test_dashdash, setup),
		cmocka_unit_test(test_find_cmd),
		cmocka_unit_test(test_table_sane),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
