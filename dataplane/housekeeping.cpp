#include "housekeeping.hpp"

#include <rte_cycles.h>
#include <rte_ether.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "capture.hpp"
#include "net/arp.hpp"
#include "net/bytes.hpp"
#include "net/checksum.hpp"
#include "net/icmp_build.hpp"
#include "net/ipv4_packet.hpp"
#include "net/protocol.hpp"
#include "stats/counter.hpp"
#include "tunnel/bodies.hpp"
#include "tunnel/outer.hpp"
#include "tunnel_out.hpp"
#include "worker.hpp"

namespace mpf::dp {

using namespace mpf::net;

namespace {
constexpr uint64_t kTimerMs = 100;          // hold-queue and ARP retry checks
constexpr uint64_t kHoldMs = 3000;          // give up on an unanswered next hop
constexpr uint64_t kArpRetryMs = 1000;
constexpr unsigned kMaxHoldQueues = 64;
const Mac kBroadcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
}  // namespace

bool Housekeeping::init(std::string* error) {
  (void)error;
  tx_.init(&app_, app_.main_txq, app_.n_workers);  // capture lane n_workers
  holds_.resize(kMaxHoldQueues);
  for (auto& h : holds_) h.pkts.reserve(app_.cfg.dataplane.arp_hold);
  last_request_ms_.assign(app_.ports.size(), 0);
  path::HealthParams hp;
  hp.dead_after_ms = app_.cfg.multipath.dead_after_ms;
  hp.up_after = app_.cfg.multipath.up_after;
  hp.probe_interval_ms = app_.cfg.multipath.probe_interval_ms;
  health_.assign(app_.peers.size() * kMaxPaths, path::PathHealth(hp));
  server_view_.assign(app_.peers.size() * kMaxPaths, ServerView{});
  probe_seq_.assign(kMaxPaths, 0);
  control_ctr_.assign(app_.peers.size() * kMaxPaths, 0);
  const auto& mp = app_.cfg.multipath;
  cadence_ = path::ProbeCadence(mp.probe_interval_ms, mp.idle_probe_interval_ms,
                                mp.idle_after_ms, app_.now_ms(rte_rdtsc()));
  probe_interval_ms_ = mp.probe_interval_ms;
  impair_.init(app_);
  return true;
}

void Housekeeping::to_path(rte_mbuf* m, uint16_t peer, uint8_t path, uint8_t port) {
  path::ImpairStage* s = impair_.stage(peer, path, kImpairTx);
  if (!s) return tx_.send(m, port, stats_);
  app_.meta(m)->out_port = port;
  Drop why;
  if (impair_.admit(s, m, now_us_, &why)) return;
  bump(path_tx_[size_t(peer) * kMaxPaths + path].impair_drops);
  drop(m, why);
}

void Housekeeping::drop(rte_mbuf* m, Drop why) {
  bump(stats_.drops[unsigned(why)]);
  rte_pktmbuf_free(m);
}

int Housekeeping::port_for(Ipv4 addr) const {
  for (const Port& p : app_.ports)
    if (p.iface->address.contains(addr)) return p.index;
  return -1;
}

unsigned Housekeeping::poll(uint64_t tsc) {
  now_ms_ = app_.now_ms(tsc);
  now_us_ = app_.now_us(tsc);
  unsigned handled = 0;
  rte_mbuf* pkts[kMaxBurst];
  for (auto& w : app_.workers) {
    // Learn first: a probe that taught a new address must be answered at that address.
    LearnMsg msgs[16];
    unsigned k = rte_ring_sc_dequeue_burst_elem(w->learn_ring(), msgs, sizeof(LearnMsg), 16,
                                                nullptr);
    for (unsigned i = 0; i < k; i++) learn(msgs[i]);
    unsigned n = rte_ring_sc_dequeue_burst(w->to_main(), reinterpret_cast<void**>(pkts),
                                           kMaxBurst, nullptr);
    for (unsigned i = 0; i < n; i++) {
      const uint8_t kind = app_.meta(pkts[i])->kind;
      if (kind == kMetaHold) held_frame(pkts[i]);
      else if (kind == kMetaControl) control_frame(pkts[i]);
      else local_frame(pkts[i]);
    }
    handled += n;
  }
  if (now_ms_ >= next_timer_ms_) {
    next_timer_ms_ = now_ms_ + kTimerMs;
    timers();
  }
  if (app_.gateway) {
    // The first data frame after an idle spell: probe now, at the fast rate, so a path that
    // died while nobody was looking is found within dead_after_ms.
    if (data_moved() && cadence_.activity(now_ms_)) next_probe_ms_ = now_ms_;
    if (now_ms_ >= next_probe_ms_) {
      const uint32_t interval = cadence_.interval_ms(now_ms_);
      next_probe_ms_ = now_ms_ + interval;
      if (interval != probe_interval_ms_) set_probe_interval(interval);
      send_probes(interval);
    }
  }
  commands_.poll(now_ms_);
  app_.capture->poll(now_ms_);
  update_paths();
  if (app_.n_workers > 1 && now_us_ >= next_split_us_) {
    next_split_us_ = now_us_ + kShareSplitUs;
    split_rates();
  }
  publisher_.poll(now_ms_);
  impair_.sync(app_, stats_);
  impair_.release(now_us_, [this](rte_mbuf* m, unsigned) {
    tx_.send(m, app_.meta(m)->out_port, stats_);
  });
  tx_.flush(stats_);
  return handled;
}

void Housekeeping::run() {
  const uint32_t idle_us = app_.cfg.dataplane.idle_sleep_us;
  while (!app_.quit.load(std::memory_order_relaxed)) {
    unsigned got = poll(rte_rdtsc());
    if (got == 0) rte_delay_us_sleep(idle_us ? idle_us : 100);  // slow path: never spin hard
  }
}

void Housekeeping::release() {
  if (unsigned n = impair_.free_all()) bump(stats_.freed_at_exit, n);
  for (auto& h : holds_) {
    for (rte_mbuf* m : h.pkts) drop(m, Drop::arp_unresolved);
    h.pkts.clear();
    h.ip = 0;
  }
  // Packets still travelling between lcores: freed and counted, so the books balance.
  auto drain = [&](rte_ring* r) {
    void* m = nullptr;
    while (r && rte_ring_sc_dequeue(r, &m) == 0) {
      rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
      bump(stats_.freed_at_exit);
    }
  };
  for (auto& w : app_.workers) drain(w->to_main());
  for (unsigned a = 0; a < app_.n_workers; a++)
    for (unsigned b = 0; b < app_.n_workers; b++) drain(app_.handoff[a][b]);
}

void Housekeeping::local_frame(rte_mbuf* m) {
  const Port& in = app_.ports[app_.by_port_id[m->port]];
  uint8_t* eth = rte_pktmbuf_mtod(m, uint8_t*);
  if (load16(eth + 12) == kEtherTypeArp) return arp_frame(m, in);
  ipv4_local(m, in);
}

// A probe (server) or probe reply (gateway) whose tag a worker verified (kMetaControl).
void Housekeeping::control_frame(rte_mbuf* m) {
  const Port& in = app_.ports[app_.by_port_id[m->port]];
  uint8_t* eth = rte_pktmbuf_mtod(m, uint8_t*);
  Ipv4Packet p;
  // The worker checked all of this; a frame that fails here cannot be one it verified.
  if (parse_ipv4(eth + kEthHdrLen, m->data_len - kEthHdrLen, &p) != Drop::none ||
      p.proto != kProtoUdp)
    return drop(m, Drop::tunnel_bad_length);
  const uint16_t udp_len = load16(p.l4 + kUdpLen);
  const uint8_t* frame = p.l4 + kUdpHdrLen;
  tunnel::Header h;
  if (udp_len < kUdpHdrLen + tunnel::kHeaderLen + tunnel::kFrameTagLen || udp_len > p.l4_len ||
      tunnel::decode(frame, udp_len - kUdpHdrLen, &h) != Drop::none)
    return drop(m, Drop::tunnel_bad_length);
  const uint8_t* body = frame + tunnel::kHeaderLen;
  const size_t body_len = udp_len - kUdpHdrLen - tunnel::kHeaderLen - h.tag_len;
  const uint16_t peer = app_.meta(m)->peer;
  if (peer >= app_.peers.size() || h.path_id >= app_.peers[peer].n_paths)
    return drop(m, Drop::tunnel_bad_path);
  tunnel::SessionAnnounce an;
  if (!Worker::session_of(h.type, body, uint32_t(body_len), &an))
    return drop(m, Drop::tunnel_bad_length);
  if (!adopt_session(peer, h, an)) return drop(m, Drop::tunnel_stale_session);
  // When the worker received it, not when this lcore got to it: RTTs and one-way queueing are
  // the network's, whatever this (slow-path, sometimes sleeping) loop adds.
  const uint32_t lag = uint32_t(now_us_) - app_.meta(m)->release_us;
  const uint64_t at_us = lag < 1'000'000 && lag <= now_us_ ? now_us_ - lag : now_us_;
  if (app_.meta(m)->out_port == kControlUncounted) {
    // A new session's first frame: the worker left it to us, so that a refused one (a replay
    // of an older session) counts as no frame of the peer.
    PathCounters& c = path_tx_[size_t(peer) * kMaxPaths + h.path_id];
    bump(c.rx_frames);
    bump(c.rx_bytes, p.total_len);
    __atomic_store_n(&app_.peers[peer].paths[h.path_id].last_rx_us, at_us,
                     __ATOMIC_RELAXED);
    if (h.type == tunnel::FrameType::probe_reply) bump(stats_.probe_replies_received);
  }
  if (h.type == tunnel::FrameType::probe && !app_.gateway) {
    // The worker learned from the later probes of a session; this one it left to us.
    if (app_.meta(m)->out_port == kControlUncounted) learn_from(in, p, peer, h.path_id);
    on_probe(m, peer, h, body, body_len, at_us);
    return;
  }
  if (h.type == tunnel::FrameType::probe_reply && app_.gateway) {
    on_probe_reply(peer, h, body, body_len, at_us);
    rte_pktmbuf_free(m);
    return;
  }
  drop(m, Drop::tunnel_bad_type);
}

// The session a verified probe / reply announces (docs/protocol.md 6): the one in use, or a
// newer one (the peer restarted), which replaces it. An older one is a replay, refused, unless
// the session in use has been silent for kSessionSilenceMs (the peer restarted with a clock
// that went back; nobody else speaks for it then).
bool Housekeeping::adopt_session(uint16_t peer, const tunnel::Header& h,
                                 const tunnel::SessionAnnounce& an) {
  PeerAuth& a = app_.peers[peer].auth;
  const uint32_t cur = a.current;  // this lcore is its only writer
  const RxSession* s = cur ? &a.rx[cur - 1] : nullptr;
  if (s && s->epoch == h.epoch && s->salt == an.salt) {
    a.heard_ms = now_ms_;
    return true;
  }
  // Silence means three of the peer's probe intervals gone by without its probe or reply (the
  // interval grows while the tunnel is idle), 3 s at least.
  uint64_t interval_ms = probe_interval_ms_;  // gateway: our own, the server replies to each
  if (!app_.gateway)
    interval_ms = server_view_[size_t(peer) * kMaxPaths + h.path_id].gw_interval_ms;
  const uint64_t silence_ms = std::max<uint64_t>(kSessionSilenceMs, 3 * interval_ms);
  if (s && an.start_ms <= s->start_ms && now_ms_ < a.heard_ms + silence_ms) return false;
  const uint32_t slot = cur % kRxSessionSlots;
  RxSession& n = a.rx[slot];
  n.epoch = h.epoch;
  n.start_ms = an.start_ms;
  n.salt = an.salt;
  n.sealer = tunnel::Sealer(a.psk,
                            app_.gateway ? tunnel::Direction::server_to_gateway
                                         : tunnel::Direction::gateway_to_server,
                            an.salt);
  std::memset(n.last, 0, sizeof n.last);
  // This frame's counter is the newest on its stream: its replay is not fresh.
  n.last[unsigned(h.type)][kMaxSenders][h.path_id] = tunnel::extend_counter(0, h.path_seq) + 1;
  __atomic_store_n(&a.current, slot + 1, __ATOMIC_RELEASE);
  a.heard_ms = now_ms_;
  bump(stats_.peer_sessions);
  std::printf("mpf-dataplane: %s %u: new session (epoch 0x%04x)\n",
              app_.gateway ? "server of tunnel" : "gateway", app_.peers[peer].tunnel_id, h.epoch);
  std::fflush(stdout);
  return true;
}

// Server: a probe of a session adopted just now taught no address yet (a worker learns from the
// later ones).
void Housekeeping::learn_from(const Port& in, const Ipv4Packet& outer, uint16_t peer,
                              uint8_t path_id) {
  learn(learn_msg(peer, path_id, in, outer));
}

void Housekeeping::path_rx(uint16_t peer, uint8_t path, uint64_t* frames, uint64_t* bytes) const {
  *frames = *bytes = 0;
  for (const auto& w : app_.workers) {
    const PathCounters& c = w->path_counters(peer, path);
    *frames += read_counter(c.rx_frames);
    *bytes += read_counter(c.rx_bytes);
  }
  const PathCounters& mine = path_tx_[size_t(peer) * kMaxPaths + path];  // adopted sessions'
  *frames += mine.rx_frames;                                              // first frames
  *bytes += mine.rx_bytes;
}

uint64_t Housekeeping::path_tx_bytes(uint16_t peer, uint8_t path) const {
  uint64_t bytes = path_tx_[size_t(peer) * kMaxPaths + path].tx_bytes;
  for (const auto& w : app_.workers) bytes += read_counter(w->path_counters(peer, path).tx_bytes);
  return bytes;
}

// Server: a gateway's probe. Its body says how the path looks from the gateway (RTT, how many
// of our frames arrived); the reply carries our counters back, on the same path.
void Housekeeping::on_probe(rte_mbuf* m, uint16_t peer, const tunnel::Header& h,
                            const uint8_t* body, size_t body_len, uint64_t at_us) {
  tunnel::ProbeBody pb;
  if (tunnel::decode(body, body_len, &pb) != Drop::none) return drop(m, Drop::tunnel_bad_length);
  rte_pktmbuf_free(m);
  ServerView& sv = server_view_[size_t(peer) * kMaxPaths + h.path_id];
  sv.gw_srtt_us = pb.srtt_us;
  sv.gw_rttvar_us = pb.rttvar_us;
  sv.gw_interval_ms = pb.interval_ms;
  sv.last_probe_us = now_us_;
  if (pb.rx_frames != uint32_t(sv.gw_rx_frames) || sv.gw_rx_change_us == 0) {
    sv.gw_rx_frames = pb.rx_frames;
    sv.gw_rx_change_us = now_us_;
  }
  PathRoute r = route_to_peer(app_, peer, h.path_id);
  if (!r.ok) return;
  rte_mbuf* reply = rte_pktmbuf_alloc(app_.pool);
  if (!reply) {
    bump(stats_.drops[unsigned(Drop::mbuf_exhausted)]);
    return;
  }
  tunnel::ProbeReplyBody rb;
  rb.probe_seq = pb.probe_seq;
  uint64_t frames, bytes;
  path_rx(peer, h.path_id, &frames, &bytes);
  rb.rx_frames = uint32_t(frames);
  rb.rx_bytes = bytes;
  rb.queue_us = rates_.on_probe(size_t(peer) * kMaxPaths + h.path_id, pb, h.timestamp_us,
                                path_tx_bytes(peer, h.path_id), at_us);
  std::memcpy(rb.session.salt.data(), app_.salt.data(), tunnel::kSaltLen);
  rb.session.start_ms = app_.start_ms;
  uint8_t* b = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(reply, tunnel::kProbeReplyBodyLen));
  tunnel::encode(rb, b, tunnel::kProbeReplyBodyLen);
  tunnel::Header rh = h;
  rh.type = tunnel::FrameType::probe_reply;
  rh.flags = 0;
  rh.tag_len = 0;
  rh.epoch = app_.epoch;
  rh.stream_id = uint16_t(tunnel::kMainSender << 8);
  rh.stream_seq = rh.path_seq = 0;
  // The probe's, advanced by the time we held it: the gateway's round trip is the network's,
  // whatever this lcore (slow path, sometimes late on a busy host) added. Held time read as
  // downlink queueing would slow our own sending down for nothing.
  rh.timestamp_us = h.timestamp_us + uint32_t(now_us_ - at_us);
  if (!encapsulate(reply, r, rh, ip_id_++)) return drop(reply, Drop::mbuf_exhausted);
  seal_frame(reply, app_.peers[peer].auth.tx, control_ctr_[size_t(peer) * kMaxPaths + h.path_id]++);
  bump(stats_.probe_replies_sent);
  PathCounters& c = path_tx_[size_t(peer) * kMaxPaths + h.path_id];
  bump(c.tx_frames);
  bump(c.tx_bytes, reply->pkt_len - kEthHdrLen);
  to_path(reply, peer, h.path_id, r.port);
}

