/* SPDX-License-Identifier: MIT */
/*
 * unit.c - parse and validate *.agent and *.group files with inih.
 *
 * inih (Debian's libinih 55) is built without line numbers in the handler,
 * so lines are counted by our own reader passed to ini_parse_stream. Its
 * runtime switches are set to systemd's rules: no inline comments (';' is
 * common inside ExecStart=), no indented continuation lines, and lines of
 * any length (heap buffer that grows).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "macro.h"
#include "proto.h"
#include "unit.h"

#define UNIT_INTENSITY_MAX 1000000

#define UNIT_LINE_MAX	(64 * 1024)

void
strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t
strv_length(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static int
strv_push(char ***v, size_t *n, char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));

	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

static bool
strv_equal(char *const *a, char *const *b)
{
	size_t na = strv_length(a), nb = strv_length(b);

	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static bool
streq_null(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

const char *
unit_type_to_string(enum unit_type t)
{
	switch (t) {
	case UNIT_TYPE_AGENT: return "agent";
	case UNIT_TYPE_NOTIFY: return "notify";
	case UNIT_TYPE_EXEC: return "exec";
	}
	return "?";
}

const char *
unit_restart_to_string(enum unit_restart r)
{
	switch (r) {
	case UNIT_RESTART_ON_FAILURE: return "on-failure";
	case UNIT_RESTART_ALWAYS: return "always";
	case UNIT_RESTART_NO: return "no";
	}
	return "?";
}

const char *
unit_strategy_to_string(enum unit_strategy st)
{
	switch (st) {
	case UNIT_STRATEGY_ONE_FOR_ONE: return "one_for_one";
	case UNIT_STRATEGY_ONE_FOR_ALL: return "one_for_all";
	case UNIT_STRATEGY_REST_FOR_ONE: return "rest_for_one";
	}
	return "?";
}

/* ---- word splitting ------------------------------------------------------ */

int
unit_split_words(const char *s, char ***ret, const char **ret_err)
{
	char **v = NULL;
	size_t n = 0;
	size_t len = strlen(s);
	char *w = NULL;

	*ret_err = NULL;
	for (;;) {
		size_t wl = 0;
		char quote = 0;
		bool have = false;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		free(w);
		w = malloc(len + 1);
		if (!w)
			goto oom;
		while (*s) {
			char c = *s;

			if (!quote && (c == ' ' || c == '\t'))
				break;
			if (!quote && (c == '"' || c == '\'')) {
				quote = c;
				have = true;
				s++;
				continue;
			}
			if (quote && c == quote) {
				quote = 0;
				s++;
				/* systemd: a closing quote ends the word */
				if (*s && *s != ' ' && *s != '\t') {
					*ret_err = "quote not followed by a blank";
					goto bad;
				}
				continue;
			}
			if (c == '\\') {
				s++;
				switch (*s) {
				case '\\': c = '\\'; break;
				case '"': c = '"'; break;
				case '\'': c = '\''; break;
				case 'n': c = '\n'; break;
				case 't': c = '\t'; break;
				case 's': c = ' '; break;
				case ' ': c = ' '; break;
				case '$': c = '$'; break;
				case '\0':
					*ret_err = "trailing backslash";
					goto bad;
				default:
					*ret_err = "unknown escape sequence";
					goto bad;
				}
			}
			w[wl++] = c;
			have = true;
			s++;
		}
		if (quote) {
			*ret_err = "unterminated quote";
			goto bad;
		}
		if (!have)
			continue;
		w[wl] = '\0';
		if (strv_push(&v, &n, w) < 0)
			goto oom;
		w = NULL;
	}
	free(w);
	if (!v) {
		v = calloc(1, sizeof(char *));
		if (!v)
			return -ENOMEM;
	}
	*ret = v;
	return 0;
oom:
	free(w);
	strv_free(v);
	return -ENOMEM;
bad:
	free(w);
	strv_free(v);
	return -EINVAL;
}

/* ---- sets ---------------------------------------------------------------- */

