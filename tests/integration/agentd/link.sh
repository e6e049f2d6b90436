#!/bin/bash
# The link: an agent is running only after its READY; a stop is an
# INTERRUPT first; one that ignores it is SIGTERMed then SIGKILLed within
# StopTimeoutSec; Type=agent without READY hits StartTimeoutSec.
. "$(dirname "$0")/common.sh"
[ -x "$LINK_AGENT" ] || skip "link-agent not built"

write_unit polite.agent <<EOF2
[Agent]
ExecStart=$LINK_AGENT
Environment=LINK_AGENT_RECORD=$REC
EOF2
write_unit deaf.agent <<EOF2
[Agent]
ExecStart=$LINK_AGENT
Environment=LINK_AGENT_IGNORE_INTERRUPT=1
StopTimeoutSec=400ms
EOF2
write_unit mute.agent <<EOF2
[Agent]
ExecStart=$LINK_AGENT
Environment=LINK_AGENT_NO_READY=1
StartTimeoutSec=300ms
Restart=no
EOF2
start_agentd "$UNITS"
wait_state polite running
wait_state deaf running
wait_state mute failed
assert_contains "$(agent_field mute 7) $(agent_field mute 8) $(agent_field mute 9) $(agent_field mute 10) $(agent_field mute 11)" "start timeout"

step "a stranger on link.sock (not a pid agentd spawned) is disconnected"
"$PYTHON" - "$RT/link.sock" >"$T/stranger" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(b"\0SP\0\0\x11\0\0")   # pair1
data = b""
try:
    while True:
        c = s.recv(64)
        if not c:
            break
        data += c
    print("closed after", len(data), "bytes")
except socket.timeout:
    print("still open")
PY
assert_contains "$(cat "$T/stranger")" "closed after 8 bytes"
assert_eq "$(agent_state polite)" running

ctl_ok stop polite
assert_eq "$(recorded interrupt)" polite
assert_contains "$(agent_field polite 7) $(agent_field polite 8) $(agent_field polite 9)" "exited 2 (interrupted)"

ctl_ok stop deaf
assert_eq "$(agent_state deaf)" inactive
assert_contains "$(cat "$T/agentd.log")" "deaf: still running after the interrupt, SIGTERM"
assert_contains "$(cat "$T/agentd.log")" "deaf: did not stop within 400ms, SIGKILL"
stop_agentd
pass
