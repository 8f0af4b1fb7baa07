#!/bin/sh
# make mutants: small real bugs, each put into a scratch copy of the source
# in turn; the tests named for it must fail on every one. A mutant the tests
# let through is a hole in the suite, and this run fails.
#
#   sh tests/mutants.sh [BUILD] [LIST]     (BUILD: a finished build to start
#                                           from, default build; LIST default
#                                           tests/mutants.txt)
#
# LIST holds one block per mutant, separated by blank lines:
#   name:    what a user would see (the bug as it shows, not the code)
#   file:    the source file to change
#   find:    text that occurs exactly once in it
#   replace: what it becomes
#   tests:   test programs (tests/test_*.c names) of which one must fail
# The scratch copy lives in build-mutants/; the real tree is never touched.
# Prints "mutants: N caught, N missed" and leaves "N M 0" in
# build-mutants/summary for tests/total.sh.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
LIST=${2:-tests/mutants.txt}
SCRATCH=build-mutants/src
command -v perl >/dev/null || { echo "mutants: perl is needed"; exit 2; }
[ -d "$BUILD/obj" ] || { echo "mutants: build $BUILD first (make)"; exit 2; }

# The tree as it is (tracked and new files), with its build, mtimes kept so
# only what a mutant touches is rebuilt.
rm -rf build-mutants && mkdir -p "$SCRATCH"
git ls-files -co --exclude-standard -z | xargs -0 tar cf - | tar xf - -C "$SCRATCH" || exit 2
cp -a "$BUILD" "$SCRATCH/build" || exit 2

# Runs the named test programs in the scratch tree; 0 when all pass.
run_tests() { # TESTS...
    ( cd "$SCRATCH" && make -s -j"${JOBS:-2}" BUILD=build $(for t in "$@"; do printf 'build/tests/%s ' "$t"; done) >../make.log 2>&1 ) ||
        return 3
    for t in "$@"; do
        ( cd "$SCRATCH" && UNPROMPT_BUILD="$PWD/build" "build/tests/$t" >../"$t".out 2>&1 ) || return 1
    done
    return 0
}

# Replace FIND by REPL in FILE; fails unless FIND occurs exactly once.
mutate() { # FILE FIND REPL
    FIND=$2 REPL=$3 perl -0777 -i -pe '
        my $n = () = /\Q$ENV{FIND}\E/g;
        die "found $n times\n" if $n != 1;
        s/\Q$ENV{FIND}\E/$ENV{REPL}/;' "$1"
}

caught=0 missed=0 broken=0
check_one() {
    [ -n "$name" ] || return 0
    src="$SCRATCH/$file"
    if [ ! -f "$src" ]; then
        echo "  BROKEN $name: no file $file"; broken=$((broken + 1)); return
    fi
    for t in $tests; do # each program passes unmutated (checked once)
        grep -qx "$t" build-mutants/baseline 2>/dev/null && continue
        if ! run_tests "$t"; then
            echo "  BROKEN $name: $t fails before the mutation"; broken=$((broken + 1)); return
        fi
        echo "$t" >> build-mutants/baseline
    done
    cp -p "$src" build-mutants/orig
    if ! err=$(mutate "$src" "$find" "$replace" 2>&1); then
        echo "  BROKEN $name: '$find' in $file: $err"; broken=$((broken + 1))
        cp -p build-mutants/orig "$src"; return
    fi
    # shellcheck disable=SC2086
    run_tests $tests
    st=$?
    if [ "$st" -eq 1 ]; then
        echo "  caught: $name ($tests)"; caught=$((caught + 1))
    elif [ "$st" -eq 3 ]; then
        echo "  BROKEN $name: does not build"; broken=$((broken + 1))
    else
        echo "  MISSED: $name ($tests all pass with it)"; missed=$((missed + 1))
    fi
    cp build-mutants/orig "$src" && touch "$src"
}

name= file= find= replace= tests=
while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
    '#'*) ;;
    '') check_one; name= file= find= replace= tests= ;;
    name:*) name=${line#name:}; name=${name# } ;;
    file:*) file=${line#file:}; file=${file# } ;;
    find:*) find=${line#find:}; find=${find# } ;;
    replace:*) replace=${line#replace:}; replace=${replace# } ;;
    tests:*) tests=${line#tests:}; tests=${tests# } ;;
    *) echo "mutants: $LIST: cannot read '$line'"; exit 2 ;;
    esac
done <"$LIST"
check_one
echo "mutants: $caught caught, $missed missed, $broken broken"
echo "$caught $((missed + broken)) 0" > build-mutants/summary
[ "$missed" -eq 0 ] && [ "$broken" -eq 0 ]
