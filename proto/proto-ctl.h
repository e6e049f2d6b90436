/* SPDX-License-Identifier: MIT */
/*
 * proto-ctl.h - payloads between agentctl and agentd (control socket).
 *
 * agentctl sends one request (req0), agentd answers with exactly one reply
 * carrying the same corr: CTL_STATUS_REPLY, CTL_RESULT or CTL_ERROR. More
 * verbs get new lines in proto-msgtypes.h and their payloads here.
 * Bump PROTO_VERSION if any payload below changes.
 */
#ifndef PROTO_CTL_H
#define PROTO_CTL_H

#include <stdint.h>

#include "proto.h"
#include "proto-read.h"

/*
 * A list of names or glob patterns: [name...], at most PROTO_LIST_MAX.
 * Used by CTL_STATUS (empty = all), CTL_START, CTL_STOP, CTL_RESTART,
 * CTL_RESET_FAILED. unpack calls cb once per string (not NUL-terminated);
 * a negative return from cb stops and is returned. Each entry is 1..
 * PROTO_NAME_MAX bytes without NUL (not checked as a name: globs allowed).
 * The whole payload is validated before cb is called for the first time;
 * cb may be NULL (validation only).
 */
struct proto_names {
	const char *const *names; /* for pack */
	uint32_t n;
};
int proto_names_pack(msgpack_packer *pk, const struct proto_names *m);
int proto_names_unpack(struct proto_reader *rd,
		       int (*cb)(const char *s, size_t len, void *userdata),
		       void *userdata);

/*
 * CTL_KILL: [signal, [name...]]; signal is 1..PROTO_SIGNAL_MAX-1.
 * unpack validates the whole payload first, stores the signal, then calls
 * cb once per name like proto_names_unpack (cb may be NULL).
 */
#define PROTO_SIGNAL_MAX	65
struct proto_kill {
	int32_t signal;
	struct proto_names names;
};
int proto_kill_pack(msgpack_packer *pk, const struct proto_kill *m);
int proto_kill_unpack(struct proto_reader *rd, int32_t *ret_signal,
		      int (*cb)(const char *s, size_t len, void *userdata),
		      void *userdata);

/*
 * One agent in CTL_STATUS_REPLY:
 *   [name, group, state, pid, restarts, uptime_ms, last_exit]
 * The reply payload is [record...] (at most PROTO_LIST_MAX).
 */
struct proto_status_record {
	char name[PROTO_NAME_MAX + 1];
	char group[PROTO_NAME_MAX + 1];
	char state[PROTO_NAME_MAX + 1]; /* inactive starting running ... */
	uint32_t pid;                   /* 0 when not running */
	uint32_t restarts;
	uint64_t uptime_ms;
	char last_exit[PROTO_NAME_MAX * 2 + 1]; /* "exited 0", "killed SIGTERM", "" */
};
int proto_status_record_pack(msgpack_packer *pk,
			     const struct proto_status_record *m);
/* Reads one record (not the enclosing array; no proto_read_end). */
int proto_status_record_unpack(struct proto_reader *rd,
			       struct proto_status_record *m);
/*
 * The whole CTL_STATUS_REPLY payload [record...]: validated first (count
 * <= PROTO_LIST_MAX, every record, no trailing bytes), then cb is called
 * once per record (cb may be NULL); a negative return from cb stops and is
 * returned. Pack a reply with msgpack_pack_array(pk, n) and n records.
 */
int proto_status_reply_unpack(struct proto_reader *rd,
			      int (*cb)(const struct proto_status_record *rec,
					void *userdata),
			      void *userdata);

/*
 * CTL_RESULT / CTL_ERROR: [code, message]
 * code is 0 or -errno (a positive code is -EINVAL to pack, -EBADMSG to
 * unpack); message (<= PROTO_STR_MAX) says what happened ("stopped 2 agents",
 * "no such agent: foo").
 */
struct proto_result {
	int32_t code;
	const char *message;
	size_t message_len;
};
int proto_result_pack(msgpack_packer *pk, const struct proto_result *m);
int proto_result_unpack(struct proto_reader *rd, struct proto_result *m);

#endif
