/* SPDX-License-Identifier: MIT */
/*
 * proto-link.h - payloads between an agent process and agentd (the link).
 *
 * Each payload is a msgpack array with fixed positions. pack functions write
 * exactly one object; unpack functions read exactly one object from a reader
 * positioned at the payload and then require proto_read_end (no trailing
 * bytes). Strings in unpacked structs point into the message (not copied)
 * unless the field is a char array.
 * Bump PROTO_VERSION if any of these changes.
 */
#ifndef PROTO_LINK_H
#define PROTO_LINK_H

#include <stdint.h>

#include "proto.h"
#include "proto-host.h"
#include "proto-read.h"

/*
 * The link is a SOCK_SEQPACKET socketpair agentd makes for each start of a
 * Type=agent unit; the agent's end is its fd $AGENTD_LINK_FD (3). One
 * datagram carries one envelope of at most PROTO_LINK_MSG_MAX bytes; a
 * longer one is a protocol error (the receiver closes the link).
 */
#define PROTO_LINK_MSG_MAX	(64 * 1024)

/* Interruption levels, as crb numbers them. */
#define PROTO_LEVEL_EVENT	100u   /* interrupt message, in FIFO order */
#define PROTO_LEVEL_FLAG	1000u  /* stop between steps, on_interrupt runs */
#define PROTO_LEVEL_ABORT	10000u /* end now, no finalize */

/*
 * Why an agent ended. A libagent process exits with the reason as its exit
 * status (0 done, 1 failed, 2 interrupted, 3 aborted), and also sends it in
 * EXIT_REPORT before exiting when linked; agentd trusts the pidfd's status
 * and uses the report for the message. CRASHED is agentd's word for a death
 * by signal.
 */
enum proto_exit_reason {
	PROTO_EXIT_DONE = 0,        /* finished its work */
	PROTO_EXIT_FAILED = 1,      /* a state or begin failed */
	PROTO_EXIT_INTERRUPTED = 2, /* stopped on request, finalize ran */
	PROTO_EXIT_ABORTED = 3,     /* aborted, no finalize */
	PROTO_EXIT_CRASHED = 4,     /* killed by a signal (agentd's view only) */
	_PROTO_EXIT_MAX,
};
/* "done", "failed", "interrupted", "aborted", "crashed"; NULL if unknown. */
const char *proto_exit_reason_to_string(uint32_t r);

/* HELLO agent -> agentd: [name, pid, inbox_url] or
 * [name, pid, inbox_url, [net_url...]]: the optional 4th element lists
 * the network inboxes (tcp://, tls+tcp://; at most PROTO_NET_URLS_MAX,
 * see proto-host.h) agentd's name server hands out. pack writes it only
 * when net.n > 0; unpack takes both forms (net.n = 0 from the short one). */
struct proto_hello {
	char name[PROTO_NAME_MAX + 1];
	uint32_t pid;
	const char *inbox; /* "" if the agent has no inbox */
	size_t inbox_len;
	struct proto_urls net;
};
int proto_hello_pack(msgpack_packer *pk, const struct proto_hello *m);
int proto_hello_unpack(struct proto_reader *rd, struct proto_hello *m);

/* HELLO_ACK agentd -> agent: [watchdog_usec, stop_timeout_usec] (0 = off) */
struct proto_hello_ack {
	uint64_t watchdog_usec;
	uint64_t stop_timeout_usec;
};
int proto_hello_ack_pack(msgpack_packer *pk, const struct proto_hello_ack *m);
int proto_hello_ack_unpack(struct proto_reader *rd, struct proto_hello_ack *m);

/* READY agent -> agentd: [] */
/* HEARTBEAT agent -> agentd: [seq] */
struct proto_heartbeat {
	uint64_t seq;
};
int proto_heartbeat_pack(msgpack_packer *pk, const struct proto_heartbeat *m);
int proto_heartbeat_unpack(struct proto_reader *rd, struct proto_heartbeat *m);

/* INTERRUPT agentd -> agent: [level]; any uint32 decodes, the receiver
 * decides what a level it does not know means. */
struct proto_interrupt {
	uint32_t level; /* PROTO_LEVEL_* */
};
int proto_interrupt_pack(msgpack_packer *pk, const struct proto_interrupt *m);
int proto_interrupt_unpack(struct proto_reader *rd, struct proto_interrupt *m);

/* STOPPING / STATUS_TEXT agent -> agentd: [text]; VERSION: [supported] */
struct proto_text {
	const char *text;
	size_t len;
};
int proto_text_pack(msgpack_packer *pk, const struct proto_text *m);
int proto_text_unpack(struct proto_reader *rd, struct proto_text *m);

struct proto_version {
	uint32_t supported;
};
int proto_version_pack(msgpack_packer *pk, const struct proto_version *m);
int proto_version_unpack(struct proto_reader *rd, struct proto_version *m);

/* EXIT_REPORT agent -> agentd: [reason, code, message]; reason must be
 * < _PROTO_EXIT_MAX (else -EINVAL to pack, -EBADMSG to unpack). */
struct proto_exit_report {
	uint32_t reason; /* enum proto_exit_reason */
	int32_t code;    /* -errno of a failure, else 0 */
	const char *message;
	size_t message_len;
};
int proto_exit_report_pack(msgpack_packer *pk,
			   const struct proto_exit_report *m);
int proto_exit_report_unpack(struct proto_reader *rd,
			     struct proto_exit_report *m);

/*
 * The registry (agent <-> agentd; corr pairs a RESOLVE with its reply):
 * RESOLVE agent -> agentd: [name]        where is agent `name`?
 * MONITOR agent -> agentd: [name, on]    on (uint) 1: push me its transitions
 *                                        as PEER_STATE; on=0: stop
 * RESOLVE_REPLY / PEER_STATE agentd -> agent: [name, inbox, pid, state]
 *   inbox "" when it has none (not running, not a libagent agent), pid 0
 *   without a process, state agentd's state name ("unknown" for a name
 *   no unit has). A name of a unit with Instances= resolves to one of its
 *   running instances (round robin), reported under the instance name.
 */
struct proto_resolve {
	const char *name; /* a valid agent name */
	size_t name_len;
};
int proto_resolve_pack(msgpack_packer *pk, const struct proto_resolve *m);
int proto_resolve_unpack(struct proto_reader *rd, struct proto_resolve *m);

struct proto_monitor {
	const char *name;
	size_t name_len;
	bool on;
};
int proto_monitor_pack(msgpack_packer *pk, const struct proto_monitor *m);
int proto_monitor_unpack(struct proto_reader *rd, struct proto_monitor *m);

struct proto_peer {
	const char *name;
	size_t name_len;
	const char *inbox; /* <= PROTO_URL_MAX */
	size_t inbox_len;
	uint32_t pid;
	const char *state; /* <= PROTO_NAME_MAX */
	size_t state_len;
};
int proto_peer_pack(msgpack_packer *pk, const struct proto_peer *m);
int proto_peer_unpack(struct proto_reader *rd, struct proto_peer *m);

/* An empty payload (READY, and requests without arguments): [] */
int proto_empty_pack(msgpack_packer *pk);
int proto_empty_unpack(struct proto_reader *rd);

#endif
