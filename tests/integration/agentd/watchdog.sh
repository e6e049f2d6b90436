#!/bin/bash
# WatchdogSec=: an agent that stops pinging is killed and restarted; one
# that keeps pinging (WATCHDOG=1, link HEARTBEAT) is left alone.
. "$(dirname "$0")/common.sh"
command -v systemd-notify >/dev/null || skip "no systemd-notify"

pinger=$(agent_script pinger '
echo "wdpid=$WATCHDOG_PID pid=$$ usec=$WATCHDOG_USEC"
systemd-notify --ready
while :; do systemd-notify WATCHDOG=1; sleep 0.05; done')
silent=$(agent_script silent '
systemd-notify --ready
exec sleep 1000')
write_unit pinger.agent <<EOF2
[Agent]
ExecStart=$pinger
Type=notify
WatchdogSec=3s
EOF2
write_unit wd.group <<EOF2
[Group]
Intensity=100
EOF2
write_unit silent.agent <<EOF2
[Agent]
ExecStart=$silent
Type=notify
WatchdogSec=300ms
RestartSec=0
Group=wd
EOF2
if [ -x "$LINK_AGENT" ]; then
	write_unit linked.agent <<EOF2
[Agent]
ExecStart=$LINK_AGENT
WatchdogSec=1s
EOF2
fi
start_agentd "$UNITS"
wait_state pinger running
# each of silent's runs lasts at least its 300ms watchdog: after 6 of them
# the others have lived several of their own watchdog periods
wait_until eval '[ "$(agent_field silent 6)" -ge 6 ]'
assert_contains "$(cat "$T/agentd.log")" "silent: no watchdog ping within 300ms"
assert_eq "$(agent_field pinger 6)" 0 "restarts of the agent that pings"
pid=$(agent_pid pinger)
assert_contains "$(cat "$T/agentd.log")" "pinger: wdpid=$pid pid=$pid usec=3000000"
if [ -x "$LINK_AGENT" ]; then
	wait_state linked running
	assert_eq "$(agent_field linked 6)" 0 "restarts of the linked agent sending heartbeats"
fi
stop_agentd
pass
