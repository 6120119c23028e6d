#include "views.hpp"

#include <algorithm>
#include <cstdio>

#include "table.hpp"
#include "units.hpp"

namespace mpf::control {

namespace {

uint64_t u64(const json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end()) return 0;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer()) return uint64_t(std::max<int64_t>(0, it->get<int64_t>()));
  if (it->is_number()) return uint64_t(std::max(0.0, it->get<double>()));
  return 0;
}

double num(const json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

std::string str(const json& j, const char* k, const char* none = "-") {
  auto it = j.find(k);
  if (it == j.end() || it->is_null()) return none;
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

const json& sub(const json& j, const char* k) {
  static const json empty = json::object();
  auto it = j.find(k);
  return it != j.end() && (it->is_object() || it->is_array()) ? *it : empty;
}

std::string n(uint64_t v) { return std::to_string(v); }

// A path's shaping rate: "-" unshaped; the rate in force, and the ceiling when rate control
// holds it below (e.g. "41.2 Mbit/s < 60 Mbit/s"), or "(auto)" when it discovers it.
std::string rate_cell(const json& p) {
  const uint64_t max = u64(p, "max_rate_bps"), now = u64(p, "rate_bps");
  if (p.value("max_rate_auto", false)) return format_bit_rate(double(now)) + " (auto)";
  if (max == 0) return "-";
  if (now == 0 || now >= max) return format_bit_rate(double(max));
  return format_bit_rate(double(now)) + " < " + format_bit_rate(double(max));
}

// Seconds between two samples (stats --watch), 0 when there is no earlier one.
double interval_s(const json& r, const json& prev) {
  if (!prev.is_object()) return 0;
  double d = (num(r, "time_unix_ms") - num(prev, "time_unix_ms")) / 1e3;
  return d > 0 ? d : 0;
}

double rate(uint64_t now, uint64_t before, double dt) {
  return dt > 0 && now >= before ? double(now - before) / dt : 0;
}

bool ends_with(const std::string& s, const char* suffix) {
  std::string x = suffix;
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

}  // namespace

std::string format_uptime(double s) {
  char buf[64];
  uint64_t t = uint64_t(s);
  if (s < 60) std::snprintf(buf, sizeof buf, "%.1f s", s);
  else if (t < 3600) std::snprintf(buf, sizeof buf, "%llum %02llus", t / 60ull, t % 60ull);
  else if (t < 86400) std::snprintf(buf, sizeof buf, "%lluh %02llum", t / 3600ull, t / 60 % 60ull);
  else std::snprintf(buf, sizeof buf, "%llud %lluh", t / 86400ull, t / 3600 % 24ull);
  return buf;
}

std::string view_status(const json& r) {
  Table t({"", ""});
  if (!r.value("attached", false)) {
    t.add({"attached", "no"});
    t.add({"reason", str(r, "reason")});
    t.add({"region", str(r, "region")});
    t.add({"controld", "pid " + str(r, "controld_pid") + ", version " + str(r, "controld_version")});
    std::string s = t.render();
    return s.substr(s.find('\n') + 1);  // no header row
  }
  t.add({"attached", "yes"});
  t.add({"dataplane", "pid " + str(r, "pid") + ", " + str(r, "role") + " \"" + str(r, "name") +
                          "\", version " + str(r, "version")});
  t.add({"uptime", format_uptime(num(r, "uptime_s"))});
  t.add({"heartbeat", "age " + format_duration_us(u64(r, "heartbeat_age_ms") * 1000) + " (every " +
                          str(r, "publish_interval_ms") + " ms)"});
  t.add({"config", str(r, "config_file")});
  t.add({"lcores", str(r, "lcores") + " (" + str(r, "workers") + " workers), ports " +
                       str(r, "ports") + ", peers " + str(r, "peers")});
  t.add({"region", str(r, "region")});
  t.add({"controld", "pid " + str(r, "controld_pid") + ", version " + str(r, "controld_version")});
  std::string s = t.render();
  return s.substr(s.find('\n') + 1);  // no header row
}

std::string view_stats(const json& r, const json& prev) {
  double dt = interval_s(r, prev);
  bool rates = dt > 0;
  std::string out = "mpf " + str(r, "role") + " \"" + str(r, "name") + "\", up " +
                    format_uptime(num(r, "uptime_s"));
  if (rates) out += ", rates over " + format_duration_us(uint64_t(dt * 1e6));
  out += "\n\n";

  const json& c = sub(r, "counters");
  const json& pc = prev.is_object() ? sub(prev, "counters") : json::object();
  Table t(rates ? std::vector<std::string>{"counter", "total", "rate"}
                : std::vector<std::string>{"counter", "total"});
  t.right({1, 2});
  for (auto it = c.begin(); it != c.end(); ++it) {
    uint64_t v = it->is_number() ? it->get<uint64_t>() : 0;
    if (v == 0) continue;
    bool bytes = ends_with(it.key(), "_bytes");
    std::string total = bytes ? format_bytes(v) : n(v);
    std::vector<std::string> row{it.key(), total};
    if (rates) {
      double x = rate(v, u64(pc, it.key().c_str()), dt);
      row.push_back(bytes ? format_bit_rate(x * 8)
                          : ends_with(it.key(), "_packets") ? format_packet_rate(x)
                                                             : format_count(uint64_t(x)) + "/s");
    }
    t.add(row);
  }
  out += t.empty() ? "no traffic yet\n" : t.render();

  const json& d = sub(r, "drops");
  const json& pd = prev.is_object() ? sub(prev, "drops") : json::object();
  if (!d.empty()) {
    Table td(rates ? std::vector<std::string>{"drop reason", "count", "rate"}
                   : std::vector<std::string>{"drop reason", "count"});
    td.right({1, 2});
    for (auto it = d.begin(); it != d.end(); ++it) {
      uint64_t v = it->is_number() ? it->get<uint64_t>() : 0;
      std::vector<std::string> row{it.key(), n(v)};
      if (rates) row.push_back(format_packet_rate(rate(v, u64(pd, it.key().c_str()), dt)));
      td.add(row);
    }
    out += "\n" + td.render();
  }

  Table tl(rates ? std::vector<std::string>{"lcore", "role", "rx", "tx", "dropped", "busy", "rx rate", "tx rate", "rx bit/s"}
                 : std::vector<std::string>{"lcore", "role", "rx", "tx", "dropped", "busy", "rx bytes", "tx bytes"});
  tl.right({0, 2, 3, 4, 5, 6, 7, 8});
  double tsc_hz = num(r, "tsc_hz");
  const json& pl = prev.is_object() ? sub(prev, "lcores") : json::array();
  for (size_t i = 0; i < sub(r, "lcores").size(); i++) {
    const json& l = sub(r, "lcores")[i];
    std::vector<std::string> row{str(l, "lcore"), str(l, "role"), n(u64(l, "rx_packets")),
                                 n(u64(l, "tx_packets")), n(u64(l, "dropped"))};
    if (rates) {
      const json& p = i < pl.size() ? pl[i] : json::object();
      // Over the interval: cycles spent in passes that found work, against all cycles.
      double busy = tsc_hz > 0 ? rate(u64(l, "busy_cycles"), u64(p, "busy_cycles"), dt) / tsc_hz : 0;
      row.push_back(format_ratio_pct(std::min(1.0, busy)));
      row.push_back(format_packet_rate(rate(u64(l, "rx_packets"), u64(p, "rx_packets"), dt)));
      row.push_back(format_packet_rate(rate(u64(l, "tx_packets"), u64(p, "tx_packets"), dt)));
      row.push_back(format_bit_rate(8 * rate(u64(l, "rx_bytes"), u64(p, "rx_bytes"), dt)));
    } else {
      row.push_back(format_ratio_pct(num(l, "busy_ratio")));  // share of passes that found work
      row.push_back(format_bytes(u64(l, "rx_bytes")));
      row.push_back(format_bytes(u64(l, "tx_bytes")));
    }
    tl.add(row);
  }
  out += "\n" + tl.render();

  const json& nat = sub(r, "nat");
  const json& ro = sub(r, "reorder");
  const json& mb = sub(r, "mbufs");
  out += "\nnat: " + n(u64(nat, "sessions")) + " sessions of " + n(u64(nat, "capacity")) +
         ", created " + n(u64(nat, "created")) + ", expired " + n(u64(nat, "expired")) + "\n";
  out += "reorder: in order " + n(u64(ro, "in_order")) + ", reordered " + n(u64(ro, "reordered")) +
         ", held now " + n(u64(ro, "held_now")) + ", timeouts " + n(u64(ro, "hold_timeouts")) +
         ", late " + n(u64(ro, "late")) + ", duplicates " + n(u64(ro, "duplicates")) + "\n";
  out += "mbufs: " + n(u64(mb, "in_use")) + " of " + n(u64(mb, "total")) + " in use\n";
  return out;
}

std::string view_ports(const json& r) {
  Table t({"port", "kind", "device", "address", "link", "rx pkts", "rx bytes", "tx pkts",
           "tx bytes", "missed", "errors"});
  t.right({5, 6, 7, 8, 9, 10});
  for (const json& p : sub(r, "ports")) {
    const json& d = sub(p, "device_stats");
    std::string link = p.value("link_up", false) ? "up" : "down";
    if (u64(p, "link_speed_mbps")) link += " " + format_bit_rate(double(u64(p, "link_speed_mbps")) * 1e6);
    t.add({str(p, "name"), str(p, "kind"), str(p, "device"), str(p, "address"), link,
           n(u64(p, "rx_packets")), format_bytes(u64(p, "rx_bytes")), n(u64(p, "tx_packets")),
           format_bytes(u64(p, "tx_bytes")), n(u64(d, "imissed")),
           n(u64(d, "ierrors") + u64(d, "oerrors"))});
  }
  return t.render();
}

std::string impairment_text(const json& path) {
  const json* im = path.contains("impairment") ? &path["impairment"] : nullptr;
  if (!im || !im->is_object()) return "";
  auto one = [](const json& d) {
    std::string s;
    auto add = [&](const std::string& x) { s += (s.empty() ? "" : " ") + x; };
    if (num(d, "delay_ms") > 0) add("delay " + format_duration_us(uint64_t(num(d, "delay_ms") * 1000)));
    if (num(d, "jitter_ms") > 0) add("jitter " + format_duration_us(uint64_t(num(d, "jitter_ms") * 1000)));
    if (num(d, "loss_pct") > 0) add("loss " + format_ratio_pct(num(d, "loss_pct") / 100));
    if (u64(d, "rate_bps"))
      add("rate " + format_bit_rate(double(u64(d, "rate_bps"))) + " queue " +
          format_duration_us(uint64_t(num(d, "queue_ms") * 1000)));
    return s;
  };
  const json& tx = im->value("tx", json());
  const json& rx = im->value("rx", json());
  if (tx.is_null() && rx.is_null()) return "";
  if (tx == rx) return one(tx) + " (both ways)";
  std::string out;
  if (!tx.is_null()) out += "tx " + one(tx);
  if (!rx.is_null()) out += std::string(out.empty() ? "" : ", ") + "rx " + one(rx);
  return out;
}

std::string view_paths(const json& r) {
  bool server = str(r, "role") == "server";
  std::vector<std::string> h{"path", "state", "health", "admin", "rtt", "rttvar", "loss",
                             "weight", "rate", "queue", "tx", "rx", "lost", "retx", "changes"};
  if (server) {
    h.insert(h.begin(), "peer");
    h.push_back("learned");
  }
  Table t(h);
  std::string notes;  // impaired paths, below the table
  size_t o = server ? 1 : 0;
  t.right({o + 4, o + 5, o + 6, o + 7, o + 8, o + 9, o + 10, o + 11, o + 12, o + 13, o + 14});
  for (const json& p : sub(r, "paths")) {
    std::vector<std::string> row{str(p, "name"), str(p, "state"), str(p, "health"), str(p, "admin"),
                                 format_duration_us(u64(p, "srtt_us")),
                                 format_duration_us(u64(p, "rttvar_us")),
                                 format_ratio_pct(num(p, "loss_ratio")), n(u64(p, "weight")),
                                 rate_cell(p), format_duration_us(u64(p, "queue_us")),
                                 format_bytes(u64(p, "tx_bytes")), format_bytes(u64(p, "rx_bytes")),
                                 n(u64(p, "lost")), n(u64(p, "retransmits")), n(u64(p, "changes"))};
    if (server) {
      row.insert(row.begin(), str(p, "peer"));
      row.push_back(str(p, "learned"));
    }
    t.add(row);
    const std::string im = impairment_text(p);
    if (!im.empty())
      notes += "path " + str(p, "name") + (server ? " (peer " + str(p, "peer") + ")" : "") +
               " impaired: " + im + ", " + n(u64(p, "impair_drops")) + " dropped\n";
  }
  return t.empty() ? "no paths\n" : t.render() + notes;
}

std::string view_lcores(const json& r) {
  Table t({"slot", "lcore", "role", "worker", "rx pkts", "tx pkts", "rx bytes", "tx bytes",
           "dropped", "handoff out", "handoff in", "to main", "busy polls", "nat sessions"});
  t.right({0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13});
  for (const json& l : sub(r, "lcores"))
    t.add({str(l, "slot"), str(l, "lcore"), str(l, "role"), str(l, "worker"),
           n(u64(l, "rx_packets")), n(u64(l, "tx_packets")), format_bytes(u64(l, "rx_bytes")),
           format_bytes(u64(l, "tx_bytes")), n(u64(l, "dropped")), n(u64(l, "handoff_sent")),
           n(u64(l, "handoff_received")), n(u64(l, "to_main")),
           format_ratio_pct(num(l, "busy_ratio")),
           n(u64(l, "nat_sessions")) + "/" + n(u64(l, "nat_capacity"))});
  return t.render();
}

std::string view_drops(const json& r) {
  Table t({"reason", "count", "description"});
  t.right({1});
  for (const json& d : sub(r, "reasons"))
    t.add({str(d, "name"), n(u64(d, "count")), str(d, "description")});
  return t.render() + "total dropped: " + n(u64(r, "total")) + "\n";
}

std::string view_nat(const json& r) {
  Table t({"lcore", "worker", "sessions", "capacity", "used", "created", "expired", "in", "out",
           "ports"});
  t.right({0, 1, 2, 3, 4, 5, 6, 7, 8});
  for (const json& l : sub(r, "lcores"))
    t.add({str(l, "lcore"), str(l, "worker"), n(u64(l, "sessions")), n(u64(l, "capacity")),
           format_ratio_pct(num(l, "occupancy")), n(u64(l, "created")), n(u64(l, "expired")),
           n(u64(l, "forwarded_in")), n(u64(l, "forwarded_out")),
           str(l, "port_first") + "-" + str(l, "port_last")});
  const json& x = sub(r, "totals");
  t.add({"all", "", n(u64(x, "sessions")), n(u64(x, "capacity")), format_ratio_pct(num(x, "occupancy")),
         n(u64(x, "created")), n(u64(x, "expired")), n(u64(x, "forwarded_in")),
         n(u64(x, "forwarded_out")), ""});
  return t.render();
}

std::string view_flows(const json& r) {
  Table t({"proto", "inside", "external", "remote", "out", "in", "packets", "idle", "age"});
  t.right({4, 5, 6, 7, 8});
  for (const json& f : sub(r, "flows")) {
    auto ep = [&](const char* ip, const char* port) { return str(f, ip) + ":" + str(f, port); };
    t.add({str(f, "proto"), ep("inside_ip", "inside_port"), ep("external_ip", "external_port"),
           ep("remote_ip", "remote_port"), format_bytes(u64(f, "bytes_out")),
           format_bytes(u64(f, "bytes_in")), n(u64(f, "packets_out") + u64(f, "packets_in")),
           format_duration_us(u64(f, "idle_ms") * 1000), format_uptime(num(f, "age_s"))});
  }
  std::string out = t.empty() ? "no matching flows\n" : t.render();
  out += n(u64(r, "matched")) + " sessions matched of " + n(u64(r, "scanned")) + " scanned";
  if (u64(r, "lcores_missing")) out += " (" + n(u64(r, "lcores_missing")) + " lcores did not answer)";
  return out + "\n";
}

std::string view_config(const json& r) {
  std::string text = str(r, "config_text", "");
  if (!text.empty() && text.back() != '\n') text += '\n';
  return "# " + str(r, "file") + " (as the dataplane read it at start)\n" + text;
}

std::string view_policy(const json& r) {
  Table t({"#", "line", "proto", "src port", "dst port", "dst", "dscp", "mode", "path"});
  t.right({0, 1});
  for (const json& p : sub(r, "rules")) {
    const json& m = sub(p, "match");
    t.add({str(p, "index"), str(p, "line"), str(m, "proto", "any"), str(m, "src_port", "any"),
           str(m, "dst_port", "any"), str(m, "dst", "any"), str(m, "dscp", "any"), str(p, "mode"),
           str(p, "path")});
  }
  const json& d = sub(r, "default");
  std::string out = t.empty() ? "no policy rules\n" : t.render();
  out += "default (no rule matches): " + str(d, "mode");
  if (!d.value("path", json()).is_null()) out += " on " + str(d, "path");
  return out + "\n";
}

std::string view_path_set(const json& r) {
  std::string out = "path " + str(r, "path") + " (peer " + str(r, "peer") + "): admin " +
                    str(r, "admin") + ", weight " + str(r, "weight") + ", max rate " +
                    (r.value("max_rate_auto", false) ? std::string("auto")
                     : u64(r, "max_rate_bps") ? format_bit_rate(double(u64(r, "max_rate_bps")))
                                              : std::string("unlimited"));
  const std::string im = impairment_text(r);
  if (!im.empty()) out += "; impaired: " + im;
  if (!str(r, "message", "").empty()) out += " (" + str(r, "message") + ")";
  return out + "\n";
}

std::string view_capture(const json& r) {
  std::string out = std::string(r.value("active", false) ? "capturing" : "capture done") + " on " +
                    str(r, "port") + ": " + n(u64(r, "packets")) + " packets (" +
                    format_bytes(u64(r, "bytes")) + ") written to " + str(r, "file");
  if (u64(r, "dropped")) out += ", " + n(u64(r, "dropped")) + " lost";
  if (!str(r, "message", "").empty()) out += " (" + str(r, "message") + ")";
  return out + "\n";
}

}  // namespace mpf::control
