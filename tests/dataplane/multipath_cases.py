"""Multipath on the wire (docs/multipath.md; bodies: docs/protocol.md 3.x): paths coming up from
probe replies, loss reports (feedback) on path_seq gaps, retransmission from the slab on a loss
report, the per-(peer, stream) reorder window (in-order delivery, holds, hold timeouts, late
frames, duplicates, stale frames).

Most scenarios run one lcore (the main lcore polls too), which makes the order of events a
matter of loop passes, not of time: each pass the worker reads up to a burst (32) of frames from
each port, LAN (port 0) before the path (port 1), and the main lcore runs after every 16th pass
(it sends the first probe after pass 16, takes the probe replies of passes 17..32 after pass 32
and publishes the path up; the worker sees it from pass 33 on). `Passes` places frames in a given
pass with filler frames (eth_not_for_us). With multipath.up_after = 1 one answered probe brings
the gateway's path up, so a pcap run can have a path up (loss reports are sent only on an up
path, the retransmit goes to an up path).

What needs time (a hold running out) runs two workers with FIFO-fed RX queues (harness.py): the
worker that owns the reorder window is never the one blocked on the pipe, so it keeps expiring
its windows while the harness waits.
"""

from frames import *  # noqa: F401,F403
from harness import Case, Scenario, masked_equal
import frames as F
import gateway_cases as G
import multiworker_cases as M
import server_cases as S

LAN, PATH = 0, 1
WAN, TUN = 0, 1
BURST = 32


class Passes:
    """Places input frames of a one-lcore run in loop passes (1-based): frames() for the next
    frames of a port, to_pass() for the fillers that make the next frame of a port be read in
    pass p. fillers counts them all (one eth_not_for_us each)."""

    def __init__(self):
        self.n = {0: 0, 1: 0}
        self.fillers = 0

    def frames(self, port, frames):
        self.n[port] += len(frames)
        return [(port, f) for f in frames]

    def to_pass(self, port, p):
        want = (p - 1) * BURST
        assert self.n[port] <= want, f"port {port}: {self.n[port]} frames already, pass {p}"
        k = want - self.n[port]
        self.n[port] = want
        self.fillers += k
        return [(port, f) for f in filler(k)]

    def pass_of(self, port):
        """The pass that reads the next frame of port."""
        return self.n[port] // BURST + 1


def mp_gateway_config(extra=""):
    return G.gateway_config(extra="multipath = { up_after = 1; " + extra + " };")


def order_check(port, frames, what):
    """The frames (bytes, as expected on `port`) came out in this order."""
    def chk(res):
        out = res.out.get(port, [])
        at = []
        for f in frames:
            if f not in out:
                return f"{what}: a frame is missing"
            at.append(out.index(f))
        return None if at == sorted(at) else f"{what}: out of order (positions {at})"
    return chk


def udp_from_a(sport, i, size=0):
    return IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x2A00 + i) / UDP(sport=sport, dport=5353) / \
        Raw(b"mp-udp-%d" % i + b"." * size)


def udp_to_a(sport, i):
    return IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8A00 + i) / UDP(sport=5353, dport=sport) / \
        Raw(b"mp-reply-%d" % i)


def server_feedback(entries, pseq):
    """A feedback frame from the server's worker 0 on path 0 (protocol.md 3.3): path_seq pseq,
    the worker's feedback counter on the path (a feedback frame not newer than one already
    taken is a replay)."""
    return from_server(feedback_body(entries),
                       mpf_header(T_FEEDBACK, epoch=SRV_SESSION.epoch, ts=77, pseq=pseq))


def probe_reply_1():
    """The server's answer to the gateway's first probe, its first reply on the path (path_seq
    0), announcing its session: the first frame the gateway takes from the server. Its
    timestamp is no echo of the probe's (which the test cannot know): no RTT sample, srtt stays
    0."""
    return probe_reply_in(1, pseq=0, rx_frames=1, rx_bytes=90, ts=0)


# ---- gw-mp: path up, loss reports both ways, retransmit, reorder window -------------------------

def scenario_gw_multipath():
    cases = []
    ps = Passes()
    tx = Numbering()                # the gateway's worker 0
    srv = Numbering(epoch=SRV_SESSION.epoch)  # the server's worker 0
    accepted = []                   # what the gateway takes from the server on path 0

    def from_srv(frame):
        accepted.append(outer_len(frame))
        return frame

    # Pass 1: three flows from Host A while no path is up: sent on path 0 anyway.
    ups = [udp_from_a(40001 + i, i) for i in range(3)]
    outs = [translated(u, src=TUN_ADDR) for u in ups]
    nums = [tx.data(o) for o in outs]
    cases.append(Case("gw-mp: 3 UDP flows from Host A before any path is up -> sent on path 0 "
                      "(the first with a route), path_seq 0, 1, 2, counted sent_no_path_up",
                      ps.frames(LAN, [lan_in(u) for u in ups]),
                      [gw_encap_expected(o, n, f"flow {i + 1} frame")
                       for i, (o, n) in enumerate(zip(outs, nums))],
                      {"encapsulated": 3, "nat_in2out": 3, "sent_no_path_up": 3}))

    # Pass 17: the answer to probe 1 (sent after pass 16), announcing the server's session; the
    # main lcore takes it after pass 32, adopts the session and, with up_after = 1, publishes
    # the path up.
    fill = ps.to_pass(PATH, 17)
    reply = from_srv(probe_reply_1())
    cases.append(Case("gw-mp: probe_reply to probe 1 (pass 17), announcing the server's session "
                      "-> consumed, session adopted; the path goes up (up_after = 1) and, once "
                      "nothing comes for dead_after_ms, down again",
                      fill + ps.frames(PATH, [reply]), [],
                      {"probe_replies_received": 1, "path_changes": 2, "peer_sessions": 1},
                      checks=[G.new_session_logged(SRV_SESSION)]))

    # Pass 33, the path is up. A loss report from the server naming path_seq 1 of worker 0:
    # frame 2 again, flag retransmit, same stream and stream_seq, the next path_seq (3).
    fill = ps.to_pass(PATH, 33)
    fb1 = from_srv(server_feedback([(0, 0, nums[1]["pseq"], 1)], pseq=0))
    resent = tx.resend(nums[1]["stream"], nums[1]["sseq"])
    cases.append(Case("gw-mp: feedback from the server naming (worker 0, path 0, path_seq 1, 1) "
                      "-> flow 2's frame resent: flag retransmit, its stream and stream_seq, "
                      "path_seq 3, inner packet byte for byte",
                      fill + ps.frames(PATH, [fb1]),
                      [gw_encap_expected(outs[1], resent, "retransmitted flow 2 frame")],
                      {"feedback_received": 1, "retransmits": 1, "encapsulated": 1}))
    fb2 = from_srv(server_feedback([(0, 0, 40, 2)], pseq=1))
    cases.append(Case("gw-mp: feedback naming path_seq 40-41, never sent -> nothing resent, "
                      "2 retransmit_misses",
                      ps.frames(PATH, [fb2]), [],
                      {"feedback_received": 1, "retransmit_misses": 2}))

    # The server's frames, path_seq 0, 1, then 3: path_seq 2 lost on the way. The gateway
    # reports it at the end of the pass: one feedback frame to the server, on path 0.
    reps = [udp_to_a(40001 + i, i) for i in range(3)]
    d = [from_server(bytes(reps[0]), srv.hdr(bytes(reps[0]))),
         from_server(bytes(reps[1]), srv.hdr(bytes(reps[1])))]
    lost = srv.lose()
    d.append(from_server(bytes(reps[2]), srv.hdr(bytes(reps[2]))))
    cases.append(Case("gw-mp: data frames from the server with path_seq 0, 1, 3 (2 lost) -> all "
                      "three to Host A; feedback to the server (worker 0, path 0, first_missing "
                      "2, missing 1) on path 0 at the end of the pass",
                      ps.frames(PATH, [from_srv(f) for f in d]),
                      [Exp(LAN, lan_out(IP(translated(r, dst=HOST_A))), what=f"reply {i + 1}")
                       for i, r in enumerate(reps)] +
                      [gw_feedback_expected([(0, 0, lost, 1)], "feedback for path_seq 2")],
                      {"decapsulated": 3, "nat_out2in": 3, "feedback_sent": 1}))

    # A second copy of reply 1 (the server resent it: flag retransmit, a new path_seq).
    h1 = F.parse_mpf(d[0][F.MPF:F.BODY])
    dup = from_server(bytes(reps[0]), srv.hdr(n=srv.resend(h1["stream"], h1["sseq"])))
    cases.append(Case("gw-mp: reply 1 again (retransmit flag, new path_seq, its stream_seq) -> "
                      "dropped duplicate",
                      ps.frames(PATH, [from_srv(dup)]), [],
                      {"decapsulated": 1, "drops.duplicate": 1}))

    # Reordering within one pass: stream_seq k, k+2, k+1 of one stream (path_seq in arrival
    # order: the reordering happened across paths, not on this one) -> delivered k, k+1, k+2.
    more = [udp_to_a(40001, 10 + i) for i in range(3)]
    nm = [srv.data(bytes(p)) for p in more]
    nm[1]["pseq"], nm[2]["pseq"] = nm[2]["pseq"], nm[1]["pseq"]
    ro = [from_server(bytes(more[i]), srv.hdr(n=nm[i])) for i in (0, 2, 1)]
    lan_more = [lan_out(IP(translated(p, dst=HOST_A))) for p in more]
    cases.append(Case(f"gw-mp: stream_seq {nm[0]['sseq']}, {nm[2]['sseq']}, {nm[1]['sseq']} of "
                      f"one stream -> the second held, delivered {nm[0]['sseq']}, "
                      f"{nm[1]['sseq']}, {nm[2]['sseq']} in order",
                      ps.frames(PATH, [from_srv(f) for f in ro]),
                      [Exp(LAN, f, what=f"reply {nm[i]['sseq']}") for i, f in enumerate(lan_more)],
                      {"decapsulated": 3, "nat_out2in": 3, "reorder_held": 1},
                      checks=[order_check(LAN, lan_more, "reordered replies")]))

    # Far behind the window's head (more than its history, 2 x 2048): stale.
    st = dict(nm[0], sseq=(nm[2]["sseq"] + 1 - 5000) & M32, pseq=srv.take_pseq())
    stale = from_server(bytes(udp_to_a(40001, 20)), srv.hdr(n=st))
    cases.append(Case("gw-mp: a frame 5000 stream_seqs behind the head -> dropped stale",
                      ps.frames(PATH, [from_srv(stale)]), [],
                      {"decapsulated": 1, "drops.stale": 1}))

    # (The server's restart, a new session with its numbers from 0 again: session_cases.)

    # Pass 34 (after the retransmit of pass 33): a new flow with the path up: path_seq 4, no
    # sent_no_path_up.
    fill = ps.to_pass(LAN, 34)
    u4 = udp_from_a(40004, 4)
    o4 = translated(u4, src=TUN_ADDR)
    cases.append(Case("gw-mp: a 4th flow once the path is up -> path_seq 4 (after the "
                      "retransmit's 3), not counted sent_no_path_up",
                      fill + ps.frames(LAN, [lan_in(u4)]),
                      [gw_encap_expected(o4, tx, "flow 4 frame")],
                      {"encapsulated": 1, "nat_in2out": 1}))
    cases.append(Case(f"gw-mp: {ps.fillers} filler frames placing the others in their passes -> "
                      f"eth_not_for_us", [], [], {"drops.eth_not_for_us": ps.fillers}))
    return Scenario("gw-mp", "gateway", mp_gateway_config(), cases, tunnel_ports=(PATH,),
                    extra_checks=[("gw-mp: probes: probe_seq 1, 2, ...; rx counters of what the "
                                   "gateway took from the server on path 0; srtt 0 (no RTT "
                                   "sample)", G.probe_check(accepted))])


