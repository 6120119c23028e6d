#!/usr/bin/env bash
# End-to-end test of the control plane: mpf-controld and mpfctl against the real dataplanes of
# the netns test bed (tools/testbed up --paths 2 --profile none; configs/examples/
# {gateway,server}-2paths.conf), one controld per appliance started by this test.
#
# Checks, in order:
#   1. controld attaches (status: attached, the dataplane's pid), its socket is mode 0660;
#      mpfctl's exit statuses: 2 usage, 3 no daemon, 1 an error from the daemon
#   2. counters match the traffic (and `stats --watch` redraws with rates meanwhile): 1000 UDP
#      datagrams Host A -> Host B move the gateway's
#      nat_in2out and encapsulated and the server's decapsulated and nat_in2out by 1000 (a
#      few stray packets allowed), and `flows --port` shows the session with packets_out 1000
#   3. `path set 5g down`: the next 1000 datagrams all go on wifi (5g carries probes only),
#      then `path set wifi down` + 5g auto: all on 5g; `paths` reports the admin state;
#      `path set 5g max-rate auto`: discovered from 8 Mbit/s, `paths` shows "(auto)"
#   4. controld killed (SIGKILL) while a UDP stream flows and an mpfctl client loops on
#      `flows`: every datagram arrives; a new controld serves the same counters, grown by
#      exactly what was sent meanwhile
#   5. 500 malformed requests over 4 clients (control_fuzz.py), while a fifth holds half a
#      line: every one answered with a JSON error, a 70 KiB line refused (too_large), daemon
#      alive and serving
#   6. Prometheus: the --metrics scrape passes `promtool check metrics` and Python's
#      prometheus_client parser; mpf_dataplane_up 1, mpf_path_up{path="5g"} 1
#   7. capture: `mpfctl capture lan --count 10` during a ping and `capture 5g --count 10`
#      give pcapng files that tshark reads with 10 packets each (ICMP in the LAN one); nothing
#      left in the capture directory; a request naming a file that exists there is refused
#   8. dataplane restarted: controld says not attached while it is gone (mpfctl stats exit 1)
#      and re-attaches to the new one (new pid) within 10 s; counters start again
#   9. when 450 free 2 MiB hugepages exist, the restarted dataplanes run on them and the stock
#      dpdk-dumpcap -f icmp captures 10 ICMP packets from the gateway's LAN port (rte_pdump, BPF)
# Prints "ok - <what>" / "not ok - <what>" per check and a summary; exit 0 when all pass, 1 when
# any fails, 77 (skip) when a binary or tool is missing.
# Environment: MPF_BUILD_DIR (default build), MPF_DATAPLANE, MPF_E2E_KEEP=1 (leave the test bed
# up after a failure; `tools/testbed down` removes it).
set -euo pipefail

HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
# shellcheck source=tools/lib/common.sh
. "$HERE/../../tools/lib/common.sh"
# shellcheck source=tools/lib/e2e.sh
. "$MPF_ROOT/tools/lib/e2e.sh"

e2e_example_appliances
HOSTA=mpf-hosta; HOSTB=mpf-hostb; HOSTB_IP=198.51.100.2
N=1000

need_root
for b in "$BIN" "$CTLD" "$CTL"; do
    if [ ! -x "$b" ]; then echo "# SKIP: not built: $b"; exit 77; fi
done
for t in ping curl tshark capinfos promtool; do
    if ! have "$t"; then echo "# SKIP: $t not installed (tools/mpf setup)"; exit 77; fi
done

e2e_init ctl "$@"
GW_SOCK="$TMP/gw.sock"; SRV_SOCK="$TMP/srv.sock"
MPORT=19580

