#!/usr/bin/env python3
"""mpf multipath benchmark: TCP/UDP goodput, failover and RTT under load on the netns test bed,
side by side with plain TCP on each path alone and kernel MPTCP over both paths, measured in
the same run on the same emulated links.  Usage: multipath.py [--json] [--quick] [...]
(tools/mpf bench multipath --help).

Per profile (tools/testbed up --paths 2 --profile P):
  1. kernel phase (tools/testbed kernel-mode on; the appliances are not running):
     plain TCP directly over each wire alone (mpf-gw -> mpf-srv, bound to the path's address:
     source routing puts it on that wire), plain TCP through the kernel VXLAN tunnel of one
     path (Host A -> Host B, 50 bytes of encapsulation; mpf's are 53), and kernel MPTCP between
     mpf-gw and mpf-srv with one subflow per wire (mptcpize run iperf3; the topology of the
     MPTCP-proxy products: MPTCP between the site router and a server on the Internet);
  2. mpf phase: the two appliances with configs/examples/*-2paths.conf (max_rate set to the
     profile's link rates), Host A <-> Host B through them.
Every TCP figure is measured with cubic and with bbr at both ends (iperf3 -C).
"""
import argparse
import fcntl
import json
import os
import platform
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from telemetry import Telemetry, TelemetryError  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
TESTBED = os.path.join(ROOT, "tools", "testbed")
LOCK = "/run/lock/mpf-testbed.lock"
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
IPPROTO_MPTCP = getattr(socket, "IPPROTO_MPTCP", 262)

NS_HOSTA, NS_HOSTB, NS_GW, NS_SRV = "mpf-hosta", "mpf-hostb", "mpf-gw", "mpf-srv"
HOSTA, HOSTB, SRV_T0 = "192.168.10.2", "198.51.100.2", "10.99.0.1"
PATHS = ("5g", "wifi")
GW_ADDR = {"5g": "10.5.0.2", "wifi": "10.6.0.2"}
# Each wire namespace: (ns, interface towards the gateway, interface towards the internet).
# tx_bytes of the gateway-side interface = what the path carried down, of the other = up.
WIRE = {"5g": ("mpf-w5g", "w5-gw", "w5-inet"), "wifi": ("mpf-wwifi", "ww-gw", "ww-inet")}
LABEL = {"5g": "5G", "wifi": "WiFi"}

# What tools/testbed applies (profile_params there): rate Mbit/s, one-way delay ms, loss %.
PROFILES = {
    "std":   {"5g": (50, 15, 0.0), "wifi": (30, 4, 0.0)},
    "lossy": {"5g": (50, 15, 0.5), "wifi": (30, 4, 1.0)},
    "asym":  {"5g": (40, 40, 0.0), "wifi": (20, 2, 0.0)},
}
# max_rate of each path in the appliance configs: each link's nominal rate (the example configs'
# 50M / 30M are the std links'), as an operator would write it; rate control (on by default)
# finds what the link really carries below it.
MAX_RATE = {"std": ("50M", "30M"), "lossy": ("50M", "30M"), "asym": ("40M", "20M")}
CCS = ("cubic", "bbr")
SYSTEMS = ("mpf", "mptcp", "plain_5g", "plain_wifi", "vxlan_5g", "vxlan_wifi")

# Failover schedules (seconds after the receiver's start): (time, path, "down"|"up"), end.
# A path stays dead 6 s (--quick: 4 s): long enough for TCP's RTO backoff on a dead subflow
# to matter, as it does in the field.
SCHEDULE_FULL = ([(3.0, "wifi", "down"), (9.0, "wifi", "up"),
                  (19.0, "5g", "down"), (25.0, "5g", "up")], 35.0)
SCHEDULE_QUICK = ([(2.0, "wifi", "down"), (6.0, "wifi", "up")], 14.0)
BIN = 0.01                # receive and wire-counter resolution, seconds
RECOVERY_SHARE = 0.25     # a restored path is "in use" once it carries 25% of its link rate...
RECOVERY_WINDOW = 0.1     # ...over 100 ms
OUTAGE_WINDOW = 3.0       # look for the gap this long after a path dies
AGG_WINDOW = 0.5          # "aggregating again": receive rate over 500 ms ...
AGG_FACTOR = 1.1          # ... above 1.1 x the plain rate of the path that stayed up
REDUNDANT_PORT = 20000    # in the example configs' redundant range (udp 16384-32767)
REDUNDANT_PPS = 200

# Targets from the issue (evaluated for mpf).
T_EFF_STD = 0.95
T_LOSSY_OF_STD = 0.85
T_OUTAGE_MS = 200
T_RECOVERY_S = 1.0
T_RTT_EXTRA_MS = 20.0


class Interrupted(Exception):
    pass


def _on_signal(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


def set_multipath_key(text, key, value):
    """text (an appliance config) with `key = value;` in its multipath group: the key's line
    replaced where the file writes it out, else added right after the group's opening brace."""
    line = re.compile(rf"^( *){key} = [^;]*;", re.M)
    if line.search(text):
        return line.sub(lambda m: f"{m.group(1)}{key} = {value};", text, count=1)
    out, n = re.subn(r"^multipath = \{", f"multipath = {{ {key} = {value};", text, count=1,
                     flags=re.M)
    if n != 1:
        raise ValueError(f"no 'multipath = {{' line to add {key} to")
    return out


def log(msg):
    """Progress, on stderr (stdout carries only the table or the JSON)."""
    print(msg, file=sys.stderr, flush=True)


# ---- processes ---------------------------------------------------------------------------------

def _die_with_parent():
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Proc:
    """A background process (usually `ip netns exec NS ...`, which execs: the pid is the
    program's), in its own session; stopped with SIGTERM, then SIGKILL."""
    live = []

    def __init__(self, cmd, out_path=None):
        self.cmd = cmd
        self.out_path = out_path
        self.out = open(out_path, "w") if out_path else subprocess.DEVNULL
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.out,
                                  stderr=subprocess.STDOUT, start_new_session=True,
                                  preexec_fn=_die_with_parent)
        Proc.live.append(self)

    def alive(self):
        return self.p.poll() is None

    def wait(self, timeout):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace=3.0):
        if self.p.poll() is None:
            try:
                self.p.terminate()
                self.p.wait(grace)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        if self.out is not subprocess.DEVNULL:
            self.out.close()
            self.out = subprocess.DEVNULL
        if self in Proc.live:
            Proc.live.remove(self)
        return self.p.returncode

    def output(self):
        if not self.out_path:
            return ""
        try:
            with open(self.out_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    @classmethod
    def stop_all(cls):
        for p in list(cls.live):
            p.stop(1.0)


def run(cmd, timeout=60, check=True, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                       stdin=subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stdout}{r.stderr}")
    return r


def nsx(ns, *cmd):
    return ["ip", "netns", "exec", ns, *cmd]


def tb_env(extra=None):
    env = dict(os.environ, MPF_TESTBED_LOCKED="1")
    env.update(extra or {})
    return env


def testbed(*args, timeout=120, env=None, check=True):
    return run(["bash", TESTBED, *args], timeout=timeout, env=tb_env(env), check=check)


def wait_listen(ns, port, proto="tcp", timeout=5.0):
    flag = "-Hltn" if proto == "tcp" else "-Hlun"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = run(nsx(ns, "ss", flag, f"sport = :{port}"), check=False, timeout=5)
        if r.stdout.strip():
            return True
        time.sleep(0.05)
    return False


def wire_bytes():
    """Cumulative tx bytes of both sides of each wire: {path: (down, up)}."""
    out = {}
    for p, (ns, gwi, ini) in WIRE.items():
        r = run(nsx(ns, "cat", f"/sys/class/net/{gwi}/statistics/tx_bytes",
                    f"/sys/class/net/{ini}/statistics/tx_bytes"), check=False, timeout=5)
        v = r.stdout.split()
        out[p] = (int(v[0]), int(v[1])) if len(v) == 2 else (0, 0)
    return out


def percentile(xs, q):
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(round(q / 100.0 * len(s) + 0.5)) - 1))]


def rtt_summary(samples, text=""):
    """p50/p95 of the replies; 'lost' = echo requests without a reply (from ping's summary)."""
    m = re.search(r"(\d+) packets transmitted, (\d+) received", text)
    return {"n": len(samples), "p50": percentile(samples, 50), "p95": percentile(samples, 95),
            "min": min(samples) if samples else None,
            "sent": int(m.group(1)) if m else None,
            "lost": int(m.group(1)) - int(m.group(2)) if m else None}


def ping_summary(text):
    return rtt_summary([float(x) for x in re.findall(r"time=([\d.]+) ms", text)], text)


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError):
        return None


def steal_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[7] if len(v) > 7 else 0), sum(v[:8])


# ---- the benchmark -----------------------------------------------------------------------------

