#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The foundation end to end (issue 2): a private agentd with two Type=agent
# units, both running through agentctl, one stopped, SIGTERM to agentd
# exits 0, and no process of the test is left.
. "${INTEGRATION_LIB:-$(dirname "$0")/../lib.sh}"

need_test_agent

for n in alpha beta; do
	write_unit "$n.agent" <<UNIT
[Agent]
Description=foundation test agent $n
Type=agent
ExecStart=$TEST_AGENT
UNIT
done

start_agentd "$UNITS"

step "both agents reach running"
wait_state alpha running
wait_state beta running

ctl_ok status
assert_match "$(head -n1 <<<"$OUT")" '^NAME +GROUP +STATE +PID +UPTIME +RESTARTS +LAST-EXIT$' "status header"
pa=$(agent_pid alpha)
pb=$(agent_pid beta)
assert_match "$pa" '^[1-9][0-9]*$' "alpha's pid"
assert_match "$pb" '^[1-9][0-9]*$' "beta's pid"
assert_ne "$pa" "$pb" "two agents, two pids"
pid_alive "$pa" || fail "alpha's pid $pa is not a live process"
pid_alive "$pb" || fail "beta's pid $pb is not a live process"
assert_eq "$(cat "/proc/$pa/environ" 2>/dev/null | tr '\0' '\n' | grep '^AGENTD_NAME=')" \
	"AGENTD_NAME=alpha" "alpha's environment"

step "stop alpha"
ctl_ok stop alpha
wait_state alpha inactive done
wait_pid_gone "$pa" "$STOP_TIMEOUT" || fail "alpha's process $pa still alive after stop"
assert_eq "$(agent_pid alpha)" "" "alpha's pid after stop"
assert_eq "$(agent_state beta)" running "beta untouched"
assert_eq "$(agent_pid beta)" "$pb" "beta's pid unchanged"

step "SIGTERM agentd: exit 0, beta gone"
stop_agentd 0
wait_pid_gone "$pb" 5 || fail "beta's process $pb survived agentd"
assert_no_leftovers
pass
