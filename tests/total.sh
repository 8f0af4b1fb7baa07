#!/bin/sh
# Adds up the "passed failed skipped" triples that tests/run.sh left in each
# given summary file; a missing file (a suite that did not build) counts as
# one failure. Prints "N passed, N failed, N skipped" and fails if any failed.
pass=0 fail=0 skip=0
for f in "$@"; do
    if [ ! -f "$f" ]; then
        echo "$f: missing (suite did not build or run)"
        fail=$((fail + 1))
        continue
    fi
    read -r p fl s < "$f"
    pass=$((pass + p)); fail=$((fail + fl)); skip=$((skip + s))
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