# ---- gw-mp-budget: the retransmit budget ----------------------------------------------------------

def scenario_gw_budget(n=50, fit=46, size=1420):
    """multipath.retransmit_budget = 1 (%): the budget refills at 1% of 100 Mbit/s (no path
    max_rate: 125 kB/s, a 1420-byte packet per 11.4 ms) on top of its 64 KiB burst, so a loss
    report for 50 packets of 1420 bytes gets 46 of them resent and 4 over the budget, whether
    the budget counts the inner packets (46 x 1420 = 65320; a 47th needs 1204 bytes more) or
    what the frames carry, compact (1420 - 11 = 1409: 46 x 1409 = 64814; a 47th needs 687
    bytes more), however the lcore is scheduled (short of a 5.5 ms stall inside the loop)."""
    cases = []
    ps = Passes()
    tx = Numbering()
    big = [IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x4B00 + i, flags="DF") /
           UDP(sport=40100, dport=9) / Raw(bytes([i]) * (size - 28)) for i in range(n)]
    outs = [translated(b, src=TUN_ADDR) for b in big]
    nums = [tx.data(o) for o in outs]
    cases.append(Case(f"gw-mp-budget: {n} packets of {size} bytes from Host A -> {n} frames, "
                      f"path_seq 0..{n - 1}",
                      ps.frames(LAN, [lan_in(b) for b in big]),
                      [gw_encap_expected(o, m, f"packet {i}") for i, (o, m) in
                       enumerate(zip(outs, nums))],
                      {"encapsulated": n + fit, "nat_in2out": n, "sent_no_path_up": n}))
    fill = ps.to_pass(PATH, 17)
    cases.append(Case("gw-mp-budget: probe_reply to probe 1, announcing the server's session "
                      "-> adopted, the path goes up",
                      fill + ps.frames(PATH, [probe_reply_1()]), [],
                      {"probe_replies_received": 1, "peer_sessions": 1}))
    fill = ps.to_pass(PATH, 33)
    resent = [tx.resend(m["stream"], m["sseq"]) for m in nums[:fit]]
    cases.append(Case(f"gw-mp-budget: feedback naming all {n} (path_seq 0, missing {n}) -> the "
                      f"first {fit} resent (64 KiB burst), path_seq {n}..{n + fit - 1}; "
                      f"{n - fit} retransmit_over_budget",
                      fill + ps.frames(PATH, [server_feedback([(0, 0, 0, n)], pseq=0)]),
                      [gw_encap_expected(outs[i], m, f"resent packet {i}")
                       for i, m in enumerate(resent)],
                      {"feedback_received": 1, "retransmit_over_budget": n - fit}))
    cases.append(Case(f"gw-mp-budget: retransmits counts the frames resent ({fit}), not the "
                      f"ones over the budget", [], [], {"retransmits": fit}))
    cases.append(Case(f"gw-mp-budget: {ps.fillers} filler frames -> eth_not_for_us", [], [],
                      {"drops.eth_not_for_us": ps.fillers}))
    return Scenario("gw-mp-budget", "gateway", mp_gateway_config("retransmit_budget = 1;"), cases,
                    tunnel_ports=(PATH,))


# ---- gw-mp-nopath: loss report while no path is up ------------------------------------------------

def scenario_gw_nopath():
    """A loss report arrives while no path is up (no probe answered): resend() finds no path
    and sends nothing. Nothing was resent, so nothing may be counted as resent."""
    cases = []
    tx = Numbering()
    u = udp_from_a(40001, 0)
    o = translated(u, src=TUN_ADDR)
    cases.append(Case("gw-mp-nopath: a UDP frame from Host A (no path up) -> path 0, path_seq 0",
                      [(LAN, lan_in(u))], [gw_encap_expected(o, tx, "frame")],
                      {"encapsulated": 1, "nat_in2out": 1, "sent_no_path_up": 1}))
    cases.append(G.announce_case("gw-mp-nopath", Numbering(MAIN_LCORE)))
    cases.append(Case("gw-mp-nopath: feedback naming path_seq 0 while no path is up -> taken, "
                      "nothing resent",
                      [(PATH, server_feedback([(0, 0, 0, 1)], pseq=0))], [],
                      {"feedback_received": 1}))
    srv = Numbering(epoch=SRV_SESSION.epoch)
    reps = [udp_to_a(40001, i) for i in range(2)]
    f0 = from_server(bytes(reps[0]), srv.hdr(bytes(reps[0])))
    srv.lose()
    f1 = from_server(bytes(reps[1]), srv.hdr(bytes(reps[1])))
    cases.append(Case("gw-mp-nopath: data frames from the server with path_seq 0, 2 (1 lost) "
                      "while no path is up -> both to Host A; the loss report goes out on the "
                      "first path with a route anyway, as data does",
                      [(PATH, f0), (PATH, f1)],
                      [Exp(LAN, lan_out(IP(translated(r, dst=HOST_A))), what=f"reply {i}")
                       for i, r in enumerate(reps)] +
                      [gw_feedback_expected([(0, 0, 1, 1)], "feedback for path_seq 1")],
                      {"decapsulated": 2, "nat_out2in": 2, "feedback_sent": 1}))
    cases.append(Case("gw-mp-nopath: retransmits counts no frame (none was resent)", [], [],
                      {"retransmits": 0}))
    return Scenario("gw-mp-nopath", "gateway", G.gateway_config(), cases, tunnel_ports=(PATH,))


