"""Server scenarios: tunnel -> NAT -> WAN, WAN -> NAT -> tunnel (to the learned path), probes,
the appliance's own ICMP, anti-spoofing and address learning.

The gateway's frames (inputs) are numbered as the gateway's worker 0 numbers them, the server's
expected data frames in the order the server sends them (frames.Numbering)."""
import struct

from frames import *  # noqa: F401,F403
from harness import Case, Scenario
import frames as F

WAN, TUN = 0, 1


def server_config(extra=""):
    return f"""# written by tests/dataplane (based on configs/server.conf)
role = "server";
wan = {{ port = "net_pcap0"; address = "198.51.100.1/24"; }};
tunnel = {{
  port = 4500;
  ports = (
    {{ name = "t0"; port = "net_pcap1"; address = "10.99.0.1/24"; next_hop = "{SRV_ROUTER}"; }}
  );
}};
gateways = (
  {{ id = 7; address = "{TUN_ADDR}"; key = "change-me"; }}
);
nat = {{
  port_forwards = (
    {{ proto = "tcp"; port = 8080; to = "{TUN_ADDR}:8080"; }}
  );
}};
arp = (
  {{ address = "{HOST_B}"; mac = "{HOST_B_MAC}"; }},
  {{ address = "{SRV_ROUTER}"; mac = "{SRV_ROUTER_MAC}"; }}
);
control = {{ socket = "{{tmp}}/control.sock"; }};
{extra}
"""


def epoch_check(res):
    """One epoch in every tunnel frame the server sent."""
    epochs = {f[F.MPF + 8:F.MPF + 10] for f in res.out.get(TUN, [])
              if len(f) >= F.MPF + 24 and f[F.MPF] & 0x0F == T_DATA}
    return f"epochs differ: {sorted(e.hex() for e in epochs)}" if len(epochs) > 1 else None


def probe(path_id=0, probe_seq=1, ts=0, epoch=0xBEEF, rx_frames=0, rx_bytes=0, srtt_us=0):
    """(mpf header, body) of a gateway's probe (protocol.md 3.1)."""
    return (mpf_header(T_PROBE, path_id=path_id, epoch=epoch, ts=ts),
            probe_body(probe_seq, rx_frames, rx_bytes, srtt_us))


def probe_reply_expected(probe_hdr: bytes, probe_seq: int, path_frames, index, ttl=64) -> Exp:
    """A probe_reply as protocol.md 3.2 describes it: on the path the probe came from (outer TTL
    64 from the server's port address), type 2, tunnel_id and path_id of the probe echoed,
    timestamp_us the probe's advanced by the time the server held it (under a second), the
    server's own epoch, stream 0, seqs 0; the body echoes probe_seq and carries the
    server's counters of what it accepted on that path from the gateway. path_frames: the outer
    IPv4 total lengths of those frames in input order, the probe the index-th of them: the
    counters must cover at least the frames up to the probe (it is counted before the main
    lcore answers it) and be a prefix of the list (rx_bytes their sum)."""
    h = F.parse_mpf(probe_hdr)
    hdr = mpf_header(T_PROBE_REPLY, tunnel_id=h["tunnel_id"], path_id=h["path_id"],
                     ts=h["ts"])
    frame = srv_frame(hdr + probe_reply_body(probe_seq), ttl=ttl)
    counters = set(range(F.BODY + 4, F.BODY + 16))

    def rx_counters(f):  # path_frames is complete once the scenario is built
        prefix = [0]
        for n in path_frames:
            prefix.append(prefix[-1] + n)
        frames, nbytes = struct.unpack("!IQ", f[F.BODY + 4:F.BODY + 16])
        if not index < frames <= len(path_frames) or nbytes != prefix[frames]:
            return (f"probe_reply counters rx_frames {frames} rx_bytes {nbytes}: want a prefix "
                    f"of {path_frames} of at least {index + 1} frame(s) (sums {prefix})")
        return None

    def echo_advanced(f):
        held = (struct.unpack("!I", f[F.MPF + 20:F.MPF + 24])[0] - h["ts"]) % (1 << 32)
        if held >= 1_000_000:
            return f"probe_reply timestamp_us: {held} us after the probe's, want under 1 s"
        return None
    return Exp(TUN, frame, frozenset(OUTER_IP_ID | OUTER_IP_CSUM | MPF_EPOCH | MPF_TS | counters),
               "probe_reply", [outer_ip_checksum_ok, rx_counters, echo_advanced])


