"""Wire format v3's compact inner header (docs/protocol.md 3.5, 4 and 8): which data
frames the dataplane sends compact and exactly what their 9 compact bytes are (gateway ->
server: the far address is the inner destination, the near one the source; server -> gateway:
the reverse), the inner_df flag, TOS/ECN, TTL and IP id end to end in both directions, packets
with IP options in full form, compact and full frames in restored exactly, the v3 sizes (inner
MTU 1447, 1436 for packets with options, MSS clamp 1407), redundant copies and retransmits that
keep the form, and malformed compact input (each dropped and counted with its reason).

The expected frames are built by frames.py (data_payload chooses the form), and every compact
frame the dataplane sends is also checked against the 9 bytes written out here by hand, so that
a mistake shared by frames.compact and the dataplane cannot pass.
"""
import socket
import struct

from scapy.layers.inet import IPOption_Router_Alert

from frames import *  # noqa: F401,F403
from harness import Case, Scenario, masked_equal
import frames as F
import gateway_cases as G
import multipath_cases as MP
import server_cases as S

LAN, PATH = 0, 1
WAN, TUN = 0, 1

# The literal v3 numbers (frames.py derives its constants; these say what they must be).
assert (F.VERSION, F.TAG_LEN, F.COMPACT_LEN) == (3, 12, 9)
assert (F.INNER_MTU, F.FULL_MTU, F.MSS_CLAMP) == (1447, 1436, 1407)
assert (F.F_COMPACT, F.F_INNER_DF) == (0x08, 0x10)


# ---- checks of the frames the dataplane sends ---------------------------------------------------

def compact_bytes(tos, ttl, proto, ident, far) -> bytes:
    """The 9 compact bytes, written out (docs/protocol.md 3.5): TOS, TTL, protocol, identification, far."""
    return bytes([tos, ttl, proto]) + struct.pack("!H", ident) + socket.inet_aton(far)


def is_compact(tos, ttl, proto, ident, far, df, inner_len):
    """A check of a tunnel data frame: compact (flag 0x08), inner_df (0x10) exactly when df, the
    payload starting with exactly these 9 bytes, and the frame inner_len + 53 + 14 bytes long
    (the compact overhead: the frame carries 11 bytes less than the inner packet's 20-byte
    header)."""
    want = compact_bytes(tos, ttl, proto, ident, far)

    def chk(f):
        errs = []
        form = f[F.MPF + 1] & (0x08 | 0x10)
        if form != (0x18 if df else 0x08):
            errs.append(f"flags {f[F.MPF + 1]:#04x}: form bits {form:#04x}, want "
                        f"{0x18 if df else 0x08:#04x} (compact{', inner_df' if df else ''})")
        got = f[F.BODY:F.BODY + 9]
        if got != want:
            errs.append(f"compact header {got.hex(' ')}, want {want.hex(' ')}")
        if len(f) != inner_len + 53 + 14:
            errs.append(f"frame of {len(f)} bytes, want {inner_len + 53 + 14} "
                        f"({inner_len}-byte inner packet + 53 + 14)")
        return "; ".join(errs) if errs else None
    return chk


def is_full(inner_len, ihl=None):
    """A check of a tunnel data frame: the inner packet whole (no compact, no inner_df flag),
    the frame inner_len + 64 + 14 bytes long, its IHL ihl (options kept)."""
    def chk(f):
        errs = []
        if f[F.MPF + 1] & 0x18:
            errs.append(f"flags {f[F.MPF + 1]:#04x}: compact/inner_df set on a full frame")
        if len(f) != inner_len + 64 + 14:
            errs.append(f"frame of {len(f)} bytes, want {inner_len + 64 + 14}")
        if ihl is not None and f[F.BODY] != 0x40 | ihl:
            errs.append(f"inner version/IHL {f[F.BODY]:#04x}, want {0x40 | ihl:#04x}")
        return "; ".join(errs) if errs else None
    return chk


def ip_is(tos, ttl, ident, df, l4=True):
    """A check of an Ethernet/IPv4 frame (an inner packet delivered out of the tunnel): TOS, TTL,
    id and the DF bit (and no other flag or offset) as given, the header checksum right, and
    (l4) the L4 checksum right (scapy recomputes it)."""
    def chk(f):
        ip = f[F.ETH:]
        errs = []
        frag = struct.unpack("!H", ip[6:8])[0]
        got = (ip[1], ip[8], struct.unpack("!H", ip[4:6])[0], frag)
        want = (tos, ttl, ident, 0x4000 if df else 0)
        if got != want:
            errs.append(f"(tos, ttl, id, flags/frag) {tuple(hex(x) for x in got)}, want "
                        f"{tuple(hex(x) for x in want)}")
        ihl = (ip[0] & 0x0F) * 4
        if ip_checksum(ip[:ihl]) != 0:
            errs.append("IPv4 header checksum wrong")
        if l4 and bytes(rebuilt(IP(ip))) != ip:
            errs.append("L4 checksum wrong")
        return "; ".join(errs) if errs else None
    return chk


