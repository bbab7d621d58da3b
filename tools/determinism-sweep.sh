#!/bin/sh
# The determinism sweep CI runs (make determinism-sweep): every scenario under scenarios/
# over SEEDS (default 1..200), each seed run twice, the second time in a forked process with
# a different heap (sim run --check-determinism), by a sim built with ASan, UBSan and slow
# checks, in which every table allocation moves its table. It fails when any seed is
# nondeterministic or crashes, whatever the scenario expects, and prints how to replay it.
#
# usage: tools/determinism-sweep.sh SIM [SEEDS]
set -eu
sim=$1
seeds=${2:-1..200}
db=$(mktemp -d)/sweep.db
trap 'rm -rf "$(dirname "$db")"' EXIT
start=$(date +%s)
set +e
"$sim" run scenarios/ --seeds "$seeds" --check-determinism --record off --db "$db" --quiet \
    >"$db.out" 2>&1
status=$?
set -e
if [ "$status" -ge 2 ]; then
    cat "$db.out"
    echo "determinism sweep: sim run exited with status $status"
    exit 1
fi
tail -1 "$db.out"
bad=$(sqlite3 "$db" "SELECT count(*) FROM runs WHERE result IN ('nondeterministic', 'crash')")
runs=$(sqlite3 "$db" "SELECT count(*) FROM runs")
echo "determinism sweep: $runs runs of seeds $seeds, each twice; $bad nondeterministic or" \
     "crashed; $(( $(date +%s) - start )) s"
if [ "$bad" -ne 0 ]; then
    sqlite3 -separator ' ' "$db" "SELECT scenario, 'seed', seed, result, detail FROM runs
        WHERE result IN ('nondeterministic', 'crash') ORDER BY run_id"
    grep -A1 -E 'nondeterministic|crash' "$db.out" | grep 'replay:' | head -20
    exit 1
fi
