#!/bin/sh
# concurrent-task: 4 requests in flight at once, each page loaded exactly
# once (in any order), then joined.
. "$(dirname "$0")/lib.sh"
run "$1"
expect_rc 0
for page in www.rust-lang.org www.crates.io crateful.substack.com knowledge.dev; do
	expect_line "loaded http://127\.0\.0\.1:[0-9]+/$page \([0-9]+ bytes\)"
done
expect_count 4 'loaded .*'
expect_order '4 requests in flight' 'loaded .*'
expect_last 'joined 4 pages'