def mss_is(mss, direction):
    """A check of a tunnel data frame carrying a SYN: its MSS option is mss."""
    def chk(f):
        opts = dict((k, v) for k, v in IP(inner_of(f, direction))[TCP].options)
        return None if opts.get("MSS") == mss else f"MSS {opts.get('MSS')}, want {mss}"
    return chk


def with_checks(exp: Exp, *checks) -> Exp:
    exp.verify = list(exp.verify) + list(checks)
    return exp


def ra():
    """An IP option (Router Alert, 4 bytes: IHL 6): a packet with it can only go whole."""
    return [IPOption_Router_Alert()]


# ---- gw-compact: the gateway's frames, and the server's compact and full frames in -------------

def scenario_gw_compact():
    cases = []
    tx = Numbering()                          # the gateway's worker 0
    srv = Numbering(epoch=SRV_SESSION.epoch)  # the server's worker 0
    srv_main = Numbering(MAIN_LCORE, SRV_SESSION.epoch)
    accepted = []

    def encap(inner, what, *checks):
        return with_checks(gw_encap_expected(inner, tx, what), *checks)

    # ---- LAN -> tunnel (gateway -> server: near = inner source = 100.64.0.7, far = dest) ----
    u = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x3C01, tos=0xB9) / UDP(sport=40600, dport=5353) / \
        Raw(b"compact-udp")
    uo = translated(u, src=TUN_ADDR)
    cases.append(Case("gw-compact: UDP from Host A, no DF, TOS 0xb9 (DSCP EF, ECN ECT(1)) -> "
                      "compact frame (flags 0x08, no inner_df), compact header b9 3f 11 3c 01 "
                      "c6 33 64 02 (TOS, TTL 63, UDP, id, far = the destination 198.51.100.2), "
                      "53 bytes of overhead",
                      [(LAN, lan_in(u))],
                      [encap(uo, "compact UDP frame",
                             is_compact(0xB9, 63, 17, 0x3C01, HOST_B, False, len(uo)),
                             lambda f: None if f[F.BODY:F.BODY + 9] == bytes.fromhex(
                                 "b93f113c01c6336402") else "compact bytes not b9 3f 11 3c 01 "
                             "c6 33 64 02")],
                      {"encapsulated": 1, "nat_in2out": 1}))

    syn = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x3C02, tos=0x02, flags="DF") / \
        TCP(sport=40601, dport=80, flags="S", seq=1000, window=64240, options=syn_options(1460))
    syn_o = translated(syn, src=TUN_ADDR, mss=1407)
    cases.append(Case("gw-compact: TCP SYN, DF, TOS 0x02 (ECT(0)), MSS 1460 -> compact frame "
                      "with inner_df (flags 0x18), TOS, TTL 63, id kept, MSS clamped to 1407 "
                      "(1500 - 53 - 40)",
                      [(LAN, lan_in(syn))],
                      [encap(syn_o, "compact SYN frame",
                             is_compact(0x02, 63, 6, 0x3C02, HOST_B, True, len(syn_o)),
                             mss_is(1407, GW_TO_SRV))],
                      {"encapsulated": 1, "nat_in2out": 1, "mss_clamped": 1}))

    ping = IP(src=HOST_A, dst=HOST_B, ttl=10, id=0x3C03, tos=0x00, flags="DF") / \
        ICMP(type=8, id=0x0C0C, seq=1) / Raw(b"compact-ping")
    ping_o = translated(ping, src=TUN_ADDR)
    cases.append(Case("gw-compact: ICMP echo, DF, TTL 10 -> compact frame, flags prompt + "
                      "compact + inner_df (0x1c), TTL 9 in the compact header",
                      [(LAN, lan_in(ping))],
                      [encap(ping_o, "compact echo frame",
                             is_compact(0x00, 9, 1, 0x3C03, HOST_B, True, len(ping_o)),
                             lambda f: None if f[F.MPF + 1] == 0x1C else
                             f"flags {f[F.MPF + 1]:#04x}, want 0x1c")],
                      {"encapsulated": 1, "nat_in2out": 1}))

    opt = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x3C04, tos=0x20, flags="DF", options=ra()) / \
        UDP(sport=40602, dport=5353) / Raw(b"with-options")
    opt_o = translated(opt, src=TUN_ADDR)
    assert opt_o[0] == 0x46
    cases.append(Case("gw-compact: UDP with an IP option (Router Alert, IHL 6), DF -> full "
                      "frame (no compact or inner_df flag), the inner packet whole with its "
                      "option, 64 bytes of overhead",
                      [(LAN, lan_in(opt))],
                      [encap(opt_o, "full frame (options)", is_full(len(opt_o), ihl=6))],
                      {"encapsulated": 1, "nat_in2out": 1}))

    # MTU (docs/protocol.md 8): 1447 for compactable packets, 1436 for packets with options.
    big = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x3C05, flags="DF") / \
        TCP(sport=40601, dport=80, flags="A", seq=1001, ack=1) / Raw(b"\xc1" * (1447 - 40))
    big_o = translated(big, src=TUN_ADDR)
    cases.append(Case("gw-compact: 1447-byte DF TCP segment (= the inner MTU) -> compact frame "
                      "of 1514 bytes (a 1500-byte outer packet)",
                      [(LAN, lan_in(big))],
                      [encap(big_o, "1447-byte TCP frame",
                             is_compact(0, 63, 6, 0x3C05, HOST_B, True, 1447),
                             lambda f: None if len(f) == 1514 else f"{len(f)} bytes")],
                      {"encapsulated": 1, "nat_in2out": 1}))
    over = []
    for i, (pkt, mtu) in enumerate([
            (IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x3C06, flags="DF") /
             TCP(sport=40601, dport=80, flags="A", seq=2448, ack=1) / Raw(b"\xc2" * (1448 - 40)),
             1447),
            (IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x3C07, flags="DF") /
             UDP(sport=40600, dport=5353) / Raw(b"\xc3" * (1448 - 28)), 1447),
            (IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x3C08, flags="DF", options=ra()) /
             UDP(sport=40602, dport=5353) / Raw(b"\xc4" * (1437 - 32)), 1436)]):
        assert len(bytes(pkt)) == (1448 if mtu == 1447 else 1437)
        over.append((pkt, mtu))
    cases.append(Case("gw-compact: 1448-byte DF TCP and UDP packets -> ICMP frag needed with "
                      "next-hop MTU 1447, nothing tunnelled",
                      [(LAN, lan_in(p)) for p, _ in over[:2]],
                      [Exp(LAN, lan_out(icmp_error(bytes(p), GW_LAN_IP, 3, 4, mtu)),
                           what=f"frag needed ({mtu})") for p, mtu in over[:2]],
                      {"drops.too_big": 2, "icmp_errors_sent": 2}))
    opt_ok = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x3C09, flags="DF", options=ra()) / \
        UDP(sport=40602, dport=5353) / Raw(b"\xc5" * (1436 - 32))
    opt_ok_o = translated(opt_ok, src=TUN_ADDR)
    cases.append(Case("gw-compact: 1436-byte DF UDP with an IP option (= link MTU - 64) -> full "
                      "frame of 1514 bytes",
                      [(LAN, lan_in(opt_ok))],
                      [encap(opt_ok_o, "1436-byte options frame", is_full(1436, ihl=6),
                             lambda f: None if len(f) == 1514 else f"{len(f)} bytes")],
                      {"encapsulated": 1, "nat_in2out": 1}))
    p, mtu = over[2]
    cases.append(Case("gw-compact: 1437-byte DF UDP with an IP option (too big for the full form, "
                      "though under 1447) -> ICMP frag needed with next-hop MTU 1436",
                      [(LAN, lan_in(p))],
                      [Exp(LAN, lan_out(icmp_error(bytes(p), GW_LAN_IP, 3, 4, 1436)),
                           what="frag needed (1436)")],
                      {"drops.too_big": 1, "icmp_errors_sent": 1}))
    nodf = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x3C0A, flags=0, options=ra()) / \
        UDP(sport=40602, dport=5353) / Raw(b"\xc6" * (1437 - 32))
    cases.append(Case("gw-compact: 1437-byte UDP with an IP option, no DF -> dropped too_big, "
                      "no ICMP",
                      [(LAN, lan_in(nodf))], [], {"drops.too_big": 1}))

    # ---- tunnel -> LAN (server -> gateway: near = inner destination, far = source) ----
    cases.append(G.announce_case("gw-compact", srv_main, accepted))

    def server_data(pkt, form):
        f = from_server(bytes(pkt), srv.hdr(bytes(pkt)), form=form)
        assert bool(f[F.MPF + 1] & F_COMPACT) == (form == "compact"), form
        accepted.append(outer_len(f))
        return f

    def to_a(pkt, what, *checks):
        return Exp(LAN, lan_out(IP(translated(pkt, dst=HOST_A))), what=what, verify=list(checks))

    rep = IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8C01, tos=0xB9, flags="DF") / \
        UDP(sport=5353, dport=40600) / Raw(b"compact-reply")
    rin = server_data(rep, "compact")
    cases.append(Case("gw-compact: compact data frame from the server (UDP reply, DF, TOS 0xb9, "
                      "TTL 60, id 0x8c01) -> restored (destination 100.64.0.7, DF, total length, "
                      "checksum) and delivered to Host A byte for byte as the original after NAT "
                      "(TOS, id, DF kept, TTL 59, checksums right)",
                      [(PATH, rin)],
                      [to_a(rep, "restored UDP reply", ip_is(0xB9, 59, 0x8C01, True))],
                      {"decapsulated": 1, "nat_out2in": 1}))
    # (its own id, so that each case's expected frame can only be its own input's)
    rep2 = rebuilt(rep.copy())
    rep2.id = 0x8C05
    rep2 = rebuilt(rep2)
    cases.append(Case("gw-compact: the same inner packet (but its id, 0x8c05) in a full frame -> "
                      "to Host A alike",
                      [(PATH, server_data(rep2, "full"))],
                      [to_a(rep2, "UDP reply (full frame)", ip_is(0xB9, 59, 0x8C05, True))],
                      {"decapsulated": 1, "nat_out2in": 1}))
    pf = IP(src=HOST_B, dst=TUN_ADDR, ttl=33, id=0x8C02, tos=0x03, flags=0) / \
        TCP(sport=50600, dport=8080, flags="S", seq=500, window=64240,
            options=syn_options(1380))
    cases.append(Case("gw-compact: compact frame without inner_df (TCP SYN to the port forward, "
                      "no DF, TOS 0x03 (ECN CE), TTL 33) -> restored without DF, to "
                      "192.168.10.2:8080 with TOS 0x03, TTL 32",
                      [(PATH, server_data(pf, "compact"))],
                      [to_a(pf, "restored SYN (no DF)", ip_is(0x03, 32, 0x8C02, False))],
                      {"decapsulated": 1, "nat_out2in": 1}))
    orep = IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8C03, flags="DF", options=ra()) / \
        UDP(sport=5353, dport=40602) / Raw(b"options-reply")
    cases.append(Case("gw-compact: full frame from the server carrying a packet with an IP "
                      "option -> delivered to Host A with its option",
                      [(PATH, server_data(orep, "full"))],
                      [to_a(orep, "UDP reply with options", ip_is(0, 59, 0x8C03, True),
                            lambda f: None if f[F.ETH] == 0x46 else "IHL not 6")],
                      {"decapsulated": 1, "nat_out2in": 1}))
    pong = IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8C04) / ICMP(type=0, id=0x0C0C, seq=1) / \
        Raw(b"compact-ping")
    cases.append(Case("gw-compact: compact frame carrying an echo reply -> Host A",
                      [(PATH, server_data(pong, "compact"))],
                      [to_a(pong, "echo reply", ip_is(0, 59, 0x8C04, False))],
                      {"decapsulated": 1, "nat_out2in": 1}))
    return Scenario("gw-compact", "gateway", G.gateway_config(), cases, tunnel_ports=(PATH,),
                    extra_checks=[("gw-compact: keepalive probes (rx counters of the server's "
                                   "compact and full frames)", G.probe_check(accepted))])