class Bench:
    def __init__(self, args, workdir):
        self.a = args
        self.work = workdir
        self.port = 5400
        self.seq = 0
        self.lock_fd = None
        self.appliances = False
        self.testbed_up = False
        self.cur_profile = None

    # -- plumbing
    def next_port(self):
        self.port += 1
        if self.port > 5999:
            self.port = 5401
        return self.port

    def out(self, name):
        self.seq += 1
        return os.path.join(self.work, f"{self.seq:03d}-{name}")

    def lock(self):
        if self.lock_fd is not None:
            return
        os.makedirs(os.path.dirname(LOCK), exist_ok=True)
        fd = os.open(LOCK, os.O_WRONLY | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.a.lock_wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise RuntimeError(f"another test bed user holds {LOCK} "
                                       f"(waited {self.a.lock_wait:.0f} s)")
                time.sleep(0.5)
        self.lock_fd = fd

    def unlock(self):
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None

    def teardown(self):
        """Everything this run started: processes, appliances, namespaces; then the lock."""
        Proc.stop_all()
        if self.appliances:
            testbed("stop-appliances", "--quiet", check=False, timeout=60)
            self.appliances = False
        if self.testbed_up:
            testbed("down", check=False, timeout=120)
            self.testbed_up = False
        self.unlock()

    # -- iperf3
    def iperf(self, *, client_ns, server_ns, server_ip, cc=None, reverse=False, parallel=1,
              udp=False, bind=None, mptcp=False, pings=(), tag=""):
        """One iperf3 run (fresh one-shot server); pings = [(name, ns, src|None, dst)] sampled
        during the steady part of the run. Returns a dict; 'error' set on failure."""
        secs = self.a.seconds
        port = self.next_port()
        wrap = ["mptcpize", "run"] if mptcp else []
        srv = Proc(nsx(server_ns, *wrap, "iperf3", "-s", "-1", "-p", str(port)),
                   self.out(f"iperf-server-{tag}.txt"))
        res = {"tag": tag, "error": None}
        if not wait_listen(server_ns, port):
            srv.stop()
            res["error"] = "iperf3 server did not start: " + srv.output()[-300:]
            return res
        cmd = [*wrap, "iperf3", "-c", server_ip, "-p", str(port), "-t", str(secs), "--json"]
        if reverse:
            cmd.append("-R")
        if parallel > 1:
            cmd += ["-P", str(parallel)]
        if udp:
            cmd += ["-u", "-b", self.a.udp_rate, "-l", "1200"]
        elif cc:
            cmd += ["-C", cc]
        if bind:
            cmd += ["-B", bind]
        res["command"] = f"ip netns exec {client_ns} {' '.join(cmd)}"
        w0 = wire_bytes()
        jpath = self.out(f"iperf-client-{tag}.json")
        cli = Proc(nsx(client_ns, *cmd), jpath)
        pingers = []
        steady = min(1.5, secs / 3)
        if pings:
            time.sleep(steady)
            dur = max(1, int(secs - steady - 0.5))
            for name, ns, src, dst in pings:
                # -c, not -w: a deadline would count the last request in flight as lost.
                pc = ["ping", "-n", "-U", "-i", "0.05", "-c", str(dur * 20), "-W", "2"]
                if src:
                    pc += ["-I", src]
                pingers.append((name, Proc(nsx(ns, *pc, dst), self.out(f"ping-{tag}-{name}.txt"))))
        rc = cli.wait(secs + 30)
        if rc is None:
            cli.stop()
        srv.wait(5)
        srv.stop()
        for _, pp in pingers:
            pp.wait(5)
            pp.stop()
        w1 = wire_bytes()
        res["path_bytes"] = {p: {"down": w1[p][0] - w0[p][0], "up": w1[p][1] - w0[p][1]}
                             for p in PATHS}
        cli.stop()
        try:
            d = json.loads(cli.output())
        except ValueError:
            d = None
        if not d or "end" not in d or d.get("error"):
            res["error"] = (d or {}).get("error") or ("iperf3 failed: " + cli.output()[-300:])
            return res
        e = d["end"]
        if udp:
            s = e.get("sum_received") or e.get("sum") or {}
            pk, lost = s.get("packets", 0), s.get("lost_packets", 0)
            sec = s.get("seconds") or secs
            res["mbps"] = (pk - lost) * 1200 * 8 / sec / 1e6
            res["lost_percent"] = s.get("lost_percent")
            res["sent_mbps"] = pk * 1200 * 8 / sec / 1e6
        else:
            res["mbps"] = e["sum_received"]["bits_per_second"] / 1e6
            res["retransmits"] = e.get("sum_sent", {}).get("retransmits")
            res["cc"] = [e.get("sender_tcp_congestion"), e.get("receiver_tcp_congestion")]
            if cc and cc not in res["cc"]:
                res["error"] = f"congestion control {cc} not applied: {res['cc']}"
        res["ping"] = {}
        for name, pp in pingers:
            res["ping"][name] = ping_summary(pp.output())
        return res

    def ping_idle(self, pings, seconds=3):
        procs = [(name, Proc(nsx(ns, "ping", "-n", "-U", "-i", "0.05", "-c", str(seconds * 20),
                                 "-W", "2",
                                 *(["-I", src] if src else []), dst),
                            self.out(f"ping-idle-{name}.txt"))) for name, ns, src, dst in pings]
        out = {}
        for name, p in procs:
            p.wait(seconds + 5)
            p.stop()
            out[name] = ping_summary(p.output())
        return out

    # -- failover: bulk download with 10 ms receive bins, wire counters, path down/up
    def failover(self, *, system, cc, tag, single):
        """single: {path: plain 1-flow download Mbit/s, same CC} (for 'aggregating again")."""
        events, end = SCHEDULE_QUICK if self.a.quick else SCHEDULE_FULL
        port = self.next_port()
        me = os.path.abspath(__file__)
        mptcp = "1" if system == "mptcp" else "0"
        if system == "mpf":
            snd_ns, rcv_ns, dst = NS_HOSTB, NS_HOSTA, HOSTB
        else:
            snd_ns, rcv_ns, dst = NS_SRV, NS_GW, SRV_T0
        t0 = time.monotonic() + 1.0
        t_end = t0 + end
        procs = []
        ifile = self.out(f"fo-sender-tcpinfo-{tag}.json")
        snd = Proc(nsx(snd_ns, PY, me, "_sender", str(port), cc, mptcp, f"{t_end + 1:.3f}",
                       f"{t0:.3f}", ifile), self.out(f"fo-sender-{tag}.txt"))
        procs.append(snd)
        if not wait_listen(snd_ns, port):
            snd.stop()
            return {"error": "failover sender did not start: " + snd.output()[-300:]}
        rfile = self.out(f"fo-recv-{tag}.json")
        procs.append(Proc(nsx(rcv_ns, PY, me, "_receiver", dst, str(port), mptcp, f"{t0:.3f}",
                              f"{t_end:.3f}", rfile), rfile + ".log"))
        wfiles = {}
        for p, (ns, gwi, _ini) in WIRE.items():
            wfiles[p] = self.out(f"fo-wire-{p}-{tag}.json")
            procs.append(Proc(nsx(ns, PY, me, "_sampler", gwi, f"{t0:.3f}", f"{t_end:.3f}",
                                  wfiles[p]), wfiles[p] + ".log"))
        ufile = efile = None
        if system == "mpf":
            efile = self.out(f"fo-udpecho-{tag}.json")
            procs.append(Proc(nsx(NS_HOSTB, PY, me, "_udpecho", str(REDUNDANT_PORT),
                                  f"{t_end + 1:.3f}", efile), efile + ".log"))
            wait_listen(NS_HOSTB, REDUNDANT_PORT, "udp")
            ufile = self.out(f"fo-udpsend-{tag}.json")
            procs.append(Proc(nsx(NS_HOSTA, PY, me, "_udpsend", HOSTB, str(REDUNDANT_PORT),
                                  str(REDUNDANT_PPS), f"{t0:.3f}", f"{t_end - 1:.3f}",
                                  f"{t_end:.3f}", ufile), ufile + ".log"))
        done = []
        for at, path, how in events:
            delay = t0 + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            ts = time.monotonic()
            r = testbed("path", how, path, check=False, timeout=30)
            done.append({"t": ts - t0, "cmd_s": time.monotonic() - ts, "path": path, "how": how,
                         "ok": r.returncode == 0})
        time.sleep(max(0.0, t_end + 1.5 - time.monotonic()))
        for p in procs:
            p.wait(5)
        for p in procs:
            p.stop()
        for p in PATHS:   # whatever happened, leave both paths up
            testbed("path", "up", p, check=False, timeout=30)

        def load(path):
            try:
                with open(path) as f:
                    return json.load(f)
            except (OSError, ValueError):
                return None
        rx = load(rfile)
        wires = {p: load(f) for p, f in wfiles.items()}
        res = {"events": done, "tag": tag, "error": None,
               "schedule_s": [(a, p, h) for a, p, h in events], "end_s": end}
        if not rx or not rx.get("bins"):
            res["error"] = "receiver got nothing: " + (rx or {}).get("error", "no output")
            return res
        bins = rx["bins"]
        res["received_bytes"] = sum(bins)
        first_ev = min((e["t"] for e in done), default=end)
        res["steady_longest_gap_ms"] = longest_gap(bins, 1.0, first_ev)
        res["deaths"], res["recoveries"] = [], []
        for i, e in enumerate(done):
            nxt = done[i + 1]["t"] if i + 1 < len(done) else end
            if e["how"] == "down":
                gap = longest_gap(bins, e["t"] - 0.05, min(e["t"] + OUTAGE_WINDOW, nxt))
                res["deaths"].append({"path": e["path"], "t": round(e["t"], 3),
                                      "outage_ms": gap,
                                      "bytes_after": sum(bins[int(e["t"] / BIN):int(nxt / BIN)]),
                                      "sender_tcp": sender_tcp(load(ifile), e["t"],
                                                               e["t"] + OUTAGE_WINDOW)})
            else:
                w = wires.get(e["path"])
                rate = PROFILES[self.cur_profile][e["path"]][0] * 1e6 / 8
                thr = RECOVERY_SHARE * rate * RECOVERY_WINDOW
                death = max((d["t"] for d in done[:i] if d["path"] == e["path"]
                             and d["how"] == "down"), default=None)
                rec = {"path": e["path"], "t": round(e["t"], 3), "threshold_bytes": int(thr)}
                other = "wifi" if e["path"] == "5g" else "5g"
                if single.get(other):
                    athr = AGG_FACTOR * single[other] * 1e6 / 8 * AGG_WINDOW
                    rec["aggregate_again_s"] = rate_back_time(bins, e["t"], nxt, athr)
                    rec["aggregate_threshold_mbps"] = round(AGG_FACTOR * single[other], 1)
                if w and w.get("cum"):
                    rec["recovery_s"] = recovery_time(w["cum"], e["t"], nxt, thr)
                    rec["window_s"] = round(nxt - e["t"], 2)
                    if death is not None:
                        # Did the path carry data before it died (else "recovery" is moot)?
                        rec["used_before"] = window_bytes(w["cum"], death - 1.0, death) >= thr
                else:
                    rec["error"] = "no wire samples"
                res["recoveries"].append(rec)
        if ufile:
            u, ec = load(ufile), load(efile)
            if u and ec:
                res["redundant_udp"] = {"sent": u["sent"], "received_far": ec["received"],
                                        "echoed_back": u["replies"],
                                        "lost_up": u["sent"] - ec["received"],
                                        "lost_down": ec["received"] - u["replies"]}
                # Datagram i left at t0 + i / pps: charge each loss to the event before it.
                far, back = set(ec.get("seqs", ())), set(u.get("reply_seqs", ()))
                bounds = [(-1e9, "before any event")] + [
                    (e["t"] - 0.2, f"{LABEL[e['path']]} {e['how']}") for e in done]
                by = {name: [0, 0] for _, name in bounds}
                for i in range(u["sent"]):
                    if i in far and i in back:
                        continue
                    t = i / REDUNDANT_PPS
                    name = [n for b, n in bounds if t >= b][-1]
                    by[name][0 if i not in far else 1] += 1
                res["redundant_udp"]["lost_by_event"] = {
                    k: {"up": v[0], "down": v[1]} for k, v in by.items() if v != [0, 0]}
        return res

    # -- mpf appliances
    def mpf_rates(self, profile):
        return tuple(self.a.max_rate) if self.a.max_rate else MAX_RATE[profile]

    def mpf_configs(self, profile):
        r5, rw = self.mpf_rates(profile)
        out = {}
        for role in ("gateway", "server"):
            src = os.path.join(ROOT, "configs", "examples", f"{role}-2paths.conf")
            with open(src) as f:
                text = f.read()
            text = re.sub(r'(name = "5g";[^\n]*max_rate = )"[^"]*"', rf'\1"{r5}"', text)
            text = re.sub(r'(name = "wifi";[^\n]*max_rate = )"[^"]*"', rf'\1"{rw}"', text)
            for key, value in self.a.set:
                text = set_multipath_key(text, key, value)
            dst = os.path.join(self.work, f"{role}-{profile}.conf")
            with open(dst, "w") as f:
                f.write(text)
            out[role] = dst
        return out

    def tel(self, prefix, cmd):
        try:
            with Telemetry(os.path.join("/var/run/dpdk", prefix, "dpdk_telemetry.v2")) as t:
                return t.cmd(cmd)
        except (TelemetryError, OSError, ValueError):
            return None

    def start_mpf(self, confs):
        """Both appliances started with confs ({"gateway": path, "server": path}), both paths
        up on both."""
        self.appliances = True
        testbed("start-appliances", timeout=90,
                env={"MPF_GW_CONF": confs["gateway"], "MPF_SRV_CONF": confs["server"]})
        if not self.wait_mpf_paths({p: "up" for p in PATHS}, timeout=15):
            raise RuntimeError(f"mpf paths not both up: {self.mpf_path_states()}")

    def mpf_path_states(self):
        gw = self.tel("mpf-gw", "/mpf/paths") or {}
        sv = self.tel("mpf-srv", "/mpf/paths") or {}
        return {p: ((gw.get(p) or {}).get("state"), (sv.get(f"gw7_{p}") or {}).get("state"))
                for p in PATHS}

    def wait_mpf_paths(self, want, timeout=10.0):
        """want: {path: 'up'|'down'}; both appliances must agree."""
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.mpf_path_states()
            if all(st[p] == (w, w) for p, w in want.items()):
                return True
            time.sleep(0.05)
        log(f"    warning: mpf path states {st}, wanted {want}")
        return False

    def mpf_counters(self):
        return {"gw": self.tel("mpf-gw", "/mpf/paths"), "srv": self.tel("mpf-srv", "/mpf/paths"),
                "gw_reorder": self.tel("mpf-gw", "/mpf/reorder"),
                "srv_reorder": self.tel("mpf-srv", "/mpf/reorder"),
                "gw_stats": self.tel("mpf-gw", "/mpf/stats"),
                "srv_stats": self.tel("mpf-srv", "/mpf/stats")}

    # -- one profile
    def profile(self, prof):
        self.cur_profile = prof
        R = {s: {cc: {} for cc in CCS} for s in SYSTEMS}
        R["mpf"]["any"] = {}
        R["mptcp"]["any"] = {}
        meta = {"links": {p: dict(zip(("mbit", "delay_ms", "loss_pct"), PROFILES[prof][p]))
                          for p in PATHS},
                "max_rate": dict(zip(PATHS, self.mpf_rates(prof))),
                "settings": {k: v for k, v in self.a.set}, "phases": {}}
        log(f"== profile {prof}: waiting for the test bed lock")
        self.lock()
        try:
            log(f"== profile {prof}: tools/testbed up --paths 2 --profile {prof}")
            self.testbed_up = True
            testbed("up", "--paths", "2", "--profile", prof, timeout=120)
            if self.a.failover_repeat:
                return {"meta": meta, "failover_runs": self.failover_phase(prof, meta)}
            self.kernel_phase(prof, R, meta)
            self.mpf_phase(prof, R, meta)
        finally:
            self.teardown()
        return {"meta": meta, "results": R}

    def failover_phase(self, prof, meta):
        """--failover-repeat N: only mpf's failover run, N times per CC, fresh appliances each
        time (a run must not inherit the last one's path state)."""
        b = self.phase_begin()
        confs = self.mpf_configs(prof)
        runs = {cc: [] for cc in CCS}
        for i in range(self.a.failover_repeat):
            for cc in CCS:
                self.start_mpf(confs)
                log(f"   mpf failover {i + 1}/{self.a.failover_repeat}, {cc}")
                c0 = self.mpf_counters()
                r = self.failover(system="mpf", cc=cc, tag=f"{prof}-mpf-fo-{cc}-{i + 1}",
                                  single={})
                r["mpf_counters"] = counters_delta(c0, self.mpf_counters())
                note_fo(r)
                runs[cc].append(r)
                testbed("stop-appliances", "--quiet", check=False, timeout=60)
                self.appliances = False
        meta["phases"]["failover"] = self.phase_end(b)
        return runs

    def phase_begin(self):
        return time.monotonic(), steal_jiffies(), loadavg()

    def phase_end(self, b):
        t0, (s0, j0), l0 = b
        s1, j1 = steal_jiffies()
        return {"seconds": round(time.monotonic() - t0, 1), "loadavg_start": l0,
                "loadavg_end": loadavg(),
                "steal_pct": round(100.0 * (s1 - s0) / (j1 - j0), 2) if j1 > j0 else 0.0}

    def kernel_phase(self, prof, R, meta):
        b = self.phase_begin()
        log("   kernel phase: tools/testbed kernel-mode on; MPTCP endpoints in mpf-gw/mpf-srv")
        testbed("kernel-mode", "on", "--via", "5g", timeout=60)
        for ns in (NS_GW, NS_SRV):
            run(["ip", "-n", ns, "mptcp", "limits", "set", "subflow", "2",
                 "add_addr_accepted", "2"])
            run(nsx(ns, "sysctl", "-q", "-w", "net.mptcp.enabled=1"))
        run(["ip", "-n", NS_GW, "mptcp", "endpoint", "flush"])
        run(["ip", "-n", NS_GW, "mptcp", "endpoint", "add", GW_ADDR["wifi"], "dev", "gw-wifi",
             "subflow"])
        meta["mptcp_setup"] = [
            "tools/testbed kernel-mode on --via 5g   (10.5.0.2 via 5G in table main, "
            "rule from 10.6.0.2 lookup 106 -> WiFi)",
            "ip -n mpf-gw|mpf-srv mptcp limits set subflow 2 add_addr_accepted 2",
            "ip -n mpf-gw mptcp endpoint add 10.6.0.2 dev gw-wifi subflow",
            "ip netns exec mpf-srv mptcpize run iperf3 -s; "
            "ip netns exec mpf-gw mptcpize run iperf3 -c 10.99.0.1 ..."]
        path_pings = [(p, NS_GW, GW_ADDR[p], SRV_T0) for p in PATHS]
        log("   idle RTT of each path (ping -U -i 0.05 from mpf-gw, bound to the path's address)")
        idle = self.ping_idle(path_pings)
        for p in PATHS:
            R[f"plain_{p}"]["any"] = {"rtt_idle": idle[p]}
        R["mptcp"]["any"]["rtt_idle"] = idle
        for cc in CCS:
            for p in PATHS:
                for d, rev in (("down", True), ("up", False)):
                    log(f"   plain {LABEL[p]} alone, 1 flow {d}, {cc}")
                    r = self.iperf(client_ns=NS_GW, server_ns=NS_SRV, server_ip=SRV_T0, cc=cc,
                                   reverse=rev, bind=GW_ADDR[p],
                                   pings=[(p, NS_GW, GW_ADDR[p], SRV_T0)] if d == "down" else (),
                                   tag=f"{prof}-plain-{p}-{d}-{cc}")
                    R[f"plain_{p}"][cc][d] = r
                    note(r)
            for p in PATHS:
                log(f"   kernel VXLAN tunnel via {LABEL[p]}, Host A <- Host B, 1 flow down, {cc}")
                testbed("kernel-mode", "via", p, timeout=30)
                r = self.iperf(client_ns=NS_HOSTA, server_ns=NS_HOSTB, server_ip=HOSTB, cc=cc,
                               reverse=True, tag=f"{prof}-vxlan-{p}-{cc}")
                R[f"vxlan_{p}"][cc]["down"] = r
                note(r)
            testbed("kernel-mode", "via", "5g", timeout=30)
            for what, rev, par in (("down", True, 1), ("up", False, 1), ("down4", True, 4)):
                log(f"   MPTCP (2 subflows), {par} flow(s) {what[:4]}, {cc}")
                r = self.iperf(client_ns=NS_GW, server_ns=NS_SRV, server_ip=SRV_T0, cc=cc,
                               reverse=rev, parallel=par, mptcp=True,
                               pings=path_pings if what == "down" else (),
                               tag=f"{prof}-mptcp-{what}-{cc}")
                R["mptcp"][cc][what] = r
                note(r)
            log(f"   MPTCP failover (path down/up during a download), {cc}")
            r = self.failover(system="mptcp", cc=cc, tag=f"{prof}-mptcp-fo-{cc}",
                              single=plain_rates(R, cc))
            R["mptcp"][cc]["failover"] = r
            note_fo(r)
        testbed("kernel-mode", "off", timeout=60)
        run(["ip", "-n", NS_GW, "mptcp", "endpoint", "flush"], check=False)
        meta["phases"]["kernel"] = self.phase_end(b)

    def mpf_phase(self, prof, R, meta):
        b = self.phase_begin()
        confs = self.mpf_configs(prof)
        meta["mpf_configs"] = {k: os.path.relpath(v, self.work) for k, v in confs.items()}
        log(f"   mpf phase: tools/testbed start-appliances (example 2-path configs, max_rate "
            f"{'/'.join(self.mpf_rates(prof))})")
        self.start_mpf(confs)
        with open("/tmp/mpf-testbed/gw.log", errors="replace") as f:
            meta["gw_log_paths"] = [l.strip() for l in f if " path " in l][:4]
        pings = [("e2e", NS_HOSTA, None, HOSTB)]
        log("   idle RTT Host A -> Host B through mpf")
        R["mpf"]["any"]["rtt_idle"] = self.ping_idle(pings)["e2e"]
        for cc in CCS:
            for what, rev, par in (("down", True, 1), ("up", False, 1), ("down4", True, 4)):
                log(f"   mpf, {par} flow(s) {what[:4]}, {cc}")
                c0 = self.mpf_counters()
                r = self.iperf(client_ns=NS_HOSTA, server_ns=NS_HOSTB, server_ip=HOSTB, cc=cc,
                               reverse=rev, parallel=par, pings=pings if what == "down" else (),
                               tag=f"{prof}-mpf-{what}-{cc}")
                r["mpf_counters"] = counters_delta(c0, self.mpf_counters())
                R["mpf"][cc][what] = r
                note(r)
            for p in PATHS:
                other = "wifi" if p == "5g" else "5g"
                log(f"   mpf with {LABEL[other]} down ({LABEL[p]} alone), 1 flow down, {cc}")
                testbed("path", "down", other, timeout=30)
                self.wait_mpf_paths({other: "down", p: "up"})
                r = self.iperf(client_ns=NS_HOSTA, server_ns=NS_HOSTB, server_ip=HOSTB, cc=cc,
                               reverse=True, tag=f"{prof}-mpf-alone-{p}-{cc}")
                testbed("path", "up", other, timeout=30)
                self.wait_mpf_paths({q: "up" for q in PATHS})
                R["mpf"][cc][f"alone_{p}"] = r
                note(r)
            log(f"   mpf failover (path down/up during a download; redundant UDP alongside), {cc}")
            c0 = self.mpf_counters()
            r = self.failover(system="mpf", cc=cc, tag=f"{prof}-mpf-fo-{cc}",
                              single=plain_rates(R, cc))
            r["mpf_counters"] = counters_delta(c0, self.mpf_counters())
            R["mpf"][cc]["failover"] = r
            note_fo(r)
            self.wait_mpf_paths({q: "up" for q in PATHS})
        for d, rev in (("udp_down", True), ("udp_up", False)):
            log(f"   mpf UDP {d[4:]} (iperf3 -u -b {self.a.udp_rate} -l 1200)")
            r = self.iperf(client_ns=NS_HOSTA, server_ns=NS_HOSTB, server_ip=HOSTB, udp=True,
                           reverse=rev, tag=f"{prof}-mpf-{d}")
            R["mpf"]["any"][d] = r
            note(r)
        meta["phases"]["mpf"] = self.phase_end(b)
        testbed("stop-appliances", "--quiet", check=False, timeout=60)
        self.appliances = False


def note(r):
    if r.get("error"):
        log(f"      ERROR: {r['error']}")
        return
    pb = r.get("path_bytes") or {}
    share = ""
    if pb:
        key = "down" if "-R" in r.get("command", "").split() else "up"
        tot = sum(pb[p][key] for p in PATHS) or 1
        share = "  (wire bytes " + " ".join(
            f"{LABEL[p]} {100 * pb[p][key] / tot:.0f}%" for p in PATHS) + ")"
    extra = ""
    for name, s in (r.get("ping") or {}).items():
        if s["n"]:
            extra += f"  rtt {name} p50 {s['p50']:.1f} p95 {s['p95']:.1f} ms"
    log(f"      {r['mbps']:.1f} Mbit/s{share}{extra}")


def note_fo(r):
    if r.get("error"):
        log(f"      ERROR: {r['error']}")
        return
    def tcp(d):
        st = d.get("sender_tcp")
        return (f" (sender: {st['rto']} RTO, {st['retransmitted']} segments retransmitted)"
                if st else "")
    parts = [f"{LABEL[d['path']]} dies: outage {d['outage_ms']} ms{tcp(d)}" for d in r["deaths"]]
    parts += [f"{LABEL[x['path']]} back in use after "
              f"{fmt(x.get('recovery_s'), '.2f', '>' + str(x.get('window_s')))} s" +
              (f", aggregating after "
               f"{fmt(x.get('aggregate_again_s'), '.2f', '>' + str(x.get('window_s')))} s"
               if "aggregate_threshold_mbps" in x else "")
              for x in r["recoveries"]]
    if r.get("redundant_udp"):
        u = r["redundant_udp"]
        parts.append(f"redundant UDP lost {u['lost_up']} up / {u['lost_down']} down "
                     f"of {u['sent']}")
    log("      " + "; ".join(parts) + f" (steady-state longest gap {r['steady_longest_gap_ms']} ms)")


def plain_rates(R, cc):
    return {p: mbps(R[f"plain_{p}"][cc].get("down")) for p in PATHS}


def counters_delta(a, b):
    """Per-path tx/rx/lost/retransmits/shaper drops during a run, gateway and server."""
    out = {}
    for side in ("gw", "srv"):
        pa, pb = a.get(side) or {}, b.get(side) or {}
        for k, v in pb.items():
            if not isinstance(v, dict):
                continue
            u = pa.get(k) or {}
            out[f"{side}.{k}"] = {f: v.get(f, 0) - u.get(f, 0) for f in
                                  ("tx_bytes", "rx_bytes", "lost", "retransmits", "shaper_drops")}
            out[f"{side}.{k}"]["srtt_ms_end"] = round(v.get("srtt_us", 0) / 1000, 1)
    for side in ("gw_reorder", "srv_reorder"):
        ra, rb = a.get(side) or {}, b.get(side) or {}
        out[side] = {k: v - ra.get(k, 0) for k, v in rb.items() if isinstance(v, int)}
    # Every appliance counter and drop reason that moved (summed over lcores): where a frame
    # went missing shows here without a rerun by hand.
    for side in ("gw_stats", "srv_stats"):
        sa, sb = a.get(side) or {}, b.get(side) or {}
        moved = {k: v - sa.get(k, 0) for k, v in sb.items()
                 if isinstance(v, int) and v != sa.get(k, 0)}
        da, db = sa.get("drops") or {}, sb.get("drops") or {}
        moved["drops"] = {k: v - da.get(k, 0) for k, v in db.items()
                          if isinstance(v, int) and v != da.get(k, 0)}
        out[side] = moved
    return out


def sender_tcp(info, t_from, t_to):
    """What the sending host's TCP did in [t_from, t_to): RTOs (entries into TCP_CA_Loss),
    segments it retransmitted, its highest RTO backoff. None without samples (MPTCP)."""
    if not info or not info.get("samples"):
        return None
    before = [x for x in info["samples"] if x[0] < t_from]
    prev = before[-1] if before else info["samples"][0]
    first = prev[3]
    rto, backoff, retrans = 0, 0, first
    for t, ca, bo, tr in info["samples"]:
        if t_from <= t < t_to:
            if ca == CA_LOSS and prev[1] != CA_LOSS:
                rto += 1
            backoff = max(backoff, bo)
            retrans = tr
            prev = [t, ca, bo, tr]
        elif t >= t_to:
            break
    return {"rto": rto, "max_backoff": backoff, "retransmitted": retrans - first}


def longest_gap(bins, t_from, t_to):
    """Longest run of empty 10 ms receive bins in [t_from, t_to), in ms."""
    i0, i1 = max(0, int(t_from / BIN)), min(len(bins), int(t_to / BIN))
    best = cur = 0
    for i in range(i0, i1):
        if bins[i] == 0:
            cur += 1
            best = max(best, cur)
        else:
            cur = 0
    return best * int(BIN * 1000)


def rate_back_time(bins, t_up, t_limit, thr):
    """First time after t_up at which the receiver got thr bytes over the trailing AGG_WINDOW."""
    n = int(AGG_WINDOW / BIN)
    acc = sum(bins[max(0, int(t_up / BIN) - n):int(t_up / BIN)])
    for i in range(int(t_up / BIN), min(len(bins), int(t_limit / BIN))):
        acc += bins[i] - (bins[i - n] if i - n >= 0 else 0)
        if acc >= thr:
            return round((i + 1) * BIN - t_up, 2)
    return None


def window_bytes(cum, t_from, t_to):
    i0 = max(0, min(len(cum) - 1, int(t_from / BIN)))
    i1 = max(0, min(len(cum) - 1, int(t_to / BIN)))
    return cum[i1] - cum[i0]


def recovery_time(cum, t_up, t_limit, thr):
    """First time after t_up at which the wire carried thr bytes over the trailing window."""
    n = int(RECOVERY_WINDOW / BIN)
    for i in range(int(t_up / BIN) + 1, min(len(cum), int(t_limit / BIN))):
        j = max(int(t_up / BIN), i - n)
        if cum[i] - cum[j] >= thr:
            return round(i * BIN - t_up, 2)
    return None


# ---- helpers run inside the namespaces ---------------------------------------------------------

def _wait_until(t):
    d = t - time.monotonic()
    if d > 0:
        time.sleep(d)


TCP_INFO_FMT = "8B24I"   # struct tcp_info up to tcpi_total_retrans (linux/tcp.h)
CA_LOSS = 4              # tcpi_ca_state TCP_CA_Loss: the sender's retransmission timer fired


def _tcp_info_sampler(c, t0, stop, events):
    """Every 5 ms, the sender's TCP state; keeps the samples where ca_state, backoff or
    total_retrans changed, so an outage can be told apart: repaired below TCP, or by TCP's own
    fast retransmit, or only after an RTO."""
    last = None
    n = struct.calcsize(TCP_INFO_FMT)
    while not stop.is_set():
        try:
            v = struct.unpack(TCP_INFO_FMT, c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, n))
        except OSError:
            return
        cur = (v[1], v[4], v[8 + 23])   # ca_state, backoff, total_retrans
        if cur != last:
            events.append([round(time.monotonic() - t0, 3), *cur])
            last = cur
        stop.wait(0.005)


