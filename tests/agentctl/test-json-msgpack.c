/* SPDX-License-Identifier: MIT */
/* test-json-msgpack.c - JSON <-> msgpack conversion of agentctl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agentctl.h"

/* JSON text -> msgpack -> JSON text (compact, keys in order). */
static char *
roundtrip(const char *text)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char err[256];
	json_t *j = NULL;
	char *out;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	assert_int_equal(json_text_to_msgpack(text, &pk, err, sizeof(err)), 0);
	assert_int_equal(msgpack_to_json(sb.data, sb.size, &j), 0);
	msgpack_sbuffer_destroy(&sb);
	out = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY |
				    JSON_PRESERVE_ORDER);
	json_decref(j);
	assert_non_null(out);
	return out;
}

static void
check_roundtrip(const char *in, const char *want)
{
	char *out = roundtrip(in);

	assert_string_equal(out, want);
	free(out);
}

static void
test_roundtrip_values(void **state)
{
	check_roundtrip("null", "null");
	check_roundtrip("true", "true");
	check_roundtrip("false", "false");
	check_roundtrip("0", "0");
	check_roundtrip("-1", "-1");
	check_roundtrip("9223372036854775807", "9223372036854775807");
	check_roundtrip("-9223372036854775808", "-9223372036854775808");
	check_roundtrip("1.5", "1.5");
	check_roundtrip("\"héllo\"", "\"héllo\"");
	check_roundtrip("\"a\\u0000b\"", "\"a\\u0000b\"");
	check_roundtrip("[]", "[]");
	check_roundtrip("{}", "{}");
	check_roundtrip("[1,[2,[3]],{\"a\":{\"b\":null}}]",
			"[1,[2,[3]],{\"a\":{\"b\":null}}]");
	check_roundtrip("{\"z\":1,\"a\":2}", "{\"z\":1,\"a\":2}");
}

static void
test_bad_json(void **state)
{
	static const char *const bad[] = {
		"", "{", "[1,", "{\"a\":}", "nul", "{\"a\":1,\"a\":2}",
		"[1] [2]", "'x'", "{a:1}", "\"\\x\"",
	};
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char err[256];
	size_t i;

	for (i = 0; i < ELEMENTSOF(bad); i++) {
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		err[0] = '\0';
		assert_int_equal(json_text_to_msgpack(bad[i], &pk, err,
						      sizeof(err)),
				 -EINVAL);
		/* The message says where. */
		assert_non_null(strstr(err, "line"));
		msgpack_sbuffer_destroy(&sb);
	}
}

static void
test_json_too_deep(void **state)
{
	char text[2 * (PROTO_DEPTH_MAX + 2) + 1];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char err[256];
	size_t i, d = PROTO_DEPTH_MAX + 2;

	for (i = 0; i < d; i++) {
		text[i] = '[';
		text[d + i] = ']';
	}
	text[2 * d] = '\0';
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	assert_int_equal(json_text_to_msgpack(text, &pk, err, sizeof(err)),
			 -EINVAL);
	msgpack_sbuffer_destroy(&sb);
}

static void
check_mp(const void *buf, size_t len, const char *want)
{
	json_t *j = NULL;
	char *out;

	assert_int_equal(msgpack_to_json(buf, len, &j), 0);
	out = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY |
				    JSON_PRESERVE_ORDER);
	json_decref(j);
	assert_string_equal(out, want);
	free(out);
}

static void
test_msgpack_specials(void **state)
{
	/* uint64 max -> real */
	static const uint8_t u64max[] = { 0xcf, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0xff, 0xff, 0xff };
	/* map with an int key {1: "x"} */
	static const uint8_t intkey[] = { 0x81, 0x01, 0xa1, 'x' };
	/* bin8 "ab" (valid UTF-8) and bin8 \xff\x00 (not) */
	static const uint8_t bin_ok[] = { 0xc4, 0x02, 'a', 'b' };
	static const uint8_t bin_raw[] = { 0xc4, 0x02, 0xff, 0x00 };
	/* fixext1 type 5 data 0x07 */
	static const uint8_t ext[] = { 0xd4, 0x05, 0x07 };
	/* float64 NaN -> null */
	static const uint8_t nan[] = { 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0 };
	/* str with invalid UTF-8 -> byte array */
	static const uint8_t badstr[] = { 0xa2, 0xc3, 0x28 };
	/* {"a\0b": 1}: a key with a NUL byte */
	static const uint8_t nulkey[] = { 0x81, 0xa3, 'a', 0, 'b', 0x01 };

	check_mp(u64max, sizeof(u64max), "1.8446744073709552e19");
	check_mp(intkey, sizeof(intkey), "{\"1\":\"x\"}");
	check_mp(bin_ok, sizeof(bin_ok), "\"ab\"");
	check_mp(bin_raw, sizeof(bin_raw), "[255,0]");
	check_mp(ext, sizeof(ext), "{\"ext\":5,\"data\":[7]}");
	check_mp(nan, sizeof(nan), "null");
	check_mp(badstr, sizeof(badstr), "[195,40]");
	check_mp(nulkey, sizeof(nulkey), "{\"a\\u0000b\":1}");
}

