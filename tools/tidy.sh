#!/usr/bin/env bash
# tidy.sh: the checks behind `make tidy`.
#
# Fails on:
#   - banned nondeterministic calls (rand, time, clock_gettime, sleep, pthread_create,
#     fiu_enable_random, ...) in src/, systems/, replay/ and cmd/, outside host-boundary files
#     (a file whose name contains "host");
#   - "%p" in src/ (addresses must never reach a trace);
#   - #include arrows that break DESIGN.md section 1, among them exec.h (the world's fields)
#     included outside src/executor/: the modules above use src/executor/spi.h;
#   - lines longer than 100 columns; TODO without an issue number (TODO(#N));
#   - Criterion's gt() in tests/ (in Criterion 2.4.1 it means >=);
#   - a SIM_AWAIT/SIM_TRY as an unbraced if/else/loop body, or inside a switch of the code's
#     own.
#   - fewer than two assertions per non-trivial function in the modules DENSITY_MODULES names
#     (tools/asserts.sh; STYLE.md "Assertions"), whose table it prints for every module.
# Reports (without failing) functions longer than 70 lines.
# Usage: tools/tidy.sh [ROOT]   (ROOT defaults to the repository; tests point it elsewhere)
set -u
tools=$(cd "$(dirname "$0")" && pwd)
cd "${1:-$tools/..}" || exit 2
fail=0
problem() {
    printf 'tidy: %s\n' "$*"
    fail=1
}

dirs=()
for d in src systems replay cmd; do [ -d "$d" ] && dirs+=("$d"); done
sources=$(find "${dirs[@]}" include -name '*.[ch]' 2>/dev/null | sort)
[ -n "$sources" ] || { echo "tidy: no sources under $(pwd)"; exit 2; }

# Lines that are code, not comments or strings: string literals are blanked out, and lines
# that start or continue a comment are dropped.
code_lines() {
    sed -E 's/"([^"\\]|\\.)*"/""/g' "$2" 2>/dev/null | grep -nE "$1" |
        grep -vE '^[0-9]+:\s*(/\*|\*|//)'
}

