#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Every agentctl verb that agentd serves, against a private agentd with
# plain Type=exec agents (no libagent needed): output checked as a table
# and as JSON, exit codes 0 and 1, --group, globs, prefixes, reload,
# wait, ping, shutdown; no process left behind.
. "${INTEGRATION_LIB:-$(dirname "$0")/../lib.sh}"

SLEEP=$(command -v sleep)
TRUE=$(command -v true)

write_unit front.group <<UNIT
[Group]
Order=2
UNIT
write_unit back.group <<UNIT
[Group]
Order=1
UNIT
write_unit web.agent <<UNIT
[Agent]
Type=exec
ExecStart=$SLEEP 1000
Group=front
UNIT
write_unit db.agent <<UNIT
[Agent]
Type=exec
ExecStart=$SLEEP 1000
Group=back
UNIT
write_unit worker.agent <<UNIT
[Agent]
Type=exec
ExecStart=$SLEEP 1000
Group=back
After=db
Instances=2
UNIT
write_unit oneshot.agent <<UNIT
[Agent]
Type=exec
ExecStart=$TRUE
Group=front
Restart=no
UNIT

start_agentd "$UNITS"

step "wait until everything runs (agentctl wait)"
ctl_ok --timeout 20s wait web db worker@1 worker@2
ctl_ok --timeout 20s wait oneshot --state done,inactive

step "status as a table"
ctl_ok status
assert_not_contains "$OUT" $'\033' "no colours when piped"
assert_match "$(head -n1 <<<"$OUT")" '^NAME +GROUP +STATE +PID +UPTIME +RESTARTS +LAST-EXIT$'
assert_eq "$(($(wc -l <<<"$OUT") - 1))" 5 "five agents"
for n in web db worker@1 worker@2; do
	line=$(awk -v n="$n" '$1 == n' <<<"$OUT")
	assert_match "$line" "^$n +(front|back) +running +[1-9][0-9]* +[0-9]+[smhd]" "row of $n"
done
assert_match "$(awk '$1 == "web"' <<<"$OUT")" '^web +front '
assert_match "$(awk '$1 == "oneshot"' <<<"$OUT")" '^oneshot +front +(done|inactive) +- +- +0 +exited 0$'
pid_web=$(agent_pid web)
pid_alive "$pid_web" || fail "web's pid $pid_web is not alive"
# The leftover check at the end can only fail if agents carry the tag.
assert_contains " $(tagged_pids | tr '\n' ' ') " " $pid_web " "agents carry AGENTD_TEST_TAG"

step "status --json"
ctl_ok status --json
json_check 'len(j) == 5'
json_check 'sorted(a["name"] for a in j) == ["db", "oneshot", "web", "worker@1", "worker@2"]'
json_check 'all(sorted(a) == ["group", "last_exit", "name", "pid", "restarts", "state", "uptime_ms"] for a in j)'
json_check 'all(isinstance(a["pid"], int) and a["pid"] > 0 for a in j if a["state"] == "running")'
json_check 'all(isinstance(a["restarts"], int) and isinstance(a["uptime_ms"], int) for a in j)'
json_check "[a['pid'] for a in j if a['name'] == 'web'] == [$pid_web]"
json_check '[a["group"] for a in j if a["name"] == "db"] == ["back"]'
json_check '[a["pid"] for a in j if a["name"] == "oneshot"] == [None]'

step "NAME and GLOB selection, unknown names"
ctl_ok status 'worker@*'
assert_eq "$(($(wc -l <<<"$OUT") - 1))" 2 "two workers"
ctl_ok status --json 'w*' db
json_check 'sorted(a["name"] for a in j) == ["db", "web", "worker@1", "worker@2"]'
ctl_ok status 'nomatch*'
assert_eq "$(wc -l <<<"$OUT")" 1 "only the header"
ctl_ok status --json 'nomatch*'
json_check 'j == []'
ctl_fails 1 status nosuchagent
assert_contains "$ERR" "nosuchagent"
ctl_fails 1 status web nosuchagent
ctl_ok stat web        # unique prefix of status
ctl_ok list web        # alias
assert_eq "$(($(wc -l <<<"$OUT") - 1))" 1

step "tree"
ctl_ok tree
assert_contains "$OUT" "back"
assert_contains "$OUT" "front"
assert_match "$OUT" '(\|-|`-) web +running +pid [0-9]+'
ctl_ok tree --json
json_check 'sorted(g["group"] for g in j) == ["back", "front"]'
json_check 'sorted(a["name"] for g in j if g["group"] == "back" for a in g["agents"]) == ["db", "worker@1", "worker@2"]'

step "stop, start, restart one agent"
ctl_ok stop web
assert_contains "$OUT" "1 agent"
wait_state web inactive
wait_pid_gone "$pid_web" || fail "web's process survived stop"
ctl_ok status --json web
json_check 'j[0]["pid"] is None and j[0]["state"] == "inactive"'
ctl_ok start web
wait_state web running
pid2=$(agent_pid web)
assert_ne "$pid2" "$pid_web" "a new process"
ctl_ok restart web
wait_state web running
wait_until has_pid web
wait_pid_gone "$pid2" || fail "restart left the old process"
assert_ne "$(agent_pid web)" "$pid2" "restart: a new process"
ctl_fails 1 stop nosuchagent
ctl_fails 1 start nosuchagent
ctl_fails 1 restart nosuchagent

