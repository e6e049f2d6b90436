/* SPDX-License-Identifier: MIT */
/*
 * agentctl.c - global options, the verb table and its lookup by unique
 * prefix, argument counts, exit codes.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agentctl.h"
#include "config.h"
#include "log.h"

const char *arg_runtime_dir;
bool arg_json;
usec_t arg_timeout = AGENTCTL_DEFAULT_TIMEOUT;
bool arg_timeout_set;
const char *arg_group;
int arg_signal = SIGTERM;
const char *arg_state;
unsigned arg_lines = 10;
bool arg_follow;
uint64_t arg_since;
bool arg_since_set;
uint64_t arg_count;

/* Which verb options were given, checked against the verb's flags. */
static unsigned arg_verb_opts;

extern const struct agentctl_cmd cmd_status_entry, cmd_tree_entry,
	cmd_start_entry, cmd_stop_entry, cmd_restart_entry, cmd_kill_entry,
	cmd_reset_failed_entry, cmd_reload_entry, cmd_shutdown_entry,
	cmd_send_entry, cmd_call_entry, cmd_ping_entry, cmd_wait_entry,
	cmd_watch_entry, cmd_logs_entry;

const struct agentctl_cmd *const cmd_table[] = {
	&cmd_status_entry,
	&cmd_tree_entry,
	&cmd_start_entry,
	&cmd_stop_entry,
	&cmd_restart_entry,
	&cmd_kill_entry,
	&cmd_reset_failed_entry,
	&cmd_reload_entry,
	&cmd_shutdown_entry,
	&cmd_send_entry,
	&cmd_call_entry,
	&cmd_ping_entry,
	&cmd_wait_entry,
	&cmd_watch_entry,
	&cmd_logs_entry,
	NULL,
};

const struct agentctl_cmd *
agentctl_find_cmd(const char *name, bool *ret_ambiguous)
{
	const struct agentctl_cmd *found = NULL;
	size_t len = strlen(name);
	size_t i;

	*ret_ambiguous = false;
	if (len == 0)
		return NULL;
	/* An exact name or alias wins over prefixes ("stop" vs "stopall"). */
	for (i = 0; cmd_table[i]; i++)
		if (strcmp(cmd_table[i]->name, name) == 0 ||
		    (cmd_table[i]->alias &&
		     strcmp(cmd_table[i]->alias, name) == 0))
			return cmd_table[i];
	for (i = 0; cmd_table[i]; i++) {
		if (strncmp(cmd_table[i]->name, name, len) != 0)
			continue;
		if (found) {
			*ret_ambiguous = true;
			return NULL;
		}
		found = cmd_table[i];
	}
	return found;
}

int
agentctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("agentctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see agentctl --help)\n", stderr);
	return EXIT_USAGE;
}

/* "TERM", "SIGTERM", "sigkill", "9" -> the number, or -EINVAL. */
static int
parse_signal(const char *s)
{
	char *end;
	long n;
	int i;

	errno = 0;
	n = strtol(s, &end, 10);
	if (*s && !*end && !errno)
		return n > 0 && n < PROTO_SIGNAL_MAX ? (int)n : -EINVAL;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 1; i < PROTO_SIGNAL_MAX && i < NSIG; i++) {
		const char *abbrev = sigabbrev_np(i);

		if (abbrev && strcasecmp(abbrev, s) == 0)
			return i;
	}
	return -EINVAL;
}

enum {
	OPT_VERSION = 0x100,
	OPT_RUNTIME_DIR,
	OPT_JSON,
	OPT_TIMEOUT,
	OPT_GROUP,
	OPT_STATE,
	OPT_SINCE,
	OPT_COUNT,
};

/* A decimal number 0..max (no sign, no suffix); -EINVAL otherwise. */
static int
parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	unsigned long long n;
	char *end;

	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (*end || errno || n > max)
		return -EINVAL;
	*ret = n;
	return 0;
}

