#!/usr/bin/env bash
# kv_bugs.sh: how many seeds each planted bug of the kv system takes to find.
#
# For every scenarios/kv/bug-*.ini, runs 20 seed ranges (starting at 1, 1001, 2001, ...),
# each until its first failing seed (at most MAX seeds), and prints the seeds it took per
# range and their median: the table in docs/systems/kv.md.
# Usage: bench/kv_bugs.sh [SIM] [MAX]     (SIM defaults to build/sim, MAX to 200)
set -u
cd "$(dirname "$0")/.." || exit 2
sim=${1:-build/sim}
max=${2:-200}
printf '%-22s %6s  %s\n' bug median "seeds per range"
for f in scenarios/kv/bug-*.ini; do
    bug=$(basename "$f" .ini)
    bug=${bug#bug-}
    counts=()
    for i in $(seq 0 19); do
        start=$((i * 1000 + 1))
        first=$("$sim" run "$f" --seeds "$start..$((start + max - 1))" 2>/dev/null |
            sed -nE 's/^found [^ ]+ seed ([0-9]+) .*/\1/p' | sort -n | head -1)
        if [ -z "$first" ]; then counts+=(">$max"); else counts+=($((first - start + 1))); fi
    done
    median=$(printf '%s\n' "${counts[@]}" | sed 's/>//' | sort -n | sed -n '10p;11p' |
        awk '{ s += $1 } END { printf "%.1f", s / 2 }')
    printf '%-22s %6s  %s\n' "$bug" "$median" "${counts[*]}"
done
