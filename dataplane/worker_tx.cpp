// Worker, sending side of the tunnel (docs/multipath.md): policy, scheduling onto paths,
// per-path shaping with an AQM limit, the retransmit slab, loss-report resends and failover.
#include <rte_mbuf.h>

#include <cstring>

#include "net/bytes.hpp"
#include "net/protocol.hpp"
#include "stats/counter.hpp"
#include "tunnel/outer.hpp"
#include "tunnel/wire.hpp"
#include "worker.hpp"

namespace mpf::dp {

using namespace mpf::net;

namespace {

uint32_t flow_hash(const Ipv4Packet& p) {
  uint32_t h = p.src * 0x9e3779b1u ^ p.dst * 0x85ebca6bu;
  h ^= (uint32_t(p.sport) << 16 | p.dport) * 0xc2b2ae35u;
  h ^= p.proto;
  h ^= h >> 15;
  return h * 0x2c1b3c6du;
}

// What tunnel_send reads of a TCP segment's header, read once. parse_ipv4 checked the data
// offset against the segment's length.
struct TcpSegment {
  uint32_t seq;      // sequence number
  uint32_t seq_len;  // payload bytes, plus one for SYN and one for FIN
  bool pure_ack;     // no payload, none of SYN, FIN, RST
};

TcpSegment tcp_segment(const Ipv4Packet& p) {
  const unsigned doff = (p.l4[net::kTcpDataOff] >> 4) * 4u;
  const uint8_t fl = p.l4[net::kTcpFlags];
  const uint32_t seq_len = uint32_t(p.l4_len - doff) + ((fl & net::kTcpSyn) != 0) +
                           ((fl & net::kTcpFin) != 0);
  return {net::load32(p.l4 + net::kTcpSeq), seq_len, seq_len == 0 && !(fl & net::kTcpRst)};
}

}  // namespace

// Reads the published path health once per loop pass and notices paths that just went down.
void Worker::refresh_views(uint16_t peer) {
  PeerTx& t = peer_tx_[peer];
  if (t.views_pass == pass_) return;
  t.views_pass = pass_;
  const PeerState& ps = app_.peers[peer];
  uint32_t up = 0, main_up = 0;
  uint64_t shares = 0;
  for (unsigned k = 0; k < ps.n_paths; k++) {
    PathPub::Value v = ps.paths[k].pub.read();
    sched::PathView& pv = t.views[k];
    pv.up = v.up;
    if (v.up) main_up |= 1u << k;
    else t.stalled_until_us[k] = 0;  // the main lcore's verdict: it decides when it is back
    pv.owd_us = v.owd_us;
    Shaper* s = t.shaper[k].get();
    if (const uint64_t share = worker_share(ps.paths[k], index_, app_.n_workers, v.rate_Bps);
        share != s->rate_Bps)
      s->set_rate(share, now_us_);  // the split, rate control or max_rate moved
    pv.rate_Bps = s->rate_Bps;
    shares += s->rate_Bps;
    pv.queued_bytes = s->q.bytes();
    pv.weight = v.weight;
    t.rttvar_us[k] = v.rttvar_us;
  }
  if (app_.n_workers > 1) {
    const uint64_t budget = std::max(
        t.retx_budget_min, shares * app_.cfg.multipath.retransmit_budget_pct / 100);
    if (budget != t.retx_budget.rate()) t.retx_budget.set_rate(budget, now_us_);
  }
  // A path whose frames stopped being reported received counts as down here at once; after
  // dead_after_ms it gets another chance unless the main lcore has taken it down by then.
  const bool progress = progress_fresh(t);
  for (unsigned k = 0; k < ps.n_paths; k++) {
    sched::PathView& pv = t.views[k];
    if (pv.up && progress) {
      if (t.stalled_until_us[k] && now_us_ >= t.stalled_until_us[k]) {
        t.stalled_until_us[k] = 0;
        forget_progress(t, uint8_t(k));
      }
      if (!t.stalled_until_us[k] && t.unreported_since_us[k] &&
          now_us_ - t.unreported_since_us[k] > stall_after_us(t, peer, uint8_t(k)) &&
          silent(peer, uint8_t(k))) {
        t.stalled_until_us[k] = now_us_ + uint64_t(app_.cfg.multipath.dead_after_ms) * 1000;
        t.stalled_at[k] = t.reported[k];
        bump(stats_.progress_stalls);
      }
      if (t.stalled_until_us[k]) pv.up = false;
    }
    if (pv.up) up |= 1u << k;
  }
  uint32_t went_down = t.up_mask & ~up;
  for (unsigned k = 0; k < ps.n_paths; k++)
    if (up & (1u << k)) t.down_since_us[k] = 0;
    else if (went_down & (1u << k)) t.down_since_us[k] = now_us_;
  t.up_mask = up;
  for (unsigned k = 0; went_down; k++, went_down >>= 1)
    if (went_down & 1) failover(peer, uint8_t(k));
  // What a path sent while down (when none was up) is not waited for once it is back.
  for (unsigned k = 0; k < ps.n_paths; k++)
    if (!(main_up >> k & 1)) forget_progress(t, uint8_t(k));
}

void Worker::tunnel_send(rte_mbuf* m, uint16_t peer, const Ipv4Packet& p) {
  refresh_views(peer);
  PeerTx& t = peer_tx_[peer];
  const sched::Action& a = policy_->classify(p);
  // Only a flow split over paths gets the receiver's delay equalisation (multipath.equalize);
  // ICMP never (echo is how operators measure latency, and no congestion control runs on it).
  const bool split = a.mode == sched::Mode::aggregate || a.mode == sched::Mode::weighted;
  const uint32_t fh = flow_hash(p);
  // The inner TCP's retransmission of a split flow, counted, and expedited when
  // expedite_resends says so (expediting()): its receiver is stalled on the hole it fills,
  // behind which everything else waits. It takes the fast lane when that has room, and goes
  // prompt, on the prompt streams: held neither behind the bulk lane nor by the far end's
  // reorder window or equaliser. (Measured on asym after 5G died: each AQM drop on WiFi
  // stalled the download 110-190 ms, one bulk queue for the segments that reveal the hole and
  // one more for the retransmission.) Every segment of a split TCP flow passes the spotter,
  // which learns a resend from the new data before it: one slot read and write per segment.
  const bool split_tcp = split && p.proto == net::kProtoTcp;
  const TcpSegment seg = split_tcp ? tcp_segment(p) : TcpSegment{};
  const bool resent = split_tcp && resends_.resend(fh, seg.seq, seg.seq_len);
  if (resent) bump(stats_.tcp_resends);
  const bool expedite = resent && expediting(t);
  // A pure ACK goes prompt (multipath.prompt_acks): on the earliest path, never equalised, so
  // the far sender's clock (its RTT, loss detection, window growth) runs on the fastest way
  // back. Reordered ACKs cost TCP nothing; an ACK held to the slowest path costs it that
  // path's delay on every round trip (asym: 38 ms more on each loss recovery).
  const bool pure_ack = split_tcp && app_.cfg.multipath.prompt_acks && seg.pure_ack;
  const bool equalized = app_.cfg.multipath.equalize && split && p.proto != net::kProtoIcmp &&
                         !expedite && !pure_ack;
  const uint8_t prompt = equalized ? 0 : tunnel::kFlagPrompt;
  const uint16_t flow = sched::SparseFlows::bucket(fh);
  // A flow with nothing queued takes the fast lane, so it waits only behind that lane's
  // backlog: that is what the scheduler weighs for it.
  const bool sparse = app_.cfg.multipath.fast_lane && (expedite || t.sparse.idle(flow));
  if (expedite) bump(stats_.resends_expedited);
  const sched::PathView* views = t.views.data();
  std::array<sched::PathView, kMaxPaths> fast_views;
  if (sparse) {
    fast_views = t.views;
    for (unsigned k = 0; k < app_.peers[peer].n_paths; k++)
      fast_views[k].queued_bytes = t.shaper[k]->q.bytes(sched::Lane::fast);
    views = fast_views.data();
  }
  uint32_t mask = t.sched.pick(a, views, p.total_len, equalized);
  if (mask == 0) {
    // No path is known to be up (start-up, before probes are answered, or everything looks
    // dead): try the first path we have a route for rather than drop; if it is really dead
    // the frame is lost either way.
    for (uint8_t k = 0; k < app_.peers[peer].n_paths && !mask; k++)
      if (route_to_peer(app_, peer, k).ok) mask = 1u << k;
    if (mask == 0) return drop(m, Drop::tunnel_no_path);
    bump(stats_.sent_no_path_up);
  }

  // Prompt flows (never held) and equalized ones use separate streams, so a ping or a VoIP
  // frame never waits in a reorder window or delay line behind a bulk flow's gap or hold.
  const uint32_t n_streams = uint32_t(t.stream_seq.size());
  const uint32_t split_streams = n_streams > 1 ? n_streams / 2 : 1;
  const uint32_t bucket = prompt && n_streams > 1 ? split_streams + fh % (n_streams - split_streams)
                                                  : fh % split_streams;
  tunnel::Header h;
  h.type = tunnel::FrameType::data;
  h.tunnel_id = app_.peers[peer].tunnel_id;
  h.epoch = app_.epoch;
  h.stream_id = uint16_t(index_ << 8 | bucket);
  h.stream_seq = t.stream_seq[bucket];  // spent only when a copy goes out
  h.timestamp_us = uint32_t(now_us_);   // enqueue time: the receiver sees the queueing too

  // The inner header travels compact when it can (tunnel/compact.hpp); copies and resends
  // carry the same payload and form flags. What cannot is held to the whole-packet MTU.
  const tunnel::Direction dir =
      app_.gateway ? tunnel::Direction::gateway_to_server : tunnel::Direction::server_to_gateway;
  uint8_t form = 0;
  if (tunnel::can_compact(p.ip, dir, gateway_address(peer))) {
    form = tunnel::compact(p.ip, dir);
    rte_pktmbuf_adj(m, uint16_t(tunnel::kCompactSaving));
  } else if (p.total_len > app_.cfg.tunnel.inner_mtu - tunnel::kCompactSaving) {
    return drop(m, Drop::too_big);
  }

  // Redundant mode sends two copies when only one path is up, both on it: the policy says
  // "do not lose this", and a lone lossy path would otherwise lose what its loss report or
  // resend loses too (measured on lossy with 5G down: 1 datagram of 6800). The receiver drops
  // the second like any copy.
  uint8_t ks[kMaxPaths + 1];
  unsigned n = 0;
  for (; mask; mask &= mask - 1) ks[n++] = uint8_t(__builtin_ctz(mask));
  if (a.mode == sched::Mode::redundant && n == 1) ks[n++] = ks[0];
  bool first = true, sent = false;
  for (unsigned i = 0; i < n; i++) {
    const uint8_t k = ks[i];
    // Redundant: every path but the last gets a copy; the last takes the original.
    rte_mbuf* mk = m;
    if (i + 1 < n) {
      mk = rte_pktmbuf_copy(m, app_.pool, 0, UINT32_MAX);
      if (!mk) {
        bump(stats_.drops[unsigned(Drop::mbuf_exhausted)]);
        continue;
      }
    }
    h.flags = uint8_t((first ? 0 : tunnel::kFlagDuplicate) | prompt | form);
    if (!first) bump(stats_.redundant_copies);
    first = false;
    PathRoute r = route_to_peer(app_, peer, k);
    if (!r.ok) {
      drop(mk, Drop::tunnel_no_path);
      continue;
    }
    // AQM on the bulk lane: a frame we drop here is congestion the inner TCP must see (it
    // never gets a path_seq, so the receiver reports no loss and we resend nothing). A sparse
    // flow's frame that found the fast lane full is not the congestion: it queues (one per
    // flow at most, as its next frames are not sparse) rather than being lost: a redundant
    // copy must survive the other path's death, when that failover's resends fill the queue.
    // Nor is a redundant-mode frame: the policy says it must not be lost, and when a path dies
    // its only copy is on the survivor, whose queue the failover has just filled (the rings
    // still bound it).
    // An expedited resend that found the fast lane full is bulk again, AQM included: a TCP in
    // recovery after a path died resends a whole flight at once, and exempt, that flight
    // flooded the survivor (bbr on asym, 5G dying: outages of 500 ms, RTOs).
    const Shaper& s = *t.shaper[k];
    const sched::Lane lane = lane_for(s, sparse, p.total_len);
    if (lane == sched::Lane::bulk && (!sparse || expedite) && a.mode != sched::Mode::redundant &&
        s.q.bytes() > s.limit_bytes(app_.cfg.multipath.max_queue_ms)) {
      bump(path_ctr_[size_t(peer) * kMaxPaths + k].shaper_drops);
      if (resent) bump(stats_.resends_shaper_dropped);
      drop(mk, Drop::shaper_queue_full);
      continue;
    }
    h.path_id = k;
    send_on_path(mk, peer, k, h, r, lane, flow);
    sent = true;
  }
  if (sent) t.stream_seq[bucket]++;
}

// Overtaking the flow's queued frames costs: the far host's TCP sees the reordering and takes
// frames still queued for lost (A/B on std, 3 runs each: one flow 1.5% slower, bbr uploads
// retransmitting 1498 segments for 219 AQM drops, against 305 for 305). `failover` limits it to
// the time after a path died, when the flows' stalls are the outage users see: while one of
// the peer's paths is down, for kExpediteAfterDownUs. Off by default (docs/multipath.md).
bool Worker::expediting(const PeerTx& t) const {
  using E = config::Multipath::Expedite;
  const auto& mp = app_.cfg.multipath;
  if (!mp.fast_lane || mp.expedite_resends == E::off) return false;
  if (mp.expedite_resends == E::always) return true;
  for (const uint64_t since : t.down_since_us)
    if (since && now_us_ - since < kExpediteAfterDownUs) return true;
  return false;
}

sched::Lane Worker::lane_for(const Shaper& s, bool sparse, uint32_t bytes) const {
  const auto& mp = app_.cfg.multipath;
  return sparse && mp.fast_lane && s.fast_room(bytes, mp.max_queue_ms) ? sched::Lane::fast
                                                                       : sched::Lane::bulk;
}

void Worker::send_on_path(rte_mbuf* m, uint16_t peer, uint8_t path, const tunnel::Header& h,
                          const PathRoute& r, sched::Lane lane, uint16_t flow) {
  if (!encapsulate(m, r, h, ip_id_++)) return drop(m, Drop::mbuf_exhausted);
  PathCounters& c = path_ctr_[size_t(peer) * kMaxPaths + path];
  bump(c.tx_frames);
  bump(c.tx_bytes, m->pkt_len - kEthHdrLen);
  bump(stats_.encapsulated);
  if (!r.mac_known) {
    stamp(m, peer, path);
    return hold(m, r.port, r.next_hop);
  }
  PeerTx& t = peer_tx_[peer];
  Shaper* s = t.shaper[path].get();
  if (s->empty() && (!s->limited() || s->bucket.take(m->pkt_len, now_us_))) {
    stamp(m, peer, path);
    return to_path(m, peer, path, r.port);
  }
  if (!s->q.push(lane, QueuedFrame{m, flow}, m->pkt_len)) {
    bump(c.shaper_drops);
    return drop(m, Drop::shaper_queue_full);
  }
  t.sparse.add(flow);
  if (lane == sched::Lane::fast) bump(stats_.fast_lane);
  s->port = r.port;
}

void Worker::stamp(rte_mbuf* m, uint16_t peer, uint8_t path) {
  PeerTx& t = peer_tx_[peer];
  if (!t.unreported_since_us[path]) t.unreported_since_us[path] = now_us_;
  const uint64_t ctr = t.path_seq[path]++;
  uint64_t& sent = path_ctr_[size_t(peer) * kMaxPaths + path].sent_bytes;
  __atomic_store_n(&sent, sent + m->pkt_len, __ATOMIC_RELAXED);
  const uint32_t seq = uint32_t(ctr);
  seal_frame(m, app_.peers[peer].auth.tx, ctr);
  const uint8_t* hdr = rte_pktmbuf_mtod_offset(m, uint8_t*, tunnel::kOuterLen);
  if (recovery::RetransmitSlab* slab = t.slab[path].get())
    slab->store(seq, net::load16(hdr + tunnel::kStreamIdOffset),
                net::load32(hdr + tunnel::kStreamSeqOffset),
                uint8_t(hdr[tunnel::kFlagsOffset] & tunnel::kFlagsForm), hdr + tunnel::kHeaderLen,
                uint16_t(m->pkt_len - tunnel::kOuterLen - tunnel::kHeaderLen -
                         tunnel::kFrameTagLen),
                now_us_);
}

// Lets out what each shaped path's token bucket allows, fast lane first.
void Worker::release_shapers() {
  for (size_t peer = 0; peer < peer_tx_.size(); peer++) {
    PeerTx& t = peer_tx_[peer];
    for (uint8_t k = 0; k < kMaxPaths; k++) {
      Shaper* s = t.shaper[k].get();
      if (!s) continue;
      while (!s->empty()) {
        const auto& it = s->q.front();
        if (s->limited() && !s->bucket.take(it.bytes, now_us_)) break;
        const QueuedFrame f = it.value;
        s->q.pop();
        t.sparse.remove(f.flow);
        stamp(f.m, uint16_t(peer), k);
        to_path(f.m, uint16_t(peer), k, s->port);
      }
      // For the main lcore's split of the path's rate: a backlog says we want more.
      uint64_t& queued = path_ctr_[peer * kMaxPaths + k].queued_bytes;
      if (queued != s->q.bytes()) __atomic_store_n(&queued, s->q.bytes(), __ATOMIC_RELAXED);
    }
  }
}

bool Worker::resend_path(uint16_t peer, uint8_t exclude_path, uint32_t bytes, bool fast,
                         uint8_t* path, PathRoute* r) {
  PeerTx& t = peer_tx_[peer];
  refresh_views(peer);
  // Prefer another path than exclude_path; the same one if it is the only one up.
  std::array<sched::PathView, kMaxPaths> v = t.views;
  if (exclude_path < kMaxPaths && (t.up_mask & ~(1u << exclude_path)) != 0)
    v[exclude_path].up = false;
  // A loss-report resend takes the fast lane (when it has room): only that lane's backlog
  // delays it.
  if (fast && app_.cfg.multipath.fast_lane)
    for (unsigned k = 0; k < app_.peers[peer].n_paths; k++)
      v[k].queued_bytes = t.shaper[k]->q.bytes(sched::Lane::fast);
  static const sched::Action kAggregate{};
  const uint32_t mask = t.sched.pick(kAggregate, v.data(), bytes);
  if (mask == 0) return false;
  *path = uint8_t(__builtin_ctz(mask));
  *r = route_to_peer(app_, peer, *path);
  return r->ok;
}

bool Worker::resend(uint16_t peer, const recovery::RetransmitSlab::Entry& e, uint8_t exclude_path,
                    bool budgeted) {
  PeerTx& t = peer_tx_[peer];
  uint8_t k;
  PathRoute r;
  if (!resend_path(peer, exclude_path, e.len, budgeted, &k, &r)) return false;
  if (budgeted && !t.retx_budget.take(e.len, now_us_)) {
    bump(stats_.retransmit_over_budget);
    return false;
  }
  rte_mbuf* m = rte_pktmbuf_alloc(app_.pool);
  if (!m) {
    bump(stats_.drops[unsigned(Drop::mbuf_exhausted)]);
    return false;
  }
  uint8_t* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, e.len));
  if (!d) {
    rte_pktmbuf_free(m);
    return false;
  }
  std::memcpy(d, e.data, e.len);
  tunnel::Header h;
  h.type = tunnel::FrameType::data;
  h.flags = uint8_t(tunnel::kFlagRetransmit | e.form);
  h.path_id = k;
  h.tunnel_id = app_.peers[peer].tunnel_id;
  h.epoch = app_.epoch;
  h.stream_id = e.stream_id;
  h.stream_seq = e.stream_seq;
  h.timestamp_us = uint32_t(now_us_);
  bump(path_ctr_[size_t(peer) * kMaxPaths + k].retransmits);
  // A reported loss: the receiver's reorder window waits for it, so it jumps the bulk queue
  // when it can. A failover resends a whole round trip of frames: they would fill the fast
  // lane and push the sparse flows (a redundant copy, a ping) into the bulk lane's AQM, so
  // they take the resend lane, after the fast lane and before the bulk one (the receiver's
  // windows hold what the bulk lane carries until these arrive).
  const sched::Lane lane = budgeted ? lane_for(*t.shaper[k], true, e.len) : sched::Lane::resend;
  send_on_path(m, peer, k, h, r, lane, sched::SparseFlows::kNone);
  return true;
}

