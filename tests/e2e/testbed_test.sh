#!/usr/bin/env bash
# End-to-end test of the test bed's path emulation (tools/testbed up --profile std): each wire
# namespace delays (linkem, NFQUEUE), shapes (tbf, 50 ms queue) and, with `path down`,
# blackholes its path, both directions. Kernel forwarding stands in for the appliances
# (tools/testbed kernel-mode), so this needs no dataplane; Host A's traffic takes one path at a
# time (kernel-mode via 5g|wifi).
#
# Per path: idle RTT (ping -U) ~ 2 x one-way delay; one TCP flow each way (iperf3, cubic) near
# the path's rate while the RTT rises by the wire's queue, not beyond it; no UDP loss. Then the
# lossy profile's loss on WiFi, a blackhole and its repair, linkem's CPU use, and teardown.
# Thresholds are generous (a shared 2-CPU machine): they catch a missing delay, shaping in the
# wrong place or a broken linkem, not a few percent.
#
# Prints "ok - <what>" / "not ok - <what>" per check and a summary; exit 0 when all pass, 1 when
# any fails, 77 (skip) when linkem is not built or iperf3 / iptables-nft are missing.
# Environment: MPF_BUILD_DIR (default build), MPF_LINKEM, MPF_E2E_KEEP=1 (leave the test bed up
# after a failure), MPF_TB_SECS (seconds per TCP run, default 4).
set -euo pipefail

HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
# shellcheck source=tools/lib/common.sh
. "$HERE/../../tools/lib/common.sh"

TB=(bash "$MPF_ROOT/tools/testbed")
LINKEM="${MPF_LINKEM:-$(mpf_build_dir)/tools/linkem}"
export MPF_LINKEM="$LINKEM"
SECS="${MPF_TB_SECS:-4}"
HOSTA=mpf-hosta; HOSTB=mpf-hostb
HOSTB_IP=198.51.100.2
OUR_NS=(mpf-hosta mpf-gw mpf-w5g mpf-wwifi mpf-inet mpf-srv mpf-hostb mpf-plain-a mpf-plain-b)
TB_STATE="${MPF_TESTBED_STATE:-/tmp/mpf-testbed}"

need_root
for t in iperf3 iptables-nft ping; do
    if ! have "$t"; then echo "# SKIP: $t not installed (tools/mpf setup)"; exit 77; fi
done
if [ ! -x "$LINKEM" ]; then
    echo "# SKIP: linkem not built: $LINKEM (apt-get install libnetfilter-queue-dev; meson setup --reconfigure)"
    exit 77
fi

# The test runs in a child bash; this parent only waits, so Ctrl-C / TERM reach it promptly
# (see one_path_test.sh).
if [ "${MPF_E2E_INNER:-0}" != 1 ]; then
    MPF_E2E_INNER=1 bash "${BASH_SOURCE[0]}" "$@" &
    child=$!
    sig=0
    trap 'sig=130; kill -TERM "$child" 2>/dev/null || true' INT
    trap 'sig=143; kill -TERM "$child" 2>/dev/null || true' TERM
    while :; do
        rc=0
        wait "$child" || rc=$?
        kill -0 "$child" 2>/dev/null || break
    done
    if [ "$sig" != 0 ]; then exit "$sig"; fi
    exit "$rc"
fi

testbed_lock || { echo "not ok - test bed busy"; exit 1; }

T0="$(now_ms)"
TMP="$(mktemp -d /tmp/mpf-e2e-tb.XXXXXX)"
PASS=0
FAILS=()
BG_PIDS=()

ok()  { PASS=$((PASS + 1)); echo "ok - $*"; }
nok() { FAILS+=("$*"); echo "not ok - $*"; }
nsx() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }

# shellcheck disable=SC2317  # (invoked by trap)
cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ "${MPF_E2E_KEEP:-0}" = 1 ] && [ "${#FAILS[@]}" -gt 0 ]; then
        echo "# MPF_E2E_KEEP=1: test bed left up (tools/testbed status / down); files in $TMP"
    else
        "${TB[@]}" down >/dev/null 2>&1 || true
        rm -rf "$TMP"
    fi
    for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "not ok - interrupted"; exit 130' INT
trap 'echo "not ok - interrupted (SIGTERM)"; exit 143' TERM

