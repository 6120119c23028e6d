"""Runs mpf-dataplane on net_pcap vdevs (--no-huge) for one scenario and checks the result.

A Scenario is one dataplane run: a config, the frames fed to each port (pcap in), and a list of
Cases. Each Case contributes input frames (in order, per port), the output frames it expects
(byte-exact except for explicitly masked offsets) and the counters it expects to move. After
the run the outputs are matched case by case, and scenario-wide checks follow: nothing else
came out, no drop reason moved that no case asked for, every received mbuf is accounted for.

Known dataplane bugs: a Case (or a scenario-wide check, via Scenario.xfail) may carry an `xfail`
reason. It is still evaluated as strictly as any other; run.py prints its result with a TAP
"# TODO" directive and does not count it as a failure (nor a pass that it now gets: remove the
mark then).

Multi-worker scenarios (Scenario(workers=N, rx_queues=Q)) run N worker lcores plus the main
lcore, give every port Q RX queues (one rx_pcap each) and N + 1 TX queues (one tx_pcap per
sending lcore: queue i is worker i, queue N the main lcore); the TX files of a port are merged
for the comparison and an expected frame may name the TX queue (= lcore) it must leave by
(Exp.txq). An input is (port, frame) or (port, frame, rx queue) or (port, frame, rx queue,
stage). RX queues listed in Scenario.fifos are named pipes the harness feeds stage by stage:
the net_pcap PMD reads them with blocking stdio, so the worker polling such a queue stops in
read() until the harness writes (a whole burst lets it go round its loop once) or closes the
pipe (end of file: it runs freely). Between stages the harness waits for a condition
(Scenario.stage_waits: callables(RunCtx) -> None when met, else what is awaited), reading
counters through the DPDK telemetry socket and which worker thread blocks in read() from /proc.
That turns "packet B must reach the owner after packet A was handled" into a fact instead of
a timing guess.

Peer sessions (wire format v3, frames.py): the dataplane checks the peer's data and feedback
frames only with the key of a session the peer announced first (the server: a probe of the
gateway's, the gateway: a probe reply of the server's), and only once its main lcore adopted it.
A scenario that feeds the peer's frames therefore starts with an announcing Case (gateway_cases /
server_cases announce_case): the announcing frame, then filler frames on that port up to the
first loop pass after the main lcore's (one lcore: every 16th pass), or in multi-worker runs a
FIFO stage of its own that the harness ends when telemetry shows peer_sessions. A case marked
`every_run` (the announcement) goes first into each run an `independent` scenario is split
into. Every scenario whose dataplane sends tunnel frames gets one more check: their tags verify
under the key derived from the salt the dataplane announces in its own probes (gateway) or probe
replies (server) (frames.dataplane_tags).
"""
import dataclasses
import hashlib
import json
import os
import platform
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

import frames as F

def progress_off_unless_set(config: str) -> str:
    """config with multipath.progress_interval_ms = 0 unless it sets the key itself. Progress
    reports (a feedback frame per 10 ms while data frames arrive) would add frames to nearly
    every scenario's output; the cases that test them (multipath_cases, "progress") turn them on."""
    if "progress_interval_ms" in config:
        return config
    for m in re.finditer(r"\bmultipath\s*=\s*\{", config):
        line = config[config.rfind("\n", 0, m.start()) + 1:m.start()]
        if "#" not in line:
            return config[:m.end()] + " progress_interval_ms = 0;" + config[m.end():]
    return config + "\nmultipath = { progress_interval_ms = 0; };\n"


RUN_SECONDS = 1.5        # after "mpf-dataplane: running"
START_TIMEOUT = 20.0     # to reach "running"
STOP_TIMEOUT = 20.0      # after SIGINT
STAGE_TIMEOUT = 15.0     # a stage's wait condition (multi-worker FIFO scenarios)


# ---- pcap files ----------------------------------------------------------------------------------

PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


def pcap_records(pkts, first=0):
    t = 1_700_000_000
    return b"".join(struct.pack("<IIII", t, first + i, len(p), len(p)) + p
                    for i, p in enumerate(pkts))


def write_pcap(path, pkts):
    with open(path, "wb") as f:
        f.write(PCAP_HEADER)
        f.write(pcap_records(pkts))


