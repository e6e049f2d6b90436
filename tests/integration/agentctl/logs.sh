#!/bin/bash
# SPDX-License-Identifier: MIT
#
# agentctl logs against a private agentd: the last lines a Type=exec shell
# agent wrote (stdout and stderr), -n, --json, -f following a new line,
# unknown agents (exit 1) and bad names (exit 2).
. "${INTEGRATION_LIB:-$(dirname "$0")/../lib.sh}"

mkfifo "$T/in"
write_unit talk.agent <<UNIT
[Agent]
Type=exec
ExecStart=/bin/sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line\$i; done; echo oops >&2; exec 3<>$T/in; while read -r l <&3; do echo "got \$l"; done'
UNIT
# burst: 30,000 lines (~300 KB) into a 1 MiB pipe at once, then silence.
# agentd reads 128 KiB per wake-up; the rest must come without new output.
cat >"$T/burst.py" <<'PY'
import fcntl, os, time
try:
    fcntl.fcntl(1, 1031, 1 << 20)  # F_SETPIPE_SZ (may be refused: then
except OSError:                    # agentd drains a 64 KiB pipe, no burst)
    pass
os.write(1, b"".join(b"burst%d\n" % i for i in range(1, 30001)))
time.sleep(1000)
PY
write_unit burst.agent <<UNIT
[Agent]
Type=exec
ExecStart=$PYTHON $T/burst.py
UNIT
write_unit mute.agent <<UNIT
[Agent]
Type=exec
ExecStart=$(command -v sleep) 1000
UNIT

start_agentd "$UNITS"
wait_state talk running
wait_state mute running

step "the last 10 lines by default, stdout and stderr"
wait_until last_log_is talk oops
ctl_ok logs talk
assert_eq "$(wc -l <<<"$OUT")" 10 "default -n"
assert_eq "$(head -n 1 <<<"$OUT")" line4
assert_eq "$(tail -n 1 <<<"$OUT")" oops

step "a burst longer than one read: every line arrives, the last too"
wait_state burst running
wait_until last_log_is burst burst30000
ctl_ok --json logs -n 1 burst
json_eval "$OUT" '[j["line"], j["seq"]]'
assert_eq "$JV" '["burst30000", 30000]'

step "-n limits"
ctl_ok logs -n 3 talk
assert_eq "$OUT" "$(printf 'line11\nline12\noops')"
ctl_ok logs -n 0 talk
assert_eq "$OUT" "" "-n 0"
ctl_ok logs -n 1000 talk
assert_eq "$(wc -l <<<"$OUT")" 13 "-n past what is kept"
ctl_ok logs mute
assert_eq "$OUT" "" "an agent that wrote nothing"

step "--json"
ctl_ok --json logs -n 2 talk
json_eval "$(head -n 1 <<<"$OUT")" 'j["line"]'
assert_eq "$JV" line12
json_eval "$(tail -n 1 <<<"$OUT")" '[j["line"], j["seq"]]'
assert_eq "$JV" '["oops", 13]'

step "-f follows a new line"
ctl_bg "$T/f.out" logs -f -n 1 talk
FPID=$BG_PID
wait_until grep -qx oops "$T/f.out"
echo hello >"$T/in"
wait_until grep -qx "got hello" "$T/f.out"
echo again >"$T/in"
wait_until grep -qx "got again" "$T/f.out"
assert_eq "$(cat "$T/f.out")" "$(printf 'oops\ngot hello\ngot again')"
kill -INT "$FPID"
wait "$FPID"
assert_eq "$?" 0 "logs -f ended by SIGINT"

step "unknown agent: exit 1; bad name or -n: exit 2"
ctl_fails 1 logs nope
assert_contains "$ERR" "no such agent: nope"
ctl_fails 1 logs -f nope
ctl_fails 2 logs 'a/b'
ctl_fails 2 logs -n x talk
ctl_fails 2 logs

step "logs -f ends with 3 when agentd goes away"
ctl_bg "$T/g.out" logs -f -n 1 talk
FPID=$BG_PID
echo last >"$T/in"
wait_until grep -qx "got last" "$T/g.out"
stop_agentd
wait "$FPID"
assert_eq "$?" 3 "logs -f after agentd exited"
assert_contains "$(cat "$T/g.out.err")" "agentd went away"
assert_no_leftovers
pass
