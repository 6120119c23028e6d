"""Gateway scenarios: LAN -> tunnel, tunnel -> LAN, the appliance's own ARP/ICMP, ARP resolution.

Data frames carry the multipath numbering (frames.Numbering): the gateway's expected frames are
numbered in the order the gateway sends them, the server's frames (inputs) as a server worker
would number them."""
import struct

from frames import *  # noqa: F401,F403
from harness import Case, Scenario, diff_text, masked_equal
import frames as F

LAN, PATH = 0, 1


def gateway_config(static_arp=True, extra=""):
    arp = ""
    if static_arp:
        arp = f"""arp = (
  {{ address = "{NH_5G}"; mac = "{NH_5G_MAC}"; }},
  {{ address = "{HOST_A}"; mac = "{HOST_A_MAC}"; }}
);"""
    return f"""# written by tests/dataplane (based on configs/gateway.conf)
role = "gateway";
lan = {{ port = "net_pcap0"; address = "192.168.10.1/24"; }};
tunnel = {{ id = 7; address = "{TUN_ADDR}"; server = "{SRV_TUN_IP}:4500"; port = 4500;
  key = "{PSK_HEX}"; }};
paths = (
  {{ name = "5g"; port = "net_pcap1"; address = "10.5.0.2/24"; next_hop = "{NH_5G}"; mtu = 1500; }}
);
nat = {{
  port_range = "1024-65535";
  max_sessions = 65536;
  timeouts = {{ tcp_established = 7440; tcp_transitory = 240; udp = 300; icmp = 60; }};
  port_forwards = (
    {{ proto = "tcp"; port = 8080; to = "192.168.10.2:8080"; }}
  );
}};
{arp}
dataplane = {{ burst = 32; idle_sleep_us = 0; mbufs = 16383; rx_desc = 1024; tx_desc = 1024; arp_hold = 16; icmp_errors_per_s = 100; }};
control = {{ socket = "{{tmp}}/control.sock"; }};
{extra}
"""


# One lcore: the passes read up to a burst (32) of each port; the main lcore runs after every
# 16th. A frame the main lcore must have handled before the next frame of its port is read (the
# announcement of the peer's session) is followed by this many frames of that port in all.
PASS_BURST = 32
MAIN_EVERY = 16
ANNOUNCE_FRAMES = MAIN_EVERY * PASS_BURST


def new_session_logged(sess, n=1):
    """A check: the gateway logged the adoption of the server's session sess, n times."""
    return F.new_session_logged(f"server of tunnel {TUN_ID}", sess, n)


def announce_case(prefix, main, accepted=None, sess=SRV_SESSION, port=1, every_run=False,
                  count_fill=True, behind=0):
    """The server's session announced: a probe_reply of sess (probe_seq 0: it answers none of
    the gateway's probes; path_seq the next of `main`, the server's main lcore numbering) as the
    FIRST frame of the path port (or behind `behind` frames of the first pass), then filler
    frames, so that the port's next frame is read in pass 17, after the main lcore adopted the
    session (pass 16). The server's frames after it also come after up to 16 bursts of LAN
    frames. accepted: the outer lengths of what the
    gateway accepts from the server (the reply is one). count_fill=False: the fillers'
    eth_not_for_us drops are not counted here (the scenario counts them with others)."""
    reply = probe_reply_in(0, pseq=main.ctl(T_PROBE_REPLY), sess=sess)
    if accepted is not None:
        accepted.append(outer_len(reply))
    assert behind < PASS_BURST
    fill = filler(ANNOUNCE_FRAMES - 1 - behind)
    return Case(f"{prefix}: probe_reply announcing the server's session (epoch {sess.epoch:#06x}, "
                f"44-byte body) {'first ' if not behind else ''}on the path, {len(fill)} filler "
                f"frames behind it -> "
                f"adopted by the main lcore (peer_sessions 1, 'new session' logged), taken as a "
                f"probe reply",
                [(port, reply)] + [(port, f) for f in fill], [],
                dict({"peer_sessions": 1, "probe_replies_received": 1},
                     **({"drops.eth_not_for_us": len(fill)} if count_fill else {})),
                checks=[new_session_logged(sess)], every_run=every_run)


