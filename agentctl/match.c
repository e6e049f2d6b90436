/* SPDX-License-Identifier: MIT */
/* match.c - NAME or GLOB arguments (fnmatch(3) patterns). */
#include <fnmatch.h>
#include <string.h>

#include "agentctl.h"

bool
match_is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

bool
match_any(const char *name, char *const *patterns, size_t n)
{
	size_t i;

	if (n == 0)
		return true;
	for (i = 0; i < n; i++)
		if (fnmatch(patterns[i], name, 0) == 0)
			return true;
	return false;
}
