"""Peer sessions and frame authentication (wire format v3, lib/tunnel/auth.hpp): what a receiver
does with the peer's frames before and after the peer announced its session, with tags that do
not verify, with replays of control frames, with an announcement of an older session (a replay
from before the current one) and with a newer one (the peer restarted: a new salt, epoch and
key, its numbers from 0 again).

One lcore, and the tunnel port's RX queue is a pipe fed in stages (harness.py), so that which
checks happen in which loop pass, and how far apart in time, is a fact:
- the main lcore adopts an announced session when it runs, after every 16th pass: a stage is 16
  bursts (512 frames, fillers completing it), and the frames of a session come a stage after its
  announcement;
- a new session's tag is checked at most once per ms per lcore, against the time its loop pass
  began (DPDK's rx_burst blocks on the pipe only after that): every stage after the first
  begins with a burst of fillers, so that the passes reading its frames begin after the
  harness's wait, which lasts at least SESSION_GAP_S after the previous stage's check.
"""
import time

from frames import *  # noqa: F401,F403
from harness import Case, Scenario, masked_equal
import frames as F
import gateway_cases as G
import server_cases as S

LAN, PATH = 0, 1
WAN, TUN = 0, 1
BURST = 32
STAGE = 16 * BURST    # frames per stage: 16 passes, then the main lcore's turn
SESSION_GAP_S = 0.005  # the harness waits this long after a stage's checks are done

# A session announced in the same loop pass as another one (tunnel_session_limited): newer
# than the sessions of frames.py, so that the main lcore would adopt it if it got through.
SRV_OTHER = Session(S2G, b"server-session-C", 0x7C7C, START_MS + 30_000)
GW_OTHER = Session(G2S, b"gateway-sessionC", 0x7C7C, START_MS + 30_000)


class Stages:
    """The frames of one pipe-fed port, stage by stage (see the module docstring): begin() a
    stage (a burst of fillers first, except in stage 0: the first case of the stage takes
    them, as the harness writes a stage's frames in case order), add() frames, end() completes
    it with fillers; fillers counts them all."""

    def __init__(self, port):
        self.port = port
        self.n = []
        self.fillers = 0

    def begin(self):
        self.n.append(0)
        return self.fill(BURST) if len(self.n) > 1 else []

    def add(self, *frames):
        st = len(self.n) - 1
        self.n[st] += len(frames)
        assert self.n[st] <= STAGE, f"stage {st}: more than {STAGE} frames"
        return [(self.port, f, 0, st) for f in frames]

    def fill(self, k):
        self.fillers += k
        return self.add(*filler(k))

    def end(self):
        return self.fill(STAGE - self.n[-1])


def reached(**want):
    """Stage wait: the counters (telemetry /mpf/stats; "drops.REASON" for a drop) have these
    values, and SESSION_GAP_S has passed since they had."""
    state = {}

    def cond(ctx):
        st = ctx.stats()
        for k, v in want.items():
            got = st.get("drops", {}).get(k[6:]) if k.startswith("drops.") else st.get(k)
            if got != v:
                return f"{k} {got} (want {v})"
        t = state.setdefault("t", time.monotonic())
        if time.monotonic() - t < SESSION_GAP_S:
            return f"{SESSION_GAP_S * 1000:.0f} ms between new-session checks"
        return None
    return cond


# ---- gw-session ---------------------------------------------------------------------------------