# ---- gw-mp-bad-bodies: control frames with a body of the wrong length ------------------------------

def scenario_gw_bad_bodies():
    """protocol.md 3: a probe_reply whose body is not 44 bytes is dropped (tunnel_bad_length),
    whatever its tag: the session it would announce is in the body."""
    cases = []

    def reply_hdr(pseq, ts):
        return mpf_header(T_PROBE_REPLY, epoch=SRV_SESSION.epoch, stream=MAIN_LCORE << 8,
                          pseq=pseq, ts=ts)
    empty = from_server(b"", reply_hdr(0, 5))
    long_ = from_server(probe_body(1, sess=SRV_SESSION), reply_hdr(1, 6))
    v1 = from_server(probe_reply_body(1)[:20], reply_hdr(2, 7))
    cases.append(Case("gw-bad-body: probe_reply with an empty body (the first v1 builds), one "
                      "with a 56-byte (probe) body and one with v1's 20-byte body -> dropped "
                      "tunnel_bad_length",
                      [(PATH, empty), (PATH, long_), (PATH, v1)], [],
                      {"drops.tunnel_bad_length": 3}))
    cases.append(Case("gw-bad-body: ... and not counted as probe replies received, no session "
                      "adopted", [], [], {"probe_replies_received": 0, "peer_sessions": 0}))
    return Scenario("gw-bad-body", "gateway", G.gateway_config(), cases, tunnel_ports=(PATH,))


# ---- gw-mp-feedback-entries: a feedback frame with a bad entry -----------------------------------

def scenario_gw_feedback_entries():
    """A feedback frame whose second entry names a sender worker the gateway does not have: the
    whole frame is refused (feedback_bad), nothing of it is served."""
    cases = [G.announce_case("gw-fb-entry", Numbering(MAIN_LCORE)),
             Case("gw-fb-entry: feedback with entries (worker 0, path 0, 7, 1) and (worker 3, "
                  "path 0, 7, 1) on a one-worker gateway -> the frame dropped feedback_bad, "
                  "nothing resent or looked up",
                  [(PATH, server_feedback([(0, 0, 7, 1), (3, 0, 7, 1)], pseq=0))], [],
                  {"feedback_received": 0, "retransmit_misses": 0, "drops.feedback_bad": 1})]
    return Scenario("gw-fb-entry", "gateway", G.gateway_config(), cases, tunnel_ports=(PATH,))


# ---- gw-progress: progress reports (missing 0 entries, protocol.md 3.3) ---------------------------

def scenario_gw_progress():
    """multipath.progress_interval_ms = 10: while data frames arrive, the gateway reports the
    highest path_seq it got from each (server worker, path): one report at the end of the first
    pass that heard frames, the next no sooner than 10 ms later, none while nothing new comes.
    And the gateway takes the server's progress entries as feedback, resending nothing."""
    srv = Numbering(epoch=SRV_SESSION.epoch)
    tx = Numbering()
    cases = [G.announce_case("gw-progress", Numbering(MAIN_LCORE))]
    # Pass 1: four flows from Host A (their NAT sessions take the replies below).
    ups = [udp_from_a(40101 + i, 40 + i) for i in range(4)]
    outs = [translated(u, src=TUN_ADDR) for u in ups]
    cases.append(Case("gw-progress: 4 UDP flows from Host A -> sent on path 0, path_seq 0..3",
                      [(LAN, lan_in(u)) for u in ups],
                      [gw_encap_expected(o, tx.data(o), f"flow {i + 1} frame")
                       for i, o in enumerate(outs)],
                      {"encapsulated": 4, "nat_in2out": 4, "sent_no_path_up": 4}))
    # Pass 17 (after the announcement): the server's progress entries, then its replies.
    cases.append(Case("gw-progress: the server's progress entries (worker 0, path 0, highest 3: "
                      "all four arrived) and one beyond what was sent (highest 5000: ignored) "
                      "-> taken as feedback: no drop, nothing resent",
                      [(PATH, server_feedback([(0, 0, 3, 0)], pseq=0)),
                       (PATH, server_feedback([(0, 0, 5000, 0)], pseq=1))], [],
                      {"feedback_received": 2, "retransmits": 0, "retransmit_misses": 0}))
    reps = [udp_to_a(40101 + i, 30 + i) for i in range(4)]
    d = [from_server(bytes(r), srv.hdr(bytes(r))) for r in reps]
    lan = [lan_out(IP(translated(r, dst=HOST_A))) for r in reps]
    fill = filler(BURST - 2 - 3)
    cases.append(Case("gw-progress: 3 data frames from the server (worker 0, path 0, path_seq "
                      "0..2) in one pass -> delivered; at the end of that pass a progress report "
                      "to the server: feedback (worker 0, path 0, highest 2, missing 0)",
                      [(PATH, f) for f in d[:3]] + [(PATH, f) for f in fill],
                      [Exp(LAN, f, what=f"reply {i + 1}") for i, f in enumerate(lan[:3])] +
                      [gw_feedback_expected([(0, 0, 2, 0)], "first progress report", pseq=0)],
                      {"decapsulated": 3, "nat_out2in": 3, "drops.eth_not_for_us": len(fill)}))
    cases.append(Case("gw-progress: a 4th data frame (path_seq 3) in the next pass -> delivered; "
                      "its report waits for the interval: a second progress report (highest 3), "
                      "and no third (nothing new since)",
                      [(PATH, d[3])],
                      [Exp(LAN, lan[3], what="reply 4"),
                       gw_feedback_expected([(0, 0, 3, 0)], "second progress report", pseq=1)],
                      {"decapsulated": 1, "nat_out2in": 1, "feedback_sent": 2}))
    return Scenario("gw-progress", "gateway",
                    G.gateway_config(extra="multipath = { progress_interval_ms = 10; };"), cases,
                    tunnel_ports=(PATH,))


# ---- gw-expedite: the inner TCP's retransmissions go prompt (docs/multipath.md) ----------------

def tcp_from_a(seq, payload=b"", flags="PA", i=0):
    return IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x2E00 + i) / \
        TCP(sport=40500, dport=8080, flags=flags, seq=seq, ack=7) / Raw(payload)


