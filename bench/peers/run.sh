#!/bin/sh
# run.sh: sim's executor benchmarks side by side with libuv, libevent and tokio.
#
# Usage: bench/peers/run.sh [BUILD]       (make bench-peers runs it with the Makefile's BUILD)
#   BENCH_N=...       operations per run (default 1000000, as sim-bench)
#   BENCH_ROUNDS=...  rounds (default 5)
#   BENCH_SIM_BASE=.. another sim-bench (a build of an earlier commit, for a before/after
#                     comparison): run in every round after sim, as one more column, base
#   CC=...       C compiler for the C peers (default cc)
#   CARGO=...    cargo to build the tokio peer with (default Debian's /usr/bin/cargo, with
#                Debian's /usr/bin/rustc unless RUSTC is set; else cargo from PATH)
#
# It builds the three peers into BUILD/peers/ (the C ones with -O2 against pkg-config's
# libuv and libevent; the tokio one offline, from the crates Debian's librust-tokio-dev
# installs under /usr/share/cargo/registry), then runs BUILD/sim-bench and each peer on the
# same workloads (bench/bench_exec.c describes them; each peer's file says how it matches them
# and where it differs) ROUND-ROBIN: in each of BENCH_ROUNDS rounds, every workload runs once
# on sim, libuv, libevent and tokio in turn (one process and one run each, BENCH_RUNS=1), so
# that a noisy moment of the shared machine hits sim and its peers alike. Each of sim's ratios
# (sim / peer, below 1 = sim faster) is computed within a round; the table gives per workload
# the median of the per-round ratios and the medians of the raw figures, and a PASS or MISS
# against the targets of issue 16: every ratio < 1.0, spawn <= 60 ns/task, timers <= 700
# ns/timer (against libuv's spawn, the faster of its two variants counts). Every program
# reports process CPU time (user + system) beside wall time over the same timed span; the
# targets are held to CPU time, which on a shared machine does not count the time a process
# waited for a core (measured here: wall up to 7x CPU under load), and which is what the libuv
# and libevent timer peers can give at all (they run on the real clock, asleep in epoll); the
# wall-time table follows for reference. A MISS is reported, not failed: this is a benchmark,
# never a timed test.
# Before the rounds it checks that each peer's timer ordering check really catches
# out-of-order firings: PEER_BENCH_SABOTAGE=1 arms pairs of timers with each other's deadline,
# and the peer must then fail. Exits non-zero if a peer fails to build, fails a check, or
# sim-bench fails. Every figure of every round is kept in BUILD/peers/rounds.txt.
set -eu

cd "$(dirname "$0")/../.."
BUILD=${1:-build}
N=${BENCH_N:-1000000}
ROUNDS=${BENCH_ROUNDS:-5}
OUT=$BUILD/peers
SRC=bench/peers
mkdir -p "$OUT"

die() {
    echo "bench-peers: $*" >&2
    exit 1
}

case $ROUNDS in
'' | *[!0-9]*) die "BENCH_ROUNDS=$ROUNDS: expected a number of rounds >= 1" ;;
esac
[ "$ROUNDS" -ge 1 ] || die "BENCH_ROUNDS=$ROUNDS: expected a number of rounds >= 1"

# ---- build --------------------------------------------------------------------------------

for lib in libuv libevent; do
    pkg-config --exists "$lib" ||
        die "pkg-config finds no $lib: install libuv1-dev and libevent-dev (make bench-peers does)"
    # shellcheck disable=SC2046 # pkg-config's flags are meant to be split
    if ! ${CC:-cc} -std=c11 -O2 -Wall -Wextra -o "$OUT/$lib-bench" "$SRC/${lib}_bench.c" \
        $(pkg-config --cflags --libs "$lib") >"$OUT/$lib-build.log" 2>&1; then
        cat "$OUT/$lib-build.log" >&2
        die "the $lib peer failed to build (log: $OUT/$lib-build.log)"
    fi
done

if [ -z "${CARGO:-}" ] && [ -x /usr/bin/cargo ]; then
    CARGO=/usr/bin/cargo
    RUSTC=${RUSTC:-/usr/bin/rustc}
    export RUSTC
fi
CARGO=${CARGO:-cargo}
command -v "$CARGO" >/dev/null 2>&1 ||
    die "no cargo: install Debian's cargo (make bench-peers does)"
ls -d /usr/share/cargo/registry/tokio-1.* >/dev/null 2>&1 ||
    die "no tokio sources in /usr/share/cargo/registry: install librust-tokio-dev"
CARGO_HOME_DIR=$(cd "$OUT" && pwd)/cargo-home
mkdir -p "$CARGO_HOME_DIR"
cat >"$CARGO_HOME_DIR/config.toml" <<'EOF'
# Written by bench/peers/run.sh: build offline from Debian's packaged crates only.
[source.crates-io]
replace-with = "debian"

