"""Multi-worker scenarios: NAT ownership across lcores (docs/architecture.md, "NAT ownership").

The dataplane runs with two worker lcores plus the main lcore, every port with two RX queues
(worker i polls queue i of every port) and three TX queues (queue i is worker i, queue 2 the
main lcore), so the TX file an output frame lands in names the lcore that sent it. The tunnel
header's stream_id names the worker that encapsulated a frame as well.

The external port range is 8000-8999: worker 0 owns 8000-8499, worker 1 8500-8999 (ICMP echo
ids the same).

Multipath numbering: a data frame's stream_id names the worker that encapsulated it (high byte)
and the flow's bucket (flow hash of the translated packet); stream_seq counts per stream,
path_seq per worker (one path). The receiver puts each (peer, stream) through a reorder window
owned by worker frames.reorder_owner(stream): the tests' frames from the peer use, per RX queue,
one stream of their own (a sender worker of their own, so path_seq runs without gaps per
receiving worker) whose window the worker polling that queue owns, unless a case is about the
hand-over to the window's owner. net_pcap has no RSS, so the gateway's LAN port spreads inside packets in software
(spread_inside): the owner of an inside packet is inside_owner() below, computed exactly as
Worker::inside_owner does; the owner of an outside packet is the share holding its destination
port (echo id, quoted source port of an ICMP error).

Ordering without timing guesses:
- gateway: an outbound packet and its reply arrive on the same worker's queues (LAN queue r,
  then path queue r, at the same or a later position). A worker polls the LAN port before the
  path port, so when r is not the owner both go through the one ring handoff[r][owner], in
  order; when r is the owner both are handled in order by r itself.
- server and "ring full": some RX queues are named pipes fed stage by stage (harness.py); the
  harness waits for counters (telemetry) or for a worker to sit in read() before the next stage.
- the peer's session: the frames of the peer are checked only once the main lcore adopted the
  session the peer announced. The RX queue that carries the announcement is a pipe whose stage 0
  is the announcing frame and fillers completing its burst (announce_gw / announce_srv); the
  harness goes on once telemetry shows peer_sessions 1 (session_adopted), and the peer's other
  frames on pipes come in later stages.
"""
import ipaddress
import socket
import struct

from frames import *  # noqa: F401,F403
from harness import Case, Scenario
import frames as F
import gateway_cases as G
import server_cases as S

LAN, PATH = 0, 1
WAN, TUN = 0, 1
WORKERS = 2
MAIN_TXQ = WORKERS
PORT_FIRST, PORT_LAST = 8000, 8999
PROTO = {"tcp": 6, "udp": 17, "icmp": 1}
SEQ = frozenset(range(F.MPF + 12, F.MPF + 20))  # stream_seq, path_seq
M32 = 0xFFFFFFFF


# ---- the dataplane's ownership rules, in Python ------------------------------------------------

def inside_owner(src, proto, sport, n=WORKERS):
    """Worker::inside_owner: h = src * 2654435761 ^ (proto << 16 | sport) * 0x9e3779b1 (32-bit),
    owner = (h >> 8) % n. sport is the echo id for ICMP echo, 0 for other ICMP."""
    a = int(ipaddress.IPv4Address(src))
    h = ((a * 2654435761) & M32) ^ ((((PROTO.get(proto, proto) << 16) | sport) * 0x9E3779B1) & M32)
    return (h >> 8) % n


class Partition:
    """lib/nat/port_partition.hpp"""

    def __init__(self, first, last, shares):
        self.first, self.last, self.shares = first, last, shares

    def size(self):
        return (self.last - self.first + 1) // self.shares

    def share(self, i):
        lo = self.first + i * self.size()
        hi = self.last if i + 1 == self.shares else lo + self.size() - 1
        return lo, hi

    def owner(self, port):
        if port < self.first or port > self.last:
            return self.shares
        return min((port - self.first) // self.size(), self.shares - 1)


PART = Partition(PORT_FIRST, PORT_LAST, WORKERS)


class Pools:
    """The NAT's port choice per worker and protocol (nat_table.cpp PortPool::alloc): the inside
    port when it is free in the worker's share, else next fit from a cursor that starts at the
    share's first port. Valid for allocations in the order the worker makes them."""

    def __init__(self, forwards=()):
        self.taken = {}
        self.cursor = {}
        self.forwards = set(forwards)  # (proto, port): never handed out

    def alloc(self, worker, proto, in_port):
        lo, hi = PART.share(worker)
        key = (worker, proto)
        taken = self.taken.setdefault(key, set())
        free = lambda p: p not in taken and (proto, p) not in self.forwards  # noqa: E731
        if lo <= in_port <= hi and free(in_port):
            taken.add(in_port)
            return in_port
        c = self.cursor.get(key, lo)
        for k in range(hi - lo + 1):
            p = lo + (c - lo + k) % (hi - lo + 1)
            if free(p):
                taken.add(p)
                self.cursor[key] = p + 1
                return p
        raise ValueError("share exhausted")


def find_ports(src, proto, owner, start, count=1, stop=65536, pred=lambda p: True):
    out = []
    for p in range(start, stop):
        if inside_owner(src, proto, p) == owner and pred(p):
            out.append(p)
            if len(out) == count:
                return out
    raise ValueError(f"no {count} ports from {start} owned by worker {owner}")


def in_share(worker):
    lo, hi = PART.share(worker)
    return lambda p: lo <= p <= hi


# ---- fast byte builders (thousands of frames; checked against scapy once) ------------------------

def _mac(m):
    return bytes.fromhex(m.replace(":", ""))


def fast_udp(src, dst, sport, dport, data, ident=0, ttl=64, df=False, csum=True):
    """IPv4/UDP as scapy builds IP(src, dst, ttl, id, flags) / UDP(sport, dport) / Raw(data)."""
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    ulen = 8 + len(data)
    c = 0
    if csum:
        c = ip_checksum(s + d + struct.pack("!BBH", 0, 17, ulen) +
                        struct.pack("!HHHH", sport, dport, ulen, 0) + data) or 0xFFFF
    udp = struct.pack("!HHHH", sport, dport, ulen, c) + data
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, ident, 0x4000 if df else 0, ttl, 17, 0,
                      s, d)
    return hdr[:10] + struct.pack("!H", ip_checksum(hdr)) + hdr[12:] + udp


def fast_eth(dst, src, ip):
    return _mac(dst) + _mac(src) + b"\x08\x00" + ip


def fast_tunnel(src_mac, dst_mac, src_ip, dst_ip, payload, ip_id=0, ttl=64):
    """frames.tunnel_frame: outer IPv4 (DF) / UDP 4500 -> 4500 (checksum 0) around payload."""
    return fast_eth(dst_mac, src_mac, fast_udp(src_ip, dst_ip, TUN_PORT, TUN_PORT, payload,
                                               ident=ip_id, ttl=ttl, df=True, csum=False))


