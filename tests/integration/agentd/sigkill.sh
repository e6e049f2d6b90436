#!/bin/bash
# agentd SIGKILLed: its agents die with it (PR_SET_PDEATHSIG); the exit
# trap of lib.sh fails the test if any tagged process is left.
. "$(dirname "$0")/common.sh"

for n in a b c; do
	write_unit $n.agent <<EOF2
[Agent]
ExecStart=/bin/sleep 1000
Type=exec
EOF2
done
start_agentd "$UNITS" --no-cgroup
pids=
for n in a b c; do
	wait_state $n running
	pids="$pids $(agent_pid $n)"
done
kill -KILL "$AGENTD_PID"
wait "$AGENTD_PID" 2>/dev/null
AGENTD_PID=
wait_until pids_gone $pids
pass
