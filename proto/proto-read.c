/* SPDX-License-Identifier: MIT */
/*
 * proto-read.c - a bounds-checked msgpack cursor over raw bytes.
 *
 * Every object starts with a head: the format byte plus its fixed-size
 * fields (lengths, counts, scalar values). read_head() decodes one head
 * without consuming it and checks every declared length or count against
 * the bytes that remain, so nothing later can read past the end or loop
 * over a count that the buffer cannot hold (each element needs at least
 * one byte).
 */
#include <errno.h>
#include <string.h>

#include "proto.h"
#include "proto-read.h"

struct head {
	int type;         /* PROTO_OBJ_* */
	size_t hlen;      /* bytes of the head itself */
	size_t blen;      /* bytes of str/bin/ext data after the head */
	uint32_t count;   /* array elements or map pairs */
	bool neg;         /* integer: value is in i (negative), else u */
	uint64_t u;
	int64_t i;
	double d;
	bool b;
	int8_t ext_type;
};

static int
fail(struct proto_reader *rd, int err)
{
	if (!rd->err)
		rd->err = err;
	return rd->err;
}

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void
set_uint(struct head *h, uint64_t v)
{
	h->type = PROTO_OBJ_UINT;
	h->neg = false;
	h->u = v;
}

static void
set_int(struct head *h, int64_t v)
{
	if (v >= 0) {
		set_uint(h, (uint64_t)v);
		return;
	}
	h->type = PROTO_OBJ_INT;
	h->neg = true;
	h->i = v;
}

