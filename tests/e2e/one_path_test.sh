#!/usr/bin/env bash
# End-to-end test of the foundation: Host A -- gateway == one 5G path == server -- Host B, in
# the netns test bed (tools/testbed), with the real mpf-dataplane on net_af_packet.
#
# Prints "ok - <what>" / "not ok - <what>" per check and a summary; exit 0 when all pass, 1 when
# any fails, 77 (skip) when the dataplane binary is not built.
# Environment: MPF_BUILD_DIR (default build), MPF_DATAPLANE, MPF_E2E_KEEP=1 (leave the test bed
# up after a failure, for debugging; `tools/testbed down` removes it), MPF_E2E_MB (default 64).
set -euo pipefail

HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
# shellcheck source=tools/lib/common.sh
. "$HERE/../../tools/lib/common.sh"

TB=(bash "$MPF_ROOT/tools/testbed")
BIN="${MPF_DATAPLANE:-$(mpf_build_dir)/dataplane/mpf-dataplane}"
export MPF_DATAPLANE="$BIN"
MB="${MPF_E2E_MB:-64}"

HOSTA=mpf-hosta; HOSTB=mpf-hostb; PLAIN_A=mpf-plain-a; PLAIN_B=mpf-plain-b
HOSTB_IP=198.51.100.2; SRV_PUBLIC=198.51.100.1; GW_LAN=192.168.10.1; PLAIN_B_IP=10.200.0.2
OUR_NS=(mpf-hosta mpf-gw mpf-w5g mpf-wwifi mpf-inet mpf-srv mpf-hostb mpf-plain-a mpf-plain-b)

need_root
if [ ! -x "$BIN" ]; then
    echo "# SKIP: dataplane binary not built: $BIN"
    exit 77
fi

# The test runs in a child bash; this parent only waits for it. The `wait` builtin returns at
# once on a trapped signal, so Ctrl-C / TERM reach the test promptly as a TERM, whose trap ends it
# and runs the cleanup. (A bash that runs the test itself would swallow Ctrl-C whenever the
# foreground program, ping or iperf3, catches SIGINT and exits normally.)
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

# One user of the test bed at a time (namespace names are fixed).
testbed_lock || { echo "not ok - test bed busy"; exit 1; }

T0="$(now_ms)"
TMP="$(mktemp -d /tmp/mpf-e2e.XXXXXX)"
PASS=0
FAILS=()
BG_PIDS=()
TB_STATE="${MPF_TESTBED_STATE:-/tmp/mpf-testbed}"

ok()  { PASS=$((PASS + 1)); echo "ok - $*"; }
nok() { FAILS+=("$*"); echo "not ok - $*"; }
note() { echo "# $*"; }
nsx() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }
py() { local ns="$1"; shift; ip netns exec "$ns" "$MPF_PYTHON" "$@"; }
# Start a helper in a namespace in the background (the pid is the helper's own: ip netns exec
# execs it); killed at exit, and `tools/testbed down` kills whatever runs in our namespaces.
# Output goes to $TMP/bg<N>.log.
bgns() {
    local ns="$1"; shift
    ip netns exec "$ns" "$@" >"$TMP/bg${#BG_PIDS[@]}.log" 2>&1 </dev/null &
    BG_PIDS+=("$!")
}

# shellcheck disable=SC2317  # (invoked by trap)
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local p
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
trap 'echo "# command failed (status $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

# Wait until something listens on proto/port in a namespace.
wait_listen() { # ns tcp|udp port
    local _i flag=-Hltn
    [ "$2" = udp ] && flag=-Hlun
    for _i in $(seq 50); do
        [ -n "$(nsx "$1" ss "$flag" "sport = :$3" 2>/dev/null)" ] && return 0
        sleep 0.1
    done
    return 1
}

# ------------------------------------------------------------------ python helpers
PY_FILE_SERVER='
import socket, sys
port, path, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port)); s.listen(4)
for _ in range(count):
    c, _ = s.accept()
    with open(path, "rb") as f:
        c.sendfile(f)
    c.shutdown(socket.SHUT_WR); c.close()
'
PY_FETCH='
import socket, sys, time
host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t0 = time.monotonic()
c = socket.create_connection((host, port), timeout=15)
n = 0
with open(out, "wb") as f:
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        f.write(d); n += len(d)
print(n, "%.3f" % (time.monotonic() - t0))
'
PY_WHOAMI='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    d, a = s.recvfrom(2048)
    s.sendto(("%s:%d" % a).encode(), a)
