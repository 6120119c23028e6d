#include "shm_publish.hpp"

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "shm/seqlock.hpp"
#include "stats/counter.hpp"
#include "worker.hpp"

namespace mpf::dp {

namespace {

uint64_t unix_ms() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

template <size_t N>
void copy_str(char (&to)[N], const std::string& from) {
  std::memset(to, 0, N);
  std::memcpy(to, from.data(), std::min(N - 1, from.size()));
}

uint64_t relaxed(const uint64_t& v) { return __atomic_load_n(&v, __ATOMIC_RELAXED); }

}  // namespace

StatsPublisher::StatsPublisher(App& app, const std::vector<PathCounters>& main_paths)
    : app_(app), main_paths_(main_paths), staging_(std::make_unique<shm::Snapshot>()) {}

void StatsPublisher::start(const std::string& config_text) {
  shm::Region& r = *app_.shm;
  shm::Header& h = r.hdr;
  h.publish_interval_ms = app_.cfg.control.publish_interval_ms;
  h.gateway = app_.gateway;
  copy_str(h.name, app_.cfg.control.name);
  copy_str(h.version, MPF_VERSION);
  copy_str(h.config_file, app_.cfg.file);
  h.n_workers = app_.n_workers;
  h.n_lcores = app_.n_workers + 1;  // workers, then the main lcore's housekeeping
  h.n_ports = uint32_t(app_.ports.size());
  h.n_peers = uint32_t(app_.peers.size());
  h.tsc_hz = app_.tsc_hz;
  for (const auto& w : app_.workers) {
    shm::LcoreSlot& s = r.lcores[w->index()];
    s.lcore_id = w->lcore_id();
    s.worker_index = uint8_t(w->index());
    s.role = app_.main_is_worker ? shm::LcoreRole::main_worker : shm::LcoreRole::worker;
  }
  shm::LcoreSlot& m = r.lcores[app_.n_workers];
  m.lcore_id = rte_get_main_lcore();
  m.role = shm::LcoreRole::main;
  m.worker_index = 0xff;
  const size_t n = std::min<size_t>(config_text.size(), shm::kConfigText - 1);
  std::memcpy(r.config_text, config_text.data(), n);
  h.config_text_len = uint32_t(n);
  start_ms_ = unix_ms();
  publish(0);
  __atomic_store_n(&h.ready, 1u, __ATOMIC_RELEASE);
}

void StatsPublisher::publish(uint64_t now_ms) {
  next_ms_ = now_ms + app_.cfg.control.publish_interval_ms;
  shm::Snapshot& s = *staging_;
  const uint64_t wall = unix_ms();
  s.taken_unix_ms = wall;
  s.uptime_ms = wall - start_ms_;

  for (const Port& p : app_.ports) {
    shm::PortSnap& o = s.ports[p.index];
    copy_str(o.name, p.iface->name);
    copy_str(o.device, p.iface->port);
    o.ip = p.iface->address.addr;
    o.prefix_len = p.iface->address.len;
    o.kind = shm::PortKindCode(p.kind);
    o.path_id = p.path_id;
    std::memcpy(o.mac, p.mac.b.data(), 6);
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(p.port_id, &link) == 0) {
      o.link_up = link.link_status;
      o.link_speed_mbps = link.link_speed;
    }
    rte_eth_stats es{};
    if (rte_eth_stats_get(p.port_id, &es) == 0) {
      o.pmd_ipackets = es.ipackets;
      o.pmd_opackets = es.opackets;
      o.pmd_ibytes = es.ibytes;
      o.pmd_obytes = es.obytes;
      o.pmd_imissed = es.imissed;
      o.pmd_ierrors = es.ierrors;
      o.pmd_oerrors = es.oerrors;
      o.pmd_rx_nombuf = es.rx_nombuf;
    }
  }