bool Worker::reroute(uint16_t peer, rte_mbuf* m, uint8_t dead_path) {
  tunnel::Header h;
  const uint8_t* f = rte_pktmbuf_mtod(m, const uint8_t*);
  if (m->data_len < tunnel::kOuterLen + tunnel::kHeaderLen + tunnel::kFrameTagLen ||
      tunnel::decode(f + tunnel::kOuterLen, m->data_len - tunnel::kOuterLen, &h) != Drop::none)
    return false;  // cannot happen: we encoded it
  // A redundant copy: the same frame went on another path, which is alive or was the original.
  if (h.flags & tunnel::kFlagDuplicate) return false;
  const uint32_t inner_len =
      m->pkt_len - tunnel::kOuterLen - tunnel::kHeaderLen - tunnel::kFrameTagLen;
  uint8_t k;
  PathRoute r;
  if (!resend_path(peer, dead_path, inner_len, false, &k, &r)) return false;
  rte_pktmbuf_adj(m, uint16_t(tunnel::kOuterLen + tunnel::kHeaderLen));
  rte_pktmbuf_trim(m, uint16_t(tunnel::kFrameTagLen));  // encapsulate() makes room again
  h.path_id = k;
  // The resend lane, behind the failover resends from the slab, which are older (resend()).
  send_on_path(m, peer, k, h, r, sched::Lane::resend, sched::SparseFlows::kNone);
  return true;
}