def helper_sender(port, cc, mptcp, t_end, t0=None, infofile=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP if mptcp == "1" else 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())
    except OSError as e:
        print(f"TCP_CONGESTION {cc} on the listener: {e}", flush=True)
    s.bind(("0.0.0.0", int(port)))
    s.listen(1)
    s.settimeout(max(1.0, float(t_end) - time.monotonic()))
    c, _ = s.accept()
    try:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())
    except OSError as e:
        print(f"TCP_CONGESTION {cc}: {e}", flush=True)
    print("congestion", c.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16)
          .rstrip(b"\0").decode(), flush=True)
    blk = b"\x5a" * 65536
    c.settimeout(1.0)
    stop, events = threading.Event(), []
    th = None
    if infofile and mptcp != "1":   # TCP_INFO of an MPTCP socket is not a subflow's
        th = threading.Thread(target=_tcp_info_sampler, args=(c, float(t0), stop, events),
                              daemon=True)
        th.start()
    while time.monotonic() < float(t_end):
        try:
            c.send(blk)
        except socket.timeout:
            continue
        except OSError:
            break
    if th:
        stop.set()
        th.join()
        with open(infofile, "w") as f:
            json.dump({"fields": ["t", "ca_state", "backoff", "total_retrans"],
                       "samples": events}, f)
    c.close()


