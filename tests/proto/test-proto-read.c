/* SPDX-License-Identifier: MIT */
/*
 * test-proto-read.c - the bounds-checked msgpack cursor: every format,
 * ranges, limits, poisoning, truncation, oversized declared counts, depth.
 */
#include <errno.h>
#include <float.h>
#include <stdbool.h>

#include "proto.h"
#include "proto-read.h"
#include "proto-test.h"

#define RD(t, rd) proto_reader_init(&(rd), (t)->sb.data, (t)->sb.size)

static void
test_scalars(void **state)
{
	struct tbuf t;
	struct proto_reader rd;
	uint64_t u;
	int64_t i;
	bool b;
	double d;

	tbuf_init(&t);
	msgpack_pack_nil(&t.pk);
	msgpack_pack_true(&t.pk);
	msgpack_pack_false(&t.pk);
	msgpack_pack_uint64(&t.pk, 5);          /* positive fixint */
	msgpack_pack_uint64(&t.pk, 200);        /* uint8 */
	msgpack_pack_uint64(&t.pk, 60000);      /* uint16 */
	msgpack_pack_uint64(&t.pk, 4000000000u); /* uint32 */
	msgpack_pack_uint64(&t.pk, UINT64_MAX); /* uint64 */
	msgpack_pack_int64(&t.pk, -3);          /* negative fixint */
	msgpack_pack_int64(&t.pk, -100);        /* int8 */
	msgpack_pack_int64(&t.pk, -30000);      /* int16 */
	msgpack_pack_int64(&t.pk, -2000000000); /* int32 */
	msgpack_pack_int64(&t.pk, INT64_MIN);   /* int64 */
	msgpack_pack_float(&t.pk, 1.5f);
	msgpack_pack_double(&t.pk, -2.25);
	RD(&t, rd);

	assert_int_equal(proto_read_peek(&rd), PROTO_OBJ_NIL);
	assert_int_equal(proto_read_nil(&rd), 0);
	assert_int_equal(proto_read_bool(&rd, &b), 0);
	assert_true(b);
	assert_int_equal(proto_read_bool(&rd, &b), 0);
	assert_false(b);
	assert_int_equal(proto_read_peek(&rd), PROTO_OBJ_UINT);
	assert_int_equal(proto_read_u64(&rd, &u), 0);
	assert_int_equal(u, 5);
	assert_int_equal(proto_read_u64(&rd, &u), 0);
	assert_int_equal(u, 200);
	assert_int_equal(proto_read_u64(&rd, &u), 0);
	assert_int_equal(u, 60000);
	assert_int_equal(proto_read_u64(&rd, &u), 0);
	assert_int_equal(u, 4000000000u);
	assert_int_equal(proto_read_u64(&rd, &u), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(proto_read_peek(&rd), PROTO_OBJ_INT);
	assert_int_equal(proto_read_i64(&rd, &i), 0);
	assert_int_equal(i, -3);
	assert_int_equal(proto_read_i64(&rd, &i), 0);
	assert_int_equal(i, -100);
	assert_int_equal(proto_read_i64(&rd, &i), 0);
	assert_int_equal(i, -30000);
	assert_int_equal(proto_read_i64(&rd, &i), 0);
	assert_int_equal(i, -2000000000);
	assert_int_equal(proto_read_i64(&rd, &i), 0);
	assert_true(i == INT64_MIN);
	assert_int_equal(proto_read_peek(&rd), PROTO_OBJ_FLOAT);
	assert_int_equal(proto_read_double(&rd, &d), 0);
	assert_true(d == 1.5);
	assert_int_equal(proto_read_double(&rd, &d), 0);
	assert_true(d == -2.25);
	assert_int_equal(proto_reader_left(&rd), 0);
	assert_int_equal(proto_read_end(&rd), 0);
	tbuf_done(&t);
}

/* Signed formats carrying non-negative values are UINT (other packers). */
static void
test_signed_formats_nonnegative(void **state)
{
	static const uint8_t buf[] = {
		0xd0, 0x05,                   /* int8 5 */
		0xd1, 0x01, 0x00,             /* int16 256 */
		0xd3, 0, 0, 0, 0, 0, 0, 0, 9, /* int64 9 */
	};
	struct proto_reader rd;
	uint32_t v;

	proto_reader_init(&rd, buf, sizeof(buf));
	assert_int_equal(proto_read_peek(&rd), PROTO_OBJ_UINT);
	assert_int_equal(proto_read_u32(&rd, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(proto_read_u32(&rd, &v), 0);
	assert_int_equal(v, 256);
	assert_int_equal(proto_read_u32(&rd, &v), 0);
	assert_int_equal(v, 9);
	assert_int_equal(proto_read_end(&rd), 0);
}

static void
test_int_ranges(void **state)
{
	struct tbuf t;
	struct proto_reader rd;
	uint32_t u32;
	int32_t i32;
	int64_t i64;
	double d;

	tbuf_init(&t);
	msgpack_pack_uint64(&t.pk, (uint64_t)UINT32_MAX + 1);
	RD(&t, rd);
	assert_int_equal(proto_read_u32(&rd, &u32), -EBADMSG);

	tbuf_clear(&t);
	msgpack_pack_uint32(&t.pk, UINT32_MAX);
	RD(&t, rd);
	assert_int_equal(proto_read_u32(&rd, &u32), 0);
	assert_true(u32 == UINT32_MAX);

	tbuf_clear(&t);
	msgpack_pack_int64(&t.pk, -1);
	RD(&t, rd);
	assert_int_equal(proto_read_u32(&rd, &u32), -EBADMSG);

	tbuf_clear(&t);
	msgpack_pack_int64(&t.pk, (int64_t)INT32_MIN - 1);
	RD(&t, rd);
	assert_int_equal(proto_read_i32(&rd, &i32), -EBADMSG);

	tbuf_clear(&t);
	msgpack_pack_uint64(&t.pk, (uint64_t)INT32_MAX + 1);
	RD(&t, rd);
	assert_int_equal(proto_read_i32(&rd, &i32), -EBADMSG);

	tbuf_clear(&t);
	msgpack_pack_int32(&t.pk, INT32_MIN);
	msgpack_pack_int32(&t.pk, INT32_MAX);
	RD(&t, rd);
	assert_int_equal(proto_read_i32(&rd, &i32), 0);
	assert_true(i32 == INT32_MIN);
	assert_int_equal(proto_read_i32(&rd, &i32), 0);
	assert_true(i32 == INT32_MAX);

	tbuf_clear(&t);
	msgpack_pack_uint64(&t.pk, (uint64_t)INT64_MAX + 1);
	RD(&t, rd);
	assert_int_equal(proto_read_i64(&rd, &i64), -EBADMSG);

	/* integers are accepted as doubles; strings are not */
	tbuf_clear(&t);
	msgpack_pack_int64(&t.pk, -7);
	tbuf_str(&t, "1.0");
	RD(&t, rd);
	assert_int_equal(proto_read_double(&rd, &d), 0);
	assert_true(d == -7.0);
	assert_int_equal(proto_read_double(&rd, &d), -EBADMSG);
	tbuf_done(&t);
}

static void
test_strings(void **state)
{
	struct tbuf t;
	struct proto_reader rd;
	const char *s;
	const void *p;
	size_t len;
	char buf[8];

	tbuf_init(&t);
	tbuf_str(&t, "abc");                 /* fixstr */
	tbuf_str_n(&t, 'x', 40);             /* str8 */
	tbuf_str_n(&t, 'y', 300);            /* str16 */
	tbuf_str_n(&t, 'z', 70000);          /* str32 */
	msgpack_pack_bin(&t.pk, 3);
	msgpack_pack_bin_body(&t.pk, "\0\1\2", 3);
	RD(&t, rd);
	assert_int_equal(proto_read_peek(&rd), PROTO_OBJ_STR);
	assert_int_equal(proto_read_str(&rd, &s, &len, 3), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(s, "abc", 3);
	assert_int_equal(proto_read_str(&rd, &s, &len, 40), 0);
	assert_int_equal(len, 40);
	assert_int_equal(proto_read_str(&rd, &s, &len, 300), 0);
	assert_int_equal(len, 300);
	assert_int_equal(s[299], 'y');
	assert_int_equal(proto_read_str(&rd, &s, &len, 70000), 0);
	assert_int_equal(len, 70000);
	assert_int_equal(proto_read_peek(&rd), PROTO_OBJ_BIN);
	assert_int_equal(proto_read_bin(&rd, &p, &len, 3), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "\0\1\2", 3);
	assert_int_equal(proto_read_end(&rd), 0);

	/* too long for max: -EMSGSIZE, then poisoned */
	RD(&t, rd);
	assert_int_equal(proto_read_str(&rd, &s, &len, 2), -EMSGSIZE);
	assert_int_equal(proto_read_str(&rd, &s, &len, 100), -EMSGSIZE);
	assert_int_equal(proto_read_end(&rd), -EBADMSG);

	/* a bin is not a str and vice versa */
	tbuf_clear(&t);
	msgpack_pack_bin(&t.pk, 1);
	msgpack_pack_bin_body(&t.pk, "a", 1);
	RD(&t, rd);
	assert_int_equal(proto_read_str(&rd, &s, &len, 10), -EBADMSG);
	tbuf_clear(&t);
	tbuf_str(&t, "a");
	RD(&t, rd);
	assert_int_equal(proto_read_bin(&rd, &p, &len, 10), -EBADMSG);

	/* strbuf: fits with the NUL, no NUL inside */
	tbuf_clear(&t);
	tbuf_str(&t, "1234567");
	tbuf_str(&t, "12345678");
	RD(&t, rd);
	assert_int_equal(proto_read_strbuf(&rd, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1234567");
	assert_int_equal(proto_read_strbuf(&rd, buf, sizeof(buf)), -EMSGSIZE);

	tbuf_clear(&t);
	msgpack_pack_str(&t.pk, 3);
	msgpack_pack_str_body(&t.pk, "a\0b", 3);
	RD(&t, rd);
	assert_int_equal(proto_read_strbuf(&rd, buf, sizeof(buf)), -EBADMSG);
	tbuf_done(&t);
}

static void
test_names(void **state)
{
	static const char *const good[] = {
		"a", "worker", "worker@3", "worker@0", "agentd", "A_b.c:d-e",
		"x@4294967295", "0abc",
	};
	static const char *const bad[] = {
		"", "-x", ".x", "a/b", "a b", "a@", "@3", "a@03", "a@x",
		"a@1@2", "a\n", "x@12345678901", "ä",
	};
	char name[PROTO_NAME_MAX + 1];
	struct tbuf t;
	struct proto_reader rd;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(proto_name_is_valid(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(proto_name_is_valid(bad[i], strlen(bad[i])));
	assert_false(proto_name_is_valid(NULL, 0));
	assert_false(proto_name_is_valid("a\0b", 3));

	memset(name, 'n', PROTO_NAME_MAX);
	assert_true(proto_name_is_valid(name, PROTO_NAME_MAX));
	assert_false(proto_name_is_valid(name, PROTO_NAME_MAX + 1));

	tbuf_init(&t);
	tbuf_str(&t, "worker@3");
	tbuf_str_n(&t, 'n', PROTO_NAME_MAX);
	tbuf_str_n(&t, 'n', PROTO_NAME_MAX + 1);
	RD(&t, rd);
	assert_int_equal(proto_read_name(&rd, name, sizeof(name)), 0);
	assert_string_equal(name, "worker@3");
	assert_int_equal(proto_read_name(&rd, name, sizeof(name)), 0);
	assert_int_equal(strlen(name), PROTO_NAME_MAX);
	assert_int_equal(proto_read_name(&rd, name, sizeof(name)), -EMSGSIZE);

	tbuf_clear(&t);
	tbuf_str(&t, "../etc");
	RD(&t, rd);
	assert_int_equal(proto_read_name(&rd, name, sizeof(name)), -EBADMSG);
	tbuf_done(&t);
}

static void
test_containers(void **state)
{
	struct tbuf t;
	struct proto_reader rd;
	uint32_t n;
	const void *raw;
	size_t len;

	tbuf_init(&t);
	msgpack_pack_array(&t.pk, 2);   /* fixarray */
	msgpack_pack_uint8(&t.pk, 1);
	msgpack_pack_map(&t.pk, 1);     /* fixmap */
	tbuf_str(&t, "k");
	msgpack_pack_nil(&t.pk);
	msgpack_pack_array(&t.pk, 20);  /* array16 */
	for (int i = 0; i < 20; i++)
		msgpack_pack_nil(&t.pk);
	msgpack_pack_map(&t.pk, 20);    /* map16 */
	for (int i = 0; i < 20; i++) {
		msgpack_pack_int(&t.pk, i);
		msgpack_pack_int(&t.pk, -i);
	}
	RD(&t, rd);
	assert_int_equal(proto_read_peek(&rd), PROTO_OBJ_ARRAY);
	assert_int_equal(proto_read_array(&rd, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(proto_read_u32(&rd, &n), 0);
	assert_int_equal(proto_read_peek(&rd), PROTO_OBJ_MAP);
	assert_int_equal(proto_read_map(&rd, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(proto_read_raw(&rd, &raw, &len), 0); /* "k" */
	assert_int_equal(len, 2);
	assert_true(proto_read_try_nil(&rd));
	assert_false(proto_read_try_nil(&rd));
	assert_int_equal(proto_read_array_n(&rd, 20), 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(proto_read_nil(&rd), 0);
	assert_int_equal(proto_read_raw(&rd, &raw, &len), 0);
	assert_int_equal(proto_read_end(&rd), 0);

	/* array32/map32 headers with honest counts */
	tbuf_clear(&t);
	tbuf_bytes(&t, 5, 0xdd, 0, 0, 0, 2);
	tbuf_bytes(&t, 2, 0xc0, 0xc0);
	tbuf_bytes(&t, 5, 0xdf, 0, 0, 0, 1);
	tbuf_bytes(&t, 2, 0x01, 0x02);
	RD(&t, rd);
	assert_int_equal(proto_read_array_n(&rd, 2), 0);
	assert_int_equal(proto_read_nil(&rd), 0);
	assert_int_equal(proto_read_nil(&rd), 0);
	assert_int_equal(proto_read_map(&rd, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(proto_read_raw(&rd, NULL, NULL), 0);
	assert_int_equal(proto_read_raw(&rd, NULL, NULL), 0);
	assert_int_equal(proto_read_end(&rd), 0);

	/* array_n with another count */
	RD(&t, rd);
	assert_int_equal(proto_read_array_n(&rd, 3), -EBADMSG);
	tbuf_done(&t);
}

static void
test_ext(void **state)
{
	/* fixext 1/2/4/8/16 and ext 8/16/32, all skippable */
	uint8_t buf[256];
	size_t n = 0;
	struct proto_reader rd;
	const void *raw;
	size_t len;

	for (int k = 0; k < 5; k++) {
		size_t dl = (size_t)1 << k;
		buf[n++] = (uint8_t)(0xd4 + k);
		buf[n++] = 0x01; /* ext type */
		memset(buf + n, 0xaa, dl);
		n += dl;
	}
	buf[n++] = 0xc7; buf[n++] = 3; buf[n++] = 0xff;
	memset(buf + n, 0, 3); n += 3;
	buf[n++] = 0xc8; buf[n++] = 0; buf[n++] = 2; buf[n++] = 0x05;
	memset(buf + n, 0, 2); n += 2;
	buf[n++] = 0xc9; buf[n++] = 0; buf[n++] = 0; buf[n++] = 0; buf[n++] = 1;
	buf[n++] = 0x05; buf[n++] = 0x42;

	proto_reader_init(&rd, buf, n);
	for (int k = 0; k < 8; k++) {
		assert_int_equal(proto_read_peek(&rd), PROTO_OBJ_EXT);
		assert_int_equal(proto_read_raw(&rd, &raw, &len), 0);
	}
	assert_int_equal(len, 7);
	assert_int_equal(proto_read_end(&rd), 0);

	/* truncated ext data */
	proto_reader_init(&rd, buf, 5); /* d4 01 aa d5 01 (missing 2) */
	assert_int_equal(proto_read_raw(&rd, NULL, NULL), 0);
	assert_int_equal(proto_read_raw(&rd, NULL, NULL), -EBADMSG);
}

/* 0xc1 is never used in msgpack. */
static void
test_reserved_byte(void **state)
{
	static const uint8_t buf[] = { 0xc1 };
	struct proto_reader rd;

	proto_reader_init(&rd, buf, 1);
	assert_int_equal(proto_read_peek(&rd), -EBADMSG);
	assert_int_equal(proto_validate_object(buf, 1), -EBADMSG);
}

/* A 5-byte header declaring 2^32-1 elements or bytes is rejected at once. */
static void
test_huge_declared_counts(void **state)
{
	static const uint8_t heads[][6] = {
		{ 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0 }, /* array32 */
		{ 0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0 }, /* map32 */
		{ 0xdb, 0xff, 0xff, 0xff, 0xff, 'a' },  /* str32 */
		{ 0xc6, 0xff, 0xff, 0xff, 0xff, 'a' },  /* bin32 */
		{ 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01 }, /* ext32 */
		{ 0xdc, 0xff, 0xff, 0xc0, 0xc0, 0xc0 }, /* array16 */
		{ 0xde, 0x00, 0x02, 0xc0, 0xc0, 0xc0 }, /* map16: 4 > 3 left */
	};
	struct proto_reader rd;
	uint32_t n;
	const char *s;
	size_t len;

	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		assert_int_equal(proto_validate_object(heads[i], 6), -EBADMSG);
		proto_reader_init(&rd, heads[i], 6);
		assert_int_equal(proto_read_peek(&rd), -EBADMSG);
	}
	proto_reader_init(&rd, heads[0], 6);
	assert_int_equal(proto_read_array(&rd, &n), -EBADMSG);
	proto_reader_init(&rd, heads[1], 6);
	assert_int_equal(proto_read_map(&rd, &n), -EBADMSG);
	proto_reader_init(&rd, heads[2], 6);
	assert_int_equal(proto_read_str(&rd, &s, &len, SIZE_MAX), -EBADMSG);
}

static void
test_depth(void **state)
{
	uint8_t buf[PROTO_DEPTH_MAX + 2];

	/* PROTO_DEPTH_MAX nested arrays around a nil: fine */
	memset(buf, 0x91, PROTO_DEPTH_MAX);
	buf[PROTO_DEPTH_MAX] = 0xc0;
	assert_int_equal(proto_validate_object(buf, PROTO_DEPTH_MAX + 1), 0);
	/* one more: rejected */
	memset(buf, 0x91, PROTO_DEPTH_MAX + 1);
	buf[PROTO_DEPTH_MAX + 1] = 0xc0;
	assert_int_equal(proto_validate_object(buf, PROTO_DEPTH_MAX + 2),
			 -EBADMSG);
	/* maps count too */
	for (int i = 0; i <= PROTO_DEPTH_MAX; i++)
		buf[i] = (i % 2) ? 0x81 : 0x91;
	assert_int_equal(proto_validate_object(buf, PROTO_DEPTH_MAX + 2),
			 -EBADMSG);
}

static void
test_poison(void **state)
{
	struct tbuf t;
	struct proto_reader rd;
	uint32_t v;
	bool b;

	tbuf_init(&t);
	tbuf_str(&t, "x");
	msgpack_pack_uint8(&t.pk, 1);
	msgpack_pack_nil(&t.pk);
	RD(&t, rd);
	assert_int_equal(proto_read_u32(&rd, &v), -EBADMSG);
	/* the next object is a valid u32, but the reader stays poisoned */
	assert_int_equal(proto_read_str(&rd, NULL, NULL, 10), -EBADMSG);
	assert_int_equal(proto_read_u32(&rd, &v), -EBADMSG);
	assert_int_equal(proto_read_bool(&rd, &b), -EBADMSG);
	assert_false(proto_read_try_nil(&rd));
	assert_int_equal(proto_read_peek(&rd), -EBADMSG);
	assert_int_equal(proto_read_raw(&rd, NULL, NULL), -EBADMSG);
	assert_int_equal(proto_read_end(&rd), -EBADMSG);
	tbuf_done(&t);
}

static void
test_end_and_empty(void **state)
{
	static const uint8_t buf[] = { 0x01, 0x02 };
	struct proto_reader rd;
	uint32_t v;

	proto_reader_init(&rd, buf, 2);
	assert_int_equal(proto_read_u32(&rd, &v), 0);
	assert_int_equal(proto_read_end(&rd), -EBADMSG); /* trailing byte */

	proto_reader_init(&rd, buf, 0);
	assert_int_equal(proto_read_end(&rd), 0);
	assert_int_equal(proto_read_u32(&rd, &v), -EBADMSG);

	proto_reader_init(&rd, NULL, 0);
	assert_int_equal(proto_read_peek(&rd), -EBADMSG);

	assert_int_equal(proto_validate_object(buf, 0), -EBADMSG);
	assert_int_equal(proto_validate_object(buf, 1), 0);
	assert_int_equal(proto_validate_object(buf, 2), -EBADMSG);
}

/* Every prefix of a valid object is rejected; the object itself is not. */
static void
test_truncation_everywhere(void **state)
{
	struct tbuf t;

	tbuf_init(&t);
	msgpack_pack_map(&t.pk, 3);
	tbuf_str(&t, "a");
	msgpack_pack_array(&t.pk, 3);
	msgpack_pack_uint64(&t.pk, UINT64_MAX);
	msgpack_pack_double(&t.pk, 3.5);
	msgpack_pack_int16(&t.pk, -300);
	tbuf_str_n(&t, 'b', 40);
	msgpack_pack_bin(&t.pk, 300);
	for (int i = 0; i < 300; i++)
		msgpack_pack_bin_body(&t.pk, "x", 1);
	msgpack_pack_float(&t.pk, 1.0f);
	msgpack_pack_ext(&t.pk, 3, 7);
	msgpack_pack_ext_body(&t.pk, "abc", 3);

	assert_int_equal(proto_validate_object(t.sb.data, t.sb.size), 0);
	for (size_t i = 0; i < t.sb.size; i++)
		assert_int_equal(proto_validate_object(t.sb.data, i), -EBADMSG);
	tbuf_done(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_signed_formats_nonnegative),
		cmocka_unit_test(test_int_ranges),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_containers),
		cmocka_unit_test(test_ext),
		cmocka_unit_test(test_reserved_byte),
		cmocka_unit_test(test_huge_declared_counts),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_poison),
		cmocka_unit_test(test_end_and_empty),
		cmocka_unit_test(test_truncation_everywhere),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