def _self_check():
    u = IP(src=HOST_A, dst=HOST_B, ttl=64, id=7) / UDP(sport=1234, dport=53) / Raw(b"abc")
    assert fast_udp(HOST_A, HOST_B, 1234, 53, b"abc", ident=7) == bytes(u)
    t = tunnel_frame(GW_PATH_MAC, NH_5G_MAC, GW_PATH_IP, SRV_TUN_IP, TUN_PORT, TUN_PORT,
                     b"xyz" * 9, ip_id=0x4242)
    assert fast_tunnel(GW_PATH_MAC, NH_5G_MAC, GW_PATH_IP, SRV_TUN_IP, b"xyz" * 9,
                       ip_id=0x4242) == t
    assert fast_eth(GW_LAN_MAC, HOST_A_MAC, bytes(u)) == bytes(Ether(dst=GW_LAN_MAC,
                                                                    src=HOST_A_MAC) / u)


# ---- configs and expected frames ------------------------------------------------------------------

def mw_gateway_config():
    c = G.gateway_config()
    for a, b in (('port_range = "1024-65535"', f'port_range = "{PORT_FIRST}-{PORT_LAST}"'),
                 ("idle_sleep_us = 0", "idle_sleep_us = 20"), ("mbufs = 16383", "mbufs = 32767")):
        assert a in c
        c = c.replace(a, b)
    return c


def mw_server_config():
    c = S.server_config(extra="dataplane = { idle_sleep_us = 20; mbufs = 32767; };")
    assert "nat = {\n" in c
    return c.replace("nat = {\n", f'nat = {{\n  port_range = "{PORT_FIRST}-{PORT_LAST}";\n')


def gw_encap(inner: bytes, worker: int, what: str, sseq=None) -> Exp:
    """A data frame the gateway's worker `worker` sends on the 5g path: stream_id = (worker <<
    8) | bucket of the translated packet, by that worker's TX queue. Sequence numbers masked
    unless given (one worker's own LAN frames and the ones handed to it interleave as the lcores
    run; seq_check verifies them all): sseq given = the worker's sseq-th frame and the sseq-th
    of its stream (a run where the worker sends one flow only). The inner packet compact when
    the gateway must compact it (frames.data_payload)."""
    frame = fast_tunnel(GW_PATH_MAC, NH_5G_MAC, GW_PATH_IP, SRV_TUN_IP,
                        data_body(inner, GW_TO_SRV, stream=stream_of(inner, worker),
                                  sseq=sseq or 0, pseq=sseq or 0, flags=data_flags(inner)) +
                        bytes(F.TAG_LEN))
    mask = TUNNEL_MASK if sseq is not None else TUNNEL_MASK | SEQ
    # The inner packet (its compact header and L4 checksum included) is compared byte for byte:
    # only the outer header checksum needs a check of its own.
    return Exp(PATH, frame, mask, what, [outer_ip_checksum_ok], txq=worker)


def srv_encap(inner: bytes, tx: Numbering, what: str) -> Exp:
    """A data frame the server's worker tx.worker sends (next numbers of tx, its TX queue),
    compact when the server must compact it."""
    n = tx.data(inner)
    frame = fast_tunnel(SRV_TUN_MAC, SRV_ROUTER_MAC, SRV_TUN_IP, GW_PATH_IP,
                        data_body(inner, SRV_TO_GW, stream=n["stream"], sseq=n["sseq"],
                                  pseq=n["pseq"], flags=n["flags"]) + bytes(F.TAG_LEN))
    return Exp(TUN, frame, TUNNEL_MASK, what, [outer_ip_checksum_ok], txq=tx.worker)


# The server's frames to the gateway in the multi-worker gateway scenarios: per path RX queue of
# the gateway, a server worker and stream of its own whose reorder window the worker polling
# that queue owns (no hand-over before NAT: replies reach their NAT owner through the same ring
# as their requests did). CROSS_STREAM: one owned by the other worker (hand-over cases).
QUEUE_STREAM = {0: 0x0000, 1: 0x0102}
CROSS_STREAM = {0: 0x0204, 1: 0x0302}
assert all(reorder_owner(st, WORKERS) == q for q, st in QUEUE_STREAM.items())
assert all(reorder_owner(st, WORKERS) == 1 - q for q, st in CROSS_STREAM.items())


class ServerSide:
    """Numbers the server's frames per stream (QUEUE_STREAM / CROSS_STREAM), in input order;
    accepted: their outer lengths (what the gateway's probes must report in the end). stage:
    the FIFO stage of its frames (after the announcement's, announce_gw)."""

    def __init__(self, epoch=SRV_SESSION.epoch, stage=1):
        self.num = {}
        self.epoch = epoch
        self.accepted = []
        self.stage = stage

    def hdr(self, stream):
        n = self.num.setdefault(stream >> 8, Numbering(stream >> 8, self.epoch))
        return n.hdr(stream=stream)

    def frame(self, pkt, q, cross=False):
        """(PATH, frame, q): pkt from the server on path RX queue q."""
        st = (CROSS_STREAM if cross else QUEUE_STREAM)[q]
        f = from_server(bytes(pkt), self.hdr(st))
        self.accepted.append(outer_len(f))
        return (PATH, f, q, self.stage)


BURST = 32


def session_adopted(n=1, fifo_workers=(0,)):
    """Stage wait: the main lcore adopted the peer's session (telemetry: peer_sessions n) and
    the workers reading the pipes sit in read() again."""
    def cond(ctx):
        st = ctx.stats()
        if st.get("peer_sessions") != n:
            return f"peer_sessions {st.get('peer_sessions')} (want {n})"
        for w in fifo_workers:
            if not ctx.blocked_in_fifo(w):
                return f"worker {w} back in read() on its pipe"
        return None
    return cond


def announce_gw(prefix, accepted=None, q=0):
    """Stage 0 on the gateway's path RX queue q (a pipe): the server's probe_reply announcing
    its session (probe_seq 0: no probe of ours, path_seq 0), fillers completing the burst.
    Worker q takes it and passes it to the main lcore, which adopts the session."""
    reply = probe_reply_in(0, pseq=0)
    if accepted is not None:
        accepted.append(outer_len(reply))
    fill = filler(BURST - 1)
    return Case(f"{prefix}: stage 0: probe_reply announcing the server's session on path RX "
                f"queue {q} (a pipe), {len(fill)} fillers -> adopted by the main lcore "
                f"(peer_sessions 1, 'new session' logged) before the server's other frames",
                [(PATH, reply, q, 0)] + [(PATH, f, q, 0) for f in fill], [],
                {"peer_sessions": 1, "probe_replies_received": 1,
                 "drops.eth_not_for_us": len(fill)},
                checks=[G.new_session_logged(SRV_SESSION)])


