#!/bin/bash
# What the child gets before exec: User= (uid, gid, groups, HOME),
# WorkingDirectory=, LimitNOFILE=, Environment= (quoted), stdin from
# /dev/null, its own session, and stdout/stderr captured into agentd's log
# with the agent's name (no journal in tests).
. "$(dirname "$0")/common.sh"
getent passwd nobody >/dev/null || skip "no user nobody"

write_unit who.agent <<'EOF2'
[Agent]
ExecStart=/bin/sh -c 'echo "uid=$(id -u) gid=$(id -g) home=$HOME cwd=$(pwd) nofile=$(ulimit -n) greeting=$GREETING sid=$(ps -o sid= -p $$ | tr -d " ") pid=$$"; echo "to stderr" >&2; read x; echo "stdin=eof:$?"; exec sleep 1000'
Type=exec
User=nobody
WorkingDirectory=/tmp
LimitNOFILE=123
Environment="GREETING=hello world"
EOF2
start_agentd "$UNITS"
wait_state who running
wait_log "^who: stdin=eof"
line=$(grep "^who: uid=" "$T/agentd.log")
step "$line"
assert_contains "$line" "uid=$(id -u nobody) gid=$(id -g nobody)"
assert_contains "$line" "home=$(getent passwd nobody | cut -d: -f6)"
assert_contains "$line" "cwd=/tmp"
assert_contains "$line" "nofile=123"
assert_contains "$line" "greeting=hello world"
pid=$(agent_pid who)
assert_contains "$line" "sid=$pid pid=$pid" "the agent leads its own session"
grep -q "^who: to stderr$" "$T/agentd.log" || fail "stderr not captured"
grep -q "^who: stdin=eof:1$" "$T/agentd.log" || fail "stdin is not /dev/null"
stop_agentd
pass
