// Worker, receiving side of the tunnel (docs/multipath.md): frame validation, per-path loss
// detection and immediate loss reports, and the per-(peer, stream) reorder windows.
#include <rte_mbuf.h>

#include <cstring>

#include "net/bytes.hpp"
#include "net/protocol.hpp"
#include "reorder/hold_time.hpp"
#include "stats/counter.hpp"
#include "worker.hpp"

namespace mpf::dp {

using namespace mpf::net;

Drop Worker::open_frame(Ipv4Packet& outer, tunnel::Header* h, uint8_t** inner,
                        uint32_t* inner_len) {
  uint16_t udp_len = load16(outer.l4 + kUdpLen);
  if (udp_len < kUdpHdrLen + tunnel::kHeaderLen || udp_len > outer.l4_len)
    return udp_len > outer.l4_len ? Drop::tunnel_bad_length : Drop::tunnel_truncated;
  const uint8_t* frame = outer.l4 + kUdpHdrLen;
  const uint32_t frame_len = udp_len - kUdpHdrLen;
  Drop d = tunnel::decode(frame, frame_len, h);
  if (d != Drop::none) return d;
  *inner = outer.l4 + kUdpHdrLen + tunnel::kHeaderLen;
  *inner_len = frame_len - tunnel::kHeaderLen - h->tag_len;
  return Drop::none;
}

Drop Worker::take_inner(rte_mbuf* m, uint16_t peer, uint8_t flags, uint8_t* inner,
                        uint32_t inner_len, Ipv4Packet* ip) {
  if (flags & tunnel::kFlagCompact) {
    // Restore the 20-byte header in place, over the end of the mpf header (read already); the
    // restored packet then takes every check a whole one does.
    if (inner_len < tunnel::kCompactLen || inner_len + tunnel::kCompactSaving > 0xffff)
      return Drop::tunnel_bad_inner;
    tunnel::expand(inner, inner_len, flags, app_.gateway ? tunnel::Direction::server_to_gateway
                                                         : tunnel::Direction::gateway_to_server,
                   gateway_address(peer), inner - tunnel::kCompactSaving);
    inner -= tunnel::kCompactSaving;
    inner_len += tunnel::kCompactSaving;
  }
  // The payload is exactly one inner packet: trailing bytes would be a covert channel past the
  // length checks (docs/protocol.md 7.5).
  if (parse_ipv4(inner, inner_len, ip) != Drop::none || ip->total_len != inner_len)
    return Drop::tunnel_bad_inner;
  rte_pktmbuf_adj(m, uint16_t(inner - rte_pktmbuf_mtod(m, uint8_t*)));
  if (m->data_len > ip->total_len) rte_pktmbuf_trim(m, uint16_t(m->data_len - ip->total_len));
  return Drop::none;
}

// outer is addressed to our tunnel port (the caller checked the gateway's frames come from the
// server's endpoint). Nothing in the frame is used before it passed its checks.
void Worker::tunnel_frame(rte_mbuf* m, const Port& in, Ipv4Packet& outer) {
  tunnel::Header h;
  uint8_t* inner;
  uint32_t inner_len;
  Drop d = open_frame(outer, &h, &inner, &inner_len);
  if (d != Drop::none) return drop(m, d);
  uint16_t peer = 0;
  if (app_.gateway) {
    if (h.tunnel_id != app_.cfg.tunnel.id) return drop(m, Drop::tunnel_unknown_id);
    // A path's frames arrive on that path's port, nowhere else.
    if (h.path_id >= app_.path_ports.size() || app_.path_ports[h.path_id] != in.index)
      return drop(m, Drop::tunnel_bad_path);
  } else {
    if (!app_.peer_by_id(h.tunnel_id, &peer)) return drop(m, Drop::tunnel_unknown_id);
    if (h.path_id >= app_.peers[peer].n_paths) return drop(m, Drop::tunnel_bad_path);
  }
  // The operator's receive impairment of the path: the frame comes back through rx_frame()
  // when its delay is over, and takes every check then.
  if (impaired_rx(m, peer, h.path_id)) return;
  if ((app_.gateway && h.type == tunnel::FrameType::probe) ||
      (!app_.gateway && h.type == tunnel::FrameType::probe_reply))
    return drop(m, Drop::tunnel_bad_type);
  // Nothing in the frame is trusted before its tag verifies (docs/protocol.md 6).
  bool fresh = false, new_session = false;
  d = authenticate(peer, h, outer.l4 + kUdpHdrLen, inner, inner_len, &fresh, &new_session);
  if (d != Drop::none) return drop(m, d);
  PathShared& ps = app_.peers[peer].paths[h.path_id];
  PathCounters& c = path_ctr_[size_t(peer) * kMaxPaths + h.path_id];

  switch (h.type) {
    case tunnel::FrameType::probe:
    case tunnel::FrameType::probe_reply:
      // A probe or reply that is not newer than one already verified on its path is a replay
      // (or so late that its RTT and counters would mislead): the main lcore never sees it.
      if (!fresh) return drop(m, Drop::tunnel_replayed);
      if (new_session) {
        // The main lcore adopts the session, or refuses it (a replay of an older one): then it
        // is no frame of the peer's. It counts the frame, and learns the path from it, if it
        // adopts it.
        app_.meta(m)->peer = peer;
        app_.meta(m)->out_port = kControlUncounted;
        return to_main_local(m, kMetaControl);
      }
      // The server learns where the path is from it.
      if (h.type == tunnel::FrameType::probe) learn_path(in, outer, peer, h.path_id);
      break;
    case tunnel::FrameType::feedback: {
      // One feedback frame names one sender worker (the receiver sends one per sender).
      const uint32_t body_len = inner_len;
      tunnel::FeedbackBody fb;
      if (Drop bad = tunnel::decode(inner, body_len, &fb); bad != Drop::none) return drop(m, bad);
      const unsigned target = fb.entries[0].sender_worker;
      if (target >= app_.n_workers) return drop(m, Drop::feedback_bad);
      if (!fresh) return drop(m, Drop::tunnel_replayed);  // resends only on a new report
      __atomic_store_n(&ps.last_rx_us, now_us_, __ATOMIC_RELAXED);
      bump(c.rx_frames);
      bump(c.rx_bytes, outer.total_len);
      rte_pktmbuf_adj(m, uint16_t(inner - rte_pktmbuf_mtod(m, uint8_t*)));
      if (m->data_len > body_len) rte_pktmbuf_trim(m, uint16_t(m->data_len - body_len));
      app_.meta(m)->peer = peer;
      if (target == index_) return on_feedback(m, peer);
      return handoff(m, target, kMetaFeedback);
    }
    case tunnel::FrameType::data: {
      Ipv4Packet ip;
      d = take_inner(m, peer, h.flags, inner, inner_len, &ip);
      if (d != Drop::none) return drop(m, d);
      if (app_.gateway) {
        if (ip.dst != app_.cfg.tunnel.address) return drop(m, Drop::tunnel_spoofed_inner);
      } else {
        // Not an open relay: a gateway may only send from its own tunnel address.
        if (ip.src != app_.peers[peer].tunnel_addr) return drop(m, Drop::tunnel_spoofed_inner);
        // Only a frame that passed every check, and is newer than any other verified on its
        // stream, may move the path: a replay from elsewhere must not (docs/protocol.md 6).
        if (fresh) learn_path(in, outer, peer, h.path_id);
      }
      __atomic_store_n(&ps.last_rx_us, now_us_, __ATOMIC_RELAXED);
      bump(c.rx_frames);
      bump(c.rx_bytes, outer.total_len);
      note_path_seq(peer, h);
      bump(stats_.decapsulated);
      PktMeta* md = app_.meta(m);
      md->peer = peer;
      md->seq = h.stream_seq;
      md->stream = h.stream_id;
      md->epoch = h.epoch;
      md->release_us = release_time(peer, h);
      md->path = h.path_id;
      const unsigned owner = reorder_owner(peer, h.stream_id);
      if (owner != index_) return handoff(m, owner, kMetaReorder);
      return reorder_push(m);
    }
  }
  // Probes and probe replies: health is the main lcore's (it answers probes, measures RTT,
  // learns paths and adopts a new session of the peer).
  __atomic_store_n(&ps.last_rx_us, now_us_, __ATOMIC_RELAXED);
  bump(c.rx_frames);
  bump(c.rx_bytes, outer.total_len);
  if (h.type == tunnel::FrameType::probe_reply) bump(stats_.probe_replies_received);
  app_.meta(m)->peer = peer;
  app_.meta(m)->out_port = 0;
  to_main_local(m, kMetaControl);
}

// docs/protocol.md 6. frame: the mpf header; body: the payload (frame + kHeaderLen), body_len
// bytes, then the tag. *fresh: the frame's counter is above every one verified on its stream.
// *new_session: a probe / reply announcing a session other than the one in use, whose tag
// verified under that session's key.
Drop Worker::authenticate(uint16_t peer, const tunnel::Header& h, const uint8_t* frame,
                          const uint8_t* body, uint32_t body_len, bool* fresh,
                          bool* new_session) {
  if (h.tag_len != tunnel::kTagLen) return Drop::tunnel_bad_tag;
  const uint8_t sender = uint8_t(h.stream_id >> 8);
  const bool announcing = h.type == tunnel::FrameType::probe ||
                          h.type == tunnel::FrameType::probe_reply;
  // Probes and replies come from the main lcore, the rest from workers 0..7.
  if (announcing ? sender != tunnel::kMainSender : sender >= kMaxSenders)
    return Drop::tunnel_bad_tag;
  PeerAuth& a = app_.peers[peer].auth;
  const uint32_t cur = __atomic_load_n(&a.current, __ATOMIC_ACQUIRE);
  RxSession* s = cur ? &a.rx[cur - 1] : nullptr;
  const size_t len = tunnel::kHeaderLen + body_len;
  const uint8_t* tag = frame + len;
  const uint8_t type = uint8_t(h.type);
  if (announcing) {
    tunnel::SessionAnnounce an;
    if (!session_of(h.type, body, body_len, &an)) return Drop::tunnel_bad_length;
    if (!s || s->epoch != h.epoch || s->salt != an.salt) {
      // A session we do not use: its own frame must verify under the key its salt gives.
      // Deriving that key costs some microseconds: once per ms per lcore at most.
      if (now_tsc_ - last_session_tsc_ < app_.tsc_hz / 1000) return Drop::tunnel_session_limited;
      last_session_tsc_ = now_tsc_;
      scratch_ = tunnel::Sealer(a.psk,
                                app_.gateway ? tunnel::Direction::server_to_gateway
                                             : tunnel::Direction::gateway_to_server,
                                an.salt);
      const uint64_t ctr = tunnel::extend_counter(0, h.path_seq);
      if (!scratch_.open(tunnel::make_nonce(type, sender, h.path_id, ctr), frame, len, tag))
        return Drop::tunnel_bad_tag;
      *fresh = *new_session = true;  // the main lcore decides whether to adopt it
      return Drop::none;
    }
  } else if (!s || s->epoch != h.epoch) {
    return Drop::tunnel_unknown_session;
  }
  // last: the newest counter verified on this stream + 1; 0 = none yet.
  uint64_t& last = s->last[type][sender == tunnel::kMainSender ? kMaxSenders : sender][h.path_id];
  const uint64_t prev = __atomic_load_n(&last, __ATOMIC_RELAXED);
  const uint64_t ctr = tunnel::extend_counter(prev ? prev - 1 : 0, h.path_seq);
  if (!s->sealer.open(tunnel::make_nonce(type, sender, h.path_id, ctr), frame, len, tag))
    return Drop::tunnel_bad_tag;
  *fresh = ctr + 1 > prev;
  if (*fresh) __atomic_store_n(&last, ctr + 1, __ATOMIC_RELAXED);
  return Drop::none;
}

bool Worker::session_of(tunnel::FrameType type, const uint8_t* body, uint32_t len,
                        tunnel::SessionAnnounce* out) {
  if (type == tunnel::FrameType::probe) {
    tunnel::ProbeBody b;
    if (tunnel::decode(body, len, &b) != Drop::none) return false;
    *out = b.session;
  } else {
    tunnel::ProbeReplyBody b;
    if (tunnel::decode(body, len, &b) != Drop::none) return false;
    *out = b.session;
  }
  return true;
}

// Loss per (sender worker, path): a gap in path_seq is reported to the sender at the end of
// this pass, so it can resend within about one round trip.
void Worker::note_path_seq(uint16_t peer, const tunnel::Header& h) {
  const unsigned sender = h.stream_id >> 8;
  if (sender >= kMaxSenders) return;
  PeerRx& r = peer_rx_[peer];
  const unsigned i = sender * kMaxPaths + h.path_id;
  if (r.gap_epoch[i] != h.epoch) {
    r.gaps[i].reset();
    r.gap_epoch[i] = h.epoch;
  }
  recovery::GapResult g = r.gaps[i].observe(h.path_seq);
  r.heard[i] = 1;
  r.heard_any = true;
  if (g.kind != recovery::GapResult::Kind::gap) return;
  bump(path_ctr_[size_t(peer) * kMaxPaths + h.path_id].lost, g.count);
  tunnel::FeedbackBody& fb = r.feedback[sender];
  if (fb.count >= tunnel::kFeedbackMaxEntries) return;  // the rest goes unreported this pass
  tunnel::FeedbackEntry& e = fb.entries[fb.count++];
  e.sender_worker = uint8_t(sender);
  e.path_id = h.path_id;
  e.first_missing = g.first_missing;
  e.missing = uint16_t(g.count > tunnel::kFeedbackMaxMissing ? tunnel::kFeedbackMaxMissing
                                                             : g.count);
  r.feedback_mask |= 1u << sender;
}

// Progress: every progress_interval_ms while a path brings data frames, the highest path_seq
// received from each of its sender workers, so a sender learns within about a round trip that
// a path stopped delivering (docs/multipath.md, "Failover").
void Worker::add_progress(uint16_t peer) {
  PeerRx& r = peer_rx_[peer];
  for (unsigned i = 0; i < r.heard.size(); i++) {
    if (!r.heard[i]) continue;
    const unsigned sender = i / kMaxPaths;
    tunnel::FeedbackBody& fb = r.feedback[sender];
    if (fb.count >= tunnel::kFeedbackMaxEntries) continue;  // full of loss reports: next time
    r.heard[i] = 0;
    fb.entries[fb.count++] = {uint8_t(sender), uint8_t(i % kMaxPaths), r.gaps[i].highest(), 0};
    r.feedback_mask |= 1u << sender;
  }
  r.heard_any = false;
  for (uint8_t h : r.heard) r.heard_any |= h != 0;
  r.progress_due_us = now_us_ + uint64_t(app_.cfg.multipath.progress_interval_ms) * 1000;
}

void Worker::send_feedback() {
  const bool progress = app_.cfg.multipath.progress_interval_ms != 0;
  for (uint16_t peer = 0; peer < peer_rx_.size(); peer++) {
    PeerRx& r = peer_rx_[peer];
    if (progress && r.heard_any && now_us_ >= r.progress_due_us) add_progress(peer);
    if (!r.feedback_mask) continue;
    refresh_views(peer);
    static const sched::Action kLowestRtt{sched::Mode::lowest_rtt, -1};
    PeerTx& t = peer_tx_[peer];
    uint32_t first = t.sched.pick(kLowestRtt, t.views.data(), 0);
    for (uint8_t k = 0; k < app_.peers[peer].n_paths && !first; k++)  // none up: try anyway
      if (route_to_peer(app_, peer, k).ok) first = 1u << k;
    // A lost report is a loss the inner TCP sees after the hold: each goes on a second up
    // path as well (the sender resends a frame once per report: RetransmitSlab::claim()).
    // Reports are a few dozen bytes, a few dozen a second.
    const uint32_t others = t.up_mask & ~first;
    const uint32_t second = others ? 1u << __builtin_ctz(others) : 0;
    for (unsigned s = 0; s < kMaxSenders; s++) {
      if (!(r.feedback_mask >> s & 1)) continue;
      tunnel::FeedbackBody& fb = r.feedback[s];
      // No path up, or no room: the sender's failover covers it.
      if (first) send_feedback_on(peer, fb, uint8_t(__builtin_ctz(first)));
      if (second) send_feedback_on(peer, fb, uint8_t(__builtin_ctz(second)));
      fb.count = 0;
    }
    r.feedback_mask = 0;
  }
}

void Worker::send_feedback_on(uint16_t peer, const tunnel::FeedbackBody& fb, uint8_t k) {
  PathRoute route = route_to_peer(app_, peer, k);
  if (!route.ok) return;
  rte_mbuf* m = rte_pktmbuf_alloc(app_.pool);
  if (!m) {
    bump(stats_.drops[unsigned(Drop::mbuf_exhausted)]);
    return;
  }
  const uint16_t len = uint16_t(tunnel::feedback_len(fb.count));
  uint8_t* body = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, len));
  if (!body || tunnel::encode(fb, body, len) == 0) return drop(m, Drop::mbuf_exhausted);
  tunnel::Header h;
  h.type = tunnel::FrameType::feedback;
  h.path_id = k;
  h.tunnel_id = app_.peers[peer].tunnel_id;
  h.epoch = app_.epoch;
  h.stream_id = uint16_t(index_ << 8);
  h.timestamp_us = uint32_t(now_us_);
  if (!encapsulate(m, route, h, ip_id_++)) return drop(m, Drop::mbuf_exhausted);
  seal_frame(m, app_.peers[peer].auth.tx, peer_tx_[peer].feedback_ctr[k]++);
  bump(stats_.feedback_sent);
  PathCounters& c = path_ctr_[size_t(peer) * kMaxPaths + k];
  bump(c.tx_frames);
  bump(c.tx_bytes, m->pkt_len - kEthHdrLen);
  if (route.mac_known) to_path(m, peer, k, route.port);
  else hold(m, route.port, route.next_hop);
}