# awk over ping output -> "min avg max count" of the RTTs (lines after the first SKIP replies).
rtts() { # file [skip]
    awk -v skip="${2:-0}" '/time=/ { n++; if (n <= skip) next; sub(/.*time=/, ""); v = $1 + 0
        if (!c || v < mn) mn = v; if (!c || v > mx) mx = v; s += v; c++ }
        END { if (c) printf "%.1f %.1f %.1f %d\n", mn, s / c, mx, c; else print "0 0 0 0" }' "$1"
}
# True when awk says so: fcmp "A >= B".
fcmp() { awk "BEGIN { exit !($1) }"; }
# CPU ticks (user + system) of the linkem processes of a path: "up down".
linkem_ticks() { # path
    local d pid out=""
    for d in up down; do
        pid="$(cat "$TB_STATE/linkem-$1-$d.pid" 2>/dev/null || echo 0)"
        out="$out $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)"
    done
    echo "$out"
}
# iperf3 JSON -> receiver Mbit/s (TCP) or "lost total" (UDP).
PY_TCP='import json, sys; e = json.load(open(sys.argv[1]))["end"]; print("%.1f" % (e["sum_received"]["bits_per_second"] / 1e6))'
PY_UDP='import json, sys; s = json.load(open(sys.argv[1]))["end"]["sum"]; print(s["lost_packets"], s["packets"])'

# ------------------------------------------------------------------ 1. up, std profile
echo "# mpf e2e: test bed path emulation (linkem $LINKEM)"
if "${TB[@]}" up --paths 2 --profile std >"$TMP/up.log" 2>&1; then
    ok "test bed up: 2 paths, profile std"
else
    nok "test bed up --paths 2 --profile std"; sed 's/^/#   /' "$TMP/up.log"; exit 1
fi

declare -A QUEUE=([5g-up]=51 [5g-down]=52 [wifi-up]=61 [wifi-down]=62)
declare -A WNS=([5g]=mpf-w5g [wifi]=mpf-wwifi)
declare -A EGRESS=([5g-up]=w5-inet [5g-down]=w5-gw [wifi-up]=ww-inet [wifi-down]=ww-gw)
declare -A RATE=([5g]=50 [wifi]=30)
declare -A OWD=([5g]=15 [wifi]=4)
declare -A JIT=([5g]=1 [wifi]=2)
for k in 5g-up 5g-down wifi-up wifi-down; do
    p="${k%-*}"; d="${k#*-}"
    pid="$(cat "$TB_STATE/linkem-$k.pid" 2>/dev/null || echo 0)"
    rules="$(nsx "${WNS[$p]}" iptables-nft -S MPF_LINK 2>/dev/null || true)"
    q="$(nsx "${WNS[$p]}" tc qdisc show dev "${EGRESS[$k]}" root 2>/dev/null || true)"
    if kill -0 "$pid" 2>/dev/null && grep -q "NFQUEUE --queue-num ${QUEUE[$k]}" <<<"$rules" &&
       grep -Eq "tbf .*rate ${RATE[$p]}Mbit burst (29[0-9][0-9]|3000)b lat 50ms" <<<"$q"; then
        ok "$p $d: linkem (pid $pid) on NFQUEUE ${QUEUE[$k]} in ${WNS[$p]}, tbf ${RATE[$p]}Mbit burst 3000 on ${EGRESS[$k]}"
    else
        nok "$p $d: linkem pid '$pid' alive? rules: $(tr '\n' ';' <<<"$rules") qdisc: $q"
    fi
done
if "${TB[@]}" kernel-mode on --via 5g >"$TMP/km.log" 2>&1; then
    ok "kernel forwarding in mpf-gw / mpf-srv (kernel-mode on --via 5g)"
else
    nok "kernel-mode on --via 5g"; sed 's/^/#   /' "$TMP/km.log"; exit 1
fi
nsx "$HOSTB" iperf3 -s -p 5201 >"$TMP/iperf-server.log" 2>&1 &
BG_PIDS+=("$!")
for _i in $(seq 50); do
    [ -n "$(nsx "$HOSTB" ss -Hltn 'sport = :5201' 2>/dev/null)" ] && break
    sleep 0.1
done

