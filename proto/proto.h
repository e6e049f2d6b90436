/* SPDX-License-Identifier: MIT */
/*
 * proto.h - the agentd wire protocol: limits, the envelope, and the entry
 * points of the encoder and the decoder. See proto/PROTOCOL.md.
 *
 * Every message is one msgpack array, the envelope:
 *   [version, type, flags, corr, sender, payload]
 * version  uint   PROTO_VERSION
 * type     uint   enum proto_msgtype (proto-msgtypes.h)
 * flags    uint   PROTO_F_*
 * corr     uint   correlation id (0 when not a request/response)
 * sender   str    agent name, "agentd" or "agentctl" (<= PROTO_NAME_MAX)
 * payload  any    one msgpack object whose schema the type names
 *
 * Ownership: encode functions return a new nng_msg owned by the caller;
 * decode functions never take ownership, and every pointer they return
 * (strings, payload) points into the caller's buffer and lives as long as it.
 * All functions return 0 (or a count) on success and -errno on failure;
 * malformed input is -EBADMSG, a foreign protocol version -EPROTONOSUPPORT,
 * an oversized message or field -EMSGSIZE.
 */
#ifndef PROTO_PROTO_H
#define PROTO_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>
#include <nng/nng.h>

#include "proto-msgtypes.h"

#define PROTO_VERSION	1

/* Hard caps; a peer that exceeds one is malformed. */
#define PROTO_MSG_MAX		(1024 * 1024) /* bytes, also NNG_OPT_RECVMAXSZ */
#define PROTO_NAME_MAX		64            /* agent / group / sender names */
#define PROTO_STR_MAX		4096          /* free text (messages, commands) */
#define PROTO_DEPTH_MAX		32            /* msgpack nesting of a payload */
#define PROTO_LIST_MAX		65536         /* elements of a list payload */

/* Envelope flags. */
#define PROTO_F_BATCH	0x0001u /* more envelopes follow in the same nng_msg */
#define PROTO_F_MORE	0x0002u /* multi-record reply: more replies follow */

/* A decoded envelope. Pointers point into the decoded buffer. */
struct proto_env {
	uint32_t version;
	uint32_t type;       /* enum proto_msgtype */
	uint32_t flags;
	uint64_t corr;
	const char *sender;  /* not NUL-terminated */
	size_t sender_len;
	const void *payload; /* raw msgpack bytes of exactly one object */
	size_t payload_len;
};

/* ---- names (proto-names.c) ---------------------------------------------- */

/* "hello", "status", ... or NULL for an unknown number. */
const char *proto_msgtype_to_string(uint32_t type);
/* The number of a wire name, or -EINVAL. */
int proto_msgtype_from_string(const char *s);
/* PROTO_FAMILY_* of a known type, or 0 when the number is unknown. */
int proto_msgtype_family(uint32_t type);

/*
 * A valid name for an agent, group or sender: 1..PROTO_NAME_MAX bytes of
 * [A-Za-z0-9_.:-], optionally followed by '@' and an instance number
 * ("worker@3"), never starting with '.' or '-'.
 */
bool proto_name_is_valid(const char *s, size_t len);

/* ---- errors (proto-errno.c) --------------------------------------------- */

/* Map an nng return code (0 or NNG_E*) to 0 or -errno. */
int proto_errno_from_nng(int nng_rv);

/* ---- nng statistics (proto-nngstat.c) ------------------------------------ */

/* Messages written so far by the live pipes of socket s, from a snapshot
 * taken with nng_stats_get() (the caller frees it). */
uint64_t proto_stat_pipes_tx(nng_stat *all, nng_socket s);

/* ---- encoding (proto-envelope.c) ---------------------------------------- */