static struct unit_agent *
unit_agent_free(struct unit_agent *a)
{
	if (!a)
		return NULL;
	free(a->name);
	free(a->path);
	free(a->description);
	free(a->exec_start);
	strv_free(a->argv);
	free(a->working_directory);
	free(a->user);
	strv_free(a->environment);
	free(a->group);
	strv_free(a->after);
	free(a);
	return NULL;
}

static struct unit_group *
unit_group_free(struct unit_group *g)
{
	if (!g)
		return NULL;
	free(g->name);
	free(g->path);
	free(g->description);
	free(g);
	return NULL;
}

struct unit_set *
unit_set_new(void)
{
	return calloc(1, sizeof(struct unit_set));
}

struct unit_set *
unit_set_free(struct unit_set *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_agents; i++)
		unit_agent_free(s->agents[i]);
	free(s->agents);
	for (size_t i = 0; i < s->n_groups; i++)
		unit_group_free(s->groups[i]);
	free(s->groups);
	strv_free(s->errors);
	free(s);
	return NULL;
}

static int unit_errorf(struct unit_set *s, const char *path, unsigned line,
		       const char *fmt, ...) _printf_(4, 5);

static int
unit_errorf(struct unit_set *s, const char *path, unsigned line,
	    const char *fmt, ...)
{
	char msg[1024];
	char *e;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		r = asprintf(&e, "%s:%u: %s", path, line, msg);
	else
		r = asprintf(&e, "%s: %s", path, msg);
	if (r < 0)
		return -ENOMEM;
	if (strv_push(&s->errors, &s->n_errors, e) < 0) {
		free(e);
		return -ENOMEM;
	}
	return 0;
}

struct unit_agent *
unit_set_find_agent(const struct unit_set *s, const char *name)
{
	for (size_t i = 0; i < s->n_agents; i++)
		if (strcmp(s->agents[i]->name, name) == 0)
			return s->agents[i];
	return NULL;
}

struct unit_group *
unit_set_find_group(const struct unit_set *s, const char *name)
{
	for (size_t i = 0; i < s->n_groups; i++)
		if (strcmp(s->groups[i]->name, name) == 0)
			return s->groups[i];
	return NULL;
}

bool
unit_agent_equal(const struct unit_agent *a, const struct unit_agent *b)
{
	return strcmp(a->name, b->name) == 0 &&
	       strv_equal(a->argv, b->argv) &&
	       streq_null(a->working_directory, b->working_directory) &&
	       streq_null(a->user, b->user) &&
	       strv_equal(a->environment, b->environment) &&
	       a->type == b->type && strcmp(a->group, b->group) == 0 &&
	       strv_equal(a->after, b->after) && a->restart == b->restart &&
	       a->restart_sec == b->restart_sec &&
	       a->restart_max_sec == b->restart_max_sec &&
	       a->restart_reset_sec == b->restart_reset_sec &&
	       a->start_timeout == b->start_timeout &&
	       a->stop_timeout == b->stop_timeout &&
	       a->watchdog == b->watchdog &&
	       a->has_limit_nofile == b->has_limit_nofile &&
	       a->limit_nofile == b->limit_nofile &&
	       a->instances == b->instances;
}

/* ---- values -------------------------------------------------------------- */

