#!/usr/bin/env bash
# End-to-end test of multipath: Host A -- gateway == 5G + WiFi == server -- Host B in the netns
# test bed (tools/testbed up --paths 2 --profile std: 5G 50 Mbit/s 15 ms, WiFi 30 Mbit/s 4 ms one
# way), the real mpf-dataplane with configs/examples/{gateway,server}-2paths.conf (aggregate by
# default; udp dst 53 pinned to 5g; udp dst 16384-32767 redundant).
#
# Checks (numbered as in the issue; run in the order 1, 7, 2, 3a, 6, 3b, 4, 5, 9, 10, 12, 11, 8 so that each
# path failure sets up the next step):
#   1. both paths come up on both appliances (their logs: "path X up", "gateway 7 path X up");
#      the server's rttvar of each path is the gateway's, from its probes
#   7. ping Host A -> Host B over two paths: 20/20; during the TCP download of 2, pings keep
#      their idle round trip (+15 ms at most): the server's replies take the fast lane
#   2. one TCP flow (iperf3 -C cubic, 8 s) each way gets more than the best single path
#      (> MPF_MP_MIN_MBIT, default 55 Mbit/s; 5G alone ~45) and both paths carry a real share of
#      its frames (gateway per-port counters: each path > 20 %); delay equalisation: a UDP ping
#      beside a 60 Mbit/s upload (more than 5G alone carries) has the 5G round trip even for requests sent on WiFi
#   3. a 40 MiB TCP download (sha256 checked) survives the WiFi path dying ~2 s in, then the 5G
#      path dying; Host A logs received bytes per 10 ms: the outage (longest run of 10 ms slots
#      without a byte) must be < MPF_MP_MAX_OUTAGE_MS (default 2000; the 200 ms target is the
#      benchmark's); the server's worker must take each dying path down from the progress
#      reports (progress_stalls), before the main lcore's dead_after_ms; the gateway's reorder
#      windows wait for the failover resends (reorder_silence_waits)
#   6. WiFi back during a TCP upload: its first data frames within 2 s of `path up wifi`
#      (gateway counters polled every 100 ms, "path wifi up" seen in the log within 10 ms)
#   4. redundant UDP (2000 datagrams, 1 ms apart, sequence numbers) with WiFi dying mid-stream:
#      every sequence number arrives exactly once; redundant_copies grew on the gateway,
#      `duplicate` drops on the server
#   5. pinned UDP (dst 53): 500 datagrams on 5G, WiFi carries only its probes; 5G down: they
#      fall back to WiFi and still arrive
#   9. rate control: the appliances restarted with max_rate 100M (5G) / 60M (WiFi), twice the
#      links: one TCP download still gets more than the best single path, pings beside it keep
#      their idle round trip (+20 ms at most), and the server's shaping rates came down to the
#      links (5G < 75, WiFi < 45 Mbit/s). Without rate control the wire queues overflow and
#      the download falls to ~47 Mbit/s. Best of two 8 s downloads (both reported): a start that
#      overflows the wire queues before rate control catches up happens now and then here
#  10. idle probing: with no traffic for 3 s the gateway probes once a second per path (2..16
#      probes in 3 s, not ~240) and no path changes state; WiFi dying while idle is still found
#      (both appliances, within 10 s); WiFi restored while idle comes up within 1 s of traffic
#      starting (fast probing again), and the 40 pings all arrive
#  12. max_rate "auto": both appliances restarted with max_rate = "auto" on both paths; one TCP
#      download gets more than the best single path, and the server's shaping rates found the
#      links (5G 35..65, WiFi 20..40 Mbit/s)
#  11. two workers: both appliances restarted with two worker lcores each; one TCP flow (8 s) each
#      way still gets more than the best single path (> MPF_MP_MIN_MBIT): the path's rate is
#      split among the workers by their load, not evenly (/mpf/paths share_Bps_w0/w1 5 s in:
#      the sending worker holds >= 90 % of the sender's 5G rate)
#   8. appliances exit 0, test bed down, no namespaces left; log tails on failure
# A summary table of the figures closes the run. Thresholds are generous (2 shared, noisy CPUs):
# they catch a path not used, a connection lost or a failover that does not happen, not a few
# percent of rate (the benchmark measures the targets).
#
# Prints "ok - <what>" / "not ok - <what>" per check and a summary; exit 0 when all pass, 1 when
# any fails, 77 (skip) when the dataplane binary is not built or iperf3 is missing.
# Environment: MPF_BUILD_DIR (default build), MPF_DATAPLANE, MPF_E2E_KEEP=1 (leave the test bed
# up after a failure; `tools/testbed down` removes it), MPF_MP_MIN_MBIT (55),
# MPF_MP_MAX_OUTAGE_MS (2000), MPF_MP_MB (size of the download in MiB, 40), MPF_MP_CC (TCP
# congestion control of the test's flows, default cubic).
set -euo pipefail

HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
# shellcheck source=tools/lib/common.sh
. "$HERE/../../tools/lib/common.sh"

TB=(bash "$MPF_ROOT/tools/testbed")
BIN="${MPF_DATAPLANE:-$(mpf_build_dir)/dataplane/mpf-dataplane}"
export MPF_DATAPLANE="$BIN"
MIN_MBIT="${MPF_MP_MIN_MBIT:-55}"
MAX_OUTAGE_MS="${MPF_MP_MAX_OUTAGE_MS:-2000}"
MB="${MPF_MP_MB:-40}"
# TCP congestion control of every flow (iperf3 -C, the file server's socket): the namespaces
# inherit the machine's default, which may be bbr; the hand measurements used cubic.
CC="${MPF_MP_CC:-cubic}"
RECOVERY_MAX_MS=2000

HOSTA=mpf-hosta; HOSTB=mpf-hostb
HOSTB_IP=198.51.100.2
OUR_NS=(mpf-hosta mpf-gw mpf-w5g mpf-wwifi mpf-inet mpf-srv mpf-hostb mpf-plain-a mpf-plain-b)
TB_STATE="${MPF_TESTBED_STATE:-/tmp/mpf-testbed}"
GW_LOG="$TB_STATE/gw.log"; SRV_LOG="$TB_STATE/srv.log"
GW_ID=7

need_root
if [ ! -x "$BIN" ]; then
    echo "# SKIP: dataplane binary not built: $BIN"
    exit 77
fi
for t in iperf3 ping; do
    if ! have "$t"; then echo "# SKIP: $t not installed (tools/mpf setup)"; exit 77; fi
done

# The test runs in a child bash; this parent only waits for it (see one_path_test.sh: Ctrl-C
# and TERM reach the test promptly as a TERM, whose trap ends it and runs the cleanup).
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

# One user of the test bed at a time (namespace names are fixed). Helpers this script starts in
# the background get fd 9 closed (9>&-): only this process and the appliances hold the lock.
testbed_lock || { echo "not ok - test bed busy"; exit 1; }

T0="$(now_ms)"
TMP="$(mktemp -d /tmp/mpf-e2e-mp.XXXXXX)"
PASS=0
FAILS=()
BG_PIDS=()
declare -A FIG=()   # figures for the summary table

