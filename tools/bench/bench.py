#!/usr/bin/env python3
"""mpf benchmarks. Usage: bench.py dataplane [--json] [--seconds N] [...]   (bench.py --help)

`dataplane`: packet rate of the real mpf-dataplane on vdevs (no namespaces, no NICs). A
net_pcap port replays a generated capture from memory (infinite_rx=1) into the appliance, a
net_null port swallows what it sends. In the same run, on the same CPUs and with the same pcap,
dpdk-testpmd forwards the capture to net_null in io mode: the baseline of the PMDs and the
polling loop alone. Every figure that matters is a ratio against that baseline, because shared
CPUs make absolute rates noisy.

Rates come from DPDK telemetry (/mpf/stats for mpf, /ethdev/stats for testpmd) read at t0 and
t1; CPU time from /proc/PID/stat over the same interval, so cycles per packet = core Hz x CPU
seconds / packets (time the hypervisor stole from us is not counted).

`dataplane --stats-cost`: what the statistics counters cost. The same sources built with and
without them (build-counters, build-nocounters: meson -Dcounters=false makes bump() a no-op),
run in interleaved pairs; packets are counted from the ethdev counters for both, since the
build without counters reports zeros in /mpf/stats.
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import frames as F  # noqa: E402
from telemetry import RUNTIME_DIR, Telemetry, TelemetryError  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MBUFS_TESTPMD = 16384
MBUFS_MPF = 16383         # the same pool size (mpf wants 2^n - 1; its default)
EAL_MEM_MB = 512
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
DEFAULT_SIZES = (64, 512, 1400)


class Interrupted(Exception):
    pass


def _on_signal(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


def log(msg, quiet=False):
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


# ---- machine -----------------------------------------------------------------------------------

def cpuinfo():
    model, mhz = "unknown", None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                k = k.strip()
                if k == "model name" and model == "unknown":
                    model = v.strip()
                elif k == "cpu MHz" and mhz is None:
                    mhz = float(v)
    except OSError:
        pass
    return model, mhz


def steal_jiffies():
    """(steal, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[7] if len(v) > 7 else 0), sum(v[:8])