# ---- srv-compact: the server's frames, and the gateway's compact and full frames in ------------

def scenario_srv_compact():
    cases = []
    gw = Numbering(epoch=GW_SESSION.epoch)
    tx = Numbering()
    cases.append(S.announce_case("srv-compact", Numbering(MAIN_LCORE), [], ttl=64))

    def gw_data(pkt, form):
        f = from_gateway(bytes(pkt), gw.hdr(bytes(pkt)), form=form)
        assert bool(f[F.MPF + 1] & F_COMPACT) == (form == "compact"), form
        return f

    def to_wan(pkt, what, *checks):
        return Exp(WAN, wan_out(IP(translated(pkt, src=SRV_PUB))), what=what, verify=list(checks))

    u = IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=0x2C01, tos=0xB9, flags="DF") / \
        UDP(sport=40700, dport=5353) / Raw(b"compact-from-gw")
    cases.append(Case("srv-compact: compact data frame from the gateway (UDP, DF, TOS 0xb9, TTL "
                      "63, id 0x2c01) -> restored (source 100.64.0.7, the tunnel's address) and "
                      "out on the WAN as the original after SNAT (TOS, id, DF kept, TTL 62, "
                      "checksums right)",
                      [(TUN, gw_data(u, "compact"))],
                      [to_wan(u, "restored UDP", ip_is(0xB9, 62, 0x2C01, True))],
                      {"decapsulated": 1, "nat_in2out": 1}))
    u_full = rebuilt(u.copy())
    u_full.id = 0x2C05
    u_full = rebuilt(u_full)
    cases.append(Case("srv-compact: the same inner packet (but its id, 0x2c05) in a full frame "
                      "-> on the WAN alike",
                      [(TUN, gw_data(u_full, "full"))],
                      [to_wan(u_full, "UDP (full frame)", ip_is(0xB9, 62, 0x2C05, True))],
                      {"decapsulated": 1, "nat_in2out": 1}))
    u2 = IP(src=TUN_ADDR, dst=HOST_B, ttl=17, id=0x2C02, tos=0x03, flags=0) / \
        UDP(sport=40701, dport=5353) / Raw(b"no-df")
    cases.append(Case("srv-compact: compact frame without inner_df (no DF, TOS 0x03 (ECN CE), "
                      "TTL 17) -> on the WAN without DF, TOS 0x03, TTL 16",
                      [(TUN, gw_data(u2, "compact"))],
                      [to_wan(u2, "restored UDP (no DF)", ip_is(0x03, 16, 0x2C02, False))],
                      {"decapsulated": 1, "nat_in2out": 1}))
    uo = IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=0x2C03, flags="DF", options=ra()) / \
        UDP(sport=40702, dport=5353) / Raw(b"options-from-gw")
    cases.append(Case("srv-compact: full frame carrying a packet with an IP option -> on the WAN "
                      "with its option",
                      [(TUN, gw_data(uo, "full"))],
                      [to_wan(uo, "UDP with options", ip_is(0, 62, 0x2C03, True),
                              lambda f: None if f[F.ETH] == 0x46 else "IHL not 6")],
                      {"decapsulated": 1, "nat_in2out": 1}))
    cases.append(Case("srv-compact: filler frames (the path learned meanwhile) -> eth_not_for_us",
                      [(WAN, f) for f in filler(3000)], [], {"drops.eth_not_for_us": 3000}))

    # ---- WAN -> tunnel (server -> gateway: near = inner destination, far = source) ----
    def encap(inner, what, *checks):
        return with_checks(srv_encap_expected(inner, tx, what), *checks)

    rep = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x9C01, tos=0x2E, flags="DF") / \
        UDP(sport=5353, dport=40700) / Raw(b"compact-to-gw")
    rep_o = translated(rep, dst=TUN_ADDR)
    cases.append(Case("srv-compact: WAN UDP reply, DF, TOS 0x2e -> compact frame to the gateway "
                      "(flags 0x18), compact header 2e 3f 11 9c 01 c6 33 64 02 (far = the "
                      "source 198.51.100.2; the near destination 100.64.0.7 left out)",
                      [(WAN, wan_in(rep))],
                      [encap(rep_o, "compact reply frame",
                             is_compact(0x2E, 63, 17, 0x9C01, HOST_B, True, len(rep_o)),
                             lambda f: None if f[F.BODY:F.BODY + 9] == bytes.fromhex(
                                 "2e3f119c01c6336402") else "compact bytes not 2e 3f 11 9c 01 "
                             "c6 33 64 02")],
                      {"encapsulated": 1, "nat_out2in": 1}))
    sa = IP(src=HOST_B, dst=SRV_PUB, ttl=50, id=0x9C02, tos=0x01) / \
        TCP(sport=50700, dport=8080, flags="S", seq=600, window=64240, options=syn_options(1460))
    sa_o = translated(sa, dst=TUN_ADDR, mss=1407)
    cases.append(Case("srv-compact: WAN SYN to the port forward, no DF, TOS 0x01, TTL 50, MSS "
                      "1460 -> compact frame without inner_df (flags 0x08), TTL 49, MSS clamped "
                      "to 1407",
                      [(WAN, wan_in(sa))],
                      [encap(sa_o, "compact SYN frame",
                             is_compact(0x01, 49, 6, 0x9C02, HOST_B, False, len(sa_o)),
                             mss_is(1407, SRV_TO_GW))],
                      {"encapsulated": 1, "nat_out2in": 1, "mss_clamped": 1}))
    ro = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x9C03, flags="DF", options=ra()) / \
        UDP(sport=5353, dport=40700) / Raw(b"options-to-gw")
    ro_o = translated(ro, dst=TUN_ADDR)
    cases.append(Case("srv-compact: WAN UDP with an IP option -> full frame to the gateway (no "
                      "compact flag), the option kept",
                      [(WAN, wan_in(ro))],
                      [encap(ro_o, "full frame (options)", is_full(len(ro_o), ihl=6))],
                      {"encapsulated": 1, "nat_out2in": 1}))
    big = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x9C04, flags="DF") / \
        TCP(sport=50701, dport=8080, flags="A", seq=601, ack=1) / Raw(b"\xd1" * (1447 - 40))
    big_o = translated(big, dst=TUN_ADDR)
    cases.append(Case("srv-compact: WAN 1447-byte DF TCP segment to the port forward -> compact "
                      "frame of 1514 bytes",
                      [(WAN, wan_in(big))],
                      [encap(big_o, "1447-byte frame",
                             is_compact(0, 63, 6, 0x9C04, HOST_B, True, 1447))],
                      {"encapsulated": 1, "nat_out2in": 1}))
    o_ok = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x9C05, flags="DF", options=ra()) / \
        UDP(sport=5353, dport=40700) / Raw(b"\xd2" * (1436 - 32))
    o_ok_o = translated(o_ok, dst=TUN_ADDR)
    cases.append(Case("srv-compact: WAN 1436-byte DF UDP with an IP option -> full frame of 1514 "
                      "bytes",
                      [(WAN, wan_in(o_ok))],
                      [encap(o_ok_o, "1436-byte options frame", is_full(1436, ihl=6))],
                      {"encapsulated": 1, "nat_out2in": 1}))
    b1 = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x9C06, flags="DF") / \
        UDP(sport=5353, dport=40700) / Raw(b"\xd3" * (1448 - 28))
    b2 = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x9C07, flags="DF", options=ra()) / \
        UDP(sport=5353, dport=40700) / Raw(b"\xd4" * (1437 - 32))
    cases.append(Case("srv-compact: WAN 1448-byte DF UDP -> ICMP frag needed (MTU 1447); "
                      "1437-byte DF UDP with an IP option -> ICMP frag needed (MTU 1436)",
                      [(WAN, wan_in(b1)), (WAN, wan_in(b2))],
                      [Exp(WAN, wan_out(icmp_error(bytes(b1), SRV_PUB, 3, 4, 1447)),
                           what="frag needed (1447)"),
                       Exp(WAN, wan_out(icmp_error(bytes(b2), SRV_PUB, 3, 4, 1436)),
                           what="frag needed (1436)")],
                      {"drops.too_big": 2, "icmp_errors_sent": 2}))
    return Scenario("srv-compact", "server", S.server_config(), cases,
                    extra_checks=[("srv-compact: one epoch in the server's tunnel frames",
                                   S.epoch_check)])