step "--json result of an action"
ctl_ok stop --json web
json_check 'j["code"] == 0 and isinstance(j["message"], str)'
ctl_ok start web
ctl_ok wait web

step "--group"
ctl_ok stop --group back
wait_state db inactive
wait_state worker@1 inactive
wait_state worker@2 inactive
assert_eq "$(agent_state web)" running "the other group keeps running"
ctl_ok start --group back
ctl_ok --timeout 20s wait db worker@1 worker@2
ctl_fails 1 stop --group nosuchgroup
ctl_fails 2 stop --group 'bad group!'

step "kill -s KILL: the agent dies and is restarted (Restart=on-failure)"
pid_db=$(agent_pid db)
ctl_ok kill -s KILL db
assert_contains "$OUT" "SIGKILL"
wait_pid_gone "$pid_db" || fail "db survived SIGKILL"
wait_until has_pid db
ctl_ok --timeout 20s wait db
ctl_ok status --json db
json_check 'j[0]["restarts"] >= 1'
json_check '"SIGKILL" in (j[0]["last_exit"] or "")'
ctl_fails 1 kill nosuchagent
ctl_fails 2 kill -s 0 db

step "reset-failed"
ctl_ok reset-failed db
ctl_ok reset-failed
ctl_ok reset-failed --group back
ctl_fails 1 reset-failed nosuchagent

step "reload: add, keep, remove; a broken set is refused"
write_unit extra.agent <<UNIT
[Agent]
Type=exec
ExecStart=$SLEEP 1000
UNIT
pid_web=$(agent_pid web)
ctl_ok reload
ctl_ok --timeout 20s wait extra
assert_eq "$(agent_pid web)" "$pid_web" "untouched agents keep their pid"
rm "$UNITS/extra.agent"
ctl_ok reload
# gone: agentd answers that it does not know it (not merely no answer)
wait_until eval 'ctl status extra; [ "$RC" = 1 ] && [[ "$ERR" == *"no such agent: extra"* ]]'
write_unit broken.agent <<UNIT
[Agent]
NoSuchKey=1
UNIT
ctl_fails 1 reload
assert_contains "$ERR" "broken.agent"
rm "$UNITS/broken.agent"
assert_eq "$(agent_state web)" running "a refused reload changes nothing"
assert_eq "$(agent_pid web)" "$pid_web"

step "wait: success, timeout (exit 1), unknown agent (exit 1)"
ctl_ok wait web --state running --timeout 5s
ctl_fails 1 wait web --state failed --timeout 300ms
assert_contains "$ERR" "timed out"
assert_contains "$ERR" "it is running"
ctl_fails 1 wait nosuchagent --timeout 2s

step "ping"
ctl_ok ping web
assert_contains "$OUT" "web is alive (pid $(agent_pid web)"
ctl_ok stop web
ctl_fails 1 ping web
assert_contains "$ERR" "web is inactive"

step "bash completion: verbs and agent names from this agentd"
# shellcheck source=../../../agentctl/completion/agentctl.bash
. "$SOURCE_ROOT/agentctl/completion/agentctl.bash"
complete_words() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_agentctl
	printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " " | sed "s/ $//"
}
assert_eq "$(complete_words "$AGENTCTL" re)" "reload reset-failed restart"
assert_eq "$(complete_words "$AGENTCTL" --runtime-dir "$RT" stop w)" "web worker@1 worker@2"
assert_eq "$(complete_words "$AGENTCTL" --runtime-dir "$RT" kill -s KI)" "KILL"

step "a stop slower than --timeout: exit 1 (agentd busy, not unreachable), the stop goes on"
write_unit stubborn.agent <<UNIT
[Agent]
Type=exec
ExecStart=/bin/sh -c 'trap "" TERM; exec $SLEEP 1000'
Group=front
StopTimeoutSec=1500ms
UNIT
ctl_ok reload
ctl_ok --timeout 20s wait stubborn
ctl_fails 1 --timeout 300ms stop stubborn
assert_contains "$ERR" "not done within the timeout; agentd goes on with it"
assert_not_contains "$ERR" "no answer from agentd"
ctl_ok --timeout 20s wait stubborn --state inactive
assert_contains "$(agent_field stubborn 7) $(agent_field stubborn 8) $(agent_field stubborn 9)" "SIGKILL"

step "shutdown: agentd stops everything and exits 0"
ctl_ok status --json
json_eval "$OUT" '" ".join(str(a["pid"]) for a in j if a["pid"])'
pids=$JV
ctl_ok shutdown
wait_agentd_exit
assert_eq "$RC" 0 "agentd's exit status after shutdown"
for p in $pids; do
	wait_pid_gone "$p" 5 || fail "agent process $p survived shutdown"
done
ctl_fails 3 status
assert_contains "$ERR" "agentd is not running"
assert_no_leftovers
pass
