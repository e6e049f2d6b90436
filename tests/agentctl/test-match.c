/* SPDX-License-Identifier: MIT */
/* test-match.c - NAME|GLOB matching of agentctl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "agentctl.h"

static void
test_is_glob(void **state)
{
	assert_true(match_is_glob("work*"));
	assert_true(match_is_glob("w?rker"));
	assert_true(match_is_glob("worker@[12]"));
	assert_false(match_is_glob("worker@3"));
	assert_false(match_is_glob("a.b-c:d"));
}

static void
test_match_any(void **state)
{
	char *pats[] = { "work*", "db@[0-9]" };
	char *exact[] = { "web" };

	assert_true(match_any("anything", NULL, 0));
	assert_true(match_any("worker", pats, 2));
	assert_true(match_any("worker@12", pats, 2));
	assert_true(match_any("db@3", pats, 2));
	assert_false(match_any("db@12", pats, 2));
	assert_false(match_any("web", pats, 2));
	assert_true(match_any("web", exact, 1));
	assert_false(match_any("web2", exact, 1));
	assert_false(match_any("we", exact, 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_glob),
		cmocka_unit_test(test_match_any),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