def read_pcap(path, times=None):
    """The frames of a pcap file; with a list `times`, their capture times (seconds, float)
    are appended to it (net_pcap stamps what it sends with the time it sent it)."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        e = ">"
    else:
        raise ValueError(f"{path}: not a pcap file")
    frac = 1e-9 if magic in (0xA1B23C4D, 0x4D3CB2A1) else 1e-6
    out, off = [], 24
    while off + 16 <= len(data):
        sec, sub, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        out.append(data[off:off + incl])  # a truncated capture compares as captured
        if times is not None:
            times.append(sec + sub * frac)
        off += incl
    return out


# ---- model ----------------------------------------------------------------------------------------

def inp(entry):
    """(port, frame, rx queue, stage) of an input entry; queue and stage default to 0."""
    port, frame = entry[0], entry[1]
    return port, frame, (entry[2] if len(entry) > 2 else 0), (entry[3] if len(entry) > 3 else 0)


@dataclass
class Case:
    name: str
    inputs: list = field(default_factory=list)    # (port, frame bytes[, rxq[, stage]]) in order
    expect: list = field(default_factory=list)    # F.Exp
    counters: dict = field(default_factory=dict)  # "drops.<reason>" or counter -> contribution
    # extra checks: callables(result) -> error string or None
    checks: list = field(default_factory=list)
    arp_replies_in: int = 0  # ARP replies addressed to us: consumed without any counter
    xfail: str = None  # a known dataplane bug makes this case fail: the bug, precisely
    # independent scenarios: the case goes first into every run (the peer's session
    # announcement); its counters do not count as a reason of its own when splitting
    every_run: bool = False


@dataclass
class Result:
    rc: int = None
    stdout: str = ""
    stderr: str = ""
    counters: dict = field(default_factory=dict)
    drops: dict = field(default_factory=dict)
    ports: dict = field(default_factory=dict)   # name -> dict(rx, rx_bytes, tx, tx_bytes)
    port_names: list = field(default_factory=list)
    macs: list = field(default_factory=list)
    out: dict = field(default_factory=dict)     # port index -> [frames]
    out_txq: dict = field(default_factory=dict)  # port index -> [TX queue of each frame]
    out_ts: dict = field(default_factory=dict)   # port index -> [send time of each frame, s]
    probes: list = field(default_factory=list)  # gateway: probes seen on path ports
    probes_txq: list = field(default_factory=list)
    lcores: dict = None     # multi-worker: /mpf/lcores read just before SIGINT
    live_stats: dict = None  # multi-worker: /mpf/stats read just before SIGINT
    error: str = None
    seconds: float = 0.0
    wall: tuple = None  # (time.time() at the start, at the end)

    def counter(self, key):
        if key.startswith("drops."):
            return self.drops.get(key[6:], 0)
        return self.counters.get(key, 0)


class Scenario:
    def __init__(self, name, role, config, cases, tunnel_ports=(), extra_checks=(),
                 allowed_drops=frozenset(), independent=False, workers=1, rx_queues=1,
                 fifos=(), stage_waits=(), xfail=None):
        self.name = name
        self.role = role            # "gateway" | "server"
        self.config = config        # str: libconfig text ("{tmp}" replaced by the temp dir)
        self.cases = cases
        self.tunnel_ports = tunnel_ports  # gateway: path ports (probes are filtered there)
        self.extra_checks = list(extra_checks)  # (name, callable(result) -> err or None)
        self.allowed_drops = set(allowed_drops)  # reasons allowed in any number (garbage)
        # Cases that do not depend on each other may be spread over several runs so that no
        # drop reason is shared by two cases of one run: a wrong count then names its case.
        self.independent = independent
        # Multi-worker runs (see the module docstring): worker lcores, RX queues per port,
        # FIFO-fed RX queues {(port, queue)}, and the wait after each stage but the last.
        self.workers = workers
        self.rx_queues = rx_queues
        self.fifos = set(fifos)
        self.stage_waits = list(stage_waits)
        # scenario-wide check name -> the known dataplane bug that makes it fail
        self.xfail = dict(xfail or {})

    def tx_queues(self):
        """TX queues per port: one per worker, plus the main lcore's when it does not poll."""
        return 1 if self.workers == 1 else self.workers + 1

    def derived(self, name, cases, extra_checks):
        return Scenario(name, self.role, self.config, cases, self.tunnel_ports, extra_checks,
                        self.allowed_drops, False, self.workers, self.rx_queues, self.fifos,
                        self.stage_waits,
                        {k.replace(self.name, name, 1): v for k, v in self.xfail.items()})