def scenario_gw_expedite(mode="always"):
    """One TCP flow from Host A (aggregate mode, equalisation on, no path up: everything on path
    0). With multipath.expedite_resends = "always" a segment that ends at or before the highest
    sequence the flow sent is the inner TCP's retransmission: it leaves prompt, on the flow's
    prompt stream (numbered there), not on its bulk stream. "off" (the default), and
    "failover" when no path of the server has gone down: the same segments, the
    retransmissions numbered on the bulk stream like any segment."""
    on = mode == "always"
    name = "gw-expedite" if on else f"gw-expedite-{mode}"
    tx = Numbering()
    segs = [tcp_from_a(1000, b"a" * 100, i=0),      # new: 1000..1100
            tcp_from_a(1100, b"b" * 100, i=1),      # new: ..1200
            tcp_from_a(1000, b"a" * 100, i=2),      # the first again: a retransmission
            tcp_from_a(1200, flags="A", i=3),       # a pure ACK: no payload, never a resend
            tcp_from_a(1200, b"c" * 100, i=4),      # new: ..1300
            tcp_from_a(1100, b"b" * 50, i=5),       # part of the second again: a resend
            tcp_from_a(1250, b"d" * 100, i=6)]      # overlaps the end: new bytes, not a resend
    resent = (2, 5) if on else ()
    outs = [bytes(translated(x, src=TUN_ADDR)) for x in segs]
    exp = []
    for i, o in enumerate(outs):
        if i in resent:
            n = tx.data(o, stream=stream_of(o, prompt=True))
            n["flags"] = F_PROMPT
            what = f"segment {i + 1}: a retransmission, prompt on the flow's prompt stream"
        elif i == 3:
            n = tx.data(o)
            assert n["flags"] == F_PROMPT  # prompt_acks, the default
            what = f"segment {i + 1}: a pure ACK, prompt on the prompt stream (prompt_acks)"
        else:
            n = tx.data(o)
            what = f"segment {i + 1}: on the flow's bulk stream"
        exp.append(gw_encap_expected(o, n, what))
    assert stream_of(outs[0], prompt=True) != stream_of(outs[0])
    if on:
        title = (f"{name}: 7 segments of one TCP flow, 2 of them resends (the first segment "
                 "again; the first half of the second) -> those 2 prompt on the prompt stream "
                 "(stream_seq 0 and 2 there: the pure ACK between them is prompt too, "
                 "prompt_acks), the other 4 on the bulk stream (stream_seq 0..3), a segment "
                 "overlapping the flow's end among them")
    else:
        title = (f"{name}: the same 7 segments with expedite_resends = {mode} (no path went "
                 "down) -> 6 on the bulk stream, stream_seq 0..5, only the pure ACK prompt")
    cases = [Case(title, [(LAN, lan_in(x)) for x in segs], exp,
                  {"encapsulated": 7, "nat_in2out": 7, "sent_no_path_up": 7,
                   "resends_expedited": len(resent)})]
    cfg = f'multipath = {{ expedite_resends = "{mode}"; }};' if mode != "off" else ""
    return Scenario(name, "gateway", G.gateway_config(extra=cfg), cases, tunnel_ports=(PATH,))


def scenario_gw_expedite_off():
    return scenario_gw_expedite("off")


def scenario_gw_expedite_failover():
    return scenario_gw_expedite("failover")


# ---- gw-prompt-acks: a split flow's pure ACKs go prompt, everything else is equalised --------

def scenario_gw_prompt_acks(on=True):
    """One TCP flow from Host A (aggregate mode, equalisation on, one path). With
    multipath.prompt_acks (the default) a pure ACK (no payload, none of SYN, FIN, RST) goes
    prompt on the flow's prompt stream: the far end delivers it at once. A SYN, a FIN and an
    RST carry no payload either but are not pure ACKs, and a segment with data is data: those
    stay on the bulk stream, unmarked (equalised). prompt_acks = false: all on the bulk
    stream."""
    name = "gw-prompt-acks" if on else "gw-prompt-acks-off"
    tx = Numbering()
    segs = [tcp_from_a(1000, flags="S", i=0x10),            # SYN
            tcp_from_a(1001, flags="A", i=0x11),            # pure ACK
            tcp_from_a(1001, b"q" * 64, flags="PA", i=0x12),  # data
            tcp_from_a(1065, flags="A", i=0x13),            # pure ACK
            tcp_from_a(1065, flags="FA", i=0x14),           # FIN (an ACK too, but not pure)
            tcp_from_a(1066, flags="R", i=0x15),            # RST
            tcp_from_a(1066, flags="A", i=0x16)]            # pure ACK
    acks = (1, 3, 6) if on else ()
    outs = [bytes(translated(x, src=TUN_ADDR)) for x in segs]
    exp = []
    for i, o in enumerate(outs):
        prompt = i in acks
        n = tx.data(o, stream=stream_of(o, prompt=prompt))
        n["flags"] = F_PROMPT if prompt else 0
        kind = ("SYN", "pure ACK", "data", "pure ACK", "FIN", "RST", "pure ACK")[i]
        where = "prompt on the prompt stream" if prompt else "unmarked on the bulk stream"
        exp.append(gw_encap_expected(o, n, f"segment {i + 1} ({kind}): {where}"))
    if on:
        title = (f"{name}: SYN, ACK, data, ACK, FIN, RST, ACK of one TCP flow -> the 3 pure ACKs "
                 "prompt on the prompt stream (stream_seq 0..2 there), SYN, data, FIN, RST "
                 "on the bulk stream (0..3)")
    else:
        title = (f"{name}: the same 7 segments with prompt_acks = false -> all unmarked on the "
                 "bulk stream, stream_seq 0..6")
    cases = [Case(title, [(LAN, lan_in(x)) for x in segs], exp,
                  {"encapsulated": 7, "nat_in2out": 7, "tcp_resends": 0})]
    cfg = "" if on else "multipath = { prompt_acks = false; };"
    return Scenario(name, "gateway", G.gateway_config(extra=cfg), cases, tunnel_ports=(PATH,))


def scenario_gw_prompt_acks_off():
    return scenario_gw_prompt_acks(on=False)


# ---- srv-mp: the server's side: path up from probes, loss reports, retransmit -------------------

def scenario_srv_multipath():
    cases = []
    ps = Passes()
    gw0 = Numbering(0, epoch=GW_SESSION.epoch)   # the gateway's workers 0 and 1
    gw1 = Numbering(1, epoch=GW_SESSION.epoch)
    tx = Numbering()                   # the server's worker 0
    path0 = []

    def from_gw(frame):
        path0.append(outer_len(frame))
        return frame

    ph, pr = S.probe(Numbering(MAIN_LCORE), probe_seq=1, ts=0x00C0FFEE)
    pr = from_gw(pr)
    cases.append(Case("srv-mp: probe 1 (pass 1), announcing the gateway's session -> adopted "
                      "(after pass 16), learned, probe_reply; the path is up: heard, and the "
                      "gateway's report is fresh",
                      ps.frames(TUN, [pr]), [S.probe_reply_expected(ph, 1, path0, 0)],
                      {"probe_replies_sent": 1, "peer_sessions": 1},
                      checks=[S.new_session_logged(GW_SESSION)]))

    # Pass 17 (the main lcore published the path up after pass 16): the gateway's frames with
    # path_seq gaps, from its workers 0 and 1: one feedback frame per sender worker.
    fill = ps.to_pass(TUN, 17)
    a = [IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=0x3A00 + i) / UDP(sport=41001 + i, dport=53) /
         Raw(b"srv-mp-%d" % i) for i in range(4)]
    fr = [from_gateway(bytes(a[0]), gw0.hdr(bytes(a[0]))),
          from_gateway(bytes(a[1]), gw0.hdr(bytes(a[1])))]
    lost0 = gw0.lose(n=2)
    fr.append(from_gateway(bytes(a[2]), gw0.hdr(bytes(a[2]))))
    fr.append(from_gateway(bytes(a[3]), gw1.hdr(bytes(a[3]), n=None)))  # worker 1: pseq 0
    lost1 = gw1.lose(n=5)
    a5 = IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=0x3A05) / UDP(sport=41005, dport=53) / \
        Raw(b"srv-mp-5")
    fr.append(from_gateway(bytes(a5), gw1.hdr(bytes(a5))))
    ins = a + [a5]
    cases.append(Case("srv-mp: the gateway's frames, worker 0 path_seq 0, 1, 4 and worker 1 "
                      "path_seq 0, 6 -> all five to the WAN; two feedback frames to the gateway's "
                      "path 0 (one per sender worker): (0, 0, 2, 2) and (1, 0, 1, 5)",
                      fill + ps.frames(TUN, [from_gw(f) for f in fr]),
                      [Exp(WAN, wan_out(IP(translated(p, src=SRV_PUB))), what=f"packet {i}")
                       for i, p in enumerate(ins)] +
                      [srv_feedback_expected([(0, 0, lost0, 2)], "feedback for worker 0",
                                             pseq=0),
                       srv_feedback_expected([(1, 0, lost1, 5)], "feedback for worker 1",
                                             pseq=1)],
                      {"decapsulated": 5, "nat_in2out": 5, "feedback_sent": 2}))

    # Pass 18, WAN: replies, sent on the up path (no sent_no_path_up).
    fill = ps.to_pass(WAN, 18)
    reps = [IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x9A00 + i) / UDP(sport=53, dport=41001 + i) /
            Raw(b"srv-mp-reply-%d" % i) for i in range(2)]
    routs = [translated(r, dst=TUN_ADDR) for r in reps]
    rn = [tx.data(o) for o in routs]
    cases.append(Case("srv-mp: two WAN replies -> tunnel frames on the up path 0, path_seq 0, 1",
                      fill + ps.frames(WAN, [wan_in(r) for r in reps]),
                      [srv_encap_expected(o, n, f"reply {i}") for i, (o, n) in
                       enumerate(zip(routs, rn))],
                      {"encapsulated": 2, "nat_out2in": 2}))

    # Pass 19, t0: the gateway reports the server's path_seq 1 lost: resent, path_seq 2.
    fill = ps.to_pass(TUN, 19)
    fb = from_gateway(feedback_body([(0, 0, rn[1]["pseq"], 1)]),
                      mpf_header(T_FEEDBACK, epoch=GW_SESSION.epoch, ts=99,
                                 pseq=gw0.ctl(T_FEEDBACK)))
    again = tx.resend(rn[1]["stream"], rn[1]["sseq"])
    cases.append(Case("srv-mp: feedback from the gateway naming the server's (worker 0, path 0, "
                      "path_seq 1) -> reply 1 resent: flag retransmit, path_seq 2",
                      fill + ps.frames(TUN, [from_gw(fb)]),
                      [srv_encap_expected(routs[1], again, "resent reply 1")],
                      {"feedback_received": 1, "retransmits": 1, "encapsulated": 1}))
    cases.append(Case(f"srv-mp: {ps.fillers} filler frames -> eth_not_for_us", [], [],
                      {"drops.eth_not_for_us": ps.fillers}))
    return Scenario("srv-mp", "server", S.server_config(), cases,
                    extra_checks=[("srv-mp: no data frame counted sent_no_path_up (the path was "
                                   "up)", lambda r: None if r.counter("sent_no_path_up") == 0
                                   else f"sent_no_path_up {r.counter('sent_no_path_up')}")])


