"""Malformed input: each frame dropped and counted with the right reason; random garbage that
must neither crash the dataplane nor get anything through."""
import random
import struct

from frames import *  # noqa: F401,F403
from harness import Case, Scenario
import frames as F
import gateway_cases as G
import server_cases as S

LAN, PATH = 0, 1
WAN, TUN = 0, 1


def _set_ip(frame: bytes, off: int, value: bytes, fix_csum=True) -> bytes:
    """Overwrites bytes of the IPv4 header of an Ethernet frame (offset from the IP header) and
    recomputes the header checksum unless told not to."""
    b = bytearray(frame)
    b[ETH + off:ETH + off + len(value)] = value
    if fix_csum:
        ihl = (b[ETH] & 0x0F) * 4
        ihl = max(ihl, 20)
        b[ETH + 10:ETH + 12] = b"\0\0"
        b[ETH + 10:ETH + 12] = struct.pack("!H", ip_checksum(bytes(b[ETH:ETH + ihl])))
    return bytes(b)


def _udp_a(**kw):
    d = dict(src=HOST_A, dst=HOST_B, ttl=64, id=0x2222)
    d.update(kw)
    return IP(**d) / UDP(sport=41000, dport=53) / Raw(b"query")


# ---- gateway ------------------------------------------------------------------------------------

