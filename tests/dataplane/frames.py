"""Addresses of the test topology and packet builders shared by the dataplane test cases.

Topology (the configs the runner writes; see configs/gateway.conf and configs/server.conf):

  Host A 192.168.10.2 --LAN net_pcap0-- [gateway] --5g net_pcap1 10.5.0.2-- router 10.5.0.1
                                          tunnel id 7, tunnel address 100.64.0.7
  router 10.99.0.254 --t0 net_pcap1 10.99.0.1-- [server] --WAN net_pcap0 198.51.100.1-- Host B 198.51.100.2

Frames are built with scapy and handed around as bytes. Expected frames are `Exp` objects:
bytes plus the offsets whose value legitimately varies (masked), compared byte for byte
everywhere else.

Multipath numbering (docs/multipath.md, "Streams and sequence numbers"): a sender puts a data
frame on stream (worker << 8) | bucket (flow_hash(inner after NAT), see bucket_of), numbers it per
stream (stream_seq) and per path (path_seq, all streams of one sending worker share it).
`Numbering` reproduces that for the frames mpf sends, and builds the same numbering for the
frames the tests send as the peer (the receiver's reorder window and loss detector need it).

Wire format v3 (docs/protocol.md; what changed from v2: its introduction). Frame authentication
(lib/tunnel/auth.hpp): every tunnel frame ends with a 12-byte tag, the first 12 bytes of the
AES-256-GCM tag (empty plaintext; associated data: the mpf header and the payload) under the key
of its sender's session, BLAKE2b-256(key = PSK, "mpf-v3 g2s" or "mpf-v3 s2g" + salt), nonce
(type, sending lcore, path_id, 0, 64-bit counter); the counter is kept per (type, sending lcore,
path) and its low 32 bits are the header's path_seq. Frames the tests send as the peer belong to
a fixed test `Session` (GW_SESSION, SRV_SESSION) and are sealed with it; a receiver checks them
only once that session was announced (gateway: a probe_reply from the server, server: a probe
from the gateway; their bodies end with the sender's salt and start_ms). The frames the dataplane
sends are expected with the tag masked (negative offsets in TUNNEL_MASK) and checked separately:
`dataplane_tags` derives the dataplane's key from the salt of its own probes or replies and
verifies every tag.

Compact inner header (v3): a data frame whose inner IPv4 header has no options, is no fragment
and whose near address (gateway -> server: the inner source; server -> gateway: the inner
destination) is the gateway's tunnel address (TUN_ADDR, in both roles' configs) carries the
header as 9 bytes (TOS, TTL, protocol, id, far address) with flag F_COMPACT (and F_INNER_DF when
the packet had DF). The builders choose the form centrally (`data_payload`): every expected data
frame the dataplane sends is compact when the dataplane must compact it, and the frames the tests
send as the peer (`from_server`, `from_gateway`) are compact by default when their inner packet
is a valid compactable one (form="full" sends it whole: both are valid v3). `inner_of` restores
the whole inner packet of a frame, compact or not.
"""
import hashlib
import ipaddress
import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

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
# Wire format v3 sizes (docs/protocol.md 8): a frame adds outer IPv4 20 + UDP 8 + mpf
# header 24 + tag 12 = 64 bytes to an inner packet sent whole; the compact inner header (9 bytes
# for the 20 of the IPv4 header) saves 11 of them: 53 for the packets that are compacted (all of
# them but those with IP options, in the tests' topology). The path's link MTU is 1500.
VERSION = 3
TAG_LEN = 12                     # tag_len: the first 12 bytes of the 16-byte GCM tag
COMPACT_LEN = 9                  # the compact inner header
COMPACT_SAVING = 20 - COMPACT_LEN  # 11
OVERHEAD = 20 + 8 + 24 + TAG_LEN   # 64: tunnel::kOverhead (full form)
COMPACT_OVERHEAD = OVERHEAD - COMPACT_SAVING  # 53: tunnel::kCompactOverhead
LINK_MTU = 1500
INNER_MTU = LINK_MTU - COMPACT_OVERHEAD       # 1447: what a compactable packet may have
FULL_MTU = LINK_MTU - OVERHEAD                # 1436: a packet with IP options (full form only)
MSS_CLAMP = INNER_MTU - 40                    # 1407
assert (OVERHEAD, COMPACT_OVERHEAD, INNER_MTU, FULL_MTU, MSS_CLAMP) == (64, 53, 1447, 1436, 1407)

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
MPF_TAG = frozenset(range(-TAG_LEN, 0))  # the last 12 bytes (negative: from the frame's end)
# A tunnel frame sent by mpf: outer IP id varies per frame (and with it the header checksum,
# which is verified separately), epoch is random per start, timestamp is the sender's clock, the
# tag is under a key of its random salt (verified separately: dataplane_tags).
TUNNEL_MASK = frozenset(OUTER_IP_ID | OUTER_IP_CSUM | MPF_EPOCH | MPF_TS | MPF_TAG)

