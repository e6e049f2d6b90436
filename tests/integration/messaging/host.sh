#!/bin/bash
# SPDX-License-Identifier: MIT
#
# NAME@HOST: each host's agentd is the name server of its host (agentd
# --listen, as epmd is for Erlang). Two agentd instances with separate
# runtime directories: B runs the sink (network inbox on tcp and tls, port
# 0) and listens as name server on tcp://127.0.0.1:0 and
# tls+tcp://127.0.0.1:0; A runs callers that know the sink only as
# sink@127.0.0.1:PORT (PORT read from B's RUNTIME_DIR/listen). Checked:
# the answer comes from the sink's pid; after `agentctl restart sink` (a
# new process on a new port) the next request reaches the new pid; an
# unknown name, and an agent without a network inbox, fail with
# -EHOSTUNREACH (No route to host), not a timeout; a pool's unit name
# resolves to one of its instances; a subscriber in A to pub@127.0.0.1:PORT
# gets the snapshot and the updates;
# $AGENTD_PORT stands for a missing :PORT; the TLS variant with test
# certificates; the name server's answers and errors byte by byte, and
# malformed, oversized and non-SP input does not hurt agentd B; a bad
# --listen is refused.
. "$(dirname "$0")/common.sh"

step "a bad --listen is refused"
timeout 10 "$AGENTD" --units "$UNITS" --runtime-dir "$T/bad" --listen ipc:///tmp/x \
	</dev/null >"$T/bad.log" 2>&1
rc=$?
[ "$rc" != 0 ] || fail "agentd accepted --listen ipc:///tmp/x"
assert_contains "$(cat "$T/bad.log")" "--listen" "the error names the option"

make_test_certs

step "agentd B: the sink and the name server"
write_unit sink.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT sink
Environment=MSG_URL_FILE=$T/urls AGENTD_LISTEN=tcp://127.0.0.1:0,tls+tcp://127.0.0.1:0 AGENTD_TLS_CERT_KEY_FILE=$T/both.pem AGENTD_TLS_CA_FILE=$T/cert.pem
UNIT
write_unit plain.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT sink
UNIT
write_unit pub.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT pub
Environment=AGENTD_LISTEN=tcp://127.0.0.1:0
UNIT
write_unit pool.agent <<UNIT
[Agent]
Type=agent
Instances=2
ExecStart=$MSG_AGENT sink
Environment=AGENTD_LISTEN=tcp://127.0.0.1:0
UNIT
AGENTD_TLS_CERT_KEY_FILE=$T/both.pem AGENTD_TLS_CA_FILE=$T/cert.pem \
	start_agentd "$UNITS" --listen tcp://127.0.0.1:0 \
	--listen tls+tcp://127.0.0.1:0