// Delay equalisation (reorder/equalizer.hpp): when this data frame may be delivered. Frames the
// sender marked prompt, copies and retransmits go at once (the arrival time).
uint32_t Worker::release_time(uint16_t peer, const tunnel::Header& h) {
  const uint32_t now32 = uint32_t(now_us_);
  constexpr uint8_t kNoHold = tunnel::kFlagPrompt | tunnel::kFlagRetransmit | tunnel::kFlagDuplicate;
  if (h.flags & kNoHold) return now32;  // the sender's multipath.equalize decides
  const int32_t d = int32_t(now32 - h.timestamp_us);
  const int32_t base = peer_rx_[peer].base[h.path_id].observe(d, now_us_);
  refresh_views(peer);
  const PeerTx& t = peer_tx_[peer];
  // A path down for less than kDownPathMemoryUs still sets the floor (equalizer.hpp).
  uint32_t slowest = 0;
  for (unsigned k = 0; k < app_.peers[peer].n_paths; k++)
    if (reorder::sets_floor(t.views[k].up, t.down_since_us[k], now_us_) &&
        t.views[k].owd_us > slowest)
      slowest = t.views[k].owd_us;
  const uint32_t own = t.views[h.path_id].owd_us;
  if (slowest <= own) return now32;
  return now32 + reorder::equalize_hold_us(slowest - own, d, base,
                                           app_.cfg.multipath.reorder_max_ms * 1000);
}