def announce_srv(prefix, path_frames, q=0, port=TUN):
    """Stage 0 on the server's RX queue q of `port`: the gateway's probe 1 announcing its
    session, fillers completing the burst (on a pipe: one pass of worker q; on a file: the
    first burst, read before the worker blocks on a pipe it polls first). The main lcore adopts
    the session, learns the path and answers by its TX queue."""
    ph, pr = S.probe(Numbering(MAIN_LCORE), probe_seq=1, ts=0x01020304)
    path_frames.append(outer_len(pr))
    fill = filler(BURST - 1)
    reply = S.probe_reply_expected(ph, 1, path_frames, len(path_frames) - 1, pseq=0)
    reply.txq = MAIN_TXQ
    return Case(f"{prefix}: stage 0: probe announcing the gateway's session on t0 RX queue {q}, "
                f"{len(fill)} fillers -> adopted by the main lcore (peer_sessions 1, 'new "
                f"session' logged), path learned, probe_reply by the main lcore's TX queue",
                [(port, pr, q, 0)] + [(port, f, q, 0) for f in fill], [reply],
                {"peer_sessions": 1, "probe_replies_sent": 1, "drops.eth_not_for_us": len(fill)},
                checks=[S.new_session_logged(GW_SESSION)])


def lan_exp(ip_pkt, worker, what):
    return Exp(LAN, fast_eth(HOST_A_MAC, GW_LAN_MAC, bytes(ip_pkt)), what=what, txq=worker)


def wan_exp(ip_pkt, worker, what):
    return Exp(WAN, wan_out(IP(ip_pkt)), what=what, txq=worker)


class Handoffs:
    """Expected handoffs per worker, for the per-lcore telemetry check."""

    def __init__(self):
        self.sent = [0] * WORKERS
        self.received = [0] * WORKERS

    def add(self, frm, to, n=1):
        if frm != to:
            self.sent[frm] += n
            self.received[to] += n
            return n
        return 0

    def check(self, res):
        if not res.lcores:
            return "no /mpf/lcores telemetry"
        errs = []
        for i in range(WORKERS):
            w = res.lcores.get(f"worker{i}", {})
            got = (w.get("handoff_sent"), w.get("handoff_received"))
            want = (self.sent[i], self.received[i])
            if got != want:
                errs.append(f"worker {i}: handoff sent/received {got[0]}/{got[1]}, want "
                            f"{want[0]}/{want[1]}")
            lo, hi = PART.share(i)
            if (w.get("nat_port_first"), w.get("nat_port_last")) != (lo, hi):
                errs.append(f"worker {i}: share {w.get('nat_port_first')}-"
                            f"{w.get('nat_port_last')}, want {lo}-{hi}")
        return "; ".join(errs) if errs else None


def seq_check(port, n_workers=WORKERS):
    """The data frames mpf sent on `port` (one path), in the order each TX queue sent them:
    stream_id = (worker << 8) | bucket_of(inner) (frames.py; the inner packet restored when the
    frame is compact) with worker < n_workers, sent by that
    worker's TX queue; per stream, stream_seq 0, 1, 2, ... in sending order; per worker,
    path_seq 0, 1, 2, ... in sending order (all its streams share it)."""
    def chk(res):
        errs = []
        next_sseq, next_pseq = {}, {}
        for f, q in zip(res.out.get(port, []), res.out_txq.get(port, [])):
            h = F.mpf_fields(f)
            if h is None or f[36:38] != b"\x11\x94" or h["type"] != T_DATA:
                continue
            stream, worker = h["stream"], h["stream"] >> 8
            if worker >= n_workers or q != worker:
                errs.append(f"stream {stream:#06x} sent by TX queue {q} ({n_workers} workers)")
            want = stream_of(F.inner_of(f), worker)
            if stream != want:
                errs.append(f"stream {stream:#06x}, want {want:#06x} (flow hash of the inner "
                            f"packet)")
            if h["sseq"] != next_sseq.get(stream, 0):
                errs.append(f"stream {stream:#06x}: stream_seq {h['sseq']}, want "
                            f"{next_sseq.get(stream, 0)}")
            if h["pseq"] != next_pseq.get(worker, 0):
                errs.append(f"worker {worker}: path_seq {h['pseq']}, want "
                            f"{next_pseq.get(worker, 0)}")
            next_sseq[stream] = h["sseq"] + 1
            next_pseq[worker] = h["pseq"] + 1
        return "; ".join(errs[:5]) + (f" ... ({len(errs)} in all)" if len(errs) > 5 else "") \
            if errs else None
    return chk


def probes_by_main(res):
    if not res.probes:
        return "no keepalive probe on the 5g path"
    bad = [q for q in res.probes_txq if q != MAIN_TXQ]
    return f"probes sent by TX queues {sorted(set(bad))}, want {MAIN_TXQ} (main lcore)" \
        if bad else None


# ---- mw-gw: each kind of packet across the workers --------------------------------------------