'
PY_ASK='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
for _ in range(3):
    s.sendto(b"who", (sys.argv[1], int(sys.argv[2])))
    try:
        print(s.recvfrom(2048)[0].decode()); break
    except socket.timeout:
        pass
else:
    print("timeout")
'
PY_UDP_ECHO='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    d, a = s.recvfrom(4096)
    s.sendto(d, a)
'
# DNS-like: every query from a new socket (new source port, so a new NAT session), 1 s timeout.
PY_UDP_QUERIES='
import os, socket, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
good = bad = lost = 0; rtts = []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1.0)
    q = b"q%05d-" % i + os.urandom(24).hex().encode()
    t = time.monotonic()
    s.sendto(q, (host, port))
    try:
        d = s.recv(4096)
        rtts.append((time.monotonic() - t) * 1000)
        if d == q: good += 1
        else: bad += 1
    except socket.timeout:
        lost += 1
    s.close()
avg = sum(rtts) / len(rtts) if rtts else 0
print(good, bad, lost, "%.2f" % avg)
'
PY_LINE_SERVER='
import socket, sys
port, line, peerfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port)); s.listen(4)
while True:
    c, a = s.accept()
    open(peerfile, "w").write("%s:%d\n" % a)
    c.sendall((line + "\n").encode()); c.close()
'
PY_LINE_CLIENT='
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
buf = b""
while not buf.endswith(b"\n"):
    d = c.recv(4096)
    if not d: break
    buf += d
print(buf.decode().strip())
'
PY_JSON_GET='
import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d[k]
print(d)
'
# Reads a dpdk-telemetry.py reply {"/mpf/stats": {...}} on stdin; prints "rx tx nat drops-json".
PY_STATS='
import json, sys
text = sys.stdin.read()
start = text.find("{")
d = json.loads(text[start:]) if start >= 0 else {}
s = d.get("/mpf/stats")
if not isinstance(s, dict):
    print("ERROR no /mpf/stats in reply: " + text.strip()[:300]); sys.exit(0)
def total(v):
    return sum(total(x) for x in v.values()) if isinstance(v, dict) else int(v)
missing = [k for k in ("rx_packets", "tx_packets", "drops", "nat_sessions") if k not in s]
if missing:
    print("ERROR missing keys %s in %s" % (missing, json.dumps(s)[:300])); sys.exit(0)
print(total(s["rx_packets"]), total(s["tx_packets"]), total(s["nat_sessions"]),
      json.dumps(s["drops"], separators=(",", ":")))
'

# ------------------------------------------------------------------ 1. test bed + appliances
echo "# mpf e2e: one path ($BIN)"
if "${TB[@]}" up --paths 1 >"$TMP/up.log" 2>&1; then
    ok "test bed up (1 path)"
else
    nok "test bed up (1 path)"; sed 's/^/#   /' "$TMP/up.log"; exit 1
fi
if "${TB[@]}" start-appliances >"$TMP/start.log" 2>&1; then
    ok "appliances running (gateway in mpf-gw, server in mpf-srv)"
    sed -n 's/^/#   /p' "$TMP/start.log" | grep -v '^#   ==>' || true
else
    nok "appliances start"; sed 's/^/#   /' "$TMP/start.log"; exit 1
fi

# ------------------------------------------------------------------ 2. reachability
out="$(nsx "$HOSTA" ping -n -c 5 -i 0.2 -W 2 "$HOSTB_IP" 2>&1 || true)"
if grep -q ' 0% packet loss' <<<"$out"; then
    ok "ping Host A -> Host B $HOSTB_IP: 5/5 ($(grep -o 'rtt.*' <<<"$out" || true))"
else
    nok "ping Host A -> Host B $HOSTB_IP: $(grep 'packet loss' <<<"$out" || echo "$out" | tail -2)"
fi
out="$(nsx "$HOSTB" ping -n -c 3 -i 0.2 -W 2 "$SRV_PUBLIC" 2>&1 || true)"
if grep -q ' 0% packet loss' <<<"$out"; then ok "ping Host B -> server public $SRV_PUBLIC answered"
else nok "ping Host B -> server public $SRV_PUBLIC: $(grep 'packet loss' <<<"$out" || echo none)"; fi
out="$(nsx "$HOSTA" ping -n -c 3 -i 0.2 -W 2 "$GW_LAN" 2>&1 || true)"
if grep -q ' 0% packet loss' <<<"$out"; then ok "ping Host A -> gateway LAN $GW_LAN answered"
else nok "ping Host A -> gateway LAN $GW_LAN: $(grep 'packet loss' <<<"$out" || echo none)"; fi

