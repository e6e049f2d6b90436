#!/bin/bash
# agentd started with fd 0 closed: it fills fds 0-2 with /dev/null first,
# so its agents do not exec with fd 0 closed (or on one of agentd's files).
# Also: `agentctl wait --state` takes only the 7 state names (usage error,
# exit 2, for anything else).
. "$(dirname "$0")/common.sh"

probe=$(agent_script probe 'if [ -e /proc/$$/fd/0 ]; then readlink /proc/$$/fd/0 >"$OUT.tmp"; else echo closed >"$OUT.tmp"; fi; mv "$OUT.tmp" "$OUT"; exec sleep 1000')
write_unit probe.agent <<EOF2
[Agent]
ExecStart=$probe
Type=exec
Environment=OUT=$T/fd0
EOF2
step "agentd with fd 0 closed"
AGENTD_TEST_TAG=$TAG "$AGENTD" --units "$UNITS" --runtime-dir "$RT" \
	>>"$T/agentd.log" 2>&1 <&- &
AGENTD_PID=$!
_wait_agentd_answers || fail "agentd did not answer"
wait_state probe running
wait_until test -s "$T/fd0"
assert_eq "$(cat "$T/fd0")" /dev/null "the agent's fd 0"

step "agentctl wait --state: only state names"
ctl_ok --timeout 5s wait probe --state running
ctl_ok --timeout 5s wait probe --state failed,running,done
for bad in bogus running,bogus running, Running; do
	ctl_fails 2 wait probe --state "$bad"
	assert_contains "$ERR" "invalid --state"
done
stop_agentd
pass