# ---- gw-compact-resend: a retransmit keeps the form ----------------------------------------------

def scenario_gw_resend():
    """As gw-mp (multipath_cases): two frames go out before any path is up, the answer to probe
    1 brings the path up, and a loss report names both: each is resent with flag retransmit
    added to its form flags (compact; compact + inner_df), its payload byte for byte."""
    cases = []
    ps = MP.Passes()
    tx = Numbering()
    a = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x4C01, tos=0x48) / UDP(sport=40801, dport=5353) / \
        Raw(b"resend-a")
    b = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x4C02, tos=0x02, flags="DF") / \
        UDP(sport=40802, dport=5353) / Raw(b"resend-b")
    outs = [translated(p, src=TUN_ADDR) for p in (a, b)]
    nums = [tx.data(o) for o in outs]
    first = [gw_encap_expected(o, n, f"frame {x}") for o, n, x in zip(outs, nums, "ab")]
    cases.append(Case("gw-compact-resend: two UDP packets from Host A (one without DF, one with) "
                      "-> compact frames, path_seq 0 and 1",
                      ps.frames(LAN, [lan_in(p) for p in (a, b)]), first,
                      {"encapsulated": 2, "nat_in2out": 2, "sent_no_path_up": 2}))
    fill = ps.to_pass(PATH, 17)
    cases.append(Case("gw-compact-resend: probe_reply to probe 1 (pass 17) -> session adopted, "
                      "the path up",
                      fill + ps.frames(PATH, [MP.probe_reply_1()]), [],
                      {"probe_replies_received": 1, "peer_sessions": 1}))
    fill = ps.to_pass(PATH, 33)
    fb = MP.server_feedback([(0, 0, nums[0]["pseq"], 2)], pseq=0)
    again = [tx.resend(n["stream"], n["sseq"]) for n in nums]
    resent = [gw_encap_expected(o, n, f"resent frame {x}") for o, n, x in zip(outs, again, "ab")]

    def same_payload(orig):
        def chk(f):
            want = orig.data[F.BODY:-F.TAG_LEN]
            return None if f[F.BODY:-F.TAG_LEN] == want else "payload differs from the original"
        return chk
    with_checks(resent[0], lambda f: None if f[F.MPF + 1] == 0x0A else
                f"flags {f[F.MPF + 1]:#04x}, want 0x0a (retransmit + compact)",
                same_payload(first[0]))
    with_checks(resent[1], lambda f: None if f[F.MPF + 1] == 0x1A else
                f"flags {f[F.MPF + 1]:#04x}, want 0x1a (retransmit + compact + inner_df)",
                same_payload(first[1]))
    cases.append(Case("gw-compact-resend: feedback naming path_seq 0-1 -> both resent, flags "
                      "retransmit + compact (0x0a) and retransmit + compact + inner_df (0x1a), "
                      "the compact payload unchanged, path_seq 2 and 3",
                      fill + ps.frames(PATH, [fb]), resent,
                      {"feedback_received": 1, "retransmits": 2, "encapsulated": 2}))
    cases.append(Case(f"gw-compact-resend: {ps.fillers} filler frames -> eth_not_for_us", [], [],
                      {"drops.eth_not_for_us": ps.fillers}))
    return Scenario("gw-compact-resend", "gateway", MP.mp_gateway_config(), cases,
                    tunnel_ports=(PATH,))