wait_until test -s "$RT/listen"
NS_TCP=$(grep '^tcp://' "$RT/listen")
NS_TLS=$(grep '^tls+tcp://' "$RT/listen")
PORT=${NS_TCP##*:}
TLSPORT=${NS_TLS##*:}
assert_match "$PORT" '^[1-9][0-9]*$' "name server tcp port ($NS_TCP)"
assert_match "$TLSPORT" '^[1-9][0-9]*$' "name server tls port ($NS_TLS)"
grep -q "name server listening on $NS_TCP" "$T/agentd.log" ||
	fail "agentd B does not log its name server URL"
echo "agentd B's name server: $NS_TCP and $NS_TLS" >&2
ctl_ok --timeout 20s wait sink plain pool@1 pool@2 pub
wait_until test -s "$T/urls"
SINK_PID=$(agent_pid sink)
OLD_URLS=$(cat "$T/urls")

step "agentd A in its own runtime directory: callers that use sink@127.0.0.1"
mkdir -p "$T/units2"
cat >"$T/units2/tcpcaller.agent" <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT caller sink@127.0.0.1:$PORT
Environment=AGENTD_LISTEN=tcp://127.0.0.1:0
UNIT
cat >"$T/units2/portcaller.agent" <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT caller sink@127.0.0.1
Environment=AGENTD_LISTEN=tcp://127.0.0.1:0 AGENTD_PORT=$PORT
UNIT
cat >"$T/units2/tlscaller.agent" <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT caller sink@127.0.0.1:$TLSPORT
Environment=AGENTD_LISTEN=tls+tcp://127.0.0.1:0 AGENTD_TLS_CERT_KEY_FILE=$T/both.pem AGENTD_TLS_CA_FILE=$T/cert.pem
UNIT
cat >"$T/units2/plaincaller.agent" <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT caller plain@127.0.0.1:$PORT
Environment=AGENTD_LISTEN=tcp://127.0.0.1:0 MSG_ASK_TIMEOUT_MS=8000
UNIT
cat >"$T/units2/poolcaller.agent" <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT caller pool@127.0.0.1:$PORT
Environment=AGENTD_LISTEN=tcp://127.0.0.1:0
UNIT
cat >"$T/units2/sub.agent" <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT sub pub@127.0.0.1:$PORT t
Environment=AGENTD_LISTEN=tcp://127.0.0.1:0
Restart=no
UNIT
cat >"$T/units2/nosuchcaller.agent" <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT caller nosuch@127.0.0.1:$PORT
Environment=AGENTD_LISTEN=tcp://127.0.0.1:0 MSG_ASK_TIMEOUT_MS=8000
UNIT
start_agentd2 "$T/units2"
ctl2 --timeout 20s wait tcpcaller portcaller tlscaller nosuchcaller plaincaller poolcaller sub
[ "$RC" = 0 ] || fail "agentd 2's agents not running: $ERR"

step "tcp: sink@127.0.0.1:$PORT answers with the sink's pid"
wait_until ask2 tcpcaller
assert_eq "$JV" "$SINK_PID" "answer over tcp"

step "\$AGENTD_PORT: sink@127.0.0.1 (no port in the address)"
wait_until ask2 portcaller
assert_eq "$JV" "$SINK_PID" "answer with \$AGENTD_PORT"

step "tls+tcp: sink@127.0.0.1:$TLSPORT with certificates"
wait_until ask2 tlscaller
assert_eq "$JV" "$SINK_PID" "answer over tls"

# ask until agentctl hears back from the caller at all (exit 3: nothing
# came back over agentctl's own ipc path to it, which is not under test
# here; a caller that hangs on the resolution answers -ETIMEDOUT, exit 1)
ask_answered() {
	ctl2 --timeout 10s call "$1" ask
	[ "$RC" != 3 ]
}

step "an unknown name: -EHOSTUNREACH, not a timeout"
# (the caller waits up to 8 s: a timeout would say "Connection timed out")
wait_until -t 60 ask_answered nosuchcaller
assert_eq "$RC" 1 "the request to nosuch fails"
assert_contains "$ERR" "No route to host" "nosuch's error"
# and again (nothing is cached for a name that failed)
wait_until -t 60 ask_answered nosuchcaller
assert_contains "$ERR" "No route to host" "nosuch's error, second time"

step "an agent without a network inbox: -EHOSTUNREACH"
wait_until -t 60 ask_answered plaincaller
assert_eq "$RC" 1 "the request to plain fails"
assert_contains "$ERR" "No route to host" "plain's error"

step "a pool's unit name: one of its instances answers"
wait_until ask2 poolcaller
case " $(agent_pid pool@1) $(agent_pid pool@2) " in
*" $JV "*) ;;
*) fail "pool answered with pid $JV, not one of its instances" ;;
esac

step "a subscription to pub@127.0.0.1:$PORT: the snapshot, then updates"
# got: [updates, last seq, last value, missed, errors, snapshots]
sub_saw() {
	ctl2 call sub got
	[ "$RC" = 0 ] && json_eval "$OUT" "j[1] == $1 and j[5] == 1" &&
		[ "$JV" = true ]
}
wait_until sub_saw 0
ctl_ok call pub bump
ctl_ok call pub bump
wait_until sub_saw 2
json_check 'j[0] == 2 and j[3] == 0 and j[4] == 0' "two updates, none missed, no error"

step "the name server speaks HOST_RESOLVE, and bad input gets an error, not a crash"
# A req0 client by hand (SP over TCP: the 8-byte handshake, then 8-byte
# big-endian lengths; a request starts with a 4-byte id, high bit set)
# and msgpack envelopes written byte by byte: [1, type, 0, corr, "",
# payload].
"$PYTHON" - "$PORT" "$SINK_PID" <<'PY' || fail "name server protocol check"
import socket, struct, sys

PORT, SINK_PID = int(sys.argv[1]), int(sys.argv[2])