def scenario_gateway():
    cases = []
    ho = Handoffs()
    pools = Pools(forwards={("tcp", 8080)})
    srv = ServerSide()
    cases.append(announce_gw("mw-gw", srv.accepted))

    def case(name, inputs, expect, counters, handoffs):
        """handoffs: [(from, to)] of the inputs that cross lcores."""
        n = sum(ho.add(a, b) for a, b in handoffs)
        if n:
            counters = dict(counters, handoff_sent=n, handoff_received=n)
        cases.append(Case(name, inputs, expect, counters))

    replies = []  # appended after all LAN cases: (name, inputs, expect, counters, handoffs)

    # TCP, both owners: the SYN arrives on the other worker's LAN queue.
    for owner in (0, 1):
        r = 1 - owner
        sport = find_ports(HOST_A, "tcp", owner, 40000)[0]
        ext = pools.alloc(owner, "tcp", sport)
        syn = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x1100 + owner, flags="DF") / \
            TCP(sport=sport, dport=80, flags="S", seq=1000, window=64240,
                options=syn_options(1460))
        case(f"mw-gw: TCP SYN 192.168.10.2:{sport} (inside owner worker {owner}) on LAN RX "
             f"queue {r} -> handed to worker {owner}, SNAT to 100.64.0.7:{ext} (worker {owner}'s "
             f"share {PART.share(owner)[0]}-{PART.share(owner)[1]}), tunnel frame stream {owner}",
             [(LAN, lan_in(syn), r)],
             [gw_encap(translated(syn, src=TUN_ADDR, sport=ext, mss=MSS_CLAMP), owner,
                       "SYN frame")],
             {"encapsulated": 1, "nat_in2out": 1, "mss_clamped": 1}, [(r, owner)])
        mss = 1460 if owner == 0 else 1380  # worker 0's is clamped after the handoff
        sa = IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8100 + owner, flags="DF") / \
            TCP(sport=80, dport=ext, flags="SA", seq=77, ack=1001, window=65160,
                options=syn_options(mss))
        replies.append((f"mw-gw: SYN-ACK (MSS {mss}) to 100.64.0.7:{ext} on path RX queue {r} -> "
                        f"handed to worker {owner} (port owner), reverse NAT to "
                        f"192.168.10.2:{sport}" +
                        (f", MSS clamped to {MSS_CLAMP}" if mss > MSS_CLAMP else "") +
                        f", out by worker {owner}",
                        [srv.frame(sa, r)],
                        [lan_exp(translated(sa, dst=HOST_A, dport=sport,
                                            mss=MSS_CLAMP if mss > MSS_CLAMP else None),
                                 owner, "SYN-ACK")],
                        dict({"decapsulated": 1, "nat_out2in": 1},
                             **({"mss_clamped": 1} if mss > MSS_CLAMP else {})), [(r, owner)]))

    # UDP, both owners, via the other worker.
    udp_flows = {}
    for owner in (0, 1):
        r = 1 - owner
        sport = find_ports(HOST_A, "udp", owner, 41000)[0]
        ext = pools.alloc(owner, "udp", sport)
        udp_flows[owner] = (sport, ext)
        u = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x2100 + owner) / UDP(sport=sport, dport=5353) / \
            Raw(b"mw-udp-%d" % owner)
        case(f"mw-gw: UDP 192.168.10.2:{sport} (inside owner worker {owner}) on LAN RX queue {r} "
             f"-> handed to worker {owner}, SNAT to 100.64.0.7:{ext}",
             [(LAN, lan_in(u), r)],
             [gw_encap(translated(u, src=TUN_ADDR, sport=ext), owner, "UDP frame")],
             {"encapsulated": 1, "nat_in2out": 1}, [(r, owner)])
        rep = IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8200 + owner) / \
            UDP(sport=5353, dport=ext) / Raw(b"mw-udp-reply-%d" % owner)
        replies.append((f"mw-gw: UDP reply to 100.64.0.7:{ext} on path RX queue {r} -> handed to "
                        f"worker {owner}, to 192.168.10.2:{sport}",
                        [srv.frame(rep, r)],
                        [lan_exp(translated(rep, dst=HOST_A, dport=sport), owner, "UDP reply")],
                        {"decapsulated": 1, "nat_out2in": 1}, [(r, owner)]))

    # Inside port inside the OTHER worker's share: the owner cannot keep it.
    owner = 0
    sport = find_ports(HOST_A, "udp", owner, PART.share(1)[0] + 100, pred=in_share(1))[0]
    ext = pools.alloc(owner, "udp", sport)
    u = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x2200) / UDP(sport=sport, dport=5353) / \
        Raw(b"mw-udp-other-share")
    case(f"mw-gw: UDP from inside port {sport} (in worker 1's share, inside owner worker 0) on "
         f"LAN RX queue 1 -> worker 0 maps it into its own share: 100.64.0.7:{ext}",
         [(LAN, lan_in(u), 1)],
         [gw_encap(translated(u, src=TUN_ADDR, sport=ext), owner, "UDP frame")],
         {"encapsulated": 1, "nat_in2out": 1}, [(1, 0)])
    rep = IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8300) / UDP(sport=5353, dport=ext) / \
        Raw(b"mw-udp-other-share-reply")
    replies.append((f"mw-gw: reply to 100.64.0.7:{ext} on path RX queue 1 -> worker 0, to "
                    f"192.168.10.2:{sport}",
                    [srv.frame(rep, 1)],
                    [lan_exp(translated(rep, dst=HOST_A, dport=sport), 0, "UDP reply")],
                    {"decapsulated": 1, "nat_out2in": 1}, [(1, 0)]))

    # Inside port in the owner's own share, packet on the owner's own queue: no handoff, the
    # port is kept; its reply on the same worker's path queue: no handoff either.
    owner = 1
    sport = find_ports(HOST_A, "udp", owner, PART.share(1)[0] + 300, pred=in_share(1))[0]
    ext = pools.alloc(owner, "udp", sport)
    assert ext == sport
    u = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x2300) / UDP(sport=sport, dport=5353) / \
        Raw(b"mw-udp-own")
    case(f"mw-gw: UDP from inside port {sport} (worker 1's share, inside owner worker 1) on LAN "
         f"RX queue 1 -> no handoff, port kept",
         [(LAN, lan_in(u), 1)],
         [gw_encap(translated(u, src=TUN_ADDR), owner, "UDP frame")],
         {"encapsulated": 1, "nat_in2out": 1}, [])
    rep = IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8400) / UDP(sport=5353, dport=ext) / \
        Raw(b"mw-udp-own-reply")
    replies.append((f"mw-gw: reply to 100.64.0.7:{ext} on path RX queue 1 (its owner's) -> no "
                    f"handoff, to 192.168.10.2:{sport}",
                    [srv.frame(rep, 1)],
                    [lan_exp(translated(rep, dst=HOST_A), 1, "UDP reply")],
                    {"decapsulated": 1, "nat_out2in": 1}, []))

    # ICMP echo: the id is the "port" (inside_owner hashes it; the owner's id share is used).
    for owner in (0, 1):
        r = 1 - owner
        ident = find_ports(HOST_A, "icmp", owner, 0x1234)[0]
        ext = pools.alloc(owner, "icmp", ident)
        ping = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x3100 + owner) / \
            ICMP(type=8, id=ident, seq=1) / Raw(b"mw-ping-%d" % owner)
        case(f"mw-gw: ICMP echo id {ident} (inside owner worker {owner}) on LAN RX queue {r} -> "
             f"worker {owner}, id {ext} from its share",
             [(LAN, lan_in(ping), r)],
             [gw_encap(translated(ping, src=TUN_ADDR, sport=ext), owner, "echo frame")],
             {"encapsulated": 1, "nat_in2out": 1}, [(r, owner)])
        pong = IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8500 + owner) / \
            ICMP(type=0, id=ext, seq=1) / Raw(b"mw-ping-%d" % owner)
        replies.append((f"mw-gw: echo reply id {ext} on path RX queue {r} -> handed to worker "
                        f"{owner} (id owner), id {ident} to Host A",
                        [srv.frame(pong, r)],
                        [lan_exp(translated(pong, dst=HOST_A, sport=ident), owner, "echo reply")],
                        {"decapsulated": 1, "nat_out2in": 1}, [(r, owner)]))
        # time exceeded quoting the echo request: owner by the quoted id
        qe = IP(src=TUN_ADDR, dst=HOST_B, ttl=1, id=0x3100 + owner) / \
            ICMP(type=8, id=ext, seq=1) / Raw(b"mw-ping-%d" % owner)
        te = IP(src="203.0.113.1", dst=TUN_ADDR, ttl=60, id=0x8580 + owner) / \
            ICMP(type=11, code=0) / Raw(bytes(qe))
        te_out = IP(src="203.0.113.1", dst=HOST_A, ttl=59, id=0x8580 + owner) / \
            ICMP(type=11, code=0) / Raw(translated(qe, src=HOST_A, sport=ident, ttl_dec=0))
        replies.append((f"mw-gw: ICMP time exceeded quoting the echo request with id {ext}, on "
                        f"path RX queue {r} -> handed to worker {owner} (quoted id), quote back "
                        f"to 192.168.10.2 id {ident}",
                        [srv.frame(te, r)],
                        [lan_exp(bytes(te_out), owner, "time exceeded")],
                        {"decapsulated": 1, "nat_out2in": 1}, [(r, owner)]))

    # ICMP error from outside about a translated UDP packet: owner by the quoted source port.
    for owner in (0, 1):
        r = 1 - owner
        sport, ext = udp_flows[owner]
        q = IP(src=TUN_ADDR, dst=HOST_B, ttl=61, id=0x2100 + owner) / \
            UDP(sport=ext, dport=5353) / Raw(b"mw-udp-%d" % owner)
        err = IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8600 + owner) / ICMP(type=3, code=3) / \
            Raw(bytes(q))
        err_out = IP(src=HOST_B, dst=HOST_A, ttl=59, id=0x8600 + owner) / \
            ICMP(type=3, code=3) / Raw(translated(q, src=HOST_A, sport=sport, ttl_dec=0))
        replies.append((f"mw-gw: ICMP port unreachable quoting 100.64.0.7:{ext} on path RX queue "
                        f"{r} -> handed to worker {owner} (quoted source port), quote back to "
                        f"192.168.10.2:{sport}",
                        [srv.frame(err, r)],
                        [lan_exp(bytes(err_out), owner, "ICMP error")],
                        {"decapsulated": 1, "nat_out2in": 1}, [(r, owner)]))

    # Port forward 8080 (inside worker 0's share, never allocated): whoever receives it
    # translates it, no handoff.
    for r in (0, 1):
        pf = IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8700 + r, flags="DF") / \
            TCP(sport=50000 + r, dport=8080, flags="S", seq=500, window=64240,
                options=syn_options(1380))
        replies.append((f"mw-gw: inbound TCP to port forward 100.64.0.7:8080 on path RX queue {r} "
                        f"(stream {QUEUE_STREAM[r]:#06x}, reorder window on worker {r}) -> "
                        f"translated by worker {r} itself (no handoff) to 192.168.10.2:8080",
                        [srv.frame(pf, r)],
                        [lan_exp(translated(pf, dst=HOST_A), r, "forwarded SYN")],
                        {"decapsulated": 1, "nat_out2in": 1}, []))
    # The same on a stream whose reorder window the other worker owns: handed over (kind
    # reorder) before anything else, then translated where the window delivers it.
    for r in (0, 1):
        pf = IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8780 + r, flags="DF") / \
            TCP(sport=50100 + r, dport=8080, flags="S", seq=700, window=64240,
                options=syn_options(1380))
        replies.append((f"mw-gw: inbound TCP to port forward on path RX queue {r}, stream "
                        f"{CROSS_STREAM[r]:#06x} (reorder window on worker {1 - r}) -> handed to "
                        f"worker {1 - r}, which translates it (no second handoff) and sends it "
                        f"to 192.168.10.2:8080",
                        [srv.frame(pf, r, cross=True)],
                        [lan_exp(translated(pf, dst=HOST_A), 1 - r, "forwarded SYN")],
                        {"decapsulated": 1, "nat_out2in": 1}, [(r, 1 - r)]))
    # ... and its answer from 192.168.10.2:8080: spread like any inside packet (stateless).
    o8080 = inside_owner(HOST_A, "tcp", 8080)
    pf_sa = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x7100, flags="DF") / \
        TCP(sport=8080, dport=50000, flags="SA", seq=9000, ack=501, window=65160,
            options=syn_options(1460))
    case(f"mw-gw: port forward answer from 192.168.10.2:8080 on LAN RX queue {1 - o8080} -> "
         f"worker {o8080} (inside owner), out from 100.64.0.7:8080",
         [(LAN, lan_in(pf_sa), 1 - o8080)],
         [gw_encap(translated(pf_sa, src=TUN_ADDR, mss=MSS_CLAMP), o8080, "SYN-ACK frame")],
         {"encapsulated": 1, "nat_in2out": 1, "mss_clamped": 1}, [(1 - o8080, o8080)])

    # Outside packets without a session: the port owner drops them (after a handoff when
    # another worker received them); outside the range, the receiver drops them.
    nos1 = IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8800) / UDP(sport=53, dport=8900) / \
        Raw(b"nobody")
    nos2 = IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8801) / UDP(sport=53, dport=7000) / \
        Raw(b"nobody")
    replies.append(("mw-gw: UDP to 100.64.0.7:8900 (worker 1's share, no session) on path RX "
                    "queue 0 -> handed to worker 1, nat_no_session; to port 7000 (outside the "
                    "range) on queue 1 -> dropped by worker 1 without handoff",
                    [srv.frame(nos1, 0), srv.frame(nos2, 1)],
                    [], {"decapsulated": 2, "drops.nat_no_session": 2}, [(0, 1)]))

    for args in replies:
        case(*args)

    return Scenario("mw-gw", "gateway", mw_gateway_config(), cases, tunnel_ports=(PATH,),
                    workers=WORKERS, rx_queues=2, fifos={(PATH, 0), (PATH, 1)},
                    stage_waits=[session_adopted(fifo_workers=(0, 1))],
                    extra_checks=[("mw-gw: per-worker handoffs (telemetry /mpf/lcores) and "
                                   "shares 8000-8499 / 8500-8999", ho.check),
                                  ("mw-gw: data frames: stream = worker << 8 | flow bucket, "
                                   "stream_seq per stream and path_seq per worker from 0",
                                   seq_check(PATH)),
                                  ("mw-gw: keepalive probes leave by the main lcore's TX queue 2",
                                   probes_by_main),
                                  ("mw-gw: probes per protocol.md 3.1, their rx counters summed "
                                   "over the workers end at every frame taken from the server",
                                   G.probe_check(srv.accepted, ordered=False))])