# ---- srv-compact-redundant: a redundant copy keeps the form --------------------------------------

PATH1_IP = "10.6.0.2"   # where the gateway's path 1 reaches the server from


def scenario_srv_redundant():
    """multipath.mode = "redundant" (and dead_after_ms 10 s) on the server: with the gateway's
    paths 0 and 1 both up
    (probe 1 on path 0 in pass 1, adopted and answered after pass 16; a probe on path 1, from
    10.6.0.2, in pass 17, answered after pass 32), a packet for the gateway goes on both: one
    frame per path, the same stream and stream_seq, each path's path_seq 0, flag duplicate on
    one of them, and both compact, with inner_df, the payload the same."""
    cases = []
    ps = MP.Passes()
    main = Numbering(MAIN_LCORE)
    path0, path1 = [], []
    ph0, pr0 = S.probe(main, path_id=0, probe_seq=1, ts=0x0A000000)
    path0.append(outer_len(pr0))
    cases.append(Case("srv-compact-redundant: probe 1 on path 0 (pass 1), announcing the "
                      "gateway's session -> adopted, learned, probe_reply",
                      ps.frames(TUN, [pr0]), [S.probe_reply_expected(ph0, 1, path0, 0)],
                      {"probe_replies_sent": 1, "peer_sessions": 1},
                      checks=[S.new_session_logged(GW_SESSION)]))
    fill = ps.to_pass(TUN, 17)
    ph1, pr1 = S.probe(main, path_id=1, probe_seq=1, ts=0x0B000000, src_ip=PATH1_IP)
    path1.append(outer_len(pr1))
    route1 = (SRV_TUN_MAC, SRV_ROUTER_MAC, SRV_TUN_IP, PATH1_IP)
    cases.append(Case("srv-compact-redundant: probe 1 on path 1 from 10.6.0.2 (pass 17) -> "
                      "learned, probe_reply to 10.6.0.2",
                      fill + ps.frames(TUN, [pr1]),
                      [S.probe_reply_expected(ph1, 1, path1, 0, route=route1)],
                      {"probe_replies_sent": 1}))
    fill = ps.to_pass(WAN, 34)
    syn = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x9D01, tos=0xB8, flags="DF") / \
        TCP(sport=50800, dport=8080, flags="S", seq=700, window=64240, options=syn_options(1460))
    inner = translated(syn, dst=TUN_ADDR, mss=1407)
    stream = stream_of(inner, prompt=True)
    flags_byte = {F.MPF + 1}

    def copy(route, path_id, what):
        frame = tunnel_frame(*route, TUN_PORT, TUN_PORT,
                             data_body(inner, SRV_TO_GW, flags=F_PROMPT, path_id=path_id,
                                       stream=stream, sseq=0, pseq=0) + bytes(F.TAG_LEN))
        return Exp(TUN, frame, TUNNEL_MASK | flags_byte, what,
                   [outer_ip_checksum_ok,
                    lambda f: None if f[F.MPF + 1] & ~F_DUPLICATE == 0x1C else
                    f"flags {f[F.MPF + 1]:#04x}, want 0x1c (prompt + compact + inner_df), or "
                    f"0x1d with duplicate",
                    is_compact(0xB8, 63, 6, 0x9D01, HOST_B, True, len(inner))])
    route0 = (SRV_TUN_MAC, SRV_ROUTER_MAC, SRV_TUN_IP, GW_PATH_IP)
    e0 = copy(route0, 0, "frame on path 0 (10.5.0.2)")
    e1 = copy(route1, 1, "frame on path 1 (10.6.0.2)")

    def one_duplicate(res):
        got = [f[F.MPF + 1] for f in res.out.get(TUN, [])
               if masked_equal(e0, f) or masked_equal(e1, f)]
        dups = sum(1 for fl in got if fl & F_DUPLICATE)
        return None if len(got) == 2 and dups == 1 else \
            f"{len(got)} copies, {dups} flagged duplicate (want 2 and 1): flags " \
            f"{[hex(x) for x in got]}"
    cases.append(Case("srv-compact-redundant: WAN SYN to the port forward (DF, TOS 0xb8) with "
                      "both paths up -> one frame on each path, both compact with inner_df "
                      "(flags 0x1c, one of them 0x1d: duplicate), the same stream_seq and "
                      "payload; redundant_copies 1",
                      fill + ps.frames(WAN, [wan_in(syn)]), [e0, e1],
                      {"nat_out2in": 1, "encapsulated": 2, "redundant_copies": 1,
                       "mss_clamped": 1},
                      checks=[one_duplicate]))
    cases.append(Case(f"srv-compact-redundant: {ps.fillers} filler frames -> eth_not_for_us", [],
                      [], {"drops.eth_not_for_us": ps.fillers}))
    # dead_after_ms 10 s: neither path dies during the run (one that did would have its recent
    # frames resent on the other, a failover resend, at a time the pcap run cannot place).
    cfg = S.server_config(extra='multipath = { mode = "redundant"; dead_after_ms = 10000; };')
    return Scenario("srv-compact-redundant", "server", cfg, cases,
                    extra_checks=[("srv-compact-redundant: paths 0 and 1 learned",
                                   lambda r: None if r.counter("paths_learned") == 2 else
                                   f"paths_learned {r.counter('paths_learned')}, want 2"),
                                  ("srv-compact-redundant: no frame sent with no path up",
                                   lambda r: None if r.counter("sent_no_path_up") == 0 else
                                   f"sent_no_path_up {r.counter('sent_no_path_up')}")])