// A loss report from the peer's receiver: resend what it names, within the budget. m's data
// starts at the feedback body.
void Worker::on_feedback(rte_mbuf* m, uint16_t peer) {
  tunnel::FeedbackBody fb;
  Drop d = tunnel::decode(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, &fb);
  if (d != Drop::none) return drop(m, d);
  for (unsigned i = 0; i < fb.count; i++)
    if (fb.entries[i].sender_worker != index_ ||
        fb.entries[i].path_id >= app_.peers[peer].n_paths)
      return drop(m, Drop::feedback_bad);
  bump(stats_.feedback_received);
  PeerTx& t = peer_tx_[peer];
  for (unsigned i = 0; i < fb.count; i++) {
    const tunnel::FeedbackEntry& e = fb.entries[i];
    if (e.missing == 0) {
      on_progress(peer, e.path_id, e.first_missing);
      continue;
    }
    if (!t.slab[e.path_id]) {  // multipath.retransmit = false: nothing kept to resend
      bump(stats_.retransmit_misses, e.missing);
      continue;
    }
    for (uint32_t s = 0; s < e.missing; s++) {
      // Each report comes twice (on two paths, worker_rx.cpp): the second copy finds the
      // frame claimed and resends nothing.
      bool repeat;
      const recovery::RetransmitSlab::Entry* x =
          t.slab[e.path_id]->claim(e.first_missing + s, now_us_, kReportRepeatUs, &repeat);
      if (!x) {
        if (!repeat) bump(stats_.retransmit_misses);
        continue;
      }
      recovery::RetransmitSlab::Entry copy = *x;  // resend() may overwrite the slot it came from
      // Whichever path brings it first, the one that lost it included: a radio's random loss
      // says nothing about the next frame, and the receiver holds the gap for one recovery
      // round over the fastest path (reorder::HoldTime). A path that is dying goes down
      // within dead_after_ms, and its failover resends cover what was lost on it.
      if (resend(peer, copy, kAnyPath, true)) bump(stats_.retransmits);
    }
  }
  rte_pktmbuf_free(m);
}

