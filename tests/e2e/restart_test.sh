#!/usr/bin/env bash
# End-to-end test of appliance restarts: one appliance killed and started again while the other
# runs on (a crash, a power cut, an upgrade), in the netns test bed (tools/testbed up --paths 2
# --profile std; configs/examples/{gateway,server}-2paths.conf). Each start is a new session:
# a new key (docs/protocol.md 6), which the other appliance must adopt from the first probe or
# probe reply, with nothing configured or restarted on its side.
#
# Checks, in order:
#   1. both appliances up, both paths up on the gateway, 10/10 pings Host A -> Host B
#   2. gateway SIGKILLed and started again (tools/testbed restart-appliance gw): the server
#      logs the gateway's new session; the new gateway adopts the server's; both paths up on
#      it; pings right after it is ready: >= 18/20; a new TCP download Host B -> Host A
#      (iperf3 -R, 2 s) > 5 Mbit/s
#   3. the same with the server SIGKILLed and started again under the running gateway
#   4. the server stopped cleanly (SIGTERM: exit status 0) and started again: the same
#   5. through all of it no frame failed its tag and no older session was announced
#      (tunnel_bad_tag, tunnel_stale_session: 0 on both, from their exit printouts); the
#      appliances exit 0
# Thresholds are generous (2 shared, noisy CPUs): they catch a restart the peer does not get
# over, not a few lost pings.
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
GW_ID=7

need_root
if [ ! -x "$BIN" ]; then echo "# SKIP: not built: $BIN"; exit 77; fi
for t in ping iperf3; do
    if ! have "$t"; then echo "# SKIP: $t not installed (tools/mpf setup)"; exit 77; fi
done

e2e_init restart "$@"
e2e_on_cleanup stop_iperf

# ------------------------------------------------------------------ helpers
IPERF_PID=""
stop_iperf() { [ -z "$IPERF_PID" ] || kill "$IPERF_PID" 2>/dev/null || true; }
# count_in_log, wait_count: tools/lib/e2e.sh.
# Waits up to timeout_s for a line matching the regex in the appliance's current log.
wait_log() { # gw|srv regex timeout_s
    local _i
    for _i in $(seq $(( $3 * 20 ))); do
        grep -qE "$2" "$STATE/$1.log" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}
