#!/bin/bash
# Many libagent agents at once on the link: 200 agents in 2 ordered groups
# start together. Every one must get its HELLO_ACK (agentd must not log
# "cannot send hello-ack"; with WatchdogSec= each one heartbeats only after
# the ack, so a missed ack shows as a watchdog restart: the pids must not
# change over two watchdog periods). Then SIGTERM: the ordered stop must end
# with agentd's own clean exit (it used to die in an nng panic after closing
# pipes of agents it had already reaped) and no agent left.
. "$(dirname "$0")/common.sh"
need_test_agent
: "${MASS_GROUPS:=2}" "${MASS_PER:=100}"
WAIT_TIMEOUT=90
STOP_TIMEOUT=60

for g in $(seq 1 "$MASS_GROUPS"); do
	write_unit "g$g.group" <<EOF2
[Group]
Order=$g
EOF2
	write_unit "w$g.agent" <<EOF2
[Agent]
ExecStart=$TEST_AGENT
Type=agent
Group=g$g
Instances=$MASS_PER
WatchdogSec=2s
StartTimeoutSec=60s
StopTimeoutSec=30s
EOF2
done
start_agentd "$UNITS"
step "wait for $((MASS_GROUPS * MASS_PER)) agents running"
all=()
for g in $(seq 1 "$MASS_GROUPS"); do
	for i in $(seq 1 "$MASS_PER"); do all+=("w$g@$i"); done
done
for n in "${all[@]}"; do wait_state "$n" running; done
ctl_ok status
before=$(grep -E '^w' <<<"$OUT" | awk '{print $1, $4}' | sort)
assert_eq "$(grep -c . <<<"$before")" "$((MASS_GROUPS * MASS_PER))"
# Two watchdog periods: an agent without its HELLO_ACK never heartbeats
# and is killed and restarted by the watchdog within that time.
deadline=$(($(now_us) + 5000000))
while [ "$(now_us)" -lt "$deadline" ]; do
	if grep -q "watchdog" "$T/agentd.log"; then break; fi
	sleep 0.2
done
ctl_ok status
after=$(grep -E '^w' <<<"$OUT" | awk '{print $1, $4}' | sort)
assert_eq "$after" "$before"
assert_not_contains "$(cat "$T/agentd.log")" "cannot send hello-ack"
assert_not_contains "$(cat "$T/agentd.log")" "watchdog"
pids=$(awk '{print $2}' <<<"$before")
step "SIGTERM: ordered stop of every group"
# shellcheck disable=SC2086
stop_agentd 0
assert_not_contains "$(cat "$T/agentd.log")" "panic"
# shellcheck disable=SC2086
pids_gone $pids || fail "agents left after agentd exited"
pass
