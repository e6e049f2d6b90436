/* SPDX-License-Identifier: MIT */
/*
 * json-msgpack.c - JSON <-> msgpack for `send` and `call`.
 *
 * JSON comes from the user and is parsed by jansson; msgpack comes from an
 * agent and is untrusted: it is walked with proto's bounds-checked reader,
 * with the same depth limit as the protocol (PROTO_DEPTH_MAX).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "agentctl.h"
#include "proto-read.h"

/* ---- JSON -> msgpack ---------------------------------------------------- */

static int
json_to_msgpack_depth(const json_t *j, msgpack_packer *pk, unsigned depth)
{
	if (depth > PROTO_DEPTH_MAX)
		return -EINVAL;

	switch (json_typeof(j)) {
	case JSON_NULL:
		return msgpack_pack_nil(pk) < 0 ? -ENOMEM : 0;
	case JSON_TRUE:
		return msgpack_pack_true(pk) < 0 ? -ENOMEM : 0;
	case JSON_FALSE:
		return msgpack_pack_false(pk) < 0 ? -ENOMEM : 0;
	case JSON_INTEGER:
		return msgpack_pack_int64(pk, json_integer_value(j)) < 0 ?
			       -ENOMEM :
			       0;
	case JSON_REAL:
		return msgpack_pack_double(pk, json_real_value(j)) < 0 ?
			       -ENOMEM :
			       0;
	case JSON_STRING:
		return proto_pack_str(pk, json_string_value(j),
				      json_string_length(j));
	case JSON_ARRAY: {
		size_t i, n = json_array_size(j);
		int r;

		if (n > UINT32_MAX || msgpack_pack_array(pk, (uint32_t)n) < 0)
			return -ENOMEM;
		for (i = 0; i < n; i++) {
			r = json_to_msgpack_depth(json_array_get(j, i), pk,
						  depth + 1);
			if (r < 0)
				return r;
		}
		return 0;
	}
	case JSON_OBJECT: {
		const char *key;
		json_t *v;
		size_t n = json_object_size(j);
		int r;

		if (n > UINT32_MAX || msgpack_pack_map(pk, (uint32_t)n) < 0)
			return -ENOMEM;
		/* json_t is not modified; jansson's iterator is not const. */
		json_object_foreach((json_t *)(uintptr_t)j, key, v) {
			r = proto_pack_cstr(pk, key);
			if (r < 0)
				return r;
			r = json_to_msgpack_depth(v, pk, depth + 1);
			if (r < 0)
				return r;
		}
		return 0;
	}
	}
	return -EINVAL;
}

int
json_to_msgpack(const json_t *j, msgpack_packer *pk)
{
	return json_to_msgpack_depth(j, pk, 0);
}

int
json_text_to_msgpack(const char *text, msgpack_packer *pk, char *errbuf,
		     size_t errsize)
{
	json_error_t err;
	json_t *j;
	int r;

	j = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
	if (!j) {
		snprintf(errbuf, errsize, "line %d, column %d: %s", err.line,
			 err.column, err.text);
		return -EINVAL;
	}
	r = json_to_msgpack(j, pk);
	json_decref(j);
	if (r == -EINVAL)
		snprintf(errbuf, errsize, "nested deeper than %d levels",
			 PROTO_DEPTH_MAX);
	else if (r < 0)
		snprintf(errbuf, errsize, "%s", strerror(-r));
	return r;
}

/* ---- msgpack -> JSON ---------------------------------------------------- */

