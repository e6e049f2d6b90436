/* SPDX-License-Identifier: MIT */
/*
 * output.c - render status records: an aligned table (colours only on a
 * terminal), a JSON array, or a tree of groups.
 *
 * The plain table is stable for scripts: one header line, then one line
 * per agent, columns separated by at least two spaces, "-" for an empty
 * field, LAST-EXIT (which may contain spaces) last.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentctl.h"

#define ANSI_RESET	"\033[0m"
#define ANSI_BOLD	"\033[1m"
#define ANSI_RED	"\033[31m"
#define ANSI_GREEN	"\033[32m"
#define ANSI_YELLOW	"\033[33m"
#define ANSI_GREY	"\033[90m"

bool
output_use_color(FILE *f)
{
	const char *e = getenv("NO_COLOR");
	const char *term = getenv("TERM");

	if (e && *e)
		return false;
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return isatty(fileno(f)) == 1;
}

char *
output_format_uptime(char *buf, size_t size, uint64_t ms)
{
	uint64_t s = ms / 1000;

	if (s < 60)
		snprintf(buf, size, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(buf, size, "%" PRIu64 "m%02" PRIu64 "s", s / 60,
			 s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m", s / 3600,
			 s % 3600 / 60);
	else
		snprintf(buf, size, "%" PRIu64 "d%02" PRIu64 "h", s / 86400,
			 s % 86400 / 3600);
	return buf;
}

static const char *
state_color(const char *state)
{
	if (strcmp(state, "running") == 0)
		return ANSI_GREEN;
	if (strcmp(state, "failed") == 0)
		return ANSI_RED;
	if (strcmp(state, "starting") == 0 || strcmp(state, "stopping") == 0 ||
	    strcmp(state, "backoff") == 0)
		return ANSI_YELLOW;
	if (strcmp(state, "inactive") == 0 || strcmp(state, "done") == 0)
		return ANSI_GREY;
	return NULL;
}

enum {
	COL_NAME,
	COL_GROUP,
	COL_STATE,
	COL_PID,
	COL_UPTIME,
	COL_RESTARTS,
	COL_LAST_EXIT,
	_COL_MAX,
};

static const char *const col_names[_COL_MAX] = {
	"NAME", "GROUP", "STATE", "PID", "UPTIME", "RESTARTS", "LAST-EXIT",
};

/* Fields of one row as strings (each in its own small buffer). */
struct row {
	char pid[16];
	char uptime[32];
	char restarts[16];
	const char *f[_COL_MAX];
};

static void
row_fill(struct row *row, const struct proto_status_record *r)
{
	snprintf(row->restarts, sizeof(row->restarts), "%" PRIu32,
		 r->restarts);
	if (r->pid) {
		snprintf(row->pid, sizeof(row->pid), "%" PRIu32, r->pid);
		output_format_uptime(row->uptime, sizeof(row->uptime),
				     r->uptime_ms);
	} else {
		strcpy(row->pid, "-");
		strcpy(row->uptime, "-");
	}
	row->f[COL_NAME] = r->name;
	row->f[COL_GROUP] = r->group[0] ? r->group : "-";
	row->f[COL_STATE] = r->state;
	row->f[COL_PID] = row->pid;
	row->f[COL_UPTIME] = row->uptime;
	row->f[COL_RESTARTS] = row->restarts;
	row->f[COL_LAST_EXIT] = r->last_exit[0] ? r->last_exit : "-";
}

/* Right-align the numeric columns. */
static bool
col_right(int c)
{
	return c == COL_PID || c == COL_RESTARTS;
}

static void
print_cell(FILE *f, int c, const char *s, size_t width, const char *color)
{
	size_t len = strlen(s);
	size_t pad = width > len ? width - len : 0;

	if (c == _COL_MAX - 1) {
		/* Last column: no trailing padding. */
		if (color)
			fprintf(f, "%s%s%s", color, s, ANSI_RESET);
		else
			fputs(s, f);
		return;
	}
	if (col_right(c))
		fprintf(f, "%*s", (int)pad, "");
	if (color)
		fprintf(f, "%s%s%s", color, s, ANSI_RESET);
	else
		fputs(s, f);
	if (!col_right(c))
		fprintf(f, "%*s", (int)pad, "");
	fputs("  ", f);
}