ok()  { PASS=$((PASS + 1)); echo "ok - $*"; }
nok() { FAILS+=("$*"); echo "not ok - $*"; }
note() { echo "# $*"; }
nsx() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }
# Start a helper in a namespace in the background (the pid is the helper's own: ip netns exec
# execs it); killed at exit. Output goes to the file named first.
# Median of the round trips in ping's output on stdin ("-" when there are none).
ping_p50() {
    grep -o 'time=[0-9.]*' | cut -d= -f2 | sort -n |
        awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'
}
bgns() { # outfile ns cmd...
    local out="$1" ns="$2"; shift 2
    ip netns exec "$ns" "$@" >"$out" 2>&1 </dev/null 9>&- &
    BG_PIDS+=("$!")
    LAST_BG=$!
}
# Same in our own namespace.
bg() { # outfile cmd...
    local out="$1"; shift
    "$@" >"$out" 2>&1 </dev/null 9>&- &
    BG_PIDS+=("$!")
    LAST_BG=$!
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

fcmp() { awk "BEGIN { exit !($1) }"; }
# The appliances' log lines with the time they appeared ($TMP/events: "epoch_ms gw|srv line",
# written by the logwatch helper, which polls both logs every 10 ms).
EVENTS="$TMP/events"
# Epoch ms of the first line of an appliance matching an extended regex, logged at or after
# since_ms; waits up to timeout_s. Prints "-" and fails when none came.
wait_event() { # gw|srv regex since_ms timeout_s
    local tag="$1" re="$2" since="$3" t="$4" t0 e
    t0="$(now_ms)"
    while :; do
        e="$(awk -v tag="$tag" -v re="$re" -v s="$since" '$1 >= s && $2 == tag {
                 l = $0; sub(/^[0-9]+ [a-z]+ /, "", l); if (l ~ re) { print $1; exit } }' "$EVENTS" 2>/dev/null)"
        [ -z "$e" ] || { echo "$e"; return 0; }
        [ "$(( $(now_ms) - t0 ))" -lt "$((t * 1000))" ] || { echo "-"; return 1; }
        sleep 0.05
    done
}
# Wait until a path is up|down on both appliances, logged at or after since_ms: prints
# "gw_ms srv_ms", the times relative to since_ms ("-": not within timeout_s).
wait_path() { # path up|down since_ms timeout_s
    local g s
    g="$(wait_event gw "^mpf-dataplane: path $1 $2" "$3" "$4")" || true
    s="$(wait_event srv "^mpf-dataplane: gateway $GW_ID path $1 $2" "$3" "$4")" || true
    [ "$g" = - ] || g=$((g - $3))
    [ "$s" = - ] || s=$((s - $3))
    echo "$g $s"
    [ "$g" != - ] && [ "$s" != - ]
}
tbpath() { # up|down 5g|wifi
    "${TB[@]}" path "$1" "$2" >>"$TMP/path.log" 2>&1
}
# A namespace's TCP counters: "RetransSegs TCPTimeouts TCPLossProbes TCPSackRecovery".
# shellcheck disable=SC2016  # (awk program)
tcp_counters() { # ns
    nsx "$1" awk '$1 == "Tcp:" || $1 == "TcpExt:" { if (!h[$1]) { for (i = 2; i <= NF; i++) col[$1, $i] = i; h[$1] = 1 }
                       else for (k in col) { split(k, kk, SUBSEP); if (kk[1] == $1) v[kk[2]] = $(col[k]) } }
        END { print v["RetransSegs"] + 0, v["TCPTimeouts"] + 0, v["TCPLossProbes"] + 0, v["TCPSackRecovery"] + 0 }' \
        /proc/net/snmp /proc/net/netstat
}
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
# One helper file, subcommands:
#   snap OUT            both appliances' /mpf/stats and /mpf/ports (and /mpf/paths when the
#                       dataplane has it) as "key value" lines: gw.<stat>, gw.drop.<reason>,
#                       gw.port.<port>.<field>, gw.path.<path>.<field>; srv.* the same
#   get OUT A B KEY     B's value minus A's (a missing key counts 0)
#   fserve PORT FILE N CC
#                       serve FILE to N TCP connections, one after the other, with congestion
#                       control CC
#   fetch HOST PORT OUT BUCKETS
#                       fetch a file over TCP; log bytes per 10 ms; print: bytes secs
#                       first_byte_epoch_ms outage_ms outage_start_ms (from the first byte)
#   watch SECS PATH     poll the gateway's counters every 100 ms: print the epoch ms of the
#                       first 100 ms in which PATH's tx frames grew by more than its probes
#                       (> 10 frames; "-" when not within SECS), then the per-100 ms series
#   logwatch OUT TAG=LOG...
#                       follow the logs (every 10 ms), append "epoch_ms TAG line" to OUT
#   json FILE KEY.PATH  a value from a JSON file
cat >"$TMP/mp.py" <<'PYEOF'
import json, os, socket, struct, sys, time

def tel_open(prefix):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect("/var/run/dpdk/%s/dpdk_telemetry.v2" % prefix)
    g = json.loads(s.recv(1024).decode())
    return s, int(g.get("max_output_len", 16384))

def tel_q(t, cmd):
    s, ml = t
    s.send(cmd.encode())
    r = json.loads(s.recv(ml).decode())
    return r.get(cmd) if isinstance(r, dict) else None

def flat(t, tag, out, paths=True):
    st = tel_q(t, "/mpf/stats") or {}
    for k, v in st.items():
        if isinstance(v, int):
            out["%s.%s" % (tag, k)] = v
    for k, v in (st.get("drops") or {}).items():
        out["%s.drop.%s" % (tag, k)] = v
    for pn, pd in (tel_q(t, "/mpf/ports") or {}).items():
        for k, v in pd.items():
            if isinstance(v, int):
                out["%s.port.%s.%s" % (tag, pn, k)] = v
    if paths:
        pp = tel_q(t, "/mpf/paths")
        if isinstance(pp, dict):
            for pn, pd in pp.items():
                if isinstance(pd, dict):
                    for k, v in pd.items():
                        if isinstance(v, int):
                            out["%s.path.%s.%s" % (tag, pn, k)] = v

def snap(path):
    out = {}
    for prefix, tag in (("mpf-gw", "gw"), ("mpf-srv", "srv")):
        t = tel_open(prefix)
        try:
            flat(t, tag, out)
        finally:
            t[0].close()
    with open(path, "w") as f:
        for k in sorted(out):
            f.write("%s %d\n" % (k, out[k]))

def load(path):
    d = {}
    for line in open(path):
        k, v = line.split()
        d[k] = int(v)
    return d

def get(a, b, key):
    print(load(b).get(key, 0) - load(a).get(key, 0))

def fserve(port, path, count, cc):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())   # accepted sockets inherit it
    s.bind(("0.0.0.0", port)); s.listen(4)
    for _ in range(count):
        c, _ = s.accept()
        with open(path, "rb") as f:
            c.sendfile(f)
        c.shutdown(socket.SHUT_WR); c.close()

def fetch(host, port, out, buckets_path):
    t0 = time.monotonic()
    c = socket.create_connection((host, port), timeout=20)
    n = 0; first = None; first_epoch = None; last_b = None
    buckets = {}; gap = 0; gap_at = 0
    with open(out, "wb") as f:
        while True:
            d = c.recv(1 << 20)
            now = time.monotonic()
            if not d:
                break
            if first is None:
                first = now; first_epoch = time.time()
            b = int((now - first) * 100)       # 10 ms slots from the first byte
            buckets[b] = buckets.get(b, 0) + len(d)
            if last_b is not None and b - last_b - 1 > gap:
                gap = b - last_b - 1; gap_at = last_b + 1
            last_b = b
            f.write(d); n += len(d)
    with open(buckets_path, "w") as f:
        for b in range(0, (last_b or 0) + 1):
            f.write("%d %d\n" % (b * 10, buckets.get(b, 0)))
    # goodput before the longest gap and after it (to the end)
    before = sum(v for k, v in buckets.items() if k < gap_at)
    after = n - before
    end_b = (last_b or 0) + 1
    rb = before * 8 / (gap_at / 100.0) / 1e6 if gap_at else 0
    ra = after * 8 / ((end_b - gap_at - gap) / 100.0) / 1e6 if end_b > gap_at + gap else 0
    print(n, "%.3f" % (time.monotonic() - t0), int((first_epoch or 0) * 1000), gap * 10, gap_at * 10,
          "%.1f" % rb, "%.1f" % ra)

