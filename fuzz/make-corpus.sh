#!/bin/sh
# make-corpus.sh: (re)writes the seed corpora in fuzz/corpus/ from the scenarios, the docs'
# examples, tests/data and databases that the sim command records. Files it writes have
# fixed names and are overwritten; anything else in a corpus folder (inputs that found a
# bug, added by hand) is left alone. Needs build/sim (make) and the sqlite3 shell.
#
# Usage: fuzz/make-corpus.sh
set -eu
cd "$(dirname "$0")/.."
sim=build/sim
[ -x "$sim" ] || { echo "make-corpus: build $sim first (make)" >&2; exit 2; }
c=fuzz/corpus
mkdir -p $c/scenario_roundtrip $c/scenario_run $c/edn_roundtrip $c/check_brute $c/trace_db
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- scenarios: the suite, canonical texts, the docs' fragments in a whole file ------------
scen() { # NAME: stdin to both scenario corpora
    cat >"$c/scenario_roundtrip/$1.ini"
    cp "$c/scenario_roundtrip/$1.ini" "$c/scenario_run/$1.ini"
}
for f in scenarios/*.ini scenarios/*/*.ini; do
    name=$(echo "${f#scenarios/}" | tr / -)
    scen "suite-${name%.ini}" <"$f"
done
for f in scenarios/demo.ini scenarios/kv/swarm.ini scenarios/gossip-faults.ini; do
    "$sim" run "$f" --seed 1 --db "$tmp/canon.db" --record off --quiet >/dev/null 2>&1 || true
done
for id in 1 2 3; do
    sqlite3 "$tmp/canon.db" "SELECT config FROM runs WHERE run_id = $id" | scen "canonical-$id"
done
# docs/faults.md, its first example on the demo, its at lines on gossip.
{ printf '[scenario]\nname = docs-faults\nsystem = demo\nseeds = 1..3\n\n'
  sed -n '/^```ini/,/^```/p' docs/faults.md | sed '1d;/^```/,$d'; } | scen docs-faults
{ printf '[scenario]\nname = docs-at\nsystem = gossip\n[gossip]\nnodes = 3\n[faults]\n'
  sed -n '/^```ini/,/^```/p' docs/faults.md | sed '/^```/d;/^\[faults\]/,/^converge/d'; } |
    scen docs-faults-at
# docs/network.md's example and its link lines.
{ printf '[scenario]\nname = docs-network\nsystem = gossip\n[gossip]\nnodes = 3\n[network]\n'
  printf 'latency = 1ms..5ms\nlatency_tail = 2ms\nbandwidth = 1M\n'
  printf 'link = n1 n2 latency=20ms..50ms loss=0.1\nlink = n1 -> n2 bandwidth=1M\n'
  sed -n '/^```ini/,/^```/p' docs/network.md | sed '/^```/d'; } | scen docs-network
# docs/disk.md's keys on kv, and the demo-deadlock example of docs/scenarios.md.
{ printf '[scenario]\nname = docs-disk\nsystem = kv\nseeds = 7\n[workload]\nops = 20\n[disk]\n'
  printf 'read_latency = 20us..100us\nwrite_latency = 1ms\nsync_latency = 1ms..5ms\n'
  printf 'meta_latency = 10us..50us\ncrash_keep = 0.5\ncrash_torn = 0.1..0.3\n'
  printf 'sector = 4096\ncapacity = 65536\n'; } | scen docs-disk
sed -n '/^```ini/,/^```/p' docs/scenarios.md | sed '/^```/d' | scen docs-scenarios
# Small forms: the least a file needs, strategies, one seed, a BOM with CRLF, comments.
printf '[scenario]\nname = t\nsystem = demo\n' | scen minimal
printf '[scenario]\nname = p\nsystem = register\nstrategy = pct:2:500\nseeds = 3\n' |
    scen strategy-pct
printf '\357\273\277; a comment\r\n[scenario]\r\n  name = b\r\nsystem = demo\r\n# end\r\n' |
    scen bom-crlf
# scenario_roundtrip reads --set arguments after the file, each after a NUL byte.
{ printf '[scenario]\nname = s\nsystem = kv\n\0scenario.description=set twice\0'
  printf 'network.latency=5ms\0faults.at=2s crash server\0workload.ops=7'; } \
    >"$c/scenario_roundtrip/sets.ini"
{ printf '[scenario]\nname = s\nsystem = gossip\n\0gossip.nodes=3\0'
  printf 'network.link=n1 -> n2 loss=0.5\0scenario.seeds=4..9'; } \
    >"$c/scenario_roundtrip/sets-gossip.ini"

