/* SPDX-License-Identifier: MIT */
/*
 * agentctl.h - the management CLI: its command table, global options,
 * exit codes, and the client/output/conversion helpers the verbs share.
 *
 * One verb per file (cmd-<verb>.c), each exporting a
 * `const struct agentctl_cmd cmd_<verb>_entry`; agentctl.c collects them in
 * cmd_table[] and matches unique prefixes. All policy stays in agentd: a
 * verb sends one request and prints the reply.
 */
#ifndef AGENTCTL_AGENTCTL_H
#define AGENTCTL_AGENTCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <nng/nng.h>

#include "macro.h"
#include "proto.h"
#include "proto-ctl.h"
#include "time-util.h"

/* Exit codes (documented in --help and agentctl(1)). */
enum {
	EXIT_OK = 0,          /* success */
	EXIT_FAIL = 1,        /* agentd reported a failure */
	EXIT_USAGE = 2,       /* usage error (bad option, argument, JSON) */
	EXIT_UNREACHABLE = 3, /* agentd unreachable, timed out, or not agentd */
};

/* Command flags. */
#define CMD_NEEDS_DAEMON	0x1u /* talks to agentd's control socket */
/* Verb options a verb accepts (others are a usage error). */
#define CMD_OPT_GROUP		0x10u /* --group G */
#define CMD_OPT_SIGNAL		0x20u /* -s SIGNAL */
#define CMD_OPT_STATE		0x40u /* --state S */
#define CMD_OPT_LOGS		0x80u /* -n N, -f */
#define CMD_OPT_WATCH		0x100u /* --since N, --count N */
#define CMD_OPT_MASK		0x1f0u

struct agentctl_cmd {
	const char *name;
	const char *alias; /* another full name (no prefix matching), or NULL */
	int min_args;      /* arguments after the verb */
	int max_args;      /* -1: unbounded */
	const char *usage; /* "stop NAME..." */
	const char *help;  /* one line */
	unsigned flags;    /* CMD_* */
	/* Returns an exit code (EXIT_*). argv[0] is the first argument. */
	int (*exec)(int argc, char **argv);
};

/* ---- global options (agentctl.c) ---------------------------------------- */

extern const char *arg_runtime_dir; /* --runtime-dir / AGENTD_RUNTIME_DIR */
extern bool arg_json;               /* --json */
extern usec_t arg_timeout;          /* --timeout, default 10 s */
extern bool arg_timeout_set;        /* --timeout was given */
extern const char *arg_group;       /* --group G (start/stop/restart) */
extern int arg_signal;              /* -s SIGNAL (kill), default SIGTERM */
extern const char *arg_state;       /* --state S[,S...] (wait) */
extern unsigned arg_lines;          /* -n N (logs) */
extern bool arg_follow;             /* -f (logs) */
extern uint64_t arg_since;          /* --since N (watch) */
extern bool arg_since_set;
extern uint64_t arg_count;          /* --count N (watch, logs -f); 0 none */

#define AGENTCTL_DEFAULT_TIMEOUT	(10 * USEC_PER_SEC)

/* The verbs, in the order --help lists them; NULL-terminated. */
extern const struct agentctl_cmd *const cmd_table[];

/*
 * Find a verb by its full name, alias, or a unique prefix of a name.
 * NULL if none; *ret_ambiguous is set when the prefix matched several.
 */
const struct agentctl_cmd *agentctl_find_cmd(const char *name,
					     bool *ret_ambiguous);

/*
 * Parse argv (global and verb options anywhere before "--"), set the arg_*
 * globals, and return the index in argv of the verb (>= 1), 0 when there
 * is none, or -1 on a usage error (already reported). *ret_help is set for
 * -h/--help, *ret_version for --version.
 */
int agentctl_parse_args(int argc, char **argv, bool *ret_help,
			bool *ret_version);
/* Reset every arg_* global to its default (for tests). */
void agentctl_reset_args(void);

/* The whole program; returns the exit code. */
int agentctl_main(int argc, char **argv);

/* Report a usage error: "agentctl: <msg>" and a hint; returns EXIT_USAGE. */
int agentctl_usage_error(const char *fmt, ...) _printf_(1, 2);

/* ---- client.c ----------------------------------------------------------- */

/*
 * One request, one reply. The reply is validated (envelope, one of
 * CTL_STATUS_REPLY / CTL_RESULT / CTL_ERROR, same corr) and kept in
 * ctl_reply together with its nng_msg, which ctl_reply_done frees.
 */
struct ctl_reply {
	nng_msg *msg;
	struct proto_env env;
};
void ctl_reply_done(struct ctl_reply *r);

/* Writes the payload of a request: exactly one msgpack object. */
typedef int (*ctl_pack_fn)(msgpack_packer *pk, const void *userdata);