def scenario_gw_session():
    cases = []
    st = Stages(PATH)
    srv = Numbering(epoch=SRV_SESSION.epoch)       # the server's worker 0, session A
    srv_main = Numbering(MAIN_LCORE)               # its probe replies on path 0
    srv_b = Numbering(epoch=SRV_RESTART.epoch)     # after its restart, session B
    fb_ctr = Numbering(0)                          # its worker 0's feedback frames
    accepted = []  # outer lengths of what the gateway takes from the server (its probes' counters)

    def syn(i, sport=50100, seq=0):
        """An inbound SYN to the port forward 100.64.0.7:8080: no NAT session needed."""
        return IP(src=HOST_B, dst=TUN_ADDR, ttl=60, id=0x8E00 + i, flags="DF") / \
            TCP(sport=sport + i, dport=8080, flags="S", seq=500 + seq, window=64240,
                options=syn_options(1380))

    def to_a(pkt, what):
        return Exp(LAN, lan_out(IP(translated(pkt, dst=HOST_A))), what=what)

    def took(frame):
        accepted.append(outer_len(frame))
        return frame

    # ---- stage 0: no session yet -------------------------------------------------------------
    s1 = syn(1)
    d1 = from_server(bytes(s1), srv.hdr(bytes(s1)))
    ann_a = probe_reply_in(0, pseq=srv_main.ctl(T_PROBE_REPLY))
    other = probe_reply_in(0, pseq=0, sess=SRV_OTHER)
    cases.append(Case("gw-session: stage 0: a data frame of the server's session A before any "
                      "session was announced -> tunnel_unknown_session, nothing delivered",
                      st.begin() + st.add(d1), [], {"drops.tunnel_unknown_session": 1}))
    cases.append(Case("gw-session: stage 0: probe_reply announcing session A (salt, start_ms in "
                      "its 44-byte body, tag under the key of that salt) -> adopted by the main "
                      "lcore: peer_sessions, 'new session' logged, taken as a probe reply",
                      st.add(took(ann_a)), [], {"peer_sessions": 1},
                      checks=[G.new_session_logged(SRV_SESSION)]))
    cases.append(Case("gw-session: stage 0: in the same loop pass, a probe_reply announcing "
                      "another (newer) session -> tunnel_session_limited (one new-session check "
                      "per ms per lcore), not adopted",
                      st.add(other), [], {"drops.tunnel_session_limited": 1},
                      checks=[G.new_session_logged(SRV_OTHER, 0)]))
    pad = st.end()

    # ---- stage 1: session A in use -------------------------------------------------------------
    first = st.begin()
    cases.append(Case("gw-session: stage 1 (after a burst of fillers): the same data frame "
                      "again, session A now adopted -> delivered to Host A",
                      first + st.add(took(d1)), [to_a(s1, "SYN 1")],
                      {"decapsulated": 1, "nat_out2in": 1}))
    s2 = syn(2)
    d2 = from_server(bytes(s2), srv.hdr(bytes(s2)))
    cases.append(Case("gw-session: stage 1: a data frame with one bit of its tag flipped -> "
                      "tunnel_bad_tag, nothing delivered; then the same frame with its tag "
                      "right -> delivered once (the bad copy took nothing: no loss report)",
                      st.add(flip_bit(d2, -9, 4), took(d2)), [to_a(s2, "SYN 2")],
                      {"drops.tunnel_bad_tag": 1, "decapsulated": 1, "nat_out2in": 1}))
    s3 = syn(3)
    d3 = from_server(bytes(s3), srv.hdr(bytes(s3)))
    cases.append(Case("gw-session: stage 1: a data frame with one bit of its mpf header "
                      "(stream_seq) flipped, tag as sent -> tunnel_bad_tag (the tag covers the "
                      "header); then the frame as sent -> delivered",
                      st.add(flip_bit(d3, F.MPF + 15, 1), took(d3)), [to_a(s3, "SYN 3")],
                      {"drops.tunnel_bad_tag": 1, "decapsulated": 1, "nat_out2in": 1}))
    reply1 = probe_reply_in(0, pseq=srv_main.ctl(T_PROBE_REPLY), ts=5)
    cases.append(Case("gw-session: stage 1: a probe_reply of session A with its next counter "
                      "(path_seq 1) -> taken; the announcing reply again (the same bytes, "
                      "path_seq 0) -> tunnel_replayed",
                      st.add(took(reply1), ann_a), [], {"drops.tunnel_replayed": 1}))
    fb = server_feedback_frame([(0, 0, 40, 2)], fb_ctr.ctl(T_FEEDBACK))
    cases.append(Case("gw-session: stage 1: feedback of session A naming path_seq 40-41 (never "
                      "sent) -> taken (2 retransmit_misses); the same frame again -> "
                      "tunnel_replayed, nothing looked up",
                      st.add(took(fb), fb), [],
                      {"feedback_received": 1, "retransmit_misses": 2,
                       "drops.tunnel_replayed": 1}))
    old = probe_reply_in(0, pseq=0, sess=SRV_OLD)
    cases.append(Case("gw-session: stage 1: a probe_reply announcing an older session (its own "
                      "salt and epoch, start_ms a minute before A's, tag right) while A was heard "
                      "within 3 s -> tunnel_stale_session (a replayed announcement), not adopted",
                      st.add(old), [], {"drops.tunnel_stale_session": 1},
                      checks=[G.new_session_logged(SRV_OLD, 0)]))
    pad += st.end()

    # ---- stage 2: the server restarts -------------------------------------------------------
    first = st.begin()
    ann_b = probe_reply_in(0, pseq=0, sess=SRV_RESTART)
    cases.append(Case("gw-session: stage 2 (after a burst of fillers): probe_reply announcing "
                      "session B (the server "
                      "restarted: new salt and epoch, start_ms later, its reply counter from 0) "
                      "-> adopted (peer_sessions 2 in all), 'new session' logged",
                      first + st.add(took(ann_b)), [], {"peer_sessions": 1},
                      checks=[G.new_session_logged(SRV_RESTART)]))
    pad += st.end()

    # ---- stage 3: session B in use ------------------------------------------------------------
    first = st.begin()
    b0 = syn(1, seq=1000)  # SYN 1's flow: its stream, where stream_seq 0 was delivered in A
    b1 = syn(4)
    db = [from_server(bytes(p), srv_b.hdr(bytes(p)), sess=SRV_RESTART) for p in (b0, b1)]
    cases.append(Case("gw-session: stage 3 (after a burst of fillers): data frames of session "
                      "B, stream_seq and path_seq from 0 (one on the stream of SYN 1, whose "
                      "stream_seq 0 session A delivered) -> delivered: a new reorder window, no "
                      "duplicate, no loss report",
                      first + st.add(*[took(f) for f in db]),
                      [to_a(b0, "SYN 1 of session B"), to_a(b1, "SYN 4 of session B")],
                      {"decapsulated": 2, "nat_out2in": 2}))
    s5 = syn(5)
    d5 = from_server(bytes(s5), srv.hdr(bytes(s5)))
    cases.append(Case("gw-session: stage 3: a data frame of session A (its next numbers, tag "
                      "right) after B was adopted -> tunnel_unknown_session, nothing delivered",
                      st.add(d5), [], {"drops.tunnel_unknown_session": 1}))
    reply2 = probe_reply_in(0, pseq=srv_main.ctl(T_PROBE_REPLY), ts=6)
    cases.append(Case("gw-session: stage 3: a probe_reply of the old session A (next counter, "
                      "tag right) -> tunnel_stale_session (B is newer and was heard within 3 s)",
                      st.add(reply2), [], {"drops.tunnel_stale_session": 1}))
    pad += st.end()
    cases.append(Case("gw-session: counters: probe_replies_received 3 (A's announcement, its "
                      "reply 1, B's announcement), not the 2 replies refused as stale", [], [],
                      {"probe_replies_received": 3}))
    cases.append(Case(f"gw-session: {st.fillers} filler frames in all (the stages' first "
                      f"bursts, and completing their 16) -> eth_not_for_us", pad, [],
                      {"drops.eth_not_for_us": st.fillers}))
    return Scenario("gw-session", "gateway", G.gateway_config(), cases, tunnel_ports=(PATH,),
                    fifos={(PATH, 0)},
                    stage_waits=[reached(peer_sessions=1),
                                 reached(**{"drops.tunnel_stale_session": 1}),
                                 reached(peer_sessions=2)],
                    extra_checks=[(PROBES_GW, G.probe_check(accepted))])


