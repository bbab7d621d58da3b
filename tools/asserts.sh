#!/usr/bin/env bash
# asserts.sh: assertion density per module, TigerBeetle's measure of how much of the code is
# specification. A function is non-trivial when its body has more than 5 lines; an assertion
# is SIM_ASSERT, SIM_ASSERT_SLOW or _Static_assert inside it (assertions in macros and inline
# helpers of headers are not counted). Prints one line per module:
#   module  functions  non-trivial  assertions  per non-trivial  without any
# and, with --min X M1,M2,..., fails when a listed module's assertions per non-trivial
# function are below X (make tidy enforces 2.0 on the modules issue 15 names).
# Usage: tools/asserts.sh [--min X MODULE,MODULE...] [ROOT]
set -u
min=""
mods=""
if [ "${1:-}" = "--min" ]; then
    min=$2
    mods=",$3,"
    shift 3
fi
cd "${1:-$(dirname "$0")/..}" || exit 2
count_module() {
    find "$1" -name '*.c' | sort | xargs awk '
        /^[A-Za-z_].*\)\s*$/ { sig = 1; next }
        /^\{\s*$/ && sig { start = FNR; asserts = 0; sig = 0; next }
        { if ($0 !~ /^[A-Za-z_].*\)\s*$/) sig = 0 }
        start > 0 {
            line = $0
            sub(/\/\*.*$/, "", line)
            asserts += gsub(/SIM_ASSERT(_SLOW)?\(|_Static_assert\(/, "", line)
        }
        /^\}/ && start > 0 {
            fns++
            if (FNR - start - 1 > 5) { big++; total += asserts; if (asserts == 0) none++ }
            start = 0
        }
        END {
            ratio = big ? total / big : 0
            printf "%d %d %d %.2f %d\n", fns, big, total, ratio, none
        }'
}
status=0
printf '%-16s %9s %11s %10s %15s %11s\n' module functions non-trivial assertions \
    "per non-trivial" "without any"
for m in src/core src/executor src/net_sim src/disk_sim src/fault src/trace src/check \
         src/scenario replay cmd; do
    [ -d "$m" ] || continue
    read -r fns big total ratio none <<<"$(count_module "$m")"
    pct=$(( big ? 100 * none / big : 0 ))
    printf '%-16s %9d %11d %10d %15s %10d%%\n' "$m" "$fns" "$big" "$total" "$ratio" "$pct"
    if [ -n "$min" ]; then
        # A module with no non-trivial function (a test's one-file tree) has nothing to hold.
        if [[ "$mods" == *",$m,"* ]] && [ "$big" -gt 0 ] &&
            awk -v r="$ratio" -v m="$min" 'BEGIN { exit !(r < m) }'
        then
            echo "asserts: $m has $ratio assertions per non-trivial function, below $min"
            status=1
        fi
    fi
done
exit $status