def scenario_basic():
    cases = []
    gw = Numbering(epoch=0xBEEF)  # the gateway's worker 0
    path0, path1 = [], []         # outer lengths of what the server accepts per path

    def gw_data(pkt, **kw):
        f = from_gateway(bytes(pkt), gw.hdr(bytes(pkt)), **kw)
        path0.append(outer_len(f))
        return f

    # ---- from the gateway (t0) ----
    # (srtt 0 on both paths: equal delays, the server's frames take path 0, the first)
    ph, pb = probe(probe_seq=1, ts=0x01020304, rx_frames=5, rx_bytes=700)
    p1 = from_gateway(pb, ph, ttl=64)
    path0.append(outer_len(p1))
    cases.append(Case("srv: probe (28-byte body) -> probe_reply to the sender: header echoed, "
                      "20-byte body (probe_seq echoed, the server's rx counters of path 0)",
                      [(TUN, p1)],
                      [probe_reply_expected(ph, 1, path0, 0)],
                      {"probe_replies_sent": 1}))
    ph2, pb2 = probe(path_id=1, probe_seq=0x01020304, ts=0x0a0b0c0d)
    p2 = from_gateway(pb2, ph2, ttl=59)
    path1.append(outer_len(p2))
    cases.append(Case("srv: probe on path 1 that crossed routers (TTL 59) -> probe_reply with "
                      "outer TTL 64 (protocol.md 1.2), path 1's counters",
                      [(TUN, p2)],
                      [probe_reply_expected(ph2, 0x01020304, path1, 0)],
                      {"probe_replies_sent": 1}))

    udp = IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=0x2001) / UDP(sport=40001, dport=5353) / \
        Raw(b"mpf-udp")
    cases.append(Case("srv: tunnel data frame (UDP) -> SNAT to 198.51.100.1 on the WAN",
                      [(TUN, gw_data(udp))],
                      [Exp(WAN, wan_out(IP(translated(udp, src=SRV_PUB))), what="UDP on WAN")],
                      {"decapsulated": 1, "nat_in2out": 1}))
    syn = IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=0x1001, flags="DF") / \
        TCP(sport=40000, dport=80, flags="S", seq=1000, window=64240,
            options=syn_options(MSS_CLAMP))
    cases.append(Case("srv: tunnel data frame (TCP SYN) -> SNAT on the WAN",
                      [(TUN, gw_data(syn))],
                      [Exp(WAN, wan_out(IP(translated(syn, src=SRV_PUB))), what="SYN on WAN")],
                      {"decapsulated": 1, "nat_in2out": 1}))
    ping = IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=0x3001, flags="DF") / \
        ICMP(type=8, id=4660, seq=1) / Raw(b"0123456789abcdef")
    cases.append(Case("srv: tunnel data frame (ICMP echo) -> SNAT on the WAN",
                      [(TUN, gw_data(ping))],
                      [Exp(WAN, wan_out(IP(translated(ping, src=SRV_PUB))), what="echo on WAN")],
                      {"decapsulated": 1, "nat_in2out": 1}))
    spoof = IP(src="100.64.0.99", dst=HOST_B, ttl=63, id=0x9001) / UDP(sport=1234, dport=53) / \
        Raw(b"relay?")
    # (numbered by someone else: the gateway's numbering has no gap)
    cases.append(Case("srv: inner source not the gateway's tunnel address -> dropped "
                      "tunnel_spoofed_inner (not an open relay)",
                      [(TUN, from_gateway(bytes(spoof), Numbering(7, 0xbeef).hdr(bytes(spoof))))],
                      [], {"drops.tunnel_spoofed_inner": 1}))

    techo = IP(src=GW_PATH_IP, dst=SRV_TUN_IP, ttl=61, id=0x0a0a) / ICMP(type=8, id=7, seq=7) / \
        Raw(b"t0-ping")
    trep = IP(src=SRV_TUN_IP, dst=GW_PATH_IP, ttl=64, id=0x0a0a) / ICMP(type=0, id=7, seq=7) / \
        Raw(b"t0-ping")
    cases.append(Case("srv: ICMP echo to the tunnel port address 10.99.0.1 -> echo reply",
                      [(TUN, pad60(bytes(Ether(dst=SRV_TUN_MAC, src=SRV_ROUTER_MAC) / techo)))],
                      [Exp(TUN, bytes(Ether(dst=SRV_ROUTER_MAC, src=SRV_TUN_MAC) / trep),
                           what="echo reply")],
                      {"echo_replies_sent": 1}))

    # ---- from the WAN ----
    echo = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x0101) / ICMP(type=8, id=0x0555, seq=9) / \
        Raw(b"ping-the-server")
    rep = IP(src=SRV_PUB, dst=HOST_B, ttl=64, id=0x0101) / ICMP(type=0, id=0x0555, seq=9) / \
        Raw(b"ping-the-server")
    cases.append(Case("srv: WAN ICMP echo to 198.51.100.1 -> echo reply",
                      [(WAN, wan_in(echo))], [Exp(WAN, wan_out(rep), what="echo reply")],
                      {"echo_replies_sent": 1}))
    ttl1 = IP(src=HOST_B, dst=SRV_PUB, ttl=1, id=0x0102) / UDP(sport=5353, dport=40001) / \
        Raw(b"ttl1")
    cases.append(Case("srv: WAN packet with TTL=1 -> ICMP time exceeded from 198.51.100.1",
                      [(WAN, wan_in(ttl1))],
                      [Exp(WAN, wan_out(icmp_error(bytes(ttl1), SRV_PUB, 11, 0)),
                           what="time exceeded")],
                      {"drops.ttl_exceeded": 1, "icmp_errors_sent": 1}))
    big = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x0103, flags="DF") / \
        UDP(sport=5353, dport=40001) / Raw(b"\x11" * (1460 - 28))
    cases.append(Case("srv: WAN 1460-byte DF packet -> ICMP frag needed (MTU 1448)",
                      [(WAN, wan_in(big))],
                      [Exp(WAN, wan_out(icmp_error(bytes(big), SRV_PUB, 3, 4, INNER_MTU)),
                           what="frag needed")],
                      {"drops.too_big": 1, "icmp_errors_sent": 1}))
    # The main lcore learns the gateway's path from the first frames; these frames (to a MAC
    # that is not ours) give it time before the replies below arrive.
    cases.append(Case("srv: filler frames for another MAC -> eth_not_for_us",
                      [(WAN, f) for f in filler(3000)], [], {"drops.eth_not_for_us": 3000}))

    tx = Numbering()  # the server's data frames, in WAN rx order (one worker)
    urep = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x8001) / UDP(sport=5353, dport=40001) / \
        Raw(b"mpf-udp-reply")
    cases.append(Case("srv: WAN reply (UDP) -> tunnel frame to the learned 10.5.0.2:4500",
                      [(WAN, wan_in(urep))],
                      [srv_encap_expected(translated(urep, dst=TUN_ADDR), tx,
                                          "UDP reply frame")],
                      {"encapsulated": 1, "nat_out2in": 1}))
    sa = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x8002, flags="DF") / \
        TCP(sport=80, dport=40000, flags="SA", seq=77, ack=1001, window=65160,
            options=syn_options(1460))
    cases.append(Case("srv: WAN SYN-ACK (MSS 1460) -> tunnel frame, MSS clamped to 1408 "
                      "(protocol.md 8: both directions)",
                      [(WAN, wan_in(sa))],
                      [srv_encap_expected(translated(sa, dst=TUN_ADDR, mss=MSS_CLAMP), tx,
                                          "SYN-ACK frame")],
                      {"encapsulated": 1, "nat_out2in": 1}))
    pong = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x8003) / ICMP(type=0, id=4660, seq=1) / \
        Raw(b"0123456789abcdef")
    cases.append(Case("srv: WAN echo reply -> tunnel frame",
                      [(WAN, wan_in(pong))],
                      [srv_encap_expected(translated(pong, dst=TUN_ADDR), tx,
                                          "echo reply frame")],
                      {"encapsulated": 1, "nat_out2in": 1}))
    pf = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x8004, flags="DF") / \
        TCP(sport=50000, dport=8080, flags="S", seq=500, window=64240, options=syn_options(1380))
    cases.append(Case("srv: WAN TCP to port forward 198.51.100.1:8080 -> tunnel frame to "
                      "100.64.0.7:8080",
                      [(WAN, wan_in(pf))],
                      [srv_encap_expected(translated(pf, dst=TUN_ADDR, dport=8080), tx,
                                          "forwarded SYN frame")],
                      {"encapsulated": 1, "nat_out2in": 1}))
    pf2 = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x8005, flags="DF") / \
        TCP(sport=50001, dport=8080, flags="S", seq=600, window=64240, options=syn_options(1460))
    cases.append(Case("srv: WAN SYN (MSS 1460) to port forward -> MSS clamped to 1408 in the "
                      "tunnel (protocol.md 8)",
                      [(WAN, wan_in(pf2))],
                      [srv_encap_expected(translated(pf2, dst=TUN_ADDR, mss=MSS_CLAMP),
                                          tx, "forwarded SYN frame")],
                      {"encapsulated": 1, "nat_out2in": 1}))

    q = IP(src=SRV_PUB, dst=HOST_B, ttl=62, id=0x2001) / UDP(sport=40001, dport=5353) / \
        Raw(b"mpf-udp")
    unreach = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x8006) / ICMP(type=3, code=3) / Raw(bytes(q))
    unreach_out = IP(src=HOST_B, dst=TUN_ADDR, ttl=63, id=0x8006) / ICMP(type=3, code=3) / \
        Raw(translated(q, src=TUN_ADDR, ttl_dec=0))
    cases.append(Case("srv: WAN ICMP port unreachable about the UDP flow -> tunnel frame, quote "
                      "translated to 100.64.0.7 (RFC 5508)",
                      [(WAN, wan_in(unreach))],
                      [srv_encap_expected(bytes(unreach_out), tx, "ICMP error frame")],
                      {"encapsulated": 1, "nat_out2in": 1}))

    return Scenario("srv-basic", "server", server_config(), cases,
                    extra_checks=[("srv-basic: gateway path learned once (paths 0 and 1)",
                                   lambda r: None if r.counter("paths_learned") == 2 else
                                   f"paths_learned = {r.counter('paths_learned')}, want 2"),
                                  ("srv-basic: one epoch in the server's tunnel frames",
                                   epoch_check)])