def split_by_reason(scn: Scenario):
    """The runs for scn: itself, or for an `independent` scenario as few runs as needed so
    that each drop reason belongs to at most one case per run."""
    if not scn.independent:
        return [scn]
    first = [c for c in scn.cases if c.every_run]
    rounds = []  # [(set of reasons, [cases])]
    for c in scn.cases:
        if c.every_run:
            continue
        keys = {k for k in c.counters if k.startswith("drops.")}
        for reasons, cases in rounds:
            if not keys & reasons:
                reasons |= keys
                cases.append(c)
                break
        else:
            rounds.append((set(keys), [c]))
    if len(rounds) == 1:
        return [scn]
    runs = []
    for i, (_, cases) in enumerate(rounds):
        name = f"{scn.name}-{i + 1}"
        pre = [dataclasses.replace(c, name=f"{c.name} [{name}]") for c in first]
        runs.append(scn.derived(name, pre + cases, scn.extra_checks if i == 0 else ()))
    return runs


def scenario_inputs(scn: Scenario):
    """{(port, rx queue, stage): [frames]} in case order; ports 0 and 1 always present."""
    out = {(0, 0, 0): [], (1, 0, 0): []}
    for c in scn.cases:
        for e in c.inputs:
            port, frame, q, stage = inp(e)
            out.setdefault((port, q, stage), []).append(frame)
    return out


# ---- running ---------------------------------------------------------------------------------------

def parse_output(res: Result):
    section = None
    for line in res.stdout.splitlines():
        m = re.match(r"mpf-dataplane:\s+(\S+)\s+(net_pcap\d+)\s+(\S+)\s+([0-9a-f:]{17})\s", line)
        if m:
            res.port_names.append(m.group(1))
            res.macs.append(m.group(4))
            continue
        if line in ("counters:", "ports:", "drops:"):
            section = line[:-1]
            continue
        if not line.startswith("  ") or section is None:
            section = None if not line.startswith("  ") else section
            continue
        if section in ("counters", "drops"):
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                (res.counters if section == "counters" else res.drops)[parts[0]] = int(parts[1])
        elif section == "ports":
            m = re.match(r"\s+(\S+)\s+(\S+)\s+rx (\d+) pkts (\d+) bytes, tx (\d+) pkts (\d+) bytes",
                         line)
            if m:
                res.ports[m.group(1)] = dict(rx=int(m.group(3)), rx_bytes=int(m.group(4)),
                                             tx=int(m.group(5)), tx_bytes=int(m.group(6)))


class FifoFeeder:
    """Writes a pcap stream into a named pipe an rx_pcap reads, one stage at a time."""

    def __init__(self, path, stages):
        self.path = path
        self.stages = stages            # {stage: [frames]}
        self.fd = None
        self.written = 0                # frames written so far
        self.error = None
        self.abort = threading.Event()
        self.opened = threading.Event()
        self._go = {}
        self._done = {}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self, n_stages):
        for st in range(n_stages):
            self._go[st] = threading.Event()
            self._done[st] = threading.Event()
        self._n = n_stages
        self._thread.start()

    def go(self, st):
        self._go[st].set()

    def wait_done(self, st, timeout):
        return self._done[st].wait(timeout)

    def _write(self, data):
        view = memoryview(data)
        while view and not self.abort.is_set():
            _, w, _ = select.select([], [self.fd], [], 0.05)
            if not w:
                continue
            try:
                n = os.write(self.fd, view)
            except BlockingIOError:
                continue
            view = view[n:]
        return not view

    def _run(self):
        try:
            # The PMD opens the pipe for reading while EAL probes the vdev (it blocks there
            # until a writer comes); a non-blocking open for writing fails until then.
            while not self.abort.is_set():
                try:
                    self.fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
                    break
                except OSError:
                    time.sleep(0.005)
            if self.fd is None:
                return
            self.opened.set()
            if not self._write(PCAP_HEADER):
                return
            for st in range(self._n):
                while not self._go[st].wait(0.05):
                    if self.abort.is_set():
                        return
                frames = self.stages.get(st, [])
                if not self._write(pcap_records(frames, self.written)):
                    return
                self.written += len(frames)
                self._done[st].set()
        except OSError as e:  # EPIPE: the dataplane went away
            self.error = str(e)
        finally:
            self.close()

    def close(self):
        fd, self.fd = self.fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    def stop(self):
        """Closes the pipe (the reader sees end of file) once the thread is done with it."""
        self.abort.set()
        self._thread.join(2)


def runtime_dirs(prefix):
    bases = ["/var/run/dpdk", os.path.join(os.environ.get("XDG_RUNTIME_DIR", "/tmp"), "dpdk"),
             "/tmp/dpdk"]
    return [os.path.join(b, prefix) for b in bases]


# read(2)'s number, as /proc/PID/task/TID/syscall shows it
READ_SYSCALL = {"x86_64": "0", "aarch64": "63", "ppc64le": "3", "riscv64": "63"}.get(
    platform.machine(), "0")


