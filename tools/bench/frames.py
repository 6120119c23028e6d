"""Benchmark traffic: one frame per flow, flows interleaved (each burst of 32 touches 32 flows).

Addresses are those of the demo test bed (configs/*.conf, tests/dataplane/frames.py):

  gateway uplink:  Host A side 192.168.10.x:PORT -> 198.51.100.2:5001 (UDP) on the LAN port
  server uplink:   tunnel frames from the gateway's 5g path (10.5.0.2:4500, via router
                   10.99.0.254) to the server's t0 port (10.99.0.1:4500), mpf data frames of
                   tunnel 7 carrying 100.64.0.7:PORT -> 198.51.100.2:5001 (UDP)

`size` is the plain (unencapsulated) Ethernet frame size including the 4-byte FCS, as in
"64-byte frames": the pcap holds size - 4 bytes. A tunnel frame is 52 bytes longer
(outer IPv4 20 + UDP 8 + mpf header 24) than the plain frame it carries.
"""
import struct

# net_pcap MACs are 02:70:63:61:70:<index of the pcap device in the process>; the benchmark
# has exactly one pcap device per process.
PCAP_MAC = "02:70:63:61:70:00"

HOST_A_MAC = "02:00:00:00:0a:02"
NH_5G = "10.5.0.1"
NH_5G_MAC = "02:00:00:00:05:01"
GW_PATH_IP = "10.5.0.2"
TUN_ADDR = "100.64.0.7"
TUN_ID = 7
TUN_PORT = 4500
SRV_TUN_IP = "10.99.0.1"
SRV_ROUTER_MAC = "02:00:00:00:99:fe"
HOST_B = "198.51.100.2"
HOST_B_MAC = "02:00:00:00:64:02"
DPORT = 5001
SPORT_BASE = 20000

FCS = 4
TUNNEL_OVERHEAD = 20 + 8 + 24
MAX_FLOWS = 4096  # net_pcap infinite_rx keeps every frame of the file in an mbuf of the pool

SCENARIOS = ("gateway-uplink", "server-uplink")


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, p in enumerate(frames):
            f.write(struct.pack("<IIII", 1_700_000_000, i, len(p), len(p)))
            f.write(p)


# Stream id of the data frames: sender 0, flow bucket 255, beyond the server's multipath.streams
# (default 8), so the server delivers them without a reorder window. The pcap replays the same
# stream seqs forever; a window would drop every replay as a duplicate.
UNORDERED_STREAM = 0x00ff


def mpf_header(seq):
    # version 1 / type data, flags, path id 0, tag length 0, tunnel id, epoch, stream, stream
    # seq, path seq, timestamp (docs/protocol.md)
    return struct.pack("!BBBBIHHIII", (1 << 4) | 0, 0, 0, 0, TUN_ID, 0xbeef, UNORDERED_STREAM,
                       seq, seq, 0)


def _csum(data, start=0):
    """Internet checksum (RFC 1071) of data, plus a 32-bit partial sum `start`."""
    if len(data) % 2:
        data += b"\0"
    s = start + sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _ip4(a):
    return bytes(int(x) for x in a.split("."))


def ipv4_udp(src, dst, sport, dport, payload, ttl=64, ip_id=0, df=False, udp_csum=True):
    """IPv4 (no options) + UDP + payload, with correct checksums (outer tunnel UDP: 0)."""
    udp_len = 8 + len(payload)
    s, d = _ip4(src), _ip4(dst)
    csum = 0
    if udp_csum:
        pseudo = s + d + struct.pack("!BBH", 0, 17, udp_len)
        csum = _csum(pseudo + struct.pack("!HHHH", sport, dport, udp_len, 0) + payload) or 0xFFFF
    udp = struct.pack("!HHHH", sport, dport, udp_len, csum) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, ip_id & 0xFFFF,
                      0x4000 if df else 0, ttl, 17, 0, s, d)
    hdr = hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:]
    return hdr + udp


def ether(dst, src, payload, ethertype=0x0800):
    mac = lambda m: bytes.fromhex(m.replace(":", ""))  # noqa: E731
    return mac(dst) + mac(src) + struct.pack("!H", ethertype) + payload


def _inner(src, sport, ip_len, ttl):
    payload = bytes((sport + k) & 0xFF for k in range(ip_len - 28))
    return ipv4_udp(src, HOST_B, sport, DPORT, payload, ttl=ttl, ip_id=sport)


def frames(scenario, size, flows):
    """The frames (bytes) of one pcap."""
    if not 64 <= size <= 1518:
        raise ValueError(f"frame size {size}: must be 64..1518")
    ip_len = size - FCS - 14
    out = []
    for i in range(flows):
        sport = SPORT_BASE + i
        if scenario == "gateway-uplink":
            src = f"192.168.10.{2 + i % 250}"
            out.append(ether(PCAP_MAC, HOST_A_MAC, _inner(src, sport, ip_len, 64)))
        elif scenario == "server-uplink":
            inner = _inner(TUN_ADDR, sport, ip_len, 63)
            outer = ipv4_udp(GW_PATH_IP, SRV_TUN_IP, TUN_PORT, TUN_PORT, mpf_header(i) + inner,
                             ttl=61, ip_id=i, df=True, udp_csum=False)
            out.append(ether(PCAP_MAC, SRV_ROUTER_MAC, outer))
        else:
            raise ValueError(f"unknown scenario {scenario}")
    return out


# Configurations: the mpf side of each scenario. {pcap} and {null} are the EAL port names.
# Static ARP for every next hop used, so no packet waits for ARP; mbufs match testpmd's pool.
CONFIGS = {
    "gateway-uplink": """
role = "gateway";
lan = {{ port = "{pcap}"; address = "192.168.10.1/24"; }};
tunnel = {{ id = 7; address = "100.64.0.7"; server = "10.99.0.1:4500"; key = "bench"; port = 4500; }};
paths = ( {{ name = "5g"; port = "{null}"; address = "10.5.0.2/24"; next_hop = "10.5.0.1"; }} );
arp = ( {{ address = "10.5.0.1"; mac = "02:00:00:00:05:01"; }} );
dataplane = {{ mbufs = {mbufs}; }};
""",
    "server-uplink": """
role = "server";
wan = {{ port = "{null}"; address = "198.51.100.1/24"; }};
tunnel = {{ port = 4500;
  ports = ( {{ name = "t0"; port = "{pcap}"; address = "10.99.0.1/24"; next_hop = "10.99.0.254"; }} ); }};
gateways = ( {{ id = 7; address = "100.64.0.7"; key = "bench"; }} );
arp = ( {{ address = "198.51.100.2"; mac = "02:00:00:00:64:02"; }} );
dataplane = {{ mbufs = {mbufs}; }};
""",
}

# What the scenario does, for the table's legend.
DESCRIPTIONS = {
    "gateway-uplink": "gateway LAN (pcap) -> SNAT + encap -> path (null)",
    "server-uplink": "server tunnel port (pcap) -> decap + SNAT -> WAN (null)",
}
