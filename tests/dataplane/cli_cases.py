"""The binary's command line, start-up errors and the stop under load (docs/operations.md, "Exit
status"; docs/configuration.md, "Errors").

Each check runs mpf-dataplane directly (net_pcap vdevs, --no-huge) and returns its cases as
(name, error or None). CHECKS lists them for run.py; each has a `title` for -k.
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

from frames import *  # noqa: F401,F403
import gateway_cases as G
import harness
import multiworker_cases as M
import server_cases as S

TIMEOUT = 30


class Run:
    def __init__(self, rc, out, err, runtime_dir_existed):
        self.rc, self.out, self.err = rc, out, err
        self.runtime_dir_existed = runtime_dir_existed


def _eal(prefix, lcores="0"):
    args = ["--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--file-prefix", prefix,
            "--log-level=error"]
    if lcores == "0":
        return args + ["-l", "0"]
    return args + harness.lcore_args(2)


def run(binary, args, tmp, signal_after=None, sig=signal.SIGTERM, timeout=TIMEOUT):
    """Runs the binary (cwd tmp). With signal_after: waits for 'running', then that many
    seconds, then sends sig. A run that should end by itself but reaches 'running' is stopped
    (SIGINT) and reported with rc None."""
    prefix = next((args[i + 1] for i, a in enumerate(args) if a == "--file-prefix"), None)
    if prefix and "--config" in args and "--name" not in args:
        args = args + ["--name", harness.region_name(prefix)]
    proc = subprocess.Popen([binary] + args, cwd=tmp, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="replace")
    out, err = [], []
    running = threading.Event()

    def rd(stream, acc, watch):
        for line in stream:
            acc.append(line)
            if watch and "mpf-dataplane: running" in line:
                running.set()

    th = [threading.Thread(target=rd, args=(proc.stdout, out, True), daemon=True),
          threading.Thread(target=rd, args=(proc.stderr, err, False), daemon=True)]
    for t in th:
        t.start()
    rc = None
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if running.wait(0.05):
            if signal_after is not None:
                time.sleep(signal_after)
                proc.send_signal(sig)
            else:
                proc.send_signal(signal.SIGINT)
            break
    try:
        rc = proc.wait(max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if signal_after is None and running.is_set():
        rc = None
    for t in th:
        t.join(5)
    existed = False
    if prefix:
        for d in harness.runtime_dirs(prefix):
            if os.path.isdir(d):
                existed = True
                shutil.rmtree(d, ignore_errors=True)
    return Run(rc, "".join(out), "".join(err), existed)


def _tmp(name):
    return tempfile.mkdtemp(prefix=f"mpfdp-{name}-")


def _errs(*pairs):
    """'; '.join of the messages whose condition failed."""
    e = [msg for ok, msg in pairs if not ok]
    return "; ".join(e) if e else None


def _pcaps(tmp, n=2):
    for i in range(n):
        harness.write_pcap(os.path.join(tmp, f"in{i}.pcap"), [])
    return [a for i in range(n) for a in
            ("--vdev", f"net_pcap{i},rx_pcap={tmp}/in{i}.pcap,tx_pcap={tmp}/out{i}.pcap")]


# ---- options ----------------------------------------------------------------------------------

def check_options(binary):
    tmp = _tmp("cli")
    res = []
    try:
        r = run(binary, ["--", "--help"], tmp)
        res.append(("cli: -- --help -> exit 0, usage on stdout, nothing on stderr", _errs(
            (r.rc == 0, f"exit {r.rc}"),
            (r.out.startswith("usage: mpf-dataplane [EAL options] -- --config FILE\n"),
             f"stdout starts {r.out[:60]!r}"),
            ("--config FILE" in r.out and "--version" in r.out, "usage lacks --config/--version"),
            (r.err == "", f"stderr {r.err[:80]!r}"))))
        r = run(binary, ["--help"], tmp)
        res.append(("cli: --help before '--' -> exit 0, usage", _errs(
            (r.rc == 0, f"exit {r.rc}"), (r.out.startswith("usage: mpf-dataplane"),
                                          f"stdout {r.out[:60]!r}"))))
        r = run(binary, ["--", "--version"], tmp)
        res.append(("cli: -- --version -> exit 0, 'mpf-dataplane X.Y.Z (DPDK 22.11.N)'", _errs(
            (r.rc == 0, f"exit {r.rc}"),
            (re.fullmatch(r"mpf-dataplane \d+\.\d+\.\d+\S* \(DPDK 22\.11\.\d+\)\n", r.out),
             f"stdout {r.out!r}"), (r.err == "", f"stderr {r.err[:80]!r}"))))
        r = run(binary, _eal("mpfdp-cli-bogus") + ["--", "--bogus"], tmp)
        res.append(("cli: unknown option -> exit 2, \"mpf-dataplane: unknown option '--bogus'\" "
                     "and the usage on stderr, EAL never initialised", _errs(
                         (r.rc == 2, f"exit {r.rc}"),
                         (r.err.startswith("mpf-dataplane: unknown option '--bogus'\nusage: "),
                          f"stderr {r.err[:80]!r}"),
                         (not r.runtime_dir_existed, "EAL runtime directory created"),
                         ("running" not in r.out, "dataplane started"))))
        r = run(binary, _eal("mpfdp-cli-noconf") + ["--"], tmp)
        res.append(("cli: no --config -> exit 2, 'mpf-dataplane: --config FILE is required "
                     "(after --)'", _errs(
                         (r.rc == 2, f"exit {r.rc}"),
                         (r.err.startswith("mpf-dataplane: --config FILE is required (after --)\n"),
                          f"stderr {r.err[:80]!r}"),
                         (not r.runtime_dir_existed, "EAL runtime directory created"))))
        r = run(binary, _eal("mpfdp-cli-noarg"), tmp)
        res.append(("cli: no '--' at all -> exit 2, --config required", _errs(
            (r.rc == 2, f"exit {r.rc}"),
            ("--config FILE is required" in r.err, f"stderr {r.err[:80]!r}"))))
        r = run(binary, _eal("mpfdp-cli-cfgnoarg") + ["--", "--config"], tmp)
        res.append(("cli: '--config' without a file -> exit 2", _errs(
            (r.rc == 2, f"exit {r.rc}"),
            (r.err.startswith("mpf-dataplane: "), f"stderr {r.err[:80]!r}"))))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return res


check_options.title = "cli: options"


# ---- configuration errors ---------------------------------------------------------------------

def _line_of(text, needle):
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise ValueError(f"{needle!r} not in the config")


def check_config_errors(binary):
    """Each bad config: exit 2, stderr exactly one line 'mpf-dataplane: FILE:LINE: reason', no
    'running', and EAL never initialised (the config is read first: no runtime directory)."""
    base = G.gateway_config()
    bad = []
    c = base.replace("dataplane = {", "dataplnae = { burst = 32; };\ndataplane = {", 1)
    # (the list of allowed keys grows with the project: only its start is pinned here)
    bad.append(("unknown top-level key 'dataplnae'", c, "dataplnae = {",
                "dataplnae: unknown key (allowed here: role, "))
    c = base.replace('address = "192.168.10.1/24"', 'address = "192.168.10.300/24"', 1)
    bad.append(("bad LAN address 192.168.10.300/24", c, "192.168.10.300",
                'lan.address: "192.168.10.300/24" is not an address with prefix length '
                "(a.b.c.d/len)"))
    c = base.replace('to = "192.168.10.2:8080"', 'to = "192.168.11.2:8080"', 1)
    bad.append(("port forward to 192.168.11.2, outside the LAN", c, "192.168.11.2",
                "nat.port_forwards.[0].to: 192.168.11.2 is not inside the LAN prefix "
                "192.168.10.0/24"))
    c = base.replace("mtu = 1500;", "mtu = = 1500;", 1)
    bad.append(("'mtu = = 1500;' (libconfig syntax error)", c, "mtu = = 1500",
                "syntax error"))
    c = base.replace("idle_sleep_us = 0;", "idle_sleep_us = 0; idle_sleep_us = 5;", 1)
    bad.append(("duplicate key idle_sleep_us", c, "idle_sleep_us = 5", None))
    # The tunnel key (wire v2 and v3): 64 hex digits; the old placeholder is refused.
    c = base.replace(PSK_HEX, "change-me", 1)
    bad.append(("tunnel.key \"change-me\" (not 64 hex digits)", c, 'key = "change-me"',
                "tunnel.key: expected 64 hex digits (32 random bytes, e.g. from `openssl rand "
                "-hex 32`), got 9 characters"))
    srv = S.server_config()
    c = srv.replace(PSK_HEX, PSK_HEX[:-1] + "g", 1)
    bad.append(("a gateway's key with a non-hex digit (64 characters)", c, PSK_HEX[:-1] + "g",
                "gateways.[0].key: expected 64 hex digits (32 random bytes, e.g. from `openssl "
                "rand -hex 32`), got 64 characters"))
    res = []
    for i, (what, text, needle, reason) in enumerate(bad):
        tmp = _tmp("cfg")
        try:
            path = os.path.join(tmp, "bad.conf")
            with open(path, "w") as f:
                f.write(text.replace("{tmp}", tmp))
            prefix = f"mpfdp-cfg{i}-{os.getpid()}"
            r = run(binary, _eal(prefix) + _pcaps(tmp) + ["--", "--config", path], tmp,
                    timeout=10)
            errs = [(r.rc == 2, f"exit {r.rc}"),
                    ("running" not in r.out, "the dataplane started"),
                    (not r.runtime_dir_existed, "EAL was initialised before the config was "
                                                "rejected")]
            if reason is None:  # only the form
                errs.append((re.fullmatch(rf"mpf-dataplane: {re.escape(path)}:\d+: .+\n", r.err)
                             is not None, f"stderr {r.err!r}"))
                line = _line_of(text, needle)
                errs.append((f":{line}: " in r.err, f"stderr {r.err!r} does not name line {line}"))
            elif needle is None:
                errs.append((re.fullmatch(rf"mpf-dataplane: {re.escape(path)}:\d+: {reason}\n",
                                          r.err) is not None, f"stderr {r.err!r}"))
            elif reason.endswith(" "):  # a prefix
                want = f"mpf-dataplane: {path}:{_line_of(text, needle)}: {reason}"
                errs.append((r.err.startswith(want) and r.err.endswith(")\n") and
                             r.err.count("\n") == 1, f"stderr {r.err!r}, want {want!r}...)"))
            else:
                want = f"mpf-dataplane: {path}:{_line_of(text, needle)}: {reason}\n"
                errs.append((r.err == want, f"stderr {r.err!r}, want {want!r}"))
            res.append((f"cli: config with {what} -> exit 2, 'mpf-dataplane: FILE:LINE: reason', "
                        f"EAL never started", _errs(*errs)))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    tmp = _tmp("cfg")
    try:
        path = os.path.join(tmp, "nonexistent.conf")
        r = run(binary, _eal(f"mpfdp-cfgmiss-{os.getpid()}") + _pcaps(tmp) +
                ["--", "--config", path], tmp)
        want = f"mpf-dataplane: {path}: cannot read: No such file or directory\n"
        res.append(("cli: missing config file -> exit 2, 'FILE: cannot read: No such file or "
                    "directory'", _errs((r.rc == 2, f"exit {r.rc}"),
                                        (r.err == want, f"stderr {r.err!r}, want {want!r}"),
                                        (not r.runtime_dir_existed, "EAL was initialised"))))
        r = run(binary, _eal(f"mpfdp-cfgdir-{os.getpid()}") + _pcaps(tmp) +
                ["--", "--config", tmp], tmp)
        want = f"mpf-dataplane: {tmp}: cannot read: Is a directory\n"
        res.append(("cli: a directory as config -> exit 2, 'cannot read: Is a directory'",
                    _errs((r.rc == 2, f"exit {r.rc}"),
                          (r.err == want, f"stderr {r.err!r}, want {want!r}"))))

        # A port EAL does not have: exit 2 after EAL, with the line of that port setting.
        text = G.gateway_config().replace('port = "net_pcap0"', 'port = "net_pcap9"', 1)
        path = os.path.join(tmp, "pcap9.conf")
        with open(path, "w") as f:
            f.write(text.replace("{tmp}", tmp))
        r = run(binary, _eal(f"mpfdp-cfgp9-{os.getpid()}") + _pcaps(tmp) +
                ["--", "--config", path], tmp)
        want = (f"mpf-dataplane: {path}:{_line_of(text, 'net_pcap9')}: port \"net_pcap9\" is not "
                f"an EAL device (EAL has: net_pcap0, net_pcap1)\n")
        res.append(("cli: config naming net_pcap9 (not an EAL device) -> exit 2, file:line of "
                    "the port setting and EAL's device list", _errs(
                        (r.rc == 2, f"exit {r.rc}"),
                        (r.err.endswith(want), f"stderr {r.err!r}, want {want!r}"),
                        ("running" not in r.out, "the dataplane started"))))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return res


check_config_errors.title = "cli: config errors"


# ---- TX queue shortage ------------------------------------------------------------------------

def check_txq_shortage(binary):
    """3 lcores need 3 TX queues per port; net_pcap has one TX queue per tx_pcap."""
    tmp = _tmp("txq")
    try:
        for i in range(2):
            harness.write_pcap(os.path.join(tmp, f"in{i}.pcap"), [])
        with open(os.path.join(tmp, "gw.conf"), "w") as f:
            f.write(M.mw_gateway_config().replace("{tmp}", tmp))
        args = _eal(f"mpfdp-txq-{os.getpid()}", lcores="0-2")
        args += ["--vdev", f"net_pcap0,rx_pcap={tmp}/in0.pcap,rx_pcap={tmp}/in0.pcap,"
                           f"tx_pcap={tmp}/out0.pcap"]
        args += ["--vdev", f"net_pcap1,rx_pcap={tmp}/in1.pcap,rx_pcap={tmp}/in1.pcap," +
                 ",".join(f"tx_pcap={tmp}/out1q{q}.pcap" for q in range(3))]
        args += ["--", "--config", os.path.join(tmp, "gw.conf")]
        r = run(binary, args, tmp)
        want = "mpf-dataplane: port net_pcap0: needs 3 TX queues (one per lcore), device has 1"
        return [("cli: 2 workers + main lcore, net_pcap0 with one tx_pcap -> exit 1, 'port "
                 "net_pcap0: needs 3 TX queues (one per lcore), device has 1'", _errs(
                     (r.rc == 1, f"exit {r.rc}"),
                     (want in r.err, f"stderr {r.err.strip()[-200:]!r}"),
                     ("running" not in r.out, "the dataplane started")))]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


check_txq_shortage.title = "cli: TX queue shortage"


# ---- SIGTERM under load -----------------------------------------------------------------------

def _load_frames(n=64):
    return [pad60(M.fast_eth(GW_LAN_MAC, HOST_A_MAC,
                             M.fast_udp(HOST_A, HOST_B, 42000 + i, 53, b"load %d" % i, i)))
            for i in range(n)]


def _counters(out):
    res = harness.Result(stdout=out)
    harness.parse_output(res)
    return res


def check_sigterm(binary):
    """A LAN pcap replayed forever (infinite_rx=1) into the gateway, the path port writing to
    /dev/null; SIGTERM after a second. One lcore, and 2 workers + main."""
    res = []
    for multi in (False, True):
        tmp = _tmp("term")
        try:
            harness.write_pcap(os.path.join(tmp, "load.pcap"), _load_frames())
            harness.write_pcap(os.path.join(tmp, "empty.pcap"), [])
            with open(os.path.join(tmp, "gw.conf"), "w") as f:
                f.write(M.mw_gateway_config().replace("{tmp}", tmp))
            ntx = 3 if multi else 1
            nrx = 2 if multi else 1
            args = _eal(f"mpfdp-term{int(multi)}-{os.getpid()}", "0-2" if multi else "0")
            args += ["--vdev", "net_pcap0," + ",".join([f"rx_pcap={tmp}/load.pcap"] * nrx) +
                     ",infinite_rx=1," + ",".join(["tx_pcap=/dev/null"] * ntx)]
            # the path port: one RX queue only (fewer than the workers: accepted)
            args += ["--vdev", f"net_pcap1,rx_pcap={tmp}/empty.pcap," +
                     ",".join(["tx_pcap=/dev/null"] * ntx)]
            args += ["--", "--config", os.path.join(tmp, "gw.conf")]
            t0 = time.monotonic()
            r = run(binary, args, tmp, signal_after=1.0)
            took = time.monotonic() - t0
            c = _counters(r.out)
            k = c.counter
            drops = sum(c.drops.values())
            fwd = k("tx_packets") - k("probes_sent") - k("arp_requests_sent") - \
                k("icmp_errors_sent")
            # Packets in flight between lcores at the stop are freed and counted (freed_at_exit).
            gap = k("rx_packets") - fwd - drops - k("freed_at_exit")
            name = (f"cli: SIGTERM while {'2 workers' if multi else 'one lcore'} forward an "
                    f"endless LAN pcap -> exit 0, 'stopping', counters printed, every mbuf "
                    f"accounted")
            errs = [(r.rc == 0, f"exit {r.rc}"),
                    ("mpf-dataplane: stopping" in r.out, "no 'stopping' line"),
                    ("counters:" in r.out and "drops:" in r.out, "no counters printed"),
                    (k("rx_packets") > 1000, f"rx_packets {k('rx_packets')}"),
                    (k("nat_in2out") == k("encapsulated"),
                     f"nat_in2out {k('nat_in2out')} != encapsulated {k('encapsulated')}"),
                    (k("nat_created") == 64, f"nat_created {k('nat_created')}, want 64"),
                    (k("handoff_sent") == k("handoff_received") + k("freed_at_exit"),
                     f"handoff_sent {k('handoff_sent')} != received {k('handoff_received')} + "
                     f"freed_at_exit {k('freed_at_exit')}"),
                    (gap == 0, f"rx {k('rx_packets')} != forwarded {fwd} + drops {drops} + "
                               f"freed_at_exit {k('freed_at_exit')} (gap {gap})")]
            if multi:
                errs.append(("rxq 1 txq 3" in r.out, "path port not started with rxq 1 txq 3"))
            res.append((name, _errs(*errs)))
            res.append((f"cli: SIGTERM under load ({'2 workers' if multi else 'one lcore'}) "
                        f"stops within 10 s", None if took < 11 else f"took {took:.1f} s"))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return res


check_sigterm.title = "cli: SIGTERM"

# ---- --capture (docs/operations.md, "Capture") --------------------------------------------------

def _pcapng_packets(path):
    """[(direction, frame)] of a pcapng file's Enhanced Packet Blocks (direction: 1 in, 2 out,
    0 unknown). ValueError when the file is not well-formed pcapng."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 12 or struct.unpack_from("<II", data, 0)[0] != 0x0A0D0D0A or \
            struct.unpack_from("<I", data, 8)[0] != 0x1A2B3C4D:
        raise ValueError("not a little-endian pcapng file")
    out, off = [], 0
    while off < len(data):
        if off + 12 > len(data):
            raise ValueError(f"truncated block at {off}")
        btype, blen = struct.unpack_from("<II", data, off)
        if blen < 12 or blen % 4 or off + blen > len(data) or \
                struct.unpack_from("<I", data, off + blen - 4)[0] != blen:
            raise ValueError(f"bad block length {blen} at {off}")
        if btype == 6:
            caplen = struct.unpack_from("<I", data, off + 20)[0]
            direction, o, end = 0, off + 28 + ((caplen + 3) & ~3), off + blen - 4
            while o + 4 <= end:  # options (DPDK writes no end-of-options)
                code, olen = struct.unpack_from("<HH", data, o)
                if code == 0:
                    break
                if code == 2 and olen == 4:
                    direction = struct.unpack_from("<I", data, o + 4)[0] & 3
                o += 4 + ((olen + 3) & ~3)
            out.append((direction, data[off + 28:off + 28 + caplen]))
        off += blen
    return out