/* Decode the head at rd->p without consuming it. */
static int
read_head(struct proto_reader *rd, struct head *h)
{
	const uint8_t *p = rd->p;
	size_t left;
	uint8_t c;
	size_t need; /* bytes of fixed fields after the format byte */

	if (rd->err)
		return rd->err;
	left = (size_t)(rd->end - rd->p);
	if (left < 1)
		return fail(rd, -EBADMSG);
	memset(h, 0, sizeof(*h));
	c = p[0];

	/* Fixed formats with everything in the first byte. */
	if (c <= 0x7f) {
		set_uint(h, c);
		h->hlen = 1;
		return 0;
	}
	if (c >= 0xe0) {
		set_int(h, (int8_t)c);
		h->hlen = 1;
		return 0;
	}
	if (c >= 0x80 && c <= 0x8f) {
		h->type = PROTO_OBJ_MAP;
		h->count = c & 0x0f;
		h->hlen = 1;
		goto check;
	}
	if (c >= 0x90 && c <= 0x9f) {
		h->type = PROTO_OBJ_ARRAY;
		h->count = c & 0x0f;
		h->hlen = 1;
		goto check;
	}
	if (c >= 0xa0 && c <= 0xbf) {
		h->type = PROTO_OBJ_STR;
		h->blen = c & 0x1f;
		h->hlen = 1;
		goto check;
	}

	switch (c) {
	case 0xc0:
		h->type = PROTO_OBJ_NIL;
		h->hlen = 1;
		return 0;
	case 0xc2:
	case 0xc3:
		h->type = PROTO_OBJ_BOOL;
		h->b = c == 0xc3;
		h->hlen = 1;
		return 0;
	case 0xc4: case 0xc5: case 0xc6: /* bin 8/16/32 */
	case 0xd9: case 0xda: case 0xdb: /* str 8/16/32 */
		need = c == 0xc4 || c == 0xd9 ? 1 :
		       c == 0xc5 || c == 0xda ? 2 : 4;
		if (left < 1 + need)
			return fail(rd, -EBADMSG);
		h->type = c <= 0xc6 ? PROTO_OBJ_BIN : PROTO_OBJ_STR;
		h->blen = need == 1 ? p[1] : need == 2 ? be16(p + 1) :
						       be32(p + 1);
		h->hlen = 1 + need;
		goto check;
	case 0xc7: case 0xc8: case 0xc9: /* ext 8/16/32: len, type, data */
		need = c == 0xc7 ? 1 : c == 0xc8 ? 2 : 4;
		if (left < 2 + need)
			return fail(rd, -EBADMSG);
		h->type = PROTO_OBJ_EXT;
		h->blen = need == 1 ? p[1] : need == 2 ? be16(p + 1) :
						       be32(p + 1);
		h->ext_type = (int8_t)p[1 + need];
		h->hlen = 2 + need;
		goto check;
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: /* fixext */
		if (left < 2)
			return fail(rd, -EBADMSG);
		h->type = PROTO_OBJ_EXT;
		h->blen = (size_t)1 << (c - 0xd4);
		h->ext_type = (int8_t)p[1];
		h->hlen = 2;
		goto check;
	case 0xca: /* float 32 */
		if (left < 5)
			return fail(rd, -EBADMSG);
		{
			uint32_t v = be32(p + 1);
			float f;
			memcpy(&f, &v, sizeof(f));
			h->d = f;
		}
		h->type = PROTO_OBJ_FLOAT;
		h->hlen = 5;
		return 0;
	case 0xcb: /* float 64 */
		if (left < 9)
			return fail(rd, -EBADMSG);
		{
			uint64_t v = be64(p + 1);
			memcpy(&h->d, &v, sizeof(h->d));
		}
		h->type = PROTO_OBJ_FLOAT;
		h->hlen = 9;
		return 0;
	case 0xcc: case 0xcd: case 0xce: case 0xcf: /* uint 8..64 */
		need = (size_t)1 << (c - 0xcc);
		if (left < 1 + need)
			return fail(rd, -EBADMSG);
		set_uint(h, need == 1 ? p[1] : need == 2 ? be16(p + 1) :
			 need == 4 ? be32(p + 1) : be64(p + 1));
		h->hlen = 1 + need;
		return 0;
	case 0xd0: case 0xd1: case 0xd2: case 0xd3: /* int 8..64 */
		need = (size_t)1 << (c - 0xd0);
		if (left < 1 + need)
			return fail(rd, -EBADMSG);
		set_int(h, need == 1 ? (int8_t)p[1] :
			   need == 2 ? (int16_t)be16(p + 1) :
			   need == 4 ? (int32_t)be32(p + 1) :
				       (int64_t)be64(p + 1));
		h->hlen = 1 + need;
		return 0;
	case 0xdc: case 0xdd: /* array 16/32 */
	case 0xde: case 0xdf: /* map 16/32 */
		need = c == 0xdc || c == 0xde ? 2 : 4;
		if (left < 1 + need)
			return fail(rd, -EBADMSG);
		h->type = c <= 0xdd ? PROTO_OBJ_ARRAY : PROTO_OBJ_MAP;
		h->count = need == 2 ? be16(p + 1) : be32(p + 1);
		h->hlen = 1 + need;
		goto check;
	case 0xc1: /* never used */
	default:
		return fail(rd, -EBADMSG);
	}

check:
	/* Declared sizes must fit in what remains after the head. */
	if (h->hlen > left)
		return fail(rd, -EBADMSG);
	left -= h->hlen;
	if (h->blen > left)
		return fail(rd, -EBADMSG);
	if (h->type == PROTO_OBJ_ARRAY && h->count > left)
		return fail(rd, -EBADMSG);
	if (h->type == PROTO_OBJ_MAP && (uint64_t)h->count * 2 > left)
		return fail(rd, -EBADMSG);
	return 0;
}

/* Read the head of an object of the given type and consume it. */
static int
take_head(struct proto_reader *rd, struct head *h, int type)
{
	int r = read_head(rd, h);
	if (r < 0)
		return r;
	if (h->type != type)
		return fail(rd, -EBADMSG);
	rd->p += h->hlen;
	return 0;
}

void
proto_reader_init(struct proto_reader *rd, const void *buf, size_t len)
{
	rd->p = buf;
	rd->end = rd->p + (buf ? len : 0);
	rd->err = 0;
}

size_t
proto_reader_left(const struct proto_reader *rd)
{
	return (size_t)(rd->end - rd->p);
}