void Worker::on_progress(uint16_t peer, uint8_t path, uint32_t highest) {
  PeerTx& t = peer_tx_[peer];
  const uint64_t sent = t.path_seq[path];  // the next counter
  if (sent == 0) return;
  const uint64_t h = tunnel::extend_counter(sent - 1, highest);
  if (h >= sent) return;  // beyond what we sent: a report on our previous session's numbers
  t.progress_heard_us = now_us_;
  // A frame the stall gave up on arrived: the path is slow, not dead. Back in use (the
  // failover's resends were spent; the receiver drops the second copies).
  if (t.stalled_until_us[path] && h >= t.stalled_at[path]) {
    t.stalled_until_us[path] = 0;
    bump(stats_.progress_resumed);
  }
  if (h < t.reported[path]) return;  // no news
  t.reported[path] = h + 1;
  if (t.reported[path] == sent) {
    t.unreported_since_us[path] = 0;
    return;
  }
  // The oldest frame not reported yet: when it left, if the slab still has it; else start
  // counting now (later detection, never an early one).
  const recovery::RetransmitSlab::Entry* e =
      t.slab[path] ? t.slab[path]->find(uint32_t(h + 1)) : nullptr;
  t.unreported_since_us[path] = e ? e->sent_us : now_us_;
}

