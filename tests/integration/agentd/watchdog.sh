#!/bin/bash
# WatchdogSec=: an agent that stops pinging is killed and restarted; one
# that keeps pinging (WATCHDOG=1, link HEARTBEAT) is left alone.
#
# The agents that ping have WatchdogSec=1s and are watched across several
# of its periods: the pinger is observed, with the same pid and no restart,
# until both agentd's uptime for it and the time since we saw it running
# cover WD_PERIODS periods. Without its pings agentd would have killed it
# in the first period (check: drop the WATCHDOG=1 line and the test fails
# with "pinger was restarted"). It pings every 50 ms: 20 pings a period,
# so a loaded machine does not make it miss one (300ms did, once in a
# parallel run). silent has 300ms: it is restarted often.
. "$(dirname "$0")/common.sh"
command -v systemd-notify >/dev/null || skip "no systemd-notify"

WD_MS=1000
WD_PERIODS=3
SILENT_MS=300
PINGS=$T/pings

pinger=$(agent_script pinger '
echo "wdpid=$WATCHDOG_PID pid=$$ usec=$WATCHDOG_USEC"
systemd-notify --ready
while :; do systemd-notify WATCHDOG=1 && echo ping >>'"$PINGS"'; sleep 0.05; done')
silent=$(agent_script silent '
systemd-notify --ready
exec sleep 1000')
write_unit pinger.agent <<EOF2
[Agent]
ExecStart=$pinger
Type=notify
WatchdogSec=${WD_MS}ms
EOF2
write_unit wd.group <<EOF2
[Group]
Intensity=100
EOF2
write_unit silent.agent <<EOF2
[Agent]
ExecStart=$silent
Type=notify
WatchdogSec=${SILENT_MS}ms
RestartSec=0
Group=wd
EOF2
watched=pinger
if [ -x "$LINK_AGENT" ]; then
	# link-agent sends a HEARTBEAT every WatchdogSec/2
	write_unit linked.agent <<EOF2
[Agent]
ExecStart=$LINK_AGENT
WatchdogSec=${WD_MS}ms
EOF2
	watched="pinger linked"
fi

# pings: the number of WATCHDOG=1 the pinger has sent (and recorded).
pings() {
	if [ -f "$PINGS" ]; then
		wc -l <"$PINGS"
	else
		echo 0
	fi
}

# status_line NAME: its status in $JV as "STATE PID RESTARTS UPTIME_MS".
status_line() {
	ctl_ok status --json "$1"
	json_eval "$OUT" '" ".join(str(j[0][k]) for k in ("state", "pid", "restarts", "uptime_ms"))'
}

declare -A first_pid
# lived_periods: fails the test as soon as a watched agent is not running
# under its first pid with no restart; true once every one of them has
# lived WD_PERIODS watchdog periods by agentd's uptime, and as many have
# passed since we first saw them running.
lived_periods() {
	local n st pid rs up done=0
	for n in $watched; do
		status_line "$n"
		read -r st pid rs up <<<"$JV"
		[ "$st" = running ] && [ "$pid" = "${first_pid[$n]}" ] &&
			[ "$rs" = 0 ] ||
			fail "$n was restarted or left running (state $st, pid $pid (first ${first_pid[$n]}), restarts $rs) within ${WD_PERIODS}x${WD_MS}ms although it pings"
		[ "$up" -ge $((WD_PERIODS * WD_MS)) ] || done=1
	done
	[ "$done" = 0 ] &&
		[ "$(now_us)" -ge $((t0 + WD_PERIODS * WD_MS * 1000)) ]
}

start_agentd "$UNITS"
for n in $watched; do
	wait_state "$n" running
	first_pid[$n]=$(agent_pid "$n")
done
t0=$(now_us)
pings0=$(pings)
step "watch $watched for ${WD_PERIODS} periods of ${WD_MS}ms"
wait_until lived_periods
# Every ${WD_MS}ms of the window held a ping (else agentd would have killed
# the pinger), so at least WD_PERIODS - 1 are recorded (the last one may
# not be written yet).
pinged=$(( $(pings) - pings0 ))
[ "$pinged" -ge $((WD_PERIODS - 1)) ] ||
	fail "the pinger recorded $pinged pings over ${WD_PERIODS} watchdog periods"

# each of silent's runs lasts at least its watchdog period
wait_until eval '[ "$(agent_field silent 6)" -ge 6 ]'
assert_contains "$(cat "$T/agentd.log")" "silent: no watchdog ping within ${SILENT_MS}ms"
for n in $watched; do
	assert_eq "$(agent_field "$n" 6)" 0 "restarts of $n, which pings"
	assert_eq "$(agent_pid "$n")" "${first_pid[$n]}" "pid of $n, which pings"
done
pid=${first_pid[pinger]}
assert_contains "$(cat "$T/agentd.log")" "pinger: wdpid=$pid pid=$pid usec=$((WD_MS * 1000))"
assert_not_contains "$(cat "$T/agentd.log")" "pinger: no watchdog ping"
stop_agentd
pass