def proc_cpu_seconds(pid):
    """User + system CPU time of the whole process (all threads)."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return rev + ("+dirty" if dirty else "") if rev else None
    except (OSError, subprocess.SubprocessError):
        return None


def dpdk_version():
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "dpdk"],
                             capture_output=True, text=True, timeout=5).stdout.strip()
        return out or None
    except (OSError, subprocess.SubprocessError):
        return None


# ---- processes ---------------------------------------------------------------------------------

def _die_with_parent():
    """In the child before exec: SIGTERM when the benchmark dies (even by SIGKILL)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Proc:
    """One DPDK process, in its own session (a Ctrl-C reaches us, and we stop it cleanly)."""
    live = []

    def __init__(self, name, cmd, workdir, prefix):
        self.name, self.cmd, self.prefix = name, cmd, prefix
        self.out_path = os.path.join(workdir, f"{prefix}.out")
        self.out = open(self.out_path, "w")
        self.p = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.DEVNULL, stdout=self.out,
                                  stderr=subprocess.STDOUT, start_new_session=True,
                                  preexec_fn=_die_with_parent)
        Proc.live.append(self)

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        """SIGINT (both programs stop cleanly and print their counters), then SIGKILL."""
        if self.p.poll() is None:
            try:
                self.p.send_signal(signal.SIGINT)
                self.p.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.out.close()
        if self in Proc.live:
            Proc.live.remove(self)
        # DPDK leaves its runtime directory (config, telemetry socket) behind.
        shutil.rmtree(os.path.join(RUNTIME_DIR, self.prefix), ignore_errors=True)
        try:  # mpf's stats region, named after the prefix (see measure())
            os.unlink(f"/dev/shm/mpf-{self.prefix}")
        except OSError:
            pass
        return self.p.returncode

    def output(self, tail=30):
        try:
            with open(self.out_path, errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-tail:])

    @classmethod
    def stop_all(cls):
        # A second Ctrl-C must not cut the clean-up short.
        old = {s: signal.signal(s, signal.SIG_IGN)
               for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            for p in list(cls.live):
                p.stop()
        finally:
            for s, h in old.items():
                signal.signal(s, h)


# ---- one measurement ---------------------------------------------------------------------------

def eal_args(prefix, pcap, ncpus):
    # mpf wants a TX queue per lcore on every port; net_pcap has one per tx_pcap (nothing is
    # sent on it here: /dev/null), net_null as many as asked. The same devices for testpmd.
    txq = ",tx_pcap=/dev/null" * ncpus
    return ["--no-huge", "-m", str(EAL_MEM_MB), "--no-pci", "--file-prefix", prefix,
            "--log-level=error",
            "--vdev", f"net_pcap0,rx_pcap={pcap},infinite_rx=1{txq}",
            "--vdev", "net_null0,no-rx=1"]


def lcores_arg(kind, cpus):
    """mpf: one lcore per CPU (with one CPU the main lcore polls). testpmd needs a forwarding
    lcore besides its main one: with one CPU both share it (main sleeps while forwarding)."""
    if len(cpus) == 1:
        return f"0@{cpus[0]}" if kind == "mpf" else f"(0,1)@{cpus[0]}"
    return ",".join(f"{i}@{c}" for i, c in enumerate(cpus))


def sample(kind, tel, pid, ethdev_counts=False):
    """Counters and CPU time now. ethdev_counts: count mpf's packets as testpmd's (port 0 rx,
    port 1 tx), not from /mpf/stats, which a -Dcounters=false build leaves at zero."""
    t_a, c_a = time.monotonic(), proc_cpu_seconds(pid)
    s = {}
    if kind == "mpf" and not ethdev_counts:
        st = tel.cmd("/mpf/stats")
        e0 = tel.cmd("/ethdev/stats,0")
        s["rx"], s["tx"] = st["rx_packets"], st["tx_packets"]
        s["drops"] = dict(st.get("drops") or {})
        s["dropped"] = st.get("dropped", 0)
        s["to_main"], s["held"] = st.get("to_main", 0), st.get("held", 0)
        s["nat_sessions"] = st.get("nat_sessions", 0)
    else:
        e0 = tel.cmd("/ethdev/stats,0")
        e1 = tel.cmd("/ethdev/stats,1")
        s["rx"], s["tx"] = e0["ipackets"], e1["opackets"]
        s["drops"] = {"tx_oerrors": e1.get("oerrors", 0)}
        s["dropped"] = e1.get("oerrors", 0)
        if kind == "mpf":  # what mpf's own counters say: zero when built without them
            s["mpf_stats_rx"] = tel.cmd("/mpf/stats")["rx_packets"]
            s["to_main"], s["held"], s["nat_sessions"] = 0, 0, 0
    # Frames the PMD could not deliver (no mbuf) are lost before either program sees them.
    s["pmd_rx_nombuf"] = e0.get("rx_nombuf", 0)
    s["pmd_imissed"] = e0.get("imissed", 0)
    t_b, c_b = time.monotonic(), proc_cpu_seconds(pid)
    s["t"], s["cpu"] = (t_a + t_b) / 2, (c_a + c_b) / 2
    s["steal"], s["jiffies"] = steal_jiffies()
    return s


def measure(kind, args, scenario, pcap, cpus, workdir, seq, hz, dataplane=None,
            ethdev_counts=False):
    """One run of mpf (args.dataplane, or `dataplane`) or testpmd; ethdev_counts: see sample()."""
    prefix = f"mpfbench{os.getpid()}-{seq}"
    eal = eal_args(prefix, pcap, len(cpus))
    if kind == "mpf":
        conf = os.path.join(workdir, f"{scenario}.conf")
        with open(conf, "w") as f:
            f.write(F.CONFIGS[scenario].format(pcap="net_pcap0", null="net_null0", mbufs=MBUFS_MPF,
                                               key=F.PSK_HEX))
            # A stats region of our own (/dev/shm/mpf-PREFIX): a dataplane running beside the
            # benchmark keeps its default one.
            f.write(f'control = {{ name = "{prefix}"; }};\n')
        cmd = [dataplane or args.dataplane, "--lcores", lcores_arg(kind, cpus)] + eal + ["--", "--config", conf]
    else:
        cmd = [args.testpmd, "--lcores", lcores_arg(kind, cpus)] + eal + [
            "--", "--forward-mode=io", "--nb-cores=1", f"--total-num-mbufs={MBUFS_TESTPMD}",
            "--auto-start", "--stats-period=3600"]  # a period keeps it running without stdin
    proc = Proc(kind, cmd, workdir, prefix)
    res = {"command": " ".join(cmd)}
    perf = None
    done = False
    try:
        tel = Telemetry.wait(prefix, START_TIMEOUT, proc.alive)
        with tel:
            deadline = time.monotonic() + START_TIMEOUT
            while True:  # until the command exists and packets flow
                if not proc.alive():
                    raise RuntimeError("exited during start-up")
                try:
                    if sample(kind, tel, proc.pid, ethdev_counts)["rx"] > 0:
                        break
                except (TelemetryError, KeyError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("no packets received within "
                                       f"{START_TIMEOUT:.0f} s of start")
                time.sleep(0.05)
            time.sleep(args.warmup)
            if args.perf and kind == "mpf":
                perf = start_perf(proc.pid, workdir, prefix, args.seconds)
            s0 = sample(kind, tel, proc.pid, ethdev_counts)
            time.sleep(args.seconds)
            s1 = sample(kind, tel, proc.pid, ethdev_counts)
            if not proc.alive():
                raise RuntimeError("exited during the measurement")
        done = True
    except (TelemetryError, RuntimeError) as e:
        proc.stop()
        raise RuntimeError(f"{kind} ({scenario}): {e}\n  command: {' '.join(cmd)}\n"
                           f"  output:\n{proc.output()}") from None
    finally:
        if perf is not None:
            res["perf_top"] = finish_perf(perf, wait=done)
    rc = proc.stop()
    if kind == "mpf" and rc != 0:
        raise RuntimeError(f"mpf-dataplane exited with status {rc}\n{proc.output()}")

    dt = s1["t"] - s0["t"]
    rx, tx = s1["rx"] - s0["rx"], s1["tx"] - s0["tx"]
    cpu = s1["cpu"] - s0["cpu"]
    drops = {k: v - s0["drops"].get(k, 0) for k, v in s1["drops"].items()
             if v - s0["drops"].get(k, 0)}
    for k in ("pmd_rx_nombuf", "pmd_imissed"):
        if s1[k] - s0[k]:
            drops[k] = s1[k] - s0[k]
    jiff = s1["jiffies"] - s0["jiffies"]
    res.update({
        "seconds": round(dt, 3),
        "rx_packets": rx, "tx_packets": tx,
        "rx_mpps": rx / dt / 1e6, "mpps": tx / dt / 1e6,
        "cpu_seconds": round(cpu, 3), "busy_cores": round(cpu / dt, 3),
        "cycles_per_packet": (hz * cpu / tx) if (hz and tx) else None,
        "drops": sum(drops.values()), "drops_by_reason": drops,
        "steal_pct": round(100.0 * (s1["steal"] - s0["steal"]) / jiff, 2) if jiff else 0.0,
    })
    if kind == "mpf":
        res["to_main"] = s1["to_main"] - s0["to_main"]
        res["nat_sessions"] = s1["nat_sessions"]
    if "mpf_stats_rx" in s1:
        res["mpf_stats_rx_packets"] = s1["mpf_stats_rx"] - s0["mpf_stats_rx"]
    return res


# ---- perf (optional) ---------------------------------------------------------------------------

def start_perf(pid, workdir, prefix, seconds):
    perf = shutil.which("perf")
    if not perf:
        return None
    data = os.path.join(workdir, f"{prefix}.perf.data")
    # No hardware counters in most VMs: sample on the cpu-clock software event.
    p = subprocess.Popen([perf, "record", "-q", "-e", "cpu-clock", "-F", "2000", "-p", str(pid),
                          "-o", data, "--", "sleep", str(seconds)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    return p, data


def finish_perf(perf, wait=True):
    p, data = perf
    try:
        if not wait:
            p.terminate()
        p.wait(30 if wait else 5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return []
    if not wait:
        return []
    try:
        out = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                              "--sort", "dso,symbol", "--percent-limit", "1"],
                             capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    top = []
    for line in out.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0].endswith("%"):
            # "[.] symbol" or "[k] symbol", then perf 6's empty IPC columns ("-  -")
            sym = re.sub(r"^\[.\]\s+", "", parts[2])
            sym = re.sub(r"(\s+-)+\s*$", "", sym).strip()
            top.append({"pct": float(parts[0].rstrip("%")), "dso": parts[1], "symbol": sym})
    return top[:20]


# ---- the benchmark -----------------------------------------------------------------------------

def expected_drops(scenario, flows, rx_packets):
    """(reason, most) the scenario's pcap makes mpf drop by design over rx_packets received:
    server-uplink's announcing probe, replayed with the file (frames.EXPECTED_DROPS), once per
    pass of flows + 1 frames. (None, 0) for the other scenarios."""
    reason, per_pass = F.EXPECTED_DROPS.get(scenario, (None, 0))
    if not reason:
        return None, 0
    # The counters of one sample are not read at one instant: a pass of slack.
    return reason, per_pass * (rx_packets // (flows + per_pass) + 1) + 1


def split_drops(scenario, flows, m):
    """mpf's drops over the interval, without the scenario's expected ones: (unexpected total,
    {reason: count} unexpected, expected count). Expected drops beyond the expected number
    stay unexpected."""
    by_reason = dict(m["drops_by_reason"])
    reason, most = expected_drops(scenario, flows, m["rx_packets"])
    expected = min(by_reason.get(reason, 0), most) if reason else 0
    if expected:
        by_reason[reason] -= expected
        if not by_reason[reason]:
            del by_reason[reason]
    return sum(by_reason.values()), by_reason, expected


def matrix(args, ncpus):
    rows = []
    for scn in args.scenarios:
        for lc in args.lcores:
            sizes = args.sizes if (args.sizes_given or lc == 1) else args.sizes[:1]
            for size in sizes:
                rows.append((scn, size, lc))
    skipped = [r for r in rows if r[2] > ncpus]
    return [r for r in rows if r[2] <= ncpus], skipped


def run_dataplane(args):
    quiet = args.json
    model, mhz = cpuinfo()
    hz = mhz * 1e6 if mhz else None
    cpus = sorted(os.sched_getaffinity(0))
    rows, skipped = matrix(args, len(cpus))
    machine = {"nproc": os.cpu_count(), "usable_cpus": cpus, "model": model, "mhz": mhz,
               "kernel": platform.release(), "dpdk": dpdk_version(), "mpf_rev": git_rev()}
    for r in skipped:
        log(f"skipped: {r[0]} {r[1]} B with {r[2]} lcores (only {len(cpus)} CPUs usable)", quiet)

    workdir = tempfile.mkdtemp(prefix="mpf-bench-")
    results = []
    try:
        t_start = time.monotonic()
        log(f"generating pcaps ({args.flows} flows) in {workdir}", quiet)
        pcaps = {}
        for scn, size, _ in rows:
            if (scn, size) not in pcaps:
                path = os.path.join(workdir, f"{scn}-{size}.pcap")
                F.write_pcap(path, F.frames(scn, size, args.flows))
                pcaps[scn, size] = path
        for i, (scn, size, lc) in enumerate(rows):
            use = cpus[:lc]
            log(f"[{i + 1}/{len(rows)}] {scn} {size} B, {args.flows} flows, {lc} lcore(s): "
                "mpf ...", quiet)
            m = measure("mpf", args, scn, pcaps[scn, size], use, workdir, 2 * i, hz)
            log(f"    mpf {m['mpps']:.2f} Mpps; testpmd ...", quiet)
            t = measure("testpmd", args, scn, pcaps[scn, size], use, workdir, 2 * i + 1, hz)
            log(f"    testpmd {t['mpps']:.2f} Mpps   ({time.monotonic() - t_start:.1f} s)", quiet)
            row = {"scenario": scn, "frame_bytes": size,
                   "rx_frame_bytes": size + (F.TUNNEL_OVERHEAD if scn == "server-uplink" else 0),
                   "flows": args.flows, "lcores": lc, "cpus": use, "mpf": m, "testpmd": t,
                   "ratio": m["mpps"] / t["mpps"] if t["mpps"] else None}
            cm, ct = m["cycles_per_packet"], t["cycles_per_packet"]
            row["cycles_mpf_own"] = cm - ct if (cm is not None and ct is not None) else None
            # The same ratio per CPU second actually received: immune to the two programs
            # getting different shares of a shared CPU.
            row["ratio_per_cpu"] = ct / cm if (cm and ct) else None
            unexplained = m["rx_packets"] - m["tx_packets"] - m["drops"]
            # server-uplink: the replays of the probe that opens the pcap (frames.py).
            drops, by_reason, row["expected_drops"] = split_drops(scn, args.flows, m)
            row["unexpected_drops"] = drops
            row["flags"] = []
            if drops:
                row["flags"].append("mpf drops: " + ", ".join(
                    f"{k} {v}" for k, v in sorted(by_reason.items())))
            if abs(unexplained) > max(1000, m["rx_packets"] // 1000):
                row["flags"].append(f"mpf rx - tx - drops = {unexplained}")
            if m["to_main"]:
                row["flags"].append(f"mpf sent {m['to_main']} packets to the main lcore")
            if t["drops"]:
                row["flags"].append("testpmd drops: " + ", ".join(
                    f"{k} {v}" for k, v in sorted(t["drops_by_reason"].items())))
            results.append(row)
        elapsed = time.monotonic() - t_start
    finally:
        Proc.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)

    report = {"benchmark": "dataplane", "machine": machine, "seconds": args.seconds,
              "warmup_seconds": args.warmup, "flows": args.flows, "elapsed_seconds":
              round(elapsed, 1), "results": results}
    return emit(report, args.json, print_table)


def emit(report, as_json, printer):
    """Prints the report (JSON or the printer's table); exit status 1 when a row is flagged."""
    if as_json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        printer(report)
    return 1 if any(r["flags"] for r in report["results"]) else 0


def fmt(v, spec, none="-"):
    return none if v is None else format(v, spec)


def print_table(rep):
    m = rep["machine"]
    print(f"mpf bench dataplane: {m['model']}, nproc {m['nproc']}, "
          f"{fmt(m['mhz'], '.0f')} MHz, kernel {m['kernel']}, DPDK {m['dpdk']}, "
          f"mpf {m['mpf_rev']}")
    print(f"{rep['seconds']} s per measurement after {rep['warmup_seconds']} s warm-up; "
          f"source net_pcap infinite_rx, sink net_null; {rep['elapsed_seconds']} s in all")
    hdr = ("scenario", "frame", "flows", "lcores", "mpf Mpps", "testpmd Mpps", "ratio",
           "ratio/CPU", "cyc/pkt mpf", "cyc/pkt testpmd", "mpf own cyc", "CPUs busy", "drops")
    rows = []
    for r in rep["results"]:
        rows.append((r["scenario"], f"{r['frame_bytes']} B", str(r["flows"]), str(r["lcores"]),
                     f"{r['mpf']['mpps']:.2f}", f"{r['testpmd']['mpps']:.2f}",
                     fmt(r["ratio"], ".3f"), fmt(r["ratio_per_cpu"], ".3f"),
                     fmt(r["mpf"]["cycles_per_packet"], ".0f"),
                     fmt(r["testpmd"]["cycles_per_packet"], ".0f"),
                     fmt(r["cycles_mpf_own"], ".0f"),
                     f"{r['mpf']['busy_cores']:.2f}/{r['testpmd']['busy_cores']:.2f}",
                     str(r.get("unexpected_drops", r["mpf"]["drops"])) +
                     (" !" if r["flags"] else "")))
    print()
    print_rows(hdr, rows)
    print()
    for scn in dict.fromkeys(r["scenario"] for r in rep["results"]):
        print(f"  {scn}: {F.DESCRIPTIONS[scn]}")
    print(f"  frame: plain Ethernet frame incl. FCS (tunnel frames are {F.TUNNEL_OVERHEAD} B "
          "longer); ratio = mpf Mpps / testpmd Mpps;")
    print("  ratio/CPU = the same per CPU second each process actually got (= testpmd cyc/pkt / "
          "mpf cyc/pkt): trust it when the CPUs are shared")
    print("  lcores 1: one CPU (mpf: main lcore polls; testpmd: its main lcore sleeps beside the "
          "forwarding one); 2: main + 1 forwarding lcore")
    print("  cyc/pkt = core Hz x CPU seconds of the process / packets sent; mpf own cyc = "
          "mpf - testpmd (NAT, tunnel, checks)")
    print("  CPUs busy = CPU seconds / wall seconds, mpf/testpmd (below the lcore count: the CPU "
          "was shared with something else)")
    expected = [r for r in rep["results"] if r.get("expected_drops")]
    if expected:
        print("  drops: without the replays of server-uplink's probe (its pcap's first frame, "
              "1 in flows + 1), dropped as")
        print("  tunnel_replayed by design: " + ", ".join(
            f"{r['frame_bytes']} B {r['lcores']} lcore(s) {r['expected_drops']}"
            for r in expected))
    steal = [x[k]["steal_pct"] for x in rep["results"] for k in ("mpf", "testpmd")]
    if steal:
        print(f"  CPU steal during measurements: max {max(steal):.1f}%")
    for r in rep["results"]:
        for f in r["flags"]:
            print(f"  ! {r['scenario']} {r['frame_bytes']} B {r['lcores']} lcore(s): {f}")
    perf_rows = [r for r in rep["results"] if r["mpf"].get("perf_top")]
    for r in perf_rows:
        print(f"\n  perf (cpu-clock samples), mpf {r['scenario']} {r['frame_bytes']} B "
              f"{r['lcores']} lcore(s):")
        for e in r["mpf"]["perf_top"][:12]:
            print(f"    {e['pct']:5.1f}%  {e['symbol'][:70]}  ({e['dso']})")


# ---- --stats-cost: the same binary with and without its counters ------------------------------

STATS_COST_SIZES = (64, 1400)
STATS_COST_BUILDS = ("build-counters", "build-nocounters")
VARIANTS = (("with", True), ("without", False))   # label, meson option counters


def build_options(builddir):
    """{name: value} of a configured meson build directory ({} when not configured)."""
    try:
        with open(os.path.join(builddir, "meson-info", "intro-buildoptions.json")) as f:
            return {o["name"]: o["value"] for o in json.load(f)}
    except (OSError, ValueError, KeyError):
        return {}


def ensure_build(builddir, counters, buildtype):
    """Configures builddir (-Dcounters=...) if needed, builds it; returns mpf-dataplane's path.
    meson and ninja print on stderr: stdout stays clean for --json."""
    if not os.path.isfile(os.path.join(builddir, "build.ninja")):
        cmd = ["meson", "setup", builddir, ROOT, f"-Dcounters={str(counters).lower()}"]
        if buildtype:
            cmd.append(f"--buildtype={buildtype}")
        log("$ " + " ".join(cmd))
        if subprocess.run(cmd, stdout=sys.stderr).returncode != 0:
            raise RuntimeError(f"meson setup {builddir} failed")
    log(f"$ ninja -C {builddir}")
    if subprocess.run(["ninja", "-C", builddir], stdout=sys.stderr).returncode != 0:
        raise RuntimeError(f"ninja -C {builddir} failed")
    got = build_options(builddir).get("counters")
    if got is not counters:
        raise RuntimeError(f"{builddir} is configured with counters={got}, want {counters} "
                           f"(meson configure {builddir} -Dcounters={str(counters).lower()})")
    return os.path.join(builddir, "dataplane", "mpf-dataplane")


def stats_cost_binaries(args):
    """{"with": binary, "without": binary}, both built with the main build's buildtype."""
    buildtype = build_options(args.build).get("buildtype")
    return {label: ensure_build(d, counters, buildtype)
            for (label, counters), d in zip(VARIANTS, args.builds)}


def cost_run_flags(label, m, scenario, flows):
    """What makes one run suspicious: lost packets, or counters that are not what the build
    says (the 'without' build must leave /mpf/stats at zero, the 'with' build must count).
    server-uplink's replayed probes (frames.py) are not counted as lost."""
    flags = []
    lost = m["rx_packets"] - m["tx_packets"]
    lost -= min(max(lost, 0), expected_drops(scenario, flows, m["rx_packets"])[1])
    if abs(lost) > max(1000, m["rx_packets"] // 1000):
        flags.append(f"{label}: source rx - sink tx = {lost}")
    if m["drops"]:
        flags.append(f"{label}: " + ", ".join(f"{k} {v}" for k, v in
                                               sorted(m["drops_by_reason"].items())))
    counted = m.get("mpf_stats_rx_packets", 0)
    if label == "without" and counted:
        flags.append(f"without: /mpf/stats counted {counted} packets (counters not off?)")
    if label == "with" and not counted:
        flags.append("with: /mpf/stats counted nothing (counters off?)")
    return flags


def median_of(runs, key):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def summarise_cost(row):
    """Medians over the repeats, the difference and ratio of cycles per packet, per-pair
    differences (their spread is the noise)."""
    runs = row["runs"]
    w = median_of(runs["with"], "cycles_per_packet")
    wo = median_of(runs["without"], "cycles_per_packet")
    pairs = [a["cycles_per_packet"] - b["cycles_per_packet"]
             for a, b in zip(runs["with"], runs["without"])
             if a["cycles_per_packet"] is not None and b["cycles_per_packet"] is not None]
    row.update({
        "cycles_with": w, "cycles_without": wo,
        "cycles_counters": w - wo if (w is not None and wo is not None) else None,
        "ratio": w / wo if (w and wo) else None,
        "pair_differences": pairs,
        "mpps_with": median_of(runs["with"], "mpps"),
        "mpps_without": median_of(runs["without"], "mpps"),
        "busy_with": median_of(runs["with"], "busy_cores"),
        "busy_without": median_of(runs["without"], "busy_cores"),
    })
    if runs.get("testpmd"):
        row["cycles_testpmd"] = median_of(runs["testpmd"], "cycles_per_packet")
        row["mpps_testpmd"] = median_of(runs["testpmd"], "mpps")


def measure_cost_row(args, binaries, scn, size, pcap, cpus, workdir, hz, seq, quiet):
    """Interleaved A/B: with, without, with, without, ... (args.repeat pairs), then testpmd
    once per pair with --baseline."""
    runs = {"with": [], "without": []}
    if args.baseline:
        runs["testpmd"] = []
    flags = []
    for rep in range(args.repeat):
        for label, _ in VARIANTS:
            m = measure("mpf", args, scn, pcap, cpus, workdir, next(seq), hz,
                        dataplane=binaries[label], ethdev_counts=True)
            log(f"    {rep + 1}/{args.repeat} {label:7} {m['mpps']:.2f} Mpps, "
                f"{fmt(m['cycles_per_packet'], '.0f')} cyc/pkt", quiet)
            runs[label].append(m)
            flags += cost_run_flags(label, m, scn, args.flows)
        if args.baseline:
            t = measure("testpmd", args, scn, pcap, cpus, workdir, next(seq), hz)
            log(f"    {rep + 1}/{args.repeat} testpmd {t['mpps']:.2f} Mpps", quiet)
            runs["testpmd"].append(t)
    row = {"scenario": scn, "frame_bytes": size, "flows": args.flows, "lcores": len(cpus),
           "cpus": cpus, "runs": runs, "flags": flags}
    summarise_cost(row)
    return row


def run_stats_cost(args):
    quiet = args.json
    binaries = stats_cost_binaries(args)
    model, mhz = cpuinfo()
    hz = mhz * 1e6 if mhz else None
    cpus = sorted(os.sched_getaffinity(0))
    lcores = args.lcores[0]
    if lcores > len(cpus):
        raise RuntimeError(f"{lcores} lcores wanted, {len(cpus)} CPUs usable")
    machine = {"nproc": os.cpu_count(), "usable_cpus": cpus, "model": model, "mhz": mhz,
               "kernel": platform.release(), "dpdk": dpdk_version(), "mpf_rev": git_rev()}
    workdir = tempfile.mkdtemp(prefix="mpf-bench-")
    results, seq = [], iter(range(1 << 30))
    try:
        t_start = time.monotonic()
        for scn in args.scenarios:
            for size in args.sizes:
                pcap = os.path.join(workdir, f"{scn}-{size}.pcap")
                F.write_pcap(pcap, F.frames(scn, size, args.flows))
                log(f"{scn} {size} B, {args.flows} flows, {lcores} lcore(s):", quiet)
                results.append(measure_cost_row(args, binaries, scn, size, pcap,
                                                cpus[:lcores], workdir, hz, seq, quiet))
        elapsed = time.monotonic() - t_start
    finally:
        Proc.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    report = {"benchmark": "dataplane-stats-cost", "machine": machine,
              "builds": {label: os.path.relpath(b, ROOT) for label, b in binaries.items()},
              "seconds": args.seconds, "warmup_seconds": args.warmup, "repeat": args.repeat,
              "flows": args.flows, "elapsed_seconds": round(elapsed, 1), "results": results}
    return emit(report, args.json, print_cost_table)


def print_rows(hdr, rows):
    w = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
         for i, h in enumerate(hdr)]
    line = lambda cells: "  ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i])  # noqa: E731
                                   for i, c in enumerate(cells))
    print(line(hdr))
    print(line(["-" * x for x in w]))
    for row in rows:
        print(line(row))


def print_cost_table(rep):
    m = rep["machine"]
    print(f"mpf bench dataplane --stats-cost: {m['model']}, nproc {m['nproc']}, "
          f"{fmt(m['mhz'], '.0f')} MHz, kernel {m['kernel']}, DPDK {m['dpdk']}, "
          f"mpf {m['mpf_rev']}")
    print(f"with = {rep['builds']['with']}, without = {rep['builds']['without']}; "
          f"{rep['repeat']} interleaved pairs x {rep['seconds']} s after {rep['warmup_seconds']}"
          f" s warm-up; {rep['elapsed_seconds']} s in all")
    baseline = any("cycles_testpmd" in r for r in rep["results"])
    hdr = ["scenario", "frame", "lcores", "cyc/pkt with", "cyc/pkt without", "counters cyc",
           "pairs min..max", "with/without", "Mpps with", "Mpps without", "CPUs busy"]
    if baseline:
        hdr += ["cyc/pkt testpmd"]
    rows = []
    for r in rep["results"]:
        pairs = r["pair_differences"]
        row = [r["scenario"], f"{r['frame_bytes']} B", str(r["lcores"]),
               fmt(r["cycles_with"], ".0f"), fmt(r["cycles_without"], ".0f"),
               fmt(r["cycles_counters"], "+.1f") + (" !" if r["flags"] else ""),
               f"{min(pairs):+.0f}..{max(pairs):+.0f}" if pairs else "-",
               fmt(r["ratio"], ".3f"), fmt(r["mpps_with"], ".2f"), fmt(r["mpps_without"], ".2f"),
               f"{fmt(r['busy_with'], '.2f')}/{fmt(r['busy_without'], '.2f')}"]
        if baseline:
            row.append(fmt(r.get("cycles_testpmd"), ".0f"))
        rows.append(row)
    print()
    print_rows(hdr, rows)
    print()
    for scn in dict.fromkeys(r["scenario"] for r in rep["results"]):
        print(f"  {scn}: {F.DESCRIPTIONS[scn]}")
    print("  packets: ethdev counters (pcap port ipackets, null port opackets), not /mpf/stats "
          "(zero without counters)")
    print("  cyc/pkt = core Hz x CPU seconds / packets sent, median of the repeats; counters cyc "
          "= with - without;")
    print("  pairs min..max = the same difference within each interleaved pair (its spread is "
          "the noise); with/without = ratio of cyc/pkt")
    for r in rep["results"]:
        for f in r["flags"]:
            print(f"  ! {r['scenario']} {r['frame_bytes']} B: {f}")


# ---- command line ------------------------------------------------------------------------------

def int_list(s):
    try:
        return [int(x) for x in s.split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {s}")


def stats_cost_errors(args):
    """Checks --stats-cost's options; makes args.builds a pair of absolute paths."""
    errors = []
    dirs = [d for d in args.builds.split(",") if d]
    if len(dirs) != 2:
        errors.append("--builds takes two directories: DIR_WITH,DIR_WITHOUT")
    args.builds = [d if os.path.isabs(d) else os.path.join(ROOT, d) for d in dirs]
    if args.repeat < 1:
        errors.append("--repeat must be >= 1")
    if len(args.lcores) != 1:
        errors.append("--stats-cost takes one lcore count")
    if args.perf:
        errors.append("--perf and --stats-cost do not go together")
    return errors


def needed_binaries(args):
    """(what, path) of the programs this run starts and does not build itself."""
    need = []
    if not args.stats_cost:
        need.append(("mpf-dataplane", args.dataplane))
    if not args.stats_cost or args.baseline:
        need.append(("dpdk-testpmd", args.testpmd))
    return need


def main(argv):
    build = os.environ.get("MPF_BUILD_DIR", "build")
    if not os.path.isabs(build):
        build = os.path.join(ROOT, build)
    ap = argparse.ArgumentParser(
        prog="tools/mpf bench",
        description="mpf benchmarks. Each figure is paired with a baseline measured in the "
                    "same run on the same CPUs.")
    sub = ap.add_subparsers(dest="bench", metavar="BENCHMARK")
    dp = sub.add_parser(
        "dataplane", help="packet rate of mpf-dataplane vs dpdk-testpmd on vdevs",
        description="Packet rate of the real mpf-dataplane on net_pcap (infinite_rx) -> "
                    "net_null vdevs, against dpdk-testpmd io forwarding of the same pcap on the "
                    "same CPUs. Default matrix: every scenario at 64/512/1400 B with 1 lcore and "
                    "at 64 B with 2 lcores (about 2 minutes with --seconds 5). Exit status: 0, "
                    "1 when any row is flagged (drops, packets unaccounted for), 2 usage, "
                    "3 a run failed.")
    dp.add_argument("--json", action="store_true", help="print the results as JSON")
    dp.add_argument("--seconds", type=float, default=5.0,
                    help="measurement interval per run (default 5)")
    dp.add_argument("--warmup", type=float, default=0.5,
                    help="seconds between the first packet and t0 (default 0.5)")
    dp.add_argument("--flows", type=int, default=1024,
                    help=f"UDP flows, one frame each in the pcap (1..{F.MAX_FLOWS}, default 1024)")
    dp.add_argument("--sizes", type=int_list, default=None,
                    help="frame sizes in bytes incl. FCS, e.g. 64,512,1400 (default; given "
                         "explicitly, every size runs at every lcore count)")
    dp.add_argument("--lcores", type=int_list, default=None,
                    help="lcore counts: 1 (main lcore polls) and/or 2 (main + 1 worker); "
                         "default 1,2 (--stats-cost: 1, one count only)")
    dp.add_argument("--scenarios", type=lambda s: s.split(","), default=list(F.SCENARIOS),
                    help="comma-separated, from: " + ", ".join(F.SCENARIOS))
    dp.add_argument("--perf", action="store_true",
                    help="sample mpf with perf (cpu-clock) during each measurement and print "
                         "the hottest symbols")
    dp.add_argument("--dataplane", default=os.path.join(build, "dataplane", "mpf-dataplane"),
                    help="mpf-dataplane binary (default: $MPF_BUILD_DIR/dataplane/mpf-dataplane)")
    dp.add_argument("--testpmd", default=shutil.which("dpdk-testpmd") or "dpdk-testpmd",
                    help="dpdk-testpmd binary (Debian package dpdk)")
    sc = dp.add_argument_group(
        "--stats-cost", "what the statistics counters cost: mpf-dataplane built with and "
        "without them (meson -Dcounters=false), interleaved A/B runs, packets counted from the "
        "ethdev counters; default sizes 64,1400, 1 lcore")
    sc.add_argument("--stats-cost", action="store_true",
                    help="measure cycles/packet with and without the counters")
    sc.add_argument("--builds", metavar="DIR_WITH,DIR_WITHOUT", default=",".join(
                        STATS_COST_BUILDS),
                    help="the two build directories, relative to the repository root unless "
                         "absolute; configured (meson setup -Dcounters=true|false) when "
                         "missing, then built with ninja (default %(default)s)")
    sc.add_argument("--repeat", type=int, default=3,
                    help="A/B pairs per scenario and size (default 3); medians are reported")
    sc.add_argument("--baseline", action="store_true",
                    help="also run dpdk-testpmd once per pair (not needed for the difference)")
    args = ap.parse_args(argv)
    if args.bench is None:
        ap.print_help()
        return 2

    args.build = build
    args.dataplane = os.path.abspath(args.dataplane)  # the runs' cwd is a temp directory
    args.sizes_given = args.sizes is not None
    if args.sizes is None:
        args.sizes = list(STATS_COST_SIZES if args.stats_cost else DEFAULT_SIZES)
    if args.lcores is None:
        args.lcores = [1] if args.stats_cost else [1, 2]
    errors = stats_cost_errors(args) if args.stats_cost else []
    if args.seconds <= 0 or args.warmup < 0:
        errors.append("--seconds must be > 0 and --warmup >= 0")
    if not 1 <= args.flows <= F.MAX_FLOWS:
        errors.append(f"--flows must be 1..{F.MAX_FLOWS}")
    if not args.sizes or any(not 64 <= s <= 1518 for s in args.sizes):
        errors.append("--sizes must be within 64..1518")
    if not args.lcores or any(x not in (1, 2) for x in args.lcores):
        errors.append("--lcores takes 1 and/or 2")
    bad = [s for s in args.scenarios if s not in F.SCENARIOS]
    if bad:
        errors.append(f"unknown scenario(s) {', '.join(bad)}; known: {', '.join(F.SCENARIOS)}")
    if errors:
        for e in errors:
            print(f"tools/mpf bench: {e}", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("tools/mpf bench: must run as root (DPDK runtime directory in /var/run/dpdk)",
              file=sys.stderr)
        return 2
    for what, path in needed_binaries(args):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            print(f"tools/mpf bench: {what} not found at {path} "
                  "(tools/mpf build; tools/mpf setup installs dpdk)", file=sys.stderr)
            return 2

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    try:
        return run_stats_cost(args) if args.stats_cost else run_dataplane(args)
    except Interrupted as e:
        Proc.stop_all()
        print(f"tools/mpf bench: interrupted ({e}); processes stopped, temp files removed",
              file=sys.stderr)
        return 130
    except RuntimeError as e:
        Proc.stop_all()
        print(f"tools/mpf bench: {e}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