def helper_receiver(host, port, mptcp, t0, t_end, outfile):
    t0, t_end = float(t0), float(t_end)
    bins = [0] * (int((t_end - t0) / BIN) + 2)
    res = {"bins": bins}
    _wait_until(t0)
    s = None
    while time.monotonic() < t0 + 3:
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM,
                              IPPROTO_MPTCP if mptcp == "1" else 0)
            s.settimeout(1.0)
            s.connect((host, int(port)))
            break
        except OSError as e:
            res["error"] = f"connect: {e}"
            s.close()
            s = None
            time.sleep(0.1)
    if s is not None:
        res.pop("error", None)
        s.settimeout(0.05)
        while True:
            try:
                n = len(s.recv(262144))
            except socket.timeout:
                n = -1
            except OSError as e:
                res["error"] = f"recv: {e}"
                break
            now = time.monotonic()
            if now >= t_end:
                break
            if n == 0:
                res["error"] = "connection closed early"
                break
            if n > 0:
                bins[int((now - t0) / BIN)] += n
        s.close()
    with open(outfile, "w") as f:
        json.dump(res, f)


def helper_sampler(iface, t0, t_end, outfile):
    """Cumulative tx bytes of iface every 10 ms from t0 (index i = t0 + i * 10 ms; a late
    wake-up reads a little late, which the 100 ms recovery window absorbs)."""
    t0, t_end = float(t0), float(t_end)
    cum = []
    with open(f"/sys/class/net/{iface}/statistics/tx_bytes") as f:
        base = None
        for i in range(int((t_end - t0) / BIN) + 1):
            _wait_until(t0 + i * BIN)
            f.seek(0)
            v = int(f.read())
            base = v if base is None else base
            cum.append(v - base)
    with open(outfile, "w") as f:
        json.dump({"iface": iface, "cum": cum}, f)