int
proto_read_peek(struct proto_reader *rd)
{
	struct head h;
	int r = read_head(rd, &h);
	return r < 0 ? r : h.type;
}

int
proto_read_nil(struct proto_reader *rd)
{
	struct head h;
	return take_head(rd, &h, PROTO_OBJ_NIL);
}

bool
proto_read_try_nil(struct proto_reader *rd)
{
	if (rd->err || rd->p >= rd->end || rd->p[0] != 0xc0)
		return false;
	rd->p++;
	return true;
}

int
proto_read_bool(struct proto_reader *rd, bool *ret)
{
	struct head h;
	int r = take_head(rd, &h, PROTO_OBJ_BOOL);
	if (r < 0)
		return r;
	if (ret)
		*ret = h.b;
	return 0;
}

int
proto_read_u64(struct proto_reader *rd, uint64_t *ret)
{
	struct head h;
	int r = take_head(rd, &h, PROTO_OBJ_UINT);
	if (r < 0)
		return r;
	if (ret)
		*ret = h.u;
	return 0;
}

int
proto_read_u32(struct proto_reader *rd, uint32_t *ret)
{
	struct head h;
	int r = read_head(rd, &h);
	if (r < 0)
		return r;
	if (h.type != PROTO_OBJ_UINT || h.u > UINT32_MAX)
		return fail(rd, -EBADMSG);
	rd->p += h.hlen;
	if (ret)
		*ret = (uint32_t)h.u;
	return 0;
}

int
proto_read_i64(struct proto_reader *rd, int64_t *ret)
{
	struct head h;
	int64_t v;
	int r = read_head(rd, &h);
	if (r < 0)
		return r;
	if (h.type == PROTO_OBJ_INT)
		v = h.i;
	else if (h.type == PROTO_OBJ_UINT && h.u <= INT64_MAX)
		v = (int64_t)h.u;
	else
		return fail(rd, -EBADMSG);
	rd->p += h.hlen;
	if (ret)
		*ret = v;
	return 0;
}

int
proto_read_i32(struct proto_reader *rd, int32_t *ret)
{
	struct head h;
	int64_t v;
	int r = read_head(rd, &h);
	if (r < 0)
		return r;
	if (h.type == PROTO_OBJ_INT && h.i >= INT32_MIN)
		v = h.i;
	else if (h.type == PROTO_OBJ_UINT && h.u <= INT32_MAX)
		v = (int64_t)h.u;
	else
		return fail(rd, -EBADMSG);
	rd->p += h.hlen;
	if (ret)
		*ret = (int32_t)v;
	return 0;
}

/* A float; integers are accepted too (JSON has only "numbers"). */
int
proto_read_double(struct proto_reader *rd, double *ret)
{
	struct head h;
	double v;
	int r = read_head(rd, &h);
	if (r < 0)
		return r;
	if (h.type == PROTO_OBJ_FLOAT)
		v = h.d;
	else if (h.type == PROTO_OBJ_UINT)
		v = (double)h.u;
	else if (h.type == PROTO_OBJ_INT)
		v = (double)h.i;
	else
		return fail(rd, -EBADMSG);
	rd->p += h.hlen;
	if (ret)
		*ret = v;
	return 0;
}

static int
read_bytes(struct proto_reader *rd, int type, const void **ret,
	   size_t *ret_len, size_t max)
{
	struct head h;
	int r = read_head(rd, &h);
	if (r < 0)
		return r;
	if (h.type != type)
		return fail(rd, -EBADMSG);
	if (h.blen > max)
		return fail(rd, -EMSGSIZE);
	if (ret)
		*ret = rd->p + h.hlen;
	if (ret_len)
		*ret_len = h.blen;
	rd->p += h.hlen + h.blen;
	return 0;
}

int
proto_read_str(struct proto_reader *rd, const char **ret, size_t *ret_len,
	       size_t max)
{
	const void *s = NULL;
	size_t len = 0;
	int r = read_bytes(rd, PROTO_OBJ_STR, &s, &len, max);
	if (r < 0)
		return r;
	if (ret)
		*ret = s;
	if (ret_len)
		*ret_len = len;
	return 0;
}