void Housekeeping::on_probe_reply(uint16_t peer, const tunnel::Header& h, const uint8_t* body,
                                  size_t body_len, uint64_t at_us) {
  tunnel::ProbeReplyBody rb;
  if (tunnel::decode(body, body_len, &rb) != Drop::none) {
    bump(stats_.drops[unsigned(Drop::tunnel_bad_length)]);
    return;
  }
  path::PathHealth& ph = health_[size_t(peer) * kMaxPaths + h.path_id];
  ph.heard(now_us_);
  const uint64_t samples = ph.rtt_samples();
  ph.probe_answered(rb.probe_seq, h.timestamp_us, at_us);
  ph.peer_report(rb.rx_frames, rb.rx_bytes, at_us);
  rates_.on_probe_reply(size_t(peer) * kMaxPaths + h.path_id, rb, ph, ph.rtt_samples() != samples,
                        path_tx_bytes(peer, h.path_id), at_us);
}

void Housekeeping::publish(uint16_t peer, uint8_t path, bool up, uint32_t srtt_us,
                           uint32_t rttvar_us) {
  PathShared& ps = app_.peers[peer].paths[path];
  ps.health_up = up;
  PathPub::Value v;
  // The operator's override (mpfctl path set NAME up|down) wins over what probes say.
  v.up = ps.ctl.admin == shm::AdminState::up     ? true
         : ps.ctl.admin == shm::AdminState::down ? false
                                                  : up;
  v.owd_us = srtt_us / 2;
  v.rttvar_us = rttvar_us;
  const size_t slot = size_t(peer) * kMaxPaths + path;
  v.rate_Bps = rates_.rate_Bps(slot, ps.ctl.max_rate_bps);
  if (const uint64_t found = rates_.take_found(slot)) {
    const std::string who =
        app_.gateway ? "" : "gateway " + std::to_string(app_.peers[peer].tunnel_id) + " ";
    std::printf("mpf-dataplane: %spath %s: capacity found (max_rate auto): %.1f Mbit/s\n",
                who.c_str(), app_.cfg.path_profiles[path].name.c_str(), double(found) * 8 / 1e6);
    std::fflush(stdout);
  }
  v.weight = ps.ctl.weight;
  __atomic_store_n(&ps.rate_Bps, v.rate_Bps, __ATOMIC_RELAXED);
  __atomic_store_n(&ps.queue_us, uint64_t(rates_.reported_queue_us(slot)), __ATOMIC_RELAXED);
  PathPub::Value cur = ps.pub.read();
  if (cur.up != v.up || cur.owd_us != v.owd_us || cur.rttvar_us != v.rttvar_us ||
      cur.rate_Bps != v.rate_Bps || cur.weight != v.weight)
    ps.pub.write(v);
  // After the write: a worker that sees the new generation sees the new values. Each bump has
  // every worker re-read every peer's paths, so rate control's moves (one per probe and path)
  // do not bump it: a worker re-reads a peer's paths at its next send to that peer anyway.
  if (cur.up != v.up || cur.weight != v.weight ||
      (operator_change_ && cur.rate_Bps != v.rate_Bps))
    __atomic_store_n(&app_.path_gen, app_.path_gen + 1, __ATOMIC_RELEASE);
  __atomic_store_n(&ps.srtt_us, srtt_us, __ATOMIC_RELAXED);
  __atomic_store_n(&ps.rttvar_us, rttvar_us, __ATOMIC_RELAXED);
}

