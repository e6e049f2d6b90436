/* SPDX-License-Identifier: MIT */
/* bench-stamp.h - the record bench-agent writes into $BENCH_STAMP. */
#ifndef BENCH_STAMP_H
#define BENCH_STAMP_H

#include <stdint.h>

enum {
	BENCH_STAMP_MAIN = 0,  /* main() entered (exec + dynamic linking done) */
	BENCH_STAMP_BEGIN = 1, /* begin() runs: READY goes out next */
};

struct bench_stamp {
	uint32_t pid;
	uint32_t kind;
	uint64_t ns; /* CLOCK_MONOTONIC */
};

_Static_assert(sizeof(struct bench_stamp) == 16, "stamp is 16 bytes");

#endif