# ---- mw-gw-many: 300 UDP flows each way ------------------------------------------------------

def scenario_gateway_many(n=300):
    """300 inside ports, each in its owner's share (so the NAT keeps it and every external port
    is known in advance), spread over both LAN queues; each reply on the path queue of the same
    index as its request, in the same order."""
    ho = Handoffs()
    # Half from each share (both workers own flows), interleaved.
    own = [[p for p in range(*PART.share(w)) if inside_owner(HOST_A, "udp", p) == w]
           for w in range(WORKERS)]
    assert min(len(x) for x in own) >= n // 2, [len(x) for x in own]
    ports = [(own[i % 2][i // 2], i % 2) for i in range(n)]
    # Queue i % 2 would put every flow on its owner's queue: shift every third flow.
    qsel = [(i // 2 + i) % 2 if i % 3 else i % 2 for i in range(n)]
    ins, outs = [], []
    rins, routs = [], []
    per = [0, 0]
    _self_check()
    srv = ServerSide()
    announce = announce_gw("mw-gw-many")
    for i, (p, o) in enumerate(ports):
        r = qsel[i]
        per[o] += 1
        data = b"flow %03d" % i
        ins.append((LAN, pad60(fast_eth(GW_LAN_MAC, HOST_A_MAC,
                                        fast_udp(HOST_A, HOST_B, p, 53, data, i))), r))
        outs.append(gw_encap(fast_udp(TUN_ADDR, HOST_B, p, 53, data, i, ttl=63), o,
                             f"flow {i} out"))
        ho.add(r, o)
        data = b"reply %03d" % i
        rins.append((PATH, fast_tunnel(NH_5G_MAC, GW_PATH_MAC, SRV_TUN_IP, GW_PATH_IP,
                                       SRV_SESSION.seal(
                                           srv.hdr(QUEUE_STREAM[r]) +
                                           fast_udp(HOST_B, TUN_ADDR, 53, p, data, i, ttl=60)),
                                       ip_id=0x4242), r, 1))
        routs.append(Exp(LAN, fast_eth(HOST_A_MAC, GW_LAN_MAC,
                                       fast_udp(HOST_B, HOST_A, 53, p, data, i, ttl=59)),
                         what=f"flow {i} reply", txq=o))
        ho.add(r, o)
    moved = sum(1 for i, (p, o) in enumerate(ports) if qsel[i] != o)
    cases = [
        announce,
        Case(f"mw-gw-many: {n} UDP flows from inside ports of their owner's share over both LAN "
             f"queues ({per[0]} owned by worker 0, {per[1]} by worker 1, {moved} handed over) -> "
             f"each SNAT'd once by its owner, port kept, stream = owner << 8 | flow bucket",
             ins, outs, {"encapsulated": n, "nat_in2out": n}),
        Case(f"mw-gw-many: {n} replies on the path queue of the same index -> each reversed by "
             f"its owner to Host A ({moved} handed over)",
             rins, routs, {"decapsulated": n, "nat_out2in": n,
                           "handoff_sent": 2 * moved, "handoff_received": 2 * moved},
             checks=[lambda r: None if r.counter("nat_created") == n else
                     f"nat_created {r.counter('nat_created')}, want {n}"]),
    ]
    return Scenario("mw-gw-many", "gateway", mw_gateway_config(), cases, tunnel_ports=(PATH,),
                    workers=WORKERS, rx_queues=2, fifos={(PATH, 0), (PATH, 1)},
                    stage_waits=[session_adopted(fifo_workers=(0, 1))],
                    extra_checks=[("mw-gw-many: per-worker handoffs (telemetry)", ho.check),
                                  ("mw-gw-many: data frames: stream = worker << 8 | flow "
                                   "bucket, stream_seq per stream and path_seq per worker from 0",
                                   seq_check(PATH))])


# ---- mw-gw-ring-full: the handoff ring to a stalled owner overflows -------------------------------

def scenario_ring_full(n=1536, ring=1023):
    """Both LAN queues are pipes. Stage 0: nothing; wait until both workers sit in read() on
    them (worker 0 has drained its rings once, before blocking, and will not again). Stage 1:
    n packets of one flow owned by worker 0 on worker 1's LAN queue; worker 1 hands them over
    while worker 0 stays blocked: the ring (1024 slots, 1023 usable) fills, the rest are
    handoff_ring_full drops. Wait until worker 1 has read all n and blocks again. Stage 2: a
    burst of fillers wakes worker 0 and the pipes close; worker 0 drains the 1023, in order."""
    sport = find_ports(HOST_A, "udp", 0, 43000)[0]
    ext = PART.share(0)[0]
    ins, outs = [], []
    _self_check()
    for i in range(n):
        data = b"pkt %05d" % i
        ins.append((LAN, pad60(fast_eth(GW_LAN_MAC, HOST_A_MAC,
                                        fast_udp(HOST_A, HOST_B, sport, 53, data, i))), 1, 1))
        if i < ring:
            outs.append(gw_encap(fast_udp(TUN_ADDR, HOST_B, ext, 53, data, i, ttl=63), 0,
                                 f"packet {i}", sseq=i))
    fill = [(LAN, f, 0, 2) for f in filler(32)]

    def both_blocked(ctx):
        b = [ctx.blocked_in_fifo(i) for i in range(WORKERS)]
        return None if all(b) else f"both workers blocked in read() on their LAN pipe ({b})"

    def worker1_done(ctx):
        w = ctx.lcores().get("worker1", {})
        if w.get("rx_packets") != n:
            return f"worker 1 rx_packets {w.get('rx_packets')} of {n}"
        if not ctx.blocked_in_fifo(1):
            return "worker 1 back in read()"
        if not ctx.blocked_in_fifo(0):
            return "worker 0 still blocked (it must not have drained)"
        return None

    cases = [
        Case(f"mw-gw-ring-full: {n} packets for worker 0 arrive on worker 1 while worker 0 is "
             f"stalled -> {ring} handed over (ring full at {ring}), {n - ring} dropped "
             f"handoff_ring_full, the {ring} forwarded in order once worker 0 runs",
             ins, outs, {"handoff_sent": ring, "handoff_received": ring,
                         "drops.handoff_ring_full": n - ring, "encapsulated": ring,
                         "nat_in2out": ring}),
        Case("mw-gw-ring-full: a burst of fillers on worker 0's queue -> eth_not_for_us", fill, [],
             {"drops.eth_not_for_us": 32}),
    ]
    return Scenario("mw-gw-ring-full", "gateway", mw_gateway_config(), cases,
                    tunnel_ports=(PATH,), workers=WORKERS, rx_queues=2,
                    fifos={(LAN, 0), (LAN, 1)}, stage_waits=[both_blocked, worker1_done])


# ---- mw-srv: the server, tunnel frames on one queue ---------------------------------------------

def scenario_server():
    """All tunnel frames arrive on t0's RX queue 0 (one gateway path = one outer flow). The inner
    flows are spread by inside_owner over the two workers (handoff kind inside) and SNAT'd in
    the owner's share. WAN RX queues are pipes, which worker 0 polls before t0: stage 0 (a
    filler burst on WAN queue 0) lets it take the first burst of t0 RX queue 0, the gateway's
    probe announcing its session, while worker 1 sits in read(); the harness waits until the
    main lcore has adopted the session. Stage 1 lets worker 0 take the tunnel frames (a filler
    burst on WAN queue 0 per 32 of them); the harness waits until the main lcore has learned
    the gateway's path. Stage 2: replies for worker 1's flows on WAN queue 0 and replies for
    worker 0's flows on WAN queue 1: every reply crosses to its owner and is encapsulated there
    (stream = owner << 8 | flow bucket)."""
    ho = Handoffs()
    pools = Pools(forwards={("tcp", 8080)})
    tun_in, exp_wan = [], []
    rep_in = {0: [], 1: []}   # WAN queue -> frames
    exp_tun = []
    # The server's numbering per worker: a worker's replies reach it in their WAN queue's order.
    tx = {o: Numbering(o) for o in (0, 1)}
    # The gateway's frames: stream 0 (its worker 0, bucket 0), whose window worker 0 owns.
    assert reorder_owner(0, WORKERS) == 0
    flows = []  # (proto, sport, owner)
    for owner in (0, 1):
        flows.append(("tcp", find_ports(TUN_ADDR, "tcp", owner, 40000)[0], owner))
        flows.append(("icmp", find_ports(TUN_ADDR, "icmp", owner, 0x1234)[0], owner))
        flows += [("udp", p, owner) for p in find_ports(TUN_ADDR, "udp", owner, 41000, 12)]
    # one inside port in its owner's share: kept
    flows.append(("udp", find_ports(TUN_ADDR, "udp", 1, PART.share(1)[0] + 300,
                                    pred=in_share(1))[0], 1))
    flows.sort(key=lambda f: (f[1] * 7919) % 101)  # interleave the owners on the queue
    for k, (proto, sport, owner) in enumerate(flows):
        ext = pools.alloc(owner, proto, sport)
        if proto == "tcp":
            inner = IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=k, flags="DF") / \
                TCP(sport=sport, dport=80, flags="S", seq=1000, window=64240,
                    options=syn_options(MSS_CLAMP))
            reply = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x100 + k, flags="DF") / \
                TCP(sport=80, dport=ext, flags="SA", seq=77, ack=1001, window=65160,
                    options=syn_options(1380))
        elif proto == "icmp":
            inner = IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=k) / ICMP(type=8, id=sport, seq=1) / \
                Raw(b"srv-ping %d" % k)
            reply = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x100 + k) / \
                ICMP(type=0, id=ext, seq=1) / Raw(b"srv-ping %d" % k)
        else:
            inner = IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=k) / UDP(sport=sport, dport=53) / \
                Raw(b"srv-udp %d" % k)
            reply = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x100 + k) / \
                UDP(sport=53, dport=ext) / Raw(b"srv-udp-reply %d" % k)
        tun_in.append((TUN, from_gateway(bytes(inner), mpf_header(T_DATA, epoch=GW_SESSION.epoch,
                                                                  sseq=k, pseq=k)), 0, 1))
        ho.add(0, owner)
        exp_wan.append(wan_exp(translated(inner, src=SRV_PUB, sport=ext), owner,
                               f"{proto} {sport} on the WAN"))
        q = 1 - owner
        rep_in[q].append((WAN, wan_in(reply), q, 2))
        ho.add(q, owner)
        exp_tun.append(srv_encap(translated(reply, dst=TUN_ADDR, dport=None if proto == "icmp"
                                            else sport, sport=sport if proto == "icmp" else None),
                                 tx[owner], f"{proto} reply to {sport}"))
    n_tun = len(tun_in)
    n_fill = 32 * ((n_tun + 31) // 32)
    fill = [(WAN, f, 0, 1) for f in filler(n_fill)]
    n_own = [sum(1 for f in flows if f[2] == o) for o in (0, 1)]
    path0 = []
    announce = announce_srv("mw-srv", path0)
    n_first = 2 * BURST  # stage 0: a WAN filler burst, the announcement's burst on t0
    first_fill = [(WAN, f, 0, 0) for f in filler(BURST)]

    def learned(ctx):
        w0 = ctx.lcores().get("worker0", {})
        if w0.get("rx_packets") != n_first + n_fill + n_tun:
            return f"worker 0 rx_packets {w0.get('rx_packets')} of {n_first + n_fill + n_tun}"
        st = ctx.stats()
        if st.get("paths_learned") != 1:
            return f"paths_learned {st.get('paths_learned')} (want 1)"
        if not ctx.blocked_in_fifo(0) or not ctx.blocked_in_fifo(1):
            return "both workers blocked in read() on their WAN pipe"
        return None

    moved_in = n_own[1]
    cases = [
        Case(f"mw-srv: {BURST + n_fill} filler frames on WAN queue 0 (stages 0 and 1) -> "
             f"eth_not_for_us", first_fill + fill, [], {"drops.eth_not_for_us": BURST + n_fill}),
        announce,
        Case(f"mw-srv: {n_tun} tunnel frames on t0 RX queue 0: inner flows spread by "
             f"inside_owner ({n_own[0]} worker 0, {n_own[1]} worker 1 via handoff), SNAT into "
             f"the owner's share, out by the owner",
             tun_in, exp_wan, {"decapsulated": n_tun, "nat_in2out": n_tun, "mss_clamped": 0}),
        Case(f"mw-srv: replies on the non-owner's WAN queue ({len(rep_in[0])} on queue 0, "
             f"{len(rep_in[1])} on queue 1, stage 1) -> handed to the owner, reverse NAT, "
             f"encapsulated by the owner (stream = owner << 8 | flow bucket, the owner's "
             f"stream_seq and path_seq) to the learned 10.5.0.2:4500",
             rep_in[0] + rep_in[1], exp_tun,
             {"nat_out2in": n_tun, "encapsulated": n_tun,
              "handoff_sent": moved_in + n_tun, "handoff_received": moved_in + n_tun},
             checks=[lambda r: None if r.counter("paths_learned") == 1 else
                     f"paths_learned {r.counter('paths_learned')}, want 1"]),
    ]
    return Scenario("mw-srv", "server", mw_server_config(), cases, workers=WORKERS, rx_queues=2,
                    fifos={(WAN, 0), (WAN, 1)},
                    stage_waits=[session_adopted(fifo_workers=(0, 1)), learned],
                    extra_checks=[("mw-srv: per-worker handoffs (telemetry)", ho.check),
                                  ("mw-srv: one epoch in the server's tunnel frames",
                                   S.epoch_check),
                                  ("mw-srv: data frames: stream = worker << 8 | flow bucket, "
                                   "stream_seq per stream and path_seq per worker from 0",
                                   seq_check(TUN))])


# ---- ICMP errors from the inside about a NAT session -------------------------------------------

def _inside_error_flows(src, proto_first_port=41000):
    """One UDP flow per owner; per flow the owner it must be handled by."""
    return [(o, find_ports(src, "udp", o, proto_first_port)[0]) for o in (0, 1)]


def scenario_gw_inside_icmp_error():
    """Host A answers an inbound UDP packet of a NAT'd flow with ICMP port unreachable (RFC
    5508: the quoted destination goes back to 100.64.0.7:ext). The session lives on the flow's
    owner, inside_owner(192.168.10.2, udp, port); the error itself is ICMP with no port, so
    it must be sent to the owner of the flow it quotes, not to inside_owner(192.168.10.2, icmp,
    0) (= worker %d)."""
    cases = []
    ho = Handoffs()
    pools = Pools()
    err_owner = inside_owner(HOST_A, "icmp", 0)
    for owner, sport in _inside_error_flows(HOST_A):
        r = 1 - owner
        ext = pools.alloc(owner, "udp", sport)
        u = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x2500 + owner) / UDP(sport=sport, dport=5353) / \
            Raw(b"q%d" % owner)
        n = ho.add(r, owner)
        cases.append(Case(f"mw-gw-icmp-in: UDP 192.168.10.2:{sport} (owner worker {owner}) on LAN "
                          f"RX queue {r} -> SNAT to 100.64.0.7:{ext} by worker {owner}",
                          [(LAN, lan_in(u), r)],
                          [gw_encap(translated(u, src=TUN_ADDR, sport=ext), owner, "UDP frame")],
                          {}))
        # what Host A received from Host B (through the tunnel) and refuses
        got = IP(src=HOST_B, dst=HOST_A, ttl=59, id=0x8900 + owner) / \
            UDP(sport=5353, dport=sport) / Raw(b"unwanted %d" % owner)
        err = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x2600 + owner) / ICMP(type=3, code=3) / \
            Raw(bytes(got))
        err_out = IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=0x2600 + owner) / \
            ICMP(type=3, code=3) / Raw(translated(got, dst=TUN_ADDR, dport=ext, ttl_dec=0))
        n = ho.add(r, owner)
        cases.append(Case(f"mw-gw-icmp-in: ICMP port unreachable from Host A quoting "
                          f"198.51.100.2:5353 -> 192.168.10.2:{sport}, on LAN RX queue {r} -> "
                          f"handled by worker {owner} (the flow's owner; the error's own hash "
                          f"says worker {err_owner}), quote to 100.64.0.7:{ext}, tunnel frame "
                          f"stream {owner}",
                          [(LAN, lan_in(err), r)],
                          [gw_encap(bytes(err_out), owner, "ICMP error frame")],
                          {}))
    n = sum(ho.sent)
    cases.append(Case(f"mw-gw-icmp-in: counters: encapsulated 4, nat_in2out 4, handoffs {n}", [],
                      [], {"encapsulated": 4, "nat_in2out": 4, "handoff_sent": n,
                           "handoff_received": n}))
    return Scenario("mw-gw-icmp-in", "gateway", mw_gateway_config(), cases, tunnel_ports=(PATH,),
                    workers=WORKERS, rx_queues=2,
                    extra_checks=[("mw-gw-icmp-in: per-worker handoffs (telemetry)", ho.check)])