int
proto_read_strbuf(struct proto_reader *rd, char *buf, size_t size)
{
	const char *s;
	size_t len;
	int r;

	if (size == 0)
		return fail(rd, -EMSGSIZE);
	r = proto_read_str(rd, &s, &len, size - 1);
	if (r < 0)
		return r;
	if (memchr(s, '\0', len))
		return fail(rd, -EBADMSG);
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

int
proto_read_name(struct proto_reader *rd, char *buf, size_t size)
{
	const char *s;
	size_t len;
	int r;

	r = proto_read_str(rd, &s, &len, PROTO_NAME_MAX);
	if (r < 0)
		return r;
	if (!proto_name_is_valid(s, len))
		return fail(rd, -EBADMSG);
	if (len >= size)
		return fail(rd, -EMSGSIZE);
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

int
proto_read_bin(struct proto_reader *rd, const void **ret, size_t *ret_len,
	       size_t max)
{
	return read_bytes(rd, PROTO_OBJ_BIN, ret, ret_len, max);
}

int
proto_read_array(struct proto_reader *rd, uint32_t *ret)
{
	struct head h;
	int r = take_head(rd, &h, PROTO_OBJ_ARRAY);
	if (r < 0)
		return r;
	if (ret)
		*ret = h.count;
	return 0;
}

int
proto_read_map(struct proto_reader *rd, uint32_t *ret)
{
	struct head h;
	int r = take_head(rd, &h, PROTO_OBJ_MAP);
	if (r < 0)
		return r;
	if (ret)
		*ret = h.count;
	return 0;
}

int
proto_read_array_n(struct proto_reader *rd, uint32_t n)
{
	struct head h;
	int r = read_head(rd, &h);
	if (r < 0)
		return r;
	if (h.type != PROTO_OBJ_ARRAY || h.count != n)
		return fail(rd, -EBADMSG);
	rd->p += h.hlen;
	return 0;
}

/*
 * Skip one object. Containers nest at most PROTO_DEPTH_MAX deep: depth is
 * the number of containers already open around this object, so a top-level
 * array is at depth 0 and holds objects at depth 1. Recursion is bounded by
 * the depth limit; element counts were checked against the bytes left.
 */
static int
skip(struct proto_reader *rd, unsigned depth)
{
	struct head h;
	uint64_t n;
	int r = read_head(rd, &h);
	if (r < 0)
		return r;
	rd->p += h.hlen + h.blen;
	if (h.type != PROTO_OBJ_ARRAY && h.type != PROTO_OBJ_MAP)
		return 0;
	if (depth + 1 > PROTO_DEPTH_MAX)
		return fail(rd, -EBADMSG);
	n = h.type == PROTO_OBJ_MAP ? (uint64_t)h.count * 2 : h.count;
	for (uint64_t i = 0; i < n; i++) {
		r = skip(rd, depth + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

int
proto_read_raw(struct proto_reader *rd, const void **ret, size_t *ret_len)
{
	const uint8_t *start = rd->p;
	int r;

	if (rd->err)
		return rd->err;
	r = skip(rd, 0);
	if (r < 0)
		return r;
	if (ret)
		*ret = start;
	if (ret_len)
		*ret_len = (size_t)(rd->p - start);
	return 0;
}

int
proto_read_end(struct proto_reader *rd)
{
	if (rd->err)
		return -EBADMSG;
	if (rd->p != rd->end) {
		fail(rd, -EBADMSG);
		return -EBADMSG;
	}
	return 0;
}

int
proto_validate_object(const void *buf, size_t len)
{
	struct proto_reader rd;

	if (!buf || len == 0)
		return -EBADMSG;
	proto_reader_init(&rd, buf, len);
	if (proto_read_raw(&rd, NULL, NULL) < 0)
		return -EBADMSG;
	return proto_read_end(&rd);
}