def scenario_gw_malformed():
    # The tunnel frames that pass the header checks are authenticated with the server's session:
    # every run this scenario is split into starts with its announcement.
    c = [G.announce_case("gw-bad", Numbering(MAIN_LCORE), every_run=True)]
    srv_fb = Numbering(0, SRV_SESSION.epoch)  # the server's worker 0: its feedback frames

    def feedback(body):
        return from_server(body, mpf_header(T_FEEDBACK, epoch=SRV_SESSION.epoch,
                                            pseq=srv_fb.ctl(T_FEEDBACK)))

    def case(name, port, frame, reason):
        c.append(Case(name, [(port, frame)], [], {f"drops.{reason}": 1}))

    good = lan_in(_udp_a())
    case("gw-bad: frame shorter than 14 bytes -> eth_truncated", LAN, good[:10], "eth_truncated")
    case("gw-bad: IPv6 frame -> eth_unsupported", LAN,
         pad60(bytes(Ether(dst=GW_LAN_MAC, src=HOST_A_MAC, type=0x86DD)) +
               bytes.fromhex("6000000000083a40") + bytes(32) + bytes(8)), "eth_unsupported")
    c.append(Case("gw-bad: VLAN-tagged frame -> eth_unsupported",
                  [(LAN, pad60(bytes(Ether(dst=GW_LAN_MAC, src=HOST_A_MAC, type=0x8100)) +
                               b"\x00\x0a\x08\x00" + bytes(_udp_a())))], [],
                  {"drops.eth_unsupported": 1}))
    case("gw-bad: unicast frame for another MAC -> eth_not_for_us", LAN,
         pad60(bytes(Ether(dst=OTHER_MAC, src=HOST_A_MAC) / _udp_a())), "eth_not_for_us")
    case("gw-bad: IPv4 with a bad header checksum -> ipv4_bad_checksum", LAN,
         _set_ip(good, 10, b"\x12\x34", fix_csum=False), "ipv4_bad_checksum")
    case("gw-bad: IP version 6 in an IPv4 ethertype -> ipv4_bad_version", LAN,
         _set_ip(good, 0, b"\x65"), "ipv4_bad_version")
    case("gw-bad: IPv4 IHL 4 -> ipv4_bad_ihl", LAN, _set_ip(good, 0, b"\x44"), "ipv4_bad_ihl")
    case("gw-bad: IPv4 total length beyond the frame -> ipv4_truncated", LAN,
         _set_ip(good, 2, struct.pack("!H", 1000)), "ipv4_truncated")
    case("gw-bad: IPv4 total length below the header -> ipv4_bad_length", LAN,
         _set_ip(good, 2, struct.pack("!H", 16)), "ipv4_bad_length")
    case("gw-bad: IPv4 first fragment (MF) -> ipv4_fragment", LAN,
         lan_in(_udp_a(flags="MF")), "ipv4_fragment")
    c.append(Case("gw-bad: IPv4 later fragment (offset 185) -> ipv4_fragment",
                  [(LAN, lan_in(IP(src=HOST_A, dst=HOST_B, frag=185, proto=17) /
                                Raw(b"x" * 20)))], [], {"drops.ipv4_fragment": 1}))
    case("gw-bad: source 127.0.0.1 -> ipv4_bad_source", LAN, lan_in(_udp_a(src="127.0.0.1")),
         "ipv4_bad_source")
    c.append(Case("gw-bad: source = the gateway's own LAN address -> ipv4_bad_source",
                  [(LAN, lan_in(_udp_a(src=GW_LAN_IP)))], [], {"drops.ipv4_bad_source": 1}))
    tcp_short = bytes(IP(src=HOST_A, dst=HOST_B, ttl=64, proto=6) / Raw(b"\x9c\x40\x00\x50" +
                                                                     bytes(8)))
    case("gw-bad: TCP header truncated (12 bytes) -> l4_truncated", LAN, lan_in(tcp_short),
         "l4_truncated")
    doff = IP(src=HOST_A, dst=HOST_B, ttl=64) / TCP(sport=41001, dport=80, flags="S", dataofs=15)
    c.append(Case("gw-bad: TCP data offset beyond the packet -> l4_truncated",
                  [(LAN, lan_in(doff))], [], {"drops.l4_truncated": 1}))
    c.append(Case("gw-bad: UDP header truncated -> l4_truncated",
                  [(LAN, lan_in(IP(src=HOST_A, dst=HOST_B, proto=17) / Raw(b"\x01\x02\x03")))],
                  [], {"drops.l4_truncated": 1}))
    c.append(Case("gw-bad: ICMP header truncated -> l4_truncated",
                  [(LAN, lan_in(IP(src=HOST_A, dst=HOST_B, proto=1) / Raw(b"\x08\x00\x00")))],
                  [], {"drops.l4_truncated": 1}))
    case("gw-bad: GRE to the Internet -> l4_unsupported", LAN,
         lan_in(IP(src=HOST_A, dst=HOST_B, proto=47) / Raw(bytes(24))), "l4_unsupported")
    case("gw-bad: ICMP timestamp request to the Internet -> icmp_unsupported", LAN,
         lan_in(IP(src=HOST_A, dst=HOST_B) / ICMP(type=13)), "icmp_unsupported")
    case("gw-bad: TCP RST without a session -> nat_no_session", LAN,
         lan_in(IP(src=HOST_A, dst=HOST_B) / TCP(sport=41002, dport=80, flags="R")),
         "nat_no_session")
    case("gw-bad: multicast destination -> no_route", LAN,
         lan_in(_udp_a(dst="239.1.1.1")), "no_route")
    c.append(Case("gw-bad: on-link destination 192.168.10.3 -> no_route",
                  [(LAN, lan_in(_udp_a(dst="192.168.10.3")))], [], {"drops.no_route": 1}))
    case("gw-bad: limited broadcast 255.255.255.255 from Host A -> no_route", LAN,
         pad60(bytes(Ether(dst=BCAST, src=HOST_A_MAC) / _udp_a(dst="255.255.255.255"))),
         "no_route")
    case("gw-bad: DHCP discover (0.0.0.0 -> 255.255.255.255) -> ipv4_bad_source", LAN,
         pad60(bytes(Ether(dst=BCAST, src=HOST_A_MAC) /
                     IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67) /
                     Raw(bytes(240)))), "ipv4_bad_source")
    case("gw-bad: directed broadcast 192.168.10.255 -> no_route", LAN,
         lan_in(_udp_a(dst="192.168.10.255")), "no_route")
    case("gw-bad: ARP with hlen 8 -> arp_malformed", LAN,
         pad60(bytes(Ether(dst=BCAST, src=HOST_A_MAC, type=0x0806)) +
               bytes.fromhex("0001080008040001") + bytes(8) + bytes([192, 168, 10, 2]) +
               bytes(8) + bytes([192, 168, 10, 1])), "arp_malformed")
    case("gw-bad: UDP to the gateway's LAN address -> local_unhandled", LAN,
         lan_in(_udp_a(dst=GW_LAN_IP)), "local_unhandled")

    # ---- tunnel frames from the server on the 5g path ----
    inner = bytes(IP(src=HOST_B, dst=TUN_ADDR, ttl=60) / UDP(sport=53, dport=41000) / Raw(b"a"))
    case("gw-bad: tunnel frame with unknown tunnel id 8 -> tunnel_unknown_id", PATH,
         from_server(inner, mpf_header(T_DATA, tunnel_id=8)), "tunnel_unknown_id")
    case("gw-bad: v1 tunnel frame (version 1, tag_len 0, no tag) -> tunnel_bad_version", PATH,
         from_server(inner, mpf_header(T_DATA, version=1, tag_len=0, epoch=SRV_SESSION.epoch),
                     tag=False), "tunnel_bad_version")
    case("gw-bad: tunnel frame with version 4 (a later one) -> tunnel_bad_version", PATH,
         from_server(inner, mpf_header(T_DATA, version=4, epoch=SRV_SESSION.epoch)),
         "tunnel_bad_version")
    case("gw-bad: tunnel frame with type 7 -> tunnel_bad_type", PATH,
         from_server(inner, mpf_header(7)), "tunnel_bad_type")
    case("gw-bad: tunnel frame with a truncated mpf header (12 bytes) -> tunnel_truncated", PATH,
         from_server(b"", mpf_header(T_DATA)[:12], tag=False), "tunnel_truncated")
    case("gw-bad: tunnel frame with an unknown flag (0x20) -> tunnel_bad_length", PATH,
         from_server(inner, mpf_header(T_DATA, flags=0x20)), "tunnel_bad_length")
    c.append(Case("gw-bad: tunnel frame with tag_len beyond the frame -> tunnel_bad_length",
                  [(PATH, from_server(inner, mpf_header(T_DATA, tag_len=200)))], [],
                  {"drops.tunnel_bad_length": 1}))
    c.append(Case("gw-bad: tunnel frame whose UDP length exceeds the IP payload -> "
                  "tunnel_bad_length",
                  [(PATH, from_server(inner, udp_len=8 + 24 + len(inner) + F.TAG_LEN + 40))], [],
                  {"drops.tunnel_bad_length": 1}))
    case("gw-bad: tunnel frame with a garbage inner packet -> tunnel_bad_inner", PATH,
         from_server(b"\xde\xad\xbe\xef" * 8), "tunnel_bad_inner")
    c.append(Case("gw-bad: data frame with an empty payload -> tunnel_bad_inner",
                  [(PATH, from_server(b""))], [], {"drops.tunnel_bad_inner": 1}))
    c.append(Case("gw-bad: inner packet with a bad header checksum -> tunnel_bad_inner",
                  [(PATH, from_server(inner[:10] + b"\x00\x01" + inner[12:]))], [],
                  {"drops.tunnel_bad_inner": 1}))
    c.append(Case("gw-bad: inner fragment -> tunnel_bad_inner",
                  [(PATH, from_server(bytes(IP(src=HOST_B, dst=TUN_ADDR, flags="MF") /
                                            UDP(sport=53, dport=41000) / Raw(b"abc"))))], [],
                  {"drops.tunnel_bad_inner": 1}))
    # protocol.md 7.5: the inner total length must equal the payload length. Aimed at the port
    # forward, so that a frame let through would show on the LAN.
    pf = bytes(IP(src=HOST_B, dst=TUN_ADDR, ttl=60) / TCP(sport=50001, dport=8080, flags="S"))
    c.append(Case("gw-bad: inner total length shorter than the payload (4 trailing bytes) -> "
                  "tunnel_bad_inner (protocol.md 7.5)",
                  [(PATH, from_server(pf + b"JUNK"))], [], {"drops.tunnel_bad_inner": 1}))
    case("gw-bad: inner destination not the tunnel address -> tunnel_spoofed_inner", PATH,
         from_server(bytes(IP(src=HOST_B, dst=HOST_A, ttl=60) / UDP(sport=53, dport=41000))),
         "tunnel_spoofed_inner")
    case("gw-bad: inbound inner packet with TTL 1 (to the port forward) -> ttl_exceeded", PATH,
         from_server(bytes(IP(src=HOST_B, dst=TUN_ADDR, ttl=1) /
                           TCP(sport=50002, dport=8080, flags="S"))), "ttl_exceeded")
    c.append(Case("gw-bad: tunnel-looking frame from the server's address but port 4501 -> "
                  "local_unhandled",
                  [(PATH, from_server(inner, sport=4501))], [], {"drops.local_unhandled": 1}))
    c.append(Case("gw-bad: tunnel-looking frame to port 4501 -> local_unhandled",
                  [(PATH, from_server(inner, dport=4501))], [], {"drops.local_unhandled": 1}))
    case("gw-bad: tunnel frame to another IP address -> no_route", PATH,
         from_server(inner, dst_ip="10.5.0.9"), "no_route")
    # Multipath control frames and paths (protocol.md 3, 7).
    case("gw-bad: data frame for path 1 on path 0's port (the gateway has one path) -> "
         "tunnel_bad_path", PATH, from_server(inner, mpf_header(T_DATA, path_id=1)),
         "tunnel_bad_path")
    case("gw-bad: probe sent to the gateway (56-byte body) -> tunnel_bad_type", PATH,
         from_server(probe_body(1, sess=SRV_SESSION),
                     mpf_header(T_PROBE, epoch=SRV_SESSION.epoch, stream=MAIN_LCORE << 8)),
         "tunnel_bad_type")
    case("gw-bad: feedback with an empty body -> tunnel_bad_length", PATH,
         feedback(b""), "tunnel_bad_length")
    c.append(Case("gw-bad: feedback whose count (2) does not match its length (one entry) -> "
                  "tunnel_bad_length",
                  [(PATH, feedback(feedback_body([(0, 0, 1, 1)], count=2)))], [],
                  {"drops.tunnel_bad_length": 1}))
    case("gw-bad: feedback entry naming path 9 -> tunnel_bad_path", PATH,
         feedback(feedback_body([(0, 9, 1, 1)])), "tunnel_bad_path")
    case("gw-bad: feedback for sender worker 5 (the gateway has one) -> feedback_bad", PATH,
         feedback(feedback_body([(5, 0, 1, 1)])), "feedback_bad")
    # Frame authentication (the session is the announced one unless said otherwise).
    data = bytes(IP(src=HOST_B, dst=TUN_ADDR, ttl=60) / TCP(sport=50003, dport=8080, flags="S"))
    good = from_server(data)
    case("gw-bad: data frame with tag_len 0 and no tag (version 3) -> tunnel_bad_tag", PATH,
         from_server(data, mpf_header(T_DATA, tag_len=0, epoch=SRV_SESSION.epoch), tag=False),
         "tunnel_bad_tag")
    c.append(Case("gw-bad: data frame with tag_len 8 (a tag cut short, right in its first 8 "
                  "bytes) -> tunnel_bad_tag",
                  [(PATH, from_server(data, mpf_header(T_DATA, tag_len=8,
                                                       epoch=SRV_SESSION.epoch),
                                      tag=gmac(SRV_SESSION.key, mpf_header(
                                          T_DATA, tag_len=8, epoch=SRV_SESSION.epoch) +
                                          data)[:8], form="full"))], [],
                  {"drops.tunnel_bad_tag": 1}))
    c.append(Case("gw-bad: data frame (to the port forward) with the tag's last bit flipped -> "
                  "tunnel_bad_tag, nothing delivered",
                  [(PATH, flip_bit(good, -1))], [], {"drops.tunnel_bad_tag": 1}))
    c.append(Case("gw-bad: data frame with one bit of its inner packet flipped (the last byte "
                  "of the compact payload; the tag covers the payload) -> tunnel_bad_tag",
                  [(PATH, flip_bit(good, -F.TAG_LEN - 1, 3))], [], {"drops.tunnel_bad_tag": 1}))
    c.append(Case("gw-bad: data frame sent by lcore 8 (stream 0x0800: workers are 0..7) -> "
                  "tunnel_bad_tag",
                  [(PATH, from_server(data, mpf_header(T_DATA, epoch=SRV_SESSION.epoch,
                                                       stream=0x0800)))], [],
                  {"drops.tunnel_bad_tag": 1}))
    case("gw-bad: data frame of a session never announced (epoch 0x7777, its own salt) -> "
         "tunnel_unknown_session", PATH,
         from_server(data, sess=F.Session(S2G, b"never-announced!", 0x7777, START_MS)),
         "tunnel_unknown_session")
    c.append(Case("gw-bad: inner packet for a NAT port with no session -> nat_no_session",
                  [(PATH, from_server(bytes(IP(src=HOST_B, dst=TUN_ADDR, ttl=60) /
                                            UDP(sport=53, dport=41999) / Raw(b"?"))))], [],
                  {"drops.nat_no_session": 1}))
    return Scenario("gw-malformed", "gateway", G.gateway_config(), c, tunnel_ports=(PATH,),
                    independent=True)


