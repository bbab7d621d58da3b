#!/usr/bin/env bash
# actor_bugs.sh: how many seeds each planted bug of the actor system takes to find. For each
# scenarios/actor/bug-*.ini: 20 seed ranges starting at 1, 1001, ..., 19001, each run seed by
# seed until its first failing seed (at most 200 per range); prints the seeds per range and
# their median. Usage: bench/actor_bugs.sh [SIM]   (SIM defaults to build/sim)
set -u
sim=${1:-build/sim}
for f in scenarios/actor/bug-*.ini; do
    counts=()
    for ((r = 0; r < 20; r++)); do
        start=$((r * 1000 + 1))
        n=0
        for ((s = start; s < start + 200; s++)); do
            if "$sim" run "$f" --seed "$s" --record off --jobs 1 2>/dev/null | grep -q '^found'; then
                n=$((s - start + 1))
                break
            fi
        done
        counts+=("$n")
    done
    median=$(printf '%s\n' "${counts[@]}" | sort -n | sed -n '10p')
    printf '%s: median %s; per range: %s\n' "$(basename "$f" .ini)" "$median" "${counts[*]}"
done