void Housekeeping::split_rates() {
  if (shares_.empty())
    shares_.assign(app_.peers.size() * kMaxPaths, sched::LoadShares(app_.n_workers));
  uint64_t split[kMaxWorkers];
  for (uint16_t peer = 0; peer < app_.peers.size(); peer++) {
    PeerState& pst = app_.peers[peer];
    for (uint8_t k = 0; k < pst.n_paths; k++) {
      PathShared& ps = pst.paths[k];
      const uint64_t rate = __atomic_load_n(&ps.rate_Bps, __ATOMIC_RELAXED);
      if (rate == 0) continue;  // unshaped: nothing to split
      sched::LoadShares& ls = shares_[size_t(peer) * kMaxPaths + k];
      for (unsigned i = 0; i < app_.n_workers; i++) {
        const PathCounters& c = app_.workers[i]->path_counters(peer, k);
        ls.observe(i, read_counter(c.sent_bytes), read_counter(c.shaper_drops),
                   read_counter(c.queued_bytes), now_us_);
      }
      ls.split(rate, split);
      for (unsigned i = 0; i < app_.n_workers; i++)
        if (split[i] != ps.share_Bps[i])
          __atomic_store_n(&ps.share_Bps[i], split[i], __ATOMIC_RELAXED);
    }
  }
}

