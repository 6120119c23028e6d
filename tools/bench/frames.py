"""Benchmark traffic: one frame per flow, flows interleaved (each burst of 32 touches 32 flows).

Addresses are those of the demo test bed (configs/*.conf, tests/dataplane/frames.py):

  gateway uplink:  Host A side 192.168.10.x:PORT -> 198.51.100.2:5001 (UDP) on the LAN port
  server uplink:   tunnel frames (wire format v3, docs/protocol.md) from the gateway's 5g path
                   (10.5.0.2:4500, via router 10.99.0.254) to the server's t0 port
                   (10.99.0.1:4500): first one probe announcing the gateway's session, then mpf
                   data frames of tunnel 7 carrying 100.64.0.7:PORT -> 198.51.100.2:5001 (UDP)
                   with the inner IPv4 header compact, as the gateway sends them, every frame
                   with its authentication tag

`size` is the plain (unencapsulated) Ethernet frame size including the 4-byte FCS, as in
"64-byte frames": the pcap holds size - 4 bytes. A tunnel data frame is 53 bytes longer
(outer IPv4 20 + UDP 8 + mpf header 24 + tag 12, less the 11 bytes the compact inner header
saves) than the plain frame it carries.
"""
import hashlib
import struct

try:  # Debian package python3-cryptography (tools/mpf setup installs it)
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
except ImportError:  # only the server-uplink frames need it
    AESGCM = None

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
VERSION = 3
TAG_LEN = 12  # the first 12 bytes of the AES-256-GCM tag (docs/protocol.md 6)
FULL_OVERHEAD = 20 + 8 + 24 + TAG_LEN  # tunnel::kOverhead: an inner packet sent whole
COMPACT_LEN = 9  # the compact inner IPv4 header (docs/protocol.md 3.5) replaces 20 bytes
TUNNEL_OVERHEAD = FULL_OVERHEAD - (20 - COMPACT_LEN)  # tunnel::kCompactOverhead: data frames here
MAX_FLOWS = 4096  # net_pcap infinite_rx keeps every frame of the file in an mbuf of the pool

SCENARIOS = ("gateway-uplink", "server-uplink")


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, p in enumerate(frames):
            f.write(struct.pack("<IIII", 1_700_000_000, i, len(p), len(p)))
            f.write(p)


# Authentication (docs/protocol.md 6, lib/tunnel/auth.hpp). The tunnel's pre-shared key: the
# configurations below carry it as `key` (64 hex digits), a public example key, benchmark only.
PSK_HEX = "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
PSK = bytes.fromhex(PSK_HEX)
# The gateway's session, announced by the probe that opens the pcap: its salt (the frames' key
# is derived from it), its start (any value: the server has no session of this gateway yet) and
# the epoch that names it in every header. Fixed, so every run replays the same bytes.
SALT = bytes(range(0xa0, 0xb0))
START_MS = 1
EPOCH = 0xbeef

TYPE_DATA, TYPE_PROBE = 0, 1
FLAG_COMPACT, FLAG_INNER_DF = 0x08, 0x10
MAIN_SENDER = 0xff  # the sending lcore of probes (the gateway's main lcore)
PATH_ID = 0

# Stream id of the data frames: sending lcore 0 (high byte), flow bucket 255 (low byte), beyond
# the server's multipath.streams (default 8), so the server delivers them without a reorder
# window. The pcap replays the same stream seqs forever; a window would drop every replay as a
# duplicate.
UNORDERED_STREAM = 0x00ff

# Frames of the server-uplink pcap that are not data: the probe. net_pcap replays the whole file,
# so every pass but the first brings the same probe again, which the server drops as
# tunnel_replayed (1 frame in flows + 1): expected, not a fault of the run (bench.py).
EXPECTED_DROPS = {"server-uplink": ("tunnel_replayed", 1)}


def session_key(salt=SALT, psk=PSK):
    """The key of a gateway session's frames to the server: BLAKE2b-256 keyed with the PSK over
    "mpf-v3 g2s" + salt."""
    return hashlib.blake2b(b"mpf-v3 g2s" + salt, key=psk, digest_size=32).digest()


def nonce(frame_type, sender, path_id, counter):
    return bytes([frame_type, sender, path_id, 0]) + counter.to_bytes(8, "big")


def mpf_header(frame_type, stream_id, stream_seq, counter, epoch=EPOCH, path_id=PATH_ID,
               flags=0):
    """Version 3 / type, flags, path id, tag length 12, tunnel id, epoch, stream, stream seq,
    path seq (= the low 32 bits of the sender's counter), timestamp (docs/protocol.md)."""
    return struct.pack("!BBBBIHHIII", (VERSION << 4) | frame_type, flags, path_id, TAG_LEN,
                       TUN_ID, epoch, stream_id, stream_seq, counter & 0xFFFFFFFF, 0)