static int
parse_bool(const char *v, bool *ret)
{
	static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
	static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

	for (size_t i = 0; i < ELEMENTSOF(yes); i++)
		if (strcasecmp(v, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
	for (size_t i = 0; i < ELEMENTSOF(no); i++)
		if (strcasecmp(v, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	return -EINVAL;
}

static int
parse_long(const char *v, long min, long max, long *ret)
{
	char *end;
	long l;

	if (!*v || isspace((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	l = strtol(v, &end, 10);
	if (errno || *end || l < min || l > max)
		return -EINVAL;
	*ret = l;
	return 0;
}

static bool
unit_name_is_valid(const char *s)
{
	size_t len = strlen(s);

	/* room for "@NNNN" */
	if (len == 0 || len + 5 > PROTO_NAME_MAX || strchr(s, '@'))
		return false;
	return proto_name_is_valid(s, len);
}

static bool
env_name_is_valid(const char *s, size_t len)
{
	if (len == 0 || isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* ---- parsing ------------------------------------------------------------- */

enum unit_kind { KIND_AGENT, KIND_GROUP };

struct parse_ctx {
	struct unit_set *set;
	const char *path;
	enum unit_kind kind;
	struct unit_agent *agent;
	struct unit_group *group;
	unsigned line;     /* line of the text the handler is called for */
	bool line_done;    /* the last chunk ended a line */
	const char *text;  /* string reader */
	int err;           /* -ENOMEM */
	bool seen_section_error;
	bool have_exec;
	unsigned exec_line;
};

static int
ctx_error(struct parse_ctx *c, const char *fmt, ...) _printf_(2, 3);

static int
ctx_error(struct parse_ctx *c, const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r = unit_errorf(c->set, c->path, c->line, "%s", msg);
	if (r < 0)
		c->err = r;
	return 1; /* keep parsing: report every problem */
}

static int
set_str(struct parse_ctx *c, char **field, const char *value)
{
	char *d;

	if (!*value) {
		free(*field);
		*field = NULL;
		return 1;
	}
	d = strdup(value);
	if (!d) {
		c->err = -ENOMEM;
		return 1;
	}
	free(*field);
	*field = d;
	return 1;
}

static int
set_time(struct parse_ctx *c, const char *key, const char *value,
	 usec_t *field, bool allow_infinity)
{
	usec_t t;

	if (parse_timespan(value, USEC_PER_SEC, &t) < 0 ||
	    (!allow_infinity && t == USEC_INFINITY))
		return ctx_error(c, "%s=%s: not a time span (e.g. 500ms, 5s, 1min)",
				 key, value);
	*field = t;
	return 1;
}

static int
agent_set_exec(struct parse_ctx *c, const char *value)
{
	struct unit_agent *a = c->agent;
	const char *err;
	char **argv;
	int r;

	if (!*value)
		return ctx_error(c, "ExecStart= is empty");
	if (strchr("@-:+!", value[0]))
		return ctx_error(c, "ExecStart=: prefix '%c' is not supported",
				 value[0]);
	r = unit_split_words(value, &argv, &err);
	if (r == -ENOMEM) {
		c->err = r;
		return 1;
	}
	if (r < 0)
		return ctx_error(c, "ExecStart=: %s", err);
	if (!argv[0]) {
		strv_free(argv);
		return ctx_error(c, "ExecStart= is empty");
	}
	if (argv[0][0] != '/' && strchr(argv[0], '/')) {
		strv_free(argv);
		return ctx_error(c, "ExecStart=: the program must be an absolute path or a bare name");
	}
	strv_free(a->argv);
	a->argv = argv;
	set_str(c, &a->exec_start, value);
	c->have_exec = true;
	c->exec_line = c->line;
	return 1;
}

static int
agent_set_environment(struct parse_ctx *c, const char *value)
{
	struct unit_agent *a = c->agent;
	const char *err;
	char **words;
	int r;

	if (!*value) { /* empty assignment resets, as in systemd */
		strv_free(a->environment);
		a->environment = NULL;
		a->n_environment = 0;
		return 1;
	}
	r = unit_split_words(value, &words, &err);
	if (r == -ENOMEM) {
		c->err = r;
		return 1;
	}
	if (r < 0)
		return ctx_error(c, "Environment=: %s", err);
	for (size_t i = 0; words[i]; i++) {
		char *w = words[i];
		const char *eq = strchr(w, '=');

		if (c->err < 0 || !eq ||
		    !env_name_is_valid(w, (size_t)(eq - w))) {
			if (c->err >= 0)
				ctx_error(c, "Environment=: '%s' is not NAME=VALUE", w);
			free(w);
			continue;
		}
		/* a later assignment of the same name replaces it */
		for (size_t j = 0; j < a->n_environment; j++) {
			size_t kl = (size_t)(eq - words[i]) + 1;

			if (strncmp(a->environment[j], words[i], kl) == 0) {
				free(a->environment[j]);
				memmove(&a->environment[j],
					&a->environment[j + 1],
					(a->n_environment - j) * sizeof(char *));
				a->n_environment--;
				break;
			}
		}
		if (strv_push(&a->environment, &a->n_environment, w) < 0) {
			c->err = -ENOMEM;
			free(w);
		}
	}
	free(words); /* every word was taken or freed */
	return 1;
}

static int
agent_set_after(struct parse_ctx *c, const char *value)
{
	struct unit_agent *a = c->agent;
	const char *err;
	char **words;
	int r;

	if (!*value) {
		strv_free(a->after);
		a->after = NULL;
		a->n_after = 0;
		return 1;
	}
	r = unit_split_words(value, &words, &err);
	if (r == -ENOMEM) {
		c->err = r;
		return 1;
	}
	if (r < 0)
		return ctx_error(c, "After=: %s", err);
	a->after_line = c->line;
	for (size_t i = 0; words[i]; i++) {
		char *w = words[i];

		if (c->err < 0) {
			free(w);
			continue;
		}
		if (!unit_name_is_valid(w)) {
			ctx_error(c, "After=: '%s' is not a valid agent name", w);
			free(w);
			continue;
		}
		if (strcmp(w, a->name) == 0) {
			ctx_error(c, "After=: an agent cannot come after itself");
			free(w);
			continue;
		}
		if (strv_push(&a->after, &a->n_after, w) < 0) {
			free(w);
			c->err = -ENOMEM;
		}
	}
	free(words); /* every word was taken or freed */
	return 1;
}

static int
agent_handler(struct parse_ctx *c, const char *key, const char *value)
{
	struct unit_agent *a = c->agent;
	long l;

	if (strcmp(key, "ExecStart") == 0)
		return agent_set_exec(c, value);
	if (strcmp(key, "Description") == 0)
		return set_str(c, &a->description, value);
	if (strcmp(key, "WorkingDirectory") == 0) {
		if (*value && value[0] != '/')
			return ctx_error(c, "WorkingDirectory=%s: not an absolute path", value);
		return set_str(c, &a->working_directory, value);
	}
	if (strcmp(key, "User") == 0)
		return set_str(c, &a->user, value);
	if (strcmp(key, "Environment") == 0)
		return agent_set_environment(c, value);
	if (strcmp(key, "Type") == 0) {
		if (strcmp(value, "agent") == 0)
			a->type = UNIT_TYPE_AGENT;
		else if (strcmp(value, "notify") == 0)
			a->type = UNIT_TYPE_NOTIFY;
		else if (strcmp(value, "exec") == 0)
			a->type = UNIT_TYPE_EXEC;
		else
			return ctx_error(c, "Type=%s: expected agent, notify or exec", value);
		return 1;
	}
	if (strcmp(key, "Group") == 0) {
		if (!unit_name_is_valid(value))
			return ctx_error(c, "Group=%s: not a valid group name", value);
		a->group_line = c->line;
		return set_str(c, &a->group, value);
	}
	if (strcmp(key, "After") == 0)
		return agent_set_after(c, value);
	if (strcmp(key, "Restart") == 0) {
		if (strcmp(value, "always") == 0)
			a->restart = UNIT_RESTART_ALWAYS;
		else if (strcmp(value, "on-failure") == 0)
			a->restart = UNIT_RESTART_ON_FAILURE;
		else if (strcmp(value, "no") == 0)
			a->restart = UNIT_RESTART_NO;
		else
			return ctx_error(c, "Restart=%s: expected always, on-failure or no", value);
		return 1;
	}
	if (strcmp(key, "RestartSec") == 0)
		return set_time(c, key, value, &a->restart_sec, false);
	if (strcmp(key, "RestartMaxSec") == 0)
		return set_time(c, key, value, &a->restart_max_sec, false);
	if (strcmp(key, "RestartResetSec") == 0)
		return set_time(c, key, value, &a->restart_reset_sec, false);
	if (strcmp(key, "StartTimeoutSec") == 0)
		return set_time(c, key, value, &a->start_timeout, true);
	if (strcmp(key, "StopTimeoutSec") == 0)
		return set_time(c, key, value, &a->stop_timeout, false);
	if (strcmp(key, "WatchdogSec") == 0) {
		set_time(c, key, value, &a->watchdog, true);
		if (a->watchdog == USEC_INFINITY)
			a->watchdog = 0;
		return 1;
	}
	if (strcmp(key, "LimitNOFILE") == 0) {
		if (strcmp(value, "infinity") == 0) {
			a->has_limit_nofile = true;
			a->limit_nofile = UINT64_MAX;
			return 1;
		}
		if (parse_long(value, 1, INT_MAX, &l) < 0)
			return ctx_error(c, "LimitNOFILE=%s: expected a positive number or infinity", value);
		a->has_limit_nofile = true;
		a->limit_nofile = (uint64_t)l;
		return 1;
	}
	if (strcmp(key, "Instances") == 0) {
		if (parse_long(value, 1, UNIT_INSTANCES_MAX, &l) < 0)
			return ctx_error(c, "Instances=%s: expected a number from 1 to %d",
					 value, UNIT_INSTANCES_MAX);
		a->instances = (unsigned)l;
		return 1;
	}
	return ctx_error(c, "unknown key %s in [Agent]", key);
}

static int
group_handler(struct parse_ctx *c, const char *key, const char *value)
{
	struct unit_group *g = c->group;
	long l;
	bool b;

	if (strcmp(key, "Order") == 0) {
		if (parse_long(value, -1000000, 1000000, &l) < 0)
			return ctx_error(c, "Order=%s: expected an integer", value);
		g->order = (int)l;
		return 1;
	}
	if (strcmp(key, "Strategy") == 0) {
		if (strcmp(value, "one_for_one") == 0)
			g->strategy = UNIT_STRATEGY_ONE_FOR_ONE;
		else if (strcmp(value, "one_for_all") == 0)
			g->strategy = UNIT_STRATEGY_ONE_FOR_ALL;
		else if (strcmp(value, "rest_for_one") == 0)
			g->strategy = UNIT_STRATEGY_REST_FOR_ONE;
		else
			return ctx_error(c, "Strategy=%s: expected one_for_one, one_for_all or rest_for_one", value);
		return 1;
	}
	if (strcmp(key, "Intensity") == 0) {
		if (parse_long(value, 0, UNIT_INTENSITY_MAX, &l) < 0)
			return ctx_error(c, "Intensity=%s: expected a number from 0 to %d",
					 value, UNIT_INTENSITY_MAX);
		g->intensity = (unsigned)l;
		return 1;
	}
	if (strcmp(key, "Period") == 0) {
		set_time(c, key, value, &g->period, false);
		if (g->period == 0)
			return ctx_error(c, "Period=%s: must be more than 0", value);
		return 1;
	}
	if (strcmp(key, "Escalate") == 0) {
		if (parse_bool(value, &b) < 0)
			return ctx_error(c, "Escalate=%s: expected yes or no", value);
		g->escalate = b;
		return 1;
	}
	if (strcmp(key, "Description") == 0)
		return set_str(c, &g->description, value);
	return ctx_error(c, "unknown key %s in [Group]", key);
}

static int
ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *c = user;
	const char *want = c->kind == KIND_AGENT ? "Agent" : "Group";

	if (c->err < 0)
		return 1;
	if (strcmp(section, want) != 0) {
		if (*section)
			return ctx_error(c, "unknown section [%s] (expected [%s])",
					 section, want);
		return ctx_error(c, "%s= outside of a section (expected [%s])",
				 name, want);
	}
	if (c->kind == KIND_AGENT)
		return agent_handler(c, name, value);
	return group_handler(c, name, value);
}

/* fgets-like reader over a string that counts lines. */
static char *
string_reader(char *str, int num, void *stream)
{
	struct parse_ctx *c = stream;
	const char *t = c->text;
	int n = 0;

	if (!*t || num < 2)
		return NULL;
	if (c->line_done) {
		c->line++;
		c->line_done = false;
	}
	while (n < num - 1 && t[n]) {
		str[n] = t[n];
		if (t[n++] == '\n') {
			c->line_done = true;
			break;
		}
	}
	str[n] = '\0';
	c->text = t + n;
	return str;
}

static void
ini_configure(void)
{
	ini_allow_inline_comments = false;
	ini_allow_multiline = false;
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_max_line = UNIT_LINE_MAX;
	ini_stop_on_first_error = false;
	ini_allow_no_value = false;
}

static const char *
path_basename(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

static int
unit_new_agent(const char *name, const char *path, struct unit_agent **ret)
{
	struct unit_agent *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->name = strdup(name);
	a->path = strdup(path);
	a->group = strdup(UNIT_DEFAULT_GROUP);
	if (!a->name || !a->path || !a->group) {
		unit_agent_free(a);
		return -ENOMEM;
	}
	a->type = UNIT_TYPE_AGENT;
	a->restart = UNIT_RESTART_ON_FAILURE;
	a->restart_sec = 100 * USEC_PER_MSEC;
	a->restart_max_sec = 30 * USEC_PER_SEC;
	a->restart_reset_sec = 10 * USEC_PER_SEC;
	a->start_timeout = 10 * USEC_PER_SEC;
	a->stop_timeout = 5 * USEC_PER_SEC;
	a->instances = 1;
	*ret = a;
	return 0;
}

static int
unit_new_group(const char *name, const char *path, struct unit_group **ret)
{
	struct unit_group *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	g->name = strdup(name);
	g->path = path ? strdup(path) : NULL;
	if (!g->name || (path && !g->path)) {
		unit_group_free(g);
		return -ENOMEM;
	}
	g->strategy = UNIT_STRATEGY_ONE_FOR_ONE;
	g->intensity = 5;
	g->period = 10 * USEC_PER_SEC;
	*ret = g;
	return 0;
}

static int
push_ptr(void ***v, size_t *n, void *p)
{
	void **nv = realloc(*v, (*n + 1) * sizeof(void *));

	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = p;
	*v = nv;
	return 0;
}

int
unit_set_add_string(struct unit_set *s, const char *path, const char *text)
{
	struct parse_ctx c = { .set = s, .path = path, .text = text,
			       .line_done = true };
	const char *base = path_basename(path);
	const char *dot = strrchr(base, '.');
	char name[PROTO_NAME_MAX + 1];
	size_t nl;
	int r;

	if (!dot || (strcmp(dot, ".agent") != 0 && strcmp(dot, ".group") != 0))
		return unit_errorf(s, path, 0, "not a .agent or .group file");
	c.kind = strcmp(dot, ".agent") == 0 ? KIND_AGENT : KIND_GROUP;
	nl = (size_t)(dot - base);
	if (nl >= sizeof(name))
		return unit_errorf(s, path, 0, "name too long (at most %d bytes)",
				   PROTO_NAME_MAX - 5);
	memcpy(name, base, nl);
	name[nl] = '\0';
	if (!unit_name_is_valid(name))
		return unit_errorf(s, path, 0,
				   "'%s' is not a valid name (letters, digits, _ . : -, no '@', at most %d bytes)",
				   name, PROTO_NAME_MAX - 5);
	if (c.kind == KIND_AGENT) {
		if (unit_set_find_agent(s, name))
			return unit_errorf(s, path, 0, "agent %s defined twice", name);
		r = unit_new_agent(name, path, &c.agent);
	} else {
		if (unit_set_find_group(s, name))
			return unit_errorf(s, path, 0, "group %s defined twice", name);
		r = unit_new_group(name, path, &c.group);
	}
	if (r < 0)
		return r;

	ini_configure();
	r = ini_parse_stream(string_reader, &c, ini_cb, &c);
	if (c.err < 0)
		goto fail;
	if (r == -2) {
		c.err = -ENOMEM;
		goto fail;
	}
	if (r > 0) {
		if (unit_errorf(s, path, (unsigned)r,
				"syntax error (expected [Section] or Key=Value)") < 0) {
			c.err = -ENOMEM;
			goto fail;
		}
	}
	if (c.kind == KIND_AGENT) {
		if (!c.have_exec && unit_errorf(s, path, 0, "missing ExecStart=") < 0) {
			c.err = -ENOMEM;
			goto fail;
		}
		if (push_ptr((void ***)&s->agents, &s->n_agents, c.agent) < 0) {
			c.err = -ENOMEM;
			goto fail;
		}
	} else if (push_ptr((void ***)&s->groups, &s->n_groups, c.group) < 0) {
		c.err = -ENOMEM;
		goto fail;
	}
	return 0;
fail:
	unit_agent_free(c.agent);
	unit_group_free(c.group);
	return c.err;
}

#define UNIT_FILE_MAX	(1024 * 1024)

int
unit_set_add_file(struct unit_set *s, const char *path)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	size_t len = 0;

	/* O_NONBLOCK: a FIFO (or a device) named *.agent must not hang
	 * agentd; it is refused below, before any read. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return unit_errorf(s, path, 0, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) < 0)
		return unit_errorf(s, path, 0, "cannot stat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return unit_errorf(s, path, 0, "not a regular file");
	if (st.st_size > UNIT_FILE_MAX)
		return unit_errorf(s, path, 0, "file too large (more than %d bytes)",
				   UNIT_FILE_MAX);
	buf = malloc(UNIT_FILE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	while (len < UNIT_FILE_MAX + 1) {
		ssize_t n = read(fd, buf + len, UNIT_FILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return unit_errorf(s, path, 0, "read error: %s",
					   strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > UNIT_FILE_MAX)
		return unit_errorf(s, path, 0, "file too large (more than %d bytes)",
				   UNIT_FILE_MAX);
	if (memchr(buf, '\0', len))
		return unit_errorf(s, path, 0, "file contains a NUL byte");
	buf[len] = '\0';
	return unit_set_add_string(s, path, buf);
}

/* ---- validation ---------------------------------------------------------- */

static int
cmp_group(const void *x, const void *y)
{
	const struct unit_group *a = *(struct unit_group *const *)x;
	const struct unit_group *b = *(struct unit_group *const *)y;

	if (a->order != b->order)
		return a->order < b->order ? -1 : 1;
	return strcmp(a->name, b->name);
}

static int
cmp_agent(const void *x, const void *y)
{
	const struct unit_agent *a = *(struct unit_agent *const *)x;
	const struct unit_agent *b = *(struct unit_agent *const *)y;

	return strcmp(a->name, b->name);
}

static size_t
group_index(const struct unit_set *s, const char *name)
{
	for (size_t i = 0; i < s->n_groups; i++)
		if (strcmp(s->groups[i]->name, name) == 0)
			return i;
	return SIZE_MAX;
}

static int
cmp_agent_key(const void *key, const void *x)
{
	const struct unit_agent *a = *(struct unit_agent *const *)x;

	return strcmp(key, a->name);
}

/* Only after s->agents is sorted by name (unit_set_validate). */
static size_t
agent_index(const struct unit_set *s, const char *name)
{
	struct unit_agent **p;

	if (s->n_agents == 0)
		return SIZE_MAX;
	p = bsearch(name, s->agents, s->n_agents, sizeof(*s->agents),
		    cmp_agent_key);
	return p ? (size_t)(p - s->agents) : SIZE_MAX;
}

/* Reports the cycle stack[d..depth] -> stack[d]; the text is built here,
 * only when a cycle is found. */
static int
report_cycle(struct unit_set *s, const size_t *stack, size_t depth, size_t j)
{
	struct unit_agent *a = s->agents[stack[depth]];
	char cyc[1024] = "";
	size_t d = depth + 1;

	while (d > 0 && stack[d - 1] != j)
		d--;
	for (size_t m = d - 1; m <= depth; m++) {
		strncat(cyc, s->agents[stack[m]]->name,
			sizeof(cyc) - strlen(cyc) - 1);
		strncat(cyc, " -> ", sizeof(cyc) - strlen(cyc) - 1);
	}
	strncat(cyc, s->agents[j]->name, sizeof(cyc) - strlen(cyc) - 1);
	return unit_errorf(s, a->path, a->after_line, "dependency cycle: %s",
			   cyc);
}

/*
 * DFS colouring: 0 white, 1 on stack, 2 done. Reports each cycle once.
 * Iterative: stack[] holds the path, edge[] the next After= index to visit
 * at each depth (both n_agents long: a path never repeats an agent), so a
 * chain of any length costs no C stack.
 */
static int
check_cycles_from(struct unit_set *s, size_t root, unsigned char *colour,
		  size_t *stack, size_t *edge)
{
	size_t depth = 0;
	int r;

	colour[root] = 1;
	stack[0] = root;
	edge[0] = 0;
	for (;;) {
		struct unit_agent *a = s->agents[stack[depth]];
		size_t j;

		if (edge[depth] >= a->n_after) {
			colour[stack[depth]] = 2;
			if (depth == 0)
				return 0;
			depth--;
			continue;
		}
		j = agent_index(s, a->after[edge[depth]++]);
		if (j == SIZE_MAX)
			continue;
		if (colour[j] == 1) {
			r = report_cycle(s, stack, depth, j);
			if (r < 0)
				return r;
			continue;
		}
		if (colour[j] == 0) {
			colour[j] = 1;
			depth++;
			stack[depth] = j;
			edge[depth] = 0;
		}
	}
}

int
unit_set_validate(struct unit_set *s)
{
	_cleanup_free_ unsigned char *colour = NULL;
	_cleanup_free_ size_t *stack = NULL;
	_cleanup_free_ size_t *edge = NULL;
	int r;

	if (!unit_set_find_group(s, UNIT_DEFAULT_GROUP)) {
		struct unit_group *g;

		r = unit_new_group(UNIT_DEFAULT_GROUP, NULL, &g);
		if (r < 0)
			return r;
		if (push_ptr((void ***)&s->groups, &s->n_groups, g) < 0) {
			unit_group_free(g);
			return -ENOMEM;
		}
	}
	if (s->n_groups > 1)
		qsort(s->groups, s->n_groups, sizeof(*s->groups), cmp_group);
	if (s->n_agents > 1)
		qsort(s->agents, s->n_agents, sizeof(*s->agents), cmp_agent);

	for (size_t i = 0; i < s->n_agents; i++) {
		struct unit_agent *a = s->agents[i];
		size_t gi = group_index(s, a->group);

		if (gi == SIZE_MAX) {
			r = unit_errorf(s, a->path, a->group_line,
					"Group=%s: no such group (no %s.group file)",
					a->group, a->group);
			if (r < 0)
				return r;
			continue;
		}
		if (a->restart_max_sec < a->restart_sec) {
			r = unit_errorf(s, a->path, 0,
					"RestartMaxSec= is smaller than RestartSec=");
			if (r < 0)
				return r;
		}
		for (size_t k = 0; k < a->n_after; k++) {
			size_t bi = agent_index(s, a->after[k]);
			struct unit_agent *b = bi == SIZE_MAX ? NULL : s->agents[bi];
			size_t gb;

			if (!b) {
				r = unit_errorf(s, a->path, a->after_line,
						"After=%s: no such agent", a->after[k]);
				if (r < 0)
					return r;
				continue;
			}
			gb = group_index(s, b->group);
			if (gb != SIZE_MAX && gb > gi) {
				r = unit_errorf(s, a->path, a->after_line,
						"After=%s: %s is in group %s, which starts after group %s",
						b->name, b->name, b->group, a->group);
				if (r < 0)
					return r;
			}
		}
	}

	if (s->n_agents == 0)
		return 0;
	colour = calloc(s->n_agents, 1);
	stack = calloc(s->n_agents + 1, sizeof(size_t));
	edge = calloc(s->n_agents + 1, sizeof(size_t));
	if (!colour || !stack || !edge)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_agents; i++)
		if (colour[i] == 0) {
			r = check_cycles_from(s, i, colour, stack, edge);
			if (r < 0)
				return r;
		}
	return 0;
}

static int
unit_file_filter(const struct dirent *d)
{
	const char *dot = strrchr(d->d_name, '.');

	if (d->d_name[0] == '.' || !dot)
		return 0;
	return strcmp(dot, ".agent") == 0 || strcmp(dot, ".group") == 0;
}

int
unit_set_load_dir(const char *dir, struct unit_set **ret)
{
	_cleanup_(unit_set_freep) struct unit_set *s = NULL;
	struct dirent **list = NULL;
	int n, r = 0;

	n = scandir(dir, &list, unit_file_filter, alphasort);
	if (n < 0)
		return -errno;
	s = unit_set_new();
	if (!s)
		r = -ENOMEM;
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];

		if (r >= 0) {
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
					     list[i]->d_name) >= sizeof(path))
				r = unit_errorf(s, list[i]->d_name, 0, "path too long");
			else
				r = unit_set_add_file(s, path);
		}
		free(list[i]);
	}
	free(list);
	if (r < 0)
		return r;
	r = unit_set_validate(s);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}