# ---- srv-mp-learn: a probe with a bad body teaches nothing -----------------------------------------

def scenario_srv_bad_probe_learning():
    """protocol.md 6: only frames that pass every check teach an address. A probe whose body is
    not 56 bytes is dropped (tunnel_bad_length) and must not move the path."""
    gw_main = Numbering(MAIN_LCORE)
    cases = [S.announce_case("srv-probe-learn", gw_main, [])]
    udp = IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=0x2001) / UDP(sport=40001, dport=5353) / \
        Raw(b"mpf-udp")
    cases.append(Case("srv-probe-learn: data frame from the gateway (10.5.0.2:4500) -> WAN",
                      [(TUN, from_gateway(bytes(udp),
                                          Numbering(epoch=GW_SESSION.epoch).hdr(bytes(udp))))],
                      [Exp(WAN, wan_out(IP(translated(udp, src=SRV_PUB))), what="UDP on WAN")],
                      {"decapsulated": 1, "nat_in2out": 1}))
    ph = probe_hdr(pseq=gw_main.ctl(T_PROBE), ts=1)
    cases.append(Case("srv-probe-learn: probe with an empty body (tag right) from "
                      "203.0.113.68:6000 -> dropped tunnel_bad_length, no reply",
                      [(TUN, from_gateway(b"", ph, src_ip="203.0.113.68", sport=6000))], [],
                      {"drops.tunnel_bad_length": 1}))
    cases.append(Case("srv-probe-learn: filler frames -> eth_not_for_us",
                      [(WAN, f) for f in filler(3000)], [], {"drops.eth_not_for_us": 3000}))
    urep = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x8001) / UDP(sport=5353, dport=40001) / \
        Raw(b"mpf-udp-reply")
    cases.append(Case("srv-probe-learn: the bad probe did not move the path: the WAN reply goes "
                      "to 10.5.0.2:4500",
                      [(WAN, wan_in(urep))],
                      [srv_encap_expected(translated(urep, dst=TUN_ADDR), Numbering(),
                                          "UDP reply frame")],
                      {"encapsulated": 1, "nat_out2in": 1},
                      checks=[lambda r: None if r.counter("paths_learned") == 1 else
                              f"paths_learned = {r.counter('paths_learned')}, want 1"]))
    return Scenario("srv-probe-learn", "server", S.server_config(), cases)


# ---- mw-gw-reorder: holds that run out, late frames, duplicates ------------------------------------

def scenario_mw_reorder():
    """Two workers. The server's frames arrive on path RX queue 0 (a pipe: worker 0 blocks in
    read() between stages) on stream 0x0204, whose reorder window worker 1 owns: each is handed
    to worker 1, which delivers them (port forward 8080: no NAT session, no second handoff) and
    keeps expiring its windows while the harness waits. No path is up, so a hold lasts
    multipath.reorder_max_ms (100 ms).
      stage 0: the server's probe_reply announcing its session; the harness waits until the
               main lcore adopted it;
      stage 1: stream_seq 0, 2, 1 -> delivered 0, 1, 2 (2 held until 1 came);
      stage 2: 3, 5 -> 3 delivered, 5 held; the harness waits for the hold to run out
               (reorder_timeouts 1): 5 delivered, at least 100 ms after 3;
      stage 3: 4 (its gap was given up: delivered late), 5 and 0 again (duplicates)."""
    stream = M.CROSS_STREAM[0]
    assert reorder_owner(stream, M.WORKERS) == 1
    srv = Numbering(stream >> 8, epoch=SRV_SESSION.epoch)
    segs = [IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8C00 + i, flags="DF") /
            TCP(sport=50300, dport=8080, flags="PA", seq=1000 + 10 * i, ack=1) /
            Raw(b"segment %d" % i) for i in range(6)]
    nums = [srv.data(stream=stream) for _ in segs]   # stream_seq 0..5
    lan = [M.lan_exp(translated(s, dst=HOST_A), 1, f"segment {i}") for i, s in enumerate(segs)]
    order = []   # arrival order on the pipe: path_seq follows it

    def frame(i, stage, again=False):
        """Segment i's frame in stage `stage`; path_seq in arrival order (no loss on the path:
        the reordering happened across paths); again: a second copy (flag retransmit)."""
        n = dict(nums[i], pseq=len(order), flags=F_RETRANSMIT if again else 0)
        order.append(i)
        return (PATH, from_server(bytes(segs[i]), srv.hdr(n=n)), 0, stage)

    st0 = [frame(0, 1), frame(2, 1), frame(1, 1)]
    st1 = [frame(3, 2), frame(5, 2)]
    st2 = [frame(4, 3), frame(5, 3, again=True), frame(0, 3, again=True)]
    # The PMD reads a pipe with blocking stdio: rx_burst returns once it has a whole burst.
    # Each stage is filled up to one.
    pad = [(PATH, f, 0, st + 1) for st, n in enumerate((3, 2, 3)) for f in filler(BURST - n)]

    def stats_reach(**want):
        def cond(ctx):
            st = ctx.stats()
            for k, v in want.items():
                if st.get(k) != v:
                    return f"{k} {st.get(k)} (want {v})"
            if not ctx.blocked_in_fifo(0):
                return "worker 0 back in read() on its pipe"
            return None
        return cond

    out_order = [lan[i].data for i in (0, 1, 2, 3, 5, 4)]

    def held_long_enough(res):
        frames = res.out.get(LAN, [])
        ts = res.out_ts.get(LAN, [])
        t = {}
        for i in (3, 5):
            if lan[i].data not in frames:
                return f"segment {i} missing"
            t[i] = ts[frames.index(lan[i].data)]
        held = t[5] - t[3]
        return None if held >= 0.099 else (f"segment 5 left {held * 1000:.1f} ms after segment 3: "
                                           f"held less than the 100 ms hold")

    cases = [
        M.announce_gw("mw-gw-reorder"),
        Case("mw-gw-reorder: stage 1: stream_seq 0, 2, 1 on path RX queue 0, window on worker 1 "
             "-> handed over, 2 held, delivered 0, 1, 2 by worker 1",
             st0, [lan[0], lan[1], lan[2]], {"reorder_held": 1}),
        Case("mw-gw-reorder: stage 2: 3 then 5 -> 3 delivered, 5 held until its hold (100 ms, "
             "no path up) runs out, then delivered (one hold timeout)",
             st1, [lan[3], lan[5]], {"reorder_held": 1, "reorder_timeouts": 1},
             checks=[held_long_enough]),
        Case("mw-gw-reorder: stage 3: 4 after its gap was given up -> delivered late; 5 and 0 "
             "again -> dropped duplicate",
             st2, [lan[4]], {"reorder_late": 1, "drops.duplicate": 2},
             checks=[order_check(LAN, out_order, "segments")]),
        Case("mw-gw-reorder: counters: 8 frames decapsulated and handed to worker 1, 6 "
             "translated", [], [],
             {"decapsulated": 8, "nat_out2in": 6, "handoff_sent": 8, "handoff_received": 8}),
        Case(f"mw-gw-reorder: {len(pad)} filler frames completing the stages' bursts -> "
             f"eth_not_for_us", pad, [], {"drops.eth_not_for_us": len(pad)}),
    ]
    return Scenario("mw-gw-reorder", "gateway", M.mw_gateway_config(), cases,
                    tunnel_ports=(PATH,), workers=M.WORKERS, rx_queues=2, fifos={(PATH, 0)},
                    stage_waits=[M.session_adopted(),
                                 stats_reach(nat_out2in=3, reorder_held=1),
                                 stats_reach(nat_out2in=5, reorder_timeouts=1)])