def probe_check(accepted=(), srtt_us=0, ordered=True):
    """A check of the keepalive probes on the 5g path: at least one; each exactly as
    protocol.md 3.1 describes a probe (type 1, path 0, tunnel 7, stream 0xff00 (the main
    lcore), stream_seq 0, path_seq probe_seq - 1 (the main lcore's probe counter on the path),
    a 56-byte body with the gateway's session (one salt and start_ms in all; their tags
    are checked by the harness), queue_us 0, rttvar_us 0 while srtt_us is 0, interval_ms 25 (multipath.probe_interval_ms) from
    the first probe, 1000 (idle_probe_interval_ms) once the tunnel has been idle for
    idle_after_ms, and never 1000 before 25) with probe_seq 1, 2, ... in sending order; one
    epoch for everything the gateway sent. The body's counters: `accepted` are the outer IPv4
    total lengths of the frames the gateway accepts from the server on the path, in the order
    it takes them (one worker: input order); each probe reports a prefix of them (rx_frames
    frames, rx_bytes their sum), never going back, and the last one all of them (the run goes
    on for RUN_SECONDS after the input). srtt_us: what every probe reports (0: not measured).
    ordered=False (several workers take the frames, in no fixed order, and the probe sums their
    counters): the counters only never go back and end at the totals."""
    prefix = [0]
    for n in accepted:
        prefix.append(prefix[-1] + n)

    def chk(res):
        if not res.probes:
            return "no keepalive probe on the 5g path"
        errs = []
        last = (0, 0)
        for i, p in enumerate(res.probes):
            want = gw_probe_expected(i + 1)
            if not masked_equal(want, p):
                errs.append(f"probe #{i + 1}: {diff_text(want, p)}")
                continue
            if outer_ip_checksum_ok(p):
                errs.append(f"probe #{i + 1}: outer IPv4 checksum wrong")
            frames, nbytes, srtt = struct.unpack("!IQI", p[F.BODY + 4:F.BODY + 20])
            interval = struct.unpack("!I", p[F.BODY + 24:F.BODY + 28])[0]
            if interval not in (25, 1000) or (i == 0 and interval != 25):
                errs.append(f"probe #{i + 1}: interval_ms {interval}, want 25 (1000 once idle, "
                            f"never in the first probe)")
            if frames > len(accepted) or nbytes > prefix[-1] or \
                    (ordered and nbytes != prefix[frames]):
                errs.append(f"probe #{i + 1}: rx_frames {frames} rx_bytes {nbytes}: not the first "
                            f"frames of the {len(accepted)} accepted ({prefix})")
            elif frames < last[0] or nbytes < last[1]:
                errs.append(f"probe #{i + 1}: rx counters went back from {last} to "
                            f"{(frames, nbytes)}")
            last = (max(last[0], frames), max(last[1], nbytes))
            if srtt_us is not None and srtt != srtt_us:
                errs.append(f"probe #{i + 1}: srtt_us {srtt}, want {srtt_us}")
            rttvar = struct.unpack("!I", p[F.BODY + 52:F.BODY + 56])[0]
            if srtt == 0 and rttvar != 0:
                errs.append(f"probe #{i + 1}: rttvar_us {rttvar} with no RTT measured")
        if last != (len(accepted), prefix[-1]):
            errs.append(f"the last probe reports rx_frames/rx_bytes {last}, want "
                        f"{(len(accepted), prefix[-1])} (every accepted frame from the server)")
        epochs = {f[F.MPF + 8:F.MPF + 10] for f in res.probes + res.out.get(PATH, [])
                  if len(f) >= F.MPF + 24 and f[12:14] == b"\x08\x00" and f[F.ETH + 9] == 17}
        if len(epochs) > 1:
            errs.append(f"epochs differ between frames: {sorted(e.hex() for e in epochs)}")
        if same_session(res.probes, "the probes"):
            errs.append(same_session(res.probes, "the probes"))
        if len(errs) > 4:
            errs = errs[:4] + [f"... ({len(errs) - 4} more)"]
        return "; ".join(errs) if errs else None
    return chk


# ---- gw-basic: forwarding in both directions and the appliance's own answers ---------------------

