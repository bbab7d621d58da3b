#!/bin/sh
# tools/shrink-table.sh SIM [N] [SCENARIO...]: the figures of sim shrink. For each scenario
# (default: the kv planted-bug scenarios), its first N failing seeds (default 10) are each
# shrunk; prints a line per scenario with the medians of the shrunk runs' events (as a share
# of the original's), faults, decisions (forced scheduling decisions off the fifo strategy
# and cancellations, before and after) and operations (the history's, before and after).
# SHRINK_ARGS passes options to sim shrink (e.g. --max-runs 400). Deterministic: the same
# binary prints the same table.
set -eu
sim=$1
n=${2:-10}
shift $(( $# >= 2 ? 2 : $# ))
[ $# -gt 0 ] || set -- scenarios/kv/bug-*.ini
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '%-28s %6s %14s %14s %12s %12s %10s %10s %10s %10s\n' scenario shrunk "events before" "events after" "share (med)" "faults (med)" "dec before" "dec after" "ops before" "ops after"
for sc in "$@"; do
    db="$dir/$(basename "$sc" .ini).db"
    "$sim" run "$sc" --db "$db" --quiet >/dev/null 2>&1 || true
    runs=$(sqlite3 "$db" "SELECT run_id FROM runs WHERE result <> 'pass' ORDER BY run_id LIMIT $n")
    : > "$dir/rows"
    for r in $runs; do
        # shellcheck disable=SC2086
        out=$("$sim" shrink --db "$db" "$r" --quiet ${SHRINK_ARGS:-} 2>/dev/null) || continue
        b=$(echo "$out" | awk '$1 == "before" { print $3 }')
        a=$(echo "$out" | awk '$1 == "after" { print $3 }')
        f=$(echo "$out" | awk '$1 == "after" { print $2 }')
        db0=$(echo "$out" | awk '$1 == "before" { print $6 }')
        da=$(echo "$out" | awk '$1 == "after" { print $6 }')
        ob=$(echo "$out" | awk '$1 == "before" { print $7 }')
        oa=$(echo "$out" | awk '$1 == "after" { print $7 }')
        echo "$b $a $f $db0 $da $ob $oa" >> "$dir/rows"
    done
    k=$(wc -l < "$dir/rows")
    mb=$(awk '{ print $1 }' "$dir/rows" | median)
    ma=$(awk '{ print $2 }' "$dir/rows" | median)
    share=$(awk '{ printf "%.4f\n", $2 / $1 }' "$dir/rows" | median)
    mf=$(awk '{ print $3 }' "$dir/rows" | median)
    md0=$(awk '{ print $4 }' "$dir/rows" | median)
    mda=$(awk '{ print $5 }' "$dir/rows" | median)
    mob=$(awk '{ print $6 }' "$dir/rows" | median)
    moa=$(awk '{ print $7 }' "$dir/rows" | median)
    printf '%-28s %6s %14s %14s %12s %12s %10s %10s %10s %10s\n' "$(basename "$sc" .ini)" "$k" "$mb" "$ma" "$share" "$mf" "$md0" "$mda" "$mob" "$moa"
done
