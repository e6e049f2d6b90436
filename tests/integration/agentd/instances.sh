#!/bin/bash
# Instances=N: N processes NAME@1..NAME@N; the unit name addresses all of
# them, an instance name one; After= on the unit waits for every instance.
. "$(dirname "$0")/common.sh"
command -v systemd-notify >/dev/null || skip "no systemd-notify"

slow=$(agent_script slow '
echo "start $AGENTD_NAME" >>"$REC"
sleep 0.1
echo "ready $AGENTD_NAME" >>"$REC"
systemd-notify --ready
exec sleep 1000')
write_unit worker.agent <<EOF2
[Agent]
ExecStart=$slow
Type=notify
Instances=3
Environment=REC=$REC
EOF2
write_unit boss.agent <<EOF2
[Agent]
ExecStart=$slow
Type=notify
After=worker
Environment=REC=$REC
EOF2
start_agentd "$UNITS"
for n in worker@1 worker@2 worker@3 boss; do wait_state $n running; done
ctl_ok status
assert_not_contains "$OUT" "worker "
for i in 1 2 3; do
	[ "$(line_no start boss)" -gt "$(line_no ready worker@$i)" ] ||
		fail "boss started before worker@$i was ready"
	assert_match "$(grep -c . <<<"$(agent_pid worker@$i)")" 1
done
step "stop worker: every instance"
ctl_ok stop worker
for i in 1 2 3; do assert_eq "$(agent_state worker@$i)" inactive; done
assert_eq "$(agent_state boss)" running
step "start worker@2: that one only"
ctl_ok start worker@2
assert_eq "$(agent_state worker@2)" running
assert_eq "$(agent_state worker@1)" inactive
stop_agentd
pass