def scenario_basic():
    cases = []
    tx = Numbering()  # the gateway's data frames, numbered in LAN rx order (one worker)

    # ARP
    req = bytes(Ether(dst=BCAST, src=HOST_A_MAC) /
                arp_pkt(1, HOST_A_MAC, HOST_A, "00:00:00:00:00:00", GW_LAN_IP))
    rep = bytes(Ether(dst=HOST_A_MAC, src=GW_LAN_MAC) /
                arp_pkt(2, GW_LAN_MAC, GW_LAN_IP, HOST_A_MAC, HOST_A))
    cases.append(Case("gw: ARP request for the LAN address -> ARP reply",
                      [(LAN, pad60(req))], [Exp(LAN, rep, what="ARP reply")],
                      {"arp_replies_sent": 1}))
    other = bytes(Ether(dst=BCAST, src=HOST_A_MAC) /
                  arp_pkt(1, HOST_A_MAC, HOST_A, "00:00:00:00:00:00", "192.168.10.77"))
    cases.append(Case("gw: ARP request for another address -> nothing, arp_not_for_us",
                      [(LAN, pad60(other))], [], {"drops.arp_not_for_us": 1}))

    # ICMP echo to the LAN address
    echo = IP(src=HOST_A, dst=GW_LAN_IP, ttl=64, id=0x0101, flags="DF") / \
        ICMP(type=8, id=0x0777, seq=3) / Raw(bytes(range(48)))
    reply = IP(src=GW_LAN_IP, dst=HOST_A, ttl=64, id=0x0101, flags="DF") / \
        ICMP(type=0, id=0x0777, seq=3) / Raw(bytes(range(48)))
    cases.append(Case("gw: ICMP echo to 192.168.10.1 -> echo reply",
                      [(LAN, lan_in(echo))], [Exp(LAN, lan_out(reply), what="echo reply")],
                      {"echo_replies_sent": 1}))

    # ICMP echo to the tunnel address (an appliance address too)
    echo_t = IP(src=HOST_A, dst=TUN_ADDR, ttl=64, id=0x0102) / ICMP(type=8, id=0x0778, seq=1) / \
        Raw(b"tunnel-address")
    reply_t = IP(src=TUN_ADDR, dst=HOST_A, ttl=64, id=0x0102) / ICMP(type=0, id=0x0778, seq=1) / \
        Raw(b"tunnel-address")
    cases.append(Case("gw: ICMP echo from Host A to the tunnel address 100.64.0.7 -> echo reply",
                      [(LAN, lan_in(echo_t))], [Exp(LAN, lan_out(reply_t), what="echo reply")],
                      {"echo_replies_sent": 1}))

    # TCP SYN Host A -> Host B: SNAT (port kept), MSS clamp, TTL-1, into the tunnel
    syn = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x1001, flags="DF") / \
        TCP(sport=40000, dport=80, flags="S", seq=1000, window=64240, options=syn_options(1460))
    syn_out = translated(syn, src=TUN_ADDR, mss=MSS_CLAMP)
    cases.append(Case(f"gw: TCP SYN from Host A -> tunnel frame (SNAT, MSS 1460->{MSS_CLAMP}, "
                      f"TTL-1)",
                      [(LAN, lan_in(syn))], [gw_encap_expected(syn_out, tx, "SYN frame")],
                      {"mss_clamped": 1, "encapsulated": 1, "nat_in2out": 1}))

    # SYN whose MSS option sits at an odd offset (after a NOP): clamp straddles checksum words
    syn2 = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x1002, flags="DF") / \
        TCP(sport=40002, dport=443, flags="S", seq=5, window=64240,
            options=[("NOP", None), ("MSS", 9000), ("NOP", None), ("NOP", None),
                     ("SAckOK", b""), ("NOP", None), ("WScale", 7)])
    syn2_out = translated(syn2, src=TUN_ADDR, mss=MSS_CLAMP)
    cases.append(Case("gw: TCP SYN with MSS at an odd option offset -> clamped, checksum right",
                      [(LAN, lan_in(syn2))], [gw_encap_expected(syn2_out, tx, "SYN frame")],
                      {"mss_clamped": 1, "encapsulated": 1, "nat_in2out": 1}))

    # SYN with MSS already small: untouched
    syn3 = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x1003, flags="DF") / \
        TCP(sport=40003, dport=443, flags="S", seq=7, window=64240, options=syn_options(1200))
    syn3_out = translated(syn3, src=TUN_ADDR)
    cases.append(Case("gw: TCP SYN with MSS 1200 -> MSS unchanged",
                      [(LAN, lan_in(syn3))], [gw_encap_expected(syn3_out, tx, "SYN frame")],
                      {"encapsulated": 1, "nat_in2out": 1}))

    # UDP (padded to 60 bytes on the LAN: the padding must not enter the tunnel)
    udp = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x2001) / UDP(sport=40001, dport=5353) / \
        Raw(b"mpf-udp")
    udp_out = translated(udp, src=TUN_ADDR)
    cases.append(Case("gw: UDP from Host A (Ethernet-padded) -> tunnel frame (SNAT, TTL-1)",
                      [(LAN, lan_in(udp))], [gw_encap_expected(udp_out, tx, "UDP frame")],
                      {"encapsulated": 1, "nat_in2out": 1}))

    # Endpoint-independent mapping (RFC 4787): same inside endpoint, another destination ->
    # the same external port.
    udp2 = IP(src=HOST_A, dst="198.51.100.3", ttl=64, id=0x2002) / \
        UDP(sport=40001, dport=5353) / Raw(b"mpf-udp-2")
    cases.append(Case("gw: UDP from the same inside port to another host -> same external port "
                      "(endpoint-independent mapping)",
                      [(LAN, lan_in(udp2))],
                      [gw_encap_expected(translated(udp2, src=TUN_ADDR), tx, "UDP frame")],
                      {"encapsulated": 1, "nat_in2out": 1}))
    # ICMP echo to Host B
    ping = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x3001, flags="DF") / \
        ICMP(type=8, id=4660, seq=1) / Raw(b"0123456789abcdef0123456789abcdef")
    ping_out = translated(ping, src=TUN_ADDR)
    cases.append(Case("gw: ICMP echo from Host A -> tunnel frame (SNAT, id kept, TTL-1)",
                      [(LAN, lan_in(ping))], [gw_encap_expected(ping_out, tx, "echo frame")],
                      {"encapsulated": 1, "nat_in2out": 1}))

    # exactly the inner MTU: fits
    big_ok = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x4001, flags="DF") / \
        UDP(sport=40004, dport=9) / Raw(b"\xab" * (INNER_MTU - 28))
    cases.append(Case(f"gw: {INNER_MTU}-byte DF packet (= inner MTU: {LINK_MTU} - "
                      f"{COMPACT_OVERHEAD} of outer IPv4, UDP, mpf header, tag, less the "
                      f"{COMPACT_SAVING} the compact inner header saves) -> compact tunnel "
                      f"frame of {ETH + LINK_MTU} bytes",
                      [(LAN, lan_in(big_ok))],
                      [gw_encap_expected(translated(big_ok, src=TUN_ADDR), tx, "MTU frame")],
                      {"encapsulated": 1, "nat_in2out": 1}))

    # TTL 1 -> time exceeded from 192.168.10.1
    ttl1 = IP(src=HOST_A, dst=HOST_B, ttl=1, id=0x5001) / UDP(sport=40005, dport=33434) / \
        Raw(b"traceroute")
    te = icmp_error(bytes(ttl1), GW_LAN_IP, 11, 0)
    cases.append(Case("gw: TTL=1 from Host A -> ICMP time exceeded from 192.168.10.1",
                      [(LAN, lan_in(ttl1))], [Exp(LAN, lan_out(te), what="time exceeded")],
                      {"drops.ttl_exceeded": 1, "icmp_errors_sent": 1}))

    # 1460-byte DF -> frag needed, MTU INNER_MTU (1447), nothing on the path
    big = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x6001, flags="DF") / \
        TCP(sport=40000, dport=80, flags="A", seq=1001, ack=1) / Raw(b"\xcd" * (1460 - 40))
    fn = icmp_error(bytes(big), GW_LAN_IP, 3, 4, INNER_MTU)
    cases.append(Case(f"gw: 1460-byte DF packet -> ICMP frag needed (MTU {INNER_MTU}), nothing "
                      f"tunnelled",
                      [(LAN, lan_in(big))], [Exp(LAN, lan_out(fn), what="frag needed")],
                      {"drops.too_big": 1, "icmp_errors_sent": 1}))
    # one byte over the inner MTU without DF: dropped (mpf does not fragment), no ICMP
    big_nodf = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x6002, flags=0) / \
        UDP(sport=40001, dport=5353) / Raw(b"\xce" * (INNER_MTU + 1 - 28))
    cases.append(Case(f"gw: {INNER_MTU + 1}-byte packet without DF -> dropped too_big, no ICMP",
                      [(LAN, lan_in(big_nodf))], [], {"drops.too_big": 1}))

    # Port forward, LAN side of an inbound connection: Host A's SYN-ACK from 8080 goes out as
    # 100.64.0.7:8080 (stateless forward), MSS clamped.
    pf_sa = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x7001, flags="DF") / \
        TCP(sport=8080, dport=50000, flags="SA", seq=9000, ack=501, window=65160,
            options=syn_options(1460))
    cases.append(Case("gw: port forward reply (SYN-ACK from 192.168.10.2:8080) -> tunnel from "
                      "100.64.0.7:8080, MSS clamped",
                      [(LAN, lan_in(pf_sa))],
                      [gw_encap_expected(translated(pf_sa, src=TUN_ADDR, mss=MSS_CLAMP),
                                         tx, "SYN-ACK frame")],
                      {"mss_clamped": 1, "encapsulated": 1, "nat_in2out": 1}))

    # ICMP error from Host A about an inbound port-forwarded packet (RFC 5508): the quoted
    # destination goes back to 100.64.0.7:8080, the error leaves from 100.64.0.7.
    quoted = IP(src=HOST_B, dst=HOST_A, ttl=58, id=0x8100, flags="DF") / \
        TCP(sport=50000, dport=8080, flags="S", seq=500, window=64240)
    err = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x7002) / ICMP(type=3, code=13) / \
        Raw(bytes(quoted))
    err_out = IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=0x7002) / ICMP(type=3, code=13) / \
        Raw(translated(quoted, dst=TUN_ADDR, ttl_dec=0))
    cases.append(Case("gw: ICMP error from Host A about a port-forwarded packet -> tunnel, "
                      "quote translated to 100.64.0.7:8080 (RFC 5508)",
                      [(LAN, lan_in(err))], [gw_encap_expected(bytes(err_out), tx,
                                                               "ICMP error frame")],
                      {"encapsulated": 1, "nat_in2out": 1}))

    # Another inside host with the same source port: it cannot keep 40001. Which port it gets
    # is the NAT's choice, and the stream follows from it (the hash covers the translated
    # packet): this case comes last of the gateway's data frames, so that no expected frame
    # depends on the stream it lands in.
    udp3 = IP(src="192.168.10.3", dst=HOST_B, ttl=64, id=0x2003) / \
        UDP(sport=40001, dport=5353) / Raw(b"mpf-udp-3")
    sseq_before = dict(tx.sseq)
    n3 = dict(path_id=0, stream=0, sseq=0, pseq=tx.take_pseq(), flags=0)
    e3 = gw_encap_expected(translated(udp3, src=TUN_ADDR), n3, "UDP frame (other host)")
    inner_sport = F.l4_offset(e3.data)  # the L4 header, after the compact inner header
    e3.mask = e3.mask | F.MPF_STREAM | F.MPF_SSEQ | {inner_sport, inner_sport + 1,
                                                     inner_sport + 6, inner_sport + 7}

    def other_port(frame, at=inner_sport):
        port = int.from_bytes(frame[at:at + 2], "big")
        if port == 40001 or not 1024 <= port <= 65535 or port == 8080:
            return f"external port {port}: taken, forwarded or out of range"
        h = F.mpf_fields(frame)
        stream = stream_of(F.inner_of(frame, GW_TO_SRV))
        if h["stream"] != stream or h["sseq"] != sseq_before.get(stream, 0):
            return (f"stream {h['stream']:#06x} stream_seq {h['sseq']}, want {stream:#06x} "
                    f"{sseq_before.get(stream, 0)} (hash of the translated packet)")
        return inner_checksums_ok(frame, GW_TO_SRV)
    e3.verify.append(other_port)
    cases.append(Case("gw: second inside host, same source port -> another external port in "
                      "1024-65535, checksums right, stream from the translated packet",
                      [(LAN, pad60(bytes(Ether(dst=GW_LAN_MAC, src="02:00:00:00:0a:03") /
                                         udp3)))], [e3],
                      {"encapsulated": 1, "nat_in2out": 1}))

    # ---- from the server (path port) ----
    # The server announces its session first (the gateway checks its frames only then). The
    # frames after it also need the NAT sessions the LAN frames above create: the worker reads
    # up to a burst (32) from each port per pass, LAN first, and the announcement's fillers put
    # the server's frames 16 passes behind the LAN frames (up to 512 of them).
    # The server's frames: numbered as the server's worker 0 numbers them (stream from the flow
    # hash, stream_seq per stream, path_seq per path). accepted: what the gateway counts as
    # received on the path (its probes report it).
    srv = Numbering(epoch=SRV_SESSION.epoch)
    srv_main = Numbering(MAIN_LCORE, SRV_SESSION.epoch)  # the server's probe replies
    accepted = []
    cases.append(announce_case("gw", srv_main, accepted))

    def server_data(pkt, form="auto"):
        """The server's data frame for pkt: compact (its inner packets to the tunnel address are
        compactable) unless form="full" (both are valid v3)."""
        f = from_server(bytes(pkt), srv.hdr(bytes(pkt)), form=form)
        accepted.append(outer_len(f))
        return f

    udp_rep = IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8001) / UDP(sport=5353, dport=40001) / \
        Raw(b"mpf-udp-reply")
    cases.append(Case("gw: tunnel data frame (UDP reply) -> decapsulated, reverse NAT to Host A",
                      [(PATH, server_data(udp_rep))],
                      [Exp(LAN, lan_out(IP(translated(udp_rep, dst=HOST_A))), what="UDP reply")],
                      {"decapsulated": 1, "nat_out2in": 1}))

    pong = IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8002) / ICMP(type=0, id=4660, seq=1) / \
        Raw(b"0123456789abcdef0123456789abcdef")
    cases.append(Case("gw: tunnel data frame (echo reply, inner packet whole: not compact) -> "
                      "Host A",
                      [(PATH, server_data(pong, form="full"))],
                      [Exp(LAN, lan_out(IP(translated(pong, dst=HOST_A))), what="echo reply")],
                      {"decapsulated": 1, "nat_out2in": 1}))

    synack = IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8003, flags="DF") / \
        TCP(sport=80, dport=40000, flags="SA", seq=77, ack=1001, window=65160,
            options=syn_options(1380))
    cases.append(Case("gw: tunnel data frame (SYN-ACK) -> Host A",
                      [(PATH, server_data(synack))],
                      [Exp(LAN, lan_out(IP(translated(synack, dst=HOST_A))), what="SYN-ACK")],
                      {"decapsulated": 1, "nat_out2in": 1}))

    pf = IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8004, flags="DF") / \
        TCP(sport=50000, dport=8080, flags="S", seq=500, window=64240, options=syn_options(1380))
    cases.append(Case("gw: inbound TCP to port forward 100.64.0.7:8080 -> 192.168.10.2:8080",
                      [(PATH, server_data(pf))],
                      [Exp(LAN, lan_out(IP(translated(pf, dst=HOST_A))), what="forwarded SYN")],
                      {"decapsulated": 1, "nat_out2in": 1}))

    # Endpoint-independent filtering for UDP (RFC 4787): another remote reaches the mapping.
    eif = IP(src="198.51.100.3", dst=TUN_ADDR, ttl=60, id=0x8005) / UDP(sport=9999, dport=40001) / \
        Raw(b"eif")
    cases.append(Case("gw: UDP from another remote to a live UDP mapping -> Host A "
                      "(endpoint-independent filtering)",
                      [(PATH, server_data(eif))],
                      [Exp(LAN, lan_out(IP(translated(eif, dst=HOST_A))), what="UDP")],
                      {"decapsulated": 1, "nat_out2in": 1}))
    # TCP is endpoint-dependent: a stranger cannot use Host A's TCP mapping.
    stranger = IP(src="198.51.100.9", dst=TUN_ADDR, ttl=60) / \
        TCP(sport=80, dport=40000, flags="SA", seq=1, ack=1001)
    cases.append(Case("gw: TCP from another remote to a live TCP mapping -> nat_no_session",
                      [(PATH, server_data(stranger))],
                      [], {"decapsulated": 1, "drops.nat_no_session": 1}))
    # ICMP port unreachable from Host B about the UDP flow (RFC 5508): outer destination and
    # the quoted source go back to 192.168.10.2:40001.
    q = IP(src=TUN_ADDR, dst=HOST_B, ttl=61, id=0x2001) / UDP(sport=40001, dport=5353) / \
        Raw(b"mpf-udp")
    unreach = IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8006) / ICMP(type=3, code=3) / Raw(bytes(q))
    unreach_out = IP(src=HOST_B, dst=HOST_A, ttl=59, id=0x8006) / ICMP(type=3, code=3) / \
        Raw(translated(q, src=HOST_A, ttl_dec=0))
    cases.append(Case("gw: ICMP port unreachable about the UDP flow -> Host A, quote translated "
                      "(RFC 5508)",
                      [(PATH, server_data(unreach))],
                      [Exp(LAN, lan_out(unreach_out), what="ICMP error")],
                      {"decapsulated": 1, "nat_out2in": 1}))

    # ICMP echo to the path address from the server side
    pecho = IP(src=SRV_TUN_IP, dst=GW_PATH_IP, ttl=62, id=0x0909) / ICMP(type=8, id=0x99, seq=2) / \
        Raw(b"path-ping")
    prep = IP(src=GW_PATH_IP, dst=SRV_TUN_IP, ttl=64, id=0x0909) / ICMP(type=0, id=0x99, seq=2) / \
        Raw(b"path-ping")
    cases.append(Case("gw: ICMP echo to the path address 10.5.0.2 -> echo reply on the path",
                      [(PATH, pad60(bytes(Ether(dst=GW_PATH_MAC, src=NH_5G_MAC) / pecho)))],
                      [Exp(PATH, bytes(Ether(dst=NH_5G_MAC, src=GW_PATH_MAC) / prep),
                           what="echo reply")],
                      {"echo_replies_sent": 1}))

    # A probe_reply from the server (protocol.md 3.2: main lcore, its next reply counter, a
    # 44-byte body naming the session in use) is consumed: counted, not a drop. Its timestamp
    # is no echo of ours: no RTT sample (the probes keep reporting srtt 0).
    reply = probe_reply_in(1, pseq=srv_main.ctl(T_PROBE_REPLY), ts=123, rx_frames=3,
                           rx_bytes=300)
    accepted.append(outer_len(reply))
    cases.append(Case("gw: probe_reply from the server (44-byte body, the session in use, "
                      "path_seq 1) -> consumed, counted, no new session",
                      [(PATH, reply)], [], {"probe_replies_received": 1}))

    return Scenario("gw-basic", "gateway", gateway_config(), cases, tunnel_ports=(PATH,),
                    extra_checks=[("gw-basic: keepalive probes on the path, per protocol.md 3.1 "
                                   "(probe_seq 1, 2, ...; rx counters of the server's frames)",
                                   probe_check(accepted))])