static void
test_msgpack_malformed(void **state)
{
	static const uint8_t trunc_arr[] = { 0x92, 0x01 };        /* [1, ? */
	static const uint8_t trailing[] = { 0x01, 0x02 };         /* 1 2 */
	static const uint8_t huge_arr[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t trunc_str[] = { 0xa5, 'a', 'b' };
	static const uint8_t reserved[] = { 0xc1 };
	/* {"\xff": 1}: a key that is not UTF-8 */
	static const uint8_t badkey[] = { 0x81, 0xa1, 0xff, 0x01 };
	uint8_t deep[PROTO_DEPTH_MAX + 10];
	json_t *j = NULL;

	assert_int_equal(msgpack_to_json(trunc_arr, sizeof(trunc_arr), &j),
			 -EBADMSG);
	assert_int_equal(msgpack_to_json(trailing, sizeof(trailing), &j),
			 -EBADMSG);
	assert_int_equal(msgpack_to_json(huge_arr, sizeof(huge_arr), &j),
			 -EBADMSG);
	assert_int_equal(msgpack_to_json(trunc_str, sizeof(trunc_str), &j),
			 -EBADMSG);
	assert_int_equal(msgpack_to_json(reserved, sizeof(reserved), &j),
			 -EBADMSG);
	assert_int_equal(msgpack_to_json("", 0, &j), -EBADMSG);
	assert_int_equal(msgpack_to_json(badkey, sizeof(badkey), &j), -EBADMSG);
	memset(deep, 0x91, sizeof(deep)); /* [[[[... */
	deep[sizeof(deep) - 1] = 0xc0;
	assert_int_equal(msgpack_to_json(deep, sizeof(deep), &j), -EBADMSG);
	assert_null(j);
}

/* Untrusted msgpack: random and mutated buffers never crash and either
 * convert or fail with -EBADMSG (run under ASan in CI). */
static void
test_msgpack_random(void **state)
{
	static const char *const seeds[] = {
		"{\"a\":[1,2,{\"b\":null}],\"s\":\"x\",\"f\":1.5}",
		"[[[[[[\"deep\"]]]]]]", "\"str\"", "-123456789012",
	};
	uint8_t buf[256];
	unsigned seed = 12345;
	size_t i, k;

	for (i = 0; i < 200000; i++) {
		size_t len;
		json_t *j = NULL;
		int r;

		if (i % 2 == 0) {
			len = rand_r(&seed) % sizeof(buf);
			for (k = 0; k < len; k++)
				buf[k] = (uint8_t)rand_r(&seed);
		} else {
			msgpack_sbuffer sb;
			msgpack_packer pk;
			char err[128];

			msgpack_sbuffer_init(&sb);
			msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
			assert_int_equal(json_text_to_msgpack(
						 seeds[i / 2 % ELEMENTSOF(seeds)],
						 &pk, err, sizeof(err)),
					 0);
			len = MIN(sb.size, sizeof(buf));
			memcpy(buf, sb.data, len);
			msgpack_sbuffer_destroy(&sb);
			/* flip a byte, maybe truncate */
			buf[rand_r(&seed) % len] = (uint8_t)rand_r(&seed);
			if (rand_r(&seed) % 4 == 0)
				len = rand_r(&seed) % (len + 1);
		}
		r = msgpack_to_json(buf, len, &j);
		assert_true(r == 0 || r == -EBADMSG);
		if (r == 0) {
			char *out = json_dumps(j, JSON_ENCODE_ANY);

			assert_non_null(out);
			free(out);
			json_decref(j);
		} else {
			assert_null(j);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_values),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_json_too_deep),
		cmocka_unit_test(test_msgpack_specials),
		cmocka_unit_test(test_msgpack_malformed),
		cmocka_unit_test(test_msgpack_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
