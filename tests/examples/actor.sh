#!/bin/sh
# actor: handlers in FIFO order; the Report state runs before the messages
# queued behind it; a failing DeleteUrl leaves the actor running; the
# EVENT interrupt drains the queue, then finalize.
. "$(dirname "$0")/lib.sh"
run "$1"
expect_rc 0
expect_output "AddUrl https://www.rust-lang.org
AddUrl https://www.crates.io
Report (a state, before the queued messages): https://www.rust-lang.org https://www.crates.io (2)
AddUrl https://knowledge.dev
DeleteUrl failed: No such file or directory; the actor keeps running
DeleteUrl https://www.crates.io
finalize: https://www.rust-lang.org https://knowledge.dev (2)
actor ended: interrupted"
