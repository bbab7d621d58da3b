#!/bin/bash
# shutdown-table.sh: the figures of docs/systems/shutdown.md, "How fast each is found".
#
# For each planted bug (scenarios/shutdown/bug-*.ini) and each strategy: the first failing
# seed in each of RANGES seed ranges of SPAN seeds (starting at 1, 100001, 200001, ...), and
# the median of those over the ranges (a range with no failure counts as SPAN + 1, printed
# ">SPAN"), with the number of ranges that found it. The scenarios' own cancel_one_in and
# branch_one_in are switched off except in the columns that set them. Then --cancel-sweep on
# seed 1 (the assignment of the first failing run) and sim explore --bound 2 (runs to the
# first failure, median over seeds 1..EXPLORE_SEEDS).
#
# Usage: tools/shutdown-table.sh [SIM [RANGES [SPAN [EXPLORE_SEEDS]]]]
#        (defaults build/sim, 20, 200, 20). Prints a Markdown table. One core, a few minutes.
set -u
sim=${1:-build/sim}
ranges=${2:-20}
span=${3:-200}
eseeds=${4:-20}
cd "$(dirname "$0")/.." || exit 2
off="--set scenario.cancel_one_in=0 --set scenario.branch_one_in=0"

# median of the numbers on stdin (the lower middle for an even count)
median() { sort -n | awk '{a[NR]=$1} END {m=a[int((NR+1)/2)]; print m}'; }

# column BUG ARGS...: "median (found/ranges)"
column() {
    local ini=$1
    shift
    local firsts="" found=0
    for ((r = 0; r < ranges; r++)); do
        local lo=$((r * 100000 + 1)) hi=$((r * 100000 + span))
        local first
        first=$("$sim" run "$ini" --seeds "$lo..$hi" --jobs 1 --quiet "$@" 2>/dev/null |
                sed -n 's/^found .* seed \([0-9]*\).*/\1/p' | head -1)
        if [ -n "$first" ]; then
            found=$((found + 1))
            firsts+="$((first - lo + 1))"$'\n'
        else
            firsts+="$((span + 1))"$'\n'
        fi
    done
    local m
    m=$(printf '%s' "$firsts" | median)
    [ "$m" -gt "$span" ] && m=">$span"
    echo "$m ($found/$ranges)"
}

sweep() {
    local a
    a=$("$sim" run "$1" --seed 1 --cancel-sweep --jobs 1 --quiet $off 2>/dev/null |
        sed -n 's/^found .* seed 1, scenario\.\([a-z_]*=[0-9]*\).*/\1/p' | head -1)
    echo "${a:-none}"
}

explore() {
    local runs="" found=0
    for ((s = 1; s <= eseeds; s++)); do
        local out n
        out=$("$sim" explore "$1" --seed "$s" --bound 2 $off 2>/dev/null)
        n=$(printf '%s\n' "$out" | sed -n 's/^bound [0-9]*: .*, \([0-9]*\) run(s).*/\1/p' |
            awk '{t += $1} END {print t}')
        if printf '%s\n' "$out" | grep -q '^FAIL'; then
            found=$((found + 1))
            runs+="$n"$'\n'
        fi
    done
    if [ "$found" -eq 0 ]; then echo "none (0/$eseeds)"; return; fi
    echo "$(printf '%s' "$runs" | median) ($found/$eseeds)"
}

echo "| bug | random | pct | \`pct:3:auto\` | fifo | random + \`cancel_one_in = 20\` | random + \`branch_one_in = 20\` | \`--cancel-sweep\`, seed 1 | \`sim explore\` |"
echo "|---|---|---|---|---|---|---|---|---|"
for ini in scenarios/shutdown/bug-*.ini; do
    bug=$(basename "$ini" .ini)
    bug=${bug#bug-}
    echo "| $bug | $(column "$ini" --strategy random $off) | $(column "$ini" --strategy pct $off)" \
         "| $(column "$ini" --strategy pct:3:auto $off)" \
         "| $(column "$ini" --strategy fifo $off)" \
         "| $(column "$ini" --strategy random $off --set scenario.cancel_one_in=20)" \
         "| $(column "$ini" --strategy random $off --set scenario.branch_one_in=20)" \
         "| $(sweep "$ini") | $(explore "$ini") |"
done