# ------------------------------------------------------------------ 2. per path
for p in 5g wifi; do
    "${TB[@]}" kernel-mode via "$p" >/dev/null
    rate="${RATE[$p]}"; rtt0=$(( 2 * ${OWD[$p]} )); j="${JIT[$p]}"
    # (21 pings: the first may wait for ARP along the way after a route change)
    nsx "$HOSTA" ping -U -n -c 21 -i 0.05 -W 2 "$HOSTB_IP" >"$TMP/idle-$p.txt" 2>&1 || true
    read -r mn avg mx cnt < <(rtts "$TMP/idle-$p.txt" 1)
    # Jitter is +-J per direction, so the RTT stays above 2 x (delay - J); the veths, VXLAN
    # and a busy machine add a little.
    if [ "$cnt" = 20 ] && fcmp "$mn >= $rtt0 - 2 * $j - 0.5 && $avg <= $rtt0 + 2 * $j + 6"; then
        ok "$p: idle RTT (ping -U) min/avg/max $mn/$avg/$mx ms, 2 x one-way delay = $rtt0 ms"
    else
        nok "$p: idle RTT min/avg/max $mn/$avg/$mx ms over $cnt/20 replies, expected ~$rtt0 ms"
    fi
    for d in up down; do
        R=(); [ "$d" = up ] || R=(-R)
        t0="$(linkem_ticks "$p")"; ms0="$(now_ms)"
        nsx "$HOSTA" ping -U -n -i 0.1 -w "$((SECS + 1))" "$HOSTB_IP" >"$TMP/load-$p-$d.txt" 2>&1 &
        pp=$!
        nsx "$HOSTA" timeout $((SECS + 15)) iperf3 -c "$HOSTB_IP" -p 5201 -C cubic -t "$SECS" "${R[@]}" -J \
            >"$TMP/tcp-$p-$d.json" 2>&1 || true
        wait "$pp" || true
        t1="$(linkem_ticks "$p")"; el=$(( $(now_ms) - ms0 ))
        got="$("$MPF_PYTHON" -c "$PY_TCP" "$TMP/tcp-$p-$d.json" 2>/dev/null || echo 0)"
        # Goodput tops out near 92% of the rate (the tbf counts Ethernet + VXLAN headers).
        if fcmp "$got >= 0.75 * $rate && $got <= 1.02 * $rate"; then
            ok "$p $d: TCP (cubic, ${SECS}s) $got Mbit/s, path rate $rate Mbit/s"
        else
            nok "$p $d: TCP $got Mbit/s, expected 75-100% of $rate Mbit/s ($(grep -m1 -o '"error":.*' "$TMP/tcp-$p-$d.json" || true))"
        fi
        # The RTT under load: up by the wire's tbf queue (up to 50 ms), not by more.
        read -r lmn lavg lmx lcnt < <(rtts "$TMP/load-$p-$d.txt" 10)
        if [ "$lcnt" -gt 0 ] && fcmp "$lavg >= $avg + 8 && $lmx <= $rtt0 + 2 * $j + 50 + 25"; then
            ok "$p $d: RTT under load min/avg/max $lmn/$lavg/$lmx ms (idle avg $avg): the queue is the wire's 50 ms tbf"
        else
            nok "$p $d: RTT under load min/avg/max $lmn/$lavg/$lmx ms over $lcnt replies (idle avg $avg, expected up to ~$((rtt0 + 50)))"
        fi
        read -r cu cd <<<"$t0"; read -r nu nd <<<"$t1"
        cpu_up=$(awk -v a="$cu" -v b="$nu" -v el="$el" 'BEGIN { printf "%.1f", (b - a) * 1000 / el }')
        cpu_dn=$(awk -v a="$cd" -v b="$nd" -v el="$el" 'BEGIN { printf "%.1f", (b - a) * 1000 / el }')
        # (ticks are 1/100 s: ticks * 1000 / ms = percent of one CPU). Their system time
        # includes the forwarding the verdicts resume (tbf, veths, the hosts behind).
        if fcmp "$cpu_up < 40 && $cpu_dn < 40"; then
            ok "$p $d: linkem CPU during the transfer: up $cpu_up%, down $cpu_dn% of one CPU"
        else
            nok "$p $d: linkem CPU up $cpu_up%, down $cpu_dn% of one CPU (spinning?)"
        fi
    done
    nsx "$HOSTA" timeout 20 iperf3 -c "$HOSTB_IP" -p 5201 -u -b 5M -l 1000 -t 2 -J >"$TMP/udp-$p.json" 2>&1 || true
    read -r lost total < <("$MPF_PYTHON" -c "$PY_UDP" "$TMP/udp-$p.json" 2>/dev/null || echo "? 0")
    if [ "${total:-0}" -gt 1000 ] && [ "$lost" = 0 ]; then
        ok "$p: UDP 5 Mbit/s up, 2 s: no loss ($total datagrams)"
    else
        nok "$p: UDP 5 Mbit/s up, 2 s: lost $lost of $total"
    fi
done

# ------------------------------------------------------------------ 3. loss (profile lossy)
if "${TB[@]}" profile lossy >"$TMP/lossy.log" 2>&1; then
    "${TB[@]}" kernel-mode via wifi >/dev/null
    out="$(nsx "$HOSTA" ping -U -n -q -c 400 -i 0.01 -W 1 "$HOSTB_IP" 2>&1 || true)"
    pct="$(grep -o '[0-9.]*% packet loss' <<<"$out" | grep -o '^[0-9.]*' || echo 100)"
    # 1% each way: ~2% round trip; 400 pings (fixed seeds: the same packets every run).
    if fcmp "$pct >= 0.5 && $pct <= 5"; then
        ok "lossy profile, WiFi: $pct% of 400 pings lost round trip (1% each way)"
    else
        nok "lossy profile, WiFi: $pct% of 400 pings lost, expected ~2%"
    fi
    "${TB[@]}" profile std >/dev/null 2>&1 || nok "back to profile std"
