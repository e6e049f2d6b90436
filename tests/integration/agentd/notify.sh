#!/bin/bash
# Type=notify is running only after `systemd-notify --ready`; Type=exec as
# soon as exec succeeded; STATUS= is accepted; a missing program fails with
# the exec error.
. "$(dirname "$0")/common.sh"
command -v systemd-notify >/dev/null || skip "no systemd-notify"

gate=$T/gate
notifier=$(agent_script notifier "
while [ ! -e '$gate' ]; do sleep 0.02; done
systemd-notify --status='warming up'
systemd-notify --ready
exec sleep 1000")
write_unit n.agent <<EOF2
[Agent]
ExecStart=$notifier
Type=notify
EOF2
write_unit e.agent <<EOF2
[Agent]
ExecStart=/bin/sleep 1000
Type=exec
EOF2
write_unit missing.agent <<EOF2
[Agent]
ExecStart=/nonexistent/program
Type=exec
Restart=no
EOF2
start_agentd "$UNITS"
wait_state e running
wait_state missing failed
assert_contains "$(ctl status missing; echo "$OUT")" "execve: No such file or directory"
# n cannot be ready before the gate opens
assert_eq "$(agent_state n)" starting "notify agent before READY=1"
touch "$gate"
wait_state n running
stop_agentd
pass
