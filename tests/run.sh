#!/bin/sh
# Runs every test program in $1 (default build/tests) and adds up their
# "name: N passed, N failed, N skipped" lines. Prints the total as
# "N passed, N failed, N skipped" on its own line; exits 1 if any failed.
dir=${1:-build/tests}
runner=${TEST_RUNNER:-}
pass=0 fail=0 skip=0 crashed=0
for t in "$dir"/test_*; do
    [ -x "$t" ] || continue
    out=$($runner "$t" 2>"$t.stderr"); rc=$?
    line=$(printf '%s\n' "$out" | grep -E '^[a-z0-9_-]+: [0-9]+ passed, [0-9]+ failed' | tail -1)
    if [ -z "$line" ]; then
        echo "$(basename "$t"): crashed or printed no summary (exit $rc)"
        sed 's/^/    /' "$t.stderr" | tail -20
        crashed=$((crashed + 1)); fail=$((fail + 1))
        continue
    fi
    echo "$line"
    [ "$rc" -ne 0 ] && sed 's/^/    /' "$t.stderr" | tail -40
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    s=$(echo "$line" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p')
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + ${s:-0}))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then fail=$((fail + 1)); echo "    (exit $rc with no failed case)"; fi
done
echo "$pass passed, $fail failed, $skip skipped"
echo "$pass $fail $skip" > "$dir/summary"
[ "$fail" -eq 0 ]
