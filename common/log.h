/* SPDX-License-Identifier: MIT */
/*
 * log.h - logging for the programs (agentd, agentctl, examples).
 * Libraries (libagent, proto) never call these.
 *
 * The shape is OpenBSD's log.c: log_warn appends strerror(errno) (or of an
 * explicit -errno with the _errno variants), log_warnx does not; fatal and
 * fatalx log and exit(1) and are only for start-up errors and broken
 * invariants. When stderr goes to journald (JOURNAL_STREAM matches), each
 * line starts with a <N> syslog priority so the journal keeps the level.
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdarg.h>

#include "macro.h"

enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/* Set the program name used as prefix and the maximal level printed. */
void log_init(const char *progname, int max_level);
void log_set_max_level(int max_level);
int log_get_max_level(void);

void log_msg(int level, const char *fmt, ...) _printf_(2, 3);
void log_vmsg(int level, const char *fmt, va_list ap) _printf_(2, 0);

void log_warn(const char *fmt, ...) _printf_(1, 2);
void log_warnx(const char *fmt, ...) _printf_(1, 2);
/* Like log_warn with an explicit error: err may be negative or positive. */
void log_warn_errno(int err, const char *fmt, ...) _printf_(2, 3);
void log_info(const char *fmt, ...) _printf_(1, 2);
void log_debug(const char *fmt, ...) _printf_(1, 2);
_noreturn_ void fatal(const char *fmt, ...) _printf_(1, 2);
_noreturn_ void fatalx(const char *fmt, ...) _printf_(1, 2);

#endif
