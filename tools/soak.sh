#!/bin/sh
# soak.sh: `make soak`. Runs every clean scenario (every file under scenarios/ that does not
# say `expect = fail`) over a wide range of seeds, and fails on any failing seed.
#
# Usage: tools/soak.sh SIM        (run from anywhere; SIM and SOAK_DB are relative to the
#                                  repository's root)
# Environment:
#   SOAK_SEEDS  the seeds, A..B (default 1..10000); every scenario runs all of them
#   SOAK_JOBS   worker processes (default: the number of cores)
#   SOAK_DB     the trace database the failures are recorded in (default build/soak.db,
#               made afresh), so that each can be replayed: sim replay --db FILE RUN
#   SOAK_LABEL  a word for the summary line (default "soak")
#
# The regression copies (files whose name holds "regress": one failing seed of another
# scenario, with its settings) are left out: the scenario they copy runs the same settings
# over the whole range. Prints sim run's failures and table, then one summary line with the
# wall time. Exit status: sim run's (0 when every seed passed).
set -eu
cd "$(dirname "$0")/.."
sim=${1:?usage: tools/soak.sh SIM}
seeds=${SOAK_SEEDS:-1..10000}
jobs=${SOAK_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
db=${SOAK_DB:-build/soak.db}
label=${SOAK_LABEL:-soak}

if ! echo "$seeds" | grep -Eq '^[0-9]{1,9}\.\.[0-9]{1,9}$'; then
    echo "$label: SOAK_SEEDS must be A..B (whole numbers below 10^9), got '$seeds'" >&2
    exit 2
fi

files=$(find scenarios -name '*.ini' ! -name '*regress*' | LC_ALL=C sort | while read -r f; do
    grep -Eq '^[[:space:]]*expect[[:space:]]*=[[:space:]]*fail[[:space:]]*$' "$f" || echo "$f"
done)
count=$(echo "$files" | grep -c . || true)
if [ "$count" -eq 0 ]; then
    echo "$label: no clean scenario under scenarios/" >&2
    exit 2
fi

first=${seeds%%..*}
last=${seeds##*..}
echo "$label: $count clean scenario(s) x seeds $seeds, --jobs $jobs, failures into $db"
mkdir -p "$(dirname "$db")"
rm -f "$db" "$db-wal" "$db-shm"
start=$(date +%s)
# sim run's output goes through tee (shown as it comes, kept for the summary); its exit
# status through a file, as a POSIX shell has no pipefail.
# shellcheck disable=SC2086 # one word per file: scenario paths have no spaces
{ status=0; "$sim" run $files --seeds "$seeds" --jobs "$jobs" --db "$db" || status=$?
  echo "$status" > "$db.rc"; } | tee "$db.out"
end=$(date +%s)
status=$(cat "$db.rc")
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$db.out" | tail -1 || true)
# The command that reproduces each failure from the source tree alone (the database may stay
# on the machine that ran it): the scenario file by its name, and the seed.
fails=$(sed -n 's/^FAIL  \([^ ]*\) seed \([0-9]*\) .*/\1 \2/p' "$db.out" | head -10)
rm -f "$db.out" "$db.rc"
wall=$((end - start))
runs=$(( (last - first + 1) * count ))
echo "$label: $count scenario(s), seeds $seeds ($runs runs): ${summary:-no summary (exit $status)};" \
     "wall $((wall / 60))m$((wall % 60))s with --jobs $jobs"
if [ "$status" -ne 0 ]; then
    echo "$label: FAILED. To reproduce a failure from the source tree:"
    echo "$fails" | while read -r name seed; do
        [ -n "$name" ] || continue
        # shellcheck disable=SC2086
        file=$(grep -El "^[[:space:]]*name[[:space:]]*=[[:space:]]*${name}[[:space:]]*\$" $files |
               head -1)
        echo "  $sim run ${file:-<the file of $name>} --seed $seed --db repro.db --record full"
    done
    echo "  (the first 10 failures; all of them: $sim list --db $db --failed)"
fi
exit "$status"
