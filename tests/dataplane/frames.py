"""Addresses of the test topology and packet builders shared by the dataplane test cases.

Topology (the configs the runner writes; see configs/gateway.conf and configs/server.conf):

  Host A 192.168.10.2 --LAN net_pcap0-- [gateway] --5g net_pcap1 10.5.0.2-- router 10.5.0.1
                                          tunnel id 7, tunnel address 100.64.0.7
  router 10.99.0.254 --t0 net_pcap1 10.99.0.1-- [server] --WAN net_pcap0 198.51.100.1-- Host B 198.51.100.2

Frames are built with scapy and handed around as bytes. Expected frames are `Exp` objects:
bytes plus the offsets whose value legitimately varies (masked), compared byte for byte
everywhere else.
"""
import struct
from dataclasses import dataclass, field

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

# ---- addresses -------------------------------------------------------------------------------
# net_pcap PMD MACs: 02:70:63:61:70:<creation index> ("pcap"); the runner checks them against
# what mpf-dataplane prints at start-up.
PCAP_MAC = ["02:70:63:61:70:00", "02:70:63:61:70:01"]

# gateway side
GW_LAN_MAC = PCAP_MAC[0]
GW_PATH_MAC = PCAP_MAC[1]
GW_LAN_IP = "192.168.10.1"
HOST_A = "192.168.10.2"
HOST_A_MAC = "02:00:00:00:0a:02"
GW_PATH_IP = "10.5.0.2"
NH_5G = "10.5.0.1"
NH_5G_MAC = "02:00:00:00:05:01"
TUN_ADDR = "100.64.0.7"
TUN_ID = 7
TUN_PORT = 4500
INNER_MTU = 1448
MSS_CLAMP = INNER_MTU - 40

# server side
SRV_WAN_MAC = PCAP_MAC[0]
SRV_TUN_MAC = PCAP_MAC[1]
SRV_PUB = "198.51.100.1"
SRV_TUN_IP = "10.99.0.1"
SRV_ROUTER = "10.99.0.254"
SRV_ROUTER_MAC = "02:00:00:00:99:fe"
HOST_B = "198.51.100.2"
HOST_B_MAC = "02:00:00:00:64:02"

OTHER_MAC = "02:00:00:00:de:ad"  # nobody's: frames to it are eth_not_for_us
BCAST = "ff:ff:ff:ff:ff:ff"

# ---- offsets of variable fields ----------------------------------------------------------------
ETH = 14
OUTER_IP_ID = {ETH + 4, ETH + 5}
OUTER_IP_CSUM = {ETH + 10, ETH + 11}
MPF = ETH + 20 + 8  # 42: mpf header in a tunnel frame
MPF_EPOCH = {MPF + 8, MPF + 9}
MPF_TS = {MPF + 20, MPF + 21, MPF + 22, MPF + 23}
# A tunnel frame sent by mpf: outer IP id varies per frame (and with it the header checksum,
# which is verified separately), epoch is random per start, timestamp is the sender's clock.
TUNNEL_MASK = frozenset(OUTER_IP_ID | OUTER_IP_CSUM | MPF_EPOCH | MPF_TS)

T_DATA, T_PROBE, T_PROBE_REPLY, T_FEEDBACK = 0, 1, 2, 3


@dataclass
class Exp:
    """One expected output frame on port `port` (our port index)."""
    port: int
    data: bytes
    mask: frozenset = frozenset()
    what: str = ""
    # extra checks on the matched frame: callables(bytes) -> error string or None
    verify: list = field(default_factory=list)
    # multi-worker runs: the TX queue (= sending lcore) it must leave by; None: any
    txq: int = None


def pad60(frame: bytes) -> bytes:
    """Ethernet minimum frame (without FCS), as a NIC would deliver it."""
    return frame + b"\0" * (60 - len(frame)) if len(frame) < 60 else frame


def ip_checksum(hdr: bytes) -> int:
    s = 0
    if len(hdr) % 2:
        hdr += b"\0"
    for i in range(0, len(hdr), 2):
        s += hdr[i] << 8 | hdr[i + 1]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def outer_ip_checksum_ok(frame: bytes):
    ihl = (frame[ETH] & 0x0F) * 4
    if ip_checksum(frame[ETH:ETH + ihl]) != 0:
        return "outer IPv4 header checksum wrong"
    return None