def scenario_learning():
    """Only frames that pass every receiver check teach an address (protocol.md 6, 7)."""
    cases = []
    udp = IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=0x2001) / UDP(sport=40001, dport=5353) / \
        Raw(b"mpf-udp")
    cases.append(Case("srv-learn: data frame from the gateway (10.5.0.2:4500) -> WAN",
                      [(TUN, from_gateway(bytes(udp), Numbering(epoch=0xbeef).hdr(bytes(udp))))],
                      [Exp(WAN, wan_out(IP(translated(udp, src=SRV_PUB))), what="UDP on WAN")],
                      {"decapsulated": 1, "nat_in2out": 1}))
    spoof = IP(src="100.64.0.99", dst=HOST_B, ttl=63, id=0x9001) / UDP(sport=1, dport=53) / \
        Raw(b"x")
    cases.append(Case("srv-learn: spoofed-inner frame from 203.0.113.66:6666 -> dropped",
                      [(TUN, from_gateway(bytes(spoof), mpf_header(T_DATA, epoch=0xbeef, sseq=1,
                                                                   pseq=1),
                                          src_ip="203.0.113.66", sport=6666))],
                      [], {"drops.tunnel_spoofed_inner": 1}))
    cases.append(Case("srv-learn: garbage-inner frame from 203.0.113.67:7777 -> dropped",
                      [(TUN, from_gateway(b"\x45" + b"\x00" * 30,
                                          mpf_header(T_DATA, epoch=0xbeef, sseq=2, pseq=2),
                                          src_ip="203.0.113.67", sport=7777))],
                      [], {"drops.tunnel_bad_inner": 1}))
    cases.append(Case("srv-learn: filler frames -> eth_not_for_us",
                      [(WAN, f) for f in filler(3000)], [], {"drops.eth_not_for_us": 3000}))
    urep = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x8001) / UDP(sport=5353, dport=40001) / \
        Raw(b"mpf-udp-reply")
    cases.append(Case("srv-learn: rejected frames do not move the path: WAN reply still goes to "
                      "10.5.0.2:4500",
                      [(WAN, wan_in(urep))],
                      [srv_encap_expected(translated(urep, dst=TUN_ADDR), Numbering(),
                                          "UDP reply frame")],
                      {"encapsulated": 1, "nat_out2in": 1},
                      checks=[lambda r: None if r.counter("paths_learned") == 1 else
                              f"paths_learned = {r.counter('paths_learned')}, want 1"]))
    return Scenario("srv-learn", "server", server_config(), cases)


