#!/usr/bin/env bash
# Prints the wall time of every suite `make test` ran (build/suites/*.result)
# and the total since `make test` started; exits 1 when a suite failed or
# did not run.  scripts/suite-times.sh START_EPOCH SUITE...
set -uo pipefail
start=$1
shift
dir=build/suites
fail=0
printf '\n%-28s %-8s %8s\n' suite result seconds
for name in "$@"; do
        if [ -f "$dir/$name.result" ]; then
                read -r _ status secs <"$dir/$name.result"
                [ "$status" -eq 0 ] && result=passed || { result=FAILED; fail=1; }
                printf '%-28s %-8s %8s\n' "$name" "$result" "$secs"
        else
                printf '%-28s %-8s %8s\n' "$name" "not run" "-"
                fail=1
        fi
done
printf '%-28s %-8s %8s\n' "make test (wall)" "" "$(( $(date +%s) - start ))"
exit $fail
