#!/bin/bash
# A setsid grandchild, a double-forked daemon and a setsid shell that
# keeps a child of its own (an orphan with a live child) are gone after the stop,
# in cgroup mode and in process-group mode (--no-cgroup). Both modes run
# one after the other with their own agentd.
. "$(dirname "$0")/common.sh"
command -v setsid >/dev/null || skip "no setsid"

forker=$(agent_script forker '
setsid sleep 1000 &
echo $! >>"$PIDS"
( setsid sh -c "sleep 1000 & echo \$! >>\"$PIDS\"" & ) 
setsid sh -c "echo \$\$ >>\"$PIDS\"; sleep 1000 & echo \$! >>\"$PIDS\"; wait" &
exec sleep 1000')
write_unit forker.agent <<EOF2
[Agent]
ExecStart=$forker
Type=exec
Environment=PIDS=$T/pids
EOF2

run_mode() {
	rm -f "$T/pids"
	start_agentd "$UNITS" "$@"
	wait_state forker running
	wait_until eval '[ "$(wc -l <"$T/pids" 2>/dev/null)" -ge 4 ]'
	local pids
	pids=$(tr '\n' ' ' <"$T/pids")
	for p in $pids; do
		pid_alive "$p" || fail "grandchild $p not running before the stop"
	done
	ctl_ok stop forker
	for p in $pids; do
		pid_alive "$p" && fail "grandchild $p survived the stop ($*)"
	done
	stop_agentd
}
step "cgroup mode (when agentd has a writable cgroup)"
run_mode
grep -q "cgroup mode" "$T/agentd.log" || step "(no writable cgroup here: ran in process-group mode)"
step "process-group mode"
run_mode --no-cgroup
pass
