#!/bin/bash
# An agent removed by a reload and added back by the next one while it is
# still stopping (it ignores SIGTERM) runs again once it is down; it used
# to stay inactive for good.
#
# Its first process ignores SIGTERM and leaves only when the test creates
# $T/release, so it is certainly still stopping when the second reload
# adds it back (StopTimeoutSec is long: the stop does not end by the
# timeout's SIGKILL, which used to cost 3 s here); later processes are
# plain sleeps.
. "$(dirname "$0")/common.sh"

deaf=$(agent_script deaf "
if mkdir '$T/first' 2>/dev/null; then
	trap '' TERM
	while [ ! -e '$T/release' ]; do sleep 0.02; done
	exit 0
fi
exec sleep 1000")
write_unit deaf.agent <<EOF2
[Agent]
ExecStart=$deaf
Type=exec
StopTimeoutSec=60s
EOF2
cp "$UNITS/deaf.agent" "$T/deaf.agent.saved"
start_agentd "$UNITS"
wait_state deaf running
first=$(agent_pid deaf)

step "remove the file, reload: deaf is stopping (it ignores SIGTERM)"
rm "$UNITS/deaf.agent"
ctl_ok reload
assert_contains "$OUT" "1 removed"
wait_state deaf stopping
step "restore it, reload while it is stopping"
cp "$T/deaf.agent.saved" "$UNITS/deaf.agent"
ctl_ok reload
assert_contains "$OUT" "1 added"
assert_eq "$(agent_state deaf)" stopping "deaf after the reload that adds it back"
assert_eq "$(agent_pid deaf)" "$first" "deaf's pid while it is stopping"
step "let its first process end: deaf runs again"
touch "$T/release"
wait_pid_gone "$first" 20 || fail "deaf's first process did not end"
wait_state deaf running
assert_ne "$(agent_pid deaf)" "$first"
stop_agentd
pass
