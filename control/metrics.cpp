#include "metrics.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "region_view.hpp"

namespace mpf::control {

namespace {

using Labels = std::vector<std::pair<const char*, std::string>>;

// Writes one family at a time: HELP and TYPE, then its samples, so that every sample has its
// TYPE line before it.
class Out {
 public:
  void family(const std::string& name, const char* type, const std::string& help) {
    name_ = name;
    s_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void sample(const Labels& labels, double v) {
    s_ += name_;
    if (!labels.empty()) {
      s_ += '{';
      for (size_t i = 0; i < labels.size(); i++) {
        if (i) s_ += ',';
        s_ += labels[i].first;
        s_ += "=\"" + escape_label(labels[i].second) + "\"";
      }
      s_ += '}';
    }
    char buf[64];
    if (std::isnan(v))
      std::snprintf(buf, sizeof buf, " NaN\n");
    else if (v == std::floor(v) && std::fabs(v) < 1e15)
      std::snprintf(buf, sizeof buf, " %.0f\n", v);
    else {  // shortest text that reads back as the same double (%g would round unix times)
      buf[0] = ' ';
      auto r = std::to_chars(buf + 1, buf + sizeof buf - 2, v);
      *r.ptr++ = '\n';
      *r.ptr = '\0';
    }
    s_ += buf;
  }
  void one(const std::string& name, const char* type, const std::string& help, double v) {
    family(name, type, help);
    sample({}, v);
  }
  std::string take() { return std::move(s_); }

 private:
  std::string s_;
  std::string name_;
};

// Per-path figures: one family per field, one sample per (peer, path).
struct PathMetric {
  const char* name;
  const char* type;
  const char* help;
  double (*get)(const shm::PathSnap&);
};

const PathMetric kPathMetrics[] = {
    {"mpf_path_up", "gauge", "1 when the path carries traffic now (health and admin state)",
     [](const shm::PathSnap& p) { return double(p.up); }},
    {"mpf_path_health_up", "gauge", "1 when probes say the path works (before the admin override)",
     [](const shm::PathSnap& p) { return double(p.health_up); }},
    {"mpf_path_admin_state", "gauge", "operator override: 0 auto, 1 forced up, 2 forced down",
     [](const shm::PathSnap& p) { return double(uint8_t(p.admin)); }},
    {"mpf_path_weight", "gauge", "weight for the weighted mode",
     [](const shm::PathSnap& p) { return double(p.weight); }},
    {"mpf_path_max_rate_bytes_per_second", "gauge", "shaping ceiling (max_rate), 0 = unlimited or auto",
     [](const shm::PathSnap& p) {
       return p.max_rate_bps == shm::kAutoRate ? 0.0 : double(p.max_rate_bps) / 8;
     }},
    {"mpf_path_rate_bytes_per_second", "gauge", "shaping rate in force (rate control), 0 = unlimited",
     [](const shm::PathSnap& p) { return double(p.rate_bps) / 8; }},
    {"mpf_path_queue_seconds", "gauge", "our frames' one-way queueing on the path, as the far end measures it",
     [](const shm::PathSnap& p) { return double(p.queue_us) / 1e6; }},
    {"mpf_path_rtt_seconds", "gauge", "smoothed round-trip time from probes",
     [](const shm::PathSnap& p) { return double(p.srtt_us) / 1e6; }},
    {"mpf_path_rtt_variation_seconds", "gauge", "round-trip time variation",
     [](const shm::PathSnap& p) { return double(p.rttvar_us) / 1e6; }},
    {"mpf_path_min_rtt_seconds", "gauge", "lowest round-trip time seen",
     [](const shm::PathSnap& p) { return double(p.min_rtt_us) / 1e6; }},
    {"mpf_path_one_way_delay_seconds", "gauge", "one-way delay estimate (0 until measured)",
     [](const shm::PathSnap& p) { return double(p.owd_us) / 1e6; }},
    {"mpf_path_loss_ratio", "gauge", "probe loss, 0..1",
     [](const shm::PathSnap& p) { return double(p.loss_ppm) / 1e6; }},
    {"mpf_path_delivery_rate_bytes_per_second", "gauge", "rate the far side reports receiving",
     [](const shm::PathSnap& p) { return double(p.delivery_Bps); }},
    {"mpf_path_state_changes_total", "counter", "up/down transitions",
     [](const shm::PathSnap& p) { return double(p.changes); }},
    {"mpf_path_tx_frames_total", "counter", "tunnel frames sent on the path",
     [](const shm::PathSnap& p) { return double(p.tx_frames); }},
    {"mpf_path_tx_bytes_total", "counter", "tunnel bytes sent on the path",
     [](const shm::PathSnap& p) { return double(p.tx_bytes); }},
    {"mpf_path_rx_frames_total", "counter", "tunnel frames received on the path",
     [](const shm::PathSnap& p) { return double(p.rx_frames); }},
    {"mpf_path_rx_bytes_total", "counter", "tunnel bytes received on the path",
     [](const shm::PathSnap& p) { return double(p.rx_bytes); }},
    {"mpf_path_lost_frames_total", "counter", "frames the far side reported lost",
     [](const shm::PathSnap& p) { return double(p.lost); }},
    {"mpf_path_retransmits_total", "counter", "frames resent after loss reports",
     [](const shm::PathSnap& p) { return double(p.retransmits); }},
    {"mpf_path_shaper_drops_total", "counter", "frames dropped by the path's shaper queue (AQM)",
     [](const shm::PathSnap& p) { return double(p.shaper_drops); }},
    {"mpf_path_impair_drops_total", "counter", "frames the operator's path impairment dropped",
     [](const shm::PathSnap& p) { return double(p.impair_drops); }},
};

struct ReorderMetric {
  const char* name;
  const char* type;
  const char* help;
  uint64_t shm::ReorderSnap::*field;
};

const ReorderMetric kReorderMetrics[] = {
    {"mpf_reorder_in_order_frames_total", "counter", "frames delivered in order without holding",
     &shm::ReorderSnap::in_order},
    {"mpf_reorder_reordered_frames_total", "counter", "frames delivered after being held",
     &shm::ReorderSnap::reordered},
    {"mpf_reorder_held_frames", "gauge", "frames held in reorder windows now",
     &shm::ReorderSnap::held_now},
    {"mpf_reorder_hold_timeouts_total", "counter", "gaps given up after the hold time",
     &shm::ReorderSnap::hold_timeouts},
    {"mpf_reorder_overflow_skips_total", "counter", "gaps given up because the window was full",
     &shm::ReorderSnap::overflow_skips},
    {"mpf_reorder_skipped_frames_total", "counter", "sequence numbers skipped (never arrived)",
     &shm::ReorderSnap::skipped},
    {"mpf_reorder_late_frames_total", "counter", "frames delivered after their gap was given up",
     &shm::ReorderSnap::late},
    {"mpf_reorder_duplicate_frames_total", "counter", "duplicate frames discarded",
     &shm::ReorderSnap::duplicates},
    {"mpf_reorder_stale_frames_total", "counter", "frames older than the receive window",
     &shm::ReorderSnap::stale},
    {"mpf_reorder_max_hold_depth", "gauge", "deepest a reorder window has been",
     &shm::ReorderSnap::max_hold_depth},
};

void counters(Out& o, const shm::Region& r) {
  stats::LcoreStats t = sum_lcores(r);
  // polls/busy_polls/busy_cycles mean something per lcore only: mpf_lcore_* below; the
  // microsecond sum goes out in seconds, the base unit, under a name of its own.
  auto generic = [](const char* name) {
    return std::strcmp(name, "polls") && std::strcmp(name, "busy_polls") &&
           std::strcmp(name, "busy_cycles") && std::strcmp(name, "equalize_hold_us");
  };
#define MPF_X(name, text) \
  if (generic(#name)) o.one("mpf_" #name "_total", "counter", text, double(t.name));
  MPF_LCORE_COUNTERS(MPF_X)
#undef MPF_X
  o.one("mpf_equalize_hold_seconds_total", "counter",
        "time frames were to be held for delay equalisation, summed", double(t.equalize_hold_us) / 1e6);
  o.family("mpf_drops_total", "counter", "packets dropped, by reason (docs: mpfctl drops)");
  for (unsigned d = 1; d < kDropReasons; d++) o.sample({{"reason", drop_name(Drop(d))}}, double(t.drops[d]));
}

void lcores(Out& o, const shm::Region& r) {
  unsigned n = lcore_count(r);
  std::vector<stats::LcoreStats> s(n);
  for (unsigned i = 0; i < n; i++) s[i] = read_lcore(r.lcores[i]);
  auto labels = [&](unsigned i) {
    return Labels{{"lcore", std::to_string(r.lcores[i].lcore_id)},
                  {"role", lcore_role_name(r.lcores[i].role)}};
  };
  auto per = [&](const char* name, const char* help, auto get) {
    o.family(name, "counter", help);
    for (unsigned i = 0; i < n; i++) o.sample(labels(i), double(get(s[i])));
  };
  per("mpf_lcore_rx_packets_total", "packets this lcore received from ports",
      [](const stats::LcoreStats& x) { return x.rx_packets; });
  per("mpf_lcore_rx_bytes_total", "bytes this lcore received from ports",
      [](const stats::LcoreStats& x) { return x.rx_bytes; });
  per("mpf_lcore_tx_packets_total", "packets this lcore handed to ports",
      [](const stats::LcoreStats& x) { return x.tx_packets; });
  per("mpf_lcore_tx_bytes_total", "bytes this lcore handed to ports",
      [](const stats::LcoreStats& x) { return x.tx_bytes; });
  per("mpf_lcore_dropped_packets_total", "packets this lcore dropped (all reasons)",
      [](const stats::LcoreStats& x) {
        uint64_t d = 0;
        for (unsigned k = 1; k < kDropReasons; k++) d += x.drops[k];
        return d;
      });
  per("mpf_lcore_handoff_sent_total", "packets passed to the lcore owning their NAT session",
      [](const stats::LcoreStats& x) { return x.handoff_sent; });
  per("mpf_lcore_polls_total", "loop passes over the lcore's queues and rings",
      [](const stats::LcoreStats& x) { return x.polls; });
  per("mpf_lcore_busy_polls_total", "loop passes that found packets",
      [](const stats::LcoreStats& x) { return x.busy_polls; });
  if (r.hdr.tsc_hz) {
    double hz = double(r.hdr.tsc_hz);
    o.family("mpf_lcore_busy_seconds_total", "counter", "time spent in loop passes that found packets");
    for (unsigned i = 0; i < n; i++) o.sample(labels(i), double(s[i].busy_cycles) / hz);
  }
}

void ports(Out& o, const shm::Region& r, const shm::Snapshot& snap, const stats::LcoreStats& t) {
  unsigned n = port_count(r);
  auto l = [&](unsigned i) { return Labels{{"port", field(snap.ports[i].name)}}; };
  auto fam = [&](const char* name, const char* type, const char* help, auto get) {
    o.family(name, type, help);
    for (unsigned i = 0; i < n; i++) o.sample(l(i), double(get(i)));
  };
  o.family("mpf_port_info", "gauge", "1 per port, with its device and kind");
  for (unsigned i = 0; i < n; i++)
    o.sample({{"port", field(snap.ports[i].name)},
              {"device", field(snap.ports[i].device)},
              {"kind", port_kind_name(snap.ports[i].kind)}},
             1);
  fam("mpf_port_rx_packets_total", "counter", "packets received on the port (mpf's count)",
      [&](unsigned i) { return t.port_rx[i]; });
  fam("mpf_port_rx_bytes_total", "counter", "bytes received on the port (mpf's count)",
      [&](unsigned i) { return t.port_rx_bytes[i]; });
  fam("mpf_port_tx_packets_total", "counter", "packets sent on the port (mpf's count)",
      [&](unsigned i) { return t.port_tx[i]; });
  fam("mpf_port_tx_bytes_total", "counter", "bytes sent on the port (mpf's count)",
      [&](unsigned i) { return t.port_tx_bytes[i]; });
  fam("mpf_port_link_up", "gauge", "1 when the port's link is up",
      [&](unsigned i) { return snap.ports[i].link_up; });
  fam("mpf_port_link_speed_bytes_per_second", "gauge", "link speed the device reports",
      [&](unsigned i) { return double(snap.ports[i].link_speed_mbps) * 125000; });
  fam("mpf_port_device_rx_missed_total", "counter", "packets the device dropped: RX queue full",
      [&](unsigned i) { return snap.ports[i].pmd_imissed; });
  fam("mpf_port_device_rx_errors_total", "counter", "erroneous packets the device received",
      [&](unsigned i) { return snap.ports[i].pmd_ierrors; });
  fam("mpf_port_device_tx_errors_total", "counter", "packets the device failed to send",
      [&](unsigned i) { return snap.ports[i].pmd_oerrors; });
  fam("mpf_port_device_rx_nombuf_total", "counter", "RX mbuf allocation failures",
      [&](unsigned i) { return snap.ports[i].pmd_rx_nombuf; });
}

void paths(Out& o, const shm::Region& r, const shm::Snapshot& snap) {
  for (const PathMetric& m : kPathMetrics) {
    o.family(m.name, m.type, m.help);
    for (unsigned pi = 0; pi < peer_count(r); pi++)
      for (unsigned k = 0; k < shm::kPaths; k++) {
        const shm::PathSnap& p = snap.peers[pi].paths[k];
        if (!p.configured) continue;
        o.sample({{"path", field(p.name)}, {"peer", std::to_string(snap.peers[pi].tunnel_id)}},
                 m.get(p));
      }
  }
}

void nat(Out& o, const shm::Region& r, const shm::Snapshot& snap) {
  struct F {
    const char* name;
    const char* type;
    const char* help;
    uint64_t shm::NatSnap::*f;
  };
  const F fs[] = {
      {"mpf_nat_sessions", "gauge", "NAT sessions now, per worker lcore", &shm::NatSnap::sessions},
      {"mpf_nat_capacity_sessions", "gauge", "NAT table size, per worker lcore", &shm::NatSnap::capacity},
      {"mpf_nat_sessions_created_total", "counter", "NAT sessions created", &shm::NatSnap::created},
      {"mpf_nat_sessions_expired_total", "counter", "NAT sessions expired", &shm::NatSnap::expired},
  };
  for (const F& f : fs) {
    o.family(f.name, f.type, f.help);
    for (unsigned i = 0; i < lcore_count(r); i++) {
      if (r.lcores[i].role == shm::LcoreRole::main) continue;
      o.sample({{"lcore", std::to_string(r.lcores[i].lcore_id)}}, double(snap.nat[i].*f.f));
    }
  }
}

}  // namespace

std::string escape_label(const std::string& v) {
  std::string s;
  for (char c : v) {
    if (c == '\\') s += "\\\\";
    else if (c == '"') s += "\\\"";
    else if (c == '\n') s += "\\n";
    else s += c;
  }
  return s;
}

std::string metrics_text(const shm::Region* region, uint64_t now_unix_ms) {
  Out o;
  o.one("mpf_dataplane_up", "gauge", "1 while mpf-controld is attached to a live dataplane",
        region ? 1 : 0);
  if (!region) return o.take();
  const shm::Region& r = *region;
  const shm::Header& h = r.hdr;
  o.family("mpf_dataplane_info", "gauge", "1, with the dataplane's role, name and version");
  o.sample({{"role", role_name(r)}, {"name", field(h.name)}, {"version", field(h.version)}}, 1);
  o.one("mpf_dataplane_start_time_seconds", "gauge", "when the dataplane started (unix time)",
        double(h.start_unix_ms) / 1e3);
  uint64_t hb = __atomic_load_n(&h.heartbeat_unix_ms, __ATOMIC_RELAXED);
  o.one("mpf_dataplane_heartbeat_age_seconds", "gauge", "since the dataplane last published",
        now_unix_ms > hb ? double(now_unix_ms - hb) / 1e3 : 0.0);
  counters(o, r);
  lcores(o, r);
  auto snap = read_snapshot(r);
  if (!snap) return o.take();  // mid-update on every try: the counters alone
  stats::LcoreStats t = sum_lcores(r);
  ports(o, r, *snap, t);
  paths(o, r, *snap);
  nat(o, r, *snap);
  for (const ReorderMetric& m : kReorderMetrics) o.one(m.name, m.type, m.help, double(snap->reorder.*m.field));
  o.one("mpf_mbufs_in_use", "gauge", "packet buffers in use", double(snap->mbufs_in_use));
  o.one("mpf_mbufs_capacity", "gauge", "packet buffers in the pool", double(snap->mbufs_total));
  return o.take();
}

}  // namespace mpf::control
