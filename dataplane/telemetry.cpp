#include "telemetry.hpp"

#include <rte_telemetry.h>

#include "net/addr.hpp"
#include "stats/counter.hpp"
#include "stats_view.hpp"
#include "worker.hpp"

namespace mpf::dp {

namespace {

const App* g_app = nullptr;
const Housekeeping* g_hk = nullptr;

rte_tel_data* drops_dict(const LcoreStats& s, bool all) {
  rte_tel_data* d = rte_tel_data_alloc();
  if (!d) return nullptr;
  rte_tel_data_start_dict(d);
  for (unsigned i = 1; i < kDropReasons; i++)
    if (all || s.drops[i]) rte_tel_data_add_dict_u64(d, drop_name(Drop(i)), s.drops[i]);
  return d;
}

int cmd_stats(const char*, const char*, rte_tel_data* d) {
  StatsView v = collect_stats(*g_app, *g_hk);
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "role", g_app->gateway ? "gateway" : "server");
#define MPF_X(name, text) rte_tel_data_add_dict_u64(d, #name, v.total.name);
  MPF_LCORE_COUNTERS(MPF_X)
#undef MPF_X
  rte_tel_data_add_dict_u64(d, "nat_sessions", v.nat_sessions);
  rte_tel_data_add_dict_u64(d, "nat_created", v.nat_created);
  rte_tel_data_add_dict_u64(d, "nat_expired", v.nat_expired);
  uint64_t dropped = 0;
  for (unsigned i = 1; i < kDropReasons; i++) dropped += v.total.drops[i];
  rte_tel_data_add_dict_u64(d, "dropped", dropped);
  if (rte_tel_data* dd = drops_dict(v.total, false)) rte_tel_data_add_dict_container(d, "drops", dd, 0);
  return 0;
}

int cmd_drops(const char*, const char*, rte_tel_data* d) {
  StatsView v = collect_stats(*g_app, *g_hk);
  rte_tel_data_start_dict(d);
  for (unsigned i = 1; i < kDropReasons; i++)
    rte_tel_data_add_dict_u64(d, drop_name(Drop(i)), v.total.drops[i]);
  return 0;
}

int cmd_ports(const char*, const char*, rte_tel_data* d) {
  StatsView v = collect_stats(*g_app, *g_hk);
  rte_tel_data_start_dict(d);
  for (const Port& p : g_app->ports) {
    rte_tel_data* e = rte_tel_data_alloc();
    if (!e) return -ENOMEM;
    rte_tel_data_start_dict(e);
    rte_tel_data_add_dict_string(e, "device", p.iface->port.c_str());
    rte_tel_data_add_dict_string(e, "address", net::to_string(p.iface->address).c_str());
    rte_tel_data_add_dict_string(e, "mac", net::to_string(p.mac).c_str());
    rte_tel_data_add_dict_u64(e, "rx_packets", v.total.port_rx[p.index]);
    rte_tel_data_add_dict_u64(e, "rx_bytes", v.total.port_rx_bytes[p.index]);
    rte_tel_data_add_dict_u64(e, "tx_packets", v.total.port_tx[p.index]);
    rte_tel_data_add_dict_u64(e, "tx_bytes", v.total.port_tx_bytes[p.index]);
    rte_eth_stats es;
    if (rte_eth_stats_get(p.port_id, &es) == 0) {
      rte_tel_data_add_dict_u64(e, "pmd_imissed", es.imissed);
      rte_tel_data_add_dict_u64(e, "pmd_ierrors", es.ierrors);
      rte_tel_data_add_dict_u64(e, "pmd_oerrors", es.oerrors);
      rte_tel_data_add_dict_u64(e, "pmd_rx_nombuf", es.rx_nombuf);
    }
    rte_tel_data_add_dict_container(d, p.iface->name.c_str(), e, 0);
  }
  return 0;
}

int cmd_lcores(const char*, const char*, rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  for (const auto& w : g_app->workers) {
    rte_tel_data* e = rte_tel_data_alloc();
    if (!e) return -ENOMEM;
    rte_tel_data_start_dict(e);
    const LcoreStats& s = w->stats();
    rte_tel_data_add_dict_u64(e, "lcore", w->lcore_id());
    rte_tel_data_add_dict_u64(e, "rx_packets", read_counter(s.rx_packets));
    rte_tel_data_add_dict_u64(e, "tx_packets", read_counter(s.tx_packets));
    rte_tel_data_add_dict_u64(e, "handoff_sent", read_counter(s.handoff_sent));
    rte_tel_data_add_dict_u64(e, "handoff_received", read_counter(s.handoff_received));
    rte_tel_data_add_dict_u64(e, "polls", read_counter(s.polls));
    rte_tel_data_add_dict_u64(e, "busy_polls", read_counter(s.busy_polls));
    rte_tel_data_add_dict_u64(e, "busy_cycles", read_counter(s.busy_cycles));
    rte_tel_data_add_dict_u64(e, "nat_sessions", read_counter(w->nat()->stats().active));
    rte_tel_data_add_dict_u64(e, "nat_capacity", w->nat()->params().max_sessions);
    rte_tel_data_add_dict_u64(e, "nat_port_first", g_app->partition.share_first(w->index()));
    rte_tel_data_add_dict_u64(e, "nat_port_last", g_app->partition.share_last(w->index()));
    std::string key = "worker" + std::to_string(w->index());
    rte_tel_data_add_dict_container(d, key.c_str(), e, 0);
  }
  return 0;
}

int cmd_peers(const char*, const char*, rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  for (const PeerState& p : g_app->peers) {
    rte_tel_data* e = rte_tel_data_alloc();
    if (!e) return -ENOMEM;
    rte_tel_data_start_dict(e);
    rte_tel_data_add_dict_u64(e, "tunnel_id", p.tunnel_id);
    rte_tel_data_add_dict_string(e, "tunnel_address", net::to_string(p.tunnel_addr).c_str());
    for (unsigned k = 0; k < kMaxPaths; k++) {
      LearnedPath::Value v = p.paths[k].learned.read();
      if (!v.valid) continue;
      std::string key = "path" + std::to_string(k);
      net::Endpoint ep{v.ip, v.udp_port};
      rte_tel_data_add_dict_string(e, key.c_str(), net::to_string(ep).c_str());
    }
    std::string key = "gateway" + std::to_string(p.tunnel_id);
    rte_tel_data_add_dict_container(d, key.c_str(), e, 0);
  }
  return 0;
}

// Per path of every peer: health as the main lcore published it and the workers' summed
// per-path counters.
int cmd_paths(const char*, const char*, rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  for (size_t pi = 0; pi < g_app->peers.size(); pi++) {
    const PeerState& peer = g_app->peers[pi];
    for (unsigned k = 0; k < peer.n_paths; k++) {
      const PathShared& ps = peer.paths[k];
      rte_tel_data* e = rte_tel_data_alloc();
      if (!e) return -ENOMEM;
      rte_tel_data_start_dict(e);
      PathPub::Value v = ps.pub.read();
      rte_tel_data_add_dict_u64(e, "peer", peer.tunnel_id);
      rte_tel_data_add_dict_u64(e, "path_id", k);
      rte_tel_data_add_dict_string(e, "state", v.up ? "up" : "down");
      static const char* const kAdmin[] = {"auto", "up", "down"};
      rte_tel_data_add_dict_string(e, "admin", kAdmin[__atomic_load_n(reinterpret_cast<const uint8_t*>(&ps.ctl.admin), __ATOMIC_RELAXED) % 3]);
      rte_tel_data_add_dict_u64(e, "weight", v.weight);
      rte_tel_data_add_dict_u64(e, "srtt_us", __atomic_load_n(&ps.srtt_us, __ATOMIC_RELAXED));
      rte_tel_data_add_dict_u64(e, "rttvar_us", __atomic_load_n(&ps.rttvar_us, __ATOMIC_RELAXED));
      rte_tel_data_add_dict_u64(e, "min_rtt_us", __atomic_load_n(&ps.min_rtt_us, __ATOMIC_RELAXED));
      rte_tel_data_add_dict_u64(e, "loss_ppm", __atomic_load_n(&ps.loss_ppm, __ATOMIC_RELAXED));
      rte_tel_data_add_dict_u64(e, "delivery_Bps", __atomic_load_n(&ps.delivery_Bps, __ATOMIC_RELAXED));
      rte_tel_data_add_dict_u64(e, "rate_Bps", v.rate_Bps);
      rte_tel_data_add_dict_u64(e, "queue_us", __atomic_load_n(&ps.queue_us, __ATOMIC_RELAXED));
      // Each worker's part of the rate (docs/multipath.md, "Shaping"): share_Bps_w<i>, as the
      // worker takes it (the split, or rate / workers before the first one).
      for (unsigned i = 0; g_app->n_workers > 1 && i < g_app->n_workers; i++) {
        const std::string key = "share_Bps_w" + std::to_string(i);
        rte_tel_data_add_dict_u64(e, key.c_str(), worker_share(ps, i, g_app->n_workers, v.rate_Bps));
      }
      rte_tel_data_add_dict_u64(e, "changes", __atomic_load_n(&ps.changes, __ATOMIC_RELAXED));
      PathCounters c;
      for (const auto& w : g_app->workers) {
        const PathCounters& x = w->path_counters(uint16_t(pi), uint8_t(k));
        c.rx_frames += read_counter(x.rx_frames);
        c.rx_bytes += read_counter(x.rx_bytes);
        c.tx_frames += read_counter(x.tx_frames);
        c.tx_bytes += read_counter(x.tx_bytes);
        c.lost += read_counter(x.lost);
        c.retransmits += read_counter(x.retransmits);
        c.shaper_drops += read_counter(x.shaper_drops);
        c.impair_drops += read_counter(x.impair_drops);
      }
      rte_tel_data_add_dict_u64(e, "tx_frames", c.tx_frames);
      rte_tel_data_add_dict_u64(e, "tx_bytes", c.tx_bytes);
      rte_tel_data_add_dict_u64(e, "rx_frames", c.rx_frames);
      rte_tel_data_add_dict_u64(e, "rx_bytes", c.rx_bytes);
      rte_tel_data_add_dict_u64(e, "lost", c.lost);
      rte_tel_data_add_dict_u64(e, "retransmits", c.retransmits);
      rte_tel_data_add_dict_u64(e, "shaper_drops", c.shaper_drops);
      rte_tel_data_add_dict_u64(e, "impair_drops", c.impair_drops);
      std::string key = g_app->gateway ? g_app->cfg.path_profiles[k].name
                                       : "gw" + std::to_string(peer.tunnel_id) + "_" +
                                             g_app->cfg.path_profiles[k].name;
      rte_tel_data_add_dict_container(d, key.c_str(), e, 0);
    }
  }
  return 0;
}

int cmd_reorder(const char*, const char*, rte_tel_data* d) {
  reorder::Stats t;
  for (const auto& w : g_app->workers) {
    reorder::Stats s = w->reorder_totals();
    t.delivered_in_order += s.delivered_in_order;
    t.delivered_after_hold += s.delivered_after_hold;
    t.held_now += s.held_now;
    t.hold_timeouts += s.hold_timeouts;
    t.overflow_skips += s.overflow_skips;
    t.late += s.late;
    t.duplicates += s.duplicates;
    t.stale += s.stale;
  }
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_u64(d, "in_order", t.delivered_in_order);
  rte_tel_data_add_dict_u64(d, "reordered", t.delivered_after_hold);
  rte_tel_data_add_dict_u64(d, "held_now", t.held_now);
  rte_tel_data_add_dict_u64(d, "hold_timeouts", t.hold_timeouts);
  rte_tel_data_add_dict_u64(d, "overflow_skips", t.overflow_skips);
  rte_tel_data_add_dict_u64(d, "late", t.late);
  rte_tel_data_add_dict_u64(d, "duplicates", t.duplicates);
  rte_tel_data_add_dict_u64(d, "stale", t.stale);
  return 0;
}

}  // namespace

void register_telemetry(const App* app, const Housekeeping* hk) {
  g_app = app;
  g_hk = hk;
  rte_telemetry_register_cmd("/mpf/stats", cmd_stats,
                             "mpf totals: packets, bytes, NAT, tunnel, non-zero drops");
  rte_telemetry_register_cmd("/mpf/drops", cmd_drops, "mpf drops by reason, all reasons");
  rte_telemetry_register_cmd("/mpf/ports", cmd_ports, "mpf per-port packets and bytes");
  rte_telemetry_register_cmd("/mpf/lcores", cmd_lcores, "mpf per-worker figures");
  rte_telemetry_register_cmd("/mpf/peers", cmd_peers, "mpf server: gateways and learned paths");
  rte_telemetry_register_cmd("/mpf/paths", cmd_paths,
                             "mpf per path: state, RTT, loss, rates, frames, retransmits");
  rte_telemetry_register_cmd("/mpf/reorder", cmd_reorder, "mpf receive windows: reordering");
}

}  // namespace mpf::dp
