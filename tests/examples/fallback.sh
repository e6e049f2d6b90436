#!/bin/sh
# fallback: the server fails the first 2 requests; the fallback re-enters
# the state after each, and the third attempt loads the page.
. "$(dirname "$0")/lib.sh"
run "$1"
expect_rc 0
expect_count 2 "Can't load a page: HTTP 503 Service Unavailable\. Trying again\.\.\."
expect_order "Can't load a page: .*" \
	'loaded http://127\.0\.0\.1:[0-9]+/rust-lang \(29 bytes\) after 3 attempts' \
	'task ended: done'
