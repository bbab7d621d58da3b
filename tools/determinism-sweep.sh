#!/bin/sh
# The determinism sweep CI runs (make determinism-sweep): every scenario under scenarios/
# over SEEDS (default 1..200), run by two separate processes whose heaps differ, by a sim
# built with ASan, UBSan and slow checks (in which every table allocation moves its table):
# the first with two worker processes, the second with one, and different fill bytes for
# fresh memory (ASan's malloc_fill_byte, glibc's MALLOC_PERTURB_). Every (scenario, seed)
# must give the same trace hash in both, and none may crash, whatever the scenario expects.
# Two whole suites are cheaper than --check-determinism here: a forked copy of an ASan
# process pays a page fault for every page it touches.
#
# usage: tools/determinism-sweep.sh SIM [SEEDS]
set -eu
sim=$1
seeds=${2:-1..200}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
start=$(date +%s)

suite() { # DB JOBS FILL
    set +e
    ASAN_OPTIONS="${ASAN_OPTIONS:-}:malloc_fill_byte=$3" MALLOC_PERTURB_=$3 \
        "$sim" run scenarios/ --seeds "$seeds" --jobs "$2" --record off --db "$dir/$1" \
        --quiet >"$dir/$1.out" 2>&1
    status=$?
    set -e
    if [ "$status" -ge 2 ]; then
        cat "$dir/$1.out"
        echo "determinism sweep: sim run exited with status $status"
        exit 1
    fi
}
suite a.db 2 190
suite b.db 1 90
tail -1 "$dir/a.db.out"

runs=$(sqlite3 "$dir/a.db" "SELECT count(*) FROM runs")
report=$(sqlite3 -separator ' ' "$dir/a.db" "ATTACH '$dir/b.db' AS b;
    SELECT x.scenario_path, x.seed, x.result, printf('%016x', x.trace_hash), y.result,
           printf('%016x', y.trace_hash)
    FROM runs x JOIN b.runs y ON x.scenario_path = y.scenario_path AND x.seed = y.seed
    WHERE x.trace_hash <> y.trace_hash OR x.result = 'crash' OR y.result = 'crash'
    ORDER BY x.run_id")
missing=$(sqlite3 "$dir/a.db" "ATTACH '$dir/b.db' AS b;
    SELECT count(*) FROM runs x WHERE NOT EXISTS (SELECT 1 FROM b.runs y
        WHERE x.scenario_path = y.scenario_path AND x.seed = y.seed)")
bad=$(printf '%s' "$report" | grep -c . || true)
echo "determinism sweep: $runs runs of seeds $seeds in two processes; $bad differ or crashed;" \
     "$missing missing in the second; $(( $(date +%s) - start )) s"
if [ "$bad" -ne 0 ] || [ "$missing" -ne 0 ]; then
    printf '%s\n' "$report" | head -20 | while read -r path seed r1 h1 r2 h2; do
        echo "  $path seed $seed: $r1 $h1 / $r2 $h2"
        echo "    find where: $sim check-determinism $path --seed $seed"
    done
    exit 1
fi
