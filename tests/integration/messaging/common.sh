# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# common.sh - helpers for the messaging tests, on top of ../lib.sh (which
# it sources). Skips the test unless msg-agent ($MSG_AGENT) is built.
#
#  - sink_stat I [NAME]: element I of the "stats" answer of a msg-agent
#    sink NAME (default sink): [events, errors, received, dropped,
#    malformed], in $JV; false if the call fails (for wait_until).
#  - sink_has N [NAME]: true once NAME counted N events or more.
#  - ask NAME / ask2 NAME: the answer of a msg-agent caller NAME to "ask"
#    (its target's pid) in $JV, through this agentd / agentd 2; false if
#    the call fails.
#  - make_test_certs [other-ca]: a self-signed certificate for 127.0.0.1
#    ($T/cert.pem, also the CA; $T/key.pem; both in $T/both.pem, as
#    AGENTD_TLS_CERT_KEY_FILE wants them); with other-ca also
#    $T/other-ca.pem, a CA that did not sign it. Skips without openssl.
#  - start_agentd2 UNITS_DIR: a second agentd (tagged, tracked) in its own
#    runtime directory $RT2 ($T/2), output in $T/agentd2.log, pid in
#    $AGENTD2_PID; ctl2 ARGS...: ctl against it; stop_agentd2: SIGTERM,
#    deadline, assert exit status 0.
. "${INTEGRATION_LIB:-$(dirname "$0")/../lib.sh}"

[ -x "${MSG_AGENT:-}" ] || skip "msg-agent not built"

sink_stat() {
	ctl call "${2:-sink}" stats
	[ "$RC" = 0 ] || return 1
	json_eval "$OUT" "j[$1]"
}

sink_has() {
	sink_stat 0 "${2:-sink}" && [ "$JV" -ge "$1" ]
}

# _ask CTL NAME: ask through ctl or ctl2.
_ask() {
	"$1" call "$2" ask
	[ "$RC" = 0 ] || return 1
	json_eval "$OUT" 'j[0]'
}

ask() {
	_ask ctl "$1"
}

ask2() {
	_ask ctl2 "$1"
}

make_test_certs() {
	command -v openssl >/dev/null ||
		skip "openssl not installed (test certificates)"
	step "test certificates"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
		-addext "subjectAltName=DNS:127.0.0.1,IP:127.0.0.1" \
		-keyout "$T/key.pem" -out "$T/cert.pem" >"$T/openssl.log" 2>&1 ||
		{ cat "$T/openssl.log" >&2; fail "openssl req"; }
	cat "$T/cert.pem" "$T/key.pem" >"$T/both.pem"
	if [ "${1:-}" = other-ca ]; then
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
			-subj "/CN=127.0.0.1" -keyout "$T/key2.pem" \
			-out "$T/other-ca.pem" >>"$T/openssl.log" 2>&1 ||
			{ cat "$T/openssl.log" >&2; fail "openssl req (other CA)"; }
	fi
	chmod 600 "$T"/*.pem
}

RT2=$T/2
AGENTD2_PID=

start_agentd2() {
	[ -z "$AGENTD2_PID" ] || fail "start_agentd2: agentd 2 already running"
	step "a second agentd in its own runtime directory ($RT2)"
	mkdir -p "$RT2"
	AGENTD_TEST_TAG=$TAG "$AGENTD" --units "$1" --runtime-dir "$RT2" \
		</dev/null >>"$T/agentd2.log" 2>&1 &
	AGENTD2_PID=$!
	track "$AGENTD2_PID"
	RT=$RT2 AGENTD_PID=$AGENTD2_PID _wait_agentd_answers ||
		fail "agentd 2 did not answer on $RT2/control.sock within ${WAIT_TIMEOUT}s"
}

ctl2() {
	local save=$RT
	RT=$RT2
	ctl "$@"
	RT=$save
}

stop_agentd2() {
	[ -n "$AGENTD2_PID" ] || fail "stop_agentd2: agentd 2 is not running"
	AGENTD_PID=$AGENTD2_PID stop_agentd
	AGENTD2_PID=
}
