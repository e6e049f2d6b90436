#!/bin/bash
# Escalate=yes: past its intensity the group fails and agentd stops every
# agent in order and exits with status 1, so systemd can act.
. "$(dirname "$0")/common.sh"

write_unit critical.group <<EOF2
[Group]
Order=1
Intensity=1
Period=1min
Escalate=yes
EOF2
bad=$(agent_script bad "while [ ! -e '$T/go' ]; do sleep 0.02; done; exit 1")
write_unit bad.agent <<EOF2
[Agent]
ExecStart=$bad
Type=exec
Group=critical
RestartSec=0
EOF2
write_unit bystander.agent <<EOF2
[Agent]
ExecStart=/bin/sleep 1000
Type=exec
EOF2
start_agentd "$UNITS"
wait_state bad running
wait_state bystander running
touch "$T/go"
wait_agentd_exit
assert_eq "$RC" 1 "agentd's exit status"
grep -q "group critical: Escalate=yes, agentd exits with failure" "$T/agentd.log" ||
	fail "no escalation logged"
grep -q "every agent stopped, exiting" "$T/agentd.log" || fail "no ordered stop"
pass