# ------------------------------------------------------------------ helpers
# start_ctld, ctl, jget, path_field: tools/lib/e2e.sh.
e2e_controld
# -1 when the daemon did not answer (the check using it then fails, the test goes on).
counter() { ctl "$1" stats | jget "d['counters'].get('$2', 0)" || echo -1; }
wait_attached() { # gw|srv secs [not-pid]: true once status says attached (to a pid other than not-pid)
    local deadline=$(( $(now_ms) + $2 * 1000 )) st
    while [ "$(now_ms)" -lt "$deadline" ]; do
        st="$(ctl "$1" status 2>/dev/null | jget "'%s %s' % (d['attached'], d.get('pid'))" 2>/dev/null || true)"
        if [ "${st% *}" = True ] && [ "${st#* }" != "${3:-}" ]; then echo "${st#* }"; return 0; fi
        sleep 0.1
    done
    return 1
}
wait_listen() { # ns udp port
    local i
    for i in $(seq 50); do
        [ -n "$(nsx "$1" ss -Hlun "sport = :$3" 2>/dev/null)" ] && return 0
        sleep 0.1
    done
    return 1
}
# Sends N datagrams Host A -> Host B:PORT, SPACING_MS apart; sets GOT (unique received).
udp_run() { # port n spacing_ms
    local rpid
    bgns "$TMP/recv-$1.out" "$HOSTB" "$MPF_PYTHON" "$HERE/udpseq.py" recv "$1" "$2" 1.5 60
    rpid=$LAST_BG
    wait_listen "$HOSTB" udp "$1" || { GOT=0; return 1; }
    nsx "$HOSTA" "$MPF_PYTHON" "$HERE/udpseq.py" send "$HOSTB_IP" "$1" "$2" "$3" >"$TMP/send-$1.out" 9>&-
    wait "$rpid" || true
    read -r GOT _ <"$TMP/recv-$1.out" || GOT=0
}
in_range() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }


# ------------------------------------------------------------------ bring up
if ! "${TB[@]}" up --paths 2 --profile none >"$TMP/up.log" 2>&1; then
    nok "test bed up"; sed 's/^/#   /' "$TMP/up.log"; e2e_finish control_test
fi
if ! "${TB[@]}" start-appliances >"$TMP/start.log" 2>&1; then
    nok "appliances start"; sed 's/^/#   /' "$TMP/start.log"; e2e_finish control_test
fi
if start_ctld gw --metrics "127.0.0.1:$MPORT" && start_ctld srv; then
    ok "mpf-controld started for both appliances"
else
    nok "mpf-controld did not create its socket"; sed 's/^/#   /' "$TMP"/controld-*.log
    e2e_finish control_test
fi

# ------------------------------------------------------------------ 1. attach, socket, exit codes
dp_pid="$(cat "${MPF_TESTBED_STATE:-/tmp/mpf-testbed}/gw.pid")"
if got="$(wait_attached gw 10)" && [ "$got" = "$dp_pid" ]; then
    ok "1. controld attached to the gateway's dataplane (pid $got)"
else
    nok "1. controld not attached to the gateway's dataplane pid $dp_pid within 10 s (status pid: ${got:-none})"
fi
wait_attached srv 10 >/dev/null || nok "1. controld not attached to the server within 10 s"
mode="$(stat -c %a "$GW_SOCK")"
if [ "$mode" = 660 ]; then ok "1. socket mode 0660"; else nok "1. socket mode $mode, expected 660"; fi
# Paths up on the gateway (probes answered) before traffic is measured.
deadline=$(( $(now_ms) + 10000 ))
until [ "$(ctl gw paths 2>/dev/null | jget "sum(p['state'] == 'up' for p in d['paths'])" 2>/dev/null)" = 2 ] ||
      [ "$(now_ms)" -gt "$deadline" ]; do sleep 0.2; done
rc=0; "$CTL" --socket "$GW_SOCK" frobnicate >/dev/null 2>"$TMP/e2" || rc=$?
rc3=0; "$CTL" --socket "$TMP/nobody.sock" stats >/dev/null 2>"$TMP/e3" || rc3=$?
rc1=0; "$CTL" --socket "$GW_SOCK" path set lte down >/dev/null 2>"$TMP/e1" || rc1=$?
if [ "$rc" = 2 ] && [ "$rc3" = 3 ] && [ "$rc1" = 1 ]; then
    ok "1. mpfctl exit statuses: usage 2, unreachable 3, daemon error 1 ($(head -n1 "$TMP/e1"))"
else
    nok "1. mpfctl exit statuses usage/unreachable/error: $rc/$rc3/$rc1, expected 2/3/1"
fi