# ---- mw-gw-shaper: a shaped path's AQM drops ------------------------------------------------------

# The shaper scenarios' frames: 1066 bytes on the wire (Ethernet included), whatever the
# tunnel overhead: inner packets of 999 bytes + 53 of overhead (compact) + 14 of Ethernet.
SHAPED_FRAME = 1066
SHAPED_SIZE = SHAPED_FRAME - F.ETH - F.COMPACT_OVERHEAD
assert SHAPED_SIZE == 999


def scenario_mw_shaper(size=SHAPED_SIZE):
    """paths[5g].max_rate = 64k: each of the two workers shapes its share, 4000 B/s, with a
    3200-byte bucket; multipath.max_queue_ms 50 lets 200 bytes wait. (size: the inner packets';
    999 bytes + 53 of tunnel overhead (compact) + 14 of Ethernet = 1066-byte frames.) Host A's
    frames arrive on LAN RX queue 0 (a pipe, worker 0) and belong to worker 1 (inside owner), which
    sends them and keeps releasing its queue while the harness waits.
      stage 0: six 1066-byte frames of one flow: three pass the bucket, the fourth waits in the
               queue, the fifth and sixth find it over the limit: shaper_queue_full (before a
               path_seq is spent: congestion for the inner TCP to see, not a loss to report).
               The harness waits until the fourth has left (266 ms at 4000 B/s).
      stage 1: a seventh frame of the flow: the next path_seq (4), and the next stream_seq
               (4): the frames the AQM dropped never went out, so the receiver must not wait for
               their stream_seqs."""
    owner = 1
    sport = M.find_ports(HOST_A, "udp", owner, 42000)[0]
    ext = M.PART.share(owner)[0]
    pk = [IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x5C00 + i) / UDP(sport=sport, dport=53) /
          Raw(bytes([0x30 + i]) * (size - 28)) for i in range(7)]
    out = [translated(p, src=TUN_ADDR, sport=ext) for p in pk]
    st0 = [(LAN, lan_in(p), 0, 0) for p in pk[:6]] + \
        [(LAN, f, 0, 0) for f in filler(BURST - 6)]
    st1 = [(LAN, lan_in(pk[6]), 0, 1)] + [(LAN, f, 0, 1) for f in filler(BURST - 1)]

    def fourth_left(ctx):
        ports, st = ctx.telemetry("/mpf/ports") or {}, ctx.stats()
        sent = ports.get("5g", {}).get("tx_packets", 0) - st.get("probes_sent", 0)
        if st.get("drops", {}).get("shaper_queue_full") != 2:
            return f"shaper_queue_full {st.get('drops', {}).get('shaper_queue_full')} (want 2)"
        if sent < 4:
            return f"{sent} data frames out on 5g (want 4: the queued one released)"
        return None if ctx.blocked_in_fifo(0) else "worker 0 back in read() on its pipe"

    exp0 = [M.gw_encap(o, owner, f"frame {i + 1}", sseq=i) for i, o in enumerate(out[:4])]

    def paced(res):
        """Frame 4 waited for the bucket: 1066 - 2 bytes at 4000 B/s, 266 ms after frame 3."""
        frames, ts = res.out.get(PATH, []), res.out_ts.get(PATH, [])
        t = []
        for e in exp0[2:]:
            hit = [i for i, f in enumerate(frames) if masked_equal(e, f)]
            if not hit:
                return None  # reported as missing already
            t.append(ts[hit[0]])
        gap = t[1] - t[0]
        return None if gap >= 0.26 else f"frame 4 left {gap * 1000:.0f} ms after frame 3, " \
            f"want >= 266 ms (the bucket's pace)"

    cases = [
        Case("mw-gw-shaper: stage 0: six 1066-byte frames of one flow on worker 1's 4000 B/s "
             "share (3200-byte bucket, 200 bytes of queue) -> three sent, one queued and sent "
             "when the bucket allows, two dropped shaper_queue_full; stream_seq and path_seq "
             "0..3",
             st0, exp0, {"drops.shaper_queue_full": 2}, checks=[paced]),
        Case("mw-gw-shaper: stage 1: a seventh frame -> path_seq 4 and stream_seq 4 (no gap for "
             "the frames the AQM dropped)",
             st1, [M.gw_encap(out[6], owner, "frame 7", sseq=4)], {}),
        Case("mw-gw-shaper: counters: 7 frames handed to worker 1 and translated, 5 "
             "encapsulated, all 7 sent with no path up", [], [],
             {"nat_in2out": 7, "encapsulated": 5, "handoff_sent": 7, "handoff_received": 7,
              "sent_no_path_up": 7}),
        Case(f"mw-gw-shaper: {2 * BURST - 7} filler frames completing the stages' bursts -> "
             f"eth_not_for_us", [], [], {"drops.eth_not_for_us": 2 * BURST - 7}),
    ]
    cfg = M.mw_gateway_config().replace('mtu = 1500; }', 'mtu = 1500; max_rate = "64k"; }')
    assert 'max_rate = "64k"' in cfg
    return Scenario("mw-gw-shaper", "gateway", cfg, cases, tunnel_ports=(PATH,),
                    workers=M.WORKERS, rx_queues=2, fifos={(LAN, 0)}, stage_waits=[fourth_left])


def frames_left(n):
    """Stage wait: n data frames out on 5g, and worker 0 blocked on its LAN pipe again."""
    def wait(ctx):
        ports, st = ctx.telemetry("/mpf/ports") or {}, ctx.stats()
        sent = ports.get("5g", {}).get("tx_packets", 0) - st.get("probes_sent", 0)
        if sent < n:
            return f"{sent} data frames out on 5g (want {n})"
        return None if ctx.blocked_in_fifo(0) else "worker 0 back in read() on its pipe"
    return wait


# The shaper scenarios': six data frames out on 5g (the queued three released, at 4000 B/s).
six_left = frames_left(6)


# ---- mw-gw-shaper-redundant: the AQM spares redundant-mode frames --------------------------------