# ---- malformed compact input ---------------------------------------------------------------------

def _bad_cases(prefix, port, make, sess, near_is_dst, ctl):
    """The malformed-v3 cases for one role. make(payload, hdr, tag): a tunnel frame from the
    peer (payload and header as given: no form chosen); sess: the peer's session; near_is_dst:
    the frames go server -> gateway; ctl: (type, body, main-lcore?) of a control frame the
    receiver takes."""
    c = []
    direction = SRV_TO_GW if near_is_dst else GW_TO_SRV
    data_n = Numbering(5, sess.epoch)  # a sender worker of its own: no gap in anyone's path_seq

    def hdr(flags=0, **kw):
        n = data_n.data(stream=0x0500)
        a = dict(epoch=sess.epoch, flags=flags, stream=n["stream"], sseq=n["sseq"],
                 pseq=n["pseq"])
        a.update(kw)
        return mpf_header(T_DATA, **a)

    def case(name, frame, reason):
        c.append(Case(f"{prefix}: {name} -> {reason}", [(port, frame)], [],
                      {f"drops.{reason}": 1}))

    # Aimed at the port forward (gateway) or a new UDP flow (server): delivered, it would show.
    if near_is_dst:
        pkt = bytes(IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x7E01, flags="DF") /
                    TCP(sport=50900, dport=8080, flags="S", seq=1, window=1000))
    else:
        pkt = bytes(IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=0x7E01, flags="DF") /
                    UDP(sport=40900, dport=53) / Raw(b"bad"))
    cpay, cflags = compact(pkt, direction)
    assert cflags == F_COMPACT | F_INNER_DF

    case("compact data frame with an 8-byte payload (tag right)",
         make(cpay[:8], hdr(F_COMPACT), True), "tunnel_bad_inner")
    case("compact data frame with an empty payload (tag right)",
         make(b"", hdr(F_COMPACT), True), "tunnel_bad_inner")
    short_udp = compact_bytes(0, 60, 17, 1, HOST_B) + b"\x00\x35\x9c"  # 3 bytes of UDP header
    case("compact data frame whose restored packet has 3 bytes of UDP header (L4 too short)",
         make(short_udp, hdr(F_COMPACT), True), "tunnel_bad_inner")
    short_tcp = compact_bytes(0, 60, 6, 1, HOST_B) + bytes.fromhex("c5d41f90") + bytes(8)
    case("compact data frame whose restored packet has 12 bytes of TCP header",
         make(short_tcp, hdr(F_COMPACT | F_INNER_DF), True), "tunnel_bad_inner")
    case("data frame with inner_df (0x10) but not compact, the inner packet whole and valid",
         make(pkt, hdr(F_INNER_DF), True), "tunnel_bad_length")
    case("compact data frame with flag 0x20 set", make(cpay, hdr(cflags | 0x20), True),
         "tunnel_bad_length")
    ftype, body, main_lcore = ctl
    stream = MAIN_LCORE << 8 if main_lcore else 0
    case(f"{'probe' if ftype == T_PROBE else 'probe_reply' if ftype == T_PROBE_REPLY else 'x'} "
         f"(a valid body of the session in use) with flag compact",
         make(body, mpf_header(ftype, epoch=sess.epoch, flags=F_COMPACT, stream=stream,
                               pseq=1000), True), "tunnel_bad_length")
    case("feedback (a valid body) with flags compact + inner_df",
         make(feedback_body([(0, 0, 1, 1)]),
              mpf_header(T_FEEDBACK, epoch=sess.epoch, flags=F_COMPACT | F_INNER_DF, pseq=1000),
              True), "tunnel_bad_length")
    v2h = mpf_header(T_DATA, version=2, tag_len=16, epoch=sess.epoch, stream=0x0500, sseq=100,
                     pseq=100)
    case("v2 data frame (version 2, tag_len 16, the 16-byte tag under v2's key label, inner "
         "packet whole)", make(pkt, v2h, sess.seal_v2(v2h + pkt)[-16:]), "tunnel_bad_version")
    h16 = hdr(cflags, tag_len=16)
    case("v3 compact data frame with tag_len 16 and the whole 16-byte GCM tag (right)",
         make(cpay, h16, gcm_tag(sess.key, h16 + cpay)), "tunnel_bad_tag")
    hl = hdr(cflags)
    case("compact data frame whose 12-byte tag is the LAST 12 bytes of the GCM tag (not the "
         "first)", make(cpay, hl, gcm_tag(sess.key, hl + cpay)[4:]), "tunnel_bad_tag")
    hd = hdr(cflags)
    good = make(cpay, hd, True)
    case("compact data frame with its inner_df flag cleared after sealing (the tag covers the "
         "flags)", flip_bit(good, F.MPF + 1, 4), "tunnel_bad_tag")
    return c