def watch(secs, path):
    t = tel_open("mpf-gw")
    def sample():
        o = {}
        flat(t, "gw", o, paths=False)
        return o.get("gw.port.%s.tx_packets" % path, 0), o.get("gw.probes_sent", 0)
    prev = sample(); first_data = None; series = []
    t0 = time.monotonic(); next_poll = t0 + 0.1
    while time.monotonic() < t0 + secs and first_data is None:
        time.sleep(max(0.0, next_poll - time.monotonic()))
        next_poll += 0.1
        cur = sample()
        data = (cur[0] - prev[0]) - (cur[1] - prev[1]) / 2.0   # probes: half on each path
        prev = cur
        series.append("%.0f" % data)
        if data > 10:
            first_data = time.time()
    print("-" if first_data is None else int(first_data * 1000), ",".join(series[-30:]))

def logwatch(out, *logs):
    tags = [l.split("=", 1) for l in logs]
    pos = {tag: 0 for tag, _ in tags}; part = {tag: b"" for tag, _ in tags}
    ino = {tag: None for tag, _ in tags}
    with open(out, "a") as o:
        while True:
            for tag, path in tags:
                try:
                    with open(path, "rb") as f:
                        st = os.fstat(f.fileno())
                        # A restarted appliance writes a new log: read it from its start.
                        if st.st_ino != ino[tag] or st.st_size < pos[tag]:
                            ino[tag], pos[tag], part[tag] = st.st_ino, 0, b""
                        f.seek(pos[tag]); d = f.read()
                except OSError:
                    continue
                if not d:
                    continue
                pos[tag] += len(d)
                lines = (part[tag] + d).split(b"\n"); part[tag] = lines.pop()
                now = int(time.time() * 1000)
                for l in lines:
                    o.write("%d %s %s\n" % (now, tag, l.decode(errors="replace")))
                o.flush()
            time.sleep(0.01)

def jget(path, key):
    d = json.load(open(path))
    for k in key.split("."):
        d = d[k]
    print(d)

cmd, a = sys.argv[1], sys.argv[2:]
if cmd == "snap": snap(a[0])
elif cmd == "get": get(a[0], a[1], a[2])
elif cmd == "fserve": fserve(int(a[0]), a[1], int(a[2]), a[3])
elif cmd == "fetch": fetch(a[0], int(a[1]), a[2], a[3])
elif cmd == "watch": watch(float(a[0]), a[1])
elif cmd == "logwatch": logwatch(a[0], *a[1:])
elif cmd == "json": jget(a[0], a[1])
else: sys.exit("unknown subcommand " + cmd)
PYEOF
MP=("$MPF_PYTHON" "$TMP/mp.py")
snap() { "${MP[@]}" snap "$TMP/snap.$1" 2>>"$TMP/snap.err" || { echo "# telemetry snapshot $1 failed: $(tail -1 "$TMP/snap.err")"; : >"$TMP/snap.$1"; }; }
dv() { "${MP[@]}" get "$TMP/snap.$1" "$TMP/snap.$2" "$3" 2>/dev/null || echo 0; }
jget() { "${MP[@]}" json "$1" "$2" 2>/dev/null || true; }
pct() { awk -v a="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.0f", a * 100 / t; else print 0 }'; }

# ------------------------------------------------------------------ 1. test bed, appliances, paths up
echo "# mpf e2e: multipath, 2 paths, profile std ($BIN)"
if "${TB[@]}" up --paths 2 --profile std >"$TMP/up.log" 2>&1; then
    ok "1. test bed up: 2 paths, profile std"
else
    nok "1. test bed up --paths 2 --profile std"; sed 's/^/#   /' "$TMP/up.log"; exit 1
fi
export MPF_GW_CONF="$MPF_ROOT/configs/examples/gateway-2paths.conf"
export MPF_SRV_CONF="$MPF_ROOT/configs/examples/server-2paths.conf"
t_start="$(now_ms)"
if "${TB[@]}" start-appliances >"$TMP/start.log" 2>&1; then
    ok "1. appliances running with gateway-2paths.conf / server-2paths.conf"
else
    nok "1. appliances start"; sed 's/^/#   /' "$TMP/start.log"; exit 1
fi
: >"$EVENTS"
bg "$TMP/logwatch.err" "${MP[@]}" logwatch "$EVENTS" "gw=$GW_LOG" "srv=$SRV_LOG"
all_up=1
for p in 5g wifi; do
    if w="$(wait_path "$p" up "$t_start" 10)"; then
        ok "1. path $p up on both appliances (logged by the gateway ${w% *} ms, the server ${w#* } ms after start-appliances began)"
    else
        nok "1. path $p not up on both appliances within 10 s (gateway/server: $w)"; all_up=0
    fi
done
if [ "$all_up" = 0 ]; then
    for a in gw srv; do tail -n 25 "$TB_STATE/$a.log" 2>/dev/null | sed "s/^/#   $a| /"; done
    exit 1
fi
# The server knows each path's delay and jitter from the gateway's probes (protocol.md 3.1:
# srtt_us, rttvar_us); its progress stalls wait for them (docs/multipath.md "Failover"). The
# idle std links jitter by 1-2 ms: the gateway's rttvar is far below a quarter of the RTT, the
# server's guess when a probe does not say.
sleep 1
snap paths-idle
for p in 5g wifi; do
    s_srtt="$(awk -v k="srv.path.gw${GW_ID}_$p.srtt_us" '$1 == k { print $2 }' "$TMP/snap.paths-idle")"
    s_var="$(awk -v k="srv.path.gw${GW_ID}_$p.rttvar_us" '$1 == k { print $2 }' "$TMP/snap.paths-idle")"
    g_var="$(awk -v k="gw.path.$p.rttvar_us" '$1 == k { print $2 }' "$TMP/snap.paths-idle")"
    if [ -n "$s_srtt" ] && [ -n "$s_var" ] && [ "$s_var" -gt 0 ] && [ "$((s_var * 4))" -lt "$s_srtt" ]; then
        ok "1. path $p: the server has the gateway's rttvar from its probes: $s_var us (gateway now $g_var us), srtt $s_srtt us"
    else
        nok "1. path $p: server rttvar '${s_var:-?}' us for srtt '${s_srtt:-?}' us (gateway's rttvar '${g_var:-?}'): not the gateway's"
    fi
done

# ------------------------------------------------------------------ 7. ICMP over two paths
out="$(nsx "$HOSTA" ping -n -c 20 -i 0.2 -W 2 "$HOSTB_IP" 2>&1 || true)"
IDLE_P50="$(ping_p50 <<<"$out")"
FIG[ping]="$(grep -o '[0-9]*% packet loss' <<<"$out" || echo '?'), rtt $(grep -o '= [0-9./]* ms' <<<"$out" | sed 's/= //' || echo '?') (min/avg/max/mdev)"
if grep -q ' 20 received, 0% packet loss' <<<"$out"; then
    ok "7. ping Host A -> Host B: 20/20 ($(grep -o 'rtt.*' <<<"$out" || true))"
else
    nok "7. ping Host A -> Host B: $(grep 'packet loss' <<<"$out" || echo "$out" | tail -2)"
fi

