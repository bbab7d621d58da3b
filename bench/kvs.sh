#!/bin/sh
# kvs.sh: a real load on kvs-server, for `make bench`: CLIENTS concurrent clients on loopback
# doing set/get (build/kvs-load, bench/kvs_load.c: one connection each, a set then a get of
# the key just set, every answer checked), against kvs-server with each engine and against a
# small tokio server speaking the same protocol (bench/peers/tokio-kvs, built offline from
# Debian's crates as bench/peers/run.sh builds its tokio peer). One line per server:
# throughput and p50/p99 latency; then kvs-server's throughput over tokio's (above 1 =
# kvs-server faster). Bounded: OPS requests per client and at most SECS seconds per load.
#
# Usage: bench/kvs.sh [BUILD]
#   KVS_BENCH_CLIENTS=8  KVS_BENCH_OPS=4000 (per client)  KVS_BENCH_SECS=10
#   KVS_BENCH_ENGINES="kvs sqlite"  KVS_BENCH_ROUNDS=3
# Without cargo or Debian's tokio sources the tokio line says why it was skipped.
set -eu

cd "$(dirname "$0")/.."
BUILD=${1:-build}
CLIENTS=${KVS_BENCH_CLIENTS:-8}
OPS=${KVS_BENCH_OPS:-4000}
SECS=${KVS_BENCH_SECS:-10}
ENGINES=${KVS_BENCH_ENGINES:-kvs sqlite}
ROUNDS=${KVS_BENCH_ROUNDS:-3}
tput_kvs=""
tput_sqlite=""
OUT=$BUILD/kvs-bench
ROOT=$(pwd)
mkdir -p "$OUT"
rm -f "$OUT/rounds.txt"
# Ports: three consecutive ones derived from the pid, away from the default 4000.
PORT=$((20000 + ($$ % 20000)))
PIDS=""

cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    for p in $PIDS; do wait "$p" 2>/dev/null || true; done
    rm -rf "$OUT/data-kvs" "$OUT/data-sqlite" "$OUT/data-tokio"
}
trap cleanup EXIT INT TERM

# Waits (at most 5 s) until something answers on 127.0.0.1:$1.
wait_port() {
    i=0
    while ! "$ROOT/$BUILD/kvs-client" get probe --addr "127.0.0.1:$1" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt 500 ] || { echo "bench-kvs: nothing listens on port $1" >&2; exit 1; }
        sleep 0.01
    done
}

# load NAME PORT: runs kvs-load, prints the figures, keeps the throughput in $tput.
load() {
    line=$("$BUILD/kvs-load" "127.0.0.1:$2" "$CLIENTS" "$OPS" "$SECS") || {
        echo "bench-kvs: the load on $1 failed" >&2
        exit 1
    }
    printf 'kvs_load_%-8s %s (%s clients)\n' "$1" "$line" "$CLIENTS"
    tput=$(echo "$line" | awk '{ print $6 }')
}

for engine in $ENGINES; do
    rm -rf "$OUT/data-$engine"
    mkdir -p "$OUT/data-$engine"
    (cd "$OUT/data-$engine" &&
        exec "$ROOT/$BUILD/kvs-server" --engine "$engine" --addr "127.0.0.1:$PORT" \
            2>server.log) &
    PIDS="$PIDS $!"
    wait_port $PORT
    eval "port_$engine=$PORT"
    PORT=$((PORT + 1))
done

# Builds the tokio peer offline (as bench/peers/run.sh builds its own) and starts it.
build_tokio() {
    CARGO_HOME_DIR=$(cd "$OUT" && pwd)/cargo-home
    mkdir -p "$CARGO_HOME_DIR"
    printf '%s\n' '# Written by bench/kvs.sh: build offline from Debian'"'"'s packaged crates only.' \
        '[source.crates-io]' 'replace-with = "debian"' '[source.debian]' \
        'directory = "/usr/share/cargo/registry"' '[net]' 'offline = true' \
        >"$CARGO_HOME_DIR/config.toml"
    # Built from a copy, so that the Cargo.lock cargo writes lands in BUILD (see run.sh).
    rm -rf "$OUT/tokio-src"
    mkdir -p "$OUT/tokio-src"
    cp -p bench/peers/tokio-kvs/Cargo.toml "$OUT/tokio-src/"
    cp -Rp bench/peers/tokio-kvs/src "$OUT/tokio-src/"
    if ! CARGO_HOME=$CARGO_HOME_DIR "$CARGO" build --release --offline --quiet \
        --target-dir "$OUT/tokio-target" --manifest-path "$OUT/tokio-src/Cargo.toml" \
        >"$OUT/tokio-build.log" 2>&1; then
        cat "$OUT/tokio-build.log" >&2
        echo "bench-kvs: the tokio peer failed to build (log: $OUT/tokio-build.log)" >&2
        exit 1
    fi
    rm -rf "$OUT/data-tokio"
    mkdir -p "$OUT/data-tokio"
    "$OUT/tokio-target/release/tokio-kvs" "127.0.0.1:$PORT" "$OUT/data-tokio" \
        2>"$OUT/data-tokio/server.log" &
    PIDS="$PIDS $!"
    wait_port $PORT
    port_tokio=$PORT
}

# ---- the tokio peer -----------------------------------------------------------------------
if [ -z "${CARGO:-}" ] && [ -x /usr/bin/cargo ]; then
    CARGO=/usr/bin/cargo
    RUSTC=${RUSTC:-/usr/bin/rustc}
    export RUSTC
fi
CARGO=${CARGO:-cargo}
if ! command -v "$CARGO" >/dev/null 2>&1 || ! ls -d /usr/share/cargo/registry/tokio-1.* \
    >/dev/null 2>&1; then
    echo "kvs_load_tokio    skipped: needs cargo and librust-tokio-dev (make bench-peers installs them)"
    TOKIO=""
else
    TOKIO=tokio
fi
[ -z "$TOKIO" ] || build_tokio

# ---- rounds -------------------------------------------------------------------------------
# Round-robin, as bench-peers: every server in turn in each round, so that a noisy moment of
# the shared machine hits them alike; the ratio is taken within a round, its median printed.
r=1
while [ $r -le "$ROUNDS" ]; do
    for engine in $ENGINES $TOKIO; do
        eval "load $engine \$port_$engine"
        echo "$r $engine $tput" >>"$OUT/rounds.txt"
    done
    r=$((r + 1))
done
[ -n "$TOKIO" ] || exit 0
awk '
    { t[$1, $2] = $3; rounds[$1] = 1 }
    function median(a, n,    i, j, x) {
        for (i = 2; i <= n; i++) {
            x = a[i]
            for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]
            a[j + 1] = x
        }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    END {
        line = "kvs_vs_tokio      kvs-server/tokio throughput, median of the rounds:"
        split("kvs sqlite", engines, " ")
        for (e = 1; e <= 2; e++) {
            n = 0
            for (r in rounds)
                if ((r, engines[e]) in t) ratio[++n] = t[r, engines[e]] / t[r, "tokio"]
            if (n > 0) line = line sprintf(" %s %.2fx", engines[e], median(ratio, n))
        }
        print line " (above 1: kvs-server faster)"
    }' "$OUT/rounds.txt"