def scenario_gw_bad():
    srv_main = Numbering(MAIN_LCORE, SRV_SESSION.epoch)
    c = [G.announce_case("gw-compact-bad", srv_main, every_run=True)]

    def make(payload, hdr, tag):
        return from_server(payload, hdr, tag=tag, form="full")
    reply = probe_reply_body(0, sess=SRV_SESSION)
    c += _bad_cases("gw-compact-bad", PATH, make, SRV_SESSION, True, (T_PROBE_REPLY, reply, True))
    return Scenario("gw-compact-bad", "gateway", G.gateway_config(), c, tunnel_ports=(PATH,),
                    independent=True)


def scenario_srv_bad():
    c = [S.announce_case("srv-compact-bad", Numbering(MAIN_LCORE), [], every_run=True)]

    def make(payload, hdr, tag):
        return from_gateway(payload, hdr, tag=tag, form="full")
    body = probe_body(2, sess=GW_SESSION)
    c += _bad_cases("srv-compact-bad", TUN, make, GW_SESSION, False, (T_PROBE, body, True))
    return Scenario("srv-compact-bad", "server", S.server_config(), c, independent=True)


SCENARIOS = [scenario_gw_compact, scenario_srv_compact, scenario_gw_resend,
             scenario_srv_redundant, scenario_gw_bad, scenario_srv_bad]