def helper_udpecho(port, t_end, outfile):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(port)))
    s.settimeout(0.2)
    seen = set()
    while time.monotonic() < float(t_end):
        try:
            d, a = s.recvfrom(2048)
        except socket.timeout:
            continue
        seen.add(int.from_bytes(d[:4], "big"))
        s.sendto(d, a)
    with open(outfile, "w") as f:
        json.dump({"received": len(seen), "seqs": sorted(seen)}, f)


def helper_udpsend(host, port, pps, t0, t_send_end, t_end, outfile):
    t0, t_send_end, t_end = float(t0), float(t_send_end), float(t_end)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    _wait_until(t0)
    seq, replies, step = 0, set(), 1.0 / int(pps)
    nxt = time.monotonic()
    pad = b"\0" * 196
    while True:
        now = time.monotonic()
        if now >= t_end:
            break
        if now >= nxt and now < t_send_end:
            try:
                s.sendto(seq.to_bytes(4, "big") + pad, (host, int(port)))
                seq += 1
            except OSError:
                pass
            nxt += step
        try:
            while True:
                d = s.recv(2048)
                replies.add(int.from_bytes(d[:4], "big"))
        except (BlockingIOError, OSError):
            pass
        time.sleep(0.001)
    with open(outfile, "w") as f:
        json.dump({"sent": seq, "replies": len(replies), "reply_seqs": sorted(replies)}, f)


HELPERS = {"_sender": helper_sender, "_receiver": helper_receiver, "_sampler": helper_sampler,
           "_udpecho": helper_udpecho, "_udpsend": helper_udpsend}


# ---- report ------------------------------------------------------------------------------------

def fmt(v, spec, none="-"):
    return none if v is None else format(v, spec)


def mbps(r):
    if not r:
        return None
    return None if r.get("error") else r.get("mbps")


