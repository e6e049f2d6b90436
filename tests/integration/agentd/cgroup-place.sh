#!/bin/bash
# cgroup mode: an agent is in its own cgroup (agentd.PID/NAME) from its first
# instruction on (clone3 CLONE_INTO_CGROUP, or the child's write to
# cgroup.procs before execve), for the first start, a restart after a crash
# and a start after a stop that killed the cgroup.
. "$(dirname "$0")/common.sh"

# (a hybrid v1/v2 machine lists v1 hierarchies too: only the v2 line counts)
# A setsid grandchild outlives the main process at a stop, so the stop ends
# with cgroup.kill; the next start into that cgroup must live.
placed=$(agent_script placed 'grep "^0::" /proc/self/cgroup >>"$OUT"
setsid sleep 1000 &
exec sleep 1000')
write_unit placed.agent <<EOF2
[Agent]
ExecStart=$placed
Type=exec
Restart=always
RestartSec=0
Environment=OUT=$T/cgroups
EOF2
start_agentd "$UNITS"
grep -q "cgroup mode" "$T/agentd.log" || skip "agentd has no writable cgroup here"
want="/agentd.$AGENTD_PID/placed"
wait_state placed running
wait_until test -s "$T/cgroups"
first=$(agent_pid placed)
kill -KILL "$first"
wait_until eval '[ "$(grep -c . "$T/cgroups")" -ge 2 ]'
step "stop (ends with cgroup.kill) and start again"
ctl_ok stop placed
ctl_ok start placed
wait_until eval '[ "$(grep -c . "$T/cgroups")" -ge 3 ]'
wait_state placed running
while read -r line; do
	case $line in
	0::*"$want") ;;
	*) fail "agent started outside its cgroup: '$line' (want ...$want)" ;;
	esac
done <"$T/cgroups"
step "all three starts in $want"
stop_agentd
pass
