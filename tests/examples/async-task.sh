#!/bin/sh
# async-task loads one page from its local server and ends done.
. "$(dirname "$0")/lib.sh"
run "$1"
expect_rc 0
expect_line 'loaded http://127\.0\.0\.1:[0-9]+/rust-lang \(29 bytes\)'
expect_last 'task ended: done'

# Without a fallback an error fails the task (crb's `?`): port 0 refuses.
run "$1" http://127.0.0.1:0/rust-lang
expect_rc 1
expect_line "can't load http://127\.0\.0\.1:0/rust-lang: Connection refused"
expect_last 'task ended: failed'