T_DATA, T_PROBE, T_PROBE_REPLY, T_FEEDBACK = 0, 1, 2, 3
F_DUPLICATE, F_RETRANSMIT, F_PROMPT = 0x01, 0x02, 0x04  # mpf header flags (protocol.md 4)
# v3: the inner IPv4 header travels compact (data only); with it, the inner packet had DF
F_COMPACT, F_INNER_DF = 0x08, 0x10
F_FORM = F_COMPACT | F_INNER_DF   # the flags that describe the payload's form
F_KNOWN = 0x1F                    # any of 0xe0 set: tunnel_bad_length
# The direction of a data frame: who sent it (which end of the inner packet is the near one).
GW_TO_SRV, SRV_TO_GW = "g2s", "s2g"
MPF_STREAM = {MPF + 10, MPF + 11}
MPF_SSEQ = {MPF + 12, MPF + 13, MPF + 14, MPF + 15}
MPF_PSEQ = {MPF + 16, MPF + 17, MPF + 18, MPF + 19}
BODY = MPF + 24  # first byte after the mpf header (inner packet or control body)


@dataclass
class Exp:
    """One expected output frame on port `port` (our port index). mask: offsets whose value is
    not compared; negative ones count from the end of the frame (-16..-1: a tunnel frame's tag)
    and are made absolute here."""
    port: int
    data: bytes
    mask: frozenset = frozenset()
    what: str = ""
    # extra checks on the matched frame: callables(bytes) -> error string or None
    verify: list = field(default_factory=list)
    # multi-worker runs: the TX queue (= sending lcore) it must leave by; None: any
    txq: int = None

    def __post_init__(self):
        n = len(self.data)
        self.mask = frozenset(i if i >= 0 else n + i for i in self.mask)


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


def inner_checksums_ok(frame: bytes, direction=None):
    """The inner packet of a tunnel data frame (restored when compact; direction: see inner_of)
    carries correct IPv4 and L4 checksums."""
    inner = inner_of(frame, direction)
    if bytes(rebuilt(IP(inner))) != inner:
        return "inner checksums wrong"
    return None


def pure_tcp_ack(inner) -> bool:
    """A TCP segment with no payload and none of SYN, FIN, RST (Worker::tcp_pure_ack)."""
    if inner is None or len(inner) < 20 or inner[9] != 6:
        return False
    ihl = (inner[0] & 15) * 4
    total = int.from_bytes(inner[2:4], "big")
    if len(inner) < ihl + 14:
        return False
    doff = (inner[ihl + 12] >> 4) * 4
    return total - ihl == doff and not inner[ihl + 13] & 0x07


def data_flags(inner, prompt_acks=True) -> int:
    """The flags of a data frame in aggregate mode: ICMP and pure TCP ACKs (with
    multipath.prompt_acks, the default) go prompt (no delay equalisation at the receiver),
    everything else 0."""
    if inner is not None and len(inner) > 9 and inner[9] == 1:
        return F_PROMPT
    return F_PROMPT if prompt_acks and pure_tcp_ack(inner) else 0


def mpf_header(ftype=T_DATA, tunnel_id=TUN_ID, flags=0, path_id=0, tag_len=TAG_LEN, epoch=0,
               stream=0, sseq=0, pseq=0, ts=0, version=VERSION) -> bytes:
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


# ---- compact inner header (wire format v3, docs/protocol.md 3.5) ---------------------------------------------

def _ip_fields(inner: bytes):
    """(ihl bytes, flags/fragment word, src, dst) of an IPv4 packet, or None when too short."""
    if len(inner) < 20:
        return None
    return ((inner[0] & 0x0F) * 4, struct.unpack("!H", inner[6:8])[0], inner[12:16],
            inner[16:20])


def near_far(direction: str):
    """(offset of the near address, offset of the far address) in an IPv4 header: gateway ->
    server frames: near = source (12), far = destination (16); server -> gateway: the reverse."""
    if direction == GW_TO_SRV:
        return 12, 16
    if direction == SRV_TO_GW:
        return 16, 12
    raise ValueError(f"direction {direction!r}: want GW_TO_SRV or SRV_TO_GW")


def compactable(inner: bytes, direction: str, near: str = TUN_ADDR, strict=False) -> bool:
    """Whether a v3 sender compacts inner (docs/protocol.md 3.5): IPv4, IHL 5 (no options), MF clear and
    fragment offset 0, the near address the gateway's tunnel address. strict (the frames the
    tests send as the peer): also only a packet whose header is valid as it stands (checksum,
    total length = its length, reserved flag bit clear), which a compacting sender (having
    checked it) would have; a malformed one goes whole, so that the receiver sees it as it is."""
    f = _ip_fields(inner)
    if f is None or inner[0] >> 4 != 4:
        return False
    ihl, frag, _, _ = f
    n_off, _ = near_far(direction)
    if ihl != 20 or frag & 0x3FFF or inner[n_off:n_off + 4] != ipaddress.IPv4Address(near).packed:
        return False
    if strict and (frag & 0x8000 or ip_checksum(inner[:20]) != 0 or
                   struct.unpack("!H", inner[2:4])[0] != len(inner)):
        return False
    return True


