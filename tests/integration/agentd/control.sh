#!/bin/bash
# The control socket: mode 0600; unknown names are errors; strangers and
# garbage do not take agentd down (nor wedge nng's listener).
. "$(dirname "$0")/common.sh"

write_unit a.agent <<EOF2
[Agent]
ExecStart=/bin/sleep 1000
Type=exec
EOF2
# Restarting a wedged nng listener leaks inside nng 1.5.2 (not ours).
export LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/lsan-nng.supp"

ctl_works() {
	ctl status a
	[ "$RC" = 0 ]
}
start_agentd "$UNITS"
wait_state a running
assert_eq "$(stat -c %a "$RT/control.sock")" 600 "control.sock mode"
[ ! -e "$RT/link.sock" ] || fail "link.sock exists (links are socketpairs)"
assert_eq "$(stat -c %a "$RT")" 711 "runtime directory mode (0711: User= agents reach their sockets)"
ctl_fails 1 stop nosuch
assert_contains "$ERR" "no such agent: nosuch"

step "strangers: connect and close, garbage, a wrong protocol, an oversized frame"
"$PYTHON" - "$RT/control.sock" <<'PY'
import socket, sys, struct
p = sys.argv[1]
REQ = b"\0SP\0\0\x30\0\0"
for payload in [b"", b"garbage", b"\0SP\0\0\x31\0\0",
                REQ + b"\x01" + struct.pack(">Q", 1 << 40)]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(p)
    if payload:
        s.sendall(payload)
    s.close()
PY
wait_until ctl_works

step "a malformed request gets CTL_ERROR -EBADMSG"
"$PYTHON" - "$RT/control.sock" >"$T/reply" <<'PY'
import socket, sys, struct
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(b"\0SP\0\0\x30\0\0")
hdr = b""
while len(hdr) < 8:
    hdr += s.recv(8 - len(hdr))
body = struct.pack(">I", 0x80000001) + b"\x93\x01\x02\xc1"   # not an envelope
s.sendall(b"\x01" + struct.pack(">Q", len(body)) + body)
def recv(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise SystemExit("closed")
        b += c
    return b
t = recv(9)
n = struct.unpack(">Q", t[1:])[0]
r = recv(n)
# [version, CTL_ERROR=206, flags, corr, "agentd", [-74, text]]
print("error" if b"\xcc\xce" in r and b"\xd0\xb6" in r else "other", r.hex())
PY
assert_contains "$(cat "$T/reply")" "error" "reply to garbage"
assert_eq "$(agent_state a)" running
ctl_ok stop a
stop_agentd

step "--socket-group: control.sock 0660 in that group, runtime dir 0711"
grp=$(getent group nogroup daemon | head -n1 | cut -d: -f1)
if [ -n "$grp" ]; then
	start_agentd "$UNITS" --socket-group "$grp"
	assert_eq "$(stat -c '%a %G' "$RT/control.sock")" "660 $grp"
	assert_eq "$(stat -c '%a %G' "$RT")" "711 $grp"
	stop_agentd
fi
pass