def scenario_mw_shaper_redundant(size=SHAPED_SIZE):
    """As mw-gw-shaper (worker 1 shapes 5g at 4000 B/s, 3200-byte bucket, 200 bytes of queue
    allowed), but the flow matches a `redundant` policy rule (udp 16384-32767, as the example
    configs' VoIP rule). Redundant mode is the operator saying "this must not be lost": when a
    path dies its frames have one copy left, on the surviving path, and that path's queue is
    over the limit with the failover's resends and the bulk flows moving over. The AQM, which
    is there to tell a congestion-controlled bulk flow to slow down, must not drop them.
    With one path up, redundant mode sends both copies on it (a lone lossy path would lose
    what its loss report or resend loses too).
      stage 0: six 1066-byte datagrams of the flow, each twice: three frames pass the bucket,
               the fourth waits in the fast lane, the other eight in the bulk lane, over the
               limit: queued, not dropped. All twelve leave, paced (~2.4 s): datagram i as
               stream_seq i, path_seq 2i (the original) and 2i+1 (flagged duplicate), prompt."""
    owner = 1
    sport = M.find_ports(HOST_A, "udp", owner, 42000)[0]
    ext = M.PART.share(owner)[0]
    pk = [IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x5E00 + i) / UDP(sport=sport, dport=20000) /
          Raw(bytes([0x60 + i]) * (size - 28)) for i in range(6)]
    out = [bytes(translated(p, src=TUN_ADDR, sport=ext)) for p in pk]
    st0 = [(LAN, lan_in(p), 0, 0) for p in pk] + [(LAN, f, 0, 0) for f in filler(BURST - 6)]

    def enc(inner, i, dup):
        frame = M.fast_tunnel(GW_PATH_MAC, NH_5G_MAC, GW_PATH_IP, SRV_TUN_IP,
                              data_body(inner, GW_TO_SRV,
                                        stream=stream_of(inner, owner, prompt=True),
                                        sseq=i, pseq=2 * i + dup,
                                        flags=F_PROMPT | (F_DUPLICATE if dup else 0)) +
                              bytes(F.TAG_LEN))
        what = f"datagram {i + 1}, " + ("its copy" if dup else "original")
        return Exp(PATH, frame, TUNNEL_MASK, what, [outer_ip_checksum_ok], txq=owner)

    # Without the exemption the AQM dropped frames 5 and 6 (shaper_queue_full 2), and the
    # benchmark's redundant UDP lost 13-23 datagrams a run after WiFi died (std, bbr download).
    cases = [
        Case("mw-gw-shaper-redundant: six 1066-byte datagrams of a redundant-mode flow on "
             "worker 1's 4000 B/s share (200 bytes of queue allowed), one path -> each sent "
             "twice on it, nine frames after waiting over the limit; no shaper_queue_full; "
             "stream_seq 0..5, path_seq 0..11",
             st0, [enc(o, i, dup) for i, o in enumerate(out) for dup in (0, 1)],
             {"fast_lane": 1}),
        Case("mw-gw-shaper-redundant: counters: 6 translated, 12 encapsulated, 6 copies (both "
             "on the one path), no AQM drop", [], [],
             {"nat_in2out": 6, "encapsulated": 12, "redundant_copies": 6,
              "drops.shaper_queue_full": 0}),
        Case(f"mw-gw-shaper-redundant: {BURST - 6} filler frames completing the burst -> "
             f"eth_not_for_us", [], [], {"drops.eth_not_for_us": BURST - 6}),
    ]
    cfg = M.mw_gateway_config().replace('mtu = 1500; }', 'mtu = 1500; max_rate = "64k"; }')
    assert 'max_rate = "64k"' in cfg and "policy" not in cfg
    cfg += ('\npolicy = ( { match = { proto = "udp"; dst_port = "16384-32767"; }; '
            'mode = "redundant"; } );\n')
    return Scenario("mw-gw-shaper-redundant", "gateway", cfg, cases, tunnel_ports=(PATH,),
                    workers=M.WORKERS, rx_queues=2, fifos={(LAN, 0)}, stage_waits=[frames_left(12)])


# ---- mw-gw-fastlane: a sparse flow jumps the bulk queue; path_seq in wire order ----------------

def scenario_mw_fastlane(size=SHAPED_SIZE):
    """As mw-gw-shaper (worker 1 shapes 5g at 4000 B/s, 3200-byte bucket), with
    multipath.max_queue_ms 600 so two frames may wait in the bulk lane.
      stage 0: five 1066-byte frames of flow A: three pass the bucket; the fourth finds the
               queue empty and flow A with nothing queued, so it waits in the fast lane; the
               fifth waits in the bulk lane (A now has a frame queued). Then one frame of flow
               B, which has nothing queued (a sparse flow): fast lane, behind A4, and out
               before A5, which was queued before it. path_seq is stamped as frames leave, so
               the wire carries 0..3 (A1-A4), 4 (B1), 5 (A5): the receiver sees no gap,
               whatever order the frames were queued in. The harness waits until all six have
               left (~800 ms at 4000 B/s)."""
    owner = 1
    sa = M.find_ports(HOST_A, "udp", owner, 42000)[0]
    # A's port is outside the owner's share: it gets the share's first port. B's is inside, past
    # that one: kept.
    ext_a = M.PART.share(owner)[0]
    sb = M.find_ports(HOST_A, "udp", owner, ext_a + 1, pred=M.in_share(owner))[0]
    pa = [IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x5D00 + i) / UDP(sport=sa, dport=5000) /
          Raw(bytes([0x40 + i]) * (size - 28)) for i in range(5)]
    pb = IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x5D10) / UDP(sport=sb, dport=5001) / \
        Raw(b"\x55" * (size - 28))
    oa = [bytes(translated(p, src=TUN_ADDR, sport=ext_a)) for p in pa]
    ob = bytes(translated(pb, src=TUN_ADDR, sport=sb))
    fa, fb = F.flow_hash(*F.flow_key(oa[0])), F.flow_hash(*F.flow_key(ob))
    assert fa % 1024 != fb % 1024, "flows A and B share a sparse-flow bucket: pick other ports"
    st0 = [(LAN, lan_in(p), 0, 0) for p in pa] + [(LAN, lan_in(pb), 0, 0)] + \
        [(LAN, f, 0, 0) for f in filler(BURST - 6)]

    def enc(inner, sseq, pseq, what):
        frame = M.fast_tunnel(GW_PATH_MAC, NH_5G_MAC, GW_PATH_IP, SRV_TUN_IP,
                              data_body(inner, GW_TO_SRV, stream=stream_of(inner, owner),
                                        sseq=sseq, pseq=pseq, flags=data_flags(inner)) +
                              bytes(F.TAG_LEN))
        return Exp(PATH, frame, TUNNEL_MASK, what, [outer_ip_checksum_ok], txq=owner)

    exp = [enc(oa[i], i, i, f"A{i + 1}") for i in range(4)] + [enc(ob, 0, 4, "B1"),
                                                                  enc(oa[4], 4, 5, "A5")]

    def b_first(res):
        """B1 left before A5, which was queued before it."""
        frames = res.out.get(PATH, [])
        at = []
        for e in exp[4:]:
            hit = [i for i, f in enumerate(frames) if masked_equal(e, f)]
            if not hit:
                return None  # reported as missing already
            at.append(hit[0])
        return None if at == sorted(at) else f"wire positions of B1, A5: {at} (want B1 first)"

    cases = [
        Case("mw-gw-fastlane: five frames of flow A (A4 in the fast lane, A5 in the bulk "
             "lane), then one of flow B (nothing queued: fast lane) -> B leaves before A5; "
             "path_seq 0..5 in wire order; fast_lane 2",
             st0, exp, {"fast_lane": 2}, checks=[b_first]),
        Case(f"mw-gw-fastlane: {BURST - 6} filler frames completing the burst -> eth_not_for_us",
             [], [], {"drops.eth_not_for_us": BURST - 6}),
    ]
    cfg = M.mw_gateway_config().replace('mtu = 1500; }', 'mtu = 1500; max_rate = "64k"; }')
    assert 'max_rate = "64k"' in cfg
    cfg += "\nmultipath = { max_queue_ms = 600; };\n"
    return Scenario("mw-gw-fastlane", "gateway", cfg, cases, tunnel_ports=(PATH,),
                    workers=M.WORKERS, rx_queues=2, fifos={(LAN, 0)}, stage_waits=[six_left])


# ---- mw-gw-expedite: a TCP resend takes the fast lane while it has room, then the AQM -------------