def compact(inner: bytes, direction: str, near: str = TUN_ADDR):
    """(payload, flags) of a compact data frame carrying inner: the 9-byte compact header (TOS,
    TTL, protocol, identification, far address) and everything after the IPv4 header; flags
    F_COMPACT, and F_INNER_DF when inner has DF. ValueError when inner is not compactable."""
    if not compactable(inner, direction, near):
        raise ValueError(f"not compactable ({direction}): {inner[:20].hex()}")
    frag = struct.unpack("!H", inner[6:8])[0]
    if frag & 0x8000:
        raise ValueError("reserved flag bit set: the compact form would lose it")
    _, f_off = near_far(direction)
    hdr = inner[1:2] + inner[8:10] + inner[4:6] + inner[f_off:f_off + 4]
    return hdr + inner[20:], F_COMPACT | (F_INNER_DF if frag & 0x4000 else 0)


def restore(payload: bytes, flags: int, direction: str, near: str = TUN_ADDR) -> bytes:
    """The inner packet of a data frame's payload: as it is without F_COMPACT; else the 20-byte
    IPv4 header restored from the compact one (version 4, IHL 5, total length payload - 9 + 20,
    DF from F_INNER_DF, the near address, checksum computed) and the rest unchanged. ValueError
    when a compact payload is shorter than 9 bytes."""
    if not flags & F_COMPACT:
        return bytes(payload)
    if len(payload) < COMPACT_LEN:
        raise ValueError(f"compact payload of {len(payload)} bytes")
    tos, ttl, proto = payload[0], payload[1], payload[2]
    ident = payload[3:5]
    far = payload[5:9]
    nb = ipaddress.IPv4Address(near).packed
    src, dst = (nb, far) if direction == GW_TO_SRV else (far, nb)
    near_far(direction)
    hdr = struct.pack("!BBH2sHBBH4s4s", 0x45, tos, len(payload) - COMPACT_LEN + 20, ident,
                      0x4000 if flags & F_INNER_DF else 0, ttl, proto, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", ip_checksum(hdr)) + hdr[12:]
    return hdr + payload[COMPACT_LEN:]


def data_payload(inner: bytes, direction: str, form: str = "auto", strict=False):
    """(flags, payload) of a data frame carrying inner: form "auto": compact when a v3 sender
    compacts it (compactable; strict: see there), else whole; "full": whole; "compact": compact
    (ValueError when it cannot be). flags: the form's flags (F_COMPACT, F_INNER_DF) or 0."""
    if form == "full":
        return 0, bytes(inner)
    if form == "compact" or compactable(inner, direction, strict=strict):
        payload, flags = compact(inner, direction)
        return flags, payload
    if form != "auto":
        raise ValueError(f"form {form!r}")
    return 0, bytes(inner)


def data_body(inner: bytes, direction: str, form: str = "auto", flags: int = 0, **hdr) -> bytes:
    """mpf header (a data frame: flags, fields hdr as mpf_header takes them) and payload of a
    data frame carrying inner in the form data_payload gives (its flags added to flags)."""
    fl, payload = data_payload(inner, direction, form)
    return mpf_header(T_DATA, flags=flags | fl, **hdr) + payload


def inner_of(frame: bytes, direction: str = None) -> bytes:
    """The whole inner packet of a tunnel data frame (Ethernet/IPv4/UDP/mpf/payload/tag), its
    IPv4 header restored when the frame is compact. direction: GW_TO_SRV or SRV_TO_GW; None:
    from the outer source address (the gateway sends from its path address 10.5.0.2)."""
    h = parse_mpf(frame[MPF:BODY])
    if direction is None:
        direction = GW_TO_SRV if frame[ETH + 12:ETH + 16] == ipaddress.IPv4Address(
            GW_PATH_IP).packed else SRV_TO_GW
    return restore(frame[BODY:len(frame) - TAG_LEN], h["flags"], direction)


def l4_offset(frame: bytes) -> int:
    """Offset of the inner L4 header in a tunnel data frame: after the compact header or after
    the whole IPv4 header."""
    if frame[MPF + 1] & F_COMPACT:
        return BODY + COMPACT_LEN
    return BODY + (frame[BODY] & 0x0F) * 4


def compact_fields(frame: bytes):
    """The compact header of a compact data frame as a dict (tos, ttl, proto, id, far), or
    None when the frame is not compact."""
    if not frame[MPF + 1] & F_COMPACT or len(frame) < BODY + COMPACT_LEN:
        return None
    c = frame[BODY:BODY + COMPACT_LEN]
    return dict(tos=c[0], ttl=c[1], proto=c[2], id=struct.unpack("!H", c[3:5])[0],
                far=str(ipaddress.IPv4Address(c[5:9])))


# ---- frame authentication (wire format v3) -------------------------------------------------------

PSK_HEX = "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"  # the configs' key
PSK = bytes.fromhex(PSK_HEX)
G2S, S2G = b"mpf-v3 g2s", b"mpf-v3 s2g"  # key labels: frames the gateway / the server sends
V2_LABEL = {G2S: b"mpf-v2 g2s", S2G: b"mpf-v2 s2g"}  # wire format v2's, for v2 frames
MAIN_LCORE = 0xFF  # sending lcore of probes and probe replies (stream_id high byte, nonce)
SALT_LEN = 16


def session_key(label: bytes, salt: bytes, psk: bytes = PSK) -> bytes:
    return hashlib.blake2b(label + salt, key=psk, digest_size=32).digest()


def nonce(ftype: int, lcore: int, path_id: int, counter: int) -> bytes:
    return bytes([ftype, lcore, path_id, 0]) + counter.to_bytes(8, "big")


def gcm_tag(key: bytes, payload: bytes, counter: int = None) -> bytes:
    """The whole 16-byte AES-256-GCM tag of payload (mpf header + body) under key; the nonce
    from the header (type, sending lcore = stream_id >> 8, path_id) and counter (default:
    path_seq, the counter below 2^32)."""
    h = parse_mpf(payload)
    c = h["pseq"] if counter is None else counter
    return AESGCM(key).encrypt(nonce(h["type"], h["stream"] >> 8, h["path_id"], c), b"", payload)


def gmac(key: bytes, payload: bytes, counter: int = None) -> bytes:
    """The v3 tag of payload: the first TAG_LEN (12) bytes of its GCM tag (MSB_96)."""
    return gcm_tag(key, payload, counter)[:TAG_LEN]


@dataclass(frozen=True)
class Session:
    """An appliance's session as the tests play it: label (G2S: a gateway's frames, S2G: a
    server's), random salt, epoch (names the session in the mpf header), start_ms (its wall
    clock at start, announced with the salt)."""
    label: bytes
    salt: bytes
    epoch: int
    start_ms: int

    @property
    def key(self) -> bytes:
        return session_key(self.label, self.salt)

    def seal(self, payload: bytes, counter: int = None) -> bytes:
        """payload (mpf header + body) with its tag appended."""
        return payload + gmac(self.key, payload, counter)

    def seal_v2(self, payload: bytes) -> bytes:
        """payload (a v2 mpf header + body) as a v2 sender of this session sealed it: the whole
        16-byte tag under the key of v2's label."""
        return payload + gcm_tag(session_key(V2_LABEL[self.label], self.salt), payload)

    def announce(self) -> bytes:
        """salt + start_ms: what a probe / probe_reply body of this session ends with."""
        return self.salt + struct.pack("!Q", self.start_ms)


START_MS = 1_700_000_000_000  # the test sessions' start (Nov 2023), ms since 1970
# The sessions the tests play: the server (frames to the gateway) and the gateway (frames to the
# server). *_RESTART: the same appliance after a restart (new salt, epoch, later start);
# *_OLD: a session before the current one (a replay of its announcement is stale).
SRV_SESSION = Session(S2G, b"server-session-A", 0x5E5E, START_MS)
SRV_RESTART = Session(S2G, b"server-session-B", 0x6F6F, START_MS + 60_000)
SRV_OLD = Session(S2G, b"server-session-0", 0x4D4D, START_MS - 60_000)
GW_SESSION = Session(G2S, b"gateway-sessionA", 0xBEEF, START_MS)
GW_RESTART = Session(G2S, b"gateway-sessionB", 0xCAFE, START_MS + 60_000)
GW_OLD = Session(G2S, b"gateway-session0", 0xABBA, START_MS - 60_000)


def sealed(sess: Session, payload: bytes, tag=True) -> bytes:
    """payload (mpf header + rest) as a frame carries it: tag True: sealed with sess; False:
    without a tag (a v1 frame); bytes: these bytes appended as the tag."""
    if tag is True:
        return sess.seal(payload)
    return payload + (tag or b"")


def flip_bit(frame: bytes, offset: int, bit: int = 0) -> bytes:
    """frame with one bit flipped (offset negative: from the end, -1 the tag's last byte)."""
    b = bytearray(frame)
    b[offset] ^= 1 << bit
    return bytes(b)


def is_tunnel_out(frame: bytes) -> bool:
    """An Ethernet/IPv4/UDP frame from our tunnel port 4500 long enough to be a tunnel frame:
    what the appliance sends to its peer."""
    return (len(frame) >= BODY + TAG_LEN and frame[12:14] == b"\x08\x00" and
            frame[ETH + 9] == 17 and frame[34:36] == struct.pack("!H", TUN_PORT))


def announced(frame: bytes):
    """(salt, start_ms) a probe or probe_reply body carries (protocol.md 3.1, 3.2); None for
    other frames or a body of another length."""
    h = mpf_fields(frame)
    if h is None:
        return None
    off, tail = {T_PROBE: (28, 4), T_PROBE_REPLY: (20, 0)}.get(h["type"], (None, 0))
    body = frame[BODY:len(frame) - TAG_LEN]
    if off is None or len(body) != off + SALT_LEN + 8 + tail:
        return None
    return body[off:off + SALT_LEN], struct.unpack("!Q", body[off + SALT_LEN:off + SALT_LEN + 8])[0]


def dataplane_tags(frames, role, wall=None):
    """Checks the tunnel frames an appliance of `role` sent (any order; others are skipped):
    version 3, tag_len 12, and a tag that verifies (the first 12 bytes of the GCM tag) under the
    key derived from the salt its own announcing frames carry (gateway: its probes, server: its
    probe replies), with the nonce
    their header gives (type, stream_id >> 8, path_id, path_seq: the run is too short for the
    counter to pass 2^32). All announcing frames name one session; with wall = (t0, t1), the
    wall clock (s) around the run, its start_ms lies in it. Error string or None."""
    tun = [f for f in frames if is_tunnel_out(f)]
    ann_type = T_PROBE if role == "gateway" else T_PROBE_REPLY
    sessions = {announced(f) for f in tun if mpf_fields(f)["type"] == ann_type}
    what = "probes" if role == "gateway" else "probe replies"
    if not sessions:
        return f"{len(tun)} tunnel frame(s) out but none of its {what} to take the key from"
    if None in sessions or len(sessions) > 1:
        return f"its {what} announce {len(sessions)} sessions: {sorted(map(str, sessions))}"
    salt, start_ms = next(iter(sessions))
    errs = []
    if wall is not None and not wall[0] - 1 <= start_ms / 1000 <= wall[1] + 1:
        errs.append(f"start_ms {start_ms} is not within the run ({wall[0]:.3f}..{wall[1]:.3f} s)")
    key = session_key(G2S if role == "gateway" else S2G, salt)
    bad = []
    for f in tun:
        h = mpf_fields(f)
        if h["version"] != VERSION or h["tag_len"] != TAG_LEN:
            bad.append(f"version {h['version']} tag_len {h['tag_len']}: {summary(f)}")
            continue
        payload, tag = f[MPF:len(f) - TAG_LEN], f[len(f) - TAG_LEN:]
        if gmac(key, payload) != tag:
            bad.append(f"type {h['type']} stream {h['stream']:#06x} path {h['path_id']} "
                       f"path_seq {h['pseq']}")
    if bad:
        errs.append(f"{len(bad)} of {len(tun)} tunnel frames do not verify: " + "; ".join(bad[:4]))
    return "; ".join(errs) if errs else None


def same_session(frames, what):
    """A check of a list of the appliance's announcing frames (probes or replies): one session
    (salt, start_ms) in all. Error string or None."""
    sessions = {announced(f) for f in frames}
    if len(sessions) > 1:
        return f"{what} announce {len(sessions)} sessions: {sorted(map(str, sessions))}"
    return None


# ---- multipath: streams, sequence numbers, control bodies ----------------------------------------

STREAMS = 8  # multipath.streams (default)
M32 = 0xFFFFFFFF


def flow_hash(src: int, dst: int, sport: int, dport: int, proto: int) -> int:
    """dataplane/worker_tx.cpp flow_hash (32-bit arithmetic); addresses as host-order ints."""
    h = ((src * 0x9E3779B1) & M32) ^ ((dst * 0x85EBCA6B) & M32)
    h ^= ((((sport << 16) | dport) & M32) * 0xC2B2AE35) & M32
    h ^= proto
    h ^= h >> 15
    return (h * 0x2C1B3C6D) & M32


def flow_key(ip: bytes):
    """(src, dst, sport, dport, proto) of an IPv4 packet as lib/net/ipv4_packet.cpp parses it:
    TCP/UDP ports; ICMP echo request/reply: the identifier as both ports; other ICMP (errors):
    0 and 0."""
    ihl = (ip[0] & 0x0F) * 4
    proto = ip[9]
    src, dst = struct.unpack("!II", ip[12:20])
    l4 = ip[ihl:]
    sport = dport = 0
    if proto in (6, 17):
        sport, dport = struct.unpack("!HH", l4[:4])
    elif proto == 1 and l4[0] in (0, 8):
        sport = dport = struct.unpack("!H", l4[4:6])[0]
    return src, dst, sport, dport, proto


def bucket_of(inner: bytes, streams=STREAMS, prompt=None) -> int:
    """worker_tx.cpp: from 2 streams up, flows the receiver may hold for delay equalisation use
    the first half, prompt ones the second. prompt=None: as data_flags() says (aggregate mode,
    equalisation on: ICMP is prompt)."""
    if prompt is None:
        prompt = bool(data_flags(inner) & F_PROMPT)
    h = flow_hash(*flow_key(inner))
    if streams < 2:
        return h % streams
    half = streams // 2
    return half + h % (streams - half) if prompt else h % half


def stream_of(inner: bytes, worker=0, streams=STREAMS, prompt=None) -> int:
    """stream_id of a data frame worker `worker` sends for this inner packet (after NAT)."""
    return (worker << 8) | bucket_of(inner, streams, prompt)


def reorder_owner(stream: int, n_workers: int, peer=0) -> int:
    """Worker::reorder_owner: the worker that owns the receive window of (peer, stream)."""
    h = ((peer * 0x9E3779B1) & M32) ^ ((stream * 0x85EBCA6B) & M32)
    return (h >> 16) % n_workers


class Numbering:
    """The numbers one sending worker puts on its data frames: stream_seq per stream, path_seq
    per path (shared by all its streams; retransmits and copies take one too). For the frames
    mpf sends (expected frames, taken in sending order) and for the frames a test sends as the
    peer (`hdr`)."""

    def __init__(self, worker=0, epoch=0, streams=STREAMS):
        self.worker, self.epoch, self.streams = worker, epoch, streams
        self.sseq = {}
        self.pseq = {}
        self.ctls = {}

    def _path(self, path):
        p = self.pseq.get(path, 0)
        self.pseq[path] = (p + 1) & M32
        return p

    def data(self, inner: bytes = None, path=0, stream=None):
        """Numbers of the next data frame: stream from the flow hash of `inner` unless given."""
        if stream is None:
            stream = stream_of(inner, self.worker, self.streams)
        s = self.sseq.get(stream, 0)
        self.sseq[stream] = (s + 1) & M32
        return dict(path_id=path, stream=stream, sseq=s, pseq=self._path(path),
                    flags=data_flags(inner))

    def resend(self, stream, sseq, path=0, flags=F_RETRANSMIT):
        """A retransmit (or copy): same stream and stream_seq, a new path_seq."""
        return dict(path_id=path, stream=stream, sseq=sseq, pseq=self._path(path), flags=flags)

    def take_pseq(self, path=0):
        """The next path_seq, for a frame numbered by hand."""
        return self._path(path)

    def lose(self, path=0, n=1):
        """n path_seqs spent on frames that never arrive (a loss on the path)."""
        first = self.pseq.get(path, 0)
        self.pseq[path] = (first + n) & M32
        return first

    def next_pseq(self, path=0):
        return self.pseq.get(path, 0)

    def ctl(self, ftype, path=0):
        """The next counter (path_seq) of this sender's control frames of type ftype on path:
        probes and replies (sender MAIN_LCORE) and feedback frames (a worker) count per (type,
        sending lcore, path) from 0, apart from the data frames."""
        key = (ftype, path)
        c = self.ctls.get(key, 0)
        self.ctls[key] = c + 1
        return c

    def hdr(self, inner: bytes = None, path=0, stream=None, n=None, **kw) -> bytes:
        """mpf header of the next data frame (or of the numbers n) with this sender's epoch."""
        n = n or self.data(inner, path, stream)
        args = dict(ftype=T_DATA, epoch=self.epoch, flags=n["flags"], path_id=n["path_id"],
                    stream=n["stream"], sseq=n["sseq"], pseq=n["pseq"])
        args.update(kw)
        return mpf_header(**args)


def probe_body(probe_seq, rx_frames=0, rx_bytes=0, srtt_us=0, queue_us=0, interval_ms=25,
               sess: Session = None, rttvar_us=0) -> bytes:
    """protocol.md 3.1 (56 bytes): the v1 28, then the sender's session: salt (16) and start_ms
    (u64), zeros without sess; then rttvar_us."""
    return struct.pack("!IIQIII", probe_seq, rx_frames, rx_bytes, srtt_us, queue_us,
                       interval_ms) + (sess.announce() if sess else bytes(SALT_LEN + 8)) + \
        struct.pack("!I", rttvar_us)


def probe_reply_body(probe_seq, rx_frames=0, rx_bytes=0, queue_us=0, sess: Session = None) -> bytes:
    """protocol.md 3.2 (44 bytes): the v1 20, then the sender's session: salt (16) and start_ms
    (u64); zeros without sess."""
    return struct.pack("!IIQI", probe_seq, rx_frames, rx_bytes, queue_us) + \
        (sess.announce() if sess else bytes(SALT_LEN + 8))


def feedback_body(entries, count=None) -> bytes:
    """protocol.md 3.3: entries (sender_worker, path_id, first_missing, missing)."""
    out = struct.pack("!B3x", len(entries) if count is None else count)
    for sender, path, first, missing in entries:
        out += struct.pack("!BBHIHH", sender, path, 0, first & M32, missing, 0)
    return out


def outer_len(frame: bytes) -> int:
    """Outer IPv4 total length of an Ethernet/IPv4 frame: what the rx_bytes counters add."""
    return struct.unpack("!H", frame[ETH + 2:ETH + 4])[0]


def parse_mpf(hdr: bytes):
    """The fields of a 24-byte mpf header, as a dict."""
    vt, flags, path_id, tag_len, tid, epoch, stream, sseq, pseq, ts = struct.unpack(
        "!BBBBIHHIII", hdr[:24])
    return dict(version=vt >> 4, type=vt & 15, flags=flags, path_id=path_id, tag_len=tag_len,
                tunnel_id=tid, epoch=epoch, stream=stream, sseq=sseq, pseq=pseq, ts=ts)


def mpf_fields(frame: bytes):
    """The mpf header of a tunnel frame as a dict, or None when it is not one."""
    if len(frame) < BODY or frame[12:14] != b"\x08\x00" or frame[ETH + 9] != 17:
        return None
    return parse_mpf(frame[MPF:BODY])


def ip_int(a: str) -> int:
    return int(ipaddress.IPv4Address(a))


# ---- gateway frames --------------------------------------------------------------------------

def peer_payload(hdr: bytes, payload: bytes, direction: str, form: str = "auto"):
    """(header, payload) of a frame the tests send as the peer: a v3 data header whose flags have
    no form flag yet (F_COMPACT, F_INNER_DF), with a payload that is a whole inner packet, gets
    the form data_payload chooses (form "auto": compact when it is a valid compactable packet,
    strict; "full": whole; "compact": compact); anything else (control frames, other versions,
    a header naming its form already: the payload is taken as it is) stays as given."""
    if (form == "full" or len(hdr) < 24 or hdr[0] != (VERSION << 4 | T_DATA) or
            hdr[1] & F_FORM):
        return hdr, payload
    flags, body = data_payload(payload, direction, form, strict=True)
    return hdr[:1] + bytes([hdr[1] | flags]) + hdr[2:], body


def from_server(inner: bytes, hdr: bytes = None, sess: Session = SRV_SESSION, tag=True,
                form: str = "auto", **kw) -> bytes:
    """A tunnel frame as the server sends it to the gateway's 5g path (arriving via 10.5.0.1):
    sealed with the server's session sess (tag: see sealed). Default header: a data frame of
    sess's epoch, stream 0, seqs 0. A data frame's inner packet goes compact or whole as
    peer_payload says (form)."""
    if hdr is None:
        hdr = mpf_header(T_DATA, epoch=sess.epoch)
    hdr, inner = peer_payload(hdr, inner, SRV_TO_GW, form)
    args = dict(src_mac=NH_5G_MAC, dst_mac=GW_PATH_MAC, src_ip=SRV_TUN_IP, dst_ip=GW_PATH_IP,
                sport=TUN_PORT, dport=TUN_PORT, ip_id=0x4242)
    args.update(kw)
    return tunnel_frame(payload=sealed(sess, hdr + inner, tag), **args)


def probe_reply_in(probe_seq=0, pseq=0, sess: Session = SRV_SESSION, path_id=0, ts=0,
                   rx_frames=0, rx_bytes=0, queue_us=0, **kw) -> bytes:
    """A probe_reply from the server's main lcore (stream 0xff00, path_seq pseq: its reply
    counter on the path) announcing its session sess, on the gateway's 5g path. probe_seq 0
    answers none of the gateway's probes (they count from 1): no RTT sample, no path state."""
    hdr = mpf_header(T_PROBE_REPLY, path_id=path_id, epoch=sess.epoch, stream=MAIN_LCORE << 8,
                     pseq=pseq, ts=ts)
    return from_server(probe_reply_body(probe_seq, rx_frames, rx_bytes, queue_us, sess), hdr,
                       sess=sess, **kw)


def gw_frame(payload: bytes) -> bytes:
    """A tunnel frame as the gateway sends it on the 5g path (mpf header + payload given; the
    tag, zeros here, is masked in TUNNEL_MASK and verified by dataplane_tags)."""
    return tunnel_frame(GW_PATH_MAC, NH_5G_MAC, GW_PATH_IP, SRV_TUN_IP, TUN_PORT, TUN_PORT,
                        payload + bytes(TAG_LEN))


def gw_encap_expected(inner: bytes, tx, what: str, flags=0) -> Exp:
    """The frame the gateway must send on the 5g path for the (translated) inner packet,
    compact when the gateway must compact it (data_payload: its form flags are added). tx is
    the gateway's Numbering (the next numbers are taken from it: call in sending order) or the
    dict one of its methods returned."""
    n = tx.data(inner) if isinstance(tx, Numbering) else tx
    frame = gw_frame(data_body(inner, GW_TO_SRV, flags=n.get("flags", flags),
                               path_id=n["path_id"], stream=n["stream"], sseq=n["sseq"],
                               pseq=n["pseq"]))
    return Exp(1, frame, TUNNEL_MASK, what, [outer_ip_checksum_ok])


def gw_probe_expected(probe_seq=1) -> Exp:
    """A probe as protocol.md 3.1 describes it: sent by the main lcore (stream 0xff00),
    stream_seq 0, path_seq its probe counter on the path (probe_seq - 1), a 56-byte body. Its
    counters (rx_frames, rx_bytes), srtt_us, interval_ms, the session (salt, start_ms: random
    per start) and rttvar_us are masked here: probe_check verifies them."""
    frame = gw_frame(mpf_header(T_PROBE, stream=MAIN_LCORE << 8, sseq=0, pseq=probe_seq - 1) +
                     probe_body(probe_seq))
    mask = TUNNEL_MASK | set(range(BODY + 4, BODY + 20)) | set(range(BODY + 24, BODY + 56))
    return Exp(1, frame, frozenset(mask), "keepalive probe", [outer_ip_checksum_ok])


def gw_feedback_expected(entries, what="feedback", pseq=0, worker=0) -> Exp:
    """A feedback frame (protocol.md 3.3) the gateway's worker `worker` sends on the 5g path:
    stream worker << 8, path_seq its feedback counter on the path (pseq)."""
    frame = gw_frame(mpf_header(T_FEEDBACK, stream=worker << 8, sseq=0, pseq=pseq) +
                     feedback_body(entries))
    return Exp(1, frame, TUNNEL_MASK, what, [outer_ip_checksum_ok])


def lan_in(ip_pkt) -> bytes:
    """A frame from Host A to the gateway's LAN MAC, padded to the Ethernet minimum."""
    if isinstance(ip_pkt, (bytes, bytearray)):
        return pad60(bytes(Ether(dst=GW_LAN_MAC, src=HOST_A_MAC, type=0x0800)) + bytes(ip_pkt))
    return pad60(bytes(Ether(dst=GW_LAN_MAC, src=HOST_A_MAC) / ip_pkt))


def lan_out(ip_pkt) -> bytes:
    """A frame from the gateway to Host A."""
    return bytes(Ether(dst=HOST_A_MAC, src=GW_LAN_MAC) / ip_pkt)


# ---- server frames ---------------------------------------------------------------------------

def from_gateway(inner: bytes, hdr: bytes = None, src_ip=GW_PATH_IP, sport=TUN_PORT,
                 sess: Session = GW_SESSION, tag=True, form: str = "auto", **kw) -> bytes:
    """A tunnel frame from the gateway's 5g path arriving at the server's t0 port via the router:
    sealed with the gateway's session sess (tag: see sealed). Default header: a data frame of
    sess's epoch, stream 0, seqs 0. A data frame's inner packet goes compact or whole as
    peer_payload says (form)."""
    if hdr is None:
        hdr = mpf_header(T_DATA, epoch=sess.epoch)
    hdr, inner = peer_payload(hdr, inner, GW_TO_SRV, form)
    args = dict(src_mac=SRV_ROUTER_MAC, dst_mac=SRV_TUN_MAC, src_ip=src_ip, dst_ip=SRV_TUN_IP,
                sport=sport, dport=TUN_PORT, ip_id=0x1717, ttl=61)
    args.update(kw)
    return tunnel_frame(payload=sealed(sess, hdr + inner, tag), **args)


def probe_hdr(path_id=0, pseq=0, ts=0, sess: Session = GW_SESSION) -> bytes:
    """mpf header of a gateway's probe: main lcore (stream 0xff00), path_seq pseq (its probe
    counter on the path)."""
    return mpf_header(T_PROBE, path_id=path_id, epoch=sess.epoch, stream=MAIN_LCORE << 8,
                      pseq=pseq, ts=ts)


def probe_in(hdr: bytes, probe_seq=1, rx_frames=0, rx_bytes=0, srtt_us=0,
             sess: Session = GW_SESSION, **kw) -> bytes:
    """A gateway's probe (header from probe_hdr) announcing its session sess, at the server's
    t0 port (kw: from_gateway's)."""
    return from_gateway(probe_body(probe_seq, rx_frames, rx_bytes, srtt_us, sess=sess), hdr,
                        sess=sess, **kw)


def srv_frame(payload: bytes, ttl=64) -> bytes:
    """A tunnel frame as the server sends it towards the gateway's learned 10.5.0.2:4500 (mpf
    header + payload given; the tag, zeros here, is masked in TUNNEL_MASK)."""
    return tunnel_frame(SRV_TUN_MAC, SRV_ROUTER_MAC, SRV_TUN_IP, GW_PATH_IP, TUN_PORT, TUN_PORT,
                        payload + bytes(TAG_LEN), ttl=ttl)


def srv_encap_expected(inner: bytes, tx, what: str, path_id=0) -> Exp:
    """The frame the server must send towards the gateway's learned path (10.5.0.2:4500),
    compact when the server must compact it (data_payload). tx: the server's Numbering (next
    numbers taken from it) or the dict one of its methods returned."""
    n = tx.data(inner, path_id) if isinstance(tx, Numbering) else tx
    frame = srv_frame(data_body(inner, SRV_TO_GW, flags=n.get("flags", 0), path_id=n["path_id"],
                                stream=n["stream"], sseq=n["sseq"], pseq=n["pseq"]))
    return Exp(1, frame, TUNNEL_MASK, what, [outer_ip_checksum_ok])


def srv_feedback_expected(entries, what="feedback", path_id=0, pseq=0) -> Exp:
    """A feedback frame (protocol.md 3.3) the server's worker 0 sends to the gateway's path:
    path_seq its feedback counter on the path (pseq)."""
    frame = srv_frame(mpf_header(T_FEEDBACK, path_id=path_id, stream=0, sseq=0, pseq=pseq) +
                      feedback_body(entries))
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


def new_session_logged(who: str, sess: "Session", n: int = 1):
    """A check: the dataplane logged adopting the peer session sess n times. who: how it names
    the peer ("gateway 7" on the server, "server of tunnel 7" on the gateway)."""
    line = f"mpf-dataplane: {who}: new session (epoch {sess.epoch:#06x})"

    def chk(res):
        got = res.stdout.count(line + "\n")
        return None if got == n else f"{got} x '{line}' in the output, want {n}"
    return chk