# ------------------------------------------------------------------ 3. NAT visible from Host B
bgns "$HOSTB" "$MPF_PYTHON" -c "$PY_WHOAMI" 7002
if wait_listen "$HOSTB" udp 7002; then
    seen="$(py "$HOSTA" -c "$PY_ASK" "$HOSTB_IP" 7002 2>&1 || true)"
    if [ "${seen%%:*}" = "$SRV_PUBLIC" ]; then ok "NAT: Host B sees Host A's UDP from $seen"
    else nok "NAT: Host B sees Host A's UDP from '$seen', expected $SRV_PUBLIC"; fi
else
    nok "NAT: UDP listener on Host B did not start"
fi

# ------------------------------------------------------------------ 4. TCP download + baseline
head -c "$((MB * 1024 * 1024))" /dev/urandom >"$TMP/blob"
sum_src="$(sha256sum "$TMP/blob" | cut -d' ' -f1)"
rate_dp=""; rate_plain=""
bgns "$HOSTB" "$MPF_PYTHON" -c "$PY_FILE_SERVER" 5001 "$TMP/blob" 1
if wait_listen "$HOSTB" tcp 5001; then
    res="$(timeout --foreground 120 ip netns exec "$HOSTA" "$MPF_PYTHON" -c "$PY_FETCH" "$HOSTB_IP" 5001 "$TMP/got" 2>&1 || true)"
    read -r bytes secs <<<"$res" || true
    sum_dst="$(sha256sum "$TMP/got" 2>/dev/null | cut -d' ' -f1 || true)"
    if [ "${bytes:-}" = "$((MB * 1024 * 1024))" ] && [ "$sum_src" = "$sum_dst" ]; then
        rate_dp="$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.0f", b * 8 / s / 1e6 }')"
        ok "TCP download $MB MiB Host B -> Host A through the appliances: sha256 equal, ${secs}s, $rate_dp Mbit/s"
    else
        nok "TCP download $MB MiB Host B -> Host A: got '${res}', sha256 ${sum_dst:-none} vs $sum_src"
    fi
else
    nok "TCP download: file server on Host B did not start"
fi
rm -f "$TMP/got"
if "${TB[@]}" baseline up >/dev/null 2>&1; then
    bgns "$PLAIN_B" "$MPF_PYTHON" -c "$PY_FILE_SERVER" 5001 "$TMP/blob" 1
    if wait_listen "$PLAIN_B" tcp 5001; then
        res="$(timeout --foreground 120 ip netns exec "$PLAIN_A" "$MPF_PYTHON" -c "$PY_FETCH" "$PLAIN_B_IP" 5001 "$TMP/got" 2>&1 || true)"
        read -r bytes secs <<<"$res" || true
        sum_dst="$(sha256sum "$TMP/got" 2>/dev/null | cut -d' ' -f1 || true)"
        if [ "${bytes:-}" = "$((MB * 1024 * 1024))" ] && [ "$sum_src" = "$sum_dst" ]; then
            rate_plain="$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.0f", b * 8 / s / 1e6 }')"
            ok "baseline: same download over a plain veth: ${secs}s, $rate_plain Mbit/s"
        else
            nok "baseline download over a plain veth: got '${res}'"
        fi
    else
        nok "baseline: file server did not start"
    fi
    "${TB[@]}" baseline down >/dev/null 2>&1 || true
else
    nok "baseline namespaces up"
fi
rm -f "$TMP/got" "$TMP/blob"
if [ -n "$rate_dp" ] && [ -n "$rate_plain" ]; then
    note "TCP download: appliances $rate_dp Mbit/s, plain veth $rate_plain Mbit/s, ratio $(awk -v a="$rate_dp" -v b="$rate_plain" 'BEGIN { printf "%.2f", a / b }')"
fi

# ------------------------------------------------------------------ 5. UDP request/response
bgns "$HOSTB" "$MPF_PYTHON" -c "$PY_UDP_ECHO" 5353
if wait_listen "$HOSTB" udp 5353; then
    res="$(timeout --foreground 300 ip netns exec "$HOSTA" "$MPF_PYTHON" -c "$PY_UDP_QUERIES" "$HOSTB_IP" 5353 200 2>&1 || true)"
    read -r good bad lost avg <<<"$res" || true
    if [ "${good:-}" = 200 ]; then ok "UDP request/response: 200/200 answered with the right payload (avg ${avg} ms)"
    else nok "UDP request/response: answered right ${good:-?}, wrong ${bad:-?}, lost ${lost:-?} of 200 ($res)"; fi
