#!/bin/bash
# Every broken unit form is reported with file:line and agentd refuses to
# start (exit 1) with all of them listed.
. "$(dirname "$0")/common.sh"

u=$UNITS
printf '[Agent]\nExecStart=/bin/true\nFoo=bar\n' >$u/unknown-key.agent
printf '[Agent]\nType=exec\n' >$u/no-exec.agent
printf '[Agent]\nExecStart=/bin/true\nRestartSec=soon\n' >$u/bad-time.agent
printf '[Agent]\nExecStart=/bin/true\nType=forking\n' >$u/bad-type.agent
printf '[Agent]\nExecStart=/bin/true\nAfter=ghost\n' >$u/bad-after.agent
printf '[Agent]\nExecStart=/bin/true\nAfter=cyc2\n' >$u/cyc1.agent
printf '[Agent]\nExecStart=/bin/true\nAfter=cyc1\n' >$u/cyc2.agent
printf '[Agent]\nExecStart=/bin/sh -c "oops\n' >$u/bad-quote.agent
printf '[Agent]\nExecStart=/bin/true\nGroup=nowhere\n' >$u/bad-group.agent
printf '[Group]\nStrategy=everyone\n' >$u/bad-strategy.group
printf '[Agent]\nExecStart=/bin/true\n' >"$u/bad@name.agent"
printf 'garbage line\n' >$u/syntax.agent

"$AGENTD" --units "$u" --runtime-dir "$RT" >"$T/out" 2>&1
rc=$?
out=$(cat "$T/out")
assert_eq "$rc" 1 "agentd's exit status on a broken set"
for want in \
	"$u/unknown-key.agent:3: unknown key Foo in [Agent]" \
	"$u/no-exec.agent: missing ExecStart=" \
	"$u/bad-time.agent:3: RestartSec=soon: not a time span" \
	"$u/bad-type.agent:3: Type=forking" \
	"$u/bad-after.agent:3: After=ghost: no such agent" \
	"dependency cycle: cyc1 -> cyc2 -> cyc1" \
	"$u/bad-quote.agent:2: ExecStart=: unterminated quote" \
	"$u/bad-group.agent:3: Group=nowhere: no such group" \
	"$u/bad-strategy.group:2: Strategy=everyone" \
	"$u/bad@name.agent: 'bad@name' is not a valid name" \
	"$u/syntax.agent:1: syntax error"; do
	assert_contains "$out" "$want"
done
[ -e "$RT/control.sock" ] && fail "agentd opened its sockets despite the errors"

step "--check says the same, a good set passes"
"$AGENTD" --check --units "$u" >/dev/null 2>&1 && fail "--check accepted a broken set"
rm -f $u/*
printf '[Agent]\nExecStart=/bin/true\n' >$u/ok.agent
"$AGENTD" --check --units "$u" >"$T/out" 2>&1 || fail "--check refused a good set: $(cat "$T/out")"
pass