static bool
utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static json_t *
bytes_to_json_array(const uint8_t *p, size_t len)
{
	json_t *a = json_array();
	size_t i;

	if (!a)
		return NULL;
	for (i = 0; i < len; i++)
		if (json_array_append_new(a, json_integer(p[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* A string or bin: a JSON string when it is valid UTF-8 without NUL... */
static json_t *
bytes_to_json(const void *p, size_t len)
{
	if (utf8_valid(p, len))
		return json_stringn(p, len);
	return bytes_to_json_array(p, len);
}

/* ext: the reader has no typed accessor; decode the raw header here. */
static json_t *
ext_to_json(const uint8_t *raw, size_t len)
{
	size_t hdr, dlen;
	int8_t type;
	json_t *data;

	if (len < 2)
		return NULL;
	switch (raw[0]) {
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
		hdr = 1;
		break;
	case 0xc7:
		hdr = 2;
		break;
	case 0xc8:
		hdr = 3;
		break;
	case 0xc9:
		hdr = 5;
		break;
	default:
		return NULL;
	}
	if (len < hdr + 1)
		return NULL;
	type = (int8_t)raw[hdr];
	dlen = len - hdr - 1;
	data = bytes_to_json_array(raw + hdr + 1, dlen);
	if (!data)
		return NULL;
	return json_pack("{s:i, s:o}", "ext", (int)type, "data", data);
}

static int mp_to_json(struct proto_reader *rd, unsigned depth, json_t **ret);

static int
mp_key_to_string(struct proto_reader *rd, unsigned depth, char **ret,
		 size_t *ret_len)
{
	json_t *k = NULL;
	int r;

	if (proto_read_peek(rd) == PROTO_OBJ_STR) {
		const char *s;
		size_t len;

		r = proto_read_str(rd, &s, &len, PROTO_MSG_MAX);
		if (r < 0)
			return r;
		/* JSON keys are text: invalid UTF-8 cannot be one. */
		if (!utf8_valid((const uint8_t *)s, len))
			return -EBADMSG;
		/* memcpy, not strndup: a key may hold NUL bytes. */
		*ret = malloc(len + 1);
		if (!*ret)
			return -ENOMEM;
		memcpy(*ret, s, len);
		(*ret)[len] = '\0';
		*ret_len = len;
		return 0;
	}
	/* Any other key: its JSON text ("1", "true", "[1,2]"). */
	r = mp_to_json(rd, depth, &k);
	if (r < 0)
		return r;
	*ret = json_dumps(k, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(k);
	if (!*ret)
		return -ENOMEM;
	*ret_len = strlen(*ret);
	return 0;
}

static int
mp_to_json(struct proto_reader *rd, unsigned depth, json_t **ret)
{
	json_t *j = NULL;
	int type, r;

	if (depth > PROTO_DEPTH_MAX)
		return -EBADMSG;
	type = proto_read_peek(rd);
	if (type < 0)
		return type;

	switch (type) {
	case PROTO_OBJ_NIL:
		r = proto_read_nil(rd);
		j = json_null();
		break;
	case PROTO_OBJ_BOOL: {
		bool b = false;

		r = proto_read_bool(rd, &b);
		j = json_boolean(b);
		break;
	}
	case PROTO_OBJ_UINT: {
		uint64_t u = 0;

		r = proto_read_u64(rd, &u);
		j = u > INT64_MAX ? json_real((double)u) :
				    json_integer((json_int_t)u);
		break;
	}
	case PROTO_OBJ_INT: {
		int64_t i = 0;

		r = proto_read_i64(rd, &i);
		j = json_integer(i);
		break;
	}
	case PROTO_OBJ_FLOAT: {
		double d = 0;

		r = proto_read_double(rd, &d);
		/* JSON has no NaN or infinity. */
		j = d != d || d - d != 0 ? json_null() : json_real(d);
		break;
	}
	case PROTO_OBJ_STR: {
		const char *s = NULL;
		size_t len = 0;

		r = proto_read_str(rd, &s, &len, PROTO_MSG_MAX);
		if (r < 0)
			return r;
		j = bytes_to_json(s, len);
		break;
	}
	case PROTO_OBJ_BIN: {
		const void *p = NULL;
		size_t len = 0;

		r = proto_read_bin(rd, &p, &len, PROTO_MSG_MAX);
		if (r < 0)
			return r;
		j = bytes_to_json(p, len);
		break;
	}
	case PROTO_OBJ_ARRAY: {
		uint32_t n = 0, i;

		r = proto_read_array(rd, &n);
		if (r < 0)
			return r;
		j = json_array();
		if (!j)
			return -ENOMEM;
		for (i = 0; i < n; i++) {
			json_t *v = NULL;

			r = mp_to_json(rd, depth + 1, &v);
			if (r < 0) {
				json_decref(j);
				return r;
			}
			if (json_array_append_new(j, v) < 0) {
				json_decref(j);
				return -ENOMEM;
			}
		}
		break;
	}
	case PROTO_OBJ_MAP: {
		uint32_t n = 0, i;

		r = proto_read_map(rd, &n);
		if (r < 0)
			return r;
		j = json_object();
		if (!j)
			return -ENOMEM;
		for (i = 0; i < n; i++) {
			_cleanup_free_ char *key = NULL;
			size_t klen = 0;
			json_t *v = NULL;

			r = mp_key_to_string(rd, depth + 1, &key, &klen);
			if (r < 0) {
				json_decref(j);
				return r;
			}
			r = mp_to_json(rd, depth + 1, &v);
			if (r < 0) {
				json_decref(j);
				return r;
			}
			/* A later duplicate key wins, as in most decoders. */
			if (json_object_setn_new(j, key, klen, v) < 0) {
				json_decref(j);
				return -ENOMEM;
			}
		}
		break;
	}
	case PROTO_OBJ_EXT: {
		const void *raw = NULL;
		size_t len = 0;

		r = proto_read_raw(rd, &raw, &len);
		if (r < 0)
			return r;
		j = ext_to_json(raw, len);
		if (!j)
			return -EBADMSG;
		break;
	}
	default:
		return -EBADMSG;
	}
	if (r < 0) {
		json_decref(j);
		return r;
	}
	if (!j)
		return -ENOMEM;
	*ret = j;
	return 0;
}

int
msgpack_to_json(const void *buf, size_t len, json_t **ret)
{
	struct proto_reader rd;
	json_t *j = NULL;
	int r;

	if (len > PROTO_MSG_MAX)
		return -EBADMSG;
	proto_reader_init(&rd, buf, len);
	r = mp_to_json(&rd, 0, &j);
	if (r < 0)
		return r == -ENOMEM ? r : -EBADMSG;
	if (proto_read_end(&rd) < 0) {
		json_decref(j);
		return -EBADMSG;
	}
	*ret = j;
	return 0;
}