def inner_checksums_ok(frame: bytes):
    """The inner packet of a tunnel frame carries correct IPv4 and L4 checksums."""
    inner = frame[MPF + 24:]
    if rebuilt(IP(inner)) is None or bytes(rebuilt(IP(inner))) != inner:
        return "inner checksums wrong"
    return None


def mpf_header(ftype=T_DATA, tunnel_id=TUN_ID, flags=0, path_id=0, tag_len=0, epoch=0,
               stream=0, sseq=0, pseq=0, ts=0, version=1) -> bytes:
    return struct.pack("!BBBBIHHIII", (version << 4) | (ftype & 0x0F), flags, path_id, tag_len,
                       tunnel_id, epoch, stream, sseq, pseq, ts)


def tunnel_frame(src_mac, dst_mac, src_ip, dst_ip, sport, dport, payload: bytes, ttl=64,
                 ip_id=0, udp_len=None) -> bytes:
    """Outer Ethernet/IPv4 (DF)/UDP (checksum 0) around `payload` (mpf header + rest)."""
    udp = UDP(sport=sport, dport=dport, chksum=0)
    if udp_len is not None:
        udp.len = udp_len
    return bytes(Ether(dst=dst_mac, src=src_mac) /
                 IP(src=src_ip, dst=dst_ip, ttl=ttl, id=ip_id, flags="DF") / udp / Raw(payload))


# ---- gateway frames --------------------------------------------------------------------------

def from_server(inner: bytes, hdr: bytes = None, **kw) -> bytes:
    """A tunnel frame as the server sends it to the gateway's 5g path (arriving via 10.5.0.1)."""
    if hdr is None:
        hdr = mpf_header(T_DATA, epoch=0x5e5e)
    args = dict(src_mac=NH_5G_MAC, dst_mac=GW_PATH_MAC, src_ip=SRV_TUN_IP, dst_ip=GW_PATH_IP,
                sport=TUN_PORT, dport=TUN_PORT, ip_id=0x4242)
    args.update(kw)
    return tunnel_frame(payload=hdr + inner, **args)


def gw_encap_expected(inner: bytes, sseq: int, what: str) -> Exp:
    """The frame the gateway must send on the 5g path for the (translated) inner packet."""
    frame = tunnel_frame(GW_PATH_MAC, NH_5G_MAC, GW_PATH_IP, SRV_TUN_IP, TUN_PORT, TUN_PORT,
                         mpf_header(T_DATA, stream=0, sseq=sseq, pseq=sseq) + inner)
    return Exp(1, frame, TUNNEL_MASK, what, [outer_ip_checksum_ok])


def gw_probe_expected() -> Exp:
    frame = tunnel_frame(GW_PATH_MAC, NH_5G_MAC, GW_PATH_IP, SRV_TUN_IP, TUN_PORT, TUN_PORT,
                         mpf_header(T_PROBE, stream=0xFFFF, sseq=0, pseq=0))
    return Exp(1, frame, TUNNEL_MASK, "keepalive probe", [outer_ip_checksum_ok])


def lan_in(ip_pkt) -> bytes:
    """A frame from Host A to the gateway's LAN MAC, padded to the Ethernet minimum."""
    if isinstance(ip_pkt, (bytes, bytearray)):
        return pad60(bytes(Ether(dst=GW_LAN_MAC, src=HOST_A_MAC, type=0x0800)) + bytes(ip_pkt))
    return pad60(bytes(Ether(dst=GW_LAN_MAC, src=HOST_A_MAC) / ip_pkt))


def lan_out(ip_pkt) -> bytes:
    """A frame from the gateway to Host A."""
    return bytes(Ether(dst=HOST_A_MAC, src=GW_LAN_MAC) / ip_pkt)


# ---- server frames ---------------------------------------------------------------------------

def from_gateway(inner: bytes, hdr: bytes = None, src_ip=GW_PATH_IP, sport=TUN_PORT, **kw) -> bytes:
    """A tunnel frame from the gateway's 5g path arriving at the server's t0 port via the router."""
    if hdr is None:
        hdr = mpf_header(T_DATA, epoch=0xbeef)
    args = dict(src_mac=SRV_ROUTER_MAC, dst_mac=SRV_TUN_MAC, src_ip=src_ip, dst_ip=SRV_TUN_IP,
                sport=sport, dport=TUN_PORT, ip_id=0x1717, ttl=61)
    args.update(kw)
    return tunnel_frame(payload=hdr + inner, **args)


