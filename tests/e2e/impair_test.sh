#!/usr/bin/env bash
# End-to-end test of the in-dataplane path impairment (docs/multipath.md, "Impairment"): the
# links a lab without wire namespaces emulates with `mpfctl path set NAME impair ...`, and
# failure injection. The test bed runs profile none (no emulation in the wire namespaces), so
# everything that makes the paths slow, late or lossy here is the gateway's impairment stage,
# applied both ways (what it sends and what it receives on the path); the appliances run
# configs/examples/{gateway,server}-2paths.conf (max_rate 50M / 30M, rate control on).
#
# Checks, in order:
#   1. test bed up, controld on both appliances, both paths up
#   2. `std` emulated on the gateway (5g rate=50M,delay=15ms; wifi rate=30M,delay=4ms): the
#      paths answer carry the impairment both ways; the gateway's RTTs follow it (5g 30..50 ms,
#      wifi 8..25 ms, from under 5 ms before); mpfctl paths says so
#   3. one TCP download (iperf3 -R, 5 s) over the emulated links, 2 s after the delays were
#      switched on, gets more than the emulated 5G alone could carry (> 40 Mbit/s) and no more
#      than both (< 90). The far end still reads the new delays as queueing then: rate control
#      must not take them for a queue of ours (before it did: 29-38 Mbit/s)
#   4. wifi also loses 1% each way: the download still gets > 40 Mbit/s; the gateway counted
#      impaired_loss drops, saw wifi path_seq gaps (lost) and the server resent (retransmits)
#   5. wifi's emulated rate drops to 10M while the server shapes it at 30M: rate control finds
#      the bottleneck (the server's wifi rate during a download 4..16 Mbit/s)
#   6. failure injection during a download: 5g loss=100% (the path cut both ways): the gateway
#      logs "path 5g down", the download keeps going (no second without data), then the cut
#      is lifted: "path 5g up" again and 5g carries data again (server tx on 5g grows)
#   7. impair off on both paths: no impairment in paths, 5g RTT back under 10 ms
#   8. bad input: mpfctl usage errors exit 2 (impair loss=lots, impair colour=red), a range
#      the daemon refuses exits 1 (loss=150%), and nothing changed
#   9. the configuration: the gateway restarted with `impairment = { delay_ms = 10; }` on wifi
#      logs it at start, paths shows it, and wifi's RTT is 20..40 ms from the first probes
# Thresholds are generous (2 shared, noisy CPUs).
# Environment: MPF_BUILD_DIR (default build), MPF_DATAPLANE, MPF_E2E_KEEP=1 (leave the test bed
# up after a failure; `tools/testbed down` removes it).
set -euo pipefail

HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
# shellcheck source=tools/lib/common.sh
. "$HERE/../../tools/lib/common.sh"
# shellcheck source=tools/lib/e2e.sh
. "$MPF_ROOT/tools/lib/e2e.sh"

e2e_example_appliances
STATE="${MPF_TESTBED_STATE:-/tmp/mpf-testbed}"
HOSTA=mpf-hosta; HOSTB=mpf-hostb; HOSTB_IP=198.51.100.2

need_root
for b in "$BIN" "$CTLD" "$CTL"; do
    if [ ! -x "$b" ]; then echo "# SKIP: not built: $b"; exit 77; fi
done
for t in ping iperf3; do
    if ! have "$t"; then echo "# SKIP: $t not installed (tools/mpf setup)"; exit 77; fi
done

e2e_init impair "$@"
GW_SOCK="$TMP/gw.sock"; SRV_SOCK="$TMP/srv.sock"

