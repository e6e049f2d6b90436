#!/bin/bash
# Two agentd in cgroup mode under the same parent cgroup: the second one's
# stale-cgroup cleanup must leave the first one's agents alone. "Stale" is
# decided by flock on the agentd.PID directory (each agentd holds its own
# for its life), not by /proc/PID/comm: the first agentd here runs under
# another name (a symlink), which the old check took for "agentd is gone".
. "$(dirname "$0")/common.sh"

ln -s "$AGENTD" "$T/ad-one"
AGENTD_REAL=$AGENTD
AGENTD=$T/ad-one

sleeper=$(agent_script sleeper 'exec sleep 1000')
write_unit a.agent <<EOF2
[Agent]
ExecStart=$sleeper
Type=exec
EOF2
start_agentd "$UNITS"
grep -q "cgroup mode" "$T/agentd.log" || skip "agentd has no writable cgroup here"
cg=$(sed -n 's/.*cgroup mode: agents under //p' "$T/agentd.log")
wait_state a running
first=$(agent_pid a)

mkdir "$T/b" "$T/u2"
step "second agentd in $T/b"
spawn_tagged "$AGENTD_REAL" --units "$T/u2" --runtime-dir "$T/b" \
	</dev/null >"$T/second.log" 2>&1
second=$SPAWNED_PID
wait_until grep -qE "cgroup mode|process-group mode" "$T/second.log"
wait_until "$AGENTCTL" --runtime-dir "$T/b" --timeout 2s status
grep -q "cgroup mode" "$T/second.log" ||
	skip "the second agentd has no writable cgroup"
assert_not_contains "$(cat "$T/second.log")" "agentd $AGENTD_PID, which is gone"
pid_alive "$first" || fail "the second agentd killed the first one's agent"
test -d "$cg" || fail "the second agentd removed $cg"
assert_eq "$(agent_state a)" running
assert_eq "$(agent_pid a)" "$first"

kill -TERM "$second"
wait_pid_gone "$second" || fail "the second agentd ignored SIGTERM"
wait "$second"
assert_eq "$?" 0
pid_alive "$first" || fail "the first agentd's agent died"
stop_agentd
pass
