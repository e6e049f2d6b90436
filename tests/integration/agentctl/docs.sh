#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The documentation matches the program: every verb of `agentctl --help`
# is in agentctl(1) and the bash completion, the exit codes are documented
# in both places, and the man pages render without groff warnings.
LIB_NEEDS_AGENTD=no
. "${INTEGRATION_LIB:-$(dirname "$0")/../lib.sh}"

man1=$SOURCE_ROOT/docs/agentctl.1
compl=$SOURCE_ROOT/agentctl/completion/agentctl.bash
[ -r "$man1" ] || fail "no $man1"

ctl_ok --help
verbs=$(awk '/^Verbs/ { on = 1; next } /^$/ { on = 0 } on { print $1 }' <<<"$OUT")
[ -n "$verbs" ] || fail "no verbs in --help"
for v in $verbs list; do
	grep -qw -- "$v" "$compl" || fail "verb $v is not in the bash completion"
done
# Each verb has its own entry in the VERBS section. (The sections are read
# into variables first: `awk | grep -q` fails under pipefail when grep
# exits before awk has written everything.)
verbs_sect=$(awk '/^\.SH VERBS/ { on = 1; next } /^\.SH/ { on = 0 } on' "$man1")
exit_sect=$(awk '/^\.SH EXIT STATUS/ { on = 1; next } /^\.SH/ { on = 0 } on' "$man1")
for v in $verbs; do
	grep -q -- "^\.B[R]* *$v\b" <<<"$verbs_sect" ||
		fail "agentctl(1) has no entry for $v"
done
for code in 0 1 2 3; do
	grep -qx "\.B $code" <<<"$exit_sect" ||
		fail "exit code $code is not in agentctl(1)"
	assert_match "$OUT" "  $code  " "exit code $code in --help"
done

if command -v groff >/dev/null; then
	for page in "$SOURCE_ROOT"/docs/*.[1-8]; do
		w=$(groff -man -ww -z "$page" 2>&1)
		assert_eq "$w" "" "groff warnings in $(basename "$page")"
	done
else
	step "groff not installed: rendering not checked"
fi
pass
