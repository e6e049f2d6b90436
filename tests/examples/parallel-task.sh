#!/bin/sh
# parallel-task: the squares of 1..10, computed across the worker pool.
. "$(dirname "$0")/lib.sh"
run "$1"
expect_rc 0
expect_output "squares: $(seq 1 10 | awk '{ printf("%s%d", (NR > 1 ? " " : ""), $1 * $1) }')"