def recvn(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("closed")
        b += c
    return b

def connect():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    s.sendall(b"\x00SP\x00\x00\x30\x00\x00")        # req0
    hs = recvn(s, 8)
    assert hs == b"\x00SP\x00\x00\x31\x00\x00", hs  # rep0
    return s

def ask(s, rid, body):
    hdr = struct.pack(">I", 0x80000000 | rid)
    s.sendall(struct.pack(">Q", len(hdr) + len(body)) + hdr + body)
    n = struct.unpack(">Q", recvn(s, 8))[0]
    msg = recvn(s, n)
    assert msg[:4] == hdr, msg
    return msg[4:]

def env(typ, payload):
    return bytes([0x96, 0x01, 0xcc, typ, 0x00, 0x07, 0xa0]) + payload

def strobj(t):
    return bytes([0xa0 | len(t)]) + t

s = connect()
r = ask(s, 1, env(215, b"\x91" + strobj(b"sink")))
assert r[:4] == b"\x96\x01\xcc\xd8", r              # host-resolve-reply
assert b"tcp://127.0.0.1:" in r and b"running" in r, r
def uint(v):
    if v < 128: return bytes([v])
    if v < 256: return b"\xcc" + bytes([v])
    if v < 65536: return b"\xcd" + struct.pack(">H", v)
    return b"\xce" + struct.pack(">I", v)
assert uint(SINK_PID) + strobj(b"running") in r, r
r = ask(s, 2, env(215, b"\x91" + strobj(b"nosuch")))
assert r[:4] == b"\x96\x01\xcc\xd8" and b"unknown" in r, r
for i, bad in enumerate([b"\xc1\xc1",                  # not msgpack
                         env(200, b"\x90"),              # a ctl request
                         env(215, b"\x91\xa2-x"),        # invalid name
                         env(215, b"\x92\xa1a\xa1b"),    # two names
                         b"\x96\x09\xcc\xd7\x00\x07\xa0\x91\xa1a"]):  # version 9
    r = ask(s, 10 + i, bad)
    assert r[:4] == b"\x96\x01\xcc\xce", (i, r)       # error
s.close()

# an oversized message: nng drops it and the connection
s = connect()
s.sendall(struct.pack(">Q", 2 * 1024 * 1024) + b"\x80\x00\x00\x01" + b"x" * 65536)
try:
    s.settimeout(5)
    assert s.recv(8) == b"", "answered an oversized request"
except (ConnectionResetError, BrokenPipeError):
    pass
s.close()

# and garbage instead of the SP handshake
s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
s.settimeout(5)
try:
    s.recv(64)
except OSError:
    pass
s.close()

# still serving
s = connect()
r = ask(s, 3, env(215, b"\x91" + strobj(b"sink")))
assert r[:4] == b"\x96\x01\xcc\xd8" and b"running" in r, r
s.close()
PY
pid_alive "$AGENTD_PID" || fail "agentd B died"

step "restart the sink (new process, new port): the next request reaches it"
ctl_ok --timeout 20s restart sink
wait_until runs_anew sink "$SINK_PID"
NEW_PID=$(agent_pid sink)
wait_until eval '[ -s "$T/urls" ] && [ "$(cat "$T/urls")" != "$OLD_URLS" ]'
echo "sink moved from $(echo $OLD_URLS) to $(cat "$T/urls" | tr '\n' ' ')" >&2
ask_new() {
	ask2 "$1" && [ "$JV" = "$NEW_PID" ]
}
wait_until ask_new tcpcaller
wait_until ask_new tlscaller
wait_until ask_new portcaller

step "a subscriber on the other host that dies is forgotten by the publisher"
ctl_ok call pub subs
json_check 'j[0] == 1' "pub's subscribers before"
sub_pid=$(RT=$RT2 agent_pid sub)
[ -n "$sub_pid" ] || fail "no pid for sub in agentd 2"
kill -KILL "$sub_pid"
pub_subs_are_0() {
	ctl call pub subs
	[ "$RC" = 0 ] && json_eval "$OUT" 'j[0] == 0' && [ "$JV" = true ]
}
wait_until pub_subs_are_0

step "stop both"
stop_agentd2
stop_agentd
[ ! -e "$RT/listen" ] || fail "agentd B left $RT/listen behind"
pass
