/* SPDX-License-Identifier: MIT */
/*
 * proto-names.c - names and families of message types, generated from
 * PROTO_MSGTYPE_MAP, and the validity rule for agent / sender names.
 */
#include <errno.h>
#include <string.h>

#include "proto.h"

const char *
proto_msgtype_to_string(uint32_t type)
{
	switch (type) {
#define PROTO_XX_STR(name, num, str, fam)                                      \
	case num:                                                              \
		return str;
		PROTO_MSGTYPE_MAP(PROTO_XX_STR)
#undef PROTO_XX_STR
	default:
		return NULL;
	}
}

int
proto_msgtype_from_string(const char *s)
{
	static const struct {
		const char *name;
		int num;
	} table[] = {
#define PROTO_XX_ENT(name, num, str, fam) { str, num },
		PROTO_MSGTYPE_MAP(PROTO_XX_ENT)
#undef PROTO_XX_ENT
	};

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].name, s) == 0)
			return table[i].num;
	return -EINVAL;
}

int
proto_msgtype_family(uint32_t type)
{
	switch (type) {
#define PROTO_XX_FAM(name, num, str, fam)                                      \
	case num:                                                              \
		return fam;
		PROTO_MSGTYPE_MAP(PROTO_XX_FAM)
#undef PROTO_XX_FAM
	default:
		return 0;
	}
}

static bool
name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
	       c == '-';
}

/*
 * base[@instance]: base is 1.. bytes of [A-Za-z0-9_.:-] not starting with
 * '.' or '-'; instance is a decimal number without leading zeros ("0" is
 * fine, "03" is not) of at most 10 digits; the whole name is at most
 * PROTO_NAME_MAX bytes so it fits char[PROTO_NAME_MAX + 1].
 */
bool
proto_name_is_valid(const char *s, size_t len)
{
	size_t i, base_len;

	if (!s || len == 0 || len > PROTO_NAME_MAX)
		return false;
	if (s[0] == '.' || s[0] == '-')
		return false;
	for (i = 0; i < len && s[i] != '@'; i++)
		if (!name_char_ok(s[i]))
			return false;
	base_len = i;
	if (base_len == 0)
		return false;
	if (base_len == len)
		return true;
	/* s[i] == '@' */
	i++;
	if (i == len || len - i > 10)
		return false;
	if (s[i] == '0' && len - i > 1)
		return false;
	for (; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}
