#!/bin/bash
# More than Intensity restarts within Period: the group's agents are
# stopped and failed; `agentctl start` brings them back.
. "$(dirname "$0")/common.sh"

flag=$T/crash
touch "$flag"
crasher=$(agent_script crasher "[ -e '$flag' ] && exit 3; exec sleep 1000")
sleeper=$(agent_script sleeper 'exec sleep 1000')
write_unit fragile.group <<EOF2
[Group]
Intensity=2
Period=1min
EOF2
write_unit bad.agent <<EOF2
[Agent]
ExecStart=$crasher
Type=exec
Group=fragile
RestartSec=0
EOF2
write_unit good.agent <<EOF2
[Agent]
ExecStart=$sleeper
Type=exec
Group=fragile
EOF2
write_unit other.agent <<EOF2
[Agent]
ExecStart=$sleeper
Type=exec
EOF2
start_agentd "$UNITS"
wait_state bad failed
wait_state good failed
assert_eq "$(agent_state other)" running "an agent of another group"
assert_eq "$(agent_field bad 6)" 2 "restarts before the group failed"
assert_match "$(cat "$T/agentd.log")" "group fragile: more than 2 restarts"

step "fix the cause, start again"
rm -f "$flag"
ctl_ok start bad good
assert_eq "$(agent_state bad)" running
assert_eq "$(agent_state good)" running
stop_agentd
pass