/*
 * Send type with the payload pack(pk, userdata) writes (NULL: []) to
 * agentd at arg_runtime_dir and wait for the reply until arg_timeout.
 * Errors: -ENOENT / -ECONNREFUSED / -EACCES / -ENOTSOCK (not reachable),
 * -ETIMEDOUT, -EBADMSG (a reply that is not a valid answer), others.
 * Every error is reported on stderr here, in one line.
 */
int ctl_request(uint32_t type, ctl_pack_fn pack, const void *userdata,
		struct ctl_reply *ret);

/* ctl_request_flags: the peer going away is expected (shutdown): do not
 * report it (the caller checks ctl_error_is_gone). */
#define CTL_REQ_GONE_OK	0x1u
/* ...and agentd taking longer than the timeout to answer a request it
 * received (-ETIME: busy, not unreachable) is the caller's to report. */
#define CTL_REQ_SLOW_OK	0x2u
int ctl_request_flags(uint32_t type, ctl_pack_fn pack, const void *userdata,
		      unsigned flags, struct ctl_reply *ret);
/* True for the errors of a peer that closed the connection or exited. */
bool ctl_error_is_gone(int r);

/* Report a ctl_request-style error about the socket at path, one line. */
void ctl_report(int r, const char *path);

/* The control socket's path into buf; -ENAMETOOLONG if it does not fit. */
int ctl_socket_path(char *buf, size_t size);

/* Map a ctl_request error to an exit code (3 for most, 1 otherwise). */
int ctl_error_exit(int r);

/*
 * Handle a CTL_RESULT / CTL_ERROR reply: print the message (result to
 * stdout unless empty, error to stderr) and return the exit code: 0 for a
 * result with code >= 0, 1 for a negative code or a CTL_ERROR, 3 for a
 * reply of another type or a malformed payload.
 */
int ctl_reply_result(const struct ctl_reply *r);

/* Pack a list of names as proto_names (argv-style, n strings). */
struct ctl_names {
	char *const *names;
	uint32_t n;
};
int ctl_pack_names(msgpack_packer *pk, const void *userdata);

/*
 * Fetch status records for the given names (n == 0: every agent).
 * *ret is a malloc'ed array of *ret_n records (the caller frees it).
 * On a CTL_ERROR reply the message is printed and -EREMOTEIO returned.
 * Other errors as ctl_request (already reported).
 */
int ctl_fetch_status(char *const *names, uint32_t n,
		     struct proto_status_record **ret, size_t *ret_n);

/* Send a names request (start/stop/restart/reset-failed) and print the
 * result; --group G adds the agents of that group. Returns an exit code. */
int ctl_names_verb(uint32_t type, int argc, char **argv);

/* One request whose answer is a CTL_RESULT / CTL_ERROR: send, print the
 * result, return the exit code. */
int ctl_simple(uint32_t type, ctl_pack_fn pack, const void *userdata);

/* ---- stream.c: long polls (watch, logs -f) ------------------------------ */

/*
 * One connection kept for a series of long-poll requests. Opening blocks
 * SIGINT and SIGTERM (before the first nng call, so nng's threads inherit
 * the mask) and reads them through a signalfd: a request in progress ends
 * with -EINTR when one comes. A connection that agentd closes ends a
 * request with -ECONNRESET at once.
 */
struct ctl_stream {
	nng_socket s;
	nng_dialer d;
	bool open;
	int recv_fd;  /* NNG_OPT_RECVFD, not ours to close */
	int gone_fd;  /* eventfd: a pipe was removed */
	int sig_fd;   /* signalfd: SIGINT, SIGTERM */
	char path[108];
};
/* Errors are reported here (as ctl_request). */
int ctl_stream_open(struct ctl_stream *cs);
/*
 * Send type with payload pack(pk, userdata) and wait up to wait + the
 * --timeout for the reply (CTL_EVENTS_REPLY, CTL_LOGS_REPLY, CTL_RESULT or
 * CTL_ERROR with the same corr) into *ret. -EINTR: SIGINT/SIGTERM (not
 * reported); other errors are reported here.
 */
int ctl_stream_request(struct ctl_stream *cs, uint32_t type, ctl_pack_fn pack,
		       const void *userdata, usec_t wait,
		       struct ctl_reply *ret);
void ctl_stream_close(struct ctl_stream *cs);

/* ---- dial.c ------------------------------------------------------------- */

/*
 * Dial url on s without blocking and wait until a pipe is up (0), the
 * dialer was refused (-ECONNREFUSED: nobody listens, or no such file;
 * -EACCES; -EPROTO: another SP protocol), or the deadline passed
 * (-ETIMEDOUT: somebody accepts but does not speak).
 * Never connects outside nng (see dial.c for why).
 */
int dial_connected(nng_socket s, const char *url, usec_t deadline,
		   nng_dialer *ret_dialer);
/* After a timeout on a dialed socket: a better error when the dialer was
 * refused or rejected meanwhile (a pipe can come and be rejected). */
int dial_refine_error(nng_socket s, nng_dialer d, int r);

/* ---- inbox.c ------------------------------------------------------------ */

