#!/bin/sh
# expect_exit.sh STATUS REGEX COMMAND...: passes when COMMAND exits with
# STATUS and its output (stdout and stderr) matches the extended REGEX.
want=$1; pattern=$2; shift 2
out=$("$@" 2>&1); got=$?
printf '%s\n' "$out"
if [ "$got" -ne "$want" ]; then echo "FAIL: exit status $got, expected $want"; exit 1; fi
if ! printf '%s\n' "$out" | grep -Eq -- "$pattern"; then echo "FAIL: output does not match: $pattern"; exit 1; fi