# ------------------------------------------------------------------ 2. one TCP flow, both paths
bgns "$TMP/iperf-srv.log" "$HOSTB" iperf3 -s -p 5201
if ! wait_listen "$HOSTB" tcp 5201; then nok "2. iperf3 server on Host B did not start"; fi
# dir: down (-R: Host B sends, the frames arrive at the gateway's path ports) | up (Host A sends,
# the gateway's path ports transmit them).
tcp_flow() { # down|up
    local dir="$1" rflag="" field=tx_packets json="$TMP/iperf-$1.json" mbit try
    [ "$dir" = down ] && { rflag=-R; field=rx_packets; }
    for try in 1 2; do   # a second try only when iperf3 gave no result at all
        snap "tcp-$dir-0"
        # Download: pings beside it, from 1.5 s in (the server's shaper queues are full by then).
        local pinger=""
        if [ "$dir" = down ]; then
            bg "$TMP/ping-load.log" bash -c "sleep 1.5; exec ip netns exec $HOSTA ping -n -i 0.05 -c 100 -W 2 $HOSTB_IP"
            pinger=$LAST_BG
        fi
        # shellcheck disable=SC2086
        timeout --foreground 40 ip netns exec "$HOSTA" iperf3 -c "$HOSTB_IP" -p 5201 -C "$CC" -t 8 $rflag \
            --json >"$json" 2>&1 9>&- || true
        [ -z "$pinger" ] || wait "$pinger" || true
        snap "tcp-$dir-1"
        mbit="$(jget "$json" end.sum_received.bits_per_second)"
        [ -z "$mbit" ] || break
        note "iperf3 $dir gave no result (try $try): $(grep -o '"error":.*' "$json" | head -c 200)"
        sleep 1
    done
    local d5 dw tot
    d5="$(dv "tcp-$dir-0" "tcp-$dir-1" "gw.port.5g.$field")"
    dw="$(dv "tcp-$dir-0" "tcp-$dir-1" "gw.port.wifi.$field")"
    tot=$((d5 + dw))
    if [ -z "$mbit" ]; then
        nok "2. TCP $dir (iperf3 -C $CC 8 s): no result: $(head -c 300 "$json")"
        FIG[tcp_$dir]="no result"; return 0
    fi
    mbit="$(awk -v b="$mbit" 'BEGIN { printf "%.1f", b / 1e6 }')"
    local retr; retr="$(jget "$json" end.sum_sent.retransmits)"
    FIG[tcp_$dir]="$mbit Mbit/s; frames 5g $(pct "$d5" "$tot")% / wifi $(pct "$dw" "$tot")% ($d5 / $dw); $retr retransmits"
    local hosts="A -> B" what
    [ "$dir" = down ] && hosts="B -> A"
    what="2. one TCP flow $dir (Host $hosts, iperf3 -C $CC 8 s): $mbit Mbit/s"
    if fcmp "$mbit > $MIN_MBIT"; then ok "$what > $MIN_MBIT (5G alone ~45), $retr retransmits"
    else nok "$what, need > $MIN_MBIT (more than the best single path)"; fi
    local side; side="$([ "$dir" = down ] && echo "received on" || echo "sent on")"
    if [ "$tot" -gt 0 ] && [ $((d5 * 5)) -gt "$tot" ] && [ $((dw * 5)) -gt "$tot" ]; then
        ok "2. TCP $dir: gateway frames $side 5g $d5 ($(pct "$d5" "$tot")%), wifi $dw ($(pct "$dw" "$tot")%): each > 20%"
    else
        nok "2. TCP $dir: gateway frames $side 5g $d5, wifi $dw: need each > 20% of $tot"
    fi
    [ "$dir" = down ] || return 0
    # The server's reply to a ping is a sparse flow: it takes the fast lane, not the download's
    # bulk queue (up to max_queue_ms = 50 ms). Generous: idle median + 15 ms.
    local p50 fast
    p50="$(ping_p50 <"$TMP/ping-load.log")"
    fast="$(dv "tcp-$dir-0" "tcp-$dir-1" srv.fast_lane)"
    FIG[fast_lane]="ping beside the download: median $p50 ms (idle $IDLE_P50 ms), $(grep -o '[0-9]* received' "$TMP/ping-load.log" || echo '0 received')/100; server fast_lane +$fast"
    if [ "$p50" != - ] && [ "$IDLE_P50" != - ] && fcmp "$p50 <= $IDLE_P50 + 15" && [ "$fast" -gt 0 ]; then
        ok "2. fast lane: ${FIG[fast_lane]}: <= idle + 15 ms"
    else
        nok "2. fast lane: ${FIG[fast_lane]} (want median <= idle + 15 ms, fast_lane > 0)"
    fi
}
tcp_flow down
tcp_flow up

# Delay equalisation: a UDP ping (port 5005, aggregate) beside a 60 Mbit/s UDP upload (more
# than the 5G path carries, so both paths are in use: at 40 the 5G path at its full 50 Mbit/s
# took nearly everything, and the check saw 1 held frame in one run). Each request follows 3 fillers of its own flow, so the flow is not sparse (a sparse one takes the
# fast lane on 5G, the higher rate) and its frames spread over both paths by drain time: the
# requests that go out on WiFi (4 ms) are held by the server ~11 ms (its `equalized` grows)
# and every round trip takes the 5G delay both ways (~31 ms). Without equalisation the
# requests would go on WiFi and come back in ~10-21 ms.
bgns "$TMP/echo.log" "$HOSTB" "$MPF_PYTHON" "$HERE/udpseq.py" echo 5005 12
wait_listen "$HOSTB" udp 5005 || nok "2. UDP echo on Host B did not start"
snap eq0
bgns "$TMP/iperf-eq.log" "$HOSTA" iperf3 -c "$HOSTB_IP" -p 5201 -u -b 60M -l 1200 -t 5
sleep 0.5
read -r answered rmin rmed rmax < <(nsx "$HOSTA" "$MPF_PYTHON" "$HERE/udpseq.py" ping "$HOSTB_IP" 5005 300 10 3 9>&-) || true
snap eq1
eq="$(dv eq0 eq1 srv.equalized)"; hold="$(dv eq0 eq1 srv.equalize_hold_us)"
mean=$(( eq > 0 ? hold / eq : 0 ))
FIG[equalize]="UDP ping beside 60 Mbit/s up: ${answered:-0}/300 answered, rtt min/median/max ${rmin:--}/${rmed:--}/${rmax:--} ms; server held $eq frames, mean ${mean} us"
if [ "${answered:-0}" -ge 250 ] && [ "$eq" -ge 5 ] && fcmp "${rmin:-0} >= 26"; then
    ok "2. delay equalisation: ${FIG[equalize]} (min >= 26 ms: the 5G delay both ways)"
else
    nok "2. delay equalisation: ${FIG[equalize]} (want >= 250 answered, >= 5 held, min rtt >= 26 ms)"
fi

# ------------------------------------------------------------------ 3. downloads surviving a dead path
head -c "$((MB * 1024 * 1024))" /dev/urandom >"$TMP/blob"
SUM_SRC="$(sha256sum "$TMP/blob" | cut -d' ' -f1)"
bgns "$TMP/fserve.log" "$HOSTB" "$MPF_PYTHON" "$TMP/mp.py" fserve 5001 "$TMP/blob" 2 "$CC"
wait_listen "$HOSTB" tcp 5001 || nok "3. file server on Host B did not start"

