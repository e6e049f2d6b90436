#!/bin/bash
# An agent removed by a reload and added back by the next one while it is
# still stopping (it ignores SIGTERM) runs again once it is down; it used
# to stay inactive for good.
. "$(dirname "$0")/common.sh"

deaf=$(agent_script deaf "trap '' TERM; exec sleep 1000")
write_unit deaf.agent <<EOF2
[Agent]
ExecStart=$deaf
Type=exec
StopTimeoutSec=3s
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
wait_pid_gone "$first" 20 || fail "deaf was not killed"
wait_state deaf running
assert_ne "$(agent_pid deaf)" "$first"
stop_agentd
pass
