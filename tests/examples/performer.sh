#!/bin/sh
# performer: the same machine driven by a custom performer.
. "$(dirname "$0")/lib.sh"
run "$1"
expect_rc 0
expect_output "First -> Second
Second -> Third
Third -> End
End: 3 steps, done"
