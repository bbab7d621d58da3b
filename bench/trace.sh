#!/bin/sh
# trace.sh: the recording figures of make bench. Runs the trace benchmark and the same
# benchmark built with SIM_NO_HASH alternately, three rounds (each itself the median of 5
# runs), and prints the medians and the hash's cost with recording off.
# Usage: bench/trace.sh BUILD NOHASH_BUILD [SEEDS]
set -eu
BUILD=$1
NOHASH=$2
SEEDS=${3:-10000}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for round in 1 2 3; do
    "$BUILD/sim-bench-trace" "$SEEDS" >>"$tmp"
    SIM_BENCH_SUFFIX=_nohash "$NOHASH/sim-bench-trace" "$SEEDS" off >>"$tmp"
done
median() { grep "^$1 " "$tmp" | awk '{print $2}' | sort -n | sed -n 2p; }
off=$(median record_off)
full=$(median record_full)
nohash=$(median record_off_nohash)
echo "record_off $off events/s"
echo "record_full $full events/s"
echo "record_off_nohash $nohash events/s"
awk -v on="$off" -v off="$nohash" 'BEGIN { printf "hash_overhead_record_off %.1f %%\n", (off - on) * 100 / off }'
