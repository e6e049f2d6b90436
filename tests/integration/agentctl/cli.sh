#!/bin/bash
# SPDX-License-Identifier: MIT
#
# agentctl without a working agentd: usage errors (exit 2), help and
# version (exit 0), and every way agentd can be unreachable (exit 3):
# no runtime dir, a stale socket, a file that is not a socket, a listener
# that never answers (within the timeout), and peers that answer garbage or
# the wrong message.
LIB_NEEDS_AGENTD=no
. "${INTEGRATION_LIB:-$(dirname "$0")/../lib.sh}"

step "help and version: exit 0"
ctl_ok --help
assert_contains "$OUT" "Exit status:"
assert_contains "$OUT" "3  agentd unreachable"
for v in status list tree start stop restart kill reset-failed reload \
	 shutdown send call ping wait watch logs; do
	ctl_ok "$v" --help
	assert_contains "$OUT" "Usage: agentctl [OPTIONS] "
done
ctl_ok stop --help
assert_contains "$OUT" "stop [--group G] NAME..."
ctl_ok --version
assert_match "$OUT" '^agentctl [0-9]+\.[0-9]+'

step "usage errors: exit 2, one line, no help dump"
ctl_fails 2
ctl_fails 2 frobnicate
assert_contains "$ERR" "unknown verb 'frobnicate'"
ctl_fails 2 st            # status, stop, start
assert_contains "$ERR" "ambiguous verb 'st'"
ctl_fails 2 --no-such-option status
ctl_fails 2 status --timeout
ctl_fails 2 --timeout soon status
ctl_fails 2 --timeout 0 status
ctl_fails 2 kill -s NOSIG a
ctl_fails 2 kill -s 0 a
ctl_fails 2 kill                      # needs a name
ctl_fails 2 status -s KILL            # -s is kill's
ctl_fails 2 reload extra
ctl_fails 2 send onlyname
ctl_fails 2 send a b c d
ctl_fails 2 call a
ctl_fails 2 wait
ctl_fails 2 wait 'bad name!'
ctl_fails 2 wait a --state ''
ctl_fails 2 logs a -n -1
ctl_fails 2 status "$(printf 'x%.0s' {1..100})"
assert_eq "$(wc -l <<<"$ERR")" 1 "a usage error is one line"

step "malformed JSON: exit 2 with the position"
for bad in '{' '{"a":}' '[1,]' 'nul' '{"a":1,"a":2}' '[1] [2]' "'x'"; do
	ctl_fails 2 send someone kind "$bad"
	assert_contains "$ERR" "invalid JSON: line 1"
	ctl_fails 2 call someone kind "$bad"
	assert_contains "$ERR" "invalid JSON"
done
OUT=$(printf '{"truncated": ' | "$AGENTCTL" --runtime-dir "$RT" send x k - 2>&1)
assert_eq "$?" 2 "bad JSON on stdin"
assert_contains "$OUT" "invalid JSON"
ctl_fails 2 send someone "$(printf 'k%.0s' {1..80})" '{}'   # kind too long

step "no agentd: exit 3 at once, one clear line"
ctl_fails 3 --runtime-dir "$T/nowhere" status
assert_contains "$ERR" "agentd is not running"
assert_contains "$ERR" "$T/nowhere/control.sock"
assert_eq "$(wc -l <<<"$ERR")" 1 "one line"
for v in stop start restart; do
	ctl_fails 3 --runtime-dir "$T/nowhere" "$v" a
done
ctl_fails 3 --runtime-dir "$T/nowhere" kill a
ctl_fails 3 --runtime-dir "$T/nowhere" reload
ctl_fails 3 --runtime-dir "$T/nowhere" shutdown
ctl_fails 3 --runtime-dir "$T/nowhere" reset-failed
ctl_fails 3 --runtime-dir "$T/nowhere" tree
ctl_fails 3 --runtime-dir "$T/nowhere" wait a
ctl_fails 3 --runtime-dir "$T/nowhere" ping a

step "AGENTD_RUNTIME_DIR is used without --runtime-dir"
OUT=$(AGENTD_RUNTIME_DIR=$T/fromenv "$AGENTCTL" status 2>&1)
assert_eq "$?" 3
assert_contains "$OUT" "$T/fromenv/control.sock"

step "a stale socket (nobody listens): exit 3"
mkdir -p "$T/stale"
"$PYTHON" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
	"$T/stale/control.sock" || fail "cannot create a stale socket"
ctl_fails 3 --runtime-dir "$T/stale" status
assert_contains "$ERR" "refuses connections"
ctl_fails 3 --runtime-dir "$T/stale" shutdown

step "not a socket: exit 3"
mkdir -p "$T/file"
: >"$T/file/control.sock"
ctl_fails 3 --runtime-dir "$T/file" status
assert_contains "$ERR" "not a socket"

if [ -z "$FAKE_CTL" ] || [ ! -x "$FAKE_CTL" ]; then
	skip "fake-ctl not built"
fi

# fake_ctl MODE: a fake control socket in $T/MODE.
fake_ctl() {
	mkdir -p "$T/$1"
	spawn_tagged "$FAKE_CTL" "ipc://$T/$1/control.sock" "$1"
	wait_until test -S "$T/$1/control.sock"
}

step "a listener that never answers: exit 3 within the timeout"
fake_ctl silent
OUT=$(timeout 30 "$AGENTCTL" --runtime-dir "$T/silent" --timeout 500ms status 2>&1)
rc=$?
[ "$rc" != 124 ] || fail "agentctl hung on a silent listener"
assert_eq "$rc" 3 "silent listener"
assert_contains "$OUT" "no answer from agentd"
# Every verb that talks to agentd obeys the timeout.
for v in "stop a" "kill a" "reload" "wait a" "tree"; do
	# shellcheck disable=SC2086
	timeout 30 "$AGENTCTL" --runtime-dir "$T/silent" --timeout 300ms $v >/dev/null 2>&1
	rc=$?
	assert_eq "$rc" 3 "silent listener, $v"
done

step "a peer answering garbage or the wrong message: exit 3"
fake_ctl garbage
ctl_fails 3 --runtime-dir "$T/garbage" --timeout 5s status
assert_contains "$ERR" "invalid reply"
fake_ctl echo
ctl_fails 3 --runtime-dir "$T/echo" --timeout 5s status
assert_contains "$ERR" "invalid reply"
ctl_fails 3 --runtime-dir "$T/echo" --timeout 5s stop a

step "a peer speaking another SP protocol: exit 3 at once"
fake_ctl pair
OUT=$(timeout 30 "$AGENTCTL" --runtime-dir "$T/pair" --timeout 20s status 2>&1)
assert_eq "$?" 3 "pair0 peer"
assert_contains "$OUT" "not agentd's control socket"

step "send/call to an agent without inbox: exit 1"
ctl_fails 1 --runtime-dir "$T/silent" send nobody note '{}'
assert_contains "$ERR" "nobody has no inbox"
ctl_fails 1 --runtime-dir "$T/silent" call nobody echo '[1]'

step "watch and logs against a daemon that does not answer: exit 3"
ctl_fails 3 --runtime-dir "$T/silent" --timeout 1s watch
assert_contains "$ERR" "no answer from agentd"
ctl_fails 3 --runtime-dir "$T/silent" --timeout 1s logs -f a
assert_contains "$ERR" "no answer from agentd"

pass