PROBES_GW = ("gw-session: keepalive probes: probe_seq 1, 2, ...; rx counters of what the gateway "
             "took from the server (not the replies refused as stale)")


def server_feedback_frame(entries, pseq, sess=SRV_SESSION):
    """A feedback frame from the server's worker 0 on path 0, path_seq pseq."""
    return from_server(feedback_body(entries),
                       mpf_header(T_FEEDBACK, epoch=sess.epoch, ts=77, pseq=pseq), sess=sess)


# ---- srv-session ---------------------------------------------------------------------------------

def scenario_srv_session():
    cases = []
    st = Stages(TUN)
    gw = Numbering(epoch=GW_SESSION.epoch)       # the gateway's worker 0, session A
    gw_main = Numbering(MAIN_LCORE)              # its probes on path 0, session A
    gw_b = Numbering(epoch=GW_RESTART.epoch)     # after its restart, session B
    path0 = []  # outer lengths of what the server takes on path 0 (its replies' counters)
    replies = [0]  # the server's replies so far on path 0: the next one's path_seq

    def udp(i, sport=41100):
        return IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=0x2E00 + i) / \
            UDP(sport=sport + i, dport=53) / Raw(b"srv-session %d" % i)

    def wan(pkt, what):
        return Exp(WAN, wan_out(IP(translated(pkt, src=SRV_PUB))), what=what)

    def took(frame):
        path0.append(outer_len(frame))
        return frame

    def answered(ph, probe_seq, first_on_path=False, rx_check=True):
        e = S.probe_reply_expected(ph, probe_seq, path0, len(path0) - 1, pseq=replies[0],
                                   first_on_path=first_on_path, rx_check=rx_check)
        replies[0] += 1
        return e

    # ---- stage 0: no session yet -------------------------------------------------------------
    u1 = udp(1)
    g1 = from_gateway(bytes(u1), gw.hdr(bytes(u1)))
    ph_a, ann_a = S.probe(gw_main, probe_seq=1, ts=0x01000000)
    _, other = S.probe(Numbering(MAIN_LCORE), probe_seq=1, ts=0x01000000, sess=GW_OTHER)
    cases.append(Case("srv-session: stage 0: a data frame of the gateway's session A before any "
                      "session was announced -> tunnel_unknown_session, nothing on the WAN, "
                      "nothing learned",
                      st.begin() + st.add(g1), [], {"drops.tunnel_unknown_session": 1}))
    cases.append(Case("srv-session: stage 0: probe announcing session A (salt, start_ms in its "
                      "56-byte body) -> adopted (peer_sessions, 'new session' logged), the path "
                      "learned from it, probe_reply (path_seq 0)",
                      st.add(took(ann_a)), [answered(ph_a, 1, first_on_path=True)],
                      {"peer_sessions": 1, "probe_replies_sent": 1},
                      checks=[S.new_session_logged(GW_SESSION),
                              lambda r: None if r.counter("paths_learned") == 1 else
                              f"paths_learned {r.counter('paths_learned')}, want 1"]))
    cases.append(Case("srv-session: stage 0: in the same loop pass, a probe announcing another "
                      "(newer) session -> tunnel_session_limited, no reply, not adopted",
                      st.add(other), [], {"drops.tunnel_session_limited": 1},
                      checks=[S.new_session_logged(GW_OTHER, 0)]))
    pad = st.end()

    # ---- stage 1: session A in use -------------------------------------------------------------
    first = st.begin()
    cases.append(Case("srv-session: stage 1 (after a burst of fillers): the same data frame "
                      "again, session A now adopted -> on the WAN",
                      first + st.add(took(g1)), [wan(u1, "UDP 1")],
                      {"decapsulated": 1, "nat_in2out": 1}))
    u2 = udp(2)
    g2 = from_gateway(bytes(u2), gw.hdr(bytes(u2)))
    cases.append(Case("srv-session: stage 1: a data frame with one bit of its tag flipped -> "
                      "tunnel_bad_tag, nothing on the WAN; then the frame with its tag right -> "
                      "on the WAN once (no loss report)",
                      st.add(flip_bit(g2, -1, 7), took(g2)), [wan(u2, "UDP 2")],
                      {"drops.tunnel_bad_tag": 1, "decapsulated": 1, "nat_in2out": 1}))
    cases.append(Case("srv-session: stage 1: the announcing probe again (the same bytes) -> "
                      "tunnel_replayed, no reply",
                      st.add(ann_a), [], {"drops.tunnel_replayed": 1}))
    ph2, p2 = S.probe(gw_main, probe_seq=2, ts=0x01000100)
    cases.append(Case("srv-session: stage 1: probe 2 of session A (its next counter, path_seq "
                      "1) -> probe_reply (path_seq 1); the same probe again -> "
                      "tunnel_replayed, no second reply",
                      st.add(took(p2), p2), [answered(ph2, 2)],
                      {"probe_replies_sent": 1, "drops.tunnel_replayed": 1}))
    worker_probe = from_gateway(probe_body(3, sess=GW_SESSION),
                                mpf_header(T_PROBE, epoch=GW_SESSION.epoch,
                                           pseq=gw_main.ctl(T_PROBE)))
    cases.append(Case("srv-session: stage 1: a probe claiming a worker as its sender (stream "
                      "0x0000; probes come from the main lcore, 0xff) -> tunnel_bad_tag, no "
                      "reply",
                      st.add(worker_probe), [], {"drops.tunnel_bad_tag": 1}))
    _, old = S.probe(Numbering(MAIN_LCORE), probe_seq=9, ts=0x01000200, sess=GW_OLD)
    cases.append(Case("srv-session: stage 1: a probe announcing an older session (its own salt "
                      "and epoch, start_ms a minute before A's, tag right) while A was heard "
                      "within 3 s -> tunnel_stale_session, no reply, not adopted, the path not "
                      "moved",
                      st.add(old), [], {"drops.tunnel_stale_session": 1},
                      checks=[S.new_session_logged(GW_OLD, 0)]))
    pad += st.end()

    # ---- stage 2: the gateway restarts ------------------------------------------------------
    first = st.begin()
    ph_b, ann_b = S.probe(Numbering(MAIN_LCORE), probe_seq=1, ts=0x02000000, sess=GW_RESTART)
    reply_b = answered(ph_b, 1, rx_check=False)
    rx_b = S.reply_rx_counters(path0, len(path0))  # the probe is the next of path0
    cases.append(Case("srv-session: stage 2 (after a burst of fillers): probe announcing "
                      "session B (the gateway restarted: new salt and epoch, start_ms later, its "
                      "probe counter from 0) -> adopted (peer_sessions 2 in all), 'new session' "
                      "logged, probe_reply (the server's path_seq 2)",
                      first + st.add(took(ann_b)), [reply_b],
                      {"peer_sessions": 1, "probe_replies_sent": 1},
                      checks=[S.new_session_logged(GW_RESTART)]))
    pad += st.end()

    def reply_to_b(res):
        for f in res.out.get(TUN, []):
            if masked_equal(reply_b, f):
                return rx_b(f)
        return "no reply to B's probe"
    cases.append(Case("srv-session: the reply to B's probe reports the frames the server took on "
                      "path 0 (rx_frames, rx_bytes), not the stale probe it refused", [], [], {},
                      checks=[reply_to_b]))

    # ---- stage 3: session B in use ------------------------------------------------------------
    first = st.begin()
    b0 = IP(src=TUN_ADDR, dst=HOST_B, ttl=63, id=0x2EB0) / UDP(sport=41101, dport=53) / \
        Raw(b"srv-session B 0")  # UDP 1's flow: its stream
    b1 = udp(4)
    gb = [from_gateway(bytes(p), gw_b.hdr(bytes(p)), sess=GW_RESTART) for p in (b0, b1)]
    cases.append(Case("srv-session: stage 3 (after a burst of fillers): data frames of session "
                      "B, stream_seq and path_seq from 0 (one on the stream of UDP 1, whose "
                      "stream_seq 0 session A delivered) -> on the WAN: a new reorder window, no "
                      "duplicate, no loss report",
                      first + st.add(*[took(f) for f in gb]),
                      [wan(b0, "UDP 1 of session B"), wan(b1, "UDP 4 of session B")],
                      {"decapsulated": 2, "nat_in2out": 2}))
    u5 = udp(5)
    g5 = from_gateway(bytes(u5), gw.hdr(bytes(u5)))
    cases.append(Case("srv-session: stage 3: a data frame of session A (its next numbers, tag "
                      "right) after B was adopted -> tunnel_unknown_session, nothing on the WAN",
                      st.add(g5), [], {"drops.tunnel_unknown_session": 1}))
    _, p3 = S.probe(gw_main, probe_seq=3, ts=0x01000300)
    cases.append(Case("srv-session: stage 3: a probe of the old session A (next counter, tag "
                      "right) -> tunnel_stale_session, no reply",
                      st.add(p3), [], {"drops.tunnel_stale_session": 1}))
    pad += st.end()
    cases.append(Case(f"srv-session: {st.fillers} filler frames in all (the stages' first "
                      f"bursts, and completing their 16) -> eth_not_for_us", pad, [],
                      {"drops.eth_not_for_us": st.fillers}))
    return Scenario("srv-session", "server", S.server_config(), cases, fifos={(TUN, 0)},
                    stage_waits=[reached(peer_sessions=1),
                                 reached(**{"drops.tunnel_stale_session": 1}),
                                 reached(peer_sessions=2)],
                    extra_checks=[("srv-session: the path learned once (the stale and replayed "
                                   "probes did not move it)",
                                   lambda r: None if r.counter("paths_learned") == 1 else
                                   f"paths_learned {r.counter('paths_learned')}, want 1")])


SCENARIOS = [scenario_gw_session, scenario_srv_session]
