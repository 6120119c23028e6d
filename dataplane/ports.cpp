#include "ports.hpp"

#include <rte_ethdev.h>

#include <cstdio>

namespace mpf::dp {

std::vector<std::string> eal_port_names() {
  std::vector<std::string> names;
  uint16_t id;
  RTE_ETH_FOREACH_DEV(id) {
    char name[RTE_ETH_NAME_MAX_LEN];
    if (rte_eth_dev_get_name_by_port(id, name) == 0) names.emplace_back(name);
  }
  return names;
}

namespace {

bool open_one(App& app, Port& port, std::string* error) {
  const auto& dp = app.cfg.dataplane;
  const std::string& name = port.iface->port;
  auto fail = [&](const char* what, int rc) {
    *error = "port " + name + ": " + what + ": " + rte_strerror(rc < 0 ? -rc : rc);
    return false;
  };
  rte_eth_dev_info info;
  int rc = rte_eth_dev_info_get(port.port_id, &info);
  if (rc != 0) return fail("cannot read device info", rc);

  // af_packet puts all its queue pairs' sockets in one fanout group when the device is
  // created: a queue left unconfigured still gets its part of the frames, and nobody would read
  // them. So every one of its queues is polled (the workers take them in turn, main.cpp).
  const bool fanout = name.rfind("net_af_packet", 0) == 0;
  port.nb_rxq = uint16_t(fanout ? std::max<unsigned>(1, info.max_rx_queues)
                                : std::min<unsigned>(app.n_workers, info.max_rx_queues));
  unsigned want_tx = app.n_workers + (app.main_is_worker ? 0 : 1);
  if (info.max_tx_queues < want_tx) {
    *error = "port " + name + ": needs " + std::to_string(want_tx) +
             " TX queues (one per lcore), device has " + std::to_string(info.max_tx_queues);
    if (name.rfind("net_af_packet", 0) == 0)
      *error += " (add qpairs=" + std::to_string(want_tx) + " to its --vdev)";
    else if (name.rfind("net_pcap", 0) == 0)
      *error += " (give its --vdev " + std::to_string(want_tx) + " tx_pcap= files)";
    return false;
  }
  port.nb_txq = uint16_t(want_tx);

  rte_eth_conf conf{};
  port.spread_inside = port.kind == PortKind::lan && app.n_workers > 1;
  if (port.nb_rxq > 1) {
    // Spread flows over the workers' queues where the device hashes. On the LAN, hashing on the
    // source address and port alone keeps every flow of an inside endpoint on one worker (its
    // NAT mapping lives there); a device that cannot do that gets software dispatch.
    const uint64_t src_only = RTE_ETH_RSS_L3_SRC_ONLY | RTE_ETH_RSS_L4_SRC_ONLY;
    uint64_t rss = info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
    if (rss) {
      conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
      conf.rx_adv_conf.rss_conf.rss_hf = rss;
      if (port.kind == PortKind::lan && port.nb_rxq == app.n_workers &&
          (info.flow_type_rss_offloads & src_only) == src_only) {
        conf.rx_adv_conf.rss_conf.rss_hf |= src_only;
        port.spread_inside = false;
      }
    }
  }
  rc = rte_eth_dev_configure(port.port_id, port.nb_rxq, port.nb_txq, &conf);
  if (rc != 0) return fail("configure failed", rc);
  uint16_t rxd = dp.rx_desc, txd = dp.tx_desc;
  rc = rte_eth_dev_adjust_nb_rx_tx_desc(port.port_id, &rxd, &txd);
  if (rc != 0) return fail("descriptor counts refused", rc);
  int socket = rte_eth_dev_socket_id(port.port_id);
  if (socket < 0) socket = 0;
  for (uint16_t q = 0; q < port.nb_rxq; q++) {
    rc = rte_eth_rx_queue_setup(port.port_id, q, rxd, unsigned(socket), nullptr, app.pool);
    if (rc != 0) return fail("RX queue setup failed", rc);
  }
  for (uint16_t q = 0; q < port.nb_txq; q++) {
    rc = rte_eth_tx_queue_setup(port.port_id, q, txd, unsigned(socket), nullptr);
    if (rc != 0) return fail("TX queue setup failed", rc);
  }
  if (port.iface->mtu != 1500) {
    rc = rte_eth_dev_set_mtu(port.port_id, port.iface->mtu);
    if (rc != 0) return fail("cannot set MTU", rc);
  }
  rc = rte_eth_dev_start(port.port_id);
  if (rc != 0) return fail("start failed", rc);
  rte_ether_addr mac;
  rc = rte_eth_macaddr_get(port.port_id, &mac);
  if (rc != 0) return fail("cannot read MAC address", rc);
  std::copy(mac.addr_bytes, mac.addr_bytes + 6, port.mac.b.begin());
  // Frames for other MACs are filtered in software too (eth_not_for_us); promiscuous mode
  // stays as the PMD set it.
  return true;
}

}  // namespace

bool open_ports(App& app, std::string* error) {
  app.by_port_id.fill(-1);
  for (const config::Interface* ifc : app.cfg.interfaces()) {
    Port p;
    p.index = uint8_t(app.ports.size());
    p.iface = ifc;
    if (rte_eth_dev_get_port_by_name(ifc->port.c_str(), &p.port_id) != 0) {
      *error = "port " + ifc->port + " not found";
      return false;
    }
    if (app.gateway) {
      p.kind = app.ports.empty() ? PortKind::lan : PortKind::path;
    } else {
      p.kind = app.ports.empty() ? PortKind::wan : PortKind::tunnel;
    }
    app.ports.push_back(p);
  }
  if (app.ports.size() > kMaxPorts || app.ports.size() > kStatPorts) {
    *error = "too many ports (max " + std::to_string(kMaxPorts) + ")";
    return false;
  }
  for (Port& p : app.ports) {
    if (!open_one(app, p, error)) return false;
    app.by_port_id[p.port_id] = int16_t(p.index);
    if (p.kind == PortKind::lan) app.lan = p.index;
    if (p.kind == PortKind::wan) app.wan = p.index;
    if (p.kind == PortKind::path) {
      p.path_id = uint8_t(app.path_ports.size());
      app.path_ports.push_back(p.index);
    }
  }
  return true;
}

void close_ports(App& app) {
  for (const Port& p : app.ports) rte_eth_dev_close(p.port_id);
}

}  // namespace mpf::dp
