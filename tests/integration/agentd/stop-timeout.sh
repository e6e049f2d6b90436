#!/bin/bash
# An agent that ignores SIGTERM is killed (SIGKILL) after StopTimeoutSec.
. "$(dirname "$0")/common.sh"

stubborn=$(agent_script stubborn 'trap "" TERM; while :; do sleep 0.05; done')
write_unit stubborn.agent <<EOF2
[Agent]
ExecStart=$stubborn
Type=exec
StopTimeoutSec=300ms
EOF2
start_agentd "$UNITS"
wait_state stubborn running
pid=$(agent_pid stubborn)
ctl_ok stop stubborn
assert_eq "$(agent_state stubborn)" inactive
pid_alive "$pid" && fail "pid $pid survived"
assert_contains "$(cat "$T/agentd.log")" "stubborn: did not stop within 300ms, SIGKILL"
assert_contains "$(agent_field stubborn 7) $(agent_field stubborn 8)" "killed SIGKILL"
stop_agentd
pass
