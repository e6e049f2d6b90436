/* SPDX-License-Identifier: MIT */
/*
 * fuzz-check.h - what the libFuzzer targets here share: CHECK(cond)
 * aborts with the condition when an invariant breaks (run-fuzz.sh looks
 * for "invariant failed"), touch() reads every byte of a buffer so that
 * ASan sees a pointer or length that is out of bounds.
 */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "invariant failed: %s (%s:%d)\n",      \
				#cond, __FILE__, __LINE__);                    \
			abort();                                               \
		}                                                              \
	} while (0)

static volatile unsigned fuzz_sink;

static inline void
touch(const void *p, size_t len)
{
	const volatile uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		fuzz_sink += b[i];
}

#endif
