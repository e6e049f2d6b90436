#!/bin/bash
# Issue 2's skeleton from agentd's side: two link agents (HELLO, READY over
# their inherited link socketpair) reach running, one is stopped (INTERRUPT, exit 2), SIGTERM stops
# the other, agentd exits 0 and no process is left.
. "$(dirname "$0")/common.sh"
[ -x "$LINK_AGENT" ] || skip "link-agent not built"

for n in alpha beta; do
	write_unit $n.agent <<EOF2
[Agent]
ExecStart=$LINK_AGENT
Environment=LINK_AGENT_RECORD=$REC
EOF2
done
start_agentd "$UNITS"
wait_state alpha running
wait_state beta running
ctl_ok status
assert_match "$OUT" "alpha +default +running +[0-9]+"
assert_match "$OUT" "beta +default +running +[0-9]+"
pid=$(agent_pid alpha)
[ -n "$pid" ] || fail "no pid for alpha"

step "stop alpha: interrupted over the link, reply once it is down"
ctl_ok stop alpha
assert_eq "$(agent_state alpha)" inactive "state after stop"
assert_contains "$(recorded interrupt)" alpha "alpha saw the interrupt"
assert_contains "$(agent_field alpha 7) $(agent_field alpha 8)" "exited 2" "last exit"
pid_alive "$pid" && fail "alpha's pid $pid survives its stop"

step "start it again"
ctl_ok start alpha
assert_eq "$(agent_state alpha)" running
stop_agentd
assert_contains "$(recorded interrupt)" beta "beta interrupted at shutdown"
pass
