#!/bin/sh
# supervisor: children stop group by group, the greatest group first; a
# group is fully stopped before the next is asked; finalize comes last.
. "$(dirname "$0")/lib.sh"
run "$1"
expect_rc 0
expect_count 8 'stopping [a-z0-9-]+ \(group [0-9]+\)'
expect_count 8 'stopped [a-z0-9-]+ \(group [0-9]+\)'
expect_order 'app: 8 children running' 'app: done, stopping its children' \
	'stopping session-2 \(group 7\)' 'stopping session-1 \(group 6\)' \
	'stopping db-cleaner \(group 4\)' 'stopping health-check \(group 3\)' \
	'stopping server \(group 2\)' 'stopping requests \(group 1\)' \
	'stopping worker-[12] \(group 0\)'
# One group at a time, greatest first: no line about a group greater than
# one already stopped, and no "stopping" of a group while a greater group
# still has a member stopping.
printf '%s\n' "$out" | awk '
	/^stopp(ing|ed) / {
		g = $NF; sub(/\)/, "", g); g += 0
		if (seen && g > min) bad = 1
		if ($1 == "stopping") {
			for (h in open) if (open[h] > 0 && h + 0 > g) bad = 1
			open[g]++
		} else {
			open[g]--
			if (!seen || g < min) min = g
			seen = 1
		}
	}
	END { exit bad }' || fail "groups did not stop one at a time, greatest first"
expect_last 'app: finalized \(done\)'
