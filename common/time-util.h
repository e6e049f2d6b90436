/* SPDX-License-Identifier: MIT */
/*
 * time-util.h - usec_t time values on CLOCK_MONOTONIC, deadlines, and
 * systemd-style time spans ("100ms", "5s", "1min 30s").
 */
#ifndef COMMON_TIME_UTIL_H
#define COMMON_TIME_UTIL_H

#include <stdint.h>
#include <stddef.h>

typedef uint64_t usec_t;

#define USEC_INFINITY	((usec_t)UINT64_MAX)
#define USEC_PER_MSEC	((usec_t)1000ULL)
#define USEC_PER_SEC	((usec_t)1000000ULL)
#define USEC_PER_MINUTE	((usec_t)(60ULL * USEC_PER_SEC))
#define USEC_PER_HOUR	((usec_t)(60ULL * USEC_PER_MINUTE))
#define NSEC_PER_USEC	((uint64_t)1000ULL)

/* Now on CLOCK_MONOTONIC, in microseconds. */
usec_t now_usec(void);
/* Now on CLOCK_REALTIME, in microseconds. */
usec_t now_realtime_usec(void);

/* a + b, saturating at USEC_INFINITY. */
usec_t usec_add(usec_t a, usec_t b);
/* Microseconds left until deadline (0 if passed, USEC_INFINITY if none). */
usec_t usec_until(usec_t deadline);
/* Milliseconds for poll(): -1 for infinity, rounded up. */
int usec_to_poll_ms(usec_t timeout);

/*
 * Parse a time span as systemd does: a number with an optional unit
 * (us, ms, s, sec, m, min, h, hr, d), several terms summed ("1min 30s"),
 * a bare number meaning default_unit microseconds each. "infinity" gives
 * USEC_INFINITY. Returns 0 or -EINVAL / -ERANGE; *ret is only written on
 * success.
 */
int parse_timespan(const char *s, usec_t default_unit, usec_t *ret);

/* Format a span into buf ("1.500s", "250ms", "infinity"); returns buf. */
char *format_timespan(char *buf, size_t len, usec_t t);

#endif
