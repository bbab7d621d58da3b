#!/bin/sh
# run.sh: sim's executor benchmarks side by side with libuv, libevent and tokio.
#
# Usage: bench/peers/run.sh [BUILD]       (make bench-peers runs it with the Makefile's BUILD)
#   BENCH_N=...  operations per run (default 1000000, as sim-bench)
#   CC=...       C compiler for the C peers (default cc)
#   CARGO=...    cargo to build the tokio peer with (default Debian's /usr/bin/cargo, with
#                Debian's /usr/bin/rustc unless RUSTC is set; else cargo from PATH)
#
# It builds the three peers into BUILD/peers/ (the C ones with -O2 against pkg-config's
# libuv and libevent; the tokio one offline, from the crates Debian's librust-tokio-dev
# installs under /usr/share/cargo/registry), runs BUILD/sim-bench and each peer on the same
# workloads (bench/bench_exec.c describes them; each peer's file says how it matches them and
# where it differs), and prints the medians side by side with each peer's ratio to sim.
# Before that it checks that each peer's timer ordering check really catches out-of-order
# firings: PEER_BENCH_SABOTAGE=1 arms pairs of timers with each other's deadline, and the
# peer must then fail. Exits non-zero if a peer fails to build, fails a check, or sim-bench
# fails. Timings are noisy on a shared machine: compare ratios, not digits.
set -eu

cd "$(dirname "$0")/../.."
BUILD=${1:-build}
N=${BENCH_N:-1000000}
OUT=$BUILD/peers
SRC=bench/peers
mkdir -p "$OUT"

die() {
    echo "bench-peers: $*" >&2
    exit 1
}

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

# ---- run ----------------------------------------------------------------------------------

run() { # NAME COMMAND...: run one benchmark program into $OUT/NAME.out
    name=$1
    shift
    echo "bench-peers: running $name" >&2
    if ! "$@" "$N" >"$OUT/$name.out" 2>"$OUT/$name.err"; then
        cat "$OUT/$name.err" >&2
        die "$name failed (output: $OUT/$name.out)"
    fi
}
run sim "$BUILD/sim-bench"
run libuv "$OUT/libuv-bench"
run libevent "$OUT/libevent-bench"
run tokio "$OUT/tokio-bench"

# ---- table --------------------------------------------------------------------------------

tokio_v=$(awk '$0 == "name = \"tokio\"" { getline; gsub(/version = |"/, ""); print }' \
    "$OUT/tokio-src/Cargo.lock")
rustc_v=$("${RUSTC:-rustc}" --version 2>/dev/null | cut -d' ' -f2)
versions="libuv $(pkg-config --modversion libuv), libevent $(pkg-config --modversion libevent)"
versions="$versions, tokio ${tokio_v:-?} with rustc ${rustc_v:-?}"

awk -v n="$N" -v versions="$versions" -v caught="${caught%,}" '
    FNR == 1 { peer = FILENAME; sub(/.*\//, "", peer); sub(/\.out$/, "", peer) }
    NF == 3 { val[peer, $1] = $2; unit[peer, $1] = $3 }
    function ratio(p, s,    r) {
        if (p == "" || s == "" || s + 0 == 0) return ""
        r = p / s
        return r >= 1 ? sprintf("%.1fx slower", r) : sprintf("%.1fx faster", 1 / r)
    }
    function cell(peer, fig, mark) {
        if (!((peer, fig) in val)) return sprintf("%-22s", "-")
        return sprintf("%8s%-1s %-12s", val[peer, fig], mark,
                       ratio(val[peer, fig], val["sim", fig]))
    }
    END {
        nrow = split("spawn pingpong pingpong-mpsc timers", rows, " ")
        split("spawn_complete_fifo pingpong_oneshot_mpsc pingpong_mpsc_pair " \
              "timer_fire_in_order", figs, " ")
        printf "sim vs peers: N=%d, median of 5 runs, ratio = peer/sim; noisy shared machine\n", n
        printf "(%s)\n", versions
        printf "%-14s %-14s %8s   %-22s%-22s%s\n", "workload", "unit", "sim",
               "libuv", "libevent", "tokio"
        for (i = 1; i <= nrow; i++) {
            f = figs[i]
            mark = f == "timer_fire_in_order" ? "*" : " "
            line = sprintf("%-14s %-14s %8s   %s%s%s", rows[i], unit["sim", f], val["sim", f],
                           cell("libuv", f, mark), cell("libevent", f, mark),
                           cell("tokio", f, " "))
            sub(/ +$/, "", line)
            print line
        }
        printf "* libuv, libevent: real clock, so process CPU ns per timer (getrusage); wall per\n"
        printf "  run: libuv %s ms, libevent %s ms. sim, tokio: virtual/paused clock, wall ns.\n",
               val["libuv", "timer_wall_per_run"], val["libevent", "timer_wall_per_run"]
        idle = val["libuv", "spawn_complete_idle"]
        printf "libuv spawn on uv_idle handles instead of 0-timeout timers: %s ns/task, %s\n",
               idle, ratio(idle, val["sim", "spawn_complete_fifo"])
        printf "sim only: spawn_complete_random %s ns/task\n", val["sim", "spawn_complete_random"]
        printf "timers all in order; the checks caught swapped deadlines, out of order:%s\n",
               caught
    }
' "$OUT/sim.out" "$OUT/libuv.out" "$OUT/libevent.out" "$OUT/tokio.out"
