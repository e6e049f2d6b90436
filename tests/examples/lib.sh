# lib.sh - helpers for the examples' tests. Each test script sources it,
# runs one example with run(), then asserts on its output ($out, one
# string) and exit status ($rc). Any failed assertion prints the output
# and exits 1; reaching the end means pass.

set -u

# run CMD... : run an example (bounded), keep stdout+stderr in $out
run() {
	out=$(timeout -k 5 25 "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/  | /'
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

expect_rc() {
	[ "$rc" -eq "$1" ] || fail "exit status $rc, expected $1"
}

# expect_count N ERE : exactly N lines match ERE (whole line)
expect_count() {
	n=$(printf '%s\n' "$out" | grep -cxE -- "$2")
	[ "$n" -eq "$1" ] || fail "$n lines match '$2', expected $1"
}

expect_line() {
	expect_count 1 "$1"
}

# expect_output TEXT : the whole output, exactly
expect_output() {
	[ "$out" = "$1" ] || fail "output differs from the expected:
$1"
}

# expect_order ERE... : the first lines matching each ERE come in this order
expect_order() {
	prev=0
	for re in "$@"; do
		n=$(printf '%s\n' "$out" | grep -nxE -- "$re" | head -n1 | cut -d: -f1)
		[ -n "$n" ] || fail "no line matches '$re'"
		[ "$n" -gt "$prev" ] || fail "'$re' (line $n) comes before line $prev"
		prev=$n
	done
}

# expect_last ERE : the last line matches
expect_last() {
	printf '%s\n' "$out" | tail -n1 | grep -qxE -- "$1" ||
		fail "the last line does not match '$1'"
}

# sum of x^10 for x in 1..20, computed independently of the examples
sum_of_powers() {
	echo 's = 0; for (x = 1; x <= 20; x++) s += x^10; s' | bc
}
