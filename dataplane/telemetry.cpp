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
    rte_tel_data_add_dict_u64(e, "nat_sessions", read_counter(w->nat()->stats().active));
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
}

}  // namespace mpf::dp
