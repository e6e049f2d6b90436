#!/bin/bash
# SPDX-License-Identifier: MIT
#
# agentctl with many agents (300 instances of one unit): large status
# replies as table and JSON, globs over instance names, wait on all of
# them, a stop by pattern, and an orderly exit with nothing left behind.
. "${INTEGRATION_LIB:-$(dirname "$0")/../lib.sh}"

N=300
write_unit many.agent <<UNIT
[Agent]
Type=exec
ExecStart=$(command -v sleep) 1000
Instances=$N
UNIT

start_agentd "$UNITS"

all_running() {
	"$AGENTCTL" --runtime-dir "$RT" status 2>/dev/null |
		awk 'NR > 1 && $3 == "running" { n++ } END { exit n != '"$N"' }'
}
step "all $N instances run"
wait_until -t 60 all_running

names=()
for ((i = 1; i <= N; i++)); do
	names+=("many@$i")
done
ctl_ok --timeout 30s wait "${names[@]}"

step "status: $N rows, as a table and as JSON"
ctl_ok status
assert_eq "$(($(wc -l <<<"$OUT") - 1))" "$N" "table rows"
ctl_ok status --json
json_check 'len(j) == '"$N"' and len(set(a["pid"] for a in j)) == '"$N" "$N distinct pids"
json_check 'sorted(int(a["name"].split("@")[1]) for a in j) == list(range(1, '"$N"' + 1))' "instance names 1..$N"

step "globs over instance names"
ctl_ok status --json 'many@1*'
json_eval "$OUT" 'len(j)'
assert_eq "$JV" 111 "many@1, many@10..19, many@100..199"
ctl_ok status 'many@2?'
assert_eq "$(($(wc -l <<<"$OUT") - 1))" 10 "many@20..29"

step "stop by pattern"
ctl_ok --timeout 60s stop 'many@2??'
assert_contains "$OUT" "100 agents"
ctl_ok status --json
json_eval "$OUT" 'sorted(set(a["state"] for a in j if a["name"].startswith("many@2") and len(a["name"]) == 8))'
assert_eq "$JV" '["inactive"]' "many@200..299 stopped"
json_eval "$OUT" 'sum(1 for a in j if a["state"] == "running")'
assert_eq "$JV" 200 "the others still run"

stop_agentd 0
assert_no_leftovers
pass
