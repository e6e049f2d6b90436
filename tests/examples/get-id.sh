#!/bin/sh
# get-id: ids reserved in order; the 4th request gets the server's error.
. "$(dirname "$0")/lib.sh"
run "$1"
expect_rc 0
expect_output "Reserved id: 0
Reserved id: 1
Reserved id: 2
request 4: no id: No space left on device
client ended: done
server ended: interrupted"
