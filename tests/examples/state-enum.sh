#!/bin/sh
# state-enum: First -> Second -> Third through the explicit enum.
. "$(dirname "$0")/lib.sh"
run "$1"
expect_rc 0
expect_output "First -> Second
Second -> Third
Third -> done"