# ---- server -----------------------------------------------------------------------------------

def scenario_srv_malformed():
    # The tunnel frames that pass the header checks are authenticated with the gateway's
    # session: every run this scenario is split into starts with its announcement.
    gw_main = Numbering(MAIN_LCORE)
    c = [S.announce_case("srv-bad", gw_main, [], every_run=True)]

    def case(name, port, frame, reason):
        c.append(Case(name, [(port, frame)], [], {f"drops.{reason}": 1}))

    inner = bytes(IP(src=TUN_ADDR, dst=HOST_B, ttl=63) / UDP(sport=41000, dport=53) /
                  Raw(b"q"))
    case("srv-bad: tunnel frame with unknown tunnel id 8 -> tunnel_unknown_id", TUN,
         from_gateway(inner, mpf_header(T_DATA, tunnel_id=8)), "tunnel_unknown_id")
    case("srv-bad: tunnel frame with version 4 (a later one) -> tunnel_bad_version", TUN,
         from_gateway(inner, mpf_header(T_DATA, version=4)), "tunnel_bad_version")
    case("srv-bad: tunnel frame with type 15 -> tunnel_bad_type", TUN,
         from_gateway(inner, mpf_header(15)), "tunnel_bad_type")
    case("srv-bad: tunnel frame with a truncated mpf header (23 bytes) -> tunnel_truncated", TUN,
         from_gateway(b"", mpf_header(T_DATA)[:23], tag=False), "tunnel_truncated")
    case("srv-bad: v1 tunnel frame (version 1, tag_len 0, no tag) -> tunnel_bad_version", TUN,
         from_gateway(inner, mpf_header(T_DATA, version=1, tag_len=0, epoch=GW_SESSION.epoch),
                      tag=False), "tunnel_bad_version")
    case("srv-bad: tunnel frame with unknown flags (0x80) -> tunnel_bad_length", TUN,
         from_gateway(inner, mpf_header(T_DATA, flags=0x80)), "tunnel_bad_length")
    case("srv-bad: tunnel frame with path_id 8 -> tunnel_bad_path", TUN,
         from_gateway(inner, mpf_header(T_DATA, path_id=8)), "tunnel_bad_path")
    case("srv-bad: probe_reply sent to the server -> tunnel_bad_type", TUN,
         from_gateway(probe_reply_body(1, sess=GW_SESSION),
                      mpf_header(T_PROBE_REPLY, epoch=GW_SESSION.epoch, stream=MAIN_LCORE << 8)),
         "tunnel_bad_type")
    case("srv-bad: probe with v1's 28-byte body (tag right) -> tunnel_bad_length, no reply", TUN,
         from_gateway(probe_body(1)[:28], probe_hdr(pseq=gw_main.ctl(T_PROBE))),
         "tunnel_bad_length")
    case("srv-bad: feedback for sender worker 2 (the server has one) -> feedback_bad", TUN,
         from_gateway(feedback_body([(2, 0, 1, 1)]),
                      mpf_header(T_FEEDBACK, epoch=GW_SESSION.epoch)), "feedback_bad")
    data = bytes(IP(src=TUN_ADDR, dst=HOST_B, ttl=63) / UDP(sport=41002, dport=53) / Raw(b"t"))
    c.append(Case("srv-bad: data frame with the tag's first bit flipped -> tunnel_bad_tag, "
                  "nothing on the WAN",
                  [(TUN, flip_bit(from_gateway(data), -F.TAG_LEN, 7))], [],
                  {"drops.tunnel_bad_tag": 1}))
    c.append(Case("srv-bad: data frame with tag_len 0 and no tag (version 3) -> tunnel_bad_tag",
                  [(TUN, from_gateway(data, mpf_header(T_DATA, tag_len=0,
                                                       epoch=GW_SESSION.epoch), tag=False))],
                  [], {"drops.tunnel_bad_tag": 1}))
    c.append(Case("srv-bad: data frame sealed with the server's direction label (\"mpf-v3 "
                  "s2g\": a reflected frame) -> tunnel_bad_tag",
                  [(TUN, from_gateway(data, sess=F.Session(S2G, GW_SESSION.salt,
                                                           GW_SESSION.epoch, START_MS)))],
                  [], {"drops.tunnel_bad_tag": 1}))
    case("srv-bad: data frame of a session never announced (epoch 0x7777) -> "
         "tunnel_unknown_session", TUN,
         from_gateway(data, sess=F.Session(G2S, b"never-announced!", 0x7777, START_MS)),
         "tunnel_unknown_session")
    case("srv-bad: tunnel frame with a garbage inner packet -> tunnel_bad_inner", TUN,
         from_gateway(bytes(range(40))), "tunnel_bad_inner")
    c.append(Case("srv-bad: data frame with an empty payload -> tunnel_bad_inner",
                  [(TUN, from_gateway(b""))], [], {"drops.tunnel_bad_inner": 1}))
    c.append(Case("srv-bad: inner total length shorter than the payload (4 trailing bytes) -> "
                  "tunnel_bad_inner (protocol.md 7.5)",
                  [(TUN, from_gateway(inner + b"JUNK"))], [], {"drops.tunnel_bad_inner": 1}))
    case("srv-bad: inner packet with TTL 1 -> ttl_exceeded", TUN,
         from_gateway(bytes(IP(src=TUN_ADDR, dst=HOST_B, ttl=1) / UDP(sport=41001, dport=53))),
         "ttl_exceeded")
    case("srv-bad: tunnel frame to another address on t0 -> no_route", TUN,
         from_gateway(inner, dst_ip="10.99.0.9"), "no_route")
    case("srv-bad: UDP to t0's address, not port 4500 -> local_unhandled", TUN,
         from_gateway(inner, dport=4501), "local_unhandled")
    case("srv-bad: frame shorter than 14 bytes on the WAN -> eth_truncated", WAN, b"\x01" * 13,
         "eth_truncated")
    case("srv-bad: IPv6 frame on the WAN -> eth_unsupported", WAN,
         pad60(bytes(Ether(dst=SRV_WAN_MAC, src=HOST_B_MAC, type=0x86DD)) + bytes(40)),
         "eth_unsupported")
    case("srv-bad: WAN UDP to a port with no session -> nat_no_session", WAN,
         wan_in(IP(src=HOST_B, dst=SRV_PUB) / UDP(sport=53, dport=41999) / Raw(b"?")),
         "nat_no_session")
    c.append(Case("srv-bad: WAN TCP SYN to a port that is not forwarded -> nat_no_session",
                  [(WAN, wan_in(IP(src=HOST_B, dst=SRV_PUB) / TCP(sport=50000, dport=22,
                                                                    flags="S")))], [],
                  {"drops.nat_no_session": 1}))
    c.append(Case("srv-bad: WAN packet for another address -> no_route",
                  [(WAN, wan_in(IP(src=HOST_B, dst="198.51.100.9") / UDP(sport=1, dport=2)))],
                  [], {"drops.no_route": 1}))
    case("srv-bad: WAN IPv4 with a bad checksum -> ipv4_bad_checksum", WAN,
         _set_ip(wan_in(IP(src=HOST_B, dst=SRV_PUB) / UDP(sport=1, dport=2)), 10, b"\xff\xff",
                 fix_csum=False), "ipv4_bad_checksum")
    case("srv-bad: WAN fragment -> ipv4_fragment", WAN,
         wan_in(IP(src=HOST_B, dst=SRV_PUB, flags="MF") / UDP(sport=1, dport=2)), "ipv4_fragment")
    return Scenario("srv-malformed", "server", S.server_config(), c, independent=True)