// Path states from what arrived: the gateway from its probes' answers (PathHealth), the server
// from the gateway's probes (heard recently, and the gateway still receiving our frames).
void Housekeeping::path_settings_changed() {
  operator_change_ = true;
  update_paths();
  operator_change_ = false;
  publisher_.publish(now_ms_);
}

bool Housekeeping::data_moved() {
  uint64_t n = 0;
  for (const auto& w : app_.workers)
    n += read_counter(w->stats().encapsulated) + read_counter(w->stats().decapsulated);
  const bool moved = n != data_frames_;
  data_frames_ = n;
  return moved;
}

void Housekeeping::set_probe_interval(uint32_t interval_ms) {
  const auto& mp = app_.cfg.multipath;
  if (interval_ms > probe_interval_ms_) bump(stats_.probe_slowdowns);
  probe_interval_ms_ = interval_ms;
  const uint32_t dead =
      path::scaled_dead_after_ms(mp.dead_after_ms, mp.probe_interval_ms, interval_ms);
  for (uint8_t k = 0; k < app_.peers[0].n_paths; k++)
    health_[k].set_dead_after_ms(dead, now_us_);  // peer 0: the gateway's server
}

void Housekeeping::update_paths() {
  const auto& mp = app_.cfg.multipath;
  for (uint16_t peer = 0; peer < app_.peers.size(); peer++) {
    PeerState& pst = app_.peers[peer];
    for (uint8_t k = 0; k < pst.n_paths; k++) {
      PathShared& ps = pst.paths[k];
      const uint64_t last = __atomic_load_n(&ps.last_rx_us, __ATOMIC_RELAXED);
      const char* name = app_.cfg.path_profiles[k].name.c_str();
      if (app_.gateway) {
        path::PathHealth& ph = health_[size_t(peer) * kMaxPaths + k];
        if (last > ph.last_heard_us()) ph.heard(last);
        if (ph.tick(now_us_)) {
          bump(stats_.path_changes);
          __atomic_store_n(&ps.changes, ps.changes + 1, __ATOMIC_RELAXED);
          std::printf("mpf-dataplane: path %s %s (srtt %.1f ms, loss %.2f%%)\n", name,
                      ph.is_up() ? "up" : "down", ph.srtt_us() / 1000.0,
                      ph.loss_ppm() / 10000.0);
          std::fflush(stdout);
        }
        publish(peer, k, ph.is_up(), ph.srtt_us(), ph.rttvar_us());
        __atomic_store_n(&ps.min_rtt_us, ph.min_rtt_us(), __ATOMIC_RELAXED);
        __atomic_store_n(&ps.loss_ppm, ph.loss_ppm(), __ATOMIC_RELAXED);
        __atomic_store_n(&ps.delivery_Bps, ph.delivery_rate_Bps(), __ATOMIC_RELAXED);
        continue;
      }
      ServerView& sv = server_view_[size_t(peer) * kMaxPaths + k];
      const bool learned = ps.learned.read().valid;
      // Down when nothing came for dead_after, or when the gateway stopped receiving us: its
      // probes keep arriving but its count of our frames (we answer every probe) stands still.
      // Both scale with the gateway's probe interval, which grows while it is idle.
      const uint32_t interval =
          std::clamp(sv.gw_interval_ms, mp.probe_interval_ms, path::kMaxProbeIntervalMs);
      const uint64_t dead_us =
          uint64_t(path::scaled_dead_after_ms(mp.dead_after_ms, mp.probe_interval_ms, interval)) *
          1000;
      const bool hearing = last != 0 && now_us_ <= last + dead_us;
      const bool heard_back = sv.gw_rx_change_us != 0 &&
                              now_us_ <= sv.gw_rx_change_us + dead_us + 2 * uint64_t(interval) * 1000;
      const bool up = learned && hearing && heard_back;
      if (up != sv.up) {
        sv.up = up;
        bump(stats_.path_changes);
        __atomic_store_n(&ps.changes, ps.changes + 1, __ATOMIC_RELAXED);
        std::printf("mpf-dataplane: gateway %u path %s %s\n", pst.tunnel_id, name,
                    up ? "up" : "down");
        std::fflush(stdout);
      }
      // The gateway's RTT variation; a quarter of its RTT when it does not say (as RFC 6298
      // starts out), which for a 40 ms path adds ~40 ms to the progress stall's wait.
      publish(peer, k, up, sv.gw_srtt_us, sv.gw_rttvar_us ? sv.gw_rttvar_us : sv.gw_srtt_us / 4);
    }
  }
}