# Download the blob while `victim` dies ~2 s after the first byte; the path stays down.
# ok YES when counter KEY grew between snapshots A and B, else nok NO (the growth appended).
grew() { # A B KEY YES NO
    local n
    n="$(dv "$1" "$2" "$3")"
    if [ "${n:-0}" -ge 1 ] 2>/dev/null; then ok "$4 (${3#*.} +$n)"; else nok "$5 (${3#*.} +${n:-?})"; fi
}
download_with_failure() { # victim
    local v="$1" pid t_down t_down_done bytes secs first outage gap_at r_before r_after sum det _i
    rm -f "$TMP/got"
    local c0 c1
    c0="$(tcp_counters "$HOSTB")"
    snap "dl-$v-0"
    ip netns exec "$HOSTA" timeout -k 5 90 "$MPF_PYTHON" "$TMP/mp.py" fetch "$HOSTB_IP" 5001 \
        "$TMP/got" "$TMP/buckets-$v" >"$TMP/fetch-$v.out" 2>&1 </dev/null 9>&- &
    pid=$!; BG_PIDS+=("$pid")
    for _i in $(seq 100); do [ -s "$TMP/got" ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    sleep 1.9
    t_down="$(now_ms)"
    tbpath down "$v"
    t_down_done="$(now_ms)"
    wait "$pid" || true
    c1="$(tcp_counters "$HOSTB")"
    snap "dl-$v-1"
    read -r bytes secs first outage gap_at r_before r_after <"$TMP/fetch-$v.out" || true
    sum="$(sha256sum "$TMP/got" 2>/dev/null | cut -d' ' -f1 || true)"
    det="$(wait_path "$v" down "$t_down" 3)" || true
    local what="3. TCP download $MB MiB Host B -> Host A, $v dies $(( t_down - ${first:-$t_down} )) ms after the first byte"
    if [ "${bytes:-}" = "$((MB * 1024 * 1024))" ] && [ "$sum" = "$SUM_SRC" ]; then
        ok "$what: connection kept, complete in ${secs}s, sha256 equal"
    else
        nok "$what: got '$(head -c 300 "$TMP/fetch-$v.out")', sha256 ${sum:-none}"
    fi
    if [ -n "${outage:-}" ] && [ "$outage" -lt "$MAX_OUTAGE_MS" ]; then
        ok "3. $v dies: outage $outage ms (longest time without a byte at Host A, 10 ms slots), < $MAX_OUTAGE_MS"
    else
        nok "3. $v dies: outage ${outage:-?} ms, need < $MAX_OUTAGE_MS"
    fi
    local rel="?"
    [ -n "${first:-}" ] && [ -n "${gap_at:-}" ] && rel=$(( first + gap_at - t_down ))
    FIG[out_$v]="$outage ms, from +$rel ms after \`path down\`; detected gw +${det% *} / srv +${det#* } ms; ${r_before:-?} -> ${r_after:-?} Mbit/s"
    note "$v down: the longest gap begins $rel ms after \`path down $v\` began (the command took $((t_down_done - t_down)) ms; its first two rules cut the path, one direction each); 'path $v down' logged by the gateway +${det% *} ms, the server +${det#* } ms after it began"
    note "$v down: Host B's TCP (the sender) meanwhile: $(awk -v a="$c0" -v b="$c1" 'BEGIN { split(a, x, " "); split(b, y, " ")
        printf "%d segments retransmitted, %d RTO timeouts, %d loss probes, %d SACK recoveries", y[1] - x[1], y[2] - x[2], y[3] - x[3], y[4] - x[4] }')"
    # The server (the sender) hears within about a round trip that its frames on the dead path
    # stopped arriving (progress reports, docs/multipath.md "Failover"), before dead_after_ms.
    grew "dl-$v-0" "dl-$v-1" srv.progress_stalls \
        "3. $v dies: the server's worker took it down from the progress reports" \
        "3. $v dies: no progress stall on the server: failover waited for dead_after_ms"
    # The gateway's reorder windows held the gaps the dead path left until the server's failover
    # resends came (lib/reorder/silence_watch.hpp), rather than handing the holes to Host A.
    grew "dl-$v-0" "dl-$v-1" gw.reorder_silence_waits \
        "3. $v dies: the gateway's reorder windows waited for the failover" \
        "3. $v dies: the gateway's reorder windows did not wait for the failover"
    local k mp=""
    for k in srv.progress_stalls srv.progress_resumed \
             srv.failover_resends srv.failover_flushed srv.retransmits srv.feedback_received \
             gw.feedback_sent gw.reorder_held gw.reorder_timeouts gw.reorder_silence_waits \
             gw.reorder_late gw.drop.duplicate; do
        mp="$mp $k +$(dv "dl-$v-0" "dl-$v-1" "$k")"
    done
    note "$v down: mpf meanwhile:$mp"
    note "$v down: goodput before the gap ${r_before:-?} Mbit/s, after it ${r_after:-?} Mbit/s; per 0.5 s: $(awk '{ s[int($1 / 500)] += $2; if ($1 / 500 > m) m = int($1 / 500) }
        END { for (i = 0; i <= m; i++) printf "%.0f ", s[i] * 8 / 0.5 / 1e6 }' "$TMP/buckets-$v" 2>/dev/null)"
}
download_with_failure wifi

# ------------------------------------------------------------------ 6. a recovered path carries traffic again
# WiFi is still down. A TCP upload runs on 5G; WiFi comes back during it.
timeout --foreground 30 ip netns exec "$HOSTA" iperf3 -c "$HOSTB_IP" -p 5201 -C "$CC" -t 7 \
    --json >"$TMP/iperf-rec.json" 2>&1 </dev/null 9>&- &
ipid=$!; BG_PIDS+=("$ipid")
sleep 2.5
bg "$TMP/watch.out" "${MP[@]}" watch 5 wifi
wpid=$LAST_BG
sleep 0.5
t_up="$(now_ms)"
tbpath up wifi
t_up_done="$(now_ms)"
wait "$wpid" || true
log_up="$(wait_event gw "^mpf-dataplane: path wifi up" "$t_up" 3)" || true
wait "$ipid" || true
read -r first_data series <"$TMP/watch.out" || true
cmd_ms=$((t_up_done - t_up))
if [ "${log_up:--}" != - ] && [ "${first_data:--}" != - ]; then
    r_log=$((log_up - t_up)); r_data=$((first_data - t_up)); r_after=$((first_data - log_up))
    FIG[recovery]="'path wifi up' logged +$r_log ms, first data on wifi +$r_data ms after \`path up\` began (+$r_after ms after the log)"
    if [ "$r_data" -le "$RECOVERY_MAX_MS" ]; then
        ok "6. wifi back: 'path wifi up' logged $r_log ms after \`path up wifi\` began (the command took $cmd_ms ms), first data frames on it $r_after ms after the log line ($r_data ms in all, <= $RECOVERY_MAX_MS)"
    else
        nok "6. wifi back: first data frames on it $r_data ms after \`path up wifi\` began (logged up after $r_log ms), need <= $RECOVERY_MAX_MS"
    fi
else
    FIG[recovery]="log up ${log_up:-?}, first data ${first_data:-?} (not seen)"
    nok "6. wifi back: 'path wifi up' logged at ${log_up:-?}, first data frames at ${first_data:-?} (epoch ms; \`path up\` at $t_up; - = not seen): wifi data frames per 100 ms: ${series:-?}"
fi
mbit="$(jget "$TMP/iperf-rec.json" end.sum_received.bits_per_second)"
[ -z "$mbit" ] || note "upload during the recovery: $(awk -v b="$mbit" 'BEGIN { printf "%.1f", b / 1e6 }') Mbit/s over 7 s"
if w="$(wait_path wifi up "$t_up" 5)"; then :; else nok "6. wifi not up again on both appliances (gateway/server: $w)"; fi

# ------------------------------------------------------------------ 3b. the same with 5G dying
download_with_failure 5g
t_cmd="$(now_ms)"
tbpath up 5g
if w="$(wait_path 5g up "$t_cmd" 5)"; then ok "3. 5g back up on both appliances (logged by the gateway +${w% *} ms, the server +${w#* } ms after \`path up 5g\` began)"
else nok "3. 5g not up again on both appliances within 5 s (gateway/server: $w)"; fi
rm -f "$TMP/got" "$TMP/blob"

# ------------------------------------------------------------------ 4. redundant UDP, WiFi dies
N4=2000; PORT4=20000
bgns "$TMP/urecv4.out" "$HOSTB" "$MPF_PYTHON" "$HERE/udpseq.py" recv "$PORT4" "$N4" 2 30
rpid=$LAST_BG
if wait_listen "$HOSTB" udp "$PORT4"; then
    snap red0
    bgns "$TMP/usend4.out" "$HOSTA" "$MPF_PYTHON" "$HERE/udpseq.py" send "$HOSTB_IP" "$PORT4" "$N4" 1
    spid=$LAST_BG
    sleep 1
    t_cmd="$(now_ms)"
    tbpath down wifi
    wait "$spid" || true
    wait "$rpid" || true
    snap red1
    read -r uniq dup missing bad _firstmiss <"$TMP/urecv4.out" || true
    read -r _n ssecs <"$TMP/usend4.out" || true
    det="$(wait_path wifi down "$t_cmd" 1)" || true
    copies="$(dv red0 red1 gw.redundant_copies)"
    sdup="$(dv red0 red1 srv.drop.duplicate)"
    FIG[redundant]="${uniq:-?}/$N4 received once, ${missing:-?} lost, ${dup:-?} duplicated; gw copies $copies, srv duplicate drops $sdup"
    what="4. redundant UDP to port $PORT4: $N4 datagrams 1 ms apart (sent in ${ssecs:-?}s), wifi down after 1 s"
    if [ "${uniq:-}" = "$N4" ] && [ "${dup:-}" = 0 ] && [ "${bad:-}" = 0 ]; then
        ok "$what: every sequence number exactly once (0 lost, 0 duplicated)"
    else
        nok "$what: $(head -c 200 "$TMP/urecv4.out") (unique dup missing bad first-missing...)"
    fi
    if [ "$copies" -gt 0 ] && [ "$sdup" -gt 0 ]; then
        ok "4. gateway sent $copies redundant copies, the server dropped $sdup duplicates"
    else
        nok "4. gateway redundant_copies +$copies, server duplicate drops +$sdup: need both > 0"
    fi
    [ "${det% *}" != - ] || nok "4. gateway did not log 'path wifi down'"