# ---- random garbage -------------------------------------------------------------------------------

def _valid_ipv4(b: bytes) -> bool:
    """What parse_ipv4 would accept (header-wise)."""
    if len(b) < 20 or b[0] >> 4 != 4 or (b[0] & 15) < 5:
        return False
    hl = (b[0] & 15) * 4
    tot = struct.unpack("!H", b[2:4])[0]
    if hl > len(b) or tot < hl or tot > len(b):
        return False
    return ip_checksum(b[:hl]) == 0 and not (struct.unpack("!H", b[6:8])[0] & 0x3FFF)


def garbage(rng: random.Random, n: int, port_mac: str, tunnel_src, tunnel_dst, sess):
    """n frames of seeded garbage, none of which is a valid packet:
    random bytes; our MAC + IPv4/ARP ethertype + random bytes; a valid outer IPv4/UDP tunnel
    header (from the peer, to our tunnel port) + random mpf header and payload; and the same
    with a plausible header (version 3, tunnel 7, type data) + random inner packet, of a random
    epoch with a random tag, or of the peer's session sess (announced) with a random tag, or
    sealed with it (the random inner packet reaches the inner checks)."""
    out = []
    while len(out) < n:
        kind = rng.randrange(5)
        ln = rng.randrange(1, 200)
        body = bytes(rng.getrandbits(8) for _ in range(ln))
        if kind == 0:
            f = body
            if len(f) >= 14 and f[12:14] == b"\x08\x00" and _valid_ipv4(f[14:]):
                continue
            if len(f) >= 22 and f[12:14] == b"\x08\x06" and f[14:20] == bytes.fromhex(
                    "000108000604"):
                continue
        elif kind == 1:
            f = F.pad60(bytes(Ether(dst=port_mac, src=OTHER_MAC, type=0x0800)) + body)
            if _valid_ipv4(f[ETH:]):
                continue
        elif kind == 2:
            f = F.pad60(bytes(Ether(dst=rng.choice([port_mac, BCAST]), src=OTHER_MAC,
                                    type=0x0806)) + body[:28])
            if f[14:22] == bytes.fromhex("0001080006040001") or \
               f[14:22] == bytes.fromhex("0001080006040002"):
                continue
        else:
            src_mac, src_ip, sport = tunnel_src
            dst_ip, dport = tunnel_dst
            if kind == 3:
                payload = body
                if len(payload) >= 24 and payload[0] >> 4 == VERSION and \
                        struct.unpack("!I", payload[4:8])[0] == TUN_ID:
                    continue
            else:
                how = rng.randrange(3)
                epoch = rng.getrandbits(16) if how == 0 else sess.epoch
                hdr = mpf_header(T_DATA, epoch=epoch, sseq=rng.getrandbits(32))
                tag = True if how == 2 else bytes(rng.getrandbits(8) for _ in range(TAG_LEN))
                payload = sealed(sess, hdr + body, tag)
                if _valid_ipv4(body):
                    continue
            f = tunnel_frame(src_mac, port_mac, src_ip, dst_ip, sport, dport, payload)
        out.append(f)
    return out


