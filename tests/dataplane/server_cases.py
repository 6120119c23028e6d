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
  {{ id = 7; address = "{TUN_ADDR}"; key = "{PSK_HEX}"; }}
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


# One lcore: see gateway_cases (the main lcore runs after every 16th pass of 32 frames a port).
ANNOUNCE_FRAMES = 16 * 32


def probe(main, path_id=0, probe_seq=1, ts=0, sess=GW_SESSION, rx_frames=0, rx_bytes=0,
          srtt_us=0, **kw):
    """(mpf header, frame) of a gateway's probe (protocol.md 3.1) announcing its session sess:
    path_seq the next of `main` (the gateway's main lcore numbering) on the path; kw:
    from_gateway's (addresses, TTL)."""
    hdr = probe_hdr(path_id, main.ctl(T_PROBE, path_id), ts, sess)
    return hdr, probe_in(hdr, probe_seq, rx_frames, rx_bytes, srtt_us, sess=sess, **kw)


def new_session_logged(sess, n=1):
    """A check: the server logged the adoption of the gateway's session sess, n times."""
    return F.new_session_logged(f"gateway {TUN_ID}", sess, n)


def announce_case(prefix, main, path_frames, sess=GW_SESSION, port=TUN, route=None,
                  every_run=False, count_fill=True, **kw):
    """The gateway's session announced: its probe 1 on path 0 (path_seq the next of `main`) as
    the FIRST frame of `port`, then filler frames, so that the port's next frame is read in
    pass 17, after the main lcore adopted the session (pass 16). The server answers it (the
    reply is checked as probe_reply_expected describes) and learns the path from it.
    path_frames: the outer lengths of what the server accepts on path 0 (the probe is the
    first). route, kw: see probe_reply_expected and from_gateway. count_fill=False: the
    fillers' eth_not_for_us drops are not counted here (the scenario counts them with others)."""
    ph, pr = probe(main, probe_seq=1, ts=0x01020304, sess=sess, **kw)
    path_frames.append(outer_len(pr))
    fill = filler(ANNOUNCE_FRAMES - 1)
    return Case(f"{prefix}: probe announcing the gateway's session (epoch {sess.epoch:#06x}, "
                f"56-byte body) first on the port, {len(fill)} filler frames behind it -> "
                f"adopted (peer_sessions 1, 'new session' logged), path learned, probe_reply "
                f"(44-byte body, stream 0xff00, path_seq 0)",
                [(port, pr)] + [(port, f) for f in fill],
                [probe_reply_expected(ph, 1, path_frames, len(path_frames) - 1, pseq=0,
                                      port=port, route=route)],
                dict({"peer_sessions": 1, "probe_replies_sent": 1},
                     **({"drops.eth_not_for_us": len(fill)} if count_fill else {})),
                checks=[new_session_logged(sess)], every_run=every_run)


def probe_reply_expected(probe_hdr: bytes, probe_seq: int, path_frames, index, ttl=64, pseq=0,
                         port=TUN, route=None, first_on_path=True, rx_check=True) -> Exp:
    """A probe_reply as protocol.md 3.2 describes it: on the path the probe came from (outer TTL
    64 from the server's port address), type 2, tunnel_id and path_id of the probe echoed,
    timestamp_us the probe's advanced by the time the server held it (under a second), the
    server's own epoch, stream 0xff00 (its main lcore), stream_seq 0, path_seq pseq (its reply
    counter on the path); the body (44 bytes) echoes probe_seq, carries the server's counters
    of what it accepted on that path from the gateway and ends with the server's session (salt,
    start_ms: random per start, masked; the harness checks them and the tag). path_frames: the
    outer IPv4 total lengths of those frames in input order, the probe the index-th of them:
    the counters must cover at least the frames up to the probe (it is counted before the main
    lcore answers it) and be a prefix of the list (rx_bytes their sum). route: (src MAC, dst
    MAC, src IP, dst IP) when not the t0 port's towards 10.5.0.2. queue_us is 0 for the first
    probe on a path; after it, it is the probe's one-way delay above the path's minimum, which
    the test's made-up timestamps cannot predict (first_on_path=False: masked). rx_check=False:
    the counters are masked only (the caller checks them with reply_rx_counters)."""
    h = F.parse_mpf(probe_hdr)
    hdr = mpf_header(T_PROBE_REPLY, tunnel_id=h["tunnel_id"], path_id=h["path_id"],
                     stream=MAIN_LCORE << 8, pseq=pseq, ts=h["ts"])
    if route is None:
        frame = srv_frame(hdr + probe_reply_body(probe_seq), ttl=ttl)
    else:
        frame = tunnel_frame(*route, TUN_PORT, TUN_PORT,
                             hdr + probe_reply_body(probe_seq) + bytes(F.TAG_LEN), ttl=ttl)
    counters = set(range(F.BODY + 4, F.BODY + 16)) | set(range(F.BODY + 20, F.BODY + 44))
    if not first_on_path:
        counters |= set(range(F.BODY + 16, F.BODY + 20))

    rx_counters = reply_rx_counters(path_frames, index)

    def echo_advanced(f):
        held = (struct.unpack("!I", f[F.MPF + 20:F.MPF + 24])[0] - h["ts"]) % (1 << 32)
        if held >= 1_000_000:
            return f"probe_reply timestamp_us: {held} us after the probe's, want under 1 s"
        return None
    return Exp(port, frame, frozenset(TUNNEL_MASK | counters), "probe_reply",
               [outer_ip_checksum_ok, echo_advanced] + ([rx_counters] if rx_check else []))