unsigned Worker::reorder_owner(uint16_t peer, uint16_t stream) const {
  uint32_t h = (uint32_t(peer) * 0x9e3779b1u) ^ (uint32_t(stream) * 0x85ebca6bu);
  return (h >> 16) % app_.n_workers;
}

Window* Worker::window_for(uint16_t peer, uint16_t stream) {
  const unsigned sender = stream >> 8, bucket = stream & 0xff;
  const unsigned streams = app_.cfg.multipath.streams;
  if (sender >= kMaxSenders || bucket >= streams) return nullptr;
  Window& w = windows_[size_t(peer) * streams_total_ + sender * streams + bucket];
  return w.w ? &w : nullptr;
}

// m is a validated data frame's inner packet for a stream this worker owns.
void Worker::reorder_push(rte_mbuf* m) {
  const PktMeta md = *app_.meta(m);
  Window* w = window_for(md.peer, md.stream);
  if (!w) return deliver_inner(m);  // a stream id outside what we track: no reordering
  auto deliver = [this, w](void* item) { deliver_in_line(*w, static_cast<rte_mbuf*>(item)); };
  if (w->epoch != md.epoch) {  // the peer restarted: its numbering starts over
    w->w->flush(deliver);
    w->w->reset();
    w->epoch = md.epoch;
  }
  refresh_views(md.peer);
  peer_rx_[md.peer].silence.note(md.path, now_us_);
  const PeerTx& t = peer_tx_[md.peer];
  // The peer resends what we report lost when it keeps copies; we assume it is configured as we
  // are (multipath.retransmit).
  reorder::HoldTime ht(1000, app_.cfg.multipath.reorder_max_ms * 1000,
                       app_.cfg.multipath.retransmit);
  for (unsigned k = 0; k < app_.peers[md.peer].n_paths; k++)
    if (t.views[k].up) ht.add_path(t.views[k].owd_us, t.rttvar_us[k]);
  const reorder::Verdict v = w->w->push(md.seq, m, now_us_, ht.hold_us(), deliver);
  switch (v) {
    case reorder::Verdict::deliver:
      break;
    case reorder::Verdict::held:
      bump(stats_.reorder_held);
      break;
    case reorder::Verdict::late:
      bump(stats_.reorder_late);
      break;
    case reorder::Verdict::duplicate:
      return drop(m, Drop::duplicate);
    case reorder::Verdict::stale:
      return drop(m, Drop::stale);
  }
  if (!w->active && (w->w->held() != 0 || (w->line && !w->line->empty()))) {
    w->active = true;
    active_windows_.push_back(uint32_t(w - windows_.data()));
  }
}

