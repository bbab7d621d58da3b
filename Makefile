# sim: a deterministic simulation and testing harness for asynchronous C programs.
# `make help` lists the targets.

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
BUILD ?= build
OPT ?= -O2 -g
SAN ?=

# Debian packages: what the library links, what the tests need, and the tools.
LIB_PKGS := libxxhash sqlite3 inih libfiu
TEST_PKGS := criterion
# chromium: the browser test of sim viz's page (tests/integration/test_viz_cli.c).
DEB_PKGS := pkg-config libxxhash-dev libsqlite3-dev libinih-dev libfiu-dev libcriterion-dev sqlite3 \
            libxml2-utils parallel chromium
PEER_DEB_PKGS := libuv1-dev libevent-dev librust-tokio-dev cargo
# libFuzzer is in clang's runtime package, which clang only recommends.
FUZZ_DEB_PKGS := clang libclang-rt-14-dev

WARN := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wstrict-prototypes \
        -Wmissing-prototypes -Werror
# gcc catches a local kept across SIM_AWAIT (a case label jumps over its initialisation);
# clang has no such warning, and CI builds with both.
ifeq ($(shell $(CC) --version 2>/dev/null | grep -c 'Free Software'),1)
WARN += -Wjump-misses-init
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(LIB_PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(LIB_PKGS) 2>/dev/null)
TEST_CFLAGS := $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)
CPPFLAGS_ALL := -Iinclude -I$(BUILD)/gen -D_POSIX_C_SOURCE=200809L $(PKG_CFLAGS) $(CPPFLAGS)
GIT_COMMIT := $(shell git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
CFLAGS_ALL := $(WARN) $(OPT) $(SAN) -MMD -MP $(CFLAGS)
LDFLAGS_ALL := $(SAN) $(LDFLAGS)
# The build of make check: ASan, UBSan, slow assertions, tables that move on every allocation.
CHECK_VARS := BUILD=build/check OPT="-O1 -g -fno-omit-frame-pointer -DSIM_SLOW_CHECKS" \
              SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"

# The command line is part of the library (sim_main); cmd/sim.c, the stock sim's main over
# the bundled systems, and its demo command (the demo system's) are not.
CMD_SRCS := cmd/sim.c cmd/cmd_demo.c
LIB_SRCS := $(sort $(wildcard src/*/*.c replay/*.c) $(filter-out $(CMD_SRCS),$(wildcard cmd/*.c)))
SYS_SRCS := $(sort $(wildcard systems/*.c systems/*/*.c))
TEST_SRCS := $(sort $(wildcard tests/unit/*.c tests/integration/*.c)) tests/brute.c
BENCH_SRCS := bench/bench_exec.c bench/bench_trace.c bench/bench_fault.c bench/bench_net.c \
              bench/bench_disk.c bench/bench_check.c bench/bench_kv.c bench/bench_actor.c \
              bench/bench_paxos.c bench/kvs_load.c
EXAMPLE_SRCS := $(sort $(wildcard examples/*.c))
# examples/own-system: an out-of-tree project (its own Makefile, against an installed sim);
# built here too, against this tree, for the tests.
OWN_SRCS := $(sort $(wildcard examples/own-system/*.c))
OWN_OBJS := $(OWN_SRCS:%.c=$(BUILD)/obj/%.o)

# kvs-server and kvs-client (kvs/): talent-plan's kvs binaries over the kv system's server
# and engine, on a host world.
KV_OBJS := $(filter $(BUILD)/obj/systems/kv/%,$(SYS_SRCS:%.c=$(BUILD)/obj/%.o))
KVS_CLIENT_OBJS := $(BUILD)/obj/kvs/kvs_client.o $(BUILD)/obj/kvs/kvs_addr.o \
                   $(BUILD)/obj/systems/kv/proto.o
KVS_SERVER_OBJS := $(BUILD)/obj/kvs/kvs_server.o $(BUILD)/obj/kvs/kvs_addr.o \
                   $(BUILD)/obj/kvs/kvs_sqlite.o
KVS_CLIENT := $(BUILD)/kvs-client
KVS_SERVER := $(BUILD)/kvs-server
KVS_BINS := $(KVS_CLIENT) $(KVS_SERVER)
KVS_LOAD := $(BUILD)/kvs-load

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
SYS_OBJS := $(SYS_SRCS:%.c=$(BUILD)/obj/%.o)
CMD_OBJS := $(CMD_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/obj/%.o)
BENCH_OBJS := $(BENCH_SRCS:%.c=$(BUILD)/obj/%.o)
EXAMPLES := $(EXAMPLE_SRCS:examples/%.c=$(BUILD)/examples/%) $(BUILD)/examples/counter-sim

LIB := $(BUILD)/libsim.a
SIM := $(BUILD)/sim
TESTS := $(BUILD)/sim-tests
BENCH := $(BUILD)/sim-bench
BENCH_TRACE := $(BUILD)/sim-bench-trace
BENCH_FAULT := $(BUILD)/sim-bench-fault
BENCH_NET := $(BUILD)/sim-bench-net
BENCH_DISK := $(BUILD)/sim-bench-disk
BENCH_CHECK := $(BUILD)/sim-bench-check
BENCH_KV := $(BUILD)/sim-bench-kv
BENCH_ACTOR := $(BUILD)/sim-bench-actor
BENCH_PAXOS := $(BUILD)/sim-bench-paxos

.PHONY: all test check determinism-sweep tidy bench bench-peers deps demo soak clean install \
        help FORCE _test _check _demo _bench _soak fuzz fuzz-smoke fuzz-build _fuzz

all: $(LIB) $(SIM) $(EXAMPLES) $(KVS_BINS)

help:
	@echo "make            build libsim.a, the sim command, kvs-server and kvs-client into $(BUILD)/"
	@echo "make demo       install dependencies, build, run the scenarios/ suite into sim-traces.db,"
	@echo "                then list its failures and replay one"
	@echo "make test       install dependencies, build and run the test suite (Criterion)"
	@echo "make check      the same tests built with ASan + UBSan, slow assertions and tables that"
	@echo "                move on every allocation (a pointer kept across one is caught)"
	@echo "make determinism-sweep  every scenario over DSWEEP_SEEDS=$(DSWEEP_SEEDS) in two processes"
	@echo "                with different heaps, built with ASan and UBSan: the same hashes"
	@echo "make tidy       determinism and layering checks (includes and symbols), assertion density,"
	@echo "                function lengths"
	@echo "make soak       every clean scenario over seeds 1..10000 (SOAK_SEEDS=A..B), --jobs = cores"
	@echo "                (SOAK_JOBS=N); fails on any failing seed, prints the summary and wall time"
	@echo "make bench      executor, network, disk, recording, fault-point, checker, kv, actor, paxos"
	@echo "                and suite benchmarks: medians, one line per figure; then a load on"
	@echo "                kvs-server (each engine) and a tokio peer on loopback (bench/kvs.sh)"
	@echo "make bench-peers  the executor workloads on sim, libuv, libevent and tokio, round-robin over"
	@echo "                BENCH_ROUNDS=5 rounds: medians of sim's per-round ratios, PASS/MISS against"
	@echo "                the targets (a benchmark: a MISS does not fail it; optional packages)"
	@echo "make fuzz       build the libFuzzer targets of fuzz/ (clang, ASan, UBSan) into"
	@echo "                build/fuzz/, run each for FUZZ_TIME=$(FUZZ_TIME) s; findings in"
	@echo "                build/fuzz/artifacts/"
	@echo "make fuzz-smoke the same for FUZZ_SMOKE_TIME=$(FUZZ_SMOKE_TIME) s each, from the committed"
	@echo "                corpus only; fails on any finding (CI runs it)"
	@echo "make deps       install missing Debian packages (root) or print the command"
	@echo "make install    install libsim.a (the command line too: sim_main), sim.h, sim, sim.pc,"
	@echo "                kvs-server, kvs-client"
	@echo "                and the manual page sim(1) under PREFIX=$(PREFIX); examples/own-system/"
	@echo "                builds against it"
	@echo "make clean      remove $(BUILD)/"
	@echo "Variables: CC=gcc|clang  OPT=...  PREFIX=...  BUILD=...  FUZZ_TIME=...  FUZZ_SMOKE_TIME=..."
	@echo "           BENCH_ROUNDS=...  BENCH_N=... (bench-peers)"

deps:
	@tools/deps.sh $(DEB_PKGS)

# The git commit for sim --version, rewritten only when it changes.
$(BUILD)/gen/version.h: FORCE
	@mkdir -p $(dir $@)
	@echo '#define SIM_GIT_COMMIT "$(GIT_COMMIT)"' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@
	@rm -f $@.tmp

$(BUILD)/obj/cmd/sim.o: $(BUILD)/gen/version.h

# sim viz's page (cmd/viz_page.html) as an array of C strings, one a line.
$(BUILD)/gen/viz_page.h: cmd/viz_page.html
	@mkdir -p $(dir $@)
	@{ echo 'static const char *const viz_page[] = {'; \
	   sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$$/\\n",/' $<; \
	   echo '};'; } > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/cmd/cmd_viz.o: $(BUILD)/gen/viz_page.h

FORCE:

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(TEST_CFLAGS) $(CFLAGS_ALL) -Wno-conversion -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(SIM): $(CMD_OBJS) $(SYS_OBJS) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $(CMD_OBJS) $(SYS_OBJS) $(LIB) $(PKG_LIBS)

$(TESTS): $(TEST_OBJS) $(SYS_OBJS) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $(TEST_OBJS) $(SYS_OBJS) $(LIB) $(PKG_LIBS) $(TEST_LIBS)

$(KVS_CLIENT): $(KVS_CLIENT_OBJS) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $(KVS_CLIENT_OBJS) $(LIB) $(PKG_LIBS)

$(KVS_SERVER): $(KVS_SERVER_OBJS) $(KV_OBJS) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $(KVS_SERVER_OBJS) $(KV_OBJS) $(LIB) $(PKG_LIBS) -lpthread

$(KVS_LOAD): $(BUILD)/obj/bench/kvs_load.o $(BUILD)/obj/kvs/kvs_addr.o \
             $(BUILD)/obj/systems/kv/proto.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) -lpthread

$(BUILD)/examples/%: $(BUILD)/obj/examples/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(LIB) $(PKG_LIBS)

$(BUILD)/examples/counter-sim: $(OWN_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $(OWN_OBJS) $(LIB) $(PKG_LIBS)

$(BENCH): $(BUILD)/obj/bench/bench_exec.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(LIB) $(PKG_LIBS)

$(BENCH_FAULT): $(BUILD)/obj/bench/bench_fault.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(LIB) $(PKG_LIBS)

$(BENCH_DISK): $(BUILD)/obj/bench/bench_disk.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(LIB) $(PKG_LIBS)

$(BENCH_CHECK): $(BUILD)/obj/bench/bench_check.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(LIB) $(PKG_LIBS)

$(BENCH_NET): $(BUILD)/obj/bench/bench_net.o $(SYS_OBJS) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(SYS_OBJS) $(LIB) $(PKG_LIBS)

$(BENCH_KV): $(BUILD)/obj/bench/bench_kv.o $(SYS_OBJS) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(SYS_OBJS) $(LIB) $(PKG_LIBS)

$(BENCH_ACTOR): $(BUILD)/obj/bench/bench_actor.o $(SYS_OBJS) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(SYS_OBJS) $(LIB) $(PKG_LIBS)

$(BENCH_PAXOS): $(BUILD)/obj/bench/bench_paxos.o $(SYS_OBJS) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(SYS_OBJS) $(LIB) $(PKG_LIBS)

$(BENCH_TRACE): $(BUILD)/obj/bench/bench_trace.o $(SYS_OBJS) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(SYS_OBJS) $(LIB) $(PKG_LIBS)

# The targets a fresh machine runs first install their dependencies, then re-enter make so
# that pkg-config is asked after the packages exist.
test: deps
	@$(MAKE) --no-print-directory _test

_test: $(TESTS) $(SIM) $(EXAMPLES) $(KVS_BINS)
	SIM_BIN=$(abspath $(SIM)) SIM_SRC=$(CURDIR) SIM_EXAMPLES=$(abspath $(BUILD)/examples) \
	    SIM_SQLITE_REVERSE_UNORDERED_SELECTS=1 $(TESTS) --jobs 2

check: deps
	@$(MAKE) --no-print-directory $(CHECK_VARS) _check

_check: $(TESTS) $(SIM) $(EXAMPLES) $(KVS_BINS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    LSAN_OPTIONS=suppressions=$(CURDIR)/tools/lsan.supp:print_suppressions=0 \
	    SIM_BIN=$(abspath $(SIM)) SIM_SRC=$(CURDIR) SIM_EXAMPLES=$(abspath $(BUILD)/examples) \
	    SIM_SQLITE_REVERSE_UNORDERED_SELECTS=1 $(TESTS) --jobs 2

# Every scenario over DSWEEP_SEEDS, run by two processes with different heaps, by the ASan +
# UBSan + slow-checks build: no seed may differ or crash (tools/determinism-sweep.sh).
DSWEEP_SEEDS ?= 1..200
determinism-sweep: deps
	@$(MAKE) --no-print-directory $(CHECK_VARS) build/check/sim
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1 tools/determinism-sweep.sh build/check/sim $(DSWEEP_SEEDS)

demo: deps
	@$(MAKE) --no-print-directory _demo

# The default suite into sim-traces.db (a fresh one), then a list of what failed (the planted
# bugs each scenario expects to find) and a replay of the first of them.
DEMO_DB := sim-traces.db
_demo: $(SIM)
	@rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	$(SIM) run scenarios/ --db $(DEMO_DB)
	@echo
	$(SIM) list --db $(DEMO_DB) --failed | head -8
	@echo
	$(SIM) replay --db $(DEMO_DB) $$(sqlite3 $(DEMO_DB) \
	    "SELECT run_id FROM runs WHERE result <> 'pass' ORDER BY run_id LIMIT 1")
	@echo
	@echo "next: $(SIM) show --db $(DEMO_DB) RUN   (what happened in a run, event by event)"

# Not part of test or CI (CI runs a rotating slice of it: tools/ci-slice.sh); about 6 minutes
# on 2 cores. docs/scale-out.md.
soak: deps
	@$(MAKE) --no-print-directory _soak

_soak: $(SIM)
	@tools/soak.sh $(SIM)

bench: deps
	@$(MAKE) --no-print-directory _bench

_bench: $(BENCH) $(BENCH_TRACE) $(BENCH_FAULT) $(BENCH_NET) $(BENCH_DISK) $(BENCH_CHECK) \
        $(BENCH_KV) $(BENCH_ACTOR) $(BENCH_PAXOS) $(KVS_BINS) $(KVS_LOAD)
	@$(BENCH)
	@$(BENCH_NET)
	@$(BENCH_DISK)
	@$(BENCH_CHECK)
	@$(BENCH_KV)
	@$(BENCH_ACTOR)
	@$(BENCH_PAXOS)
	@$(MAKE) --no-print-directory BUILD=build/nohash CPPFLAGS=-DSIM_NO_HASH \
	    build/nohash/sim-bench-trace >/dev/null
	@bench/trace.sh $(BUILD) build/nohash
	@$(MAKE) --no-print-directory BUILD=build/nopoints CPPFLAGS=-DSIM_NO_FAULT_POINTS \
	    build/nopoints/sim-bench-fault >/dev/null
	@bench/fault.sh $(BUILD) build/nopoints
	@bench/suite.sh $(SIM)
	@bench/kvs.sh $(BUILD)

bench-peers: deps
	@tools/deps.sh $(PEER_DEB_PKGS)
	@$(MAKE) --no-print-directory $(BENCH)
	@bench/peers/run.sh $(BUILD)

tidy: $(SIM)
	@tools/tidy.sh
	@tools/arrows.sh $(BUILD) && echo "tidy: symbol arrows ok"

# ---- fuzzing (docs/internals.md, "Fuzzing") --------------------------------------------------
# The library, the systems and the command are built again with clang into build/fuzz/, with
# libFuzzer's coverage hooks, ASan, UBSan and slow assertions (tables that move on every
# allocation only up to 16 KiB, not 256: a run of 20,000 steps spent most of a minute copying
# its message table); each fuzz/TARGET.c links with libFuzzer's main. cmd/sim.c is compiled
# once more with its main renamed fuzz_sim_main (declared in fuzz/sim_main.h), so that a
# target runs the stock sim command in-process.
FUZZ_TARGETS := scenario_roundtrip scenario_run edn_roundtrip check_brute trace_db
FUZZ_BUILD := build/fuzz
FUZZ_TIME ?= 60
FUZZ_SMOKE_TIME ?= 25
FUZZ_BINS := $(FUZZ_TARGETS:%=$(BUILD)/%)
FUZZ_LINK := $(BUILD)/obj/fuzz/sim_main.o $(BUILD)/obj/cmd/cmd_demo.o $(SYS_OBJS) \
             $(BUILD)/obj/tests/brute.o $(LIB)

fuzz-build:
	@tools/deps.sh $(DEB_PKGS) $(FUZZ_DEB_PKGS)
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang \
	    OPT="-O1 -g -fno-omit-frame-pointer -DSIM_SLOW_CHECKS -DSHAKE_MAX_BYTES=16384" \
	    SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" _fuzz

_fuzz: $(FUZZ_BINS)

fuzz: fuzz-build
	@tools/fuzz.sh $(FUZZ_BUILD) $(FUZZ_TIME) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	@tools/fuzz.sh --smoke $(FUZZ_BUILD) $(FUZZ_SMOKE_TIME) $(FUZZ_TARGETS)

$(BUILD)/obj/fuzz/sim_main.o: cmd/sim.c $(BUILD)/gen/version.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -Dmain=fuzz_sim_main -include fuzz/sim_main.h -c $< -o $@

$(FUZZ_BINS): $(BUILD)/%: $(BUILD)/obj/fuzz/%.o $(FUZZ_LINK)
	$(CC) $(LDFLAGS_ALL) -fsanitize=fuzzer -o $@ $< $(FUZZ_LINK) $(PKG_LIBS)

# sim(1), from the binary's own --help texts.
$(BUILD)/sim.1: $(SIM) tools/man.sh
	tools/man.sh $(SIM) > $@.tmp && mv $@.tmp $@

install: all $(BUILD)/sim.1
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 $(BUILD)/sim.1 $(DESTDIR)$(PREFIX)/share/man/man1/sim.1
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libsim.a
	install -m 644 include/sim.h $(DESTDIR)$(PREFIX)/include/sim.h
	install -m 755 $(SIM) $(DESTDIR)$(PREFIX)/bin/sim
	install -m 755 $(KVS_SERVER) $(DESTDIR)$(PREFIX)/bin/kvs-server
	install -m 755 $(KVS_CLIENT) $(DESTDIR)$(PREFIX)/bin/kvs-client
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(shell sed -n 's/^#define SIM_VERSION_STRING "\(.*\)"/\1/p' include/sim.h)|g' \
	    tools/sim.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/sim.pc

clean:
	rm -rf build

-include $(LIB_OBJS:.o=.d) $(SYS_OBJS:.o=.d) $(CMD_OBJS:.o=.d) $(TEST_OBJS:.o=.d) \
         $(BENCH_OBJS:.o=.d) $(EXAMPLE_SRCS:%.c=$(BUILD)/obj/%.d) $(OWN_OBJS:.o=.d) \
         $(wildcard $(BUILD)/obj/fuzz/*.d) $(wildcard $(BUILD)/obj/kvs/*.d)