def scenario_mw_expedite(size=SHAPED_SIZE):
    """As mw-gw-shaper (worker 1 shapes 5g at 4000 B/s, 3200-byte bucket, 200 bytes of bulk
    queue allowed; the fast lane holds 3200 bytes: three frames), one TCP flow of 1066-byte
    frames (TCP payload 959), multipath.expedite_resends = "always".
      stage 0: S1-S3 pass the bucket; S4 (new, the flow has nothing queued) waits in the fast
               lane. Then the inner TCP's resends: R1 (S1 again) and R2 (S2 again) go prompt
               on the flow's prompt stream into the fast lane, behind S4; R3 (S3 again) finds
               the fast lane full: bulk lane, over the AQM limit: dropped (shaper_queue_full),
               not spending a stream_seq. The wire: S1-S4 (bulk stream 0..3), R1, R2 (prompt
               stream 0, 1), path_seq 0..5 as they leave (~800 ms at 4000 B/s)."""
    owner = 1
    sport = M.find_ports(HOST_A, "tcp", owner, 42000)[0]
    ext = M.PART.share(owner)[0]
    pay = size - 40
    seqs = [1000 + pay * i for i in range(4)]
    segs = [IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x5F00 + i) /
            TCP(sport=sport, dport=8080, flags="PA", seq=seqs[i % 4] if i < 4 else seqs[i - 4],
                ack=7) / Raw(bytes([0x70 + i % 4]) * pay) for i in range(7)]
    out = [bytes(translated(p, src=TUN_ADDR, sport=ext)) for p in segs]
    assert len(out[0]) == size
    st0 = [(LAN, lan_in(p), 0, 0) for p in segs] + [(LAN, f, 0, 0) for f in filler(BURST - 7)]

    def enc(inner, sseq, pseq, what, prompt=False):
        frame = M.fast_tunnel(GW_PATH_MAC, NH_5G_MAC, GW_PATH_IP, SRV_TUN_IP,
                              data_body(inner, GW_TO_SRV,
                                        stream=stream_of(inner, owner, prompt=prompt),
                                        sseq=sseq, pseq=pseq,
                                        flags=F_PROMPT if prompt else data_flags(inner)) +
                              bytes(F.TAG_LEN))
        return Exp(PATH, frame, TUNNEL_MASK, what, [outer_ip_checksum_ok], txq=owner)

    exp = [enc(out[i], i, i, f"S{i + 1}") for i in range(4)] + \
        [enc(out[4], 0, 4, "R1 (S1 resent): prompt stream", prompt=True),
         enc(out[5], 1, 5, "R2 (S2 resent): prompt stream", prompt=True)]
    cases = [
        Case("mw-gw-expedite: S1-S4 of a TCP flow (S4 queued in the fast lane), then resends of "
             "S1, S2, S3 -> R1, R2 prompt in the fast lane behind S4; R3 finds it full: bulk "
             "lane, dropped by the AQM; wire S1-S4, R1, R2, path_seq 0..5",
             st0, exp, {"resends_expedited": 3, "fast_lane": 3, "drops.shaper_queue_full": 1}),
        Case("mw-gw-expedite: counters: 7 translated, 6 encapsulated", [], [],
             {"nat_in2out": 7, "encapsulated": 6}),
        Case(f"mw-gw-expedite: {BURST - 7} filler frames completing the burst -> eth_not_for_us",
             [], [], {"drops.eth_not_for_us": BURST - 7}),
    ]
    cfg = M.mw_gateway_config().replace('mtu = 1500; }', 'mtu = 1500; max_rate = "64k"; }')
    assert 'max_rate = "64k"' in cfg and "multipath" not in cfg
    cfg += '\nmultipath = { expedite_resends = "always"; };\n'
    return Scenario("mw-gw-expedite", "gateway", cfg, cases, tunnel_ports=(PATH,),
                    workers=M.WORKERS, rx_queues=2, fifos={(LAN, 0)}, stage_waits=[six_left])


# ---- mw-gw-resends: the inner TCP's resends counted, and counted when the AQM drops them ----------

def scenario_mw_resends(size=SHAPED_SIZE):
    """Worker 1 shapes 5g at 4000 B/s (3200-byte bucket), multipath.max_queue_ms 400 (an AQM
    limit of 1600 queued bytes), fast_lane off (one lane: what the AQM sees is plain), one TCP
    flow of 1066-byte frames, expedite_resends off (the default).
      stage 0: S1-S3 pass the bucket; S4, S5 queue (1066, then 2132 bytes); S6 (new data)
               finds 2132 > 1600: dropped. Then the inner TCP's resends of S1, S2 and S6, all
               three dropped like new data (tcp_resends 3, resends_shaper_dropped 3), nothing
               expedited. S6 never left, but the spotter saw it before the AQM dropped it, so
               its second sending is a resend too. A pure ACK in between is no resend (no
               payload) and, bulk like the rest of its flow, is dropped as well.
               The wire: S1-S5, stream_seq and path_seq 0..4."""
    owner = 1
    sport = M.find_ports(HOST_A, "tcp", owner, 42100)[0]
    ext = M.PART.share(owner)[0]
    pay = size - 40
    seqs = [1000 + pay * i for i in range(6)]
    order = [0, 1, 2, 3, 4, 5, 0, 1, None, 5]  # S1-S6, S1, S2 again, a pure ACK, S6 again
    segs = [IP(src=HOST_A, dst=HOST_B, ttl=64, id=0x5D00 + i) /
            (TCP(sport=sport, dport=8080, flags="PA", seq=seqs[j], ack=7) /
             Raw(bytes([0x50 + j]) * pay) if j is not None else
             TCP(sport=sport, dport=8080, flags="A", seq=seqs[5] + pay, ack=9))
            for i, j in enumerate(order)]
    out = [bytes(translated(p, src=TUN_ADDR, sport=ext)) for p in segs]
    assert len(out[0]) == size
    st0 = [(LAN, lan_in(p), 0, 0) for p in segs] + \
        [(LAN, f, 0, 0) for f in filler(BURST - len(segs))]

    def enc(inner, seq, what):
        frame = M.fast_tunnel(GW_PATH_MAC, NH_5G_MAC, GW_PATH_IP, SRV_TUN_IP,
                              data_body(inner, GW_TO_SRV, stream=stream_of(inner, owner),
                                        sseq=seq, pseq=seq, flags=data_flags(inner)) +
                              bytes(F.TAG_LEN))
        return Exp(PATH, frame, TUNNEL_MASK, what, [outer_ip_checksum_ok], txq=owner)

    exp = [enc(out[i], i, f"S{i + 1}") for i in range(5)]
    cases = [
        Case("mw-gw-resends: S1-S6 of a TCP flow on a 4000 B/s path with 1600 bytes of queue "
             "allowed (S6 dropped by the AQM), then S1, S2, a pure ACK, S6 again -> the three "
             "resends counted and dropped like new data, the ACK dropped; wire S1-S5",
             st0, exp, {"tcp_resends": 3, "resends_shaper_dropped": 3, "resends_expedited": 0,
                        "drops.shaper_queue_full": 5}),
        Case("mw-gw-resends: counters: 10 translated, 5 encapsulated", [], [],
             {"nat_in2out": 10, "encapsulated": 5}),
        Case(f"mw-gw-resends: {BURST - 10} filler frames completing the burst -> eth_not_for_us",
             [], [], {"drops.eth_not_for_us": BURST - 10}),
    ]
    cfg = M.mw_gateway_config().replace('mtu = 1500; }', 'mtu = 1500; max_rate = "64k"; }')
    assert 'max_rate = "64k"' in cfg and "multipath" not in cfg
    cfg += "\nmultipath = { fast_lane = false; max_queue_ms = 400; };\n"
    return Scenario("mw-gw-resends", "gateway", cfg, cases, tunnel_ports=(PATH,),
                    workers=M.WORKERS, rx_queues=2, fifos={(LAN, 0)},
                    stage_waits=[frames_left(len(exp))])


# ---- srv-nopath: nothing learned yet ---------------------------------------------------------------

def scenario_srv_nopath():
    """A server that has not heard from the gateway has no path to it (protocol.md 6)."""
    pf = IP(src=HOST_B, dst=SRV_PUB, ttl=64, id=0x8D00, flags="DF") / \
        TCP(sport=50000, dport=8080, flags="S", seq=500, window=64240, options=syn_options(1380))
    cases = [Case("srv-nopath: WAN SYN to the port forward before any path of the gateway is "
                  "learned -> translated, then dropped tunnel_no_path",
                  [(WAN, wan_in(pf))], [], {"nat_out2in": 1, "drops.tunnel_no_path": 1})]
    return Scenario("srv-nopath", "server", S.server_config(), cases)


SCENARIOS = [scenario_gw_multipath, scenario_gw_budget, scenario_gw_nopath,
             scenario_gw_bad_bodies, scenario_gw_feedback_entries, scenario_gw_progress,
             scenario_gw_expedite, scenario_gw_expedite_off, scenario_gw_expedite_failover,
             scenario_gw_prompt_acks, scenario_gw_prompt_acks_off,
             scenario_srv_multipath,
             scenario_srv_bad_probe_learning, scenario_mw_reorder, scenario_mw_shaper,
             scenario_mw_shaper_redundant,
             scenario_mw_fastlane, scenario_mw_expedite, scenario_mw_resends,
             scenario_srv_nopath]