GARBAGE_REASONS = frozenset({
    "eth_truncated", "eth_unsupported", "eth_not_for_us", "arp_malformed", "arp_not_for_us",
    "ipv4_truncated", "ipv4_bad_version", "ipv4_bad_ihl", "ipv4_bad_checksum", "ipv4_bad_length",
    "ipv4_fragment", "ipv4_bad_source", "l4_truncated", "tunnel_truncated", "tunnel_bad_version",
    "tunnel_bad_type", "tunnel_bad_length", "tunnel_unknown_id", "tunnel_bad_inner",
    "tunnel_bad_tag", "tunnel_unknown_session", "slowpath_ring_full", "local_unhandled"})


def scenario_gw_garbage():
    rng = random.Random(0x6D7066)  # "mpf"
    lan = garbage(rng, 1000, GW_LAN_MAC, (NH_5G_MAC, SRV_TUN_IP, TUN_PORT), (GW_PATH_IP, 4500),
                  SRV_SESSION)
    path = garbage(rng, 1000, GW_PATH_MAC, (NH_5G_MAC, SRV_TUN_IP, TUN_PORT), (GW_PATH_IP, 4500),
                   SRV_SESSION)
    syn = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x1001, flags="DF") / \
        TCP(sport=40000, dport=80, flags="S", seq=1000, window=64240, options=syn_options(1460))
    # The server's session first (its fillers' drops are among the garbage's).
    announce = G.announce_case("gw-garbage", Numbering(MAIN_LCORE), count_fill=False)
    n_ann = len(announce.inputs)

    def all_drops(res):
        total = sum(res.drops.values())
        if res.counter("rx_packets") != 2001 + n_ann or total != 2000 + n_ann - 1:
            return (f"rx_packets {res.counter('rx_packets')} (want {2001 + n_ann}), drops "
                    f"{total} (want all 2000 garbage frames and {n_ann - 1} fillers): "
                    f"{res.drops}")
        return None

    cases = [
        announce,
        Case("gw-garbage: 2000 seeded random frames -> no crash, all counted as drops",
             [(LAN, f) for f in lan] + [(PATH, f) for f in path], [], {},
             checks=[all_drops]),
        Case("gw-garbage: a valid SYN after the garbage is still forwarded",
             [(LAN, lan_in(syn))],
             [gw_encap_expected(translated(syn, src=TUN_ADDR, mss=MSS_CLAMP), Numbering(),
                                "SYN frame")],
             {"encapsulated": 1}),
    ]
    # Which malformed-input reasons the garbage hits, and how often, is the generator's
    # business: they are all allowed; anything else (tx_full, nat_*, ...) is not.
    return Scenario("gw-garbage", "gateway", G.gateway_config(), cases, tunnel_ports=(PATH,),
                    allowed_drops=GARBAGE_REASONS)


