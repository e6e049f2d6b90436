#!/bin/sh
# monitor: 5 polls, the first 2 fail (503); the counters live in the state.
. "$(dirname "$0")/lib.sh"
run "$1"
expect_rc 0
expect_output "poll 1: HTTP 503 Service Unavailable
poll 2: HTTP 503 Service Unavailable
poll 3: ok
poll 4: ok
poll 5: ok
monitor: 5 polls, 3 successful"