def sum_plain(R, cc, d):
    a, b = mbps(R["plain_5g"][cc].get(d)), mbps(R["plain_wifi"][cc].get(d))
    return a + b if a is not None and b is not None else None


def derive(rep):
    """Efficiencies and target checks, into rep['profiles'][P]['derived'] and rep['targets']."""
    targets = []

    def check(name, ok, value, want, profile=None, cc=None):
        targets.append({"target": name, "profile": profile, "cc": cc, "value": value,
                        "want": want, "met": ok})
    profs = rep["profiles"]
    for prof, P in profs.items():
        R = P["results"]
        links = sum(v["mbit"] for v in P["meta"]["links"].values())
        D = P["derived"] = {}
        for cc in CCS:
            dd = D[cc] = {}
            for sysn in ("mpf", "mptcp"):
                for d in ("down", "up", "down4"):
                    v, s = mbps(R[sysn][cc].get(d)), sum_plain(R, cc, d[:4] if d != "down4" else "down")
                    dd[f"{sysn}.{d}.pct_links"] = 100 * v / links if v is not None else None
                    dd[f"{sysn}.{d}.efficiency"] = v / s if v is not None and s else None
            best = {d: max([x for x in (mbps(R["plain_5g"][cc].get(d)),
                                        mbps(R["plain_wifi"][cc].get(d))) if x is not None],
                           default=None) for d in ("down", "up")}
            dd["best_single"] = best
            eff = dd["mpf.down.efficiency"]
            if prof == "std":
                for d in ("down", "up"):
                    e = dd[f"mpf.{d}.efficiency"]
                    check(f"std 1 flow {d}: efficiency >= {T_EFF_STD:.0%}",
                          e is not None and e >= T_EFF_STD, pct(e), f">= {T_EFF_STD:.0%}",
                          prof, cc)
            for d, key in (("down", "down"), ("up", "up"), ("down", "down4")):
                v = mbps(R["mpf"][cc].get(key))
                b = best[d]
                if v is not None and b is not None:
                    check(f"{prof} {'4 flows' if key == 'down4' else '1 flow'} {d[:4]}: never "
                          "below the best single path", v >= b, f"{v:.1f}", f">= {b:.1f}",
                          prof, cc)
            fo = R["mpf"][cc].get("failover") or {}
            for x in fo.get("deaths", []):
                check(f"{prof} {LABEL[x['path']]} dies: outage <= {T_OUTAGE_MS} ms",
                      x["outage_ms"] <= T_OUTAGE_MS, f"{x['outage_ms']} ms",
                      f"<= {T_OUTAGE_MS} ms", prof, cc)
            for x in fo.get("recoveries", []):
                v = x.get("recovery_s")
                check(f"{prof} restored {LABEL[x['path']]} in use within {T_RECOVERY_S:.0f} s",
                      v is not None and v <= T_RECOVERY_S,
                      f"{v} s" if v is not None else f"> {x.get('window_s')} s",
                      f"<= {T_RECOVERY_S} s", prof, cc)
            u = fo.get("redundant_udp")
            if u:
                check(f"{prof} redundant UDP: zero loss across path deaths",
                      u["lost_up"] <= 0 and u["lost_down"] <= 0,
                      f"lost {u['lost_up']} up, {u['lost_down']} down of {u['sent']}", "0",
                      prof, cc)
            idle = (R["mpf"]["any"].get("rtt_idle") or {}).get("p50")
            load = (((R["mpf"][cc].get("down") or {}).get("ping") or {}).get("e2e") or {}).get("p95")
            lost = (((R["mpf"][cc].get("down") or {}).get("ping") or {}).get("e2e") or {}).get("lost")
            if idle is not None and load is not None:
                check(f"{prof} p95 RTT under load <= idle + {T_RTT_EXTRA_MS:.0f} ms",
                      load <= idle + T_RTT_EXTRA_MS,
                      f"{load:.1f} ms" + (f" ({lost} pings unanswered)" if lost else ""),
                      f"<= {idle:.1f} + {T_RTT_EXTRA_MS:.0f} ms", prof, cc)
            dd["mpf.down.efficiency"] = eff
        for d in ("udp_down", "udp_up"):
            r = R["mpf"]["any"].get(d)
            b = max([x for cc in CCS for x in [D[cc]["best_single"][d[4:]]] if x is not None],
                    default=None)
            v = mbps(r)
            if v is not None and b is not None:
                pb = r.get("path_bytes") or {}
                k = d[4:]
                tot = sum(pb[p][k] for p in PATHS) or 1
                both = all(pb[p][k] / tot >= 0.1 for p in PATHS)
                check(f"{prof} UDP {k} aggregated (above the best single path, both paths used)",
                      v > b and both, f"{v:.1f}", f"> {b:.1f}", prof)
    if "std" in profs and "lossy" in profs:
        for cc in CCS:
            s, l = (mbps(profs["std"]["results"]["mpf"][cc].get("down")),
                    mbps(profs["lossy"]["results"]["mpf"][cc].get("down")))
            m = mbps(profs["lossy"]["results"]["mptcp"][cc].get("down"))
            if cc == "cubic" and s and l is not None:
                check(f"lossy 1 flow >= {T_LOSSY_OF_STD:.0%} of std (cubic)",
                      l >= T_LOSSY_OF_STD * s, f"{l:.1f} ({l / s:.0%})",
                      f">= {T_LOSSY_OF_STD * s:.1f}", "lossy", cc)
            if cc == "bbr" and l is not None and m is not None:
                check("lossy 1 flow >= kernel MPTCP's (bbr)", l >= m, f"{l:.1f}", f">= {m:.1f}",
                      "lossy", cc)
    rep["targets"] = targets


FO_COUNTERS = ("progress_stalls", "failover_resends", "reorder_late", "reorder_timeouts",
               "reorder_silence_waits",
               "tcp_resends", "resends_shaper_dropped", "resends_expedited")


