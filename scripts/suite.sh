#!/usr/bin/env bash
# Runs one test suite of `make test` and records how it went.
#   scripts/suite.sh NAME COMMAND [ARG]...
# The output goes to build/suites/NAME.log (the last 150 lines are shown
# when the suite fails); build/suites/NAME.result gets "NAME STATUS SECONDS".
# Exits with the suite's status.
set -uo pipefail
name=$1
shift
dir=build/suites
mkdir -p "$dir"
log=$dir/$name.log
start=$(date +%s.%N)
echo "== $(date -u +%T) $name: started"
"$@" >"$log" 2>&1
status=$?
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
echo "$name $status $secs" >"$dir/$name.result"
if [ "$status" -eq 0 ]; then
        echo "== $(date -u +%T) $name: passed in ${secs} s ($(grep -Eo '[0-9]+ passed[^=]*' "$log" | tail -1 || true))"
else
        echo "== $(date -u +%T) $name: FAILED (status $status) after ${secs} s; the end of $log:"
        tail -n 150 "$log"
fi
exit "$status"
