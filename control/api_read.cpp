// The read-only commands: everything they answer is read from the region on the spot (live
// counters summed over lcores, the seqlocked snapshot); the dataplane is never asked.
#include <unistd.h>

#include "api.hpp"
#include "args.hpp"
#include "dataplane_link.hpp"
#include "net/addr.hpp"
#include "region_view.hpp"

namespace mpf::control {

namespace {

std::unique_ptr<shm::Snapshot> need_snapshot(const shm::Region& r) {
  auto s = read_snapshot(r);
  if (!s) throw ApiError("failed", "the dataplane's snapshot stays mid-update (is it stuck?)");
  return s;
}

void no_args(const json& args) { Args(args).done(); }

json lcore_head(const shm::Region& r, unsigned slot) {
  const shm::LcoreSlot& l = r.lcores[slot];
  json j;
  j["slot"] = slot;
  j["lcore"] = l.lcore_id;
  j["role"] = lcore_role_name(l.role);
  j["worker"] = l.role == shm::LcoreRole::main ? json(nullptr) : json(l.worker_index);
  return j;
}

uint64_t dropped(const stats::LcoreStats& s) {
  uint64_t n = 0;
  for (unsigned d = 1; d < kDropReasons; d++) n += s.drops[d];
  return n;
}

double ratio(uint64_t a, uint64_t b) { return b ? double(a) / double(b) : 0.0; }

// How busy an lcore is: loop passes that found work, and the TSC cycles spent in them (a rate
// over two samples divided by tsc_hz gives the busy share of that interval).
void add_busy(json& l, const stats::LcoreStats& s) {
  l["polls"] = s.polls;
  l["busy_polls"] = s.busy_polls;
  l["busy_cycles"] = s.busy_cycles;
  l["busy_ratio"] = ratio(s.busy_polls, s.polls);
}

json nat_json(const shm::NatSnap& n) {
  return {{"sessions", n.sessions},         {"capacity", n.capacity},
          {"occupancy", ratio(n.sessions, n.capacity)},
          {"created", n.created},           {"expired", n.expired},
          {"forwarded_in", n.forwarded_in}, {"forwarded_out", n.forwarded_out},
          {"icmp_errors", n.icmp_errors}};
}

shm::NatSnap nat_totals(const shm::Region& r, const shm::Snapshot& s) {
  shm::NatSnap t{};
  for (unsigned i = 0; i < lcore_count(r); i++) {
    const shm::NatSnap& n = s.nat[i];
    t.sessions += n.sessions;
    t.capacity += n.capacity;
    t.created += n.created;
    t.expired += n.expired;
    t.forwarded_in += n.forwarded_in;
    t.forwarded_out += n.forwarded_out;
    t.icmp_errors += n.icmp_errors;
  }
  return t;
}

json reorder_json(const shm::ReorderSnap& o) {
  return {{"in_order", o.in_order},           {"reordered", o.reordered},
          {"held_now", o.held_now},           {"hold_timeouts", o.hold_timeouts},
          {"overflow_skips", o.overflow_skips}, {"skipped", o.skipped},
          {"late", o.late},                   {"duplicates", o.duplicates},
          {"stale", o.stale},                 {"max_hold_depth", o.max_hold_depth}};
}

double uptime_s(const shm::Region& r, const ApiContext& ctx) {
  return ctx.now_unix_ms > r.hdr.start_unix_ms ? double(ctx.now_unix_ms - r.hdr.start_unix_ms) / 1e3
                                               : 0.0;
}

}  // namespace

Outcome cmd_status(const ApiContext& ctx, const json& args) {
  no_args(args);
  json j;
  j["attached"] = ctx.region != nullptr;
  j["region"] = ctx.link ? ctx.link->path() : "";
  j["controld_pid"] = ::getpid();
  j["controld_version"] = MPF_VERSION;
  if (!ctx.region) {
    j["reason"] = ctx.link ? ctx.link->reason() : "";
    return j;
  }
  const shm::Region& r = *ctx.region;
  const shm::Header& h = r.hdr;
  uint64_t hb_ms = __atomic_load_n(&h.heartbeat_unix_ms, __ATOMIC_RELAXED);
  j["pid"] = h.pid;
  j["role"] = role_name(r);
  j["name"] = field(h.name);
  j["version"] = field(h.version);
  j["start_unix_ms"] = h.start_unix_ms;
  j["uptime_s"] = uptime_s(r, ctx);
  j["heartbeat"] = __atomic_load_n(&h.heartbeat, __ATOMIC_RELAXED);
  j["heartbeat_age_ms"] = ctx.now_unix_ms > hb_ms ? ctx.now_unix_ms - hb_ms : 0;
  j["publish_interval_ms"] = h.publish_interval_ms;
  j["config_file"] = field(h.config_file);
  j["lcores"] = lcore_count(r);
  j["workers"] = h.n_workers;
  j["ports"] = port_count(r);
  j["peers"] = h.n_peers;
  return j;
}

Outcome cmd_stats(const ApiContext& ctx, const json& args) {
  no_args(args);
  const shm::Region& r = need_region(ctx);
  auto snap = need_snapshot(r);
  stats::LcoreStats t = sum_lcores(r);
  json counters = json::object();
#define MPF_X(name, text) counters[#name] = t.name;
  MPF_LCORE_COUNTERS(MPF_X)
#undef MPF_X
  json drops = json::object();
  for (unsigned d = 1; d < kDropReasons; d++)
    if (t.drops[d]) drops[drop_name(Drop(d))] = t.drops[d];
  json lcores = json::array();
  for (unsigned i = 0; i < lcore_count(r); i++) {
    stats::LcoreStats s = read_lcore(r.lcores[i]);
    json l = lcore_head(r, i);
    l["rx_packets"] = s.rx_packets;
    l["rx_bytes"] = s.rx_bytes;
    l["tx_packets"] = s.tx_packets;
    l["tx_bytes"] = s.tx_bytes;
    l["dropped"] = dropped(s);
    l["handoff_sent"] = s.handoff_sent;
    l["handoff_received"] = s.handoff_received;
    add_busy(l, s);
    lcores.push_back(l);
  }
  shm::NatSnap nt = nat_totals(r, *snap);
  return json{{"role", role_name(r)},
              {"name", field(r.hdr.name)},
              {"time_unix_ms", ctx.now_unix_ms},
              {"tsc_hz", r.hdr.tsc_hz},
              {"uptime_s", uptime_s(r, ctx)},
              {"counters", counters},
              {"dropped", dropped(t)},
              {"drops", drops},
              {"lcores", lcores},
              {"nat", {{"sessions", nt.sessions},
                       {"capacity", nt.capacity},
                       {"created", nt.created},
                       {"expired", nt.expired}}},
              {"reorder", reorder_json(snap->reorder)},
              {"mbufs", {{"in_use", snap->mbufs_in_use}, {"total", snap->mbufs_total}}}};
}

Outcome cmd_ports(const ApiContext& ctx, const json& args) {
  no_args(args);
  const shm::Region& r = need_region(ctx);
  auto snap = need_snapshot(r);
  stats::LcoreStats t = sum_lcores(r);
  json ports = json::array();
  for (unsigned i = 0; i < port_count(r); i++) {
    const shm::PortSnap& p = snap->ports[i];
    net::Mac mac;
    for (unsigned k = 0; k < 6; k++) mac.b[k] = p.mac[k];
    ports.push_back({{"index", i},
                     {"name", field(p.name)},
                     {"device", field(p.device)},
                     {"kind", port_kind_name(p.kind)},
                     {"address", net::to_string(net::Prefix{p.ip, p.prefix_len})},
                     {"mac", net::to_string(mac)},
                     {"path_id", p.kind == shm::PortKindCode::path ? json(p.path_id) : json()},
                     {"link_up", p.link_up != 0},
                     {"link_speed_mbps", p.link_speed_mbps},
                     {"rx_packets", t.port_rx[i]},
                     {"rx_bytes", t.port_rx_bytes[i]},
                     {"tx_packets", t.port_tx[i]},
                     {"tx_bytes", t.port_tx_bytes[i]},
                     {"device_stats",
                      {{"ipackets", p.pmd_ipackets},
                       {"opackets", p.pmd_opackets},
                       {"ibytes", p.pmd_ibytes},
                       {"obytes", p.pmd_obytes},
                       {"imissed", p.pmd_imissed},
                       {"ierrors", p.pmd_ierrors},
                       {"oerrors", p.pmd_oerrors},
                       {"rx_nombuf", p.pmd_rx_nombuf}}}});
  }
  return json{{"time_unix_ms", ctx.now_unix_ms}, {"ports", ports}};
}

Outcome cmd_paths(const ApiContext& ctx, const json& args) {
  no_args(args);
  const shm::Region& r = need_region(ctx);
  auto snap = need_snapshot(r);
  json paths = json::array();
  for (unsigned pi = 0; pi < peer_count(r); pi++) {
    const shm::PeerSnap& peer = snap->peers[pi];
    for (unsigned k = 0; k < shm::kPaths; k++) {
      const shm::PathSnap& p = peer.paths[k];
      if (!p.configured) continue;
      json learned;
      if (p.learned_ip) learned = net::to_string(net::Endpoint{p.learned_ip, p.learned_port});
      paths.push_back({{"peer", peer.tunnel_id},
                       {"peer_index", pi},
                       {"peer_address", net::to_string(peer.tunnel_addr)},
                       {"path_id", k},
                       {"name", field(p.name)},
                       {"state", p.up ? "up" : "down"},
                       {"health", p.health_up ? "up" : "down"},
                       {"admin", admin_name(p.admin)},
                       {"weight", p.weight},
                       {"max_rate_bps", p.max_rate_bps == shm::kAutoRate ? 0 : p.max_rate_bps},
                       {"max_rate_auto", p.max_rate_bps == shm::kAutoRate},
                       {"rate_bps", p.rate_bps},
                       {"queue_us", p.queue_us},
                       {"srtt_us", p.srtt_us},
                       {"rttvar_us", p.rttvar_us},
                       {"min_rtt_us", p.min_rtt_us},
                       {"owd_us", p.owd_us},
                       {"loss_ppm", p.loss_ppm},
                       {"loss_ratio", double(p.loss_ppm) / 1e6},
                       {"delivery_bps", p.delivery_Bps * 8},
                       {"changes", p.changes},
                       {"last_rx_age_ms", p.last_rx_age_ms == ~0ull ? json() : json(p.last_rx_age_ms)},
                       {"tx_frames", p.tx_frames},
                       {"tx_bytes", p.tx_bytes},
                       {"rx_frames", p.rx_frames},
                       {"rx_bytes", p.rx_bytes},
                       {"lost", p.lost},
                       {"retransmits", p.retransmits},
                       {"shaper_drops", p.shaper_drops},
                       {"impairment", impairment_json(p)},
                       {"impair_drops", p.impair_drops},
                       {"learned", learned}});
    }
  }
  return json{{"role", role_name(r)}, {"time_unix_ms", ctx.now_unix_ms}, {"paths", paths}};
}

Outcome cmd_lcores(const ApiContext& ctx, const json& args) {
  no_args(args);
  const shm::Region& r = need_region(ctx);
  auto snap = need_snapshot(r);
  json lcores = json::array();
  for (unsigned i = 0; i < lcore_count(r); i++) {
    stats::LcoreStats s = read_lcore(r.lcores[i]);
    json l = lcore_head(r, i);
    l["rx_packets"] = s.rx_packets;
    l["rx_bytes"] = s.rx_bytes;
    l["tx_packets"] = s.tx_packets;
    l["tx_bytes"] = s.tx_bytes;
    l["dropped"] = dropped(s);
    l["encapsulated"] = s.encapsulated;
    l["decapsulated"] = s.decapsulated;
    l["handoff_sent"] = s.handoff_sent;
    l["handoff_received"] = s.handoff_received;
    l["to_main"] = s.to_main;
    add_busy(l, s);
    l["nat_sessions"] = snap->nat[i].sessions;
    l["nat_capacity"] = snap->nat[i].capacity;
    lcores.push_back(l);
  }
  return json{{"time_unix_ms", ctx.now_unix_ms}, {"tsc_hz", r.hdr.tsc_hz}, {"lcores", lcores}};
}

Outcome cmd_drops(const ApiContext& ctx, const json& args) {
  no_args(args);
  const shm::Region& r = need_region(ctx);
  stats::LcoreStats t = sum_lcores(r);
  json reasons = json::array();
  for (unsigned d = 1; d < kDropReasons; d++)
    reasons.push_back({{"name", drop_name(Drop(d))},
                       {"count", t.drops[d]},
                       {"description", drop_description(Drop(d))}});
  return json{{"total", dropped(t)}, {"reasons", reasons}};
}

Outcome cmd_nat(const ApiContext& ctx, const json& args) {
  no_args(args);
  const shm::Region& r = need_region(ctx);
  auto snap = need_snapshot(r);
  json lcores = json::array();
  for (unsigned i = 0; i < lcore_count(r); i++) {
    if (r.lcores[i].role == shm::LcoreRole::main) continue;  // owns no NAT table
    json l = lcore_head(r, i);
    l.update(nat_json(snap->nat[i]));
    l["port_first"] = snap->nat[i].port_first;
    l["port_last"] = snap->nat[i].port_last;
    lcores.push_back(l);
  }
  return json{{"lcores", lcores}, {"totals", nat_json(nat_totals(r, *snap))}};
}

}  // namespace mpf::control