// Out of the reorder window, in order: delivered now, or queued behind the window's delay line
// until its release time (a frame that is due still waits for the ones before it).
void Worker::deliver_in_line(Window& w, rte_mbuf* m) {
  const uint32_t rel = app_.meta(m)->release_us;
  const uint32_t now32 = uint32_t(now_us_);
  reorder::DelayLine* line = w.line.get();
  if (!line || (line->empty() && reorder::due(rel, now32))) return deliver_inner(m);
  if (line->full()) {  // more in flight than the line holds: the oldest goes early, not lost
    bump(stats_.equalize_early);
    deliver_inner(static_cast<rte_mbuf*>(line->pop()));
  }
  if (!reorder::due(rel, now32)) {
    bump(stats_.equalized);
    bump(stats_.equalize_hold_us, rel - now32);
  }
  line->push(m, rel);
}

void Worker::expire_windows() {
  auto deliver = [this](void* item) { deliver_inner(static_cast<rte_mbuf*>(item)); };
  for (size_t i = 0; i < active_windows_.size();) {
    Window& w = windows_[active_windows_[i]];
    if (w.w->next_deadline_us() <= now_us_ && w.w->head() != w.seen_head) {
      w.seen_head = w.w->head();
      w.head_moved_us = now_us_;
    }
    if (w.w->next_deadline_us() <= now_us_ &&
        !hold_waits(uint16_t(active_windows_[i] / streams_total_), w.head_moved_us)) {
      const uint64_t before = w.w->stats().hold_timeouts;
      w.w->expire(now_us_, [this, &w](void* item) { deliver_in_line(w, static_cast<rte_mbuf*>(item)); });
      bump(stats_.reorder_timeouts, w.w->stats().hold_timeouts - before);
    }
    if (w.line) w.line->release(uint32_t(now_us_), deliver);
    if (w.w->held() == 0 && (!w.line || w.line->empty())) {
      w.active = false;
      active_windows_[i] = active_windows_.back();
      active_windows_.pop_back();
    } else {
      i++;
    }
  }
}