# ------------------------------------------------------------------ 2. counters match the traffic
declare -A B=() A=()
keys=(gw:nat_in2out gw:encapsulated srv:decapsulated srv:nat_in2out)
for k in "${keys[@]}"; do B[$k]="$(counter "${k%%:*}" "${k#*:}")"; done
# `stats --watch` while the datagrams flow: redraws with rates, Ctrl-C (INT) ends it with 0.
timeout --preserve-status -s INT 1.8 "$CTL" --socket "$GW_SOCK" stats --watch 0.4 >"$TMP/watch.out" 2>&1 9>&- &
wpid=$!
udp_run 5001 "$N" 1
wrc=0; wait "$wpid" || wrc=$?
draws="$(grep -o $'\e\[2J' "$TMP/watch.out" | wc -l)"
rxrate="$(tr '\033' '\n' <"$TMP/watch.out" | awk '$1 == "rx_packets" && NF >= 4 { r = $3 " " $4 } END { print r }')"
if [ "$wrc" = 0 ] && [ "$draws" -ge 3 ] && grep -q "rates over" "$TMP/watch.out" && grep -q "pps" <<<"$rxrate"; then
    ok "2. stats --watch 0.4: $draws redraws with rates (last rx_packets rate $rxrate), exit 0 on SIGINT"
else
    nok "2. stats --watch: exit $wrc, $draws redraws, rx_packets rate '$rxrate'"
fi
sleep 0.3
for k in "${keys[@]}"; do A[$k]="$(counter "${k%%:*}" "${k#*:}")"; done
desc=""; good=1
for k in "${keys[@]}"; do
    d=$(( A[$k] - B[$k] )); desc+=" $k +$d"
    in_range "$d" "$N" $(( N + 5 )) || good=0
done
if [ "$GOT" = "$N" ] && [ "$good" = 1 ]; then ok "2. $N datagrams received; counters:$desc"
else nok "2. Host B got $GOT of $N; counters:$desc (each should be $N..$((N + 5)))"; fi
fl="$(ctl gw flows --proto udp --port 5001 | jget "' '.join(str(f['packets_out']) for f in d['flows'])" || true)"
if [ "$fl" = "$N" ]; then ok "2. flows --proto udp --port 5001: one session, packets_out $N"
else nok "2. flows --proto udp --port 5001: packets_out '$fl', expected one session with $N"; fi

# ------------------------------------------------------------------ 3. path set moves traffic
steer() { # down-path other-path port
    local down="$1" other="$2" port="$3" d0 o0 d1 o1 adm
    ctl gw path set "$down" down >"$TMP/set.json" || { nok "3. path set $down down failed"; return; }
    ctl gw path set "$other" auto >/dev/null || { nok "3. path set $other auto failed"; return; }
    adm="$(jget "d['admin']" <"$TMP/set.json" || true)"
    sleep 0.3
    d0="$(path_field gw "$down" tx_frames)"; o0="$(path_field gw "$other" tx_frames)"
    udp_run "$port" "$N" 1
    sleep 0.3
    d1="$(path_field gw "$down" tx_frames)"; o1="$(path_field gw "$other" tx_frames)"
    # Probes go on both every 25 ms (~60 in the run): the down path must carry nothing else.
    if [ "$GOT" = "$N" ] && [ "$adm" = down ] && [ $(( d1 - d0 )) -lt 200 ] && [ $(( o1 - o0 )) -ge "$N" ]; then
        ok "3. path set $down down (admin '$adm'): $N datagrams arrived, $down tx +$((d1 - d0)) (probes), $other tx +$((o1 - o0))"
    else
        nok "3. path set $down down (admin '$adm'): got $GOT of $N, $down tx +$((d1 - d0)) (< 200 expected), $other tx +$((o1 - o0)) (>= $N expected)"
    fi
}
steer 5g wifi 5002
steer wifi 5g 5003
ctl gw path set wifi auto >/dev/null || nok "3. path set wifi auto failed"
sleep 0.3
adm="$(ctl gw paths | jget "' '.join(p['admin'] for p in d['paths'])" || true)"
[ "$adm" = "auto auto" ] || nok "3. admin states after 'auto' on both: '$adm'"
# max-rate auto at run time: rate control discovers the path's rate from 8 Mbit/s (no traffic
# now: it stays there); `paths` says so; 50M again afterwards.
auto_rate_cli() {
    local set p txt back
    ctl gw path set 5g max-rate auto >"$TMP/auto.json" || { nok "3. path set 5g max-rate auto failed"; return; }
    set="$(jget "'%s %s' % (d['max_rate_auto'], d['max_rate_bps'])" <"$TMP/auto.json" || true)"
    sleep 0.3
    p="$(path_field gw 5g max_rate_auto) $(path_field gw 5g rate_bps)"
    txt="$("$CTL" --socket "$GW_SOCK" paths 2>&1 | grep -E '^ *5g ' || true)"
    ctl gw path set 5g max-rate 50M >"$TMP/auto-back.json" || true
    back="$(jget "'%s %s' % (d['max_rate_auto'], d['max_rate_bps'])" <"$TMP/auto-back.json" || true)"
    if [ "$set" = "True 0" ] && [ "$p" = "True 8000000" ] && grep -qE '8(\.0+)? Mbit/s \(auto\)' <<<"$txt" &&
        [ "$back" = "False 50000000" ]; then
        ok "3. path set 5g max-rate auto: reply auto, paths max_rate_auto/rate_bps '$p', mpfctl paths '$(echo $txt)'; back to 50M"
    else
        nok "3. path set 5g max-rate auto: reply '$set' (want True 0), paths '$p' (want True 8000000), mpfctl paths '$(echo $txt)' (want '8 Mbit/s (auto)'), back '$back' (want False 50000000)"
    fi
}
auto_rate_cli

# ------------------------------------------------------------------ 4. controld killed mid-stream
N4=3000
b4="$(counter gw nat_in2out)"
bgns "$TMP/recv-5004.out" "$HOSTB" "$MPF_PYTHON" "$HERE/udpseq.py" recv 5004 "$N4" 1.5 60
rpid=$LAST_BG
wait_listen "$HOSTB" udp 5004 || nok "4. receiver did not start"
bgns "$TMP/send-5004.out" "$HOSTA" "$MPF_PYTHON" "$HERE/udpseq.py" send "$HOSTB_IP" 5004 "$N4" 1
spid=$LAST_BG
# A client busy with mailbox commands while the daemon dies (a command may be in flight).
bg "$TMP/flows-loop.out" bash -c 'while :; do "$0" --socket "$1" flows --top 3 >/dev/null 2>&1; done' "$CTL" "$GW_SOCK"
lpid=$LAST_BG
sleep 1
kill -KILL "${CTLD_PID[gw]}"; wait "${CTLD_PID[gw]}" 2>/dev/null || true
sleep 0.5
start_ctld gw --metrics "127.0.0.1:$MPORT" || nok "4. controld did not come back"
wait "$spid" || true; wait "$rpid" || true
kill "$lpid" 2>/dev/null || true
read -r GOT _dup _miss _bad _ <"$TMP/recv-5004.out" || GOT=0
wait_attached gw 10 >/dev/null || nok "4. the new controld did not attach"
a4="$(counter gw nat_in2out)"
if [ "$GOT" = "$N4" ] && in_range $(( a4 - b4 )) "$N4" $(( N4 + 5 )); then
    ok "4. controld SIGKILLed and restarted mid-stream: $GOT of $N4 datagrams arrived; the new controld reads nat_in2out +$((a4 - b4))"
else
    nok "4. controld killed mid-stream: got $GOT of $N4 (missing ${_miss:-?}), nat_in2out +$((a4 - b4)) across the restart"
fi

# ------------------------------------------------------------------ 5. malformed requests
if "$MPF_PYTHON" "$HERE/control_fuzz.py" "$GW_SOCK" 500 7 >"$TMP/fuzz.out" 2>&1 && kill -0 "${CTLD_PID[gw]}" 2>/dev/null; then
    ok "5. $(tail -n1 "$TMP/fuzz.out")"
else
    nok "5. malformed requests: $(tail -n1 "$TMP/fuzz.out") (controld $(kill -0 "${CTLD_PID[gw]}" 2>/dev/null && echo alive || echo DEAD))"
    head -n 20 "$TMP/fuzz.out" | sed 's/^/#   /'
fi

# ------------------------------------------------------------------ 6. Prometheus
if curl -fsS --max-time 5 "http://127.0.0.1:$MPORT/metrics" -o "$TMP/metrics.txt"; then
    if promtool check metrics <"$TMP/metrics.txt" >"$TMP/promtool.out" 2>&1; then
        ok "6. promtool check metrics: clean ($(grep -c '^# TYPE' "$TMP/metrics.txt") metric families)"
    else
        nok "6. promtool check metrics failed:"; head -n 10 "$TMP/promtool.out" | sed 's/^/#   /'
    fi
    if /usr/bin/python3 - "$TMP/metrics.txt" >"$TMP/prom.out" 2>&1 <<'PYEOF'
import sys
from prometheus_client.parser import text_string_to_metric_families
v = {}
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in fam.samples:
        v[(s.name, tuple(sorted(s.labels.items())))] = s.value
up = v.get(("mpf_dataplane_up", ()))
p5 = [val for (n, l), val in v.items() if n == "mpf_path_up" and ("path", "5g") in l]
print("%d samples, mpf_dataplane_up %s, mpf_path_up{path=5g} %s" % (len(v), up, p5))
sys.exit(0 if up == 1 and p5 == [1] else 1)
PYEOF
    then ok "6. prometheus_client parses the scrape: $(cat "$TMP/prom.out")"
    else nok "6. prometheus_client: $(tail -n 3 "$TMP/prom.out")"; fi
else
    nok "6. no scrape from http://127.0.0.1:$MPORT/metrics"
fi

# ------------------------------------------------------------------ 7. capture
bgns "$TMP/ping7.out" "$HOSTA" ping -c 200 -i 0.02 "$HOSTB_IP"
ppid=$LAST_BG
cap() { # target file: capture 10 packets, check tshark's count
    local rc=0 n
    timeout 20 "$CTL" --socket "$GW_SOCK" capture "$1" --count 10 -w "$2" >"$TMP/cap-$1.out" 2>&1 || rc=$?
    n="$(tshark -r "$2" -T fields -e frame.number 2>/dev/null | wc -l)"
    if [ "$rc" = 0 ] && [ "$n" = 10 ]; then
        ok "7. mpfctl capture $1 --count 10: tshark reads $n packets ($(capinfos -t "$2" 2>/dev/null | awk -F': *' '/File type/ { print $2 }'))"
    else
        nok "7. mpfctl capture $1 --count 10: exit $rc, tshark reads $n packets: $(tail -n 2 "$TMP/cap-$1.out")"
    fi
}
cap lan "$TMP/lan.pcapng"
icmp="$(tshark -r "$TMP/lan.pcapng" -Y icmp -T fields -e frame.number 2>/dev/null | wc -l)"
[ "$icmp" -ge 5 ] || nok "7. the LAN capture holds $icmp ICMP packets (ping running: expected >= 5)"
cap 5g "$TMP/5g.pcapng"
kill "$ppid" 2>/dev/null || true
# The dataplane (root) writes only new files in its capture directory; mpfctl copied from there
# and removed its file. A name that exists already is refused, the file left as it was.
CAPDIR=/var/lib/mpf/captures
left="$(find "$CAPDIR" -name "mpfctl-*" 2>/dev/null | wc -l)"
[ "$left" = 0 ] || nok "7. $left mpfctl capture file(s) left in $CAPDIR"
echo "keep me" >"$CAPDIR/mpf-e2e-exists.pcapng"
resp="$("$MPF_PYTHON" - "$GW_SOCK" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b'{"cmd":"capture","args":{"action":"start","port":"lan","count":1,"file":"mpf-e2e-exists.pcapng"}}\n')
print(s.makefile().readline().strip())
PYEOF
)" || true
# (The dataplane's refusal itself, "failed: ... File exists": a request refused earlier, for its
# name, would leave the file alone too.)
if grep -q '"code":"failed"' <<<"$resp" && grep -q 'File exists' <<<"$resp" &&
   [ "$(cat "$CAPDIR/mpf-e2e-exists.pcapng")" = "keep me" ]; then
    ok "7. capture into an existing file refused, the file untouched: $(cut -c1-140 <<<"$resp")"
else
    nok "7. capture into an existing file: $(cut -c1-200 <<<"$resp"); file now: $(head -c 40 "$CAPDIR/mpf-e2e-exists.pcapng" | tr -c '[:print:]' .)"
fi
rm -f "$CAPDIR/mpf-e2e-exists.pcapng"

# ------------------------------------------------------------------ 8. dataplane restarted
"${TB[@]}" stop-appliances >"$TMP/stop.log" 2>&1 || nok "8. stop-appliances failed"
deadline=$(( $(now_ms) + 10000 )); att=True
while [ "$(now_ms)" -lt "$deadline" ]; do
    att="$(ctl gw status 2>/dev/null | jget "d['attached']" 2>/dev/null || echo '?')"
    [ "$att" = False ] && break
    sleep 0.2
done
rc=0; "$CTL" --socket "$GW_SOCK" stats >/dev/null 2>"$TMP/e8" || rc=$?
if [ "$att" = False ] && [ "$rc" = 1 ]; then ok "8. dataplane gone: status attached false, mpfctl stats exits 1 ($(head -n1 "$TMP/e8"))"
else nok "8. dataplane gone: status attached '$att', mpfctl stats exit $rc (expected False, 1)"; fi
# The new dataplanes run on hugepages when enough are free, so that the stock dpdk-dumpcap (a
# DPDK secondary process: it needs shared hugepage memory) can be checked against rte_pdump.
huge=0
free_pages="$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)"
if [ "$(awk '/^Hugepagesize:/ { print $2 }' /proc/meminfo)" = 2048 ] && [ "${free_pages:-0}" -ge 450 ] &&
   mount | grep -q ' /dev/hugepages type hugetlbfs' && have dpdk-dumpcap; then
    huge=1; export MPF_EAL_MEM="-m 200"
else
    note "8. dataplanes restart without hugepages ($free_pages free 2 MiB pages, 450 wanted): dpdk-dumpcap not checked"
fi
t8="$(now_ms)"
if "${TB[@]}" start-appliances >"$TMP/start2.log" 2>&1; then
    new_pid="$(cat "${MPF_TESTBED_STATE:-/tmp/mpf-testbed}/gw.pid")"
    if got="$(wait_attached gw 10 "$dp_pid")" && [ "$got" = "$new_pid" ]; then
        ok "8. controld re-attached to the restarted dataplane (pid $got) $(fmt_secs $(( $(now_ms) - t8 ))) s after start-appliances began"
    else
        nok "8. controld did not re-attach to the new dataplane (pid $new_pid) within 10 s (status pid: ${got:-none})"
    fi
    rx="$(counter gw rx_packets)"
    udp_run 5005 100 2
    rx2="$(counter gw rx_packets)"
    if [ "$GOT" = 100 ] && [ $(( rx2 - rx )) -ge 100 ]; then ok "8. new dataplane forwards; its counters move (rx_packets +$((rx2 - rx)))"
    else nok "8. after the restart: got $GOT of 100, rx_packets +$((rx2 - rx))"; fi
    if [ "$huge" = 1 ]; then
        bgns "$TMP/ping9.out" "$HOSTA" ping -c 100 -i 0.02 "$HOSTB_IP"
        ppid=$LAST_BG
        rc=0
        # The filter runs in the dataplane (rte_pdump's BPF): the gateway's ARP for host A, which the
        # restart made it forget, would otherwise take some of the 10 slots.
        timeout 20 dpdk-dumpcap --file-prefix=mpf-gw -i net_af_packet0 -f icmp -c 10 -w "$TMP/dumpcap.pcapng" \
            >"$TMP/dumpcap.out" 2>&1 9>&- || rc=$?
        kill "$ppid" 2>/dev/null || true
        n="$(tshark -r "$TMP/dumpcap.pcapng" -Y icmp -T fields -e frame.number 2>/dev/null | wc -l)"
        if [ "$rc" = 0 ] && [ "$n" = 10 ]; then ok "9. dpdk-dumpcap -f icmp (pdump with BPF, hugepages) on the gateway's LAN port: 10 ICMP packets"
        else nok "9. dpdk-dumpcap: exit $rc, $n ICMP packets of 10: $(tail -n 2 "$TMP/dumpcap.out" | tr '\n' ' ')"; fi
    fi
else
    nok "8. start-appliances (again) failed"; tail -n 5 "$TMP/start2.log" | sed 's/^/#   /'
fi
for a in gw srv; do
    kill -0 "${CTLD_PID[$a]}" 2>/dev/null || nok "controld ($a) died during the test: $(tail -n 3 "$TMP/controld-$a.log")"
done
if [ "${#FAILS[@]}" -gt 0 ]; then
    for a in gw srv; do echo "# controld $a log tail:"; tail -n 8 "$TMP/controld-$a.log" | sed 's/^/#   /'; done
fi
e2e_finish control_test
