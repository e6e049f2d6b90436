/* SPDX-License-Identifier: MIT */
/*
 * proto-test.h - helpers for the proto unit tests: a growable byte buffer
 * with a msgpack packer, to write well-formed and hand-made malformed
 * msgpack alike.
 */
#ifndef TESTS_PROTO_TEST_H
#define TESTS_PROTO_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

struct tbuf {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static inline void
tbuf_init(struct tbuf *t)
{
	msgpack_sbuffer_init(&t->sb);
	msgpack_packer_init(&t->pk, &t->sb, msgpack_sbuffer_write);
}

static inline void
tbuf_done(struct tbuf *t)
{
	msgpack_sbuffer_destroy(&t->sb);
}

static inline void
tbuf_clear(struct tbuf *t)
{
	msgpack_sbuffer_clear(&t->sb);
}

/* Append raw bytes (for hand-made malformed input). */
static inline void
tbuf_raw(struct tbuf *t, const void *p, size_t len)
{
	assert_int_equal(msgpack_sbuffer_write(&t->sb, p, len), 0);
}

static inline void
tbuf_bytes(struct tbuf *t, size_t n, ...)
{
	va_list ap;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)va_arg(ap, int);
		tbuf_raw(t, &c, 1);
	}
	va_end(ap);
}

static inline void
tbuf_str(struct tbuf *t, const char *s)
{
	msgpack_pack_str(&t->pk, strlen(s));
	msgpack_pack_str_body(&t->pk, s, strlen(s));
}

/* A string of n copies of c. */
static inline void
tbuf_str_n(struct tbuf *t, char c, size_t n)
{
	char *s = malloc(n ? n : 1);
	assert_non_null(s);
	memset(s, c, n);
	msgpack_pack_str(&t->pk, n);
	msgpack_pack_str_body(&t->pk, s, n);
	free(s);
}

#endif