  const uint64_t now_us = app_.now_us(rte_rdtsc());
  const size_t peers = std::min<size_t>(app_.peers.size(), shm::kPeers);
  for (size_t pi = 0; pi < peers; pi++) {
    const PeerState& ps = app_.peers[pi];
    shm::PeerSnap& o = s.peers[pi];
    o.tunnel_id = ps.tunnel_id;
    o.tunnel_addr = ps.tunnel_addr;
    o.n_paths = ps.n_paths;
    for (unsigned k = 0; k < shm::kPaths; k++) {
      shm::PathSnap& q = o.paths[k];
      q = shm::PathSnap{};
      if (k >= ps.n_paths) continue;
      const PathShared& p = ps.paths[k];
      PathPub::Value v = p.pub.read();
      copy_str(q.name, app_.cfg.path_profiles[k].name);
      q.configured = 1;
      q.up = v.up;
      q.health_up = p.health_up;
      q.admin = p.ctl.admin;
      q.weight = p.ctl.weight;
      q.max_rate_bps = p.ctl.max_rate_bps;
      q.rate_bps = relaxed(p.rate_Bps) * 8;
      q.queue_us = relaxed(p.queue_us);
      q.srtt_us = relaxed(p.srtt_us);
      q.rttvar_us = relaxed(p.rttvar_us);
      q.min_rtt_us = relaxed(p.min_rtt_us);
      q.owd_us = v.owd_us;
      q.loss_ppm = relaxed(p.loss_ppm);
      q.delivery_Bps = relaxed(p.delivery_Bps);
      q.changes = relaxed(p.changes);
      const uint64_t last = relaxed(p.last_rx_us);
      q.last_rx_age_ms = last == 0 ? ~0ull : now_us > last ? (now_us - last) / 1000 : 0;
      for (const auto& w : app_.workers) {
        const PathCounters& c = w->path_counters(uint16_t(pi), uint8_t(k));
        q.tx_frames += read_counter(c.tx_frames);
        q.tx_bytes += read_counter(c.tx_bytes);
        q.rx_frames += read_counter(c.rx_frames);
        q.rx_bytes += read_counter(c.rx_bytes);
        q.lost += read_counter(c.lost);
        q.retransmits += read_counter(c.retransmits);
        q.shaper_drops += read_counter(c.shaper_drops);
        q.impair_drops += read_counter(c.impair_drops);
      }
      for (unsigned dir = 0; dir < 2; dir++) {
        const path::ImpairParams& im = p.impair[dir];  // this lcore writes them
        q.impair[dir] = shm::ImpairSpec{im.delay_us, im.jitter_us, im.loss_ppm, im.queue_us,
                                        im.rate_Bps * 8};
      }
      const PathCounters& mc = main_paths_[pi * kMaxPaths + k];
      q.tx_frames += mc.tx_frames;
      q.tx_bytes += mc.tx_bytes;
      q.impair_drops += mc.impair_drops;  // probes and probe replies
      q.rx_frames += mc.rx_frames;  // a new session's first probe / reply
      q.rx_bytes += mc.rx_bytes;
      if (!app_.gateway) {
        LearnedPath::Value l = p.learned.read();
        if (l.valid) {
          q.learned_ip = l.ip;
          q.learned_port = l.udp_port;
        }
      }
    }
  }

  s.reorder = shm::ReorderSnap{};
  for (const auto& w : app_.workers) {
    shm::NatSnap& n = s.nat[w->index()];
    if (const nat::NatTable* t = w->nat()) {
      const nat::TableStats& ts = t->stats();
      n.sessions = read_counter(ts.active);
      n.capacity = t->params().max_sessions;
      n.created = read_counter(ts.created);
      n.expired = read_counter(ts.expired);
      n.forwarded_in = read_counter(ts.forwarded_in);
      n.forwarded_out = read_counter(ts.forwarded_out);
      n.icmp_errors = read_counter(ts.icmp_errors);
      n.port_first = t->params().port_first;
      n.port_last = t->params().port_last;
    }
    reorder::Stats r = w->reorder_totals();
    s.reorder.in_order += r.delivered_in_order;
    s.reorder.reordered += r.delivered_after_hold;
    s.reorder.held_now += r.held_now;
    s.reorder.hold_timeouts += r.hold_timeouts;
    s.reorder.overflow_skips += r.overflow_skips;
    s.reorder.skipped += r.skipped_seqs;
    s.reorder.late += r.late;
    s.reorder.duplicates += r.duplicates;
    s.reorder.stale += r.stale;
    s.reorder.max_hold_depth = std::max(s.reorder.max_hold_depth, r.max_hold_depth);
  }
  s.mbufs_in_use = rte_mempool_in_use_count(app_.pool);
  s.mbufs_total = app_.pool->size;
  s.path_gen = __atomic_load_n(&app_.path_gen, __ATOMIC_RELAXED);

  shm::Region& r = *app_.shm;
  shm::seq_write_begin(&r.snap_seq);
  std::memcpy(&r.snap, &s, sizeof s);
  shm::seq_write_end(&r.snap_seq);
  __atomic_store_n(&r.hdr.heartbeat_unix_ms, wall, __ATOMIC_RELAXED);
  __atomic_store_n(&r.hdr.heartbeat, r.hdr.heartbeat + 1, __ATOMIC_RELEASE);
}

}  // namespace mpf::dp
