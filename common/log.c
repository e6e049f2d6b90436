/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

static const char *log_progname = "agentd";
static int log_max_level = LOG_LEVEL_INFO;
static int log_prefix_priority = -1;

/* stderr is a journal stream when JOURNAL_STREAM names its device:inode. */
static int
log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

void
log_init(const char *progname, int max_level)
{
	if (progname)
		log_progname = progname;
	log_max_level = max_level;
	log_prefix_priority = log_stderr_is_journal();
}

void
log_set_max_level(int max_level)
{
	log_max_level = max_level;
}

int
log_get_max_level(void)
{
	return log_max_level;
}

static void
log_emit(int level, int err, const char *fmt, va_list ap)
{
	char buf[4096];
	int n;

	if (level > log_max_level)
		return;
	if (log_prefix_priority < 0)
		log_prefix_priority = log_stderr_is_journal();
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		return;
	if (log_prefix_priority)
		fprintf(stderr, "<%d>", level);
	else
		fprintf(stderr, "%s: ", log_progname);
	if (err)
		fprintf(stderr, "%s: %s\n", buf, strerror(err));
	else
		fprintf(stderr, "%s\n", buf);
	fflush(stderr);
}

void
log_vmsg(int level, const char *fmt, va_list ap)
{
	log_emit(level, 0, fmt, ap);
}

void
log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(level, 0, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_WARNING, saved ? saved : EIO, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warn_errno(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_WARNING, err < 0 ? -err : err, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_WARNING, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_ERR, saved ? saved : EIO, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