void Housekeeping::arp_frame(rte_mbuf* m, const Port& in) {
  uint8_t* eth = rte_pktmbuf_mtod(m, uint8_t*);
  ArpMessage a;
  Drop d = parse_arp(eth + kEthHdrLen, m->data_len - kEthHdrLen, &a);
  if (d != Drop::none) return drop(m, d);
  const Prefix& mine = in.iface->address;
  // Learn (RFC 826 merge) only on-link senders; never let anyone claim our own address.
  bool learnable = mine.contains(a.sender_ip) && a.sender_ip != mine.addr &&
                   !(a.sender_mac.b[0] & 1) && !a.sender_mac.is_zero();
  if (learnable) {
    Mac old;
    bool had = app_.neighbors.lookup(a.sender_ip, &old);
    if (a.target_ip == mine.addr || had) {
      if (!had || !(old == a.sender_mac)) app_.neighbors.update(a.sender_ip, a.sender_mac);
      // Gateway: a next hop known now may be a path's. Probe before the frames held for it
      // leave: the server checks our frames only once a probe announced our session.
      if (!had && app_.gateway) send_probes(probe_interval_ms_);
      resolved(a.sender_ip, a.sender_mac);
    }
  }
  if (a.target_ip != mine.addr) return drop(m, Drop::arp_not_for_us);
  if (a.op != kArpRequest) {
    bump(stats_.arp_replies_received);
    rte_pktmbuf_free(m);
    return;
  }
  // Reply in place.
  write_eth(eth, a.sender_mac, in.mac, kEtherTypeArp);
  write_arp(eth + kEthHdrLen, kArpReply, in.mac, mine.addr, a.sender_mac, a.sender_ip);
  m->data_len = m->pkt_len = kEthHdrLen + kArpLen;
  bump(stats_.arp_replies_sent);
  tx_.send(m, in.index, stats_);
}

