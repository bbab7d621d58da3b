#!/bin/sh
# ci-slice.sh: the deep seeds CI runs on every commit. `make soak` (seeds 1..10000) is too
# long for every run, so each run covers a slice beyond that range: CI_SLICE_SEEDS
# consecutive seeds (default 1000) of every clean scenario, starting at a seed in
# 10001..1000000 chosen from the commit being tested. The choice is deterministic (the same
# commit runs the same slice, so a failure reproduces) and differs from commit to commit, so
# the range is covered a little more with each one.
#
# Usage: tools/ci-slice.sh SIM    (SIM relative to the repository's root, as in .ci/run)
# Environment:
#   CI_SLICE_SEEDS  seeds per scenario (default 1000; about 40 s on 2 cores)
#   CI_SLICE_START  the first seed, instead of the commit's
#
# The start is 10001 + (the first 32 bits of the commit hash) mod (the starts that keep the
# slice within 1000000); the commit is git's HEAD, else $GITHUB_SHA or $CI_COMMIT_SHA. Prints the slice, then runs tools/soak.sh over it, which prints every
# failure with the command that reproduces it. Exit status: tools/soak.sh's.
set -eu
cd "$(dirname "$0")/.."
sim=${1:?usage: tools/ci-slice.sh SIM}
n=${CI_SLICE_SEEDS:-1000}
lo=10001
hi=1000000
if ! echo "$n" | grep -Eq '^[0-9]{1,6}$' || [ "$n" -lt 1 ] || [ "$n" -gt $((hi - lo + 1)) ]; then
    echo "ci slice: CI_SLICE_SEEDS must be a whole number in 1..$((hi - lo + 1)), got '$n'" >&2
    exit 2
fi
commit=$(git rev-parse --verify -q HEAD 2>/dev/null || echo "${GITHUB_SHA:-${CI_COMMIT_SHA:-}}")
if ! echo "$commit" | grep -Eq '^[0-9a-f]{8,}$'; then
    commit=""
fi
if [ -n "${CI_SLICE_START:-}" ]; then
    if ! echo "$CI_SLICE_START" | grep -Eq '^[0-9]{1,9}$'; then
        echo "ci slice: CI_SLICE_START must be a seed, got '$CI_SLICE_START'" >&2
        exit 2
    fi
    start=$CI_SLICE_START
    why="CI_SLICE_START"
elif [ -n "$commit" ]; then
    h=$(echo "$commit" | cut -c1-8)
    start=$((lo + 0x$h % (hi - lo - n + 2)))
    why="commit $(echo "$commit" | cut -c1-12)"
else
    start=$lo
    why="no commit known (no git, GITHUB_SHA or CI_COMMIT_SHA): the first slice"
fi
end=$((start + n - 1))
echo "ci slice: seeds $start..$end of every clean scenario (from $why)"
echo "ci slice: this slice again: CI_SLICE_START=$start CI_SLICE_SEEDS=$n tools/ci-slice.sh $sim"
SOAK_SEEDS="$start..$end" SOAK_DB=build/ci-slice.db SOAK_LABEL="ci slice" tools/soak.sh "$sim"
