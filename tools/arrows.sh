#!/bin/bash
# arrows.sh: the layering of DESIGN.md section 1 at the level of symbols. For every object
# file built from src/, replay/, cmd/ and systems/, each undefined symbol is matched to the
# module whose object defines it; a module may use symbols of its own layer's modules below
# it only. Includes are checked by tools/tidy.sh; this catches what includes cannot: a call
# through a declaration written by hand, or a module that includes nothing of another's and
# links against it anyway.
#
# Layers, bottom first (a module may use any module with a lower rank):
#   core 0, host 0.5 (the host backend's mechanics: epoll, threads), executor 1, fault 2 (the points), net_sim 3, disk_sim 3 (never each other),
#   plan 4, check 4, trace 5, scenario 6, replay 6, cmd 8.
# systems/ may use only what include/sim.h names (they are users of the public API).
#
# Usage: tools/arrows.sh [BUILD [ROOT]]   (BUILD defaults to build, relative to ROOT, which
# defaults to the repository; the objects must be built; tests point ROOT elsewhere)
# Prints one line per violation, "arrows: USER -> DEFINER: SYMBOL (OBJECT)", and exits 1 if
# any; exits 2 when an object is missing.
set -u
build=${1:-build}
cd "${2:-$(dirname "$0")/..}" || exit 2

srcs=$(find src replay cmd systems -name '*.c' 2>/dev/null | sort)
module() { # path -> module name
    case "$1" in
        src/*) p=${1#src/}; echo "${p%%/*}" ;;
        *) echo "${1%%/*}" ;;
    esac
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for s in $srcs; do
    o="$build/obj/${s%.c}.o"
    if [ ! -f "$o" ]; then
        echo "arrows: $o is not built (make first)" >&2
        exit 2
    fi
    m=$(module "$s")
    nm --defined-only -g "$o" | awk -v m="$m" 'NF == 3 { print $3, m }' >>"$tmp/defs"
    nm -u "$o" | awk -v m="$m" -v o="$o" '{ print m, $NF, o }' >>"$tmp/uses"
done
grep -oE '\bsim_[A-Za-z0-9_]+' include/sim.h | sort -u >"$tmp/public"

awk '
    BEGIN {
        rank["core"] = 0; rank["host"] = 0.5; rank["executor"] = 1; rank["fault"] = 2; rank["net_sim"] = 3
        rank["disk_sim"] = 3; rank["plan"] = 4; rank["check"] = 4; rank["trace"] = 5
        rank["scenario"] = 6; rank["replay"] = 6; rank["cmd"] = 8; rank["systems"] = 7
        bad = 0
    }
    FILENAME ~ /public$/ { pub[$1] = 1; next }
    FILENAME ~ /defs$/ { def[$1] = $2; next }
    {
        user = $1; sym = $2; obj = $3
        if (!(sym in def)) next              # libc, SQLite, libfiu, ...
        d = def[sym]
        if (d == user) next
        why = ""
        if (!(user in rank) || !(d in rank)) why = "a module tools/arrows.sh does not rank"
        else if (user == "systems") { if (!(sym in pub)) why = "not in sim.h" }
        else if (rank[d] > rank[user]) why = "points up"
        else if (rank[d] == rank[user]) why = "same layer"
        if (why != "") {
            printf "arrows: %s -> %s: %s (%s; %s)\n", user, d, sym, obj, why
            bad = 1
        }
    }
    END { exit bad }
' "$tmp/public" "$tmp/defs" "$tmp/uses"