def scenario_wan_path():
    """A gateway path that reaches the server on its WAN port (tunnel.port listens there too):
    learned with the WAN port, answered out of the WAN from the public address."""
    router_mac = "02:00:00:00:64:fe"
    gw_ip = "203.0.113.5"
    cases = []
    udp = IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=0x2001) / UDP(sport=40001, dport=5353) / \
        Raw(b"mpf-udp")
    cases.append(Case("srv-wanpath: tunnel frame arriving on the WAN port -> SNAT to Host B",
                      [(WAN, tunnel_frame(router_mac, SRV_WAN_MAC, gw_ip, SRV_PUB, 4500, 4500,
                                          mpf_header(T_DATA, epoch=0xbeef) + bytes(udp)))],
                      [Exp(WAN, wan_out(IP(translated(udp, src=SRV_PUB))), what="UDP on WAN")],
                      {"decapsulated": 1, "nat_in2out": 1}))
    cases.append(Case("srv-wanpath: filler frames -> eth_not_for_us",
                      [(WAN, f) for f in filler(3000)], [], {"drops.eth_not_for_us": 3000}))
    urep = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x8001) / UDP(sport=5353, dport=40001) / \
        Raw(b"mpf-udp-reply")
    inner = translated(urep, dst=TUN_ADDR)
    frame = tunnel_frame(SRV_WAN_MAC, router_mac, SRV_PUB, gw_ip, TUN_PORT, 4500,
                         mpf_header(T_DATA, stream=stream_of(inner), sseq=0, pseq=0) + inner)
    cases.append(Case("srv-wanpath: WAN reply -> tunnel frame out of the WAN port from "
                      "198.51.100.1:4500 to the learned 203.0.113.5:4500",
                      [(WAN, wan_in(urep))],
                      [Exp(WAN, frame, TUNNEL_MASK, "reply frame", [outer_ip_checksum_ok])],
                      {"encapsulated": 1, "nat_out2in": 1}))
    return Scenario("srv-wanpath", "server", server_config(), cases)


SCENARIOS = [scenario_basic, scenario_learning, scenario_wan_path]