class RunCtx:
    """What a stage condition may look at while the dataplane runs."""

    def __init__(self, pid, prefix, workers, fifo_paths):
        self.pid = pid
        self.prefix = prefix
        self.workers = workers
        self.fifo_paths = set(fifo_paths)

    def telemetry(self, cmd):
        """JSON answer of a DPDK telemetry command, or None when the socket is not there."""
        for d in runtime_dirs(self.prefix):
            path = os.path.join(d, "dpdk_telemetry.v2")
            if not os.path.exists(path):
                continue
            with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as sk:
                sk.settimeout(5)
                sk.connect(path)
                sk.recv(16384)  # greeting
                sk.send(cmd.encode())
                return json.loads(sk.recv(1 << 20).decode()).get(cmd)
        return None

    def stats(self):
        return self.telemetry("/mpf/stats") or {}

    def lcores(self):
        return self.telemetry("/mpf/lcores") or {}

    def worker_thread(self, i):
        """tid of worker i: EAL names lcore k's thread rte-worker-k; worker i is lcore i + 1
        (the main lcore is 0)."""
        want = f"rte-worker-{i + 1}"
        for tid in os.listdir(f"/proc/{self.pid}/task"):
            try:
                with open(f"/proc/{self.pid}/task/{tid}/comm") as f:
                    if f.read().strip() == want:
                        return int(tid)
            except OSError:
                continue
        return None

    def blocked_in_fifo(self, i):
        """True when worker i sits in read() on one of the harness's pipes."""
        tid = self.worker_thread(i)
        if tid is None:
            return False
        try:
            with open(f"/proc/{self.pid}/task/{tid}/syscall") as f:
                parts = f.read().split()
            if len(parts) < 2 or parts[0] != READ_SYSCALL:
                return False
            fd = int(parts[1], 16)
            return os.readlink(f"/proc/{self.pid}/fd/{fd}") in self.fifo_paths
        except (OSError, ValueError):
            return False


def rx_name(port, q):
    return f"in{port}.pcap" if q == 0 else f"in{port}q{q}.pcap"


def tx_name(port, q):
    return f"out{port}.pcap" if q == 0 else f"out{port}q{q}.pcap"


def region_name(prefix):
    """A stats region name (/dev/shm/mpf-NAME) per run, so runs side by side never meet."""
    return "t" + hashlib.sha1(prefix.encode()).hexdigest()[:16]


def lcore_args(workers):
    if workers == 1:
        return ["-l", "0"]
    # Main lcore 0 plus one per worker, all allowed on every CPU we have (a 2-CPU machine
    # oversubscribes; dataplane.idle_sleep_us keeps idle lcores off the CPUs).
    cpus = ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))
    return [f"--lcores=(0-{workers})@({cpus})"]


