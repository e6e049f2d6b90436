/* SPDX-License-Identifier: MIT */
/*
 * proto-read.h - a bounds-checked msgpack cursor over raw bytes.
 *
 * msgpack-c trusts its input (a 5-byte array header makes it allocate
 * count x 24 bytes; truncation is not an error; trailing bytes pass), so
 * untrusted input is read through this cursor instead: it never allocates,
 * never reads past the end, checks every declared count against the bytes
 * that remain, limits nesting, and fails with -EBADMSG on any type or length
 * mismatch. After an error the reader is poisoned: every later call fails
 * too, so a decoder may check only its last return value.
 *
 * Strings and binaries are returned as pointer + length into the buffer
 * (not NUL-terminated). Use proto_read_strbuf to copy into a buffer.
 */
#ifndef PROTO_READ_H
#define PROTO_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum proto_obj_type {
	PROTO_OBJ_NIL = 1,
	PROTO_OBJ_BOOL,
	PROTO_OBJ_UINT,   /* non-negative integer */
	PROTO_OBJ_INT,    /* negative integer */
	PROTO_OBJ_FLOAT,
	PROTO_OBJ_STR,
	PROTO_OBJ_BIN,
	PROTO_OBJ_ARRAY,
	PROTO_OBJ_MAP,
	PROTO_OBJ_EXT,
};

struct proto_reader {
	const uint8_t *p;
	const uint8_t *end;
	int err; /* 0, or the first error */
};

void proto_reader_init(struct proto_reader *rd, const void *buf, size_t len);
/* Bytes not yet consumed. */
size_t proto_reader_left(const struct proto_reader *rd);

/* Type of the next object (PROTO_OBJ_*) without consuming it, or -EBADMSG. */
int proto_read_peek(struct proto_reader *rd);

int proto_read_nil(struct proto_reader *rd);
/* True if the next object is nil; consumes it then. */
bool proto_read_try_nil(struct proto_reader *rd);
int proto_read_bool(struct proto_reader *rd, bool *ret);
int proto_read_u64(struct proto_reader *rd, uint64_t *ret);
int proto_read_u32(struct proto_reader *rd, uint32_t *ret);
int proto_read_i64(struct proto_reader *rd, int64_t *ret);
int proto_read_i32(struct proto_reader *rd, int32_t *ret);
int proto_read_double(struct proto_reader *rd, double *ret);
/* A str of at most max bytes (else -EMSGSIZE). */
int proto_read_str(struct proto_reader *rd, const char **ret, size_t *ret_len,
		   size_t max);
/* A str copied into buf with a NUL; it must fit (len < size) and contain no
 * NUL byte, else -EMSGSIZE / -EBADMSG. */
int proto_read_strbuf(struct proto_reader *rd, char *buf, size_t size);
/* A valid agent name (proto_name_is_valid) into buf[PROTO_NAME_MAX + 1]. */
int proto_read_name(struct proto_reader *rd, char *buf, size_t size);
int proto_read_bin(struct proto_reader *rd, const void **ret, size_t *ret_len,
		   size_t max);
/* An array / map header; *ret is checked against the bytes left. */
int proto_read_array(struct proto_reader *rd, uint32_t *ret);
int proto_read_map(struct proto_reader *rd, uint32_t *ret);
/* An array header whose count must be exactly n. */
int proto_read_array_n(struct proto_reader *rd, uint32_t n);
/* Skip one whole object (validated, nesting <= PROTO_DEPTH_MAX) and return
 * its raw bytes (ret may be NULL). */
int proto_read_raw(struct proto_reader *rd, const void **ret, size_t *ret_len);
/* 0 if everything was consumed and no error happened, else -EBADMSG. */
int proto_read_end(struct proto_reader *rd);

/* Validate that buf holds exactly one well-formed object (nesting limited).
 * Use before handing untrusted bytes to msgpack_unpack. */
int proto_validate_object(const void *buf, size_t len);

#endif
