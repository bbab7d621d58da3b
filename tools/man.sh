#!/bin/sh
# tools/man.sh SIM: writes sim(1), the manual page, to stdout, from the binary's own --help
# texts (sim --help, then each command's), so that the page never says what the command does
# not. `make install` installs it under share/man/man1.
set -eu
sim=$1
[ -x "$sim" ] || { echo "man.sh: $sim is not an executable" >&2; exit 2; }
version=$("$sim" --version | head -1)

# roff-safe: backslashes doubled as \e, a leading . or ' escaped with \&.
esc() {
    sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"
}

cat <<HEAD
.TH SIM 1 "" "$version" "User Commands"
.SH NAME
sim \\- deterministic simulation testing for asynchronous C programs
.SH SYNOPSIS
.nf
HEAD
"$sim" --help | esc
cat <<'BODY'
.fi
.SH DESCRIPTION
One seed drives a single-threaded executor with a virtual clock, a simulated network and a
simulated disk; the systems under test run inside it while faults are injected, and every
run is recorded in SQLite so that a failing seed replays bit for bit. Scenario files say
which system runs, over which seeds, under which faults (see the scenarios documentation).
.PP
A program built on libsim's
.BR sim_main ()
(a user's own test binary, linked with
.BR "pkg-config --libs --static sim" )
has every command below under its own name, over its own systems and checker models.
.SH COMMANDS
BODY
for cmd in $("$sim" --help | awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }'); do
    echo ".SS $cmd"
    echo ".nf"
    "$sim" "$cmd" --help 2>&1 | esc
    echo ".fi"
done
cat <<'TAIL'
.SH EXIT STATUS
0 when every scenario meets its expect (and for other commands, success); 1 when one does
not, or a replay differs, or a history is not linearizable; 2 on bad arguments, files or
databases; 130 when interrupted (runs finished so far are kept).
.SH FILES
.TP
.I sim-traces.db
the default database of
.BR "make demo" ;
any file given to
.BR --db .
.SH SEE ALSO
The documentation in the source tree: README.md, docs/tutorial.md (your first system under
sim), docs/scenarios.md, docs/faults.md, docs/api.md, docs/checking.md.
TAIL