// A path of the peer that was bringing data fell silent (reorder/silence_watch.hpp): the gaps
// held now are likely its frames, and the peer's failover resends them. Timeouts wait for
// the failover to start (failover_wait_us()), then while the window's gaps keep filling (its
// head moved within 10 ms: the resends arrive), up to kResendWaitFactor x reorder_max_ms
// after the silence began.
bool Worker::hold_waits(uint16_t peer, uint64_t head_moved_us) {
  bool first = false;
  const bool waits = peer_rx_[peer].silence.waiting(
      app_.peers[peer].n_paths, now_us_,
      [this, peer](unsigned k) { return failover_wait_us(peer, k); },
      uint64_t(kResendWaitFactor) * app_.cfg.multipath.reorder_max_ms * 1000, head_moved_us,
      &first);
  if (first) bump(stats_.reorder_silence_waits);
  return waits;
}

// The peer's failover for a path that died, as its stall detection runs (Worker::silent():
// a probe interval and a margin after our last frame reached it; stall_after_us(): the
// progress interval and the report's way back), or dead_after_ms without progress reports;
// then the resends' way over another path. We assume the peer configured as we are. 0 when
// no other path is up (nowhere to resend); at most reorder_max_ms.
uint64_t Worker::failover_wait_us(uint16_t peer, unsigned path) const {
  const PeerTx& t = peer_tx_[peer];
  const auto& mp = app_.cfg.multipath;
  uint64_t back = 0;
  bool other = false;
  for (unsigned j = 0; j < app_.peers[peer].n_paths; j++)
    if (j != path && t.views[j].up) {
      other = true;
      back = std::max<uint64_t>(back, t.views[j].owd_us + 2 * uint64_t(t.rttvar_us[j]));
    }
  if (!other) return 0;
  const uint64_t detect =
      mp.progress_interval_ms
          ? (uint64_t(mp.probe_interval_ms) + mp.progress_interval_ms) * 1000 + 2 * kStallMarginUs
          : uint64_t(mp.dead_after_ms) * 1000;
  return std::min(detect + 2 * back, uint64_t(mp.reorder_max_ms) * 1000);
}

