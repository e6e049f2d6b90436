#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Two agentd instances with separate runtime directories: an agent of one
# calls an agent of the other by an explicit inbox URL, over
# tcp://127.0.0.1 and over tls+tcp:// with certificates made here. The
# callee listens on port 0 and publishes the ports it got; each caller
# listens on tcp (tls) port 0 itself, so the answers travel back over the
# network transport too. A caller without the CA cannot reach the TLS
# inbox (the request times out).
. "$(dirname "$0")/common.sh"

make_test_certs other-ca

write_unit sink.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT sink
Environment=MSG_URL_FILE=$T/urls AGENTD_LISTEN=tcp://127.0.0.1:0,tls+tcp://127.0.0.1:0 AGENTD_TLS_CERT_KEY_FILE=$T/both.pem AGENTD_TLS_CA_FILE=$T/cert.pem
UNIT
start_agentd "$UNITS"
ctl_ok --timeout 20s wait sink
wait_until test -s "$T/urls"
TCP=$(grep '^tcp://' "$T/urls")
TLS=$(grep '^tls+tcp://' "$T/urls")
[ -n "$TCP" ] && [ -n "$TLS" ] || fail "sink's urls: $(cat "$T/urls")"
case "$TCP $TLS" in *:0\ *|*:0) fail "a :0 port was not replaced by the bound one: $TCP $TLS";; esac
echo "sink listens on $TCP and $TLS" >&2
SINK_PID=$(agent_pid sink)

mkdir -p "$T/units2"
cat >"$T/units2/tcpcaller.agent" <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT caller $TCP
Environment=AGENTD_LISTEN=tcp://127.0.0.1:0
UNIT
cat >"$T/units2/tlscaller.agent" <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT caller $TLS
Environment=AGENTD_LISTEN=tls+tcp://127.0.0.1:0 AGENTD_TLS_CERT_KEY_FILE=$T/both.pem AGENTD_TLS_CA_FILE=$T/cert.pem
UNIT
cat >"$T/units2/stranger.agent" <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT caller $TLS
Environment=AGENTD_TLS_CA_FILE=$T/other-ca.pem
UNIT
start_agentd2 "$T/units2"
ctl2 --timeout 20s wait tcpcaller tlscaller stranger
[ "$RC" = 0 ] || fail "agentd 2's agents not running: $ERR"

step "tcp://: an agent of agentd B calls the sink of agentd A"
wait_until ask2 tcpcaller
assert_eq "$JV" "$SINK_PID" "answer over tcp"

step "tls+tcp://: the same with certificates"
wait_until ask2 tlscaller
assert_eq "$JV" "$SINK_PID" "answer over tls"

step "tls+tcp:// with a CA that did not sign the sink's certificate: no answer"
ctl2 call stranger ask
assert_eq "$RC" 1 "the stranger's request fails"
echo "stranger: $ERR" >&2

step "stop both"
stop_agentd2
stop_agentd
pass