else
    nok "4. UDP receiver on Host B did not start"
fi
t_cmd="$(now_ms)"
tbpath up wifi
if w="$(wait_path wifi up "$t_cmd" 5)"; then :; else nok "4. wifi not up again on both appliances (gateway/server: $w)"; fi

# ------------------------------------------------------------------ 5. pinned UDP (dst 53)
N5=500
pinned_phase() { # tag -> sets P5_* ; sends N5 datagrams to Host B:53
    local tag="$1" rp sp
    bgns "$TMP/urecv5-$tag.out" "$HOSTB" "$MPF_PYTHON" "$HERE/udpseq.py" recv 53 "$N5" 1.5 20
    rp=$LAST_BG
    wait_listen "$HOSTB" udp 53 || { nok "5. UDP receiver on Host B port 53 did not start"; return 1; }
    snap "pin-$tag-0"
    bgns "$TMP/usend5-$tag.out" "$HOSTA" "$MPF_PYTHON" "$HERE/udpseq.py" send "$HOSTB_IP" 53 "$N5" 1
    sp=$LAST_BG
    wait "$sp" || true
    sleep 0.2
    snap "pin-$tag-1"
    wait "$rp" || true
    P5_5G="$(dv "pin-$tag-0" "pin-$tag-1" gw.port.5g.tx_packets)"
    P5_WIFI="$(dv "pin-$tag-0" "pin-$tag-1" gw.port.wifi.tx_packets)"
    P5_PROBES=$(( $(dv "pin-$tag-0" "pin-$tag-1" gw.probes_sent) / 2 ))
    read -r P5_GOT _d _m _b _f <"$TMP/urecv5-$tag.out" || P5_GOT=0
    P5_GOT="${P5_GOT:-0}"
}
if pinned_phase both; then
    d5=$((P5_5G - P5_PROBES)); dwf=$((P5_WIFI - P5_PROBES))
    FIG[pinned]="5g up: 5g +$P5_5G frames, wifi +$P5_WIFI (probes per path ~$P5_PROBES), $P5_GOT/$N5 arrived"
    if [ "$d5" -ge "$N5" ] && [ "$dwf" -lt $((N5 / 10)) ] && [ "$P5_GOT" = "$N5" ]; then
        ok "5. pinned UDP to port 53: 5g sent +$P5_5G frames, wifi +$P5_WIFI (~$P5_PROBES probes per path in that time): wifi carried none of the $N5; $P5_GOT arrived"
    else
        nok "5. pinned UDP to port 53: 5g +$P5_5G, wifi +$P5_WIFI frames, ~$P5_PROBES probes per path, $P5_GOT/$N5 arrived: need 5g data >= $N5, wifi data < $((N5 / 10)), all arrived"
    fi
fi
t_cmd="$(now_ms)"
tbpath down 5g
if w="$(wait_path 5g down "$t_cmd" 3)"; then
    if pinned_phase fallback; then
        dwf=$((P5_WIFI - P5_PROBES))
        FIG[pinned]="${FIG[pinned]}; 5g down: wifi +$P5_WIFI frames, $P5_GOT/$N5 arrived"
        if [ "$dwf" -ge "$N5" ] && [ "$P5_GOT" = "$N5" ]; then
            ok "5. 5g down (logged after ${w% *} ms): pinned UDP falls back to wifi: +$P5_WIFI frames (~$P5_PROBES probes), $P5_GOT/$N5 arrived at Host B"
        else
            nok "5. 5g down: pinned UDP on wifi +$P5_WIFI frames (~$P5_PROBES probes), $P5_GOT/$N5 arrived: need wifi data >= $N5 and all arrived"
        fi
    fi
else
    nok "5. 5g not seen down on both appliances within 3 s (gateway/server: $w)"
fi
t_cmd="$(now_ms)"
tbpath up 5g
if w="$(wait_path 5g up "$t_cmd" 5)"; then ok "5. 5g up again on both appliances"
else nok "5. 5g not up again on both appliances (gateway/server: $w)"; fi

# ------------------------------------------------------------------ 9. rate control
# Fresh appliances whose max_rate is twice the links: only rate control keeps the queues in mpf.
snap final
for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
for role in gateway server; do
    sed -e 's/max_rate = "[0-9]*M"; weight = 5/max_rate = "100M"; weight = 5/' \
        -e 's/max_rate = "[0-9]*M"; weight = 3/max_rate = "60M"; weight = 3/' \
        "$MPF_ROOT/configs/examples/$role-2paths.conf" >"$TMP/$role-ceiling.conf"