# ---- gw-arp: next hop and LAN host resolved with ARP ---------------------------------------------

def scenario_arp():
    cases = []
    accepted = []
    syn = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x1001, flags="DF") / \
        TCP(sport=40000, dport=80, flags="S", seq=1000, window=64240, options=syn_options(1460))
    areq = bytes(Ether(dst=BCAST, src=GW_PATH_MAC) /
                 arp_pkt(1, GW_PATH_MAC, GW_PATH_IP, "00:00:00:00:00:00", NH_5G))
    arep = bytes(Ether(dst=GW_PATH_MAC, src=NH_5G_MAC) /
                 arp_pkt(2, NH_5G_MAC, NH_5G, GW_PATH_MAC, GW_PATH_IP))
    held = gw_encap_expected(translated(syn, src=TUN_ADDR, mss=MSS_CLAMP), Numbering(),
                             "held SYN frame")

    def probe_first(res):
        """The server checks the gateway's frames only once a probe announced its session: the
        gateway probes as the next hop resolves, before the frames it held for it leave."""
        out = res.out.get(PATH, [])
        at = [i for i, f in enumerate(out) if masked_equal(held, f)]
        probes = [i for i, f in enumerate(out) if F.mpf_fields(f) and
                  F.mpf_fields(f)["type"] == T_PROBE and F.is_tunnel_out(f)]
        if not at or not probes:
            return None if not at else "no probe on the path"  # (a missing SYN is reported)
        return None if probes[0] < at[0] else (f"the first probe left at position {probes[0]} "
                                               f"on the path, after the held SYN ({at[0]})")
    cases.append(Case("gw-arp: SYN to an unresolved next hop -> ARP request on the path, "
                      "frame held; once the reply is in, a probe (announcing the gateway's "
                      "session), then the held frame",
                      [(LAN, lan_in(syn)), (PATH, pad60(arep))],
                      [Exp(PATH, areq, what="ARP request for 10.5.0.1"), held],
                      {"held": 1, "encapsulated": 1, "nat_in2out": 1, "mss_clamped": 1},
                      checks=[probe_first], arp_replies_in=1))
    # The server's session, behind the ARP reply (which must come in the first pass, with the
    # SYN: the probes would ask for 10.5.0.1 again).
    cases.append(announce_case("gw-arp", Numbering(MAIN_LCORE), accepted, behind=1))

    pf = IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8004, flags="DF") / \
        TCP(sport=50000, dport=8080, flags="S", seq=500, window=64240, options=syn_options(1380))
    lreq = bytes(Ether(dst=BCAST, src=GW_LAN_MAC) /
                 arp_pkt(1, GW_LAN_MAC, GW_LAN_IP, "00:00:00:00:00:00", HOST_A))
    lrep = bytes(Ether(dst=GW_LAN_MAC, src=HOST_A_MAC) /
                 arp_pkt(2, HOST_A_MAC, HOST_A, GW_LAN_MAC, GW_LAN_IP))
    # The fillers delay Host A's ARP reply until the main lcore has held the packet and asked.
    pf_frame = from_server(bytes(pf), Numbering(epoch=SRV_SESSION.epoch).hdr(bytes(pf)))
    accepted.append(outer_len(pf_frame))
    cases.append(Case("gw-arp: inbound packet for an unresolved LAN host -> ARP request on the "
                      "LAN, delivered after the reply",
                      [(PATH, pf_frame)] + [(LAN, f) for f in filler(3000)] +
                      [(LAN, pad60(lrep))],
                      [Exp(LAN, lreq, what="ARP request for 192.168.10.2"),
                       Exp(LAN, lan_out(IP(translated(pf, dst=HOST_A))), what="forwarded SYN")],
                      {"held": 1, "decapsulated": 1, "nat_out2in": 1, "arp_requests_sent": 2,
                       "drops.eth_not_for_us": 3000},
                      arp_replies_in=1))
    return Scenario("gw-arp", "gateway", gateway_config(static_arp=False), cases,
                    tunnel_ports=(PATH,),
                    extra_checks=[("gw-arp: keepalive probes once the next hop is resolved "
                                   "(probe_seq from 1)", probe_check(accepted))])


# ---- gw-icmp-rate: ICMP errors limited to dataplane.icmp_errors_per_s --------------------------

def scenario_icmp_rate():
    n, rate = 150, 100
    ins, outs = [], []
    for i in range(n):
        p = IP(src=HOST_A, dst=HOST_B, ttl=1, id=0x5000 + i) / UDP(sport=40100 + i, dport=33434)
        ins.append((LAN, lan_in(p)))
        if i < rate:
            outs.append(Exp(LAN, lan_out(icmp_error(bytes(p), GW_LAN_IP, 11, 0)),
                            what=f"time exceeded #{i + 1}"))
    cases = [Case(f"gw-icmp-rate: {n} TTL=1 packets in a burst -> {rate} time exceeded "
                  f"(icmp_errors_per_s = {rate}), {n - rate} rate-limited",
                  ins, outs, {"drops.ttl_exceeded": n, "icmp_errors_suppressed": n - rate,
                              "icmp_errors_sent": rate})]
    return Scenario("gw-icmp-rate", "gateway", gateway_config(), cases, tunnel_ports=(PATH,))


SCENARIOS = [scenario_basic, scenario_arp, scenario_icmp_rate]