[source.debian]
directory = "/usr/share/cargo/registry"

[net]
offline = true
EOF
# The crate is built from a copy in BUILD/peers/tokio-src, so that the Cargo.lock cargo
# insists on writing lands there, not in the source tree. It is regenerated on every build
# (offline, from the directory source: instant), since lockfile formats differ between cargo
# versions. cp -p keeps mtimes, so an unchanged crate is not rebuilt.
rm -rf "$OUT/tokio-src"
mkdir -p "$OUT/tokio-src"
cp -p "$SRC/tokio/Cargo.toml" "$OUT/tokio-src/"
cp -Rp "$SRC/tokio/src" "$OUT/tokio-src/"
if ! CARGO_HOME=$CARGO_HOME_DIR "$CARGO" build --release --offline --quiet \
    --target-dir "$OUT/tokio-target" --manifest-path "$OUT/tokio-src/Cargo.toml" \
    >"$OUT/tokio-build.log" 2>&1; then
    cat "$OUT/tokio-build.log" >&2
    die "the tokio peer failed to build (log: $OUT/tokio-build.log)"
fi
cp "$OUT/tokio-target/release/tokio-peer-bench" "$OUT/tokio-bench"

if [ ! -x "$BUILD/sim-bench" ]; then
    make -s --no-print-directory BUILD="$BUILD" "$BUILD/sim-bench" ||
        die "cannot build $BUILD/sim-bench"
fi

# ---- the ordering checks must catch a wrong order -----------------------------------------

caught=""
for p in libuv libevent tokio; do
    if PEER_BENCH_SABOTAGE=1 "$OUT/$p-bench" 10000 timers >"$OUT/$p-sabotage.out" 2>&1; then
        die "$p: the timer ordering check missed deliberately swapped deadlines"
    fi
    count=$(sed -n 's/.* \([0-9][0-9]*\) out of order.*/\1/p' "$OUT/$p-sabotage.out")
    if [ -z "$count" ] || [ "$count" -eq 0 ]; then
        cat "$OUT/$p-sabotage.out" >&2
        die "$p: the sabotaged timer run failed without counting out-of-order firings"
    fi
    caught="$caught $p $count,"
done

# ---- run, round-robin ---------------------------------------------------------------------

ROUNDS_FILE=$OUT/rounds.txt
: >"$ROUNDS_FILE"

# run_one ROUND NAME WORKLOAD COMMAND: one run of one workload, its figures appended to
# rounds.txt as "round name figure value unit".
run_one() {
    round=$1 name=$2 workload=$3 cmd=$4
    if ! BENCH_RUNS=1 "$cmd" "$N" "$workload" >"$OUT/last.out" 2>"$OUT/last.err"; then
        cat "$OUT/last.err" >&2
        die "$name $workload failed in round $round (output: $OUT/last.out)"
    fi
    awk -v r="$round" -v p="$name" 'NF == 3 { print r, p, $1, $2, $3 }' "$OUT/last.out" \
        >>"$ROUNDS_FILE"
}

r=1
while [ "$r" -le "$ROUNDS" ]; do
    echo "bench-peers: round $r of $ROUNDS" >&2
    for w in spawn pingpong pingpong-mpsc timers; do
        run_one "$r" sim "$w" "$BUILD/sim-bench"
        if [ -n "${BENCH_SIM_BASE:-}" ]; then run_one "$r" base "$w" "$BENCH_SIM_BASE"; fi
        run_one "$r" libuv "$w" "$OUT/libuv-bench"
        if [ "$w" = spawn ]; then run_one "$r" libuv spawn-idle "$OUT/libuv-bench"; fi
        run_one "$r" libevent "$w" "$OUT/libevent-bench"
        run_one "$r" tokio "$w" "$OUT/tokio-bench"
    done
    run_one "$r" sim spawn-random "$BUILD/sim-bench"
    r=$((r + 1))
done

# ---- table --------------------------------------------------------------------------------

tokio_v=$(awk '$0 == "name = \"tokio\"" { getline; gsub(/version = |"/, ""); print }' \
    "$OUT/tokio-src/Cargo.lock")
rustc_v=$("${RUSTC:-rustc}" --version 2>/dev/null | cut -d' ' -f2)
versions="libuv $(pkg-config --modversion libuv), libevent $(pkg-config --modversion libevent)"
versions="$versions, tokio ${tokio_v:-?} with rustc ${rustc_v:-?}"

