/* SPDX-License-Identifier: MIT */
/* test-output.c - agentctl's table, JSON and tree output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agentctl.h"

static const struct proto_status_record recs[] = {
	{ .name = "web", .group = "front", .state = "running", .pid = 1234,
	  .restarts = 0, .uptime_ms = 65000, .last_exit = "" },
	{ .name = "worker@10", .group = "back", .state = "failed", .pid = 0,
	  .restarts = 12, .uptime_ms = 0, .last_exit = "exited 1" },
	{ .name = "db", .group = "front", .state = "inactive", .pid = 0,
	  .restarts = 0, .uptime_ms = 0, .last_exit = "killed SIGTERM" },
};

typedef int (*render_fn)(FILE *f, const struct proto_status_record *r,
			 size_t n, bool color);

static char *
render(render_fn fn, size_t n, bool color)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fn(f, recs, n, color), 0);
	fclose(f);
	return buf;
}

static int
json_render(FILE *f, const struct proto_status_record *r, size_t n,
	    bool color)
{
	return output_status_json(f, r, n);
}

static void
test_table_plain(void **state)
{
	char *out = render(output_status_table, ELEMENTSOF(recs), false);

	assert_string_equal(out,
		"NAME       GROUP  STATE      PID  UPTIME  RESTARTS  LAST-EXIT\n"
		"web        front  running   1234  1m05s          0  -\n"
		"worker@10  back   failed       -  -             12  exited 1\n"
		"db         front  inactive     -  -              0  killed SIGTERM\n");
	/* Plain output never carries escape sequences. */
	assert_null(strchr(out, '\033'));
	free(out);
}

static void
test_table_empty(void **state)
{
	char *out = render(output_status_table, 0, false);

	assert_string_equal(out,
		"NAME  GROUP  STATE  PID  UPTIME  RESTARTS  LAST-EXIT\n");
	free(out);
}

static void
test_table_color(void **state)
{
	char *out = render(output_status_table, ELEMENTSOF(recs), true);

	assert_non_null(strstr(out, "\033[32mrunning\033[0m"));
	assert_non_null(strstr(out, "\033[31mfailed\033[0m"));
	free(out);
}

static void
test_json(void **state)
{
	char *out = render(json_render, ELEMENTSOF(recs), false);

	assert_string_equal(out,
		"[{\"name\":\"web\",\"group\":\"front\",\"state\":\"running\","
		"\"pid\":1234,\"restarts\":0,\"uptime_ms\":65000,\"last_exit\":null},"
		"{\"name\":\"worker@10\",\"group\":\"back\",\"state\":\"failed\","
		"\"pid\":null,\"restarts\":12,\"uptime_ms\":0,\"last_exit\":\"exited 1\"},"
		"{\"name\":\"db\",\"group\":\"front\",\"state\":\"inactive\","
		"\"pid\":null,\"restarts\":0,\"uptime_ms\":0,\"last_exit\":\"killed SIGTERM\"}]\n");
	free(out);
	out = render(json_render, 0, false);
	assert_string_equal(out, "[]\n");
	free(out);
}

static void
test_tree(void **state)
{
	char *out = render(output_status_tree, ELEMENTSOF(recs), false);

	assert_string_equal(out,
		"front\n"
		"|- web  running  pid 1234\n"
		"`- db  inactive\n"
		"back\n"
		"`- worker@10  failed\n");
	free(out);
}

static void
test_uptime(void **state)
{
	char buf[32];

	assert_string_equal(output_format_uptime(buf, sizeof(buf), 0), "0s");
	assert_string_equal(output_format_uptime(buf, sizeof(buf), 59999), "59s");
	assert_string_equal(output_format_uptime(buf, sizeof(buf), 60000), "1m00s");
	assert_string_equal(output_format_uptime(buf, sizeof(buf), 3600000), "1h00m");
	assert_string_equal(output_format_uptime(buf, sizeof(buf), 90061000), "1d01h");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_plain),
		cmocka_unit_test(test_table_empty),
		cmocka_unit_test(test_table_color),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_uptime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
