#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A caller agent keeps its connection to a callee by name: after the callee
# restarts under agentd, the caller's next request reaches the new process;
# while the callee is stopped (agentctl stop, or SIGSTOP) the request ends
# with an error after its timeout instead of hanging; after SIGCONT and
# after a new start it is answered again.
. "$(dirname "$0")/common.sh"

write_unit callee.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT sink
UNIT
write_unit caller.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT caller callee
UNIT

start_agentd "$UNITS"
ctl_ok --timeout 20s wait callee caller

step "the caller reaches the callee"
ask caller || fail "ask: $ERR"
pid1=$(agent_pid callee)
assert_eq "$JV" "$pid1" "answer from the callee's process"

step "the callee restarts: the caller's next request reaches the new process"
ctl_ok restart callee
wait_until runs_anew callee "$pid1"
pid2=$(agent_pid callee)
wait_until ask caller
assert_eq "$JV" "$pid2" "answer from the restarted process"

step "callee stopped by SIGSTOP: the request times out, then works after SIGCONT"
kill -STOP "$pid2"
ctl_fails 1 call caller ask
assert_contains "$ERR" "imed out"
kill -CONT "$pid2"
wait_until ask caller
assert_eq "$JV" "$pid2"

step "callee stopped by agentctl: the request fails, a new start answers"
ctl_ok stop callee
wait_state callee inactive done failed
ctl_fails 1 call caller ask
echo "error while the callee is down: $ERR" >&2
ctl_ok start callee
wait_state callee running
pid3=$(agent_pid callee)
wait_until ask caller
assert_eq "$JV" "$pid3" "answer from the new process"

stop_agentd
pass