int
output_status_table(FILE *f, const struct proto_status_record *recs,
		    size_t n, bool color)
{
	size_t width[_COL_MAX];
	struct row row;
	size_t i;
	int c;

	for (c = 0; c < _COL_MAX; c++)
		width[c] = strlen(col_names[c]);
	for (i = 0; i < n; i++) {
		row_fill(&row, &recs[i]);
		for (c = 0; c < _COL_MAX; c++)
			width[c] = MAX(width[c], strlen(row.f[c]));
	}

	for (c = 0; c < _COL_MAX; c++)
		print_cell(f, c, col_names[c], width[c],
			   color ? ANSI_BOLD : NULL);
	fputc('\n', f);
	for (i = 0; i < n; i++) {
		row_fill(&row, &recs[i]);
		for (c = 0; c < _COL_MAX; c++)
			print_cell(f, c, row.f[c], width[c],
				   color && c == COL_STATE ?
					   state_color(row.f[c]) :
					   NULL);
		fputc('\n', f);
	}
	return ferror(f) ? -EIO : 0;
}

json_t *
output_status_record_json(const struct proto_status_record *r)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (json_object_set_new(o, "name", json_string(r->name)) < 0 ||
	    json_object_set_new(o, "group",
				r->group[0] ? json_string(r->group) :
					      json_null()) < 0 ||
	    json_object_set_new(o, "state", json_string(r->state)) < 0 ||
	    json_object_set_new(o, "pid",
				r->pid ? json_integer(r->pid) : json_null()) < 0 ||
	    json_object_set_new(o, "restarts", json_integer(r->restarts)) < 0 ||
	    json_object_set_new(o, "uptime_ms",
				json_integer((json_int_t)MIN(r->uptime_ms,
							     (uint64_t)INT64_MAX))) < 0 ||
	    json_object_set_new(o, "last_exit",
				r->last_exit[0] ? json_string(r->last_exit) :
						  json_null()) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
output_status_json(FILE *f, const struct proto_status_record *recs,
		   size_t n)
{
	size_t i;

	/* Streamed one record at a time: no array of n objects in memory. */
	fputc('[', f);
	for (i = 0; i < n; i++) {
		json_t *o = output_status_record_json(&recs[i]);

		if (!o)
			return -ENOMEM;
		if (i > 0)
			fputc(',', f);
		json_dumpf(o, f, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
	}
	fputs("]\n", f);
	return ferror(f) ? -EIO : 0;
}

int
output_status_tree(FILE *f, const struct proto_status_record *recs,
		   size_t n, bool color)
{
	_cleanup_free_ bool *done = calloc(n ? n : 1, sizeof(bool));
	size_t i, j;

	if (!done)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const char *g = recs[i].group;
		size_t last = i;

		if (done[i])
			continue;
		for (j = i; j < n; j++)
			if (strcmp(recs[j].group, g) == 0)
				last = j;
		fprintf(f, "%s%s%s\n", color ? ANSI_BOLD : "",
			g[0] ? g : "-", color ? ANSI_RESET : "");
		for (j = i; j < n; j++) {
			const char *sc;

			if (done[j] || strcmp(recs[j].group, g) != 0)
				continue;
			done[j] = true;
			sc = color ? state_color(recs[j].state) : NULL;
			fprintf(f, "%s %s  %s%s%s",
				j == last ? (color ? "└─" : "`-") :
					    (color ? "├─" : "|-"),
				recs[j].name, sc ? sc : "", recs[j].state,
				sc ? ANSI_RESET : "");
			if (recs[j].pid)
				fprintf(f, "  pid %" PRIu32, recs[j].pid);
			fputc('\n', f);
		}
	}
	return ferror(f) ? -EIO : 0;
}