def derive_failover(rep):
    """--failover-repeat: per (profile, CC, dying path) the outages, and the outage target
    checked on every one of them."""
    targets = []
    for prof, P in rep["profiles"].items():
        D = P["derived"] = {}
        for cc, runs in P["failover_runs"].items():
            for path in PATHS:
                ds = [d for r in runs for d in r.get("deaths", []) if d["path"] == path]
                out = sorted(d["outage_ms"] for d in ds)
                st = [d["sender_tcp"] for d in ds if d.get("sender_tcp")]
                D[f"{cc}.{path}"] = {
                    "outages_ms": [d["outage_ms"] for d in ds],
                    "median_ms": out[len(out) // 2] if out else None,
                    "max_ms": out[-1] if out else None,
                    "sender_rtos": [x["rto"] for x in st],
                    "sender_retransmitted": [x["retransmitted"] for x in st]}
                for d in ds:
                    targets.append({"target": f"{prof} {LABEL[path]} dies: outage <= "
                                    f"{T_OUTAGE_MS} ms", "profile": prof, "cc": cc,
                                    "value": f"{d['outage_ms']} ms",
                                    "want": f"<= {T_OUTAGE_MS} ms",
                                    "met": d["outage_ms"] <= T_OUTAGE_MS})
            for r in runs:
                if r.get("error"):
                    rep["warnings"].append(f"{prof} {cc} failover: {r['error']}")
    rep["targets"] = targets


def print_failover_report(rep):
    for prof, P in rep["profiles"].items():
        print(f"profile {prof}: mpf failover, {len(next(iter(P['failover_runs'].values())))} "
              f"runs per CC (outage = longest gap in 10 ms receive bins at Host A)"
              f"{settings_note(P['meta'])}")
        rows = []
        for cc in CCS:
            for path in PATHS:
                d = P["derived"].get(f"{cc}.{path}") or {}
                rows.append((f"{cc}, {LABEL[path]} dies", " ".join(map(str, d["outages_ms"])),
                             fmt(d["median_ms"], "d"), fmt(d["max_ms"], "d"),
                             " ".join(map(str, d["sender_rtos"])) or "-",
                             " ".join(map(str, d["sender_retransmitted"])) or "-"))
        table(("", "outages ms", "median", "max", "Host B RTOs", "Host B retransmitted"), rows)
        rows = []
        for cc in CCS:
            for i, r in enumerate(P["failover_runs"][cc]):
                mc = r.get("mpf_counters") or {}
                rows.append((f"{cc} run {i + 1}", *(
                    f"{(mc.get('gw_stats') or {}).get(k, 0)} / "
                    f"{(mc.get('srv_stats') or {}).get(k, 0)}" for k in FO_COUNTERS)))
        print("  appliance counters over each run (both deaths), gateway / server:")
        table(("",) + FO_COUNTERS, rows)
        print()
    missed = [t for t in rep["targets"] if not t["met"]]
    print(f"outage target (<= {T_OUTAGE_MS} ms): {len(rep['targets']) - len(missed)} of "
          f"{len(rep['targets'])} deaths met it")
    for w in rep.get("warnings", []):
        print("warning:", w)


def pct(v):
    return None if v is None else f"{100 * v:.0f}%"


def cell_rate(r, links=None):
    if r is None:
        return "-"
    if r.get("error"):
        return "error"
    s = f"{r['mbps']:.1f}"
    if links:
        s += f" ({100 * r['mbps'] / links:.0f}%)"
    return s


def cell_rtt(s):
    if not s or not s.get("n"):
        return "-"
    lost = f" ({s['lost']} lost)" if s.get("lost") else ""
    return f"{s['p50']:.1f}/{s['p95']:.1f}{lost}"


def settings_note(meta):
    st = meta.get("settings")
    return "; multipath " + ", ".join(f"{k} = {v}" for k, v in st.items()) if st else ""


def share(r, key):
    pb = (r or {}).get("path_bytes")
    if not pb or r.get("error"):
        return "-"
    tot = sum(pb[p][key] for p in PATHS) or 1
    return "/".join(f"{100 * pb[p][key] / tot:.0f}" for p in PATHS)


def print_report(rep):
    m = rep["machine"]
    print(f"mpf bench multipath: {m['model']}, nproc {m['nproc']}, kernel {m['kernel']}, "
          f"iperf3 {m['iperf3']}, mptcpd {m['mptcpd']}, mpf {m['mpf_rev']}")
    print(f"{rep['seconds']} s per iperf3 run; {rep['elapsed_seconds']} s in all")
    for prof, P in rep["profiles"].items():
        R, D, meta = P["results"], P["derived"], P["meta"]
        links = sum(v["mbit"] for v in meta["links"].values())
        ld = ", ".join(f"{LABEL[p]} {v['mbit']} Mbit/s {v['delay_ms']} ms"
                       f"{', ' + str(v['loss_pct']) + '% loss' if v['loss_pct'] else ''}"
                       for p, v in meta["links"].items())
        print()
        print(f"== profile {prof}: {ld} (link sum {links} Mbit/s); mpf max_rate "
              f"{meta['max_rate']['5g']}/{meta['max_rate']['wifi']}{settings_note(meta)}")
        for ph, v in meta["phases"].items():
            print(f"   {ph} phase: {v['seconds']} s, load average {v['loadavg_start']} -> "
                  f"{v['loadavg_end']}, steal {v['steal_pct']}%")
        for cc in CCS:
            dd = D[cc]
            hdr = ("", "mpf", "kernel MPTCP", "plain 5G", "plain WiFi", "target (mpf)")
            rows = []

            def rr(s, d):
                return R[s][cc].get(d)
            rows.append(("1 flow down, Mbit/s (% link sum)", cell_rate(rr("mpf", "down"), links),
                         cell_rate(rr("mptcp", "down"), links),
                         cell_rate(rr("plain_5g", "down")), cell_rate(rr("plain_wifi", "down")),
                         f">= best path {fmt(dd['best_single']['down'], '.1f')}"))
            rows.append(("  efficiency (/ plain 5G + WiFi)", pct(dd["mpf.down.efficiency"]),
                         pct(dd["mptcp.down.efficiency"]), "", "",
                         ">= 95% (std)" if prof == "std" else ""))
            rows.append(("  wire bytes 5G/WiFi %", share(rr("mpf", "down"), "down"),
                         share(rr("mptcp", "down"), "down"), "", "", ""))
            rows.append(("1 flow up", cell_rate(rr("mpf", "up"), links),
                         cell_rate(rr("mptcp", "up"), links), cell_rate(rr("plain_5g", "up")),
                         cell_rate(rr("plain_wifi", "up")),
                         f">= best path {fmt(dd['best_single']['up'], '.1f')}"))
            rows.append(("  efficiency", pct(dd["mpf.up.efficiency"]),
                         pct(dd["mptcp.up.efficiency"]), "", "", ""))
            rows.append(("4 flows down", cell_rate(rr("mpf", "down4"), links),
                         cell_rate(rr("mptcp", "down4"), links), "", "", ""))
            rows.append(("mpf on one path (other down), 1 flow down",
                         f"5G {cell_rate(rr('mpf', 'alone_5g'))} / WiFi "
                         f"{cell_rate(rr('mpf', 'alone_wifi'))}", "", "", "",
                         "vs plain on that path"))
            a5, aw = mbps(rr("mpf", "alone_5g")), mbps(rr("mpf", "alone_wifi"))
            one = mbps(rr("mpf", "down"))
            rows.append(("  1 flow / (mpf 5G alone + WiFi alone)",
                         pct(one / (a5 + aw)) if None not in (one, a5, aw) else "-", "", "", "",
                         "aggregation alone"))
            rows.append(("kernel VXLAN tunnel, 1 flow down", "", "",
                         cell_rate(rr("vxlan_5g", "down")), cell_rate(rr("vxlan_wifi", "down")),
                         "50 B encapsulation (mpf: 53)"))
            for sysn_fo in (("mpf", "mptcp"),):
                fos = [R[s][cc].get("failover") or {} for s in sysn_fo]
                paths_ev = []
                for fo in fos:
                    for x in fo.get("deaths", []):
                        if x["path"] not in paths_ev:
                            paths_ev.append(x["path"])
                for p in paths_ev:
                    def outage(fo, p=p):
                        if fo.get("error"):
                            return "error"
                        x = [d for d in fo.get("deaths", []) if d["path"] == p]
                        return f"{x[0]['outage_ms']}" if x else "-"

                    def recov(fo, p=p):
                        if fo.get("error"):
                            return "error"
                        x = [d for d in fo.get("recoveries", []) if d["path"] == p]
                        if not x:
                            return "-"
                        v = x[0].get("recovery_s")
                        s = f"{v:.2f}" if v is not None else f"> {x[0].get('window_s')}"
                        if x[0].get("used_before") is False:
                            s += " (unused before)"
                        return s
                    def again(fo, p=p):
                        if fo.get("error"):
                            return "error"
                        x = [d for d in fo.get("recoveries", []) if d["path"] == p]
                        if not x or "aggregate_again_s" not in x[0]:
                            return "-"
                        v = x[0]["aggregate_again_s"]
                        return f"{v:.2f}" if v is not None else f"> {x[0].get('window_s')}"
                    rows.append((f"{LABEL[p]} dies: outage ms", outage(fos[0]), outage(fos[1]),
                                 "", "", f"<= {T_OUTAGE_MS}"))
                    rows.append((f"{LABEL[p]} restored: in use after s", recov(fos[0]),
                                 recov(fos[1]), "", "", f"<= {T_RECOVERY_S:.0f}"))
                    rows.append(("  aggregating again after s", again(fos[0]), again(fos[1]),
                                 "", "", f"rx > {AGG_FACTOR} x other path"))
                rows.append(("  steady longest rx gap ms (noise)",
                             *(str(fo.get("steady_longest_gap_ms", "-")) for fo in fos),
                             "", "", ""))
                u = fos[0].get("redundant_udp")
                if u:
                    where = "; ".join(f"{k}: {v['up']}/{v['down']}"
                                      for k, v in (u.get("lost_by_event") or {}).items())
                    rows.append(("redundant UDP lost up/down (of sent)",
                                 f"{u['lost_up']}/{u['lost_down']} ({u['sent']})", "n/a", "", "",
                                 "0" + (f"; after {where}" if where else "")))
            idle_m = R["mpf"]["any"].get("rtt_idle")
            idle_k = R["mptcp"]["any"].get("rtt_idle") or {}
            rows.append(("RTT idle p50/p95 ms", cell_rtt(idle_m),
                         " ".join(f"{LABEL[p]} {cell_rtt(idle_k.get(p))}" for p in PATHS),
                         cell_rtt(idle_k.get("5g")), cell_rtt(idle_k.get("wifi")), ""))
            lm = ((rr("mpf", "down") or {}).get("ping") or {}).get("e2e")
            lk = (rr("mptcp", "down") or {}).get("ping") or {}
            rows.append(("RTT under 1-flow load p50/p95", cell_rtt(lm),
                         " ".join(f"{LABEL[p]} {cell_rtt(lk.get(p))}" for p in PATHS),
                         cell_rtt(((rr("plain_5g", "down") or {}).get("ping") or {}).get("5g")),
                         cell_rtt(((rr("plain_wifi", "down") or {}).get("ping") or {}).get("wifi")),
                         f"p95 <= {fmt((idle_m or {}).get('p50'), '.1f')} + {T_RTT_EXTRA_MS:.0f}"))
            print()
            print(f"-- {prof}, end hosts on {cc} (iperf3 -C {cc})")
            table(hdr, rows)
        print()
        for d in ("udp_down", "udp_up"):
            r = R["mpf"]["any"].get(d)
            if r is None:
                continue
            if r.get("error"):
                print(f"   mpf UDP {d[4:]}: error: {r['error']}")
                continue
            print(f"   mpf UDP {d[4:]} (iperf3 -u -b {rep['udp_rate']} -l 1200): "
                  f"{r['mbps']:.1f} Mbit/s received ({100 * r['mbps'] / links:.0f}% of the link "
                  f"sum), loss {fmt(r.get('lost_percent'), '.1f')}%, wire bytes 5G/WiFi "
                  f"{share(r, d[4:])}%; kernel MPTCP: not applicable (TCP only)")
    print()
    print("Targets (mpf):")
    for t in rep["targets"]:
        where = " ".join(x for x in (t["cc"],) if x)
        print(f"  {'met ' if t['met'] else 'MISS'}  {t['target']}{' [' + where + ']' if where else ''}"
              f": {t['value']} (want {t['want']})")
    if not rep["targets"]:
        print("  (none evaluated)")
    print()
    print("  plain 5G/WiFi: plain TCP directly over that wire alone (mpf-gw -> mpf-srv, no "
          "tunnel); efficiency = 1 flow / (plain 5G + plain WiFi), same run, same CC;")
    print("  kernel MPTCP: mpf-gw <-> mpf-srv, one subflow per wire (mptcpize run iperf3); its "
          "RTT = ping on each path during its download;")
    print("  mpf RTT = ping -U Host A -> Host B through the appliances; outage = longest run of "
          "empty 10 ms receive bins after the path died;")
    print(f"  'in use' = the restored wire carried {RECOVERY_SHARE:.0%} of its link rate over "
          f"{RECOVERY_WINDOW * 1000:.0f} ms (counted on the wire), time from `tools/testbed path up`.")
    for w in rep.get("warnings", []):
        print(f"  ! {w}")


def table(hdr, rows):
    w = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(hdr)]
    line = lambda c: "  ".join(x.ljust(w[i]) if i in (0, len(c) - 1) else x.rjust(w[i])  # noqa: E731
                               for i, x in enumerate(c)).rstrip()
    print(line(hdr))
    print(line(["-" * x for x in w]))
    for r in rows:
        print(line(r))


