#!/bin/bash
# Agents' output goes to the journal when there is one: a fake journald on
# /run/systemd/journal/socket, in a private mount namespace (a tmpfs over
# /run that nobody else sees), reads the native protocol's datagrams.
#  - Every line an agent writes on stdout or stderr arrives as MESSAGE=
#    with AGENT=NAME, SYSLOG_IDENTIFIER=NAME and PRIORITY=6, none is
#    printed on agentd's stderr instead, and `agentctl logs` has them.
#  - A journald that stops reading does not stop agentd: an agent's 2,000
#    lines all reach `agentctl logs` and agentd answers meanwhile; once
#    journald reads again, agentd says how many lines it did not take.
#  - A journald gone (nobody on the socket, then no socket at all): lines
#    go to agentd's stderr.
if [ -z "${AGENTD_TEST_JOURNAL_NS:-}" ]; then
	if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
		echo "SKIP: needs root and unshare for a private /run"
		exit 77
	fi
	AGENTD_TEST_JOURNAL_NS=1 exec unshare -m --propagation private "$0" "$@"
fi
mount -t tmpfs -o mode=0755 tmpfs /run || { echo "SKIP: cannot mount /run"; exit 77; }
mkdir -p /run/systemd/journal
. "$(dirname "$0")/common.sh"

JSOCK=/run/systemd/journal/socket
"$PYTHON" - "$JSOCK" "$T/journal.log" "$T/pause" <<'PY' &
# The native protocol: FIELD=value lines, or FIELD\n<le64 size><value>\n
# for values with a newline; one entry per datagram. While the file
# argv[3] exists, nothing is read (a journald that is behind).
import os, socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.02)
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        if os.path.exists(sys.argv[3]):
            time.sleep(0.01)
            continue
        try:
            data = s.recv(65536)  # until told to quit (or killed at exit)
        except socket.timeout:
            continue
        fields, i = {}, 0
        while i < len(data):
            nl = data.index(b"\n", i)
            line = data[i:nl]
            if b"=" in line:
                k, v = line.split(b"=", 1)
                i = nl + 1
            else:
                k = line
                (n,) = struct.unpack("<Q", data[nl + 1:nl + 9])
                v = data[nl + 9:nl + 9 + n]
                i = nl + 9 + n + 1
            fields[k.decode()] = v.decode(errors="replace")
        if fields.get("MESSAGE") == "journal-test-quit":
            break
        f.write("AGENT=%s SYSLOG_IDENTIFIER=%s PRIORITY=%s MESSAGE=%s\n" % (
            fields.get("AGENT"), fields.get("SYSLOG_IDENTIFIER"),
            fields.get("PRIORITY"), fields.get("MESSAGE")))
PY
JPID=$!
track $JPID
wait_until test -S "$JSOCK"

# talker NAME BODY: a Type=exec agent running the shell BODY, then sleeping.
talker() {
	printf '[Agent]\nExecStart=%s\nType=exec\n' \
		"$(agent_script "$1" "$2
exec sleep 1000")" | write_unit "$1.agent"
}

talker talker 'echo out-line-1; echo err-line-1 >&2; echo out-line-2'
start_agentd "$UNITS"
wait_state talker running

step "stdout and stderr lines reach the journal with AGENT=talker"
for l in out-line-1 err-line-1 out-line-2; do
	wait_until grep -qxF "AGENT=talker SYSLOG_IDENTIFIER=talker PRIORITY=6 MESSAGE=$l" \
		"$T/journal.log"
done
grep -qE '^talker: (out|err)-line' "$T/agentd.log" &&
	fail "a line went to agentd's stderr while the journal answered"
ctl_ok logs talker
for l in out-line-1 err-line-1 out-line-2; do
	grep -qxF "$l" <<<"$OUT" || fail "agentctl logs lacks $l: $OUT"
done

step "a journald that stops reading: agentd goes on, and says what was lost"
touch "$T/pause"
talker flood 'i=0; while [ $i -lt 2000 ]; do i=$((i + 1)); echo flood-$i; done'
ctl_ok reload
wait_state flood running
wait_until last_log_is flood flood-2000
ctl_ok --timeout 2s status flood
grep -q 'MESSAGE=flood-2000$' "$T/journal.log" &&
	fail "the paused journald got the last line"
rm "$T/pause"
talker resumed 'echo after-resume'
ctl_ok reload
wait_until grep -qxF "AGENT=resumed SYSLOG_IDENTIFIER=resumed PRIORITY=6 MESSAGE=after-resume" \
	"$T/journal.log"
wait_log '^agentd: journal: [0-9]+ lines of agents were not taken while journald was behind'

step "a journald that stops answering: lines go to agentd's stderr"
"$PYTHON" - "$JSOCK" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    s.sendto(b"MESSAGE=journal-test-quit\n", sys.argv[1])
except OSError:
    pass  # gone already
PY
wait_pid_gone "$JPID"
talker later 'echo after-journal'
ctl_ok reload
wait_state later running
wait_log '^later: after-journal$'

step "no journal socket at all any more: stderr too"
rm -f "$JSOCK"
talker gone 'echo after-socket-gone'
ctl_ok reload
wait_state gone running
wait_log '^gone: after-socket-gone$'

stop_agentd
pass
