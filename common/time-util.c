/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "time-util.h"

static usec_t
clock_usec(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (usec_t)ts.tv_sec * USEC_PER_SEC +
	       (usec_t)ts.tv_nsec / NSEC_PER_USEC;
}

usec_t
now_usec(void)
{
	return clock_usec(CLOCK_MONOTONIC);
}

usec_t
now_realtime_usec(void)
{
	return clock_usec(CLOCK_REALTIME);
}

usec_t
usec_add(usec_t a, usec_t b)
{
	if (a == USEC_INFINITY || b == USEC_INFINITY || a > USEC_INFINITY - b)
		return USEC_INFINITY;
	return a + b;
}

usec_t
usec_until(usec_t deadline)
{
	usec_t n;

	if (deadline == USEC_INFINITY)
		return USEC_INFINITY;
	n = now_usec();
	return deadline > n ? deadline - n : 0;
}

int
usec_to_poll_ms(usec_t timeout)
{
	usec_t ms;

	if (timeout == USEC_INFINITY)
		return -1;
	ms = (timeout + USEC_PER_MSEC - 1) / USEC_PER_MSEC;
	return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

static const struct {
	const char *suffix;
	usec_t usec;
} time_units[] = {
	/* longest suffixes first so "ms" is not read as "m" + "s" */
	{ "usec", 1 },
	{ "msec", USEC_PER_MSEC },
	{ "seconds", USEC_PER_SEC },
	{ "second", USEC_PER_SEC },
	{ "sec", USEC_PER_SEC },
	{ "minutes", USEC_PER_MINUTE },
	{ "minute", USEC_PER_MINUTE },
	{ "min", USEC_PER_MINUTE },
	{ "hours", USEC_PER_HOUR },
	{ "hour", USEC_PER_HOUR },
	{ "hr", USEC_PER_HOUR },
	{ "days", 24 * USEC_PER_HOUR },
	{ "day", 24 * USEC_PER_HOUR },
	{ "us", 1 },
	{ "ms", USEC_PER_MSEC },
	{ "s", USEC_PER_SEC },
	{ "m", USEC_PER_MINUTE },
	{ "h", USEC_PER_HOUR },
	{ "d", 24 * USEC_PER_HOUR },
};

int
parse_timespan(const char *s, usec_t default_unit, usec_t *ret)
{
	usec_t total = 0;
	int terms = 0;

	if (!s)
		return -EINVAL;
	while (isspace((unsigned char)*s))
		s++;
	if (strcmp(s, "infinity") == 0) {
		*ret = USEC_INFINITY;
		return 0;
	}
	while (*s) {
		unsigned long long whole = 0, frac = 0, fdiv = 1;
		usec_t unit = default_unit, v;
		const char *start = s;
		size_t i;

		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		while (isdigit((unsigned char)*s)) {
			if (whole > (UINT64_MAX - 9) / 10)
				return -ERANGE;
			whole = whole * 10 + (unsigned)(*s++ - '0');
		}
		if (*s == '.') {
			s++;
			if (!isdigit((unsigned char)*s))
				return -EINVAL;
			while (isdigit((unsigned char)*s)) {
				if (fdiv < 1000000000ULL) {
					frac = frac * 10 + (unsigned)(*s - '0');
					fdiv *= 10;
				}
				s++;
			}
		}
		while (*s == ' ')
			s++;
		if (isalpha((unsigned char)*s)) {
			for (i = 0; i < sizeof(time_units) / sizeof(time_units[0]); i++) {
				size_t l = strlen(time_units[i].suffix);

				if (strncmp(s, time_units[i].suffix, l) == 0 &&
				    !isalpha((unsigned char)s[l])) {
					unit = time_units[i].usec;
					s += l;
					break;
				}
			}
			if (i == sizeof(time_units) / sizeof(time_units[0]))
				return -EINVAL;
		}
		(void)start;
		if (unit && whole > (USEC_INFINITY - 1) / unit)
			return -ERANGE;
		/* frac * unit / fdiv without overflow (frac < fdiv <= 1e9, a
		 * unit is up to a year: frac * unit does not fit 64 bits):
		 * both products below are < 2^64 */
		v = (usec_t)(frac * (unit / fdiv) +
			     frac * (unit % fdiv) / fdiv);
		if (whole * unit > USEC_INFINITY - 1 - v)
			return -ERANGE;
		v += whole * unit;
		if (total > USEC_INFINITY - 1 - v)
			return -ERANGE;
		total += v;
		terms++;
		while (isspace((unsigned char)*s))
			s++;
	}
	if (terms == 0)
		return -EINVAL;
	*ret = total;
	return 0;
}

char *
format_timespan(char *buf, size_t len, usec_t t)
{
	if (t == USEC_INFINITY)
		snprintf(buf, len, "infinity");
	else if (t >= USEC_PER_SEC)
		snprintf(buf, len, "%llu.%03llus",
			 (unsigned long long)(t / USEC_PER_SEC),
			 (unsigned long long)(t % USEC_PER_SEC / USEC_PER_MSEC));
	else if (t >= USEC_PER_MSEC)
		snprintf(buf, len, "%llums", (unsigned long long)(t / USEC_PER_MSEC));
	else
		snprintf(buf, len, "%lluus", (unsigned long long)t);
	return buf;
}
