#include "stats_view.hpp"

#include <cstdio>

#include "stats/counter.hpp"
#include "worker.hpp"

namespace mpf::dp {

namespace {
void add(LcoreStats& to, const LcoreStats& from) {
#define MPF_X(name, text) to.name += read_counter(from.name);
  MPF_LCORE_COUNTERS(MPF_X)
#undef MPF_X
  for (unsigned i = 0; i < kStatPorts; i++) {
    to.port_rx[i] += read_counter(from.port_rx[i]);
    to.port_tx[i] += read_counter(from.port_tx[i]);
    to.port_rx_bytes[i] += read_counter(from.port_rx_bytes[i]);
    to.port_tx_bytes[i] += read_counter(from.port_tx_bytes[i]);
  }
  for (unsigned i = 0; i < kDropReasons; i++) to.drops[i] += read_counter(from.drops[i]);
}
}  // namespace

StatsView collect_stats(const App& app, const Housekeeping& hk) {
  StatsView v;
  for (const auto& w : app.workers) {
    add(v.total, w->stats());
    if (const nat::NatTable* t = w->nat()) {
      v.nat_sessions += read_counter(t->stats().active);
      v.nat_created += read_counter(t->stats().created);
      v.nat_expired += read_counter(t->stats().expired);
    }
  }
  add(v.total, hk.stats());
  return v;
}

std::string format_stats(const App& app, const StatsView& v) {
  std::string out;
  char line[256];
  auto row = [&](const char* name, uint64_t value) {
    std::snprintf(line, sizeof line, "  %-24s %llu\n", name, (unsigned long long)value);
    out += line;
  };
  out += "counters:\n";
#define MPF_X(name, text) row(#name, v.total.name);
  MPF_LCORE_COUNTERS(MPF_X)
#undef MPF_X
  row("nat_sessions", v.nat_sessions);
  row("nat_created", v.nat_created);
  row("nat_expired", v.nat_expired);
  out += "ports:\n";
  for (const Port& p : app.ports) {
    std::snprintf(line, sizeof line, "  %-6s %-22s rx %llu pkts %llu bytes, tx %llu pkts %llu bytes\n",
                  p.iface->name.c_str(), p.iface->port.c_str(),
                  (unsigned long long)v.total.port_rx[p.index],
                  (unsigned long long)v.total.port_rx_bytes[p.index],
                  (unsigned long long)v.total.port_tx[p.index],
                  (unsigned long long)v.total.port_tx_bytes[p.index]);
    out += line;
  }
  out += "drops:\n";
  bool any = false;
  for (unsigned i = 1; i < kDropReasons; i++) {
    if (!v.total.drops[i]) continue;
    any = true;
    row(drop_name(Drop(i)), v.total.drops[i]);
  }
  if (!any) out += "  (none)\n";
  return out;
}

}  // namespace mpf::dp
