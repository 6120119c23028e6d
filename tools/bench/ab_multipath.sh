#!/bin/bash
# Interleaved A/B of one `multipath` config key on the test bed: one TCP transfer per run
# (download, Host B -> Host A, iperf3 -R; with `up` an upload), the two values alternating,
# fresh appliances for every run, so both see the same machine load. Prints one line per run
# and the medians.
#
#   tools/bench/ab_multipath.sh KEY VALUE_A VALUE_B [PROFILE [CC [ROUNDS [SECONDS [down|up]]]]]
#   e.g. tools/bench/ab_multipath.sh fast_lane true false lossy cubic 3 8 up
#
# Both appliances get `KEY = VALUE;` in the multipath group of configs/examples/*-2paths.conf
# (replacing the key's line where the file writes it out).
# Needs root; takes the test bed lock (as tools/testbed does) and tears the test bed down.
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
[ $# -ge 3 ] || { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }
KEY="$1" A="$2" B="$3" PROFILE="${4:-std}" CC="${5:-cubic}" ROUNDS="${6:-3}" SECS="${7:-8}"
DIR="${8:-down}"
[[ "$KEY" =~ ^[a-z_]+$ ]] || { echo "ab_multipath: bad key '$KEY'" >&2; exit 2; }
case "$DIR" in down) REV=(-R) ;; up) REV=() ;; *) echo "ab_multipath: '$DIR': down or up" >&2; exit 2 ;; esac

if [ "${MPF_TESTBED_LOCKED:-0}" != 1 ]; then
    exec flock -w "${MPF_LOCK_WAIT:-600}" /run/lock/mpf-testbed.lock \
        env MPF_TESTBED_LOCKED=1 bash "${BASH_SOURCE[0]}" "$@"
fi

TMP="$(mktemp -d /tmp/mpf-ab.XXXXXX)"
TB=(bash "$ROOT/tools/testbed")
cleanup() { "${TB[@]}" down >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT

for v in "$A" "$B"; do
    for role in gateway server; do
        src="$ROOT/configs/examples/$role-2paths.conf"
        if grep -qE "^ *$KEY = " "$src"; then
            # Written out already (the gateway's multipath group lists the defaults): replace.
            sed -E "s|^( *)$KEY = [^;]*;|\1$KEY = $v;|" "$src" >"$TMP/$role-$v.conf"
            grep -qE "^ *$KEY = $v;" "$TMP/$role-$v.conf" ||
                { echo "ab_multipath: could not set $KEY in $src" >&2; exit 1; }
        else
            # The first line that opens the multipath group gets the key right after the brace.
            sed "0,/^multipath = {/s||multipath = { $KEY = $v;|" "$src" >"$TMP/$role-$v.conf"
            grep -q "multipath = { $KEY = $v;" "$TMP/$role-$v.conf" ||
                { echo "ab_multipath: no 'multipath = {' line in $src" >&2; exit 1; }
        fi
    done
done

"${TB[@]}" up --paths 2 --profile "$PROFILE" >"$TMP/up.log" 2>&1 ||
    { tail -5 "$TMP/up.log"; exit 1; }
declare -A results
for round in $(seq "$ROUNDS"); do
    for v in "$A" "$B"; do
        MPF_GW_CONF="$TMP/gateway-$v.conf" MPF_SRV_CONF="$TMP/server-$v.conf" \
            "${TB[@]}" start-appliances >"$TMP/start.log" 2>&1 ||
            { tail -5 "$TMP/start.log"; exit 1; }
        sleep 1.5  # paths up (3 probes)
        ip netns exec mpf-hostb iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
        srv=$!
        sleep 0.5
        mbit="$(ip netns exec mpf-hosta iperf3 -c 198.51.100.2 -p 5201 -C "$CC" -t "$SECS" "${REV[@]}" \
            --json 2>/dev/null | python3 -c 'import json, sys
d = json.load(sys.stdin)
print("%.1f" % (d["end"]["sum_received"]["bits_per_second"] / 1e6))' || echo "-")"
        wait "$srv" 2>/dev/null || true
        "${TB[@]}" stop-appliances >/dev/null 2>&1
        echo "round $round  $KEY = $v  $PROFILE $CC  1 flow $DIR: $mbit Mbit/s"
        results[$v]+="$mbit "
    done
done
for v in "$A" "$B"; do
    # shellcheck disable=SC2086
    med="$(printf '%s\n' ${results[$v]} | grep -v '^-$' | sort -n |
        awk '{ x[NR] = $1 } END { print NR ? x[int((NR + 1) / 2)] : "-" }')"
    echo "median $KEY = $v: $med Mbit/s (runs: ${results[$v]})"
done