/* ipc path of NAME's inbox (DIR/inbox/NAME.sock); -ENAMETOOLONG. */
int inbox_path(const char *name, char *buf, size_t size);
/* 0 if NAME's inbox exists and accepts an nng connection before
 * deadline, else -ENOENT / -ECONNREFUSED / -ETIMEDOUT... */
int inbox_probe(const char *name, usec_t deadline);
/*
 * Push one envelope into NAME's inbox before deadline and wait until it
 * was written. Takes msg in every case (freed on failure). Errors are
 * reported here; -ENOENT / -ECONNREFUSED mean the agent has no inbox.
 */
int inbox_deliver(const char *name, nng_msg *msg, usec_t deadline);
/* A private pull0 listener for answers; its URL into url. */
int inbox_listen_private(nng_socket *ret, char *url, size_t size);
/*
 * Send a REQUEST [kind, reply_to, timeout, body] (body: one msgpack object,
 * borrowed) to NAME's inbox and wait until deadline for the RESPONSE or
 * ERROR with our corr, which on_answer gets (its return is ours). Returns
 * EXIT_*: no answer in time is EXIT_UNREACHABLE (reported on stderr).
 */
int inbox_call(const char *name, const char *kind, const void *body,
	       size_t body_len, usec_t deadline,
	       int (*on_answer)(const struct proto_env *env, void *userdata),
	       void *userdata);
void inbox_close_private(nng_socket s, const char *url);

/* ---- cmd-send.c (shared with call) -------------------------------------- */

/*
 * Pack the JSON argument (NULL: nil; "-": read standard input) as one
 * msgpack object into a new buffer. On bad JSON prints the error and
 * returns -EINVAL (a usage error).
 */
int send_body_from_arg(const char *arg, msgpack_sbuffer *ret);
/* Check a message kind argument (1..PROTO_NAME_MAX bytes). */
bool send_kind_is_valid(const char *kind);

/* ---- cmd-status.c (shared with tree, ping) ------------------------------ */

/*
 * Records for NAME|GLOB arguments (none: all): plain names are asked from
 * agentd, globs filtered here; a name missing from the reply is reported.
 * Returns an exit code; on EXIT_OK *ret (malloc'ed, caller frees) and
 * *ret_n are set.
 */
int status_fetch_matching(int argc, char **argv,
			  struct proto_status_record **ret, size_t *ret_n);

/* ---- output.c ----------------------------------------------------------- */

/* Colours on a terminal only (and never with NO_COLOR set). */
bool output_use_color(FILE *f);

/* A human duration for uptime: "42s", "5m03s", "2h04m", "3d05h". */
char *output_format_uptime(char *buf, size_t size, uint64_t ms);

/*
 * Print status records as a table (header, columns aligned, "-" for empty
 * fields; colours when color is true) or, with json, as a JSON array of
 * objects {name, group, state, pid, restarts, uptime_ms, last_exit}
 * (pid 0 and "" last_exit as null). Returns 0 or -errno (write error).
 */
int output_status_table(FILE *f, const struct proto_status_record *recs,
			size_t n, bool color);
int output_status_json(FILE *f, const struct proto_status_record *recs,
		       size_t n);
/* One record as a JSON object (new reference), NULL on OOM. */
json_t *output_status_record_json(const struct proto_status_record *r);

/* Groups in order of first appearance, their agents below. */
int output_status_tree(FILE *f, const struct proto_status_record *recs,
		       size_t n, bool color);

/* ---- match.c ------------------------------------------------------------ */

/* True if s has glob characters (*, ?, [). */
bool match_is_glob(const char *s);
/* True if name matches any of the patterns (fnmatch; n == 0 matches). */
bool match_any(const char *name, char *const *patterns, size_t n);

/* ---- json-msgpack.c ----------------------------------------------------- */

/*
 * Parse JSON text (any value, not only objects/arrays) and pack it as one
 * msgpack object. On a syntax error returns -EINVAL and writes a message
 * ("line 1, column 7: ...") into errbuf. Integers become msgpack ints,
 * reals doubles, strings str, objects maps, arrays arrays, null nil.
 */
int json_text_to_msgpack(const char *text, msgpack_packer *pk, char *errbuf,
			 size_t errsize);
/* Pack a jansson value (no error text). -EINVAL on a value it cannot
 * represent, -ENOMEM. */
int json_to_msgpack(const json_t *j, msgpack_packer *pk);

/*
 * Convert exactly one msgpack object in buf[0..len) (untrusted: bounds- and
 * depth-checked, trailing bytes rejected) to a new jansson value.
 * Maps with non-string keys get their keys as JSON text ("1", "true");
 * bin becomes a string when it is valid UTF-8, else an array of bytes;
 * ext becomes {"ext": type, "data": [bytes]}. uint64 past INT64_MAX becomes
 * a real. Returns 0 or -EBADMSG / -ENOMEM.
 */
int msgpack_to_json(const void *buf, size_t len, json_t **ret);

#endif