// In order again: the inner packet continues where the direction takes it.
void Worker::deliver_inner(rte_mbuf* m) {
  Ipv4Packet p;
  Drop d = parse_ipv4(rte_pktmbuf_mtod(m, uint8_t*), m->data_len, &p);
  if (d != Drop::none) return drop(m, d);
  if (app_.gateway) return dispatch_outside(m, p);
  if (app_.is_local(p.dst)) return drop(m, Drop::local_unhandled);
  if (p.ttl <= 1) return drop(m, Drop::ttl_exceeded);
  dispatch_inside(m, p);
}

reorder::Stats Worker::reorder_totals() const {
  reorder::Stats t;
  for (const Window& w : windows_) {
    if (!w.w) continue;
    const reorder::Stats& s = w.w->stats();
    t.delivered_in_order += __atomic_load_n(&s.delivered_in_order, __ATOMIC_RELAXED);
    t.delivered_after_hold += __atomic_load_n(&s.delivered_after_hold, __ATOMIC_RELAXED);
    t.held_now += __atomic_load_n(&s.held_now, __ATOMIC_RELAXED);
    t.hold_timeouts += __atomic_load_n(&s.hold_timeouts, __ATOMIC_RELAXED);
    t.overflow_skips += __atomic_load_n(&s.overflow_skips, __ATOMIC_RELAXED);
    t.late += __atomic_load_n(&s.late, __ATOMIC_RELAXED);
    t.duplicates += __atomic_load_n(&s.duplicates, __ATOMIC_RELAXED);
    t.stale += __atomic_load_n(&s.stale, __ATOMIC_RELAXED);
  }
  return t;
}

}  // namespace mpf::dp
