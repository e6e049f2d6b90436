#!/bin/sh
# sync-task prints the sum of x^10 for x in 1..20 (checked with bc).
. "$(dirname "$0")/lib.sh"
run "$1"
expect_rc 0
expect_output "$(sum_of_powers)"
