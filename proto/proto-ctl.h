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

/*
 * Long polls (CTL_EVENTS, CTL_LOGS): agentd answers at once when there is
 * something at or after since_seq, else keeps the request until something
 * comes or wait_ms passes (then the reply is empty). wait_ms is at most
 * PROTO_WAIT_MAX_MS; 0 answers at once. Sequence numbers start at 1.
 * since_seq PROTO_SEQ_NOW (or anything past the newest) means "only what
 * comes from now on".
 */
#define PROTO_WAIT_MAX_MS	(10u * 60u * 1000u)
#define PROTO_SEQ_NOW		UINT64_MAX

/*
 * CTL_EVENTS: [since_seq, max, wait_ms]: state-change events with
 * seq >= since_seq, at most max of them (1..PROTO_EVENTS_MAX; 0 lets
 * agentd choose).
 */
#define PROTO_EVENTS_MAX	4096
struct proto_events_req {
	uint64_t since_seq;
	uint32_t max;
	uint32_t wait_ms;
};
int proto_events_req_pack(msgpack_packer *pk, const struct proto_events_req *m);
int proto_events_req_unpack(struct proto_reader *rd,
			    struct proto_events_req *m);

/*
 * One event of CTL_EVENTS_REPLY:
 *   [seq, realtime_usec, name, from, to, detail]
 * name valid; from and to are states (1..PROTO_NAME_MAX bytes); detail
 * 0..PROTO_DETAIL_MAX bytes ("pid 123", "exited 1", "").
 */
#define PROTO_DETAIL_MAX	256
struct proto_event_record {
	uint64_t seq;
	uint64_t realtime_usec;
	char name[PROTO_NAME_MAX + 1];
	char from[PROTO_NAME_MAX + 1];
	char to[PROTO_NAME_MAX + 1];
	char detail[PROTO_DETAIL_MAX + 1];
};
int proto_event_record_pack(msgpack_packer *pk,
			    const struct proto_event_record *m);
int proto_event_record_unpack(struct proto_reader *rd,
			      struct proto_event_record *m);

/*
 * The head shared by CTL_EVENTS_REPLY and CTL_LOGS_REPLY:
 *   [first_seq, next_seq, missed, [item...]]
 * first_seq  the oldest sequence number agentd still keeps (next_seq when
 *            it keeps none)
 * next_seq   the since_seq to ask with next time (one past the last item
 *            sent; the items are consecutive and end at next_seq - 1)
 * missed     how many items between since_seq and the first one sent were
 *            already overwritten (a watcher that fell behind)
 * n          the number of items (at most PROTO_EVENTS_MAX events or
 *            PROTO_LOG_LINES_MAX lines); n <= next_seq - first_seq.
 * pack writes the head and the item array header; the caller packs n items.
 */
struct proto_seq_head {
	uint64_t first_seq;
	uint64_t next_seq;
	uint64_t missed;
	uint32_t n;
};
int proto_seq_head_pack(msgpack_packer *pk, const struct proto_seq_head *m);
/* CTL_EVENTS_REPLY: validated whole first, then cb once per event (cb may
 * be NULL; a negative return stops and is returned). */
int proto_events_reply_unpack(struct proto_reader *rd,
			      struct proto_seq_head *ret_head,
			      int (*cb)(const struct proto_event_record *ev,
					void *userdata),
			      void *userdata);

/*
 * CTL_LOGS: [name, lines, since_seq, wait_ms]: NAME's output lines.
 * since_seq 0: the last `lines` lines (follow-up requests pass next_seq);
 * else lines with seq >= since_seq, at most `lines` (0: agentd chooses).
 * lines <= PROTO_LOG_LINES_MAX.
 */
#define PROTO_LOG_LINES_MAX	65536
struct proto_logs_req {
	char name[PROTO_NAME_MAX + 1];
	uint32_t lines;
	uint64_t since_seq;
	uint32_t wait_ms;
};
int proto_logs_req_pack(msgpack_packer *pk, const struct proto_logs_req *m);
int proto_logs_req_unpack(struct proto_reader *rd, struct proto_logs_req *m);

/* CTL_LOGS_REPLY: the head above, then [line...], each a str of
 * 0..PROTO_STR_MAX bytes without the newline (stdout and stderr share one
 * pipe, so lines carry no stream). cb gets each line with its seq. */
int proto_logs_reply_unpack(struct proto_reader *rd,
			    struct proto_seq_head *ret_head,
			    int (*cb)(uint64_t seq, const char *line,
				      size_t len, void *userdata),
			    void *userdata);

#endif
