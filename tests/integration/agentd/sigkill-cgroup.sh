#!/bin/bash
# agentd SIGKILLed in cgroup mode: the main processes die with it
# (PR_SET_PDEATHSIG); a setsid grandchild lives on in the dead agentd's
# agent cgroup until the next agentd starts, which kills it and removes the
# stale cgroups.
. "$(dirname "$0")/common.sh"

forker=$(agent_script forker 'setsid sleep 1000 & echo $! >"$PIDS"; exec sleep 1000')
write_unit forker.agent <<EOF2
[Agent]
ExecStart=$forker
Type=exec
Environment=PIDS=$T/pids
EOF2
start_agentd "$UNITS"
grep -q "cgroup mode" "$T/agentd.log" || skip "agentd has no writable cgroup here"
wait_state forker running
wait_until test -s "$T/pids"
main=$(agent_pid forker)
gc=$(cat "$T/pids")
cg=$(sed -n 's/.*cgroup mode: agents under //p' "$T/agentd.log")
kill -KILL "$AGENTD_PID"
wait "$AGENTD_PID" 2>/dev/null
AGENTD_PID=
wait_until pids_gone "$main"
pid_alive "$gc" || step "(the grandchild died with agentd already)"
rm -f "$RT/control.sock"
start_agentd "$UNITS"
# (any agentd starting now does the cleanup: another test's may be first)
wait_until pids_gone "$gc"
wait_until test ! -d "$cg"
stop_agentd
pass