def sealed(aead, frame_type, stream_id, stream_seq, counter, payload, flags=0):
    """mpf header + payload + tag: AES-256-GCM with no plaintext, header and payload as
    associated data (a GMAC), nonce (type, sending lcore, path id, 0, 64-bit counter); the
    frame carries the first 12 bytes of the 16-byte GCM tag."""
    hdr = mpf_header(frame_type, stream_id, stream_seq, counter, flags=flags)
    tag = aead.encrypt(nonce(frame_type, stream_id >> 8, PATH_ID, counter), b"", hdr + payload)
    return hdr + payload + tag[:TAG_LEN]


def compact(inner, near=TUN_ADDR):
    """(flags, payload) of a data frame gateway -> server carrying the IPv4 packet `inner`, as
    the gateway sends it (docs/protocol.md 3.5): compact when the header has no options, is not
    a fragment and its source (the near address) is the tunnel address; else whole."""
    frag = struct.unpack("!H", inner[6:8])[0]
    if inner[0] != 0x45 or frag & ~0x4000 or inner[12:16] != _ip4(near):
        return 0, inner
    flags = FLAG_COMPACT | (FLAG_INNER_DF if frag & 0x4000 else 0)
    # TOS, TTL, protocol, identification, far address (the inner destination).
    return flags, inner[1:2] + inner[8:10] + inner[4:6] + inner[16:20] + inner[20:]


def probe_body(salt=SALT, start_ms=START_MS):
    """probe_seq, rx_frames, rx_bytes, srtt_us, queue_us, interval_ms (0: the server's own),
    salt, start_ms, rttvar_us: 56 bytes (docs/protocol.md 3.1)."""
    return struct.pack("!IIQIII", 0, 0, 0, 0, 0, 0) + salt + struct.pack("!QI", start_ms, 0)


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


def _aead():
    if AESGCM is None:
        raise RuntimeError("the server-uplink frames need python3's cryptography package "
                           "(Debian python3-cryptography; tools/mpf setup installs it)")
    return AESGCM(session_key())


def _to_server(payload, ip_id):
    outer = ipv4_udp(GW_PATH_IP, SRV_TUN_IP, TUN_PORT, TUN_PORT, payload, ttl=61, ip_id=ip_id,
                     df=True, udp_csum=False)
    return ether(PCAP_MAC, SRV_ROUTER_MAC, outer)


def frames(scenario, size, flows):
    """The frames (bytes) of one pcap. server-uplink: the probe first, then one data frame per
    flow (counters 0..flows-1 of sending lcore 0 on path 0; the probe's counter is 0 of lcore
    0xff: nonces of different streams)."""
    if not 64 <= size <= 1518:
        raise ValueError(f"frame size {size}: must be 64..1518")
    ip_len = size - FCS - 14
    out = []
    if scenario == "server-uplink":
        aead = _aead()
        probe = sealed(aead, TYPE_PROBE, MAIN_SENDER << 8, 0, 0, probe_body())
        out.append(_to_server(probe, 0xffff))
    for i in range(flows):
        sport = SPORT_BASE + i
        if scenario == "gateway-uplink":
            src = f"192.168.10.{2 + i % 250}"
            out.append(ether(PCAP_MAC, HOST_A_MAC, _inner(src, sport, ip_len, 64)))
        elif scenario == "server-uplink":
            flags, payload = compact(_inner(TUN_ADDR, sport, ip_len, 63))
            out.append(_to_server(sealed(aead, TYPE_DATA, UNORDERED_STREAM, i, i, payload, flags),
                                  i))
        else:
            raise ValueError(f"unknown scenario {scenario}")
    return out


# Configurations: the mpf side of each scenario. {pcap} and {null} are the EAL port names, {key}
# is PSK_HEX.
# Static ARP for every next hop used, so no packet waits for ARP; mbufs match testpmd's pool.
CONFIGS = {
    "gateway-uplink": """
role = "gateway";
lan = {{ port = "{pcap}"; address = "192.168.10.1/24"; }};
tunnel = {{ id = 7; address = "100.64.0.7"; server = "10.99.0.1:4500"; key = "{key}"; port = 4500; }};
paths = ( {{ name = "5g"; port = "{null}"; address = "10.5.0.2/24"; next_hop = "10.5.0.1"; }} );
arp = ( {{ address = "10.5.0.1"; mac = "02:00:00:00:05:01"; }} );
dataplane = {{ mbufs = {mbufs}; }};
""",
    "server-uplink": """
role = "server";
wan = {{ port = "{null}"; address = "198.51.100.1/24"; }};
tunnel = {{ port = 4500;
  ports = ( {{ name = "t0"; port = "{pcap}"; address = "10.99.0.1/24"; next_hop = "10.99.0.254"; }} ); }};
gateways = ( {{ id = 7; address = "100.64.0.7"; key = "{key}"; }} );
arp = ( {{ address = "198.51.100.2"; mac = "02:00:00:00:64:02"; }} );
dataplane = {{ mbufs = {mbufs}; }};
""",
}

# What the scenario does, for the table's legend.
DESCRIPTIONS = {
    "gateway-uplink": "gateway LAN (pcap) -> SNAT + encap -> path (null)",
    "server-uplink": "server tunnel port (pcap) -> tag check + decap + SNAT -> WAN (null)",
}