void
agentctl_reset_args(void)
{
	arg_runtime_dir = NULL;
	arg_json = false;
	arg_timeout = AGENTCTL_DEFAULT_TIMEOUT;
	arg_timeout_set = false;
	arg_group = NULL;
	arg_signal = SIGTERM;
	arg_state = NULL;
	arg_lines = 10;
	arg_follow = false;
	arg_since = 0;
	arg_since_set = false;
	arg_count = 0;
	arg_verb_opts = 0;
}

int
agentctl_parse_args(int argc, char **argv, bool *ret_help, bool *ret_version)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "runtime-dir", required_argument, NULL, OPT_RUNTIME_DIR },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "signal", required_argument, NULL, 's' },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "lines", required_argument, NULL, 'n' },
		{ "follow", no_argument, NULL, 'f' },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "count", required_argument, NULL, OPT_COUNT },
		{}
	};
	const char *e;
	int c, sig;

	*ret_help = false;
	*ret_version = false;
	optind = 0; /* full reset of getopt (GNU), also for tests */
	opterr = 0;
	/* GNU getopt permutes: options may follow the verb ("stop --group
	 * G", "kill -s KILL a"); "--" ends them. The non-options end up in
	 * argv[optind..argc), the verb first. */
	while ((c = getopt_long(argc, argv, "hs:n:f", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			*ret_help = true;
			break;
		case OPT_VERSION:
			*ret_version = true;
			break;
		case OPT_RUNTIME_DIR:
			if (!*optarg) {
				agentctl_usage_error("--runtime-dir needs a directory");
				return -1;
			}
			arg_runtime_dir = optarg;
			break;
		case OPT_JSON:
			arg_json = true;
			break;
		case OPT_TIMEOUT:
			if (parse_timespan(optarg, USEC_PER_SEC, &arg_timeout) < 0 ||
			    arg_timeout == 0) {
				agentctl_usage_error("invalid --timeout: '%s' "
						     "(e.g. 5, 500ms, 2min)", optarg);
				return -1;
			}
			arg_timeout_set = true;
			break;
		case OPT_GROUP:
			arg_group = optarg;
			arg_verb_opts |= CMD_OPT_GROUP;
			break;
		case 's':
			sig = parse_signal(optarg);
			if (sig < 0) {
				agentctl_usage_error("unknown signal: '%s'", optarg);
				return -1;
			}
			arg_signal = sig;
			arg_verb_opts |= CMD_OPT_SIGNAL;
			break;
		case OPT_STATE:
			arg_state = optarg;
			arg_verb_opts |= CMD_OPT_STATE;
			break;
		case 'n': {
			char *end;
			unsigned long n;

			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (!*optarg || *end || errno || n > 1000000 ||
			    optarg[0] == '-') {
				agentctl_usage_error("invalid -n: '%s'", optarg);
				return -1;
			}
			arg_lines = (unsigned)n;
			arg_verb_opts |= CMD_OPT_LOGS;
			break;
		}
		case 'f':
			arg_follow = true;
			arg_verb_opts |= CMD_OPT_LOGS;
			break;
		case OPT_SINCE:
			if (parse_u64(optarg, UINT64_MAX - 1, &arg_since) < 0) {
				agentctl_usage_error("invalid --since: '%s' "
						     "(a sequence number)", optarg);
				return -1;
			}
			arg_since_set = true;
			arg_verb_opts |= CMD_OPT_WATCH;
			break;
		case OPT_COUNT:
			if (parse_u64(optarg, UINT32_MAX, &arg_count) < 0 ||
			    arg_count == 0) {
				agentctl_usage_error("invalid --count: '%s' "
						     "(a number >= 1)", optarg);
				return -1;
			}
			arg_verb_opts |= CMD_OPT_WATCH;
			break;
		case '?':
		default:
			if (optopt && optopt < 0x100)
				agentctl_usage_error("unknown option -%c or missing argument",
						     optopt);
			else
				agentctl_usage_error("unknown option '%s' or missing argument",
						     argv[optind - 1]);
			return -1;
		}
	}

	if (!arg_runtime_dir) {
		e = getenv("AGENTD_RUNTIME_DIR");
		arg_runtime_dir = e && *e ? e : AGENTD_DEFAULT_RUNTIME_DIR;
	}

	return optind < argc ? optind : 0;
}