/*
 * A builder packs one envelope straight into an nng_msg:
 *	struct proto_builder b;
 *	r = proto_builder_begin(&b, PROTO_MSG_READY, 0, corr, "worker");
 *	if (r < 0) return r;
 *	msgpack_pack_array(&b.pk, 0);           // exactly one payload object
 *	r = proto_builder_finish(&b, &msg);     // msg: new, caller owns it
 * After begin succeeded, call exactly one of finish or abort.
 * finish fails with -ENOMEM on a failed write, -EMSGSIZE past PROTO_MSG_MAX,
 * and frees the message on failure.
 * begin fails with -EINVAL for an unknown type, unknown flag bits or an
 * invalid sender (NULL or "" is fine: no sender). finish also checks that
 * exactly one well-formed payload object was packed (else -EINVAL). The
 * packer points at b: b must not move between begin and finish.
 * With begin_append, finish stores the same msg in *ret (ret may be NULL),
 * and finish-on-failure or abort chop the partial envelope off again, so
 * msg holds only the envelopes that were finished.
 */
struct proto_builder {
	nng_msg *msg;
	msgpack_packer pk;
	int err;
	/* private: */
	bool owned;   /* begin (true) or begin_append (false) */
	size_t start; /* length of msg before this envelope */
};

int proto_builder_begin(struct proto_builder *b, uint32_t type, uint32_t flags,
			uint64_t corr, const char *sender);
/* Same, appending to an existing message (batches). b does not own msg. */
int proto_builder_begin_append(struct proto_builder *b, nng_msg *msg,
			       uint32_t type, uint32_t flags, uint64_t corr,
			       const char *sender);
int proto_builder_finish(struct proto_builder *b, nng_msg **ret);
void proto_builder_abort(struct proto_builder *b);

/* A whole envelope in one call: begin, pack(pk, arg) for the payload (one
 * object), finish. 0 with *ret (the caller owns it), or -errno. */
typedef int (*proto_pack_fn)(msgpack_packer *pk, const void *arg);
/* Append len bytes to m, reserving room geometrically (nng 1.5 grows a
 * message to the exact size on every append). 0, -EMSGSIZE (m would
 * pass PROTO_MSG_MAX), -ENOMEM. */
int proto_msg_append(nng_msg *m, const void *buf, size_t len);
int proto_build(uint32_t type, uint32_t flags, uint64_t corr,
		const char *sender, proto_pack_fn pack, const void *arg,
		nng_msg **ret);

/* Pack a string of known length / a C string (NULL packs ""). */
int proto_pack_str(msgpack_packer *pk, const char *s, size_t len);
int proto_pack_cstr(msgpack_packer *pk, const char *s);
/* Append one pre-encoded msgpack object (validated: -EINVAL if it is not
 * exactly one well-formed object); NULL or len 0 packs nil. */
int proto_pack_raw(msgpack_packer *pk, const void *obj, size_t len);

/* ---- decoding (proto-envelope.c) ---------------------------------------- */

/*
 * Decode the envelope at buf[*offset..len), validate it fully (structure,
 * version, known type, sender name, payload is one well-formed object within
 * PROTO_DEPTH_MAX) and advance *offset past it. Use it in a loop for batches.
 * Returns 0, -EBADMSG, -EPROTONOSUPPORT (ret->version is then set), or
 * -EMSGSIZE when len > PROTO_MSG_MAX.
 */
int proto_env_decode_next(const void *buf, size_t len, size_t *offset,
			  struct proto_env *ret);
/* Decode a buffer holding exactly one envelope (trailing bytes: -EBADMSG). */
int proto_env_decode(const void *buf, size_t len, struct proto_env *ret);
/* The same over an nng_msg body; msg stays owned by the caller. */
int proto_env_decode_msg(nng_msg *msg, struct proto_env *ret);

/*
 * Check that payload[0..len) matches the schema of message type `type`
 * (runs the type's unpacker, see PROTOCOL.md): 0 or -EBADMSG (also for an
 * unknown type). Handlers still unpack for the values; this is for code
 * that routes or forwards messages without reading them.
 */
int proto_payload_validate(uint32_t type, const void *payload, size_t len);

#endif