void Housekeeping::ipv4_local(rte_mbuf* m, const Port& in) {
  uint8_t* eth = rte_pktmbuf_mtod(m, uint8_t*);
  Ipv4Packet p;
  Drop d = parse_ipv4(eth + kEthHdrLen, m->data_len - kEthHdrLen, &p);
  if (d != Drop::none) return drop(m, d);
  if (!(p.proto == kProtoIcmp && p.icmp_type == kIcmpEchoRequest && app_.is_local(p.dst)))
    return drop(m, Drop::local_unhandled);
  make_echo_reply(p);
  // Back to the MAC it came from: the previous hop, even for off-link senders.
  std::memcpy(eth, eth + 6, 6);
  std::memcpy(eth + 6, in.mac.b.data(), 6);
  bump(stats_.echo_replies_sent);
  tx_.send(m, in.index, stats_);
}

void Housekeeping::held_frame(rte_mbuf* m) {
  PktMeta* md = app_.meta(m);
  Mac mac;
  if (app_.neighbors.lookup(md->next_hop, &mac)) {  // resolved while it travelled
    std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), mac.b.data(), 6);
    return tx_.send(m, md->out_port, stats_);
  }
  HoldQueue* q = nullptr;
  HoldQueue* free_q = nullptr;
  for (auto& h : holds_) {
    if (h.ip == md->next_hop) { q = &h; break; }
    if (h.ip == 0 && !free_q) free_q = &h;
  }
  if (!q) {
    if (!free_q) return drop(m, Drop::arp_unresolved);
    q = free_q;
    q->ip = md->next_hop;
    q->port = md->out_port;
    q->since_ms = now_ms_;
    q->last_request_ms = 0;
  }
  if (q->pkts.size() >= app_.cfg.dataplane.arp_hold) return drop(m, Drop::arp_unresolved);
  q->pkts.push_back(m);  // capacity reserved at start: no allocation
  bump(stats_.held);
  if (now_ms_ >= q->last_request_ms + kArpRetryMs) {
    q->last_request_ms = now_ms_;
    request(q->port, q->ip);
  }
}