# ------------------------------------------------------------------ helpers
# start_ctld, ctl, jget, path_field, count_in_log, wait_count: tools/lib/e2e.sh.
e2e_controld
IPERF_PID=""
stop_iperf() { [ -z "$IPERF_PID" ] || kill "$IPERF_PID" 2>/dev/null || true; }
e2e_on_cleanup stop_iperf
drop_count() { # gw|srv reason
    ctl "$1" drops | jget "[r['count'] for r in d['reasons'] if r['name'] == '$2'][0]" 2>/dev/null || echo -1
}
rtt_ms() { awk -v u="$(path_field gw "$1" srtt_us)" 'BEGIN { printf "%.1f", u / 1000 }'; }
impair() { # path spec: on the gateway, both ways
    ctl gw path set "$1" impair "$2" >"$TMP/set.json" 2>"$TMP/set.err" ||
        { nok "path set $1 impair $2 failed: $(cat "$TMP/set.err")"; return 1; }
}
# A TCP download Host B -> Host A for secs seconds (iperf3 -R), JSON into file.
download() { # secs file
    nsx "$HOSTA" timeout -k 2 $(( $1 + 15 )) iperf3 -c "$HOSTB_IP" -p 5201 -R -t "$1" --json >"$2" 2>/dev/null 9>&- || true
}
iperf_mbit() {
    "$MPF_PYTHON" -c 'import json, sys
try:
    print("%.1f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception:
    print("0")' "$1"
}

# ------------------------------------------------------------------ 1. up
echo "# mpf e2e: path impairment in the dataplane, 2 paths, profile none ($BIN)"
if ! "${TB[@]}" up --paths 2 --profile none >"$TMP/up.log" 2>&1 ||
   ! "${TB[@]}" start-appliances >"$TMP/start.log" 2>&1; then
    nok "1. test bed or appliances did not come up: $(tail -5 "$TMP/up.log" "$TMP/start.log" | tr '\n' ' ')"
    e2e_finish impair_test
fi
if ! start_ctld gw || ! start_ctld srv; then
    nok "1. mpf-controld did not create its socket"; sed 's/^/#   /' "$TMP"/controld-*.log
    e2e_finish impair_test
fi
bgns "$TMP/iperf-s.log" "$HOSTB" iperf3 -s -p 5201
IPERF_PID=$LAST_BG
deadline=$(( $(now_ms) + 10000 ))
until [ "$(ctl gw paths 2>/dev/null | jget "sum(p['state'] == 'up' for p in d['paths'])" 2>/dev/null)" = 2 ] ||
      [ "$(now_ms)" -gt "$deadline" ]; do sleep 0.2; done
r5="$(rtt_ms 5g)"; rw="$(rtt_ms wifi)"
if [ "$(path_field gw 5g state)" = up ] && [ "$(path_field gw wifi state)" = up ]; then
    ok "1. test bed up (profile none), controld attached, both paths up (RTT 5g $r5 ms, wifi $rw ms)"
else
    nok "1. paths not up on the gateway: 5g $(path_field gw 5g state), wifi $(path_field gw wifi state)"
    e2e_finish impair_test
fi

# ------------------------------------------------------------------ 2. std emulated
impair 5g rate=50M,delay=15ms && impair wifi rate=30M,delay=4ms
seen="$(ctl gw paths | jget "' '.join('%s:%s/%s/%s' % (p['name'], p['impairment']['tx']['delay_ms'], p['impairment']['rx']['delay_ms'], p['impairment']['rx']['rate_bps']) for p in d['paths'])" 2>/dev/null || echo '?')"
sleep 2
r5b="$(rtt_ms 5g)"; rwb="$(rtt_ms wifi)"
txt="$("$CTL" --socket "$GW_SOCK" paths 2>&1 | grep impaired | tr '\n' ' ')"
if [ "$seen" = "5g:15.0/15.0/50000000 wifi:4.0/4.0/30000000" ] && fcmp "$r5b >= 30 && $r5b <= 50 && $rwb >= 8 && $rwb <= 25" &&
    grep -q "path 5g impaired: delay 15.0 ms rate 50.0 Mbit/s queue 50.0 ms (both ways)" <<<"$txt"; then
    ok "2. std emulated: paths report '$seen'; RTT 5g $r5 -> $r5b ms, wifi $rw -> $rwb ms; mpfctl paths: $txt"
else
    nok "2. std emulated: paths report '$seen' (want 5g:15.0/15.0/50000000 wifi:4.0/4.0/30000000), RTT 5g $r5b (30..50), wifi $rwb (8..25); mpfctl paths: $txt"
fi

# ------------------------------------------------------------------ 3. one flow over both
# The far end still measures the delay just added as queueing (its minimum covers 10 s):
# rate control must take it for the path's base delay, as the path was idle when it grew,
# and not hold this transfer down (path/rate_control.hpp).
download 5 "$TMP/d3.json"
mbit="$(iperf_mbit "$TMP/d3.json")"
if fcmp "$mbit > 40 && $mbit < 90"; then
    ok "3. one TCP download over the emulated links: $mbit Mbit/s (per second: $(iperf_secs "$TMP/d3.json"))"
else
    nok "3. one TCP download: $mbit Mbit/s (per second: $(iperf_secs "$TMP/d3.json")), want 40..90"
fi

# ------------------------------------------------------------------ 4. loss, recovered
l0="$(path_field gw wifi lost)"; x0="$(path_field srv wifi retransmits)"; d0="$(drop_count gw impaired_loss)"
impair wifi rate=30M,delay=4ms,loss=1%
download 5 "$TMP/d4.json"
mbit="$(iperf_mbit "$TMP/d4.json")"
l1="$(path_field gw wifi lost)"; x1="$(path_field srv wifi retransmits)"; d1="$(drop_count gw impaired_loss)"
dl=$(( l1 - l0 )); dx=$(( x1 - x0 )); dd=$(( d1 - d0 ))
if fcmp "$mbit > 40" && [ "$dl" -gt 0 ] && [ "$dd" -gt 0 ] && [ "$dx" -gt 0 ]; then
    ok "4. wifi loses 1% each way: download $mbit Mbit/s; gateway impaired_loss +$dd, wifi lost +$dl; server retransmits +$dx"
else
    nok "4. wifi loses 1%: download $mbit Mbit/s (want > 40), impaired_loss +$dd, lost +$dl, server retransmits +$dx (each want > 0)"
fi

# ------------------------------------------------------------------ 5. a slower bottleneck
impair wifi rate=10M,delay=4ms
download 6 "$TMP/d5.json" &
dpid=$!
sleep 5
rw="$(awk -v b="$(path_field srv wifi rate_bps)" 'BEGIN { printf "%.1f", b / 1e6 }')"
wait "$dpid" || true
mbit="$(iperf_mbit "$TMP/d5.json")"
if fcmp "$rw >= 4 && $rw <= 16"; then
    ok "5. wifi emulated at 10M under a 30M max_rate: the server's rate control holds wifi at $rw Mbit/s (download $mbit Mbit/s)"
else
    nok "5. wifi emulated at 10M: the server's wifi rate $rw Mbit/s, want 4..16 (download $mbit Mbit/s)"
fi
impair wifi rate=30M,delay=4ms

# ------------------------------------------------------------------ 6. failure injection
down0="$(count_in_log gw "path 5g down")"; up0="$(count_in_log gw "path 5g up")"
download 8 "$TMP/d6.json" &
dpid=$!
sleep 2
impair 5g loss=100%
wait_count gw "path 5g down" "$down0" 2 && wentdown=1 || wentdown=0
sleep 2
tx0="$(path_field srv 5g tx_bytes)"
impair 5g rate=50M,delay=15ms
wait_count gw "path 5g up" "$up0" 3 && cameback=1 || cameback=0
sleep 1.5
tx1="$(path_field srv 5g tx_bytes)"
wait "$dpid" || true
mbit="$(iperf_mbit "$TMP/d6.json")"
secs="$(iperf_secs "$TMP/d6.json")"
moved=$(( tx1 - tx0 ))
if [ "$wentdown" = 1 ] && [ "$cameback" = 1 ] && fcmp "$mbit > 15" && [ "$secs" != "?" ] &&
    ! grep -qw 0 <<<"$secs" && [ "$moved" -gt 1000000 ]; then
    ok "6. 5g cut mid-download: 'path 5g down' logged, the download went on ($mbit Mbit/s; per second: $secs), cut lifted: 'path 5g up', server sent $moved bytes on 5g after it"
else
    nok "6. 5g cut mid-download: down logged $wentdown, up logged $cameback, download $mbit Mbit/s (per second: $secs; want > 15 and no zero second), server 5g tx after +$moved bytes (want > 1 MB)"
fi

# ------------------------------------------------------------------ 7. off
impair 5g off && impair wifi off
sleep 2
left="$(ctl gw paths | jget "sum(p['impairment']['tx'] is not None or p['impairment']['rx'] is not None for p in d['paths'])" 2>/dev/null || echo '?')"
r5c="$(rtt_ms 5g)"
if [ "$left" = 0 ] && fcmp "$r5c < 10"; then
    ok "7. impair off on both paths: none left in paths, 5g RTT back to $r5c ms"
else
    nok "7. impair off: $left paths still impaired, 5g RTT $r5c ms (want < 10)"
fi

# ------------------------------------------------------------------ 8. bad input
rc1=0; "$CTL" --socket "$GW_SOCK" path set wifi impair loss=lots >/dev/null 2>"$TMP/e1" || rc1=$?
rc2=0; "$CTL" --socket "$GW_SOCK" path set wifi impair colour=red >/dev/null 2>"$TMP/e2" || rc2=$?
rc3=0; "$CTL" --socket "$GW_SOCK" path set wifi impair loss=150% >/dev/null 2>"$TMP/e3" || rc3=$?
left="$(ctl gw paths | jget "sum(p['impairment']['tx'] is not None for p in d['paths'])" 2>/dev/null || echo '?')"
if [ "$rc1" = 2 ] && [ "$rc2" = 2 ] && [ "$rc3" = 1 ] && [ "$left" = 0 ]; then
    ok "8. bad impairments refused: usage exit 2 ($(head -c 80 "$TMP/e1")), daemon exit 1 ($(head -c 100 "$TMP/e3")), nothing impaired"
else
    nok "8. bad impairments: exits $rc1/$rc2/$rc3 (want 2/2/1), $left paths impaired (want 0)"
fi

# ------------------------------------------------------------------ 9. from the configuration
gconf="$STATE/gateway.conf"  # the test bed's copy, read again by restart-appliance
sed -i 's|max_rate = "30M"; weight = 3; }|max_rate = "30M"; weight = 3; impairment = { delay_ms = 10; }; }|' "$gconf"
if grep -q 'impairment = { delay_ms = 10; }' "$gconf" &&
    "${TB[@]}" restart-appliance gw >"$TMP/restart.log" 2>&1; then
    deadline=$(( $(now_ms) + 10000 ))
    until [ "$(path_field gw wifi state)" = up ] || [ "$(now_ms)" -gt "$deadline" ]; do sleep 0.2; done
    sleep 0.5
    rwc="$(rtt_ms wifi)"
    conf="$(ctl gw paths | jget "[p['impairment']['rx']['delay_ms'] for p in d['paths'] if p['name'] == 'wifi'][0]" 2>/dev/null || echo '?')"
    logged="$(grep -c "path wifi impaired by configuration (both ways): delay 10000 us" "$STATE/gw.log" || true)"
    if [ "$conf" = 10.0 ] && [ "$logged" = 1 ] && fcmp "$rwc >= 20 && $rwc <= 40"; then
        ok "9. impairment in the configuration: logged at start, paths rx delay $conf ms, wifi RTT $rwc ms from the first probes"
    else
        nok "9. impairment in the configuration: paths rx delay '$conf' (want 10.0), start log lines $logged (want 1), wifi RTT $rwc ms (want 20..40)"
    fi
else
    nok "9. could not restart the gateway with an impaired wifi: $(tail -3 "$TMP/restart.log" | tr '\n' ' ')"
fi

e2e_finish impair_test
