#!/bin/sh
# run-both: the concurrent and parallel tasks run as sub-agents, joined.
. "$(dirname "$0")/lib.sh"
run "$1"
expect_rc 0
expect_count 4 'loaded http://127\.0\.0\.1:[0-9]+/.*'
expect_line 'squares: 1 4 9 16 25 36 49 64 81 100'
expect_order 'joined 4 pages' 'concurrent-task ended: done'
expect_order 'squares: .*' 'parallel-task ended: done'
expect_last 'both ended'