void Housekeeping::resolved(Ipv4 ip, const Mac& mac) {
  for (auto& h : holds_) {
    if (h.ip != ip) continue;
    for (rte_mbuf* m : h.pkts) {
      std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), mac.b.data(), 6);
      tx_.send(m, h.port, stats_);
    }
    h.pkts.clear();
    h.ip = 0;
  }
}

void Housekeeping::request(uint8_t port, Ipv4 target) {
  rte_mbuf* m = rte_pktmbuf_alloc(app_.pool);
  if (!m) {
    bump(stats_.drops[unsigned(Drop::mbuf_exhausted)]);
    return;
  }
  const Port& p = app_.ports[port];
  uint8_t* eth = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kEthHdrLen + kArpLen));
  write_eth(eth, kBroadcast, p.mac, kEtherTypeArp);
  write_arp(eth + kEthHdrLen, kArpRequest, p.mac, p.iface->address.addr, Mac{}, target);
  bump(stats_.arp_requests_sent);
  tx_.send(m, port, stats_);
}

void Housekeeping::timers() {
  for (auto& h : holds_) {
    if (h.ip == 0) continue;
    if (now_ms_ >= h.since_ms + kHoldMs) {
      for (rte_mbuf* m : h.pkts) drop(m, Drop::arp_unresolved);
      h.pkts.clear();
      h.ip = 0;
    } else if (now_ms_ >= h.last_request_ms + kArpRetryMs) {
      h.last_request_ms = now_ms_;
      request(h.port, h.ip);
    }
  }
}