done
# Stops the appliances (their exit status is check 8 for the checks they ran) and starts them
# with other configs, and any VAR=value given (e.g. MPF_GW_LCORES); a failed start is a `nok`
# for `what` (status 1).
restart_appliances() { # step what checks-ran gw-conf srv-conf [VAR=value...]
    local step="$1" what="$2" ran="$3" gwc="$4" srvc="$5" a rc
    shift 5
    "${TB[@]}" stop-appliances >"$TMP/stop-$step.log" 2>&1 || true
    for a in gw srv; do
        rc="$(cat "$TB_STATE/$a.rc" 2>/dev/null || echo '?')"
        if [ "$rc" = 0 ]; then ok "8. $a (checks $ran): exited with status 0 after SIGTERM"
        else nok "8. $a (checks $ran): exit status $rc after SIGTERM"; sed 's/^/#   /' "$TMP/stop-$step.log"; fi
    done
    if ! env "$@" MPF_GW_CONF="$gwc" MPF_SRV_CONF="$srvc" "${TB[@]}" start-appliances \
            >"$TMP/start-$step.log" 2>&1; then
        nok "$step. $what: appliances did not start"; sed 's/^/#   /' "$TMP/start-$step.log"
        return 1
    fi
}
# An iperf3 --json result: received Mbit/s (one decimal; 0.0 when missing), and the same per
# second ("?" when unreadable).
iperf_mbit() { awk -v b="$(jget "$1" end.sum_received.bits_per_second)" 'BEGIN { printf "%.1f", (b ? b : 0) / 1e6 }'; }
# The server's shaping rate of a path in a telemetry snapshot, Mbit/s (empty when missing).
srv_rate_mbit() { # snap-name path
    awk -v k="srv.path.gw${GW_ID}_$2.rate_Bps" '$1 == k { printf "%.1f", $2 * 8 / 1e6 }' "$TMP/snap.$1"
}
rate_control_check() {
    grep -q 'max_rate = "100M"' "$TMP/server-ceiling.conf" || { nok "9. rate control: could not write the configs"; return; }
    restart_appliances 9 "rate control" 1-5 "$TMP/gateway-ceiling.conf" "$TMP/server-ceiling.conf" ||
        return
    sleep 2  # paths up (3 probes), ARP
    # Two attempts: the rates start at twice the links, and on this shared 2-core machine a
    # start that overflows the wire queues before rate control catches up happens now and
    # then (47.3 Mbit/s in one dry run of CI). Both attempts are reported. Rates that collapse
    # (seen once under host CPU contention: 13 / 16 Mbit/s, a known weakness) fail both.
    local attempt pinger mbit p50 r5 rw secs first=""
    for attempt in 1 2; do
        if [ "$attempt" = 2 ]; then
            # Fresh appliances again, so the second download also starts at twice the links.
            "${TB[@]}" stop-appliances >"$TMP/stop-9b.log" 2>&1 || true
            if ! MPF_GW_CONF="$TMP/gateway-ceiling.conf" MPF_SRV_CONF="$TMP/server-ceiling.conf" \
                    "${TB[@]}" start-appliances >"$TMP/start-9b.log" 2>&1; then
                nok "9. rate control: appliances did not start again"; sed 's/^/#   /' "$TMP/start-9b.log"; return
            fi
            sleep 2
        fi
        bgns "$TMP/iperf-srv9.log" "$HOSTB" iperf3 -s -1 -p 5202
        wait_listen "$HOSTB" tcp 5202 || { nok "9. rate control: iperf3 server did not start"; return; }
        bg "$TMP/ping-9.log" bash -c "sleep 2; exec ip netns exec $HOSTA ping -n -i 0.05 -c 80 -W 2 $HOSTB_IP"
        pinger=$LAST_BG
        timeout --foreground 40 ip netns exec "$HOSTA" iperf3 -c "$HOSTB_IP" -p 5202 -C "$CC" -t 8 -R \
            --json >"$TMP/iperf-9.json" 2>&1 9>&- || true
        wait "$pinger" || true
        snap rate
        mbit="$(iperf_mbit "$TMP/iperf-9.json")"
        secs="$(iperf_secs "$TMP/iperf-9.json")"
        p50="$(ping_p50 <"$TMP/ping-9.log")"
        r5="$(srv_rate_mbit rate 5g)"
        rw="$(srv_rate_mbit rate wifi)"
        FIG[rate_control]="max_rate 100M/60M: download $mbit Mbit/s (per second: $secs), ping median $p50 ms (idle $IDLE_P50), server rates 5g ${r5:-?} / wifi ${rw:-?} Mbit/s$first"
        if fcmp "$mbit > $MIN_MBIT" && [ "$p50" != - ] && [ "$IDLE_P50" != - ] && fcmp "$p50 <= $IDLE_P50 + 20" &&
            [ -n "$r5" ] && [ -n "$rw" ] && fcmp "$r5 < 75 && $rw < 45"; then
            ok "9. rate control: ${FIG[rate_control]}"
            return
        fi
        first="; attempt 1: $mbit Mbit/s (per second: $secs), ping median $p50 ms"
    done
    nok "9. rate control: ${FIG[rate_control]} (want > $MIN_MBIT Mbit/s, median <= idle + 20 ms, rates 5g < 75, wifi < 45)"
}
rate_control_check

# ------------------------------------------------------------------ 10. idle probing
# Nothing sent for idle_after_ms (3 s): the gateway probes every idle_probe_interval_ms (1 s)
# instead of 25 ms, and both appliances keep the paths up through the longer silences. A path
# that dies while idle is still found (4 s: as many intervals as dead_after_ms is of
# probe_interval_ms). The first packet after the idle spell brings 25 ms probing back at once:
# a path restored while idle comes up within 1 s of traffic starting (at 1 s probes, 3
# answered in a row take 2 s or more).
idle_check() {
    local p0 s0 gw0 sv0 dead up since out
    # The log watcher stopped with the other helpers before check 9: a new one, on the new logs.
    bg "$TMP/logwatch-10.err" "${MP[@]}" logwatch "$EVENTS" "gw=$GW_LOG" "srv=$SRV_LOG"
    sleep 4.5
    snap idle1
    sleep 3
    snap idle2
    p0="$(dv idle1 idle2 gw.probes_sent)"
    s0="$(dv rate idle2 gw.probe_slowdowns)"
    gw0="$(dv idle1 idle2 gw.path_changes)"; sv0="$(dv idle1 idle2 srv.path_changes)"
    FIG[idle]="gateway probes in 3 s idle: $p0 (busy: ~240), slowdowns $s0"
    if [ "$p0" -ge 2 ] && [ "$p0" -le 16 ] && [ "$s0" -ge 1 ] && [ "$gw0" = 0 ] && [ "$sv0" = 0 ]; then
        ok "10. idle: ${FIG[idle]}; no path changed state on either appliance"
    else
        nok "10. idle: ${FIG[idle]}, path changes gw $gw0 srv $sv0 (want 2..16 probes, >= 1 slowdown, 0 changes)"
    fi
    since="$(now_ms)"
    tbpath down wifi
    if dead="$(wait_path wifi down "$since" 10)"; then
        FIG[idle]+="; wifi died while idle: down after ${dead% *} / ${dead#* } ms (gw/srv)"
        ok "10. WiFi dies while idle: down on the gateway after ${dead% *} ms, the server after ${dead#* } ms (dead time 4 s idle)"
    else
        nok "10. WiFi died while idle: not down on both appliances within 10 s (gw/srv: $dead)"
    fi
    tbpath up wifi
    sleep 0.3
    since="$(now_ms)"
    out="$(nsx "$HOSTA" ping -n -c 40 -i 0.05 -W 2 "$HOSTB_IP" 2>&1 || true)"
    up="$(wait_path wifi up "$since" 5 || true)"
    FIG[idle]+="; restored while idle, traffic: wifi up after ${up% *} / ${up#* } ms"
    if grep -q ' 40 received' <<<"$out" && [ "${up% *}" != - ] && [ "${up#* }" != - ] &&
        [ "${up% *}" -le 1000 ] && [ "${up#* }" -le 1000 ]; then
        ok "10. traffic after the idle spell: ping 40/40, WiFi (restored while idle) up after ${up% *} ms (gw) / ${up#* } ms (srv) of traffic"
    else
        nok "10. traffic after the idle spell: $(grep -o '[0-9]* received' <<<"$out" || echo '?') of 40 pings, WiFi up after '$up' ms (gw/srv; want <= 1000: probing fast again)"
    fi
}
idle_check

# ------------------------------------------------------------------ 12. max_rate "auto"
# Both appliances restarted with max_rate = "auto" on both paths: no rate given, rate control
# discovers each path's capacity from 8 Mbit/s (docs/multipath.md, "Rate control"). Without a
# rate (max_rate absent) a path is unshaped and aggregate uses one path only. One TCP
# download must get more than the best single path, and the server's rates must have found the
# links (5G 50, WiFi 30 Mbit/s), neither stuck at the start nor far above.
auto_rate_check() {
    local a mbit secs r5 rw
    for a in gateway server; do
        sed -E 's/max_rate = "[0-9]+M"/max_rate = "auto"/' "$MPF_ROOT/configs/examples/$a-2paths.conf" \
            >"$TMP/$a-auto.conf"
        [ "$(grep -c 'max_rate = "auto"' "$TMP/$a-auto.conf")" = 2 ] ||
            { nok "12. max_rate auto: could not write the $a config"; return; }
    done
    restart_appliances 12 "max_rate auto" 9-10 "$TMP/gateway-auto.conf" "$TMP/server-auto.conf" ||
        return
    sleep 2  # paths up (3 probes), ARP
    bgns "$TMP/iperf-srv12.log" "$HOSTB" iperf3 -s -1 -p 5204
    wait_listen "$HOSTB" tcp 5204 || { nok "12. max_rate auto: iperf3 server did not start"; return; }
    timeout --foreground 40 ip netns exec "$HOSTA" iperf3 -c "$HOSTB_IP" -p 5204 -C "$CC" -t 8 -R \
        --json >"$TMP/iperf-12.json" 2>&1 9>&- || true
    snap auto
    mbit="$(iperf_mbit "$TMP/iperf-12.json")"
    secs="$(iperf_secs "$TMP/iperf-12.json")"
    r5="$(srv_rate_mbit auto 5g)"
    rw="$(srv_rate_mbit auto wifi)"
    FIG[auto]="max_rate auto: download $mbit Mbit/s (per second: $secs), server rates found 5g ${r5:-?} / wifi ${rw:-?} Mbit/s"
    if fcmp "$mbit > $MIN_MBIT" && [ -n "$r5" ] && [ -n "$rw" ] &&
        fcmp "$r5 > 35 && $r5 < 65 && $rw > 20 && $rw < 40"; then
        ok "12. ${FIG[auto]}"
    else
        nok "12. ${FIG[auto]} (want > $MIN_MBIT Mbit/s, rates 5g 35..65, wifi 20..40)"
    fi
}
auto_rate_check