def reply_rx_counters(path_frames, index):
    """A check of a probe_reply frame: its rx counters are a prefix of path_frames (the outer
    lengths of what the server took on the path, in input order; complete once the scenario is
    built) of at least index + 1 frames, rx_bytes their sum."""
    def chk(f):
        prefix = [0]
        for n in path_frames:
            prefix.append(prefix[-1] + n)
        frames, nbytes = struct.unpack("!IQ", f[F.BODY + 4:F.BODY + 16])
        if not index < frames <= len(path_frames) or nbytes != prefix[frames]:
            return (f"probe_reply counters rx_frames {frames} rx_bytes {nbytes}: want a prefix "
                    f"of {path_frames} of at least {index + 1} frame(s) (sums {prefix})")
        return None
    return chk


def scenario_basic():
    cases = []
    gw = Numbering(epoch=GW_SESSION.epoch)  # the gateway's worker 0
    gw_main = Numbering(MAIN_LCORE, GW_SESSION.epoch)  # its probes
    path0, path1 = [], []         # outer lengths of what the server accepts per path

    def gw_data(pkt, **kw):
        f = from_gateway(bytes(pkt), gw.hdr(bytes(pkt)), **kw)
        path0.append(outer_len(f))
        return f

    # ---- from the gateway (t0) ----
    # (srtt 0 on both paths: equal delays, the server's frames take path 0, the first)
    cases.append(announce_case("srv", gw_main, path0, ttl=64))
    ph, p1 = probe(gw_main, probe_seq=2, ts=0x01020305, rx_frames=5, rx_bytes=700, ttl=64)
    path0.append(outer_len(p1))
    cases.append(Case("srv: probe 2 of the session in use (56-byte body, path_seq 1) -> "
                      "probe_reply to the sender: header echoed, 44-byte body (probe_seq "
                      "echoed, the server's rx counters of path 0), path_seq 1",
                      [(TUN, p1)],
                      [probe_reply_expected(ph, 2, path0, len(path0) - 1, pseq=1,
                                            first_on_path=False)],
                      {"probe_replies_sent": 1}))
    ph2, p2 = probe(gw_main, path_id=1, probe_seq=0x01020304, ts=0x0a0b0c0d, ttl=59)
    path1.append(outer_len(p2))
    cases.append(Case("srv: probe on path 1 that crossed routers (TTL 59) -> probe_reply with "
                      "outer TTL 64 (protocol.md 1.2), path 1's counters, path 1's path_seq 0",
                      [(TUN, p2)],
                      [probe_reply_expected(ph2, 0x01020304, path1, 0, pseq=0)],
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
    cases.append(Case("srv: tunnel data frame (ICMP echo, inner packet whole: not compact) -> "
                      "SNAT on the WAN",
                      [(TUN, gw_data(ping, form="full"))],
                      [Exp(WAN, wan_out(IP(translated(ping, src=SRV_PUB))), what="echo on WAN")],
                      {"decapsulated": 1, "nat_in2out": 1}))
    spoof = IP(src="100.64.0.99", dst=HOST_B, ttl=63, id=0x9001) / UDP(sport=1234, dport=53) / \
        Raw(b"relay?")
    # (numbered by someone else: the gateway's numbering has no gap)
    cases.append(Case("srv: inner source not the gateway's tunnel address -> dropped "
                      "tunnel_spoofed_inner (not an open relay)",
                      [(TUN, from_gateway(bytes(spoof),
                                          Numbering(7, GW_SESSION.epoch).hdr(bytes(spoof))))],
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
    cases.append(Case(f"srv: WAN 1460-byte DF packet -> ICMP frag needed (MTU {INNER_MTU})",
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
    cases.append(Case(f"srv: WAN SYN-ACK (MSS 1460) -> tunnel frame, MSS clamped to {MSS_CLAMP} "
                      f"(protocol.md 8: both directions)",
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
    cases.append(Case(f"srv: WAN SYN (MSS 1460) to port forward -> MSS clamped to {MSS_CLAMP} in "
                      f"the tunnel (protocol.md 8)",
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
    cases = [announce_case("srv-learn", Numbering(MAIN_LCORE), [])]
    udp = IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=0x2001) / UDP(sport=40001, dport=5353) / \
        Raw(b"mpf-udp")
    first = from_gateway(bytes(udp), Numbering(epoch=GW_SESSION.epoch).hdr(bytes(udp)))
    cases.append(Case("srv-learn: data frame from the gateway (10.5.0.2:4500) -> WAN",
                      [(TUN, first)],
                      [Exp(WAN, wan_out(IP(translated(udp, src=SRV_PUB))), what="UDP on WAN")],
                      {"decapsulated": 1, "nat_in2out": 1}))
    spoof = IP(src="100.64.0.99", dst=HOST_B, ttl=63, id=0x9001) / UDP(sport=1, dport=53) / \
        Raw(b"x")
    cases.append(Case("srv-learn: spoofed-inner frame from 203.0.113.66:6666 -> dropped",
                      [(TUN, from_gateway(bytes(spoof), mpf_header(T_DATA, epoch=GW_SESSION.epoch,
                                                                   sseq=1, pseq=1),
                                          src_ip="203.0.113.66", sport=6666))],
                      [], {"drops.tunnel_spoofed_inner": 1}))
    cases.append(Case("srv-learn: garbage-inner frame from 203.0.113.67:7777 -> dropped",
                      [(TUN, from_gateway(b"\x45" + b"\x00" * 30,
                                          mpf_header(T_DATA, epoch=GW_SESSION.epoch, sseq=2,
                                                     pseq=2),
                                          src_ip="203.0.113.67", sport=7777))],
                      [], {"drops.tunnel_bad_inner": 1}))
    # An authentic frame, replayed by someone else: its tag verifies, but it is not newer than
    # what the server verified on its stream. The reorder window finds it a duplicate.
    cases.append(Case("srv-learn: the first data frame replayed (same mpf header, payload and "
                      "tag) from 203.0.113.69:6969 -> dropped duplicate, not learned",
                      [(TUN, from_gateway(first[F.BODY:-F.TAG_LEN], first[F.MPF:F.BODY],
                                          tag=first[-F.TAG_LEN:],
                                          src_ip="203.0.113.69", sport=6969))],
                      [], {"decapsulated": 1, "drops.duplicate": 1}))
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
    via_wan = dict(src_mac=router_mac, dst_mac=SRV_WAN_MAC, src_ip=gw_ip, dst_ip=SRV_PUB)
    cases = [announce_case("srv-wanpath", Numbering(MAIN_LCORE), [], port=WAN,
                           route=(SRV_WAN_MAC, router_mac, SRV_PUB, gw_ip), **via_wan)]
    udp = IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=0x2001) / UDP(sport=40001, dport=5353) / \
        Raw(b"mpf-udp")
    cases.append(Case("srv-wanpath: tunnel frame arriving on the WAN port -> SNAT to Host B",
                      [(WAN, from_gateway(bytes(udp), ttl=64, ip_id=0, **via_wan))],
                      [Exp(WAN, wan_out(IP(translated(udp, src=SRV_PUB))), what="UDP on WAN")],
                      {"decapsulated": 1, "nat_in2out": 1}))
    cases.append(Case("srv-wanpath: filler frames -> eth_not_for_us",
                      [(WAN, f) for f in filler(3000)], [], {"drops.eth_not_for_us": 3000}))
    urep = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x8001) / UDP(sport=5353, dport=40001) / \
        Raw(b"mpf-udp-reply")
    inner = translated(urep, dst=TUN_ADDR)
    frame = tunnel_frame(SRV_WAN_MAC, router_mac, SRV_PUB, gw_ip, TUN_PORT, 4500,
                         data_body(inner, SRV_TO_GW, stream=stream_of(inner), sseq=0, pseq=0) +
                         bytes(F.TAG_LEN))
    cases.append(Case("srv-wanpath: WAN reply -> tunnel frame out of the WAN port from "
                      "198.51.100.1:4500 to the learned 203.0.113.5:4500",
                      [(WAN, wan_in(urep))],
                      [Exp(WAN, frame, TUNNEL_MASK, "reply frame", [outer_ip_checksum_ok])],
                      {"encapsulated": 1, "nat_out2in": 1}))
    return Scenario("srv-wanpath", "server", server_config(), cases)


SCENARIOS = [scenario_basic, scenario_learning, scenario_wan_path]
