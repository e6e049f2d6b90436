#!/bin/bash
# agentd under a fake systemd: a datagram NOTIFY_SOCKET and WATCHDOG_USEC.
# It sends READY=1 when the start phase is over, WATCHDOG=1 pings, STATUS=
# and STOPPING=1; none of it leaks to the agents' environment.
. "$(dirname "$0")/common.sh"

write_unit env.agent <<EOF2
[Agent]
ExecStart=/bin/sh -c 'env >$T/agent-env; exec sleep 1000'
Type=exec
EOF2
"$PYTHON" - "$T/sd.sock" "$T/notify.log" <<'PY' &
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        try:
            data = s.recv(4096)
        except socket.timeout:
            break
        f.write(data.decode(errors="replace").replace("\n", " ") + "\n")
        if b"STOPPING=1" in data:
            break
PY
track $!
wait_until test -S "$T/sd.sock"
NOTIFY_SOCKET=$T/sd.sock WATCHDOG_USEC=200000 start_agentd "$UNITS"
wait_state env running
wait_until grep -q "READY=1" "$T/notify.log"
wait_until grep -q "WATCHDOG=1" "$T/notify.log"
wait_until grep -q "STATUS=" "$T/notify.log"
wait_until test -s "$T/agent-env"
grep -qE '^(NOTIFY_SOCKET|WATCHDOG_USEC|WATCHDOG_PID)=' "$T/agent-env" &&
	fail "agentd's notify variables leaked to an agent"
grep -q "^AGENTD_NAME=env$" "$T/agent-env" || fail "AGENTD_NAME missing"
stop_agentd
wait_until grep -q "STOPPING=1" "$T/notify.log"
pass