static void
print_help(void)
{
	size_t i;

	printf("Usage: agentctl [OPTIONS] VERB [ARGS...]\n"
	       "\n"
	       "Control agentd, the agent supervisor.\n"
	       "\n"
	       "Verbs (a unique prefix is enough):\n");
	for (i = 0; cmd_table[i]; i++)
		printf("  %-34s %s\n", cmd_table[i]->usage, cmd_table[i]->help);
	printf("\n"
	       "Options:\n"
	       "  --runtime-dir DIR   agentd's runtime directory (default: $AGENTD_RUNTIME_DIR,\n"
	       "                      else %s)\n"
	       "  --json              machine-readable output\n"
	       "  --timeout T         how long to wait for agentd (default 10s; 500ms, 2min...)\n"
	       "  --group G           start/stop/restart: every agent of group G\n"
	       "  -s, --signal SIG    kill: the signal (default TERM)\n"
	       "  --state S[,S...]    wait: the state(s) to wait for (default running)\n"
	       "  -n, --lines N       logs: number of lines\n"
	       "  -f, --follow        logs: keep printing new lines\n"
	       "  --since N           watch: start at event N (default: only new events)\n"
	       "  --count N           watch: exit after N events\n"
	       "  -h, --help          this help, or a verb's (agentctl VERB --help)\n"
	       "  --version           print the version\n"
	       "\n"
	       "Exit status:\n"
	       "  0  success\n"
	       "  1  agentd reported a failure (unknown agent, refused action, request error,\n"
	       "     wait timed out)\n"
	       "  2  usage error (bad verb, option, argument or JSON)\n"
	       "  3  agentd unreachable, not answering within the timeout, or not agentd\n"
	       "\n"
	       "See agentctl(1).\n",
	       AGENTD_DEFAULT_RUNTIME_DIR);
}

static void
print_verb_help(const struct agentctl_cmd *cmd)
{
	printf("Usage: agentctl [OPTIONS] %s\n\n%s\n", cmd->usage, cmd->help);
	if (cmd->alias)
		printf("Also: agentctl %s\n", cmd->alias);
	printf("\nExit status: 0 success, 1 agentd reported a failure, "
	       "2 usage error,\n3 agentd unreachable or timed out. "
	       "See agentctl --help and agentctl(1).\n");
}

static const char *
verb_opt_name(unsigned opt)
{
	switch (opt) {
	case CMD_OPT_GROUP:
		return "--group";
	case CMD_OPT_SIGNAL:
		return "--signal";
	case CMD_OPT_STATE:
		return "--state";
	case CMD_OPT_LOGS:
		return "--lines/--follow";
	case CMD_OPT_WATCH:
		return "--since/--count";
	}
	return "?";
}

int
agentctl_main(int argc, char **argv)
{
	const struct agentctl_cmd *cmd;
	bool help, version, ambiguous;
	unsigned bad;
	int verb, n;

	log_init("agentctl", getenv("AGENTCTL_DEBUG") ? LOG_LEVEL_DEBUG :
							LOG_LEVEL_INFO);
	verb = agentctl_parse_args(argc, argv, &help, &version);
	if (verb < 0)
		return EXIT_USAGE;
	if (version) {
		printf("agentctl %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	if (verb == 0) {
		if (help) {
			print_help();
			return EXIT_OK;
		}
		return agentctl_usage_error("no verb given");
	}
	cmd = agentctl_find_cmd(argv[verb], &ambiguous);
	if (!cmd)
		return agentctl_usage_error("%s verb '%s'",
					    ambiguous ? "ambiguous" : "unknown",
					    argv[verb]);
	if (help) {
		print_verb_help(cmd);
		return EXIT_OK;
	}
	bad = arg_verb_opts & ~cmd->flags & CMD_OPT_MASK;
	if (bad)
		return agentctl_usage_error("%s does not take %s", cmd->name,
					    verb_opt_name(bad & -bad));

	n = argc - verb - 1;
	if (n < cmd->min_args || (cmd->max_args >= 0 && n > cmd->max_args))
		return agentctl_usage_error("usage: agentctl %s", cmd->usage);
	return cmd->exec(n, argv + verb + 1);
}
