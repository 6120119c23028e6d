"""Runs mpf-dataplane on net_pcap vdevs (--no-huge) for one scenario and checks the result.

A Scenario is one dataplane run: a config, the frames fed to each port (pcap in), and a list of
Cases. Each Case contributes input frames (in order, per port), the output frames it expects
(byte-exact except for explicitly masked offsets) and the counters it expects to move. After
the run the outputs are matched case by case, and scenario-wide checks follow: nothing else
came out, no drop reason moved that no case asked for, every received mbuf is accounted for.
"""
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

import frames as F

RUN_SECONDS = 1.5        # after "mpf-dataplane: running"
START_TIMEOUT = 20.0     # to reach "running"
STOP_TIMEOUT = 20.0      # after SIGINT


# ---- pcap files ----------------------------------------------------------------------------------

def write_pcap(path, pkts):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t = 1_700_000_000
        for i, p in enumerate(pkts):
            f.write(struct.pack("<IIII", t, i, len(p), len(p)))
            f.write(p)


def read_pcap(path):
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
    out, off = [], 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        out.append(data[off:off + incl])  # a truncated capture compares as captured
        off += incl
    return out


# ---- model ----------------------------------------------------------------------------------------

@dataclass
class Case:
    name: str
    inputs: list = field(default_factory=list)    # (port, frame bytes) in order
    expect: list = field(default_factory=list)    # F.Exp
    counters: dict = field(default_factory=dict)  # "drops.<reason>" or counter -> contribution
    # extra checks: callables(result) -> error string or None
    checks: list = field(default_factory=list)
    arp_replies_in: int = 0  # ARP replies addressed to us: consumed without any counter


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
    probes: list = field(default_factory=list)  # gateway: probes seen on path ports
    error: str = None
    seconds: float = 0.0

    def counter(self, key):
        if key.startswith("drops."):
            return self.drops.get(key[6:], 0)
        return self.counters.get(key, 0)


class Scenario:
    def __init__(self, name, role, config, cases, tunnel_ports=(), extra_checks=(),
                 allowed_drops=frozenset(), independent=False):
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


def split_by_reason(scn: Scenario):
    """The runs for scn: itself, or for an `independent` scenario as few runs as needed so
    that each drop reason belongs to at most one case per run."""
    if not scn.independent:
        return [scn]
    rounds = []  # [(set of reasons, [cases])]
    for c in scn.cases:
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
    return [Scenario(f"{scn.name}-{i + 1}", scn.role, scn.config, cases, scn.tunnel_ports,
                     scn.extra_checks if i == 0 else (), scn.allowed_drops)
            for i, (_, cases) in enumerate(rounds)]


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


def run_dataplane(binary, scn: Scenario, inputs, keep=False):
    """inputs: [frames of port 0, frames of port 1]. Returns a Result."""
    res = Result()
    tmp = tempfile.mkdtemp(prefix=f"mpfdp-{scn.name}-")
    t0 = time.monotonic()
    try:
        for i, pk in enumerate(inputs):
            write_pcap(os.path.join(tmp, f"in{i}.pcap"), pk)
        conf = os.path.join(tmp, "case.conf")
        with open(conf, "w") as f:
            f.write(scn.config.replace("{tmp}", tmp))
        # pid in the prefix: two suites running at once do not share a runtime directory
        prefix = f"mpfdp-{scn.name}-{os.getpid()}"
        cmd = [binary, "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
               "--file-prefix", prefix, "-l", "0", "--log-level=error"]
        for i in range(len(inputs)):
            cmd += ["--vdev", f"net_pcap{i},rx_pcap={tmp}/in{i}.pcap,tx_pcap={tmp}/out{i}.pcap"]
        cmd += ["--", "--config", conf]
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
            time.sleep(RUN_SECONDS)
            proc.send_signal(signal.SIGINT)
        else:
            res.error = ("exited before 'running'" if proc.poll() is not None
                         else f"no 'running' line within {START_TIMEOUT:.0f} s")
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
        for i in range(len(inputs)):
            res.out[i] = read_pcap(os.path.join(tmp, f"out{i}.pcap"))
    finally:
        # EAL's runtime directory for our prefix (telemetry socket, ...)
        prefix = f"mpfdp-{scn.name}-{os.getpid()}"
        for base in ("/var/run/dpdk", os.path.join(os.environ.get("XDG_RUNTIME_DIR", "/tmp"),
                                                   "dpdk"), "/tmp/dpdk"):
            d = os.path.join(base, prefix)
            if os.path.isdir(d):
                shutil.rmtree(d, ignore_errors=True)
        res.seconds = time.monotonic() - t0
        if keep:
            print(f"# kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return res


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
    if tunnel and i < 66:
        return pick(_MPF_FIELDS, i - 42, "mpf")
    if tunnel and i < 86:
        return pick(_IP_FIELDS, i - 66, "inner_ip")
    return "inner_l4" if tunnel else "l4"


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


def evaluate(scn: Scenario, res: Result, results: list, selected):
    """Appends (case name, error or None) to results."""
    def emit(name, err):
        if selected(name):
            results.append((name, err))

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
    out = {}
    for p, frames in res.out.items():
        if p in scn.tunnel_ports:
            res.probes += [f for f in frames if is_probe(f)]
            out[p] = [f for f in frames if not is_probe(f)]
        else:
            out[p] = list(frames)
    used = {p: [False] * len(fr) for p, fr in out.items()}

    # Expected counter totals over all cases.
    totals = {}
    for c in scn.cases:
        for k, v in c.counters.items():
            totals[k] = totals.get(k, 0) + v

    for c in scn.cases:
        errs = []
        for e in c.expect:
            frames = out.get(e.port, [])
            hit = None
            for i, f in enumerate(frames):
                if not used[e.port][i] and masked_equal(e, f):
                    hit = i
                    break
            if hit is None:
                best, best_i = 0.0, None
                for i, f in enumerate(frames):
                    if used[e.port][i]:
                        continue
                    s = closeness(e, f)
                    if s > best:
                        best, best_i = s, i
                if best_i is not None and best >= 0.85:
                    used[e.port][best_i] = True  # the same frame, wrong: don't report it twice
                    errs.append(f"{e.what or 'frame'} on port {e.port}: "
                                f"{diff_text(e, frames[best_i])}")
                else:
                    errs.append(f"{e.what or 'frame'} on port {e.port}: missing "
                                f"(want {F.summary(e.data)})")
                continue
            used[e.port][hit] = True
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
    n_in = [sum(1 for c in scn.cases for (p, _) in c.inputs if p == i) for i in range(2)]
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
    # sends about a dropped packet) + probe replies taken + ARP replies taken.
    forwarded = (c("tx_packets") - c("probes_sent") - c("arp_requests_sent")
                 - c("icmp_errors_sent"))
    acc = drops + forwarded + c("probe_replies_received") + consumed
    if c("rx_packets") != acc:
        errs.append(f"rx_packets {c('rx_packets')} != drops {drops} + forwarded/answered "
                    f"{forwarded} + probe replies {c('probe_replies_received')} + ARP replies "
                    f"{consumed} = {acc}")
    emit(f"{scn.name}: all frames read and every mbuf accounted for",
         "; ".join(errs) if errs else None)

    for name, chk in scn.extra_checks:
        emit(name, chk(res))
