#!/bin/bash
# An agent's output with NUL bytes: each line is kept whole (NUL shown as
# '?') and the ring keeps its 200 lines (NULs used to make it count bytes
# it never gave back, until it kept one line). Over-long lines are split
# into LOG_LINE_MAX (2048) byte lines, whether the newline comes in the
# same read or later; a line of exactly 2048 bytes stays one line.
. "$(dirname "$0")/common.sh"

"$PYTHON" - "$T/data" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    for i in range(400):
        f.write(b"nul%d\0%s\n" % (i, b"x" * 100))
    for i in range(150):
        f.write(b"plain%d\n" % i)
    f.write(b"a" * 5000 + b"\n")
    f.write(b"b" * 2048 + b"\n")
    f.write(b"end\n")
PY
writer=$(agent_script writer 'cat "$DATA"; exec sleep 1000')
write_unit w.agent <<EOF2
[Agent]
ExecStart=$writer
Type=exec
Environment=DATA=$T/data
EOF2
start_agentd "$UNITS"
wait_state w running
wait_until last_log_is w end
ctl_ok logs -n 1000 w
printf '%s\n' "$OUT" >"$T/got"
# 150 plain + 3 (5000 split) + 1 + end = 155, the rest NUL lines: 200 kept
# unless the 32 KiB cap bites first (it does not: < 32 KiB here)
assert_eq "$(grep -c '^plain' "$T/got")" 150 "plain lines kept"
assert_eq "$(grep -c '^nul' "$T/got")" 45 "NUL lines kept"
assert_eq "$(wc -l <"$T/got")" 200 "lines in the ring"
grep -qx "nul399?$(printf 'x%.0s' $(seq 100))" "$T/got" ||
	fail "the last NUL line is not whole: $(grep nul399 "$T/got")"
assert_eq "$(grep -c '^a*$' "$T/got")" 3 "5000 bytes: 3 lines"
assert_eq "$(grep '^a*$' "$T/got" | awk '{print length}' | tr '\n' ' ')" "2048 2048 904 " "split sizes"
assert_eq "$(grep -c '^b*$' "$T/got")" 1 "2048 bytes: 1 line"
assert_eq "$(grep '^b*$' "$T/got" | awk '{print length}')" 2048
stop_agentd
pass