else
    nok "profile lossy"; sed 's/^/#   /' "$TMP/lossy.log"
fi

# ------------------------------------------------------------------ 4. blackhole
"${TB[@]}" kernel-mode via 5g >/dev/null
"${TB[@]}" path down 5g >/dev/null
st="$("${TB[@]}" path status 2>&1 || true)"
out="$(nsx "$HOSTA" ping -U -n -c 5 -i 0.1 -W 1 "$HOSTB_IP" 2>&1 || true)"
if grep -q '^5g: down' <<<"$st" && grep -q '^wifi: up' <<<"$st" && grep -q ' 100% packet loss' <<<"$out"; then
    ok "path down 5g: blackholed (path status: $(tr '\n' ' ' <<<"$st")), 5/5 pings lost"
else
    nok "path down 5g: status '$(tr '\n' ' ' <<<"$st")', ping: $(grep 'packet loss' <<<"$out" || true)"
fi
"${TB[@]}" kernel-mode via wifi >/dev/null
out="$(nsx "$HOSTA" ping -U -n -c 3 -i 0.1 -W 1 "$HOSTB_IP" 2>&1 || true)"
if grep -q ' 0% packet loss' <<<"$out"; then ok "with 5G down, WiFi still carries traffic"
else nok "with 5G down, WiFi: $(grep 'packet loss' <<<"$out" || true)"; fi
"${TB[@]}" path up 5g >/dev/null
"${TB[@]}" kernel-mode via 5g >/dev/null
st="$("${TB[@]}" path status 2>&1 || true)"
out="$(nsx "$HOSTA" ping -U -n -c 3 -i 0.1 -W 1 "$HOSTB_IP" 2>&1 || true)"
if grep -q '^5g: up' <<<"$st" && grep -q ' 0% packet loss' <<<"$out"; then
    ok "path up 5g: restored, 3/3 pings answered"
else
    nok "path up 5g: status '$(tr '\n' ' ' <<<"$st")', ping: $(grep 'packet loss' <<<"$out" || true)"
fi

# ------------------------------------------------------------------ 5. status, down
"${TB[@]}" status >"$TMP/status.txt" 2>&1 || true
if grep -q 'profile: std' "$TMP/status.txt" && [ "$(grep -c ' seen [1-9]' "$TMP/status.txt")" -ge 4 ] &&
   ! grep -q 'NOT RUNNING' "$TMP/status.txt"; then
    ok "status: profile std, four linkem with counters (SIGUSR1)"
else
    nok "status does not show profile std and four linkem with counters"
    sed -n '/path emulation/,$p' "$TMP/status.txt" | sed 's/^/#   /'
fi
if grep -q ' overruns [1-9]' "$TMP/status.txt"; then
    nok "linkem queue overruns: $(grep -o 'q[0-9]*:.*overruns [1-9][0-9]*' "$TMP/status.txt" | tr '\n' ' ')"
else
    ok "no linkem queue overruns"
fi
pids=""
for f in "$TB_STATE"/linkem-*.pid; do [ -e "$f" ] && pids="$pids $(cat "$f")"; done
kill "${BG_PIDS[@]}" 2>/dev/null || true
if [ "${MPF_E2E_KEEP:-0}" = 1 ] && [ "${#FAILS[@]}" -gt 0 ]; then
    :
else
    "${TB[@]}" down >/dev/null 2>&1 || true
    left=""
    for n in $(ip netns list | awk '{print $1}'); do
        for o in "${OUR_NS[@]}"; do [ "$n" = "$o" ] && left="$left $n"; done
    done
    alive=""
    for p in $pids; do if kill -0 "$p" 2>/dev/null; then alive="$alive $p"; fi; done
    if [ -z "$left" ] && [ -z "$alive" ] && [ -n "$pids" ]; then
        ok "test bed down: no linkem (was$pids), no test bed namespaces left"
    else
        nok "test bed down left: namespaces:${left:- none}, linkem:${alive:- none}"
    fi
    if grep -q ': exit: seen' "$TB_STATE"/linkem-5g-up.log 2>/dev/null; then
        ok "linkem printed its counters at SIGTERM ($(grep ': exit:' "$TB_STATE/linkem-5g-up.log" | tail -1))"
    else
        nok "no exit counters in $TB_STATE/linkem-5g-up.log"
    fi
fi

echo "# $PASS passed, ${#FAILS[@]} failed, $(fmt_secs "$(( $(now_ms) - T0 ))")s"
for f in "${FAILS[@]}"; do echo "#   failed: $f"; done
if [ "${#FAILS[@]}" = 0 ]; then exit 0; else exit 1; fi
