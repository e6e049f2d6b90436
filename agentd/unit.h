/* SPDX-License-Identifier: MIT */
/*
 * unit.h - agent and group unit files: parsing and validation.
 *
 * Pure: no processes, no sockets, no logging. A unit set is built from a
 * directory (or from strings in tests); every problem is recorded as a
 * "path:line: message" string in set->errors, and the set is only usable
 * when set->n_errors == 0 after unit_set_validate().
 */
#ifndef AGENTD_UNIT_H
#define AGENTD_UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "time-util.h"

#define UNIT_INSTANCES_MAX	4096
#define UNIT_DEFAULT_GROUP	"default"

enum unit_type {
	UNIT_TYPE_AGENT,  /* links libagent, ready on READY */
	UNIT_TYPE_NOTIFY, /* sd_notify READY=1 */
	UNIT_TYPE_EXEC,   /* ready once exec succeeded */
};

enum unit_restart {
	UNIT_RESTART_ON_FAILURE,
	UNIT_RESTART_ALWAYS,
	UNIT_RESTART_NO,
};

enum unit_strategy {
	UNIT_STRATEGY_ONE_FOR_ONE,
	UNIT_STRATEGY_ONE_FOR_ALL,
	UNIT_STRATEGY_REST_FOR_ONE,
};

struct unit_agent {
	char *name;      /* file name without ".agent" */
	char *path;      /* the file it came from */
	char *description;
	char *exec_start; /* raw value, for diffs */
	char **argv;      /* split ExecStart, NULL-terminated */
	char *working_directory;
	char *user;
	char **environment; /* "K=V", NULL-terminated (may be NULL) */
	size_t n_environment;
	enum unit_type type;
	char *group;        /* never NULL after parsing */
	char **after;       /* base names, NULL-terminated (may be NULL) */
	size_t n_after;
	unsigned after_line;
	unsigned group_line;
	enum unit_restart restart;
	usec_t restart_sec;
	usec_t restart_max_sec;
	usec_t restart_reset_sec;
	usec_t start_timeout;
	usec_t stop_timeout;
	usec_t watchdog; /* 0 = off */
	bool has_limit_nofile;
	uint64_t limit_nofile;
	unsigned instances;
};

struct unit_group {
	char *name;
	char *path; /* NULL for the implicit default group */
	char *description;
	int order;
	enum unit_strategy strategy;
	unsigned intensity;
	usec_t period;
	bool escalate;
};

struct unit_set {
	struct unit_agent **agents;
	size_t n_agents;
	struct unit_group **groups;
	size_t n_groups;
	char **errors; /* "path:line: message" */
	size_t n_errors;
};

struct unit_set *unit_set_new(void);
struct unit_set *unit_set_free(struct unit_set *s);
static inline void
unit_set_freep(struct unit_set **s)
{
	unit_set_free(*s);
}

/*
 * Parse one unit from text. path names it (its basename gives the name and,
 * by its suffix .agent/.group, the kind). Problems go to s->errors.
 * Returns 0, or -ENOMEM (the only fatal error).
 */
int unit_set_add_string(struct unit_set *s, const char *path,
			const char *text);
/* Same from a file on disk (an unreadable file is an error in the set). */
int unit_set_add_file(struct unit_set *s, const char *path);
/*
 * Cross-checks after all files are added: the default group exists, every
 * Group= names a group, After= names exist and start no later, no cycles.
 * Sorts groups by (order, name) and agents by name. Returns 0 or -ENOMEM.
 */
int unit_set_validate(struct unit_set *s);
/*
 * Read every *.agent and *.group in dir (sorted by name) and validate.
 * Returns -errno when dir cannot be read (set not created), -ENOMEM, else
 * 0 with *ret set; check (*ret)->n_errors.
 */
int unit_set_load_dir(const char *dir, struct unit_set **ret);

struct unit_agent *unit_set_find_agent(const struct unit_set *s,
				       const char *name);
struct unit_group *unit_set_find_group(const struct unit_set *s,
				       const char *name);

/* True if two agents would run the same way (for reload diffs). */
bool unit_agent_equal(const struct unit_agent *a, const struct unit_agent *b);

/*
 * Split a command line as systemd does: words separated by blanks; "..."
 * and '...' quote; backslash escapes \\ \" \' \n \t \s and a blank.
 * Returns 0 with *ret a NULL-terminated vector (free with strv_free), or
 * -EINVAL with *ret_err a static message.
 */
int unit_split_words(const char *s, char ***ret, const char **ret_err);
void strv_free(char **v);
size_t strv_length(char *const *v);

const char *unit_type_to_string(enum unit_type t);
const char *unit_restart_to_string(enum unit_restart r);
const char *unit_strategy_to_string(enum unit_strategy st);

#endif
