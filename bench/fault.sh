#!/bin/sh
# fault.sh: the fault-point figures of make bench. Runs the fault benchmark as built and
# built with SIM_NO_FAULT_POINTS, alternately, three rounds (each the median of 5 runs), and
# prints the medians and what a point costs in a round trip.
# Usage: bench/fault.sh BUILD NOPOINTS_BUILD [N]
set -eu
BUILD=$1
NOPOINTS=$2
N=${3:-10000000}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for round in 1 2 3; do
    "$BUILD/sim-bench-fault" "$N" >>"$tmp"
    SIM_BENCH_SUFFIX=_nopoints "$NOPOINTS/sim-bench-fault" "$N" >>"$tmp"
done
median() { grep "^$1 " "$tmp" | awk '{print $2}' | sort -n | sed -n 2p; }
off=$(median fault_hit_off)
armed=$(median fault_hit_armed)
bare=$(median fiu_fail_bare)
pp=$(median pingpong_point)
pp0=$(median pingpong_point_nopoints)
echo "fault_hit_off $off ns/hit"
echo "fault_hit_armed $armed ns/hit"
echo "fiu_fail_bare $bare ns/hit"
echo "pingpong_point $pp ns/round-trip"
echo "pingpong_point_nopoints $pp0 ns/round-trip"
awk -v a="$off" -v b="$bare" -v p="$pp" -v q="$pp0" 'BEGIN {
    printf "fault_hit_over_bare_libfiu %.2fx\n", a / b
    printf "point_cost_in_round_trip %.1f ns\n", p - q }'
