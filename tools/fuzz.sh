#!/bin/sh
# fuzz.sh: runs the libFuzzer targets behind `make fuzz` and `make fuzz-smoke`.
#
# Usage: tools/fuzz.sh [--smoke] BUILD SECONDS TARGET...
# Each target BUILD/TARGET runs for SECONDS on its committed seed corpus fuzz/corpus/TARGET
# (read only) plus BUILD/corpus/TARGET, where what it finds is kept between runs (--smoke
# uses BUILD/smoke-corpus/TARGET instead, emptied first, so a smoke run depends on the tree
# alone). A dictionary
# fuzz/TARGET.dict is used when present, else fuzz/PREFIX.dict for TARGET = PREFIX_...
# A finding (crash, leak, undefined behaviour, oracle failure, an input slower than
# FUZZ_TIMEOUT seconds, default 20) is saved as BUILD/artifacts/TARGET-*, its
# log is printed, and the script exits 1 after running the remaining targets. Prints one line
# per target: executions, coverage (cov: edges, ft: features), corpus size and time.
# Reproduce a finding with:  BUILD/TARGET BUILD/artifacts/TARGET-crash-...
set -u
cd "$(dirname "$0")/.." || exit 2
smoke=0
if [ "${1:-}" = "--smoke" ]; then
    smoke=1
    shift
fi
[ $# -ge 3 ] || { echo "usage: tools/fuzz.sh [--smoke] BUILD SECONDS TARGET..." >&2; exit 2; }
build=$1
seconds=$2
shift 2
timeout=${FUZZ_TIMEOUT:-20}
mkdir -p "$build/artifacts" "$build/logs"
failed=""
for t in "$@"; do
    bin="$build/$t"
    [ -x "$bin" ] || { echo "fuzz: $bin is missing (make fuzz builds it)" >&2; exit 2; }
    work="$build/corpus/$t"
    if [ "$smoke" -eq 1 ]; then # its own, emptied: the one `make fuzz` keeps is left alone
        work="$build/smoke-corpus/$t"
        rm -rf "$work"
    fi
    mkdir -p "$work"
    dict=""
    [ -f "fuzz/${t%%_*}.dict" ] && dict="-dict=fuzz/${t%%_*}.dict"
    [ -f "fuzz/$t.dict" ] && dict="-dict=fuzz/$t.dict"
    log="$build/logs/$t.log"
    start=$(date +%s)
    touch "$build/logs/$t.start"
    # -close_fd_mask=1: the commands' standard output is not wanted; libFuzzer's report and
    # the sanitizers' go to stderr, into the log.
    "$bin" -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 \
        -close_fd_mask=1 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
        $dict "$work" "fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    took=$(( $(date +%s) - start ))
    stats=$(grep -E '^#[0-9]+' "$log" | tail -1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(printf '%s\n' "$stats" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s\n' "$stats" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    corp=$(printf '%s\n' "$stats" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
    printf 'fuzz: %-20s %10s execs  cov %6s  ft %6s  corpus %5s  %4ss' "$t" "${execs:-?}" \
        "${cov:-?}" "${ft:-?}" "${corp:-?}" "$took"
    if [ "$rc" -ne 0 ]; then
        printf '  FAILED (exit %s)\n' "$rc"
        failed="$failed $t"
        echo "---- $log (last 60 lines)"
        tail -60 "$log"
        echo "----"
        find "$build/artifacts" -name "$t-*" -newer "$build/logs/$t.start" |
            sed 's/^/fuzz: finding saved: /'
    else
        printf '\n'
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz: findings in:$failed (reproduce: $build/TARGET $build/artifacts/TARGET-...)"
    exit 1
fi
echo "fuzz: no findings"