def srv_encap_expected(inner: bytes, sseq: int, what: str, path_id=0) -> Exp:
    """The frame the server must send towards the gateway's learned path (10.5.0.2:4500)."""
    frame = tunnel_frame(SRV_TUN_MAC, SRV_ROUTER_MAC, SRV_TUN_IP, GW_PATH_IP, TUN_PORT, TUN_PORT,
                         mpf_header(T_DATA, path_id=path_id, stream=0, sseq=sseq, pseq=sseq) +
                         inner)
    return Exp(1, frame, TUNNEL_MASK, what, [outer_ip_checksum_ok])


def wan_in(ip_pkt, dst_mac=SRV_WAN_MAC) -> bytes:
    return pad60(bytes(Ether(dst=dst_mac, src=HOST_B_MAC) / ip_pkt))


def wan_out(ip_pkt) -> bytes:
    return bytes(Ether(dst=HOST_B_MAC, src=SRV_WAN_MAC) / ip_pkt)


def filler(n: int, port_mac_not=OTHER_MAC):
    """n minimal frames to a MAC that is not the port's: dropped as eth_not_for_us. They space
    out later frames so that the main lcore has run in between (learning, ARP)."""
    f = pad60(bytes(Ether(dst=port_mac_not, src=HOST_B_MAC, type=0x0800)))
    return [f] * n


# ---- L3/L4 helpers -----------------------------------------------------------------------------

def rebuilt(pkt):
    """scapy packet with every length and checksum recomputed."""
    pkt = pkt.copy()
    for layer in (IP, TCP, UDP, ICMP):
        if layer in pkt:
            lyr = pkt[layer]
            if hasattr(lyr, "chksum"):
                lyr.chksum = None
            if layer is IP:
                lyr.len = None
                lyr.ihl = None
            if layer is UDP:
                lyr.len = None
    return IP(bytes(pkt))


def translated(ip_pkt, src=None, sport=None, dst=None, dport=None, ttl_dec=1, mss=None):
    """ip_pkt (scapy IP) after NAT/forwarding: addresses/ports replaced, TTL decremented, MSS
    rewritten, every checksum recomputed from scratch (the dataplane updates incrementally)."""
    p = IP(bytes(ip_pkt))
    if src is not None:
        p.src = src
    if dst is not None:
        p.dst = dst
    p.ttl -= ttl_dec
    l4 = p.payload
    if sport is not None:
        if ICMP in p:
            p[ICMP].id = sport
        else:
            l4.sport = sport
    if dport is not None:
        l4.dport = dport
    if mss is not None:
        p[TCP].options = [("MSS", mss) if o[0] == "MSS" else o for o in p[TCP].options]
    return bytes(rebuilt(p))


def icmp_error(orig_ip: bytes, frm: str, typ: int, code: int, mtu: int = 0):
    """The ICMP error an mpf appliance builds about orig_ip (icmp_build.cpp, RFC 1812):
    TOS 0xc0, id of the offending packet, no DF, TTL 64, quote up to 576 bytes in all."""
    o = IP(orig_ip)
    quote = orig_ip[:576 - 28]
    icmp = ICMP(type=typ, code=code)
    if typ == 3:
        icmp.nexthopmtu = mtu
    return IP(src=frm, dst=o.src, tos=0xC0, id=o.id, flags=0, ttl=64) / icmp / Raw(quote)


def arp_pkt(op, hwsrc, psrc, hwdst, pdst):
    return ARP(op=op, hwsrc=hwsrc, psrc=psrc, hwdst=hwdst, pdst=pdst)


def syn_options(mss=1460):
    """Linux-like SYN options: MSS first (value at an even TCP offset)."""
    return [("MSS", mss), ("SAckOK", b""), ("Timestamp", (123456, 0)), ("NOP", None),
            ("WScale", 7)]


def summary(frame: bytes) -> str:
    try:
        return Ether(frame).summary()
    except Exception:  # noqa: BLE001 - diagnostics only
        return frame[:32].hex()


__all__ = [n for n in dir() if not n.startswith("_")]
__all__ += ["ICMP", "IP", "TCP", "UDP", "ARP", "Ether", "Raw"]