else
    nok "UDP echo server on Host B did not start"
fi

# ------------------------------------------------------------------ 6. iperf3
UDP_DELIVERED=0
bgns "$HOSTB" iperf3 -s -p 5201
if wait_listen "$HOSTB" tcp 5201; then
    # -l 1200: datagrams that fit the tunnel's inner MTU (1500 - overhead) whatever iperf3 guesses.
    timeout --foreground 30 ip netns exec "$HOSTA" iperf3 -c "$HOSTB_IP" -p 5201 -u -b 50M -t 5 -l 1200 --json \
        >"$TMP/iperf-udp.json" 2>&1 || true
    loss="$("$MPF_PYTHON" -c "$PY_JSON_GET" end.sum.lost_percent <"$TMP/iperf-udp.json" 2>/dev/null || true)"
    pkts="$("$MPF_PYTHON" -c "$PY_JSON_GET" end.sum.packets <"$TMP/iperf-udp.json" 2>/dev/null || true)"
    lostp="$("$MPF_PYTHON" -c "$PY_JSON_GET" end.sum.lost_packets <"$TMP/iperf-udp.json" 2>/dev/null || true)"
    mbps="$("$MPF_PYTHON" -c "$PY_JSON_GET" end.sum.bits_per_second <"$TMP/iperf-udp.json" 2>/dev/null || true)"
    if [ -n "$loss" ] && awk -v l="$loss" 'BEGIN { exit !(l < 5) }'; then
        UDP_DELIVERED=$(( pkts - lostp ))
        ok "iperf3 UDP 50 Mbit/s 5 s Host A -> Host B: loss $(printf '%.2f' "$loss")% ($lostp of $pkts), $(awk -v b="$mbps" 'BEGIN { printf "%.1f", b / 1e6 }') Mbit/s"
    else
        nok "iperf3 UDP 50 Mbit/s: loss '${loss:-?}'% (need < 5%): $(head -c 300 "$TMP/iperf-udp.json")"
    fi
    timeout --foreground 30 ip netns exec "$HOSTA" iperf3 -c "$HOSTB_IP" -p 5201 -t 3 --json \
        >"$TMP/iperf-tcp.json" 2>&1 || true
    tcp="$("$MPF_PYTHON" -c "$PY_JSON_GET" end.sum_received.bits_per_second <"$TMP/iperf-tcp.json" 2>/dev/null || true)"
    retr="$("$MPF_PYTHON" -c "$PY_JSON_GET" end.sum_sent.retransmits <"$TMP/iperf-tcp.json" 2>/dev/null || true)"
    if [ -n "$tcp" ] && awk -v b="$tcp" 'BEGIN { exit !(b > 0) }'; then
        ok "iperf3 TCP 3 s Host A -> Host B: $(awk -v b="$tcp" 'BEGIN { printf "%.0f", b / 1e6 }') Mbit/s, $retr retransmits"
    else
        nok "iperf3 TCP 3 s: $(head -c 300 "$TMP/iperf-tcp.json")"
    fi
else
    nok "iperf3 server on Host B did not start"
fi

# ------------------------------------------------------------------ 7. port forward
LINE="hello-from-host-a-$RANDOM"
bgns "$HOSTA" "$MPF_PYTHON" -c "$PY_LINE_SERVER" 8080 "$LINE" "$TMP/peer"
if wait_listen "$HOSTA" tcp 8080; then
    got="$(timeout --foreground 15 ip netns exec "$HOSTB" "$MPF_PYTHON" -c "$PY_LINE_CLIENT" "$SRV_PUBLIC" 8080 2>&1 || true)"
    if [ "$got" = "$LINE" ]; then
        ok "port forward: Host B -> $SRV_PUBLIC:8080 reaches Host A:8080 (Host A saw $(cat "$TMP/peer" 2>/dev/null || echo '?'))"
    else
        nok "port forward: Host B -> $SRV_PUBLIC:8080 got '$(head -c 200 <<<"$got")'"
    fi
else
    nok "port forward: TCP server on Host A did not start"
fi