void Housekeeping::learn(const LearnMsg& msg) {
  if (msg.peer >= app_.peers.size() || msg.path_id >= kMaxPaths) return;
  LearnedPath& lp = app_.peers[msg.peer].paths[msg.path_id].learned;
  LearnedPath::Value v;
  v.valid = true;
  v.port_index = msg.port_index;
  v.udp_port = msg.udp_port;
  v.ip = msg.ip;
  std::memcpy(v.mac.b.data(), msg.mac, 6);
  LearnedPath::Value cur = lp.read();
  lp.last_ms = now_ms_;
  if (cur.valid && cur.ip == v.ip && cur.udp_port == v.udp_port &&
      cur.port_index == v.port_index && cur.mac == v.mac)
    return;
  lp.write(v);
  bump(stats_.paths_learned);
  std::printf("mpf-dataplane: gateway %u path %u now at %s:%u via %s\n",
              app_.peers[msg.peer].tunnel_id, msg.path_id, to_string(v.ip).c_str(), v.udp_port,
              app_.ports[v.port_index].iface->port.c_str());
  std::fflush(stdout);
}

// Gateway: a probe per path every interval_ms, down paths included (that is how they come
// back). Each carries our view of the path so the server can judge its downlink, and when the
// next probe comes.
void Housekeeping::send_probes(uint32_t interval_ms) {
  for (uint8_t id = 0; id < app_.path_ports.size(); id++) {
    PathRoute r = route_to_peer(app_, 0, id);
    if (!r.ok) continue;
    if (!r.mac_known) {
      if (now_ms_ >= last_request_ms_[r.port] + kArpRetryMs) {
        last_request_ms_[r.port] = now_ms_;
        request(r.port, r.next_hop);
      }
      continue;
    }
    rte_mbuf* m = rte_pktmbuf_alloc(app_.pool);
    if (!m) {
      bump(stats_.drops[unsigned(Drop::mbuf_exhausted)]);
      continue;
    }
    path::PathHealth& ph = health_[id];
    tunnel::ProbeBody pb;
    pb.probe_seq = ++probe_seq_[id];
    uint64_t frames, bytes;
    path_rx(0, id, &frames, &bytes);
    pb.rx_frames = uint32_t(frames);
    pb.rx_bytes = bytes;
    pb.srtt_us = ph.srtt_us();
    pb.rttvar_us = ph.rttvar_us();
    pb.queue_us = rates_.downlink_queue_us(id);
    pb.interval_ms = interval_ms;
    std::memcpy(pb.session.salt.data(), app_.salt.data(), tunnel::kSaltLen);
    pb.session.start_ms = app_.start_ms;
    uint8_t* b = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, tunnel::kProbeBodyLen));
    tunnel::encode(pb, b, tunnel::kProbeBodyLen);
    tunnel::Header h;
    h.type = tunnel::FrameType::probe;
    h.path_id = id;
    h.tunnel_id = app_.cfg.tunnel.id;
    h.epoch = app_.epoch;
    h.stream_id = uint16_t(tunnel::kMainSender << 8);
    h.timestamp_us = uint32_t(now_us_);
    if (!encapsulate(m, r, h, ip_id_++)) {
      drop(m, Drop::mbuf_exhausted);
      continue;
    }
    seal_frame(m, app_.peers[0].auth.tx, control_ctr_[id]++);
    ph.probe_sent(pb.probe_seq, now_us_);
    bump(stats_.probes_sent);
    bump(path_tx_[id].tx_frames);  // peer 0: the gateway's server
    bump(path_tx_[id].tx_bytes, m->pkt_len - kEthHdrLen);
    to_path(m, 0, id, r.port);
  }
}

}  // namespace mpf::dp