// A frame's report needs its path's one-way delay, the progress interval, and the way back,
// on any other up path (the receiver sends each report on two paths); plus a margin for jitter
// and queueing that grew since the last probe.
uint64_t Worker::stall_after_us(const PeerTx& t, uint16_t peer, uint8_t path) const {
  const sched::PathView& v = t.views[path];
  if (v.owd_us == 0) return UINT64_MAX;  // no RTT measured yet
  uint64_t back = 0;
  bool other = false;
  for (unsigned j = 0; j < app_.peers[peer].n_paths; j++)
    if (j != path && t.views[j].up && !t.stalled_until_us[j]) {
      other = true;
      back = std::max<uint64_t>(back, t.views[j].owd_us + 2 * uint64_t(t.rttvar_us[j]));
    }
  if (!other) return UINT64_MAX;  // nowhere to go: dead_after_ms decides
  return v.owd_us + 2 * uint64_t(t.rttvar_us[path]) + back +
         uint64_t(app_.cfg.multipath.progress_interval_ms) * 1000 + kStallMarginUs;
}

// Nothing at all came from the peer on the path (probes or replies every probe interval, data,
// reports) for a probe interval and a margin. A queue that swells in our direction delays our
// frames' reports but not what comes the other way; a dead path stops both.
bool Worker::silent(uint16_t peer, uint8_t path) const {
  const uint64_t last = __atomic_load_n(&app_.peers[peer].paths[path].last_rx_us, __ATOMIC_RELAXED);
  return now_us_ > last &&
         now_us_ - last > uint64_t(app_.cfg.multipath.probe_interval_ms) * 1000 + kStallMarginUs;
}