awk -v n="$N" -v rounds="$ROUNDS" -v versions="$versions" -v caught="${caught%,}" '
    { val[$2, $3, $1] = $4; unit[$2, $3] = $5 }
    # The median of the k values in a[1..k] (sorted in place; even k: the mean of the middle two).
    function median(a, k,    i, j, x) {
        for (i = 2; i <= k; i++) {
            x = a[i]
            for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]
            a[j + 1] = x
        }
        return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    function raw(p, f,    a, k, r) {
        k = 0
        for (r = 1; r <= rounds; r++) if ((p, f, r) in val) a[++k] = val[p, f, r]
        return k ? median(a, k) : ""
    }
    # The median over rounds of sim figure sf / peer figure pf in the same round.
    function ratio(sf, p, pf,    a, k, r) {
        k = 0
        for (r = 1; r <= rounds; r++) {
            if ((p, pf, r) in val && ("sim", sf, r) in val && val[p, pf, r] > 0) {
                a[++k] = val["sim", sf, r] / val[p, pf, r]
            }
        }
        return k ? median(a, k) : ""
    }
    function cell(f, p, pf, label,    x, q) {
        x = raw(p, pf)
        if (x == "") return sprintf("%-22s", "-")
        q = ratio(f, p, pf)
        if (q >= 1) miss = miss sprintf(" %s sim/%s %.2f >= 1;", wl, label, q)
        return sprintf("%9.1f %6.2fx     ", x, q)
    }
    # The base column: not a target, so no verdict.
    function basecell(f,    x) {
        x = raw("base", f)
        if (x == "") return sprintf("%-22s", "-")
        return sprintf("%9.1f %6.2fx     ", x, ratio(f, "base", f))
    }
    # One table: figures with suffix sx ("_cpu": process CPU time; "": wall time).
    # Verdicts (targets) are kept when judge is set.
    function table(sx, judge,    i, f, s, line, idle, verdict, b) {
        b = ("base", figs[1] sx, 1) in val
        printf "%-14s %-19s %9s  %-22s%-22s%-22s%s%s\n", "workload", "unit", "sim",
               "    libuv sim/libuv", "   libevent sim/libev", "    tokio sim/tokio",
               b ? "     base sim/base     " : "", judge ? "target" : ""
        for (i = 1; i <= nrow; i++) {
            wl = rows[i]
            f = figs[i] sx
            miss = ""
            s = raw("sim", f)
            line = sprintf("%-14s %-19s %9.1f  %s%s%s", wl, unit["sim", f], s,
                           cell(f, "libuv", f, "libuv"), cell(f, "libevent", f, "libevent"),
                           cell(f, "tokio", f, "tokio"))
            if (b) line = line basecell(f)
            if (wl == "spawn") {
                idle = sprintf("%-14s %-19s %9s  %s", "  libuv idle", unit["sim", f], "",
                               cell(f, "libuv", "spawn_complete_idle" sx, "libuv-idle"))
            }
            if (wl in limit && s > limit[wl]) {
                miss = miss sprintf(" %s %.1f > %d %s;", wl, s, limit[wl], unit["sim", f])
            }
            verdict = miss == "" ? "PASS" : "MISS"
            if (wl in limit) verdict = verdict sprintf(" (<= %d)", limit[wl])
            if (!judge) verdict = ""
            line = line verdict
            sub(/ +$/, "", line)
            print line
            if (wl == "spawn") { sub(/ +$/, "", idle); print idle }
            if (judge) all = all miss
        }
    }
    END {
        nrow = split("spawn pingpong pingpong-mpsc timers", rows, " ")
        split("spawn_complete_fifo pingpong_oneshot_mpsc pingpong_mpsc_pair " \
              "timer_fire_in_order", figs, " ")
        limit["spawn"] = 60
        limit["timers"] = 700
        printf "sim vs peers: N=%d, %d rounds round-robin (each round: every workload once on " \
               "sim, libuv, libevent, tokio)\n", n, rounds
        printf "ns: the median of the rounds; ratio: sim / peer within a round, the median of " \
               "the rounds (< 1: sim is faster)\n"
        printf "(%s)\n\n", versions
        printf "Process CPU time (user + system) over the timed span: what the targets are " \
               "held to\n"
        all = ""
        table("_cpu", 1)
        printf "\nWall time over the same span (also counts waiting for a core on a shared " \
               "machine)\n"
        table("", 0)
        printf "\nlibuv: spawn on 0-timeout timers, and (idle) on uv_idle handles; the target " \
               "counts both.\n"
        printf "timers: libuv and libevent run on the real clock (wall per run: libuv %.0f ms, " \
               "libevent %.0f ms),\n  so their wall figure is their CPU figure; sim and tokio " \
               "run on a virtual / paused clock.\n",
               raw("libuv", "timer_wall_per_run"), raw("libevent", "timer_wall_per_run")
        printf "sim only: spawn_complete_random %.1f ns-cpu/task, %.1f ns/task wall\n",
               raw("sim", "spawn_complete_random_cpu"), raw("sim", "spawn_complete_random")
        printf "timers all in order; the checks caught swapped deadlines, out of order:%s\n",
               caught
        if (all == "") print "bench-peers: PASS: every target met"
        else print "bench-peers: MISS:" all
    }
' "$ROUNDS_FILE"
