#!/bin/sh
# pipeline: 20 items through parse -> square -> format, each exactly once
# with the right result.
. "$(dirname "$0")/lib.sh"
run "$1"
expect_rc 0
expect_count 20 'item [0-9]+: .*'
for i in $(seq 1 20); do
	expect_line "item $i: $i\^2 = $((i * i))"
done
expect_last 'pipeline: 20 items in, 20 out'
