/* SPDX-License-Identifier: MIT */
/* test-time-util.c - parse_timespan (common/time-util.c): fractions. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "time-util.h"

static usec_t
parse_ok(const char *s)
{
	usec_t t = 0;

	assert_int_equal(parse_timespan(s, USEC_PER_SEC, &t), 0);
	return t;
}

static void
test_fraction(void **state)
{
	const usec_t day = 24 * USEC_PER_HOUR;

	assert_int_equal(parse_ok("1.5s"), 1500000);
	assert_int_equal(parse_ok("0.25ms"), 250);
	assert_int_equal(parse_ok("1.5"), 1500000);
	assert_int_equal(parse_ok("2.5h"), 9000ULL * USEC_PER_SEC);
	/* frac * unit used to overflow: 1.999999999d read as 1.146 days */
	assert_int_equal(parse_ok("1.999999999d"),
			 day + 999999999ULL * (day / 1000000000ULL) +
			 999999999ULL * (day % 1000000000ULL) / 1000000000ULL);
	assert_true(parse_ok("1.999999999d") > day * 199 / 100);
	assert_true(parse_ok("1.999999999d") < 2 * day);
	assert_int_equal(parse_ok("0.999999999day"), 86399999913ULL);
	assert_int_equal(parse_ok("1.999999999d"), 172799999913ULL);
	/* digits past the ninth are ignored */
	assert_int_equal(parse_ok("0.1234567891s"), 123456);
}

static void
test_range(void **state)
{
	usec_t t = 7;

	/* the largest whole count of days, then one more fraction */
	assert_int_equal(parse_timespan("213503982.3d", USEC_PER_SEC, &t), 0);
	assert_int_equal(parse_timespan("213503982.4d",
					USEC_PER_SEC, &t), -ERANGE);
	assert_int_equal(parse_timespan("213503983d", USEC_PER_SEC, &t),
			 -ERANGE);
	assert_int_equal(parse_timespan("99999999999999999999s", USEC_PER_SEC,
					&t), -ERANGE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fraction),
		cmocka_unit_test(test_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