// The path just went down. What it carried and was not reported received (without progress
// reports: the last round trip plus the detection time) is resent from the slab on the live
// paths (the receiver drops double copies), oldest first; then what still waits in its queue
// (never sent) goes to the live paths in its order.
void Worker::failover(uint16_t peer, uint8_t path) {
  PeerTx& t = peer_tx_[peer];
  unsigned n = 0;
  if (t.slab[path] && t.up_mask != 0) {
    const uint64_t window_us = 2 * uint64_t(t.views[path].owd_us) +
                               4 * uint64_t(t.rttvar_us[path]) +
                               uint64_t(app_.cfg.multipath.dead_after_ms) * 1000;
    uint64_t since = now_us_ > window_us ? now_us_ - window_us : 0;
    // With progress reports, what was reported received needs no resend.
    if (progress_fresh(t))
      since = t.unreported_since_us[path] ? std::max(since, t.unreported_since_us[path])
                                          : now_us_ + 1;
    t.slab[path]->for_each_since(since, [&](const recovery::RetransmitSlab::Entry& e) {
      n += resend(peer, e, path, false);
    });
  }
  // Sent again elsewhere; a late report must not resend them twice.
  if (t.slab[path]) t.slab[path]->clear();
  forget_progress(t, path);
  Shaper* s = t.shaper[path].get();
  while (!s->empty()) {
    const QueuedFrame f = s->q.front().value;
    s->q.pop();
    t.sparse.remove(f.flow);
    if (t.up_mask != 0 && reroute(peer, f.m, path)) {
      n++;
    } else {
      rte_pktmbuf_free(f.m);
      bump(stats_.failover_flushed);
    }
  }
  bump(stats_.failover_resends, n);
}

}  // namespace mpf::dp
