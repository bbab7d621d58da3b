#!/bin/sh
# deps.sh: make sure the Debian packages sim builds with are installed.
#
# Usage: tools/deps.sh PACKAGE...
# Installs what is missing with apt-get when run as root; otherwise prints the exact command
# to run and fails. Quiet when everything is present.
set -eu
missing=""
for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $pkg" ;;
    esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends $missing >/tmp/sim-deps.log 2>&1; then
        apt-get update >/tmp/sim-deps-update.log 2>&1 || true
        if ! apt-get install -y --no-install-recommends $missing >/tmp/sim-deps.log 2>&1; then
            echo "deps: apt-get install failed; see /tmp/sim-deps.log" >&2
            tail -5 /tmp/sim-deps.log >&2
            exit 1
        fi
    fi
    exit 0
fi
echo "deps: missing Debian packages:$missing" >&2
echo "deps: install them with:  sudo apt-get install$missing" >&2
exit 1