def scenario_srv_garbage():
    rng = random.Random(0x737276)  # "srv"
    wan = garbage(rng, 1000, SRV_WAN_MAC, (HOST_B_MAC, HOST_B, 4500), (SRV_PUB, 4500),
                  GW_SESSION)
    tun = garbage(rng, 1000, SRV_TUN_MAC, (SRV_ROUTER_MAC, GW_PATH_IP, TUN_PORT),
                  (SRV_TUN_IP, 4500), GW_SESSION)
    # The gateway's session first, on t0 (its fillers' drops are among the garbage's). The WAN
    # port's garbage goes with it: a pass reads both ports.
    announce = S.announce_case("srv-garbage", Numbering(MAIN_LCORE), [], count_fill=False)
    n_ann = len(announce.inputs)

    def all_drops(res):
        total = sum(res.drops.values())
        if res.counter("rx_packets") != 2000 + n_ann or total != 2000 + n_ann - 1:
            return (f"rx_packets {res.counter('rx_packets')} (want {2000 + n_ann}), drops "
                    f"{total} (want all 2000 garbage frames and {n_ann - 1} fillers): "
                    f"{res.drops}")
        return None

    cases = [announce,
             Case("srv-garbage: 2000 seeded random frames -> no crash, all counted as drops",
                  [(WAN, f) for f in wan] + [(TUN, f) for f in tun], [], {},
                  checks=[all_drops])]
    return Scenario("srv-garbage", "server", S.server_config(), cases,
                    allowed_drops=GARBAGE_REASONS)


SCENARIOS = [scenario_gw_malformed, scenario_srv_malformed, scenario_gw_garbage,
             scenario_srv_garbage]
