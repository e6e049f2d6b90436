#!/bin/sh
# repeat: 3 failed attempts are repaired (repeat() runs again), the 4th
# loads the page and ends the routine.
. "$(dirname "$0")/lib.sh"
run "$1"
expect_rc 0
expect_output "attempt 1: HTTP 503 Service Unavailable, repeating
attempt 2: HTTP 503 Service Unavailable, repeating
attempt 3: HTTP 503 Service Unavailable, repeating
attempt 4: loaded This is the page /rust-lang.
task ended: done"