# ------------------------------------------------------------------ 11. two workers
# Both appliances restarted with two worker lcores and the main lcore (--lcores (0-2)@(0,1) on
# this 2-CPU machine; af_packet with 3 queue pairs: a TX queue per lcore, the RX sockets polled
# by the workers in turn). One TCP flow stays on one worker, and each worker paces its own part
# of every path's rate: the main lcore splits the rate by the workers' load (docs/multipath.md,
# "Shaping"). With an even split the flow got half of each path, 36.6 Mbit/s down and 36.4 up
# (measured; below 5G alone); it must get more than the best single path each way.
two_workers_check() {
    local a dir mbit ups
    restart_appliances 11 "two workers" 12 "$MPF_GW_CONF" "$MPF_SRV_CONF" MPF_AF_QPAIRS=3 \
        "MPF_GW_LCORES=--lcores (0-2)@(0,1)" "MPF_SRV_LCORES=--lcores (0-2)@(0,1)" || return
    for a in gw srv; do
        grep -q "2 worker lcore(s)" "$TB_STATE/$a.log" ||
            { nok "11. two workers: $a does not run 2 workers"; grep running "$TB_STATE/$a.log" | sed 's/^/#   /'; return; }
    done
    for _ in $(seq 50); do
        ups="$(cat "$GW_LOG" "$SRV_LOG" | grep -cE 'path (5g|wifi) up')"
        [ "$ups" -ge 4 ] && break
        sleep 0.2
    done
    [ "$ups" -ge 4 ] || { nok "11. two workers: both paths not up on both appliances within 10 s"; return; }
    FIG[workers]=""
    for dir in down up; do
        bgns "$TMP/iperf-srv11-$dir.log" "$HOSTB" iperf3 -s -1 -p 5203
        wait_listen "$HOSTB" tcp 5203 || { nok "11. two workers: iperf3 server did not start"; return; }
        bg "$TMP/iperf-11-$dir.json" timeout 40 ip netns exec "$HOSTA" iperf3 -c "$HOSTB_IP" -p 5203 \
            -C "$CC" -t 8 $([ "$dir" = down ] && echo -R) --json
        local client=$LAST_BG
        sleep 5
        snap "w11$dir"  # mid-transfer: the sending appliance's 5G rate and its workers' shares
        wait "$client" || true
        mbit="$(iperf_mbit "$TMP/iperf-11-$dir.json")"
        local key=gw.path.5g
        [ "$dir" = down ] && key="srv.path.gw${GW_ID}_5g"
        local sh
        sh="$(awk -v k="$key" '$1 == k ".rate_Bps" { r = $2 } $1 == k ".share_Bps_w0" { a = $2 }
            $1 == k ".share_Bps_w1" { b = $2 }
            END { if (r > 0) printf "%.0f %.0f", 100 * (a > b ? a : b) / r, 100 * (a < b ? a : b) / r }' "$TMP/snap.w11$dir")"
        FIG[workers]+="${FIG[workers]:+, }$dir $mbit Mbit/s (5G shares ${sh:-?} %)"
        if fcmp "$mbit > $MIN_MBIT" && [ -n "$sh" ] && [ "${sh% *}" -ge 90 ]; then
            ok "11. two workers per appliance: one TCP flow $dir $mbit Mbit/s (> $MIN_MBIT), the sender's 5G rate split ${sh% *}/${sh#* } % between its workers mid-transfer"
        else
            nok "11. two workers per appliance: one TCP flow $dir $mbit Mbit/s (want > $MIN_MBIT; an even split of the paths' rates gives ~36), 5G rate split '${sh:-?}' % (want the loaded worker >= 90)"
        fi
    done
}
two_workers_check

# ------------------------------------------------------------------ 8. stop, logs, teardown
for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
note "gateway: $(grep -E '^gw\.(redundant_copies|retransmits|retransmit_misses|retransmit_over_budget|failover_resends|feedback_sent|feedback_received|path_changes|sent_no_path_up) ' "$TMP/snap.final" | tr '\n' ' ')"
note "server: $(grep -E '^srv\.(redundant_copies|retransmits|failover_resends|feedback_sent|feedback_received|path_changes|reorder_held|reorder_late|reorder_timeouts) ' "$TMP/snap.final" | tr '\n' ' ')"
note "server drops: $(grep -E '^srv\.drop\.' "$TMP/snap.final" | tr '\n' ' ')"
note "gateway drops: $(grep -E '^gw\.drop\.' "$TMP/snap.final" | tr '\n' ' ')"
"${TB[@]}" stop-appliances >"$TMP/stop.log" 2>&1 || true
for a in gw srv; do
    rc="$(cat "$TB_STATE/$a.rc" 2>/dev/null || echo '?')"
    if [ "$rc" = 0 ]; then ok "8. $a: exited with status 0 after SIGTERM"
    else nok "8. $a: exit status $rc after SIGTERM"; fi
done
if [ "${#FAILS[@]}" -gt 0 ]; then
    echo "# appliance log tails:"
    for a in gw srv; do tail -n 30 "$TB_STATE/$a.log" 2>/dev/null | sed "s/^/#   $a| /"; done
fi
if [ "${MPF_E2E_KEEP:-0}" = 1 ] && [ "${#FAILS[@]}" -gt 0 ]; then
    :
else
    "${TB[@]}" down >/dev/null 2>&1 || true
    left=""
    for n in $(ip netns list | awk '{print $1}'); do
        for o in "${OUR_NS[@]}"; do [ "$n" = "$o" ] && left="$left $n"; done
    done
    if [ -z "$left" ]; then ok "8. test bed down: no mpf- test bed namespaces left"
    else nok "8. test bed down left:$left"; fi
fi

echo "# ---------------------------------------------------------------- figures"
printf '# %-34s %s\n' "TCP 1 flow download (8 s)" "${FIG[tcp_down]:-?}"
printf '# %-34s %s\n' "TCP 1 flow upload (8 s)" "${FIG[tcp_up]:-?}"
printf '# %-34s %s\n' "download, wifi dies: outage" "${FIG[out_wifi]:-?}"
printf '# %-34s %s\n' "download, 5g dies: outage" "${FIG[out_5g]:-?}"
printf '# %-34s %s\n' "wifi recovery" "${FIG[recovery]:-?}"
printf '# %-34s %s\n' "redundant UDP, wifi dies" "${FIG[redundant]:-?}"
printf '# %-34s %s\n' "delay equalisation" "${FIG[equalize]:-?}"
printf '# %-34s %s\n' "pinned UDP dst 53" "${FIG[pinned]:-?}"
printf '# %-34s %s\n' "ping x20" "${FIG[ping]:-?}"
printf '# %-34s %s\n' "fast lane" "${FIG[fast_lane]:-?}"
printf '# %-34s %s\n' "rate control" "${FIG[rate_control]:-?}"
printf '# %-34s %s\n' "idle probing" "${FIG[idle]:-?}"
printf '# %-34s %s\n' "max_rate auto" "${FIG[auto]:-?}"
printf '# %-34s %s\n' "two workers, 1 TCP flow" "${FIG[workers]:-?}"
echo "# $PASS passed, ${#FAILS[@]} failed, $(fmt_secs "$(( $(now_ms) - T0 ))")s"
for f in "${FAILS[@]}"; do echo "#   failed: $f"; done
if [ "${#FAILS[@]}" = 0 ]; then exit 0; else exit 1; fi