# ---- histories: tests/data (head and tail), the docs' lines, forms the reader knows ---------
for f in tests/data/check/*.edn; do
    b=$(basename "$f" .edn)
    head -40 "$f" >"$c/edn_roundtrip/$b-head.edn"
    tail -40 "$f" >"$c/edn_roundtrip/$b-tail.edn"
done
grep -h '^{:process\|^\[{:process' docs/checking.md >"$c/edn_roundtrip/docs-checking.edn" || true
cat >"$c/edn_roundtrip/forms.edn" <<'EDN'
[{:process 0, :type :invoke, :f :write, :value 3, :time 10}
 {:process 0, :type :ok, :f :write, :value 3} ; a comment
 {:process :nemesis, :type :info, :f :start, :value {:a #{1 2} :b 1.5}}
 {:process 1, :type :invoke, :f :cas, :key "k", :value [1 2]}
 {:process 1, :type :info, :f :cas, :key "k", :value nil, :error :timeout}
 {:process 2, :type :invoke, :f :read, :value nil, :index 4, #_ :skipped 5}
 {:process 2, :type :ok, :f :read, :value "caf\u00e9\n\t\\\""}]
EDN
cat >"$c/edn_roundtrip/kv.edn" <<'EDN'
{:process 0, :type :invoke, :f :put, :key "x", :value "a"}
{:process 1, :type :invoke, :f :get, :key "x", :value nil}
{:process 0, :type :ok, :f :put, :key "x", :value "a"}
{:process 1, :type :ok, :f :get, :key "x", :value "a"}
{:process 2, :type :invoke, :f :append, :key "x", :value "b"}
{:process 2, :type :fail, :f :append, :key "x", :value "b"}
{:process 3, :type :invoke, :f :rm, :key "x", :value nil}
{:process 3, :type :ok, :f :rm, :key "x", :value :removed}
{:process 4, :type :invoke, :f :get, :key \x, :value true}
EDN

# ---- check_brute: bytes are choices, so any bytes will do ------------------------------------
python3 -c '
import random, sys
r = random.Random(15)
for i in range(12):
    open(sys.argv[1] + "/fill-%d" % i, "wb").write(bytes([i * 37 % 256]) * (8 + i * 5))
for i in range(24):
    open(sys.argv[1] + "/random-%d" % i, "wb").write(bytes(r.randrange(256) for _ in range(48)))
' "$c/check_brute"

# ---- trace databases, as sim run records them, made small ---------------------------------
db() { # NAME ARGS...: sim run ARGS into a fresh database, vacuumed into 1 KiB pages
    name=$1
    shift
    rm -f "$tmp/$name.db"*
    "$sim" run "$@" --db "$tmp/$name.db" --jobs 1 --quiet >/dev/null 2>&1 || true
    sqlite3 "$tmp/$name.db" "PRAGMA journal_mode = DELETE; PRAGMA page_size = 1024; VACUUM;
        PRAGMA journal_mode = WAL;" \
        >/dev/null
    cp "$tmp/$name.db" "$c/trace_db/$name.db"
}
db register-full scenarios/register.ini --seeds 1..2 --record full --set register.ops=3 \
    --set register.clients=2
db register-fail scenarios/register-stale-read.ini --seed 1 --set register.ops=4
db demo-full scenarios/demo.ini --seed 1 --record full --set demo.ticks=2
db demo-off scenarios/demo-faults.ini --seeds 1..3 --record off
db gossip-faults scenarios/gossip-faults.ini --seed 2 --record full --set gossip.nodes=2 \
    --set gossip.rumors=1 --set faults.quiet_after=1s --set faults.converge_within=2s
db kv-full scenarios/kv/no-faults.ini --seed 1 --record full --set workload.ops=4 \
    --set workload.clients=1
db shard scenarios/register.ini --seeds 1..4 --shard 1/2 --set register.ops=2
db deadlock scenarios/demo-deadlock.ini --seed 1
# Older schemas, which sim reads as they are: 2 has no history, 1 no faults either.
cp "$c/trace_db/register-full.db" "$c/trace_db/schema-2.db"
sqlite3 "$c/trace_db/schema-2.db" "DROP TABLE history; UPDATE meta SET value = 2
    WHERE key = 'schema_version'; VACUUM;"
cp "$c/trace_db/demo-full.db" "$c/trace_db/schema-1.db"
sqlite3 "$c/trace_db/schema-1.db" "DROP TABLE history; DROP TABLE faults;
    ALTER TABLE runs DROP COLUMN faults; ALTER TABLE runs DROP COLUMN fault_count;
    UPDATE meta SET value = 1 WHERE key = 'schema_version'; VACUUM;"
# A sim database without runs.
cp "$c/trace_db/demo-full.db" "$c/trace_db/empty.db"
sqlite3 "$c/trace_db/empty.db" "DELETE FROM events; DELETE FROM decisions; DELETE FROM
    checkpoints; DELETE FROM violations; DELETE FROM faults; DELETE FROM history;
    DELETE FROM runs; VACUUM;"
ls $c/* | wc -l
du -sh $c/*