def scenario_srv_inside_icmp_error():
    """The server's side of the same: an ICMP error out of the tunnel (the gateway's inside)
    quoting a packet the server delivered to 100.64.0.7:port."""
    cases = []
    ho = Handoffs()
    pools = Pools(forwards={("tcp", 8080)})
    err_owner = inside_owner(TUN_ADDR, "icmp", 0)
    cases.append(announce_srv("mw-srv-icmp-in", []))
    k = 0
    for owner, sport in _inside_error_flows(TUN_ADDR):
        ext = pools.alloc(owner, "udp", sport)
        u = IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=0x2500 + owner) / \
            UDP(sport=sport, dport=5353) / Raw(b"q%d" % owner)
        n = ho.add(0, owner)
        cases.append(Case(f"mw-srv-icmp-in: tunnel UDP 100.64.0.7:{sport} (owner worker {owner}) "
                          f"on t0 RX queue 0 -> SNAT to 198.51.100.1:{ext} by worker {owner}",
                          [(TUN, from_gateway(bytes(u), mpf_header(T_DATA, epoch=GW_SESSION.epoch,
                                                                   sseq=k, pseq=k)), 0, 1)],
                          [wan_exp(translated(u, src=SRV_PUB, sport=ext), owner, "UDP on WAN")],
                          {}))
        k += 1
        got = IP(src=HOST_B, dst=TUN_ADDR, ttl=62, id=0x8900 + owner) / \
            UDP(sport=5353, dport=sport) / Raw(b"unwanted %d" % owner)
        err = IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=0x2600 + owner) / ICMP(type=3, code=3) / \
            Raw(bytes(got))
        err_out = IP(src=SRV_PUB, dst=HOST_B, ttl=62, id=0x2600 + owner) / \
            ICMP(type=3, code=3) / Raw(translated(got, dst=SRV_PUB, dport=ext, ttl_dec=0))
        n = ho.add(0, owner)
        cases.append(Case(f"mw-srv-icmp-in: ICMP port unreachable out of the tunnel quoting "
                          f"198.51.100.2:5353 -> 100.64.0.7:{sport} -> handled by worker {owner} "
                          f"(the flow's owner; the error's own hash says worker {err_owner}), "
                          f"out on the WAN from 198.51.100.1, quote to :{ext}",
                          [(TUN, from_gateway(bytes(err), mpf_header(T_DATA,
                                                                     epoch=GW_SESSION.epoch,
                                                                     sseq=k, pseq=k)), 0, 1)],
                          [wan_exp(bytes(err_out), owner, "ICMP error on WAN")],
                          {}))
        k += 1
    n = sum(ho.sent)
    cases.append(Case(f"mw-srv-icmp-in: counters: decapsulated 4, nat_in2out 4, handoffs {n}",
                      [], [], {"decapsulated": 4, "nat_in2out": 4, "handoff_sent": n,
                               "handoff_received": n}))
    return Scenario("mw-srv-icmp-in", "server", mw_server_config(), cases, workers=WORKERS,
                    rx_queues=2, fifos={(TUN, 0)}, stage_waits=[session_adopted()],
                    extra_checks=[("mw-srv-icmp-in: per-worker handoffs (telemetry)", ho.check)])


scenario_gw_inside_icmp_error.__doc__ %= inside_owner(HOST_A, "icmp", 0)

SCENARIOS = [scenario_gateway, scenario_gateway_many, scenario_ring_full, scenario_server,
             scenario_gw_inside_icmp_error, scenario_srv_inside_icmp_error]
