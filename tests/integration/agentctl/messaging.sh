#!/bin/bash
# SPDX-License-Identifier: MIT
#
# agentctl send / call / ping against a libagent agent under agentd: JSON
# bodies travel as msgpack and come back intact, events are delivered in
# order, an error response is exit 1, an agent without inbox is exit 1,
# bad JSON is exit 2, and an agent that does not answer is exit 3.
. "${INTEGRATION_LIB:-$(dirname "$0")/../lib.sh}"

need_test_agent

write_unit echo.agent <<UNIT
[Agent]
Type=agent
ExecStart=$TEST_AGENT
UNIT
write_unit plain.agent <<UNIT
[Agent]
Type=exec
ExecStart=$(command -v sleep) 1000
UNIT

start_agentd "$UNITS"
ctl_ok --timeout 20s wait echo plain

step "ping: a libagent agent answers through its mailbox"
ctl_ok ping echo
assert_match "$OUT" "^echo is alive \\(pid $(agent_pid echo), mailbox answered in [0-9.]+ ms\\)$"
ctl_ok --json ping echo
json_eval "$OUT" 'j["alive"] and j["rtt_us"] > 0'
assert_eq "$JV" "true" "ping --json has the round trip"
ctl_ok ping plain
assert_contains "$OUT" "no inbox"

step "call echo: JSON -> msgpack -> agent -> msgpack -> JSON"
for body in 'null' 'true' '0' '-7' '9223372036854775807' '1.5' '"text"' \
	    '"h\u00e9llo \u2603"' '[]' '{}' '[1,"two",[3],{"four":4}]' \
	    '{"nested":{"list":[null,false,{"x":-1.25}]},"empty":""}'; do
	ctl_ok call echo echo -- "$body"
	json_eval "$OUT" 'j'
	got=$JV
	json_eval "$body" 'j'
	assert_eq "$got" "$JV" "echo of $body"
done
ctl_ok call echo echo
assert_eq "$OUT" "null" "no body is null"
OUT=$(printf '{"from": "stdin", "n": [1, 2]}' |
	"$AGENTCTL" --runtime-dir "$RT" call echo echo -)
assert_eq "$?" 0 "call with JSON from stdin"
assert_eq "$OUT" '{"from":"stdin","n":[1,2]}'

step "send: events arrive, in order, and are counted"
ctl_ok call echo count
assert_eq "$OUT" 0
for i in 1 2 3 4 5; do
	ctl_ok send echo note "{\"i\": $i}"
done
ctl_ok call echo count
assert_eq "$OUT" 5 "five events before the request (FIFO from one sender)"

step "errors: the agent's error (1), unknown kind (1), bad JSON (2)"
ctl_fails 1 call echo fail '{}'
[ -n "$ERR" ] || fail "an error response prints its message"
ctl_fails 1 call echo no-such-kind '[]'
ctl_fails 2 call echo echo '{"a":'
assert_contains "$ERR" "invalid JSON"
ctl_fails 2 send echo note '[1,,2]'

step "no inbox: exit 1"
ctl_fails 1 send plain note '{}'
assert_contains "$ERR" "plain has no inbox"
ctl_fails 1 call plain echo '{}'
ctl_fails 1 send nobody note

step "an agent that does not answer: exit 3 within the timeout"
OUT=$(timeout 30 "$AGENTCTL" --runtime-dir "$RT" --timeout 500ms call echo hang '[1]' 2>&1)
rc=$?
[ "$rc" != 124 ] || fail "call hung on an agent that does not answer"
assert_eq "$rc" 3 "no answer"
assert_contains "$OUT" "no answer from echo"
ctl_ok --timeout 20s call echo count
assert_eq "$OUT" 5 "the agent continues"

step "the reply inbox is cleaned up"
left=$(find "$RT/inbox" -name '.agentctl-*' 2>/dev/null)
assert_eq "$left" "" "agentctl's reply sockets removed"

stop_agentd 0
assert_no_leftovers
pass
