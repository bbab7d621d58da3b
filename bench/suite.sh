#!/bin/sh
# suite.sh: the suite figures of make bench. Runs the demo suite (scenarios/, as make demo
# does, with recording off and no database) with --jobs 1 and --jobs 2 alternately, five
# rounds, and prints each one's median seeds per second and the ratio.
# Usage: bench/suite.sh SIM [FOLDER]
set -eu
SIM=$1
SUITE=${2:-scenarios}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
now() { date +%s%N; }
for round in 1 2 3 4 5; do
    for jobs in 1 2; do
        t0=$(now)
        # exit 1 would mean a scenario missed its expect: the figure is still a figure
        summary=$("$SIM" run "$SUITE" --jobs "$jobs" --record off --quiet | tail -1) || true
        t1=$(now)
        seeds=$(echo "$summary" | awk '{print $1 + $3}')
        echo "$jobs $seeds $((t1 - t0))" >>"$tmp"
    done
done
rate() {
    grep "^$1 " "$tmp" | awk '{printf "%.1f\n", $2 * 1e9 / $3}' | sort -n | sed -n 3p
}
one=$(rate 1)
two=$(rate 2)
seeds=$(head -1 "$tmp" | awk '{print $2}')
echo "suite_seeds $seeds seeds ($SUITE)"
echo "suite_jobs1 $one seeds/s"
echo "suite_jobs2 $two seeds/s"
awk -v a="$one" -v b="$two" 'BEGIN { printf "suite_speedup_jobs2 %.2f x (target >= 1.7)\n", b / a }'
