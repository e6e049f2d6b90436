#!/bin/bash
# The runtime directory (and its inbox/) must be agentd's own and closed to
# other writers: one owned by another user, writable by group/others, or a
# symbolic link is refused at start-up (exit 1, a clear message). A good
# one ends 0711 with inbox/ 1733, notify.sock 0666 (agents with User= use
# it), control.sock 0600, and no link socket (links are socketpairs).
. "$(dirname "$0")/common.sh"

write_unit a.agent <<EOF2
[Agent]
ExecStart=/bin/sleep 1000
Type=exec
EOF2

# refused DIR TEXT: agentd --runtime-dir DIR exits 1 saying TEXT.
refused() {
	local rc
	step "refused: $1 ($2)"
	tagged timeout 30 "$AGENTD" --units "$UNITS" --runtime-dir "$1" \
		</dev/null >"$T/refused.log" 2>&1
	rc=$?
	assert_eq "$rc" 1 "agentd exit status for $1"
	assert_contains "$(cat "$T/refused.log")" "$2"
	test ! -e "$1/control.sock" || fail "$1/control.sock created"
}

mkdir "$T/w"
chmod 0777 "$T/w"
refused "$T/w" "writable by group or others"
mkdir "$T/g"
chmod 0770 "$T/g"
refused "$T/g" "writable by group or others"

mkdir "$T/real"
ln -s "$T/real" "$T/l"
refused "$T/l" "is a symbolic link"

mkdir -m 0700 "$T/j"
ln -s "$T/real" "$T/j/inbox"
refused "$T/j" "inbox: is a symbolic link"

step "a good runtime dir: modes"
chmod 0755 "$RT"
start_agentd "$UNITS"
wait_state a running
assert_eq "$(stat -c %a "$RT")" 711 "runtime dir"
assert_eq "$(stat -c %a "$RT/inbox")" 1733 "inbox/"
assert_eq "$(stat -c %a "$RT/notify.sock")" 666 "notify.sock"
[ ! -e "$RT/link.sock" ] || fail "link.sock exists"
assert_eq "$(stat -c %a "$RT/control.sock")" 600 "control.sock"
stop_agentd

# Last, as they need root: directories owned by another user.
[ "$(id -u)" = 0 ] ||
	skip "not root: the rest passed; not checked: a runtime dir or inbox/ owned by another user (needs chown)"
id nobody >/dev/null 2>&1 ||
	skip "no user nobody: the rest passed; not checked: a runtime dir or inbox/ owned by another user"
mkdir "$T/o"
chown nobody "$T/o"
refused "$T/o" "not owned by agentd's user"
mkdir -m 0700 "$T/i" "$T/i/inbox"
chown nobody "$T/i/inbox"
refused "$T/i/inbox" "not owned by agentd's user"
refused "$T/i" "inbox: not owned by agentd's user"
pass
