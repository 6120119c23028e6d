# shellcheck shell=bash
# Shared helpers for tools/mpf, tools/testbed and tests/e2e/*.sh. Source it; do not run it.

# Repository root: this file lives in <root>/tools/lib/.
MPF_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export MPF_ROOT

# Build directory (relative to the root unless absolute). MPF_BUILD_DIR overrides.
mpf_build_dir() {
    local b="${MPF_BUILD_DIR:-build}"
    case "$b" in /*) echo "$b" ;; *) echo "$MPF_ROOT/$b" ;; esac
}

# Python for test helpers: prefer the distribution's interpreter (no pyenv shims, fast start).
if [ -z "${MPF_PYTHON:-}" ]; then
    if [ -x /usr/bin/python3 ]; then MPF_PYTHON=/usr/bin/python3; else MPF_PYTHON=python3; fi
fi
export MPF_PYTHON

if [ -t 1 ]; then
    _c_red=$'\e[31m'; _c_grn=$'\e[32m'; _c_yel=$'\e[33m'; _c_bld=$'\e[1m'; _c_off=$'\e[0m'
else
    _c_red=; _c_grn=; _c_yel=; _c_bld=; _c_off=
fi

log()  { printf '%s==>%s %s\n' "$_c_bld" "$_c_off" "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf '%swarning:%s %s\n' "$_c_yel" "$_c_off" "$*" >&2; }
err()  { printf '%serror:%s %s\n' "$_c_red" "$_c_off" "$*" >&2; }
die()  { err "$*"; exit 1; }

need_root() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, apt, hugepages)"
}

have() { command -v "$1" >/dev/null 2>&1; }

# True when a Debian package is fully installed ("ii"), without touching the network.
pkg_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]
}

# Seconds since the epoch with milliseconds, for timings.
now_ms() { date +%s%3N; }
# Format a millisecond duration as seconds with one decimal.
fmt_secs() { awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; }

# The test bed's namespace names are fixed: one user at a time. Takes an exclusive lock for the
# rest of the calling process (fd 9), waiting up to MPF_LOCK_WAIT seconds; children inherit it
# (MPF_TESTBED_LOCKED=1), so nested tools do not wait for themselves.
testbed_lock() {
    [ "${MPF_TESTBED_LOCKED:-0}" = 1 ] && return 0
    mkdir -p /run/lock
    exec 9>/run/lock/mpf-testbed.lock
    if ! flock -w "${MPF_LOCK_WAIT:-300}" 9; then
        err "another test bed user holds /run/lock/mpf-testbed.lock"
        return 1
    fi
    export MPF_TESTBED_LOCKED=1
}

# An iperf3 --json file's per-second rates, Mbit/s ("?" when it is not one).
iperf_secs() {
    "$MPF_PYTHON" -c 'import json, sys
try:
    print(" ".join("%.0f" % (i["sum"]["bits_per_second"] / 1e6) for i in json.load(open(sys.argv[1]))["intervals"]))
except Exception:
    print("?")' "$1"
}