pings() { # count: how many of count pings (0.1 s apart, 1 s timeout each) got a reply
    { nsx "$HOSTA" ping -n -c "$1" -i 0.1 -W 1 "$HOSTB_IP" 2>/dev/null || true; } |
        awk '/packets transmitted/ { print $4 + 0; found = 1 } END { if (!found) print 0 }'
}
download_mbit() { # a 2 s TCP download Host B -> Host A through the appliances, Mbit/s
    { nsx "$HOSTA" timeout -k 2 15 iperf3 -c "$HOSTB_IP" -p 5201 -R -t 2 --json 2>/dev/null || true; } |
        "$MPF_PYTHON" -c 'import json, sys
try:
    print("%.1f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception:
    print("0")'
}
# After `name` restarted: the peer adopted its session, it adopted the peer's, paths up,
# pings and a TCP download cross.
after_restart() { # step gw|srv how sessions_before
    local step="$1" who="$2" how="$3" before="$4" peer t0 got mbit n up5 upw
    if [ "$who" = gw ]; then peer=srv; else peer=gw; fi
    # The gateway's "path X up" lines so far (a restarted gateway starts a new log).
    up5=0; upw=0
    if [ "$who" = srv ]; then
        up5="$(count_in_log gw "path 5g up")"; upw="$(count_in_log gw "path wifi up")"
    fi
    t0="$(now_ms)"
    if "${TB[@]}" restart-appliance "$who" ${how:+"$how"} >"$TMP/restart-$step.log" 2>&1; then
        ok "$step. $who restarted (${how:-SIGKILL}) in $(( $(now_ms) - t0 )) ms while the $peer ran on: $(grep -o 'stopped ([^)]*)' "$TMP/restart-$step.log" | head -1)"
    else
        nok "$step. $who did not start again: $(tail -5 "$TMP/restart-$step.log" | tr '\n' ' ')"
        return
    fi
    got="$(pings 20)"
    if [ "$got" -ge 18 ]; then ok "$step. pings right after the restart: $got/20"
    else nok "$step. pings right after the restart: $got/20, need >= 18"; fi
    if [ "$peer" = srv ]; then
        n="$(count_in_log srv "gateway $GW_ID: new session")"
        wait_log gw "server of tunnel $GW_ID: new session" 3 && got=1 || got=0
    else
        n="$(count_in_log gw "server of tunnel $GW_ID: new session")"
        wait_log srv "gateway $GW_ID: new session" 3 && got=1 || got=0
    fi
    if [ "$n" -gt "$before" ] && [ "$got" = 1 ]; then
        ok "$step. the $peer adopted the restarted $who's new session (its log: $n 'new session' lines, $before before), and the $who the $peer's"
    else
        nok "$step. sessions: the $peer logged $n 'new session' lines ($before before), the $who adopted the $peer's: $got"
    fi
    if wait_count gw "path 5g up" "$up5" 5 && wait_count gw "path wifi up" "$upw" 5; then
        ok "$step. both paths up on the gateway again (a new 'path 5g up' and 'path wifi up' in its log)"
    else
        nok "$step. paths on the gateway: $(grep -E 'path (5g|wifi) (up|down)' "$STATE/gw.log" | tail -4 | tr '\n' ' ')"
    fi
    mbit="$(download_mbit)"
    if fcmp "$mbit > 5"; then ok "$step. a new TCP download through both appliances: $mbit Mbit/s"
    else nok "$step. a new TCP download: $mbit Mbit/s, need > 5"; fi
}

# ------------------------------------------------------------------ 1. up
echo "# mpf e2e: appliance restarts, 2 paths, profile std ($BIN)"
if "${TB[@]}" up --paths 2 --profile std >"$TMP/up.log" 2>&1 &&
   "${TB[@]}" start-appliances >"$TMP/start.log" 2>&1; then
    ok "1. test bed up (2 paths, std), appliances running"
else
    nok "1. test bed or appliances did not come up: $(tail -5 "$TMP/up.log" "$TMP/start.log" | tr '\n' ' ')"
    e2e_finish restart_test
fi
bgns "$TMP/iperf-s.log" "$HOSTB" iperf3 -s -p 5201
IPERF_PID=$LAST_BG
if wait_log gw "path 5g up" 5 && wait_log gw "path wifi up" 5; then ok "1. both paths up on the gateway"
else nok "1. paths not up on the gateway: $(grep -E 'path' "$STATE/gw.log" | tail -4 | tr '\n' ' ')"; fi
got="$(pings 10)"
if [ "$got" = 10 ]; then ok "1. pings Host A -> Host B: 10/10"; else nok "1. pings: $got/10"; fi

# ------------------------------------------------------------------ 2-4. restarts
after_restart 2 gw "" "$(count_in_log srv "gateway $GW_ID: new session")"
after_restart 3 srv "" "$(count_in_log gw "server of tunnel $GW_ID: new session")"
after_restart 4 srv --term "$(count_in_log gw "server of tunnel $GW_ID: new session")"
if grep -q "stopped (SIGTERM, status 0)" "$TMP/restart-4.log"; then ok "4. the server's clean stop exited 0"
else nok "4. the server's clean stop: $(grep -o 'stopped ([^)]*)' "$TMP/restart-4.log")"; fi

# ------------------------------------------------------------------ 5. nothing forged, nothing stale
stop_iperf
if "${TB[@]}" stop-appliances >"$TMP/stop.log" 2>&1; then ok "5. appliances exit 0"
else nok "5. appliances: $(grep -E 'exited with status' "$TMP/stop.log" | tr '\n' ' ')"; fi
bad=""
for f in "$STATE"/gw.log* "$STATE"/srv.log*; do
    [ -e "$f" ] || continue
    # Drop reasons print only when not 0 ("drops:" section of the exit printout).
    if grep -qE '^ *(tunnel_bad_tag|tunnel_stale_session) ' "$f"; then
        bad="$bad $(basename "$f"): $(grep -E '^ *(tunnel_bad_tag|tunnel_stale_session) ' "$f" | tr -s ' ' | tr '\n' ';')"
    fi
done
if [ -z "$bad" ]; then ok "5. no tunnel_bad_tag, no tunnel_stale_session in any run of either appliance"
else nok "5. drops:$bad"; fi
note "unknown-session drops (frames of a peer's new session before its announcement): $(grep -hE '^ *tunnel_unknown_session ' "$STATE"/gw.log* "$STATE"/srv.log* 2>/dev/null | tr -s ' ' | tr '\n' ';')"
e2e_finish restart_test