# ---- main --------------------------------------------------------------------------------------

def pkg_version(name):
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", name], capture_output=True,
                              text=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        rev = rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        rev = None
    return {"model": model, "nproc": os.cpu_count(), "kernel": platform.release(),
            "iperf3": pkg_version("iperf3"), "mptcpd": pkg_version("mptcpd"),
            "dpdk": pkg_version("dpdk"), "mpf_rev": rev}


def main(argv):
    if argv and argv[0] in HELPERS:
        HELPERS[argv[0]](*argv[1:])
        return 0
    build = os.environ.get("MPF_BUILD_DIR", "build")
    if not os.path.isabs(build):
        build = os.path.join(ROOT, build)
    ap = argparse.ArgumentParser(
        prog="tools/mpf bench multipath",
        description="mpf over two emulated paths (tools/testbed profiles std, lossy, asym) "
                    "against plain TCP on each path alone and kernel MPTCP over both, all "
                    "measured in the same run on the same links; every TCP figure with cubic "
                    "and with bbr end hosts. About 25 minutes (--quick: std only, 5 s runs, "
                    "about 4 minutes). Exit status: 0 every target met, 1 a target missed or a "
                    "measurement failed, 2 usage, 3 the run failed, 130 interrupted.")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--quick", action="store_true",
                    help="profile std only, 5 s runs, one failover (WiFi) per run")
    ap.add_argument("--profiles", type=lambda s: s.split(","), default=None,
                    help="comma-separated, from std,lossy,asym (default: all; --quick: std)")
    ap.add_argument("--seconds", type=int, default=None,
                    help="seconds per iperf3 run (default 10; --quick 5)")
    ap.add_argument("--max-rate", type=lambda s: s.split(","), default=None, metavar="5G,WIFI",
                    help="max_rate of the 5G and WiFi paths in the appliance configs, e.g. "
                         "100M,60M, or auto,auto (capacity discovery; default: the links' rates, 50M,30M; "
                         "asym 40M,20M)")
    ap.add_argument("--udp-rate", default="90M", help="iperf3 -b for the UDP runs (default 90M)")
    ap.add_argument("--report", metavar="FILE", nargs="+",
                    help="print the tables (or --json) of saved --json outputs, profiles of "
                         "several runs merged (later files win); runs nothing")
    ap.add_argument("--keep", action="store_true",
                    help="keep the raw outputs (iperf3 JSON, ping, receive bins) and say where")
    ap.add_argument("--failover-repeat", type=int, default=0, metavar="N",
                    help="run only mpf's failover test (a download while WiFi, then 5G, dies "
                         "and comes back), N times per CC, and print every outage with what "
                         "the sending host's TCP did meanwhile (RTOs, retransmits) and the "
                         "appliances' failover counters; about 100 s x N per profile")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    type=lambda s: tuple(s.split("=", 1)),
                    help="put `KEY = VALUE;` in both appliances' multipath group (repeatable; "
                         "e.g. --set max_queue_ms=30)")
    ap.add_argument("--lock-wait", type=float, default=1800.0,
                    help="seconds to wait for the test bed lock before each profile (it is "
                         "released between profiles; default 1800)")
    args = ap.parse_args(argv)
    if args.report:
        rep = None
        for path in args.report:
            with open(path) as f:
                r = json.load(f)
            if rep is None:
                rep = r
            else:
                rep["profiles"].update(r["profiles"])
                rep["elapsed_seconds"] = rep.get("elapsed_seconds", 0) + r.get("elapsed_seconds", 0)
                rep.setdefault("warnings", []).extend(r.get("warnings", []))
        rep["profiles"] = {k: rep["profiles"][k] for k in PROFILES if k in rep["profiles"]}
        kinds = {"failover_runs" in P for P in rep["profiles"].values()}
        if len(kinds) > 1:
            print("tools/mpf bench multipath --report: --failover-repeat outputs and full "
                  "benchmark outputs cannot be merged", file=sys.stderr)
            return 2
        failover = kinds == {True}
        (derive_failover if failover else derive)(rep)
        if args.json:
            json.dump(rep, sys.stdout, indent=2)
            print()
        else:
            (print_failover_report if failover else print_report)(rep)
        return 0
    if args.profiles is None:
        args.profiles = ["std"] if args.quick else list(PROFILES)
    if args.seconds is None:
        args.seconds = 5 if args.quick else 10
    bad = [p for p in args.profiles if p not in PROFILES]
    if args.max_rate and (len(args.max_rate) != 2 or not all(
            re.fullmatch(r"[0-9]+[kMG]?|auto", x) for x in args.max_rate)):
        bad.append("--max-rate " + ",".join(args.max_rate))
    if args.failover_repeat < 0 or (args.failover_repeat and args.report):
        bad.append("--failover-repeat")
    bad += ["--set " + "=".join(kv) for kv in args.set
            if len(kv) != 2 or not re.fullmatch(r"[a-z_]+", kv[0]) or not kv[1]
            or not re.fullmatch(r'[A-Za-z0-9_."]+', kv[1])]
    if bad or args.seconds < 2:
        print(f"tools/mpf bench multipath: unknown profile(s) {bad} or --seconds < 2",
              file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("tools/mpf bench multipath: must run as root (network namespaces)", file=sys.stderr)
        return 2
    missing = [t for t in ("iperf3", "ping", "ss") + (() if args.failover_repeat else ("mptcpize",))
               if not shutil.which(t)]
    dp = os.environ.get("MPF_DATAPLANE", os.path.join(build, "dataplane", "mpf-dataplane"))
    if not os.access(dp, os.X_OK):
        missing.append(dp)
    if not os.access(os.path.join(build, "tools", "linkem"), os.X_OK):
        missing.append(os.path.join(build, "tools", "linkem"))
    if missing:
        print("tools/mpf bench multipath: missing " + ", ".join(missing) +
              " (tools/mpf setup installs iperf3, iputils-ping, iproute2 and mptcpd; "
              "tools/mpf build builds the rest)", file=sys.stderr)
        return 2

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    workdir = tempfile.mkdtemp(prefix="mpf-bench-mp-")
    bench = Bench(args, workdir)
    rep = {"benchmark": "multipath", "machine": machine(), "seconds": args.seconds,
           "quick": args.quick, "udp_rate": args.udp_rate, "profiles": {}, "warnings": []}
    t_start = time.monotonic()
    rc = 0
    try:
        for prof in args.profiles:
            rep["profiles"][prof] = bench.profile(prof)
    except Interrupted as e:
        rc = 130
        log(f"tools/mpf bench multipath: interrupted ({e}); tearing down")
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
        rc = 3
        log(f"tools/mpf bench multipath: {e}")
    finally:
        old = {s: signal.signal(s, signal.SIG_IGN)
               for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        bench.teardown()
        for s, h in old.items():
            signal.signal(s, h)
    rep["elapsed_seconds"] = round(time.monotonic() - t_start, 1)
    if rc == 0 or rep["profiles"]:
        for prof, P in rep["profiles"].items():
            for s in SYSTEMS if "results" in P else ():
                for cc in CCS:
                    for k, r in P["results"][s][cc].items():
                        if isinstance(r, dict) and r.get("error"):
                            rep["warnings"].append(f"{prof} {s} {cc} {k}: {r['error']}")
        if args.failover_repeat:
            derive_failover(rep)
        else:
            derive(rep)
        if args.keep:
            with open(os.path.join(workdir, "report.json"), "w") as f:
                json.dump(rep, f, indent=2)
        if args.json:
            json.dump(rep, sys.stdout, indent=2)
            print()
        elif args.failover_repeat:
            print_failover_report(rep)
        else:
            print_report(rep)
        if rc == 0 and (rep["warnings"] or not all(t["met"] for t in rep["targets"])):
            rc = 1
    if args.keep:
        log(f"raw outputs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
