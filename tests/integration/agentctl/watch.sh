#!/bin/bash
# SPDX-License-Identifier: MIT
#
# agentctl watch against a private agentd: the events of a stop and a start
# arrive in order with increasing sequence numbers, as text and as JSON
# (one object per line); a watcher that falls behind (paused while more
# events than agentd's ring holds happen) is told how many it missed;
# SIGINT ends a watch with 0, agentd going away with 3.
. "${INTEGRATION_LIB:-$(dirname "$0")/../lib.sh}"

SLEEP=$(command -v sleep)

write_unit a.agent <<UNIT
[Agent]
Type=exec
ExecStart=$SLEEP 1000
UNIT
# churn fails at once while $T/churn exists, and restarts at once: a source
# of many events on demand. Its own group tolerates that.
write_unit churn.group <<UNIT
[Group]
Order=2
Intensity=10000
Period=100ms
UNIT
write_unit churn.agent <<UNIT
[Agent]
Type=exec
Group=churn
Restart=always
RestartSec=0
ExecStart=/bin/sh -c 'test -e $T/churn && exit 1; exec $SLEEP 1000'
UNIT

start_agentd "$UNITS"
wait_state a running
wait_state churn running

# Start a background watch writing to FILE; its pid in $WPID.
start_watch() {
	local file=$1
	shift
	ctl_bg "$file" watch "$@"
	WPID=$BG_PID
}

# True once FILE has a line matching the ERE.
file_has() {
	grep -Eq -- "$2" "$1"
}

# The oldest event sequence number agentd still keeps (1 before the ring
# wrapped): from the missed count of a watch starting at 1.
first_seq() {
	"$AGENTCTL" --runtime-dir "$RT" --json watch --since 1 --count 1 |
		"$PYTHON" -c '
import json, sys
first = json.loads(sys.stdin.readline())
print(first["missed"] + 1 if "missed" in first else 1)'
}

step "a live watcher sees a's stop and start, in order"
start_watch "$T/w1.json" --json --since 1 a
wait_until file_has "$T/w1.json" '"to":"running"'
ctl_ok stop a
ctl_ok start a
wait_until eval '[ "$(grep -c "\"to\":\"running\"" "$T/w1.json")" -ge 2 ]'
"$PYTHON" - "$T/w1.json" <<'PY' || fail "watch --json output: $(cat "$T/w1.json")"
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
assert evs, "no events"
for e in evs:
    assert set(e) == {"seq", "time", "name", "from", "to", "detail"}, e
    assert e["name"] == "a", e
    assert isinstance(e["seq"], int) and e["time"].endswith("Z"), e
seqs = [e["seq"] for e in evs]
assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
got = [(e["from"], e["to"]) for e in evs][:6]
want = [("inactive", "starting"), ("starting", "running"),
        ("running", "stopping"), ("stopping", "inactive"),
        ("inactive", "starting"), ("starting", "running")]
assert got == want, got
assert evs[1]["detail"].startswith("pid "), evs[1]
PY
kill -INT "$WPID"
wait "$WPID"
assert_eq "$?" 0 "watch ended by SIGINT"

step "text output and --count"
ctl_ok watch --since 1 --count 3 a
assert_eq "$(wc -l <<<"$OUT")" 3 "three lines"
assert_match "$(head -n 1 <<<"$OUT")" '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ #[0-9]+ a inactive -> starting pid [0-9]+$'
assert_match "$(sed -n 3p <<<"$OUT")" ' a running -> stopping$'
# a glob and a unit name filter the same way
ctl_ok watch --since 1 --count 1 'ch*'
assert_match "$OUT" ' churn inactive -> starting '

step "a watcher paused while the ring overflows is told how many it missed"
start_watch "$T/w2.json" --json --since 1 churn
wait_until file_has "$T/w2.json" '"name":"churn"'
kill -STOP "$WPID"
last=$(tail -n 1 "$T/w2.json" | "$PYTHON" -c 'import json,sys; print(json.loads(sys.stdin.read())["seq"])')
touch "$T/churn"
ctl_ok kill -s KILL churn
# agentd keeps 1024 events: wait until the oldest kept is past what the
# paused watcher saw (plus its pending request's answer).
wait_until -t 120 eval '[ "$(first_seq)" -gt $((last + 10)) ]'
rm -f "$T/churn"
ctl_ok stop churn
kill -CONT "$WPID"
wait_until file_has "$T/w2.json" '"missed"'
"$PYTHON" - "$T/w2.json" <<'PY' || fail "gap not reported: $(head -c 2000 "$T/w2.json")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
i = next(i for i, l in enumerate(lines) if "missed" in l)
assert lines[i]["missed"] > 0, lines[i]
before = [l["seq"] for l in lines[:i]]
assert before, "no event before the gap"
PY
kill -INT "$WPID"
wait "$WPID"
assert_eq "$?" 0 "paused watch ended by SIGINT"
ctl_ok --json watch --since 1 --count 1
json_eval "$(head -n 1 <<<"$OUT")" 'j["missed"] > 0'
assert_eq "$JV" true "watch --since 1 after the ring wrapped"
ctl_ok watch --since 1 --count 1
assert_match "$(head -n 1 <<<"$OUT")" '^-- missed [0-9]+ events'

step "usage errors"
ctl_fails 2 watch --since abc
ctl_fails 2 watch --count 0
ctl_fails 2 status --since 3

step "agentd going away ends a watch with 3"
# Without --since only new events come: restart a until the watcher (which
# may not be connected yet at the first try) has seen one.
start_watch "$T/w3.txt" a
restart_seen() {
	ctl restart a
	[ "$RC" = 0 ] && file_has "$T/w3.txt" ' a starting -> running'
}
wait_until restart_seen
assert_not_contains "$(cat "$T/w3.txt")" " #1 " "old events without --since"
stop_agentd
wait "$WPID"
assert_eq "$?" 3 "watch after agentd exited"
assert_contains "$(cat "$T/w3.txt.err")" "agentd went away"
assert_no_leftovers
pass