def check_capture(binary):
    """--capture PORT:FILE[:COUNT]: the dataplane writes what it receives and sends on PORT."""
    res = []
    tmp = _tmp("cap")
    try:
        with open(os.path.join(tmp, "gw.conf"), "w") as f:
            f.write(G.gateway_config().replace("{tmp}", tmp))
        req = pad60(bytes(Ether(dst=BCAST, src=HOST_A_MAC) /
                          arp_pkt(1, HOST_A_MAC, HOST_A, "00:00:00:00:00:00", GW_LAN_IP)))
        rep = bytes(Ether(dst=HOST_A_MAC, src=GW_LAN_MAC) /
                    arp_pkt(2, GW_LAN_MAC, GW_LAN_IP, HOST_A_MAC, HOST_A))
        echo = IP(src=HOST_A, dst=GW_LAN_IP, ttl=64, id=0x0101) / ICMP(type=8, id=7, seq=1) / \
            Raw(b"capture")
        reply = IP(src=GW_LAN_IP, dst=HOST_A, ttl=64, id=0x0101) / ICMP(type=0, id=7, seq=1) / \
            Raw(b"capture")
        harness.write_pcap(os.path.join(tmp, "lan.pcap"), [req, lan_in(echo)])
        harness.write_pcap(os.path.join(tmp, "empty.pcap"), [])
        vdevs = ["--vdev", f"net_pcap0,rx_pcap={tmp}/lan.pcap,tx_pcap={tmp}/out0.pcap",
                 "--vdev", f"net_pcap1,rx_pcap={tmp}/empty.pcap,tx_pcap={tmp}/out1.pcap"]
        conf = ["--", "--config", os.path.join(tmp, "gw.conf")]

        # One lcore, a relative FILE, no COUNT: until the stop.
        r = run(binary, _eal(f"mpfdp-cap1-{os.getpid()}") + vdevs + conf +
                ["--capture", "lan:cap.pcapng"], tmp, signal_after=1.0, sig=signal.SIGINT)
        want = sorted([(1, req), (1, lan_in(echo)), (2, rep), (2, lan_out(reply))])
        try:
            got, bad = sorted(_pcapng_packets(os.path.join(tmp, "cap.pcapng"))), None
        except (OSError, ValueError) as e:
            got, bad = [], str(e)
        res.append(("cli: --capture lan:cap.pcapng -> ARP request and echo in, ARP reply and "
                    "echo reply out, in a pcapng file in the working directory", _errs(
                        (r.rc == 0, f"exit {r.rc}"), (bad is None, f"capture file: {bad}"),
                        (got == want, f"captured {[(d, f.hex()) for d, f in got]}"),
                        ("stopped (dataplane stopping): 4 packets, 0 dropped" in r.out,
                         "no stop line with 4 packets"))))

        # Two workers and the main lcore, an endless LAN pcap: exactly COUNT packets.
        harness.write_pcap(os.path.join(tmp, "load.pcap"), _load_frames())
        load = set(_load_frames())
        mw = os.path.join(tmp, "mw.conf")
        with open(mw, "w") as f:
            f.write(M.mw_gateway_config().replace("{tmp}", tmp))
        args = _eal(f"mpfdp-cap2-{os.getpid()}", "0-2")
        args += ["--vdev", "net_pcap0," + ",".join([f"rx_pcap={tmp}/load.pcap"] * 2) +
                 ",infinite_rx=1," + ",".join(["tx_pcap=/dev/null"] * 3)]
        args += ["--vdev", f"net_pcap1,rx_pcap={tmp}/empty.pcap," +
                 ",".join(["tx_pcap=/dev/null"] * 3)]
        path = os.path.join(tmp, "cap2.pcapng")
        r = run(binary, args + ["--", "--config", mw, "--capture", f"lan:{path}:50"], tmp,
                signal_after=1.0)
        try:
            got, bad = _pcapng_packets(path), None
        except (OSError, ValueError) as e:
            got, bad = [], str(e)
        res.append(("cli: --capture lan:FILE:50 with 2 workers under load -> exactly 50 received "
                    "LAN frames, 'count reached'", _errs(
                        (r.rc == 0, f"exit {r.rc}"), (bad is None, f"capture file: {bad}"),
                        (len(got) == 50, f"{len(got)} packets"),
                        (all(d == 1 and f in load for d, f in got), "a packet not from the load"),
                        ("stopped (count reached): 50 packets" in r.out, "no 'count reached'"))))

        r = run(binary, _eal(f"mpfdp-cap3-{os.getpid()}") + vdevs + conf +
                ["--capture", "nope:/tmp/x.pcapng"], tmp)
        res.append(("cli: --capture of an unknown interface -> exit 2, 'no interface'", _errs(
            (r.rc == 2, f"exit {r.rc}"),
            (r.err.startswith("mpf-dataplane: --capture: no interface 'nope' (interfaces: lan, "
                              "5g)"), f"stderr {r.err[:80]!r}"))))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return res


check_capture.title = "cli: --capture"

CHECKS = [check_options, check_config_errors, check_txq_shortage, check_sigterm, check_capture]