def run_dataplane(binary, scn: Scenario, inputs, keep=False):
    """inputs: {(port, rx queue, stage): [frames]} (scenario_inputs), or the single-queue form
    [frames of port 0, frames of port 1]. Returns a Result."""
    if isinstance(inputs, list):
        inputs = {(i, 0, 0): list(fr) for i, fr in enumerate(inputs)}
    n_ports = max(p for p, _, _ in inputs) + 1
    n_stages = max([st + 1 for (_, _, st) in inputs] + [len(scn.stage_waits) + 1])
    res = Result()
    tmp = tempfile.mkdtemp(prefix=f"mpfdp-{scn.name}-")
    t0 = time.monotonic()
    wall0 = time.time()
    feeders = []
    proc = None
    # pid in the prefix: two suites running at once do not share a runtime directory
    prefix = f"mpfdp-{scn.name}-{os.getpid()}"
    try:
        for (p, q) in scn.fifos:
            os.mkfifo(os.path.join(tmp, rx_name(p, q)))
            stages = {}
            for (ip, iq, st), fr in inputs.items():
                if (ip, iq) == (p, q):
                    stages[st] = fr
            feeders.append(FifoFeeder(os.path.join(tmp, rx_name(p, q)), stages))
        for p in range(n_ports):
            for q in range(scn.rx_queues):
                if (p, q) in scn.fifos:
                    continue
                frames = [f for st in range(n_stages) for f in inputs.get((p, q, st), [])]
                write_pcap(os.path.join(tmp, rx_name(p, q)), frames)
        for (p, q, _) in inputs:
            if q >= scn.rx_queues:
                raise ValueError(f"input on port {p} RX queue {q}: the scenario has "
                                 f"{scn.rx_queues} RX queue(s)")
        conf = os.path.join(tmp, "case.conf")
        with open(conf, "w") as f:
            f.write(progress_off_unless_set(scn.config).replace("{tmp}", tmp))
        cmd = [binary, "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
               "--file-prefix", prefix] + lcore_args(scn.workers) + ["--log-level=error"]
        for p in range(n_ports):
            args = [f"rx_pcap={tmp}/{rx_name(p, q)}" for q in range(scn.rx_queues)]
            args += [f"tx_pcap={tmp}/{tx_name(p, t)}" for t in range(scn.tx_queues())]
            cmd += ["--vdev", f"net_pcap{p}," + ",".join(args)]
        cmd += ["--", "--config", conf, "--name", region_name(prefix)]
        for fd in feeders:
            fd.start(n_stages)
        proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, errors="replace")
        lines, err_lines = [], []
        running = threading.Event()

        def rd_out():
            for line in proc.stdout:
                lines.append(line)
                if "mpf-dataplane: running" in line:
                    running.set()

        def rd_err():
            for line in proc.stderr:
                err_lines.append(line)

        th = [threading.Thread(target=rd_out, daemon=True),
              threading.Thread(target=rd_err, daemon=True)]
        for t in th:
            t.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not running.is_set() and proc.poll() is None and time.monotonic() < deadline:
            running.wait(0.05)
        if running.is_set():
            ctx = RunCtx(proc.pid, prefix, scn.workers, [fd.path for fd in feeders])
            res.error = run_stages(scn, feeders, ctx, n_stages, proc)
            for fd in feeders:
                fd.stop()
            if not res.error:
                time.sleep(RUN_SECONDS)
                if scn.workers > 1:
                    try:
                        res.lcores = ctx.lcores()
                        res.live_stats = ctx.stats()
                    except (OSError, ValueError) as e:
                        res.error = f"telemetry: {e}"
            proc.send_signal(signal.SIGINT)
        else:
            res.error = ("exited before 'running'" if proc.poll() is not None
                         else f"no 'running' line within {START_TIMEOUT:.0f} s")
            for fd in feeders:
                fd.stop()
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            res.error = res.error or f"did not stop within {STOP_TIMEOUT:.0f} s of SIGINT (killed)"
        for t in th:
            t.join(5)
        res.rc = proc.returncode
        res.stdout = "".join(lines)
        res.stderr = "".join(err_lines)
        if res.rc != 0 and not res.error:
            res.error = f"exit status {res.rc}" + (
                f" (signal {-res.rc})" if res.rc < 0 else "")
        parse_output(res)
        if not res.error and "counters:" not in res.stdout:
            res.error = "no counters printed at exit"
        for p in range(n_ports):
            res.out[p], res.out_txq[p], res.out_ts[p] = [], [], []
            for t in range(scn.tx_queues()):
                fr = read_pcap(os.path.join(tmp, tx_name(p, t)), res.out_ts[p])
                res.out[p] += fr
                res.out_txq[p] += [t] * len(fr)
    finally:
        for fd in feeders:
            fd.stop()
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        # EAL's runtime directory for our prefix (telemetry socket, ...)
        for d in runtime_dirs(prefix):
            if os.path.isdir(d):
                shutil.rmtree(d, ignore_errors=True)
        res.seconds = time.monotonic() - t0
        res.wall = (wall0, time.time())
        if keep:
            print(f"# kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return res


def run_stages(scn, feeders, ctx, n_stages, proc):
    """Feeds the FIFO stages, waiting for each stage's condition. Error string or None."""
    for st in range(n_stages):
        for fd in feeders:
            fd.go(st)
        deadline = time.monotonic() + STAGE_TIMEOUT
        for fd in feeders:
            if not fd.wait_done(st, max(0.0, deadline - time.monotonic())):
                return (f"stage {st}: {os.path.basename(fd.path)} not written within "
                        f"{STAGE_TIMEOUT:.0f} s (the worker reading it is stuck?)")
        if st >= len(scn.stage_waits):
            continue
        cond = scn.stage_waits[st]
        why = "?"
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return f"stage {st}: dataplane exited"
            try:
                why = cond(ctx)
            except (OSError, ValueError, KeyError) as e:
                why = f"{type(e).__name__}: {e}"
            if why is None:
                break
            time.sleep(0.02)
        else:
            return f"stage {st}: still waiting after {STAGE_TIMEOUT:.0f} s for {why}"
    return None


# ---- comparison --------------------------------------------------------------------------------

def masked_equal(exp: F.Exp, got: bytes):
    if len(got) != len(exp.data):
        return False
    m = exp.mask
    for i, (a, b) in enumerate(zip(exp.data, got)):
        if a != b and i not in m:
            return False
    return True


_MPF_FIELDS = [(0, "ver/type"), (1, "flags"), (2, "path_id"), (3, "tag_len"), (4, "tunnel_id"),
               (8, "epoch"), (10, "stream_id"), (12, "stream_seq"), (16, "path_seq"),
               (20, "timestamp_us"), (24, None)]
_COMPACT_FIELDS = [(0, "tos"), (1, "ttl"), (2, "proto"), (3, "id"), (5, "far"), (9, None)]
_IP_FIELDS = [(0, "ver/ihl"), (1, "tos"), (2, "total_len"), (4, "id"), (6, "flags/frag"),
              (8, "ttl"), (9, "proto"), (10, "checksum"), (12, "src"), (16, "dst"), (20, None)]


def field_name(frame: bytes, i: int):
    """Names the header field at offset i of an Ethernet/IPv4 frame (diagnostics)."""
    def pick(table, off, prefix):
        for (a, name), (b, _) in zip(table, table[1:]):
            if a <= off < b:
                return f"{prefix}.{name}"
        return None
    if i < 14:
        return "eth." + ("dst" if i < 6 else "src" if i < 12 else "type")
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return None
    if i < 34:
        return pick(_IP_FIELDS, i - 14, "ip")
    tunnel = frame[23] == 17 and len(frame) >= 66 and frame[36:38] == b"\x11\x94"
    if i < 42 and frame[23] == 17:
        return "udp." + ["sport", "sport", "dport", "dport", "len", "len", "csum", "csum"][i - 34]
    if tunnel and i >= len(frame) - F.TAG_LEN:
        return "mpf.tag"
    if tunnel and i < 66:
        return pick(_MPF_FIELDS, i - 42, "mpf")
    if tunnel and frame[43] & F.F_COMPACT and frame[42] & 0x0F == F.T_DATA:
        if i < 66 + F.COMPACT_LEN:
            return pick(_COMPACT_FIELDS, i - 66, "compact")
        return "inner_l4"
    if tunnel and i < 86:
        return pick(_IP_FIELDS, i - 66, "inner_ip")
    return "inner_l4" if tunnel else "l4"


def masked_key(data: bytes, mask):
    """data with the masked offsets zeroed: two frames are masked_equal iff their keys are."""
    if not mask:
        return bytes(data)
    b = bytearray(data)
    for i in mask:
        if i < len(b):
            b[i] = 0
    return bytes(b)


def diff_text(exp: F.Exp, got: bytes):
    if got is None:
        return "nothing similar came out"
    out = []
    if len(got) != len(exp.data):
        out.append(f"length {len(got)} instead of {len(exp.data)}")
    diffs = [i for i in range(min(len(got), len(exp.data)))
             if got[i] != exp.data[i] and i not in exp.mask]
    if diffs:
        def at(i):
            n = field_name(exp.data, i)
            return f"@{i}" + (f" {n}" if n else "")
        shown = ", ".join(f"{at(i)}: {got[i]:02x} (want {exp.data[i]:02x})" for i in diffs[:6])
        out.append(f"{len(diffs)} byte(s) differ: {shown}" + (" ..." if len(diffs) > 6 else ""))
    return "; ".join(out) + f" | got {F.summary(got)}"


def closeness(exp: F.Exp, got: bytes):
    """Fraction of equal bytes (unmasked), 0 when lengths differ a lot."""
    n = min(len(got), len(exp.data))
    if n == 0:
        return 0.0
    same = sum(1 for i in range(n) if got[i] == exp.data[i] or i in exp.mask)
    return same / max(len(got), len(exp.data))


def is_probe(frame: bytes):
    return (len(frame) >= F.MPF + 24 and frame[12:14] == b"\x08\x00" and frame[F.ETH + 9] == 17
            and frame[F.MPF] & 0x0F == F.T_PROBE)


def is_resent(frame: bytes):
    """A data frame mpf resent from its retransmit slab (flag retransmit): it originates one."""
    h = F.mpf_fields(frame)
    return (h is not None and b"\x11\x94" in (frame[34:36], frame[36:38]) and
            h["version"] == F.VERSION and h["type"] == F.T_DATA and h["flags"] & F.F_RETRANSMIT != 0)


def evaluate(scn: Scenario, res: Result, results: list, selected):
    """Appends (case name, error or None, xfail reason or None) to results."""
    xfail = dict(scn.xfail)
    for c in scn.cases:
        if c.xfail:
            xfail[c.name] = c.xfail

    def emit(name, err):
        if selected(name):
            results.append((name, err, xfail.get(name)))

    if res.error:
        tail = (res.stderr.strip().splitlines() or res.stdout.strip().splitlines() or [""])[-1]
        why = f"dataplane {res.error}" + (f": {tail}" if tail else "")
        for c in scn.cases:
            emit(c.name, why)
        emit(f"{scn.name}: dataplane runs and exits 0", why)
        return
    emit(f"{scn.name}: dataplane runs and exits 0", None)

    # MACs the frames were built for.
    if res.macs[:2] != F.PCAP_MAC[:len(res.macs[:2])]:
        why = f"net_pcap MACs are {res.macs}, the tests assume {F.PCAP_MAC}"
        for c in scn.cases:
            emit(c.name, why)
        return

    # Probes out of the data comparison (gateway path ports).
    out, out_txq = {}, {}
    for p, frames in res.out.items():
        txqs = res.out_txq.get(p) or [0] * len(frames)
        if p in scn.tunnel_ports:
            res.probes += [f for f in frames if is_probe(f)]
            res.probes_txq += [q for f, q in zip(frames, txqs) if is_probe(f)]
            out[p] = [f for f in frames if not is_probe(f)]
            out_txq[p] = [q for f, q in zip(frames, txqs) if not is_probe(f)]
        else:
            out[p], out_txq[p] = list(frames), list(txqs)
    used = {p: [False] * len(fr) for p, fr in out.items()}

    # Expected counter totals over all cases.
    totals = {}
    for c in scn.cases:
        for k, v in c.counters.items():
            totals[k] = totals.get(k, 0) + v

    # Frames by their masked form, per (port, mask): finding a frame is a dict look-up, so
    # scenarios with a thousand expected frames stay fast. Same semantics as masked_equal.
    index = {}

    def candidates(e):
        key = (e.port, e.mask)
        if key not in index:
            idx = index[key] = {}
            for i, f in enumerate(out.get(e.port, [])):
                idx.setdefault(masked_key(f, e.mask), []).append(i)
        return index[key].get(masked_key(e.data, e.mask), [])

    # Pass 1: every expectation takes its exact match (right TX queue first), so that the
    # near-miss search of pass 2 never takes a frame another expectation matches exactly.
    hits = {}  # (case index, exp index) -> frame index, or -1 when reported (wrong TX queue)
    errs_of = {}
    for ci, c in enumerate(scn.cases):
        for ei, e in enumerate(c.expect):
            want_q = getattr(e, "txq", None)
            txqs = out_txq.get(e.port, [])
            for i in candidates(e):
                if not used[e.port][i] and (want_q is None or txqs[i] == want_q):
                    used[e.port][i] = True
                    hits[ci, ei] = i
                    break
    for ci, c in enumerate(scn.cases):
        for ei, e in enumerate(c.expect):
            want_q = getattr(e, "txq", None)
            if (ci, ei) in hits or want_q is None:
                continue
            txqs = out_txq.get(e.port, [])
            for i in candidates(e):
                if not used[e.port][i]:
                    used[e.port][i] = True
                    hits[ci, ei] = -1
                    errs_of.setdefault(ci, []).append(
                        f"{e.what or 'frame'} on port {e.port}: sent on TX queue {txqs[i]} "
                        f"({lcore_of_txq(scn, txqs[i])}), want TX queue {want_q} "
                        f"({lcore_of_txq(scn, want_q)})")
                    break

    for ci, c in enumerate(scn.cases):
        errs = errs_of.get(ci, [])
        near_searches = 0
        for ei, e in enumerate(c.expect):
            frames = out.get(e.port, [])
            hit = hits.get((ci, ei))
            if hit == -1:
                continue
            if hit is None:
                best, best_i = 0.0, None
                near_searches += 1
                for i, f in enumerate(frames if near_searches <= 10 else []):
                    if used[e.port][i]:
                        continue
                    sc = closeness(e, f)
                    if sc > best:
                        best, best_i = sc, i
                if best_i is not None and best >= 0.85:
                    used[e.port][best_i] = True  # the same frame, wrong: don't report it twice
                    errs.append(f"{e.what or 'frame'} on port {e.port}: "
                                f"{diff_text(e, frames[best_i])}")
                else:
                    errs.append(f"{e.what or 'frame'} on port {e.port}: missing "
                                f"(want {F.summary(e.data)})")
                continue
            for v in e.verify:
                msg = v(frames[hit])
                if msg:
                    errs.append(f"{e.what or 'frame'}: {msg}")
        for k in c.counters:
            got = res.counter(k)
            if got != totals[k]:
                errs.append(f"{k} = {got}, want {totals[k]}")
        for chk in c.checks:
            msg = chk(res)
            if msg:
                errs.append(msg)
        emit(c.name, "; ".join(errs) if errs else None)

    # Nothing else came out.
    extra = []
    for p, frames in out.items():
        for i, f in enumerate(frames):
            if not used[p][i]:
                extra.append(f"port {p}: {F.summary(f)}")
    emit(f"{scn.name}: no unexpected output frames",
         f"{len(extra)} unexpected: " + "; ".join(extra[:5]) if extra else None)

    # No drop reason moved that no case expects.
    bad = [f"{r}={n}" for r, n in sorted(res.drops.items()) if f"drops.{r}" not in totals and r not in scn.allowed_drops and n]
    emit(f"{scn.name}: no unexpected drop reasons", ("unexpected drops: " + ", ".join(bad))
         if bad else None)

    # Every frame read, per port, and every mbuf accounted for.
    n_in = [sum(1 for c in scn.cases for e in c.inputs if e[0] == i) for i in range(2)]
    errs = []
    if res.counter("rx_packets") != sum(n_in):
        errs.append(f"rx_packets {res.counter('rx_packets')}, frames fed {sum(n_in)}")
    for i, name in enumerate(res.port_names[:2]):
        pr = res.ports.get(name, {})
        if pr.get("rx") != n_in[i]:
            errs.append(f"port {name} rx {pr.get('rx')}, fed {n_in[i]}")
        if pr.get("tx") != len(res.out.get(i, [])):
            errs.append(f"port {name} tx counter {pr.get('tx')}, pcap holds "
                        f"{len(res.out.get(i, []))}")
    c = res.counter
    drops = sum(res.drops.values())
    consumed = sum(cs.arp_replies_in for cs in scn.cases)
    if c("arp_replies_received") != consumed:
        errs.append(f"arp_replies_received {c('arp_replies_received')}, ARP replies fed {consumed}")
    # rx = dropped + forwarded/answered (tx minus what the appliance originates on its own or
    # sends about a dropped packet: probes, ARP requests, ICMP errors, loss reports, resent
    # frames (the retransmit-flagged data frames in the output), redundant copies) + control
    # frames taken (probe replies, loss reports, ARP replies) + what was still in flight between
    # lcores or held in a reorder window at the stop (freed_at_exit).
    resent = sum(1 for frames in res.out.values() for f in frames if is_resent(f))
    originated = (c("probes_sent") + c("arp_requests_sent") + c("icmp_errors_sent")
                  + c("feedback_sent") + c("redundant_copies") + resent)
    forwarded = c("tx_packets") - originated
    taken = c("probe_replies_received") + c("feedback_received") + consumed
    acc = drops + forwarded + taken + c("freed_at_exit")
    if c("rx_packets") != acc:
        errs.append(f"rx_packets {c('rx_packets')} != drops {drops} + forwarded/answered "
                    f"{forwarded} (tx {c('tx_packets')} - originated {originated}) + probe "
                    f"replies {c('probe_replies_received')} + feedback "
                    f"{c('feedback_received')} + ARP replies {consumed} + freed_at_exit "
                    f"{c('freed_at_exit')} = {acc}")
    emit(f"{scn.name}: all frames read and every mbuf accounted for",
         "; ".join(errs) if errs else None)

    if scn.workers > 1:
        emit(f"{scn.name}: handoffs balanced (sent = received), per-worker telemetry sums to "
             f"the totals", handoff_check(res))

    # The tags of what the dataplane sent to its peer verify under its announced session's key.
    if any(F.is_tunnel_out(f) for frames in res.out.values() for f in frames):
        emit(f"{scn.name}: the dataplane's tunnel frames verify (tag under the key of the salt "
             f"its {'probes' if scn.role == 'gateway' else 'probe replies'} announce)",
             F.dataplane_tags([f for frames in res.out.values() for f in frames], scn.role,
                              res.wall))

    for name, chk in scn.extra_checks:
        emit(name, chk(res))


def lcore_of_txq(scn, q):
    if scn.workers == 1:
        return "the only lcore"
    return f"worker {q}" if q < scn.workers else "main lcore"


def handoff_check(res: Result):
    c = res.counter
    errs = []
    # handoff_sent counts what entered a ring (a full ring is the drop handoff_ring_full
    # instead); the owners drain every ring before the stop.
    if c("handoff_sent") != c("handoff_received"):
        errs.append(f"handoff_sent {c('handoff_sent')} != handoff_received "
                    f"{c('handoff_received')}")
    if not res.lcores:
        errs.append("no /mpf/lcores telemetry read before the stop")
    else:
        for key in ("handoff_sent", "handoff_received"):
            tot = sum(w.get(key, 0) for w in res.lcores.values())
            if tot != c(key):
                errs.append(f"/mpf/lcores {key} sums to {tot}, exit report says {c(key)}")
    return "; ".join(errs) if errs else None