# 1. Banned calls.
banned='\b(rand|srand|random|srandom|drand48|lrand48|mrand48|rand_r|time|gettimeofday|clock_gettime|clock|sleep|usleep|nanosleep|pthread_create|fiu_enable_random|fiu_rc_fifo|fiu_rc_string|fiu_set_prng_seed|getrandom|arc4random)[[:space:]]*\('
for f in $sources; do
    case "$f" in *host*) continue ;; esac
    case "$f" in include/*) continue ;; esac
    hits=$(code_lines "$banned" "$f")
    [ -n "$hits" ] && while IFS= read -r h; do
        problem "$f:${h%%:*}: nondeterministic call: ${h#*:}"
    done <<<"$hits"
done

# 2. No addresses in traces.
for f in $(find src -name '*.[ch]' 2>/dev/null | sort); do
    hits=$(grep -nE '%p' "$f" | grep -vE '^[0-9]+:\s*(/\*|\*|//)')
    [ -n "$hits" ] && problem "$f:${hits%%:*}: %p: addresses must never reach a trace"
done

# 3. Include arrows (DESIGN.md section 1).
includes() { grep -nE '^\s*#\s*include' "$1"; }
for f in $sources; do
    inc=$(includes "$f")
    [ -z "$inc" ] && continue
    while IFS= read -r line; do
        n=${line%%:*}
        target=$(sed -nE 's/.*#\s*include\s*[<"]([^>"]+)[>"].*/\1/p' <<<"$line")
        case "$f" in
            systems/*|scenarios/*)
                # Systems see sim.h and nothing else of sim: no src/ internals, no libraries.
                case "$target" in
                    *src/*|*core.h|*exec.h|*/internal*) problem "$f:$n: systems may include sim.h only, not $target" ;;
                    fiu*|sqlite3.h|ini.h|xxhash.h) problem "$f:$n: systems may not include $target" ;;
                esac ;;
            include/sim.h)
                case "$target" in
                    std*.h|stdio.h) ;;
                    *) problem "$f:$n: sim.h must include standard headers only, not $target" ;;
                esac ;;
        esac
        case "$target" in
            sqlite3.h) case "$f" in src/trace/*) ;; *) problem "$f:$n: only src/trace/ may include sqlite3.h" ;; esac ;;
            fiu.h|fiu-control.h|fiu-local.h) case "$f" in src/fault/*) ;; *) problem "$f:$n: only src/fault/ may include $target" ;; esac ;;
            # The world struct is the executor's: above it, sim_world stays an incomplete type.
            exec.h|*/exec.h) case "$f" in src/executor/*) ;; *) problem "$f:$n: only src/executor/ may include exec.h; modules above it use spi.h" ;; esac ;;
        esac
        case "$f:$target" in
            src/net_sim/*:*disk_sim*|src/disk_sim/*:*net_sim*) problem "$f:$n: net_sim and disk_sim never include each other" ;;
            src/core/*:*executor*|src/core/*:*exec.h) problem "$f:$n: core is the bottom layer and may not include $target" ;;
            src/host/*:*executor*|src/host/*:*exec.h|src/host/*:*spi.h) problem "$f:$n: src/host/ sits below the executor and may not include $target" ;;
            src/executor/*:*fault/*|src/executor/*:*scenario/*|src/executor/*:*trace/*) problem "$f:$n: the executor may not include a module above it ($target)" ;;
            src/fault/*:*scenario/*|src/fault/*:*trace/*) problem "$f:$n: the fault module may not include a module above it ($target)" ;;
        esac
    done <<<"$inc"
done

# 4. Every SQL query that returns rows says ORDER BY (src/trace/, where all SQL lives): C
# string literals split over lines are joined first; single-row aggregates are exempt.
for f in $(find src/trace -name '*.c' 2>/dev/null | sort); do
    unordered=$(perl -0777 -ne '
        s/"\s*\n\s*"//g;
        while (/"((?:[^"\\]|\\.)*\bSELECT\b(?:[^"\\]|\\.)*)"/g) {
            my $q = $1;
            next if $q =~ /ORDER BY/ || $q =~ /^\s*SELECT\s+(count|COALESCE\(MAX|MAX|MIN)\(/i;
            print "$q\n";
        }' "$f")
    [ -n "$unordered" ] && while IFS= read -r q; do
        problem "$f: a query without ORDER BY: $q"
    done <<<"$unordered"
done

# 5. Line length and TODO form (all C sources, tests and benchmarks included).
for f in $(find src systems replay cmd include tests bench kvs -name '*.[ch]' 2>/dev/null | sort); do
    long=$(awk 'length > 100 { print FNR }' "$f" | head -3 | tr '\n' ' ')
    [ -n "$long" ] && problem "$f: lines over 100 columns: $long"
    todo=$(grep -nE '\b(TODO|FIXME|XXX)\b' "$f" | grep -vE 'TODO\(#[0-9]+\)' | head -3)
    [ -n "$todo" ] && problem "$f:${todo%%:*}: TODO without an issue number, write TODO(#N)"
done

# 6. Criterion 2.4.1's gt(T, a, b) is a >= b (it negates lt): tests write lt(T, b, a).
for f in $(find tests -name '*.[ch]' 2>/dev/null | sort); do
    hits=$(code_lines '\bgt\(' "$f" | head -3)
    [ -n "$hits" ] && problem "$f:${hits%%:*}: Criterion 2.4.1's gt() is >=; write lt(T, b, a)"
done

# 7. The coroutine rules (sim.h, "Futures and coroutines"): no SIM_AWAIT, SIM_AWAIT_FUT or
# SIM_TRY as the unbraced body of an if, else, for or while, and none inside a switch of the
# code's own (the macros are a switch and case labels). Comments and strings are ignored.
for f in $(find src systems replay cmd examples tests bench -name '*.[ch]' 2>/dev/null | sort); do
    hits=$(perl -ne '
        BEGIN { $depth = 0; @sw = (); $prev = ""; }
        s{//.*$}{}; s{/\*.*?\*/}{}g; s{"(?:[^"\\]|\\.)*"}{""}g;
        my $line = $_;
        my $aw = $line =~ /\bSIM_(?:AWAIT|AWAIT_FUT|TRY)\s*\(/;
        if ($aw && $line =~ /\b(?:if|while|for)\s*\(.*\)\s*SIM_(?:AWAIT|AWAIT_FUT|TRY)\b/) {
            print "$.: unbraced body: $line";
        } elsif ($aw && $line =~ /\belse\s+SIM_/) {
            print "$.: unbraced else: $line";
        } elsif ($aw && $line =~ /^\s*SIM_(?:AWAIT|AWAIT_FUT|TRY)\b/ &&
                 ($prev =~ /^\s*(?:\}\s*)?(?:else\s*)?(?:if|while|for)\s*\(.*\)\s*$/ ||
                  $prev =~ /^\s*(?:\}\s*)?else\s*$/)) {
            print "$.: unbraced body: $line";
        }
        if ($aw && @sw) { print "$.: inside a switch of its own: $line"; }
        $pending_switch = 1 if $line =~ /\bswitch\s*\(/;
        for my $ch (split //, $line) {
            if ($ch eq "{") { $depth++; if ($pending_switch) { push @sw, $depth; $pending_switch = 0; } }
            if ($ch eq "}") { pop @sw if @sw && $sw[-1] == $depth; $depth--; }
        }
        $prev = $line if $line =~ /\S/;
        if (eof) { $depth = 0; @sw = (); $prev = ""; close ARGV; }
    ' "$f" | head -5)
    [ -n "$hits" ] && while IFS= read -r h; do problem "$f:$h"; done <<<"$hits"
done

# 8. Assertion density: the modules raised to TigerBeetle's two assertions per non-trivial
# function stay there; the table shows every module. Add a module here once it is raised.
DENSITY_MODULES=src/net_sim,src/disk_sim,src/trace,src/executor
density=$("$tools/asserts.sh" --min 2 "$DENSITY_MODULES" .)
density_rc=$?
echo "tidy: assertions per module (at least 2 per non-trivial function in $DENSITY_MODULES):"
grep -v '^asserts: ' <<<"$density" | sed 's/^/  /'
if [ "$density_rc" -ne 0 ]; then
    while IFS= read -r line; do
        problem "${line#asserts: } (STYLE.md, Assertions)"
    done < <(grep '^asserts: ' <<<"$density")
fi

# 9. Function length: report only. A function starts at a line that is just "{" after a
# signature at column 0 and ends at the next "}" at column 0.
report=$(for f in $(find src systems replay cmd -name '*.c' 2>/dev/null | sort); do
    awk -v file="$f" '
        /^[A-Za-z_].*\)\s*$/ { sig = $0; sigline = FNR }
        /^\{\s*$/ && sig != "" { start = FNR; name = sig; sig = "" ; next }
        /^\}/ && start > 0 {
            len = FNR - start - 1
            if (len > 70) {
                sub(/\(.*/, "", name); n = split(name, parts, /[ *]+/)
                printf "  %s:%d %s: %d lines\n", file, sigline, parts[n], len
            }
            start = 0
        }' "$f"
done)
if [ -n "$report" ]; then
    echo "tidy: functions over 70 lines (split them when you next touch them):"
    echo "$report"
fi

if [ "$fail" -ne 0 ]; then
    echo "tidy: FAILED"
    exit 1
fi
echo "tidy: ok"