# ------------------------------------------------------------------ 8. ICMP time exceeded
ttl_ok=0
for _try in 1 2 3; do   # ICMP errors may be rate-limited: up to 3 tries
    out="$(nsx "$HOSTA" ping -n -c 1 -t 1 -W 1 "$HOSTB_IP" 2>&1 || true)"
    if grep -q "From $GW_LAN .*Time to live exceeded" <<<"$out"; then ttl_ok=1; break; fi
    sleep 0.5
done
if [ "$ttl_ok" = 1 ]; then ok "TTL 1 from Host A: 'Time to live exceeded' from $GW_LAN"
else nok "TTL 1 from Host A: no 'Time to live exceeded' from $GW_LAN: $(grep -v '^$' <<<"$out" | sed -n 2p)"; fi

# ------------------------------------------------------------------ 9. counters via telemetry
# Packets that certainly crossed both appliances (each counted in rx and tx of each): the
# pings and UDP requests and their answers, the delivered iperf3 datagrams, and the download
# (at least one segment per 1460 bytes).
MIN=$(( 2 * 5 + 2 * 200 + 2 + UDP_DELIVERED + MB * 1024 * 1024 / 1460 ))
note "kernel view: a-lan tx $(nsx "$HOSTA" cat /sys/class/net/a-lan/statistics/tx_packets) rx $(nsx "$HOSTA" cat /sys/class/net/a-lan/statistics/rx_packets), b-wan tx $(nsx "$HOSTB" cat /sys/class/net/b-wan/statistics/tx_packets) rx $(nsx "$HOSTB" cat /sys/class/net/b-wan/statistics/rx_packets)"
for prefix in mpf-gw mpf-srv; do
    reply="$(echo /mpf/stats | timeout --foreground 10 dpdk-telemetry.py -f "$prefix" 2>&1 || true)"
    parsed="$("$MPF_PYTHON" -c "$PY_STATS" <<<"$reply" 2>&1 || true)"
    if [[ "$parsed" == ERROR* ]] || [ -z "$parsed" ]; then
        nok "telemetry $prefix /mpf/stats: ${parsed:-no reply}"
        continue
    fi
    read -r rx tx nat drops <<<"$parsed"
    note "$prefix: rx_packets $rx tx_packets $tx nat_sessions $nat drops $drops"
    if [ "$rx" -ge "$MIN" ] && [ "$tx" -ge "$MIN" ]; then
        ok "telemetry $prefix /mpf/stats: rx $rx, tx $tx >= $MIN packets the test sent through it"
    else
        nok "telemetry $prefix /mpf/stats: rx $rx, tx $tx, expected both >= $MIN"
    fi
done

# ------------------------------------------------------------------ 10. stop, logs, teardown
for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
"${TB[@]}" stop-appliances >"$TMP/stop.log" 2>&1 || true
for a in gw srv; do
    rc="$(cat "$TB_STATE/$a.rc" 2>/dev/null || echo '?')"
    if [ "$rc" = 0 ]; then ok "$a: exited with status 0 after SIGTERM"
    else nok "$a: exit status $rc after SIGTERM"; fi
    if grep -Eqi 'counters|rx_packets' "$TB_STATE/$a.log" 2>/dev/null; then ok "$a: log has the counters printout"
    else nok "$a: no counters printout in $TB_STATE/$a.log"; fi
done
if [ "${#FAILS[@]}" -gt 0 ]; then
    echo "# appliance log tails:"
    for a in gw srv; do tail -n 25 "$TB_STATE/$a.log" 2>/dev/null | sed "s/^/#   $a| /"; done
fi
if [ "${MPF_E2E_KEEP:-0}" = 1 ] && [ "${#FAILS[@]}" -gt 0 ]; then
    :
else
    "${TB[@]}" down >/dev/null 2>&1 || true
    left=""
    for n in $(ip netns list | awk '{print $1}'); do
        for o in "${OUR_NS[@]}"; do [ "$n" = "$o" ] && left="$left $n"; done
    done
    if [ -z "$left" ]; then ok "test bed down: no mpf- test bed namespaces left"
    else nok "test bed down left:$left"; fi
    others="$(ip netns list | awk '{print $1}' | grep '^mpf-' || true)"
    [ -z "$others" ] || note "other mpf- namespaces (not the test bed's): $others"
fi

echo "# $PASS passed, ${#FAILS[@]} failed, $(fmt_secs "$(( $(now_ms) - T0 ))")s"
for f in "${FAILS[@]}"; do echo "#   failed: $f"; done
if [ "${#FAILS[@]}" = 0 ]; then exit 0; else exit 1; fi
