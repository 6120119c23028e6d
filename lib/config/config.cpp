// The configuration loader (DESIGN.md 7, docs/configuration.md): reads a libconfig file and
// validates all of it. The first problem throws ConfigError("file:line: reason").
#include "config/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <libconfig.h++>
#include <string_view>

#include "net/protocol.hpp"
#include "path/probe_cadence.hpp"
#include "tunnel/wire.hpp"

namespace mpf::config {

namespace {

using libconfig::Setting;

constexpr size_t kMaxPaths = 8;
constexpr size_t kMaxTunnelPorts = 8;
constexpr size_t kMaxSunPath = 107;  // sizeof(sockaddr_un::sun_path) - 1
constexpr size_t kMaxPolicyRules = 64;
constexpr size_t kServerDefaultPaths = 8;
constexpr uint64_t kMinRate = 64'000;            // bit/s, 64 kbit/s
constexpr uint64_t kMaxRate = 400'000'000'000;   // bit/s, 400 Gbit/s

struct ModeName {
  const char* name;
  Mode mode;
};
constexpr ModeName kModes[] = {
    {"aggregate", Mode::aggregate},   {"weighted", Mode::weighted},
    {"active-backup", Mode::active_backup}, {"lowest-rtt", Mode::lowest_rtt},
    {"redundant", Mode::redundant},   {"pinned", Mode::pinned},
};

std::string format_error(const std::string& file, int line, const std::string& reason) {
  if (line > 0) return file + ":" + std::to_string(line) + ": " + reason;
  return file + ": " + reason;
}

const char* type_name(Setting::Type t) {
  switch (t) {
    case Setting::TypeInt:
    case Setting::TypeInt64: return "an integer";
    case Setting::TypeFloat: return "a float";
    case Setting::TypeString: return "a string";
    case Setting::TypeBoolean: return "a boolean";
    case Setting::TypeGroup: return "a group { ... }";
    case Setting::TypeArray: return "an array [ ... ]";
    case Setting::TypeList: return "a list ( ... )";
    default: return "nothing";
  }
}

std::string join(std::initializer_list<const char*> keys) {
  std::string out;
  for (const char* k : keys) {
    if (!out.empty()) out += ", ";
    out += k;
  }
  return out;
}

bool contains(std::initializer_list<const char*> keys, std::string_view k) {
  return std::any_of(keys.begin(), keys.end(), [&](const char* x) { return k == x; });
}

// 0/8, 127/8 and 224/3 (multicast, reserved, broadcast) are never a host's address.
bool unicast(net::Ipv4 a) {
  unsigned top = a >> 24;
  return top != 0 && top != 127 && top < 224;
}

net::Ipv4 network_of(const net::Prefix& p) { return p.addr & p.mask(); }
net::Ipv4 broadcast_of(const net::Prefix& p) { return network_of(p) | ~p.mask(); }

net::Prefix network_prefix(const net::Prefix& p) { return net::Prefix{network_of(p), p.len}; }

bool overlap(const net::Prefix& a, const net::Prefix& b) {
  const net::Prefix& shorter = a.len <= b.len ? a : b;
  return (a.addr & shorter.mask()) == (b.addr & shorter.mask());
}

bool valid_name(std::string_view n) {
  if (n.empty() || n.size() > 15) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string quote(const std::string& s) { return "\"" + s + "\""; }

class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  Config run(const Setting& root) {
    cfg_.file = file_;
    parse_role(root);
    check_keys(root,
               {"role", "paths", "tunnel", "nat", "arp", "dataplane", "control", "multipath",
                "policy"},
               {"lan"}, {"wan", "gateways"});
    if (gw()) {
      parse_lan(root);
      parse_paths(root);
      parse_gateway_tunnel(need(root, "tunnel", Setting::TypeGroup));
    } else {
      parse_wan(root);
      parse_server_tunnel(root);
      parse_gateways(root);
      parse_server_paths(root);
    }
    if (const Setting* n = find(root, "nat", Setting::TypeGroup)) parse_nat(*n);
    if (const Setting* a = find_list(root, "arp")) parse_arp(*a);
    if (const Setting* d = find(root, "dataplane", Setting::TypeGroup)) parse_dataplane(*d);
    if (const Setting* c = find(root, "control", Setting::TypeGroup)) parse_control(*c);
    if (const Setting* m = find(root, "multipath", Setting::TypeGroup)) parse_multipath(*m);
    if (const Setting* l = find_list(root, "policy")) parse_policy(*l);
    if (auto_rate_ && !cfg_.multipath.rate_control)
      fail(*auto_rate_, "\"auto\" needs multipath.rate_control = true (it discovers the rate)");
    derive_inner_mtu();
    return std::move(cfg_);
  }

 private:
  bool gw() const { return cfg_.role == Role::gateway; }
  const char* role_name() const { return gw() ? "gateway" : "server"; }

  [[noreturn]] void fail(const Setting& s, const std::string& reason) const {
    const char* f = s.getSourceFile();
    throw ConfigError(f && *f ? std::string(f) : file_, int(s.getSourceLine()),
                      s.isRoot() ? reason : s.getPath() + ": " + reason);
  }

  // --- generic accessors ---------------------------------------------------------------------

  void expect_type(const Setting& s, Setting::Type t) const {
    Setting::Type have = s.getType();
    bool ok = have == t;
    if (t == Setting::TypeInt) ok = have == Setting::TypeInt || have == Setting::TypeInt64;
    // An empty list may be written "[]" as well as "()".
    if (t == Setting::TypeList && have == Setting::TypeArray && s.getLength() == 0) ok = true;
    if (!ok) fail(s, std::string("expected ") + type_name(t) + ", got " + type_name(have));
  }

  const Setting* find(const Setting& g, const char* key, Setting::Type t) const {
    if (!g.exists(key)) return nullptr;
    const Setting& s = g[key];
    expect_type(s, t);
    return &s;
  }

  const Setting* find_list(const Setting& g, const char* key) const {
    return find(g, key, Setting::TypeList);
  }

  const Setting& need(const Setting& g, const char* key, Setting::Type t) const {
    const Setting* s = find(g, key, t);
    if (!s) fail(g, std::string("missing required key \"") + key + "\"");
    return *s;
  }

  std::string string_of(const Setting& s) const {
    expect_type(s, Setting::TypeString);
    return s.c_str();
  }

  long long int_of(const Setting& s, long long lo, long long hi) const {
    expect_type(s, Setting::TypeInt);
    long long v = 0;
    if (s.getType() == Setting::TypeInt64) {
      v = static_cast<long long>(s);
    } else {
      v = static_cast<int>(s);
    }
    if (v < lo || v > hi)
      fail(s, std::to_string(v) + " is out of range " + std::to_string(lo) + ".." +
                  std::to_string(hi));
    return v;
  }

  template <typename T>
  void opt_int(const Setting& g, const char* key, long long lo, long long hi, T* out) const {
    if (g.exists(key)) *out = static_cast<T>(int_of(g[key], lo, hi));
  }

  // Every key of group g must be in `common` or in the current role's list; a key of the other
  // role gets its own message.
  void check_keys(const Setting& g, std::initializer_list<const char*> common,
                  std::initializer_list<const char*> gateway_only,
                  std::initializer_list<const char*> server_only) const {
    for (const Setting& s : g) {
      std::string_view k = s.getName();
      if (contains(common, k)) continue;
      if (contains(gw() ? gateway_only : server_only, k)) continue;
      if (contains(gw() ? server_only : gateway_only, k))
        fail(s, std::string("not allowed in a ") + role_name() + " configuration (" +
                    (gw() ? "server" : "gateway") + " only)");
      std::string allowed;
      for (const char* a : common) allowed += std::string(allowed.empty() ? "" : ", ") + a;
      for (const char* a : gw() ? gateway_only : server_only)
        allowed += std::string(allowed.empty() ? "" : ", ") + a;
      fail(s, "unknown key (allowed here: " + allowed + ")");
    }
  }

  void check_keys(const Setting& g, std::initializer_list<const char*> allowed) const {
    for (const Setting& s : g)
      if (!contains(allowed, s.getName()))
        fail(s, "unknown key (allowed here: " + join(allowed) + ")");
  }

  net::Ipv4 host_address(const Setting& s) const {
    std::string t = string_of(s);
    auto a = net::parse_ipv4(t);
    if (!a) fail(s, quote(t) + " is not an IPv4 address (a.b.c.d)");
    if (!unicast(*a)) fail(s, quote(t) + " is not a unicast host address");
    return *a;
  }

  // --- role ----------------------------------------------------------------------------------

  void parse_role(const Setting& root) {
    const Setting& r = need(root, "role", Setting::TypeString);
    std::string v = r.c_str();
    if (v == "gateway") {
      cfg_.role = Role::gateway;
    } else if (v == "server") {
      cfg_.role = Role::server;
    } else {
      fail(r, "must be \"gateway\" or \"server\", not " + quote(v));
    }
  }

  // --- interfaces ----------------------------------------------------------------------------

  // Parses one interface group; `name` is empty when the group carries a "name" key. A
  // gateway path (`path`) may carry weight and max_rate too (parse_paths reads them).
  Interface parse_iface(const Setting& g, const std::string& fixed_name, bool path = false) {
    expect_type(g, Setting::TypeGroup);
    if (path)
      check_keys(g, {"name", "port", "address", "next_hop", "mtu", "weight", "max_rate",
                     "impairment"});
    else if (fixed_name.empty())
      check_keys(g, {"name", "port", "address", "next_hop", "mtu"});
    else
      check_keys(g, {"port", "address", "next_hop", "mtu"});
    Interface i;
    i.line = int(g.getSourceLine());
    if (fixed_name.empty()) {
      const Setting& n = need(g, "name", Setting::TypeString);
      i.name = n.c_str();
      if (!valid_name(i.name))
        fail(n, quote(i.name) + " is not a valid name (1 to 15 of a-z 0-9 _ -)");
      for (const Interface* o : all_)
        if (o->name == i.name)
          fail(n, "name " + quote(i.name) + " is already used (line " + std::to_string(o->line) +
                      ")");
    } else {
      i.name = fixed_name;
    }

    const Setting& p = need(g, "port", Setting::TypeString);
    i.port = p.c_str();
    i.port_line = int(p.getSourceLine());
    if (i.port.empty()) fail(p, "must not be empty");
    for (const Interface* o : all_)
      if (o->port == i.port)
        fail(p, "port " + quote(i.port) + " is already used by interface " + o->name + " (line " +
                    std::to_string(o->line) + ")");

    const Setting& a = need(g, "address", Setting::TypeString);
    std::string at = a.c_str();
    auto pre = net::parse_prefix(at);
    if (!pre) fail(a, quote(at) + " is not an address with prefix length (a.b.c.d/len)");
    if (pre->len < 1 || pre->len > 30)
      fail(a, "prefix length /" + std::to_string(pre->len) + " in " + quote(at) +
                  " is not allowed for an interface (1..30)");
    if (!unicast(pre->addr)) fail(a, quote(at) + " is not a unicast host address");
    if (pre->addr == network_of(*pre))
      fail(a, quote(at) + " is the network address of " +
                  net::to_string(network_prefix(*pre)) + ", not a host address");
    if (pre->addr == broadcast_of(*pre))
      fail(a, quote(at) + " is the broadcast address of " +
                  net::to_string(network_prefix(*pre)) + ", not a host address");
    for (const Interface* o : all_)
      if (overlap(*pre, o->address))
        fail(a, quote(at) + " overlaps " + net::to_string(network_prefix(o->address)) +
                    " of interface " + o->name + " (line " + std::to_string(o->line) + ")");
    i.address = *pre;

    if (g.exists("next_hop")) {
      const Setting& nh = g["next_hop"];
      net::Ipv4 v = host_address(nh);
      if (!pre->contains(v))
        fail(nh, net::to_string(v) + " is not inside the interface's prefix " +
                     net::to_string(network_prefix(*pre)));
      if (v == pre->addr) fail(nh, net::to_string(v) + " is the interface's own address");
      if (v == network_of(*pre) || v == broadcast_of(*pre))
        fail(nh, net::to_string(v) + " is the network or broadcast address of " +
                     net::to_string(network_prefix(*pre)));
      i.next_hop = v;
    }
    opt_int(g, "mtu", 576, 9000, &i.mtu);
    return i;
  }

  void parse_lan(const Setting& root) {
    cfg_.lan = parse_iface(need(root, "lan", Setting::TypeGroup), "lan");
    all_.push_back(&cfg_.lan);
  }

  void parse_wan(const Setting& root) {
    cfg_.wan = parse_iface(need(root, "wan", Setting::TypeGroup), "wan");
    all_.push_back(&cfg_.wan);
  }

  void parse_paths(const Setting& root) {
    const Setting& l = need(root, "paths", Setting::TypeList);
    size_t n = size_t(l.getLength());
    if (n == 0) fail(l, "at least one path is required");
    if (n > kMaxPaths)
      fail(l[int(kMaxPaths)], "too many paths (at most " + std::to_string(kMaxPaths) + ")");
    cfg_.paths.reserve(n);  // all_ points into it
    for (size_t k = 0; k < n; ++k) {
      const Setting& g = l[int(k)];
      Path p;
      p.iface = parse_iface(g, "", true);
      p.id = uint8_t(k);
      opt_int(g, "weight", 1, 1000, &p.weight);
      if (g.exists("max_rate")) p.max_rate_bps = rate_of(g["max_rate"]);
      cfg_.path_profiles.push_back(
          PathProfile{p.iface.name, p.weight, p.max_rate_bps, p.iface.line, {}});
      if (g.exists("impairment")) cfg_.path_profiles.back().impair = impairment_of(g["impairment"]);
      cfg_.paths.push_back(std::move(p));
      all_.push_back(&cfg_.paths.back().iface);
    }
  }

  // Server: the gateways' paths by path id (name, weight, downlink max_rate). Absent: 8
  // profiles p0..p7 with the defaults.
  void parse_server_paths(const Setting& root) {
    const Setting* l = find_list(root, "paths");
    if (!l) {
      for (size_t k = 0; k < kServerDefaultPaths; ++k)
        cfg_.path_profiles.push_back(PathProfile{"p" + std::to_string(k), 1, 0, 0, {}});
      return;
    }
    size_t n = size_t(l->getLength());
    if (n == 0)
      fail(*l, "at least one path is required (leave paths out for the default p0..p7)");
    if (n > kMaxPaths)
      fail((*l)[int(kMaxPaths)], "too many paths (at most " + std::to_string(kMaxPaths) + ")");
    for (const Setting& g : *l) {
      expect_type(g, Setting::TypeGroup);
      for (const Setting& s : g)
        if (contains({"port", "address", "next_hop", "mtu"}, s.getName()))
          fail(s, "paths on a server describe the gateways' paths: port/address not allowed");
      check_keys(g, {"name", "weight", "max_rate", "impairment"});
      PathProfile p;
      p.line = int(g.getSourceLine());
      const Setting& nm = need(g, "name", Setting::TypeString);
      p.name = nm.c_str();
      if (!valid_name(p.name))
        fail(nm, quote(p.name) + " is not a valid name (1 to 15 of a-z 0-9 _ -)");
      for (const PathProfile& o : cfg_.path_profiles)
        if (o.name == p.name)
          fail(nm, "name " + quote(p.name) + " is already used (line " + std::to_string(o.line) +
                       ")");
      opt_int(g, "weight", 1, 1000, &p.weight);
      if (g.exists("max_rate")) p.max_rate_bps = rate_of(g["max_rate"]);
      if (g.exists("impairment")) p.impair = impairment_of(g["impairment"]);
      cfg_.path_profiles.push_back(std::move(p));
    }
  }

  // A number, integer or float, in lo..hi.
  double number_of(const Setting& s, double lo, double hi) const {
    double v = 0;
    if (s.getType() == Setting::TypeFloat) v = static_cast<double>(s);
    else if (s.getType() == Setting::TypeInt) v = static_cast<int>(s);
    else if (s.getType() == Setting::TypeInt64) v = double(static_cast<long long>(s));
    else fail(s, std::string("expected a number, got ") + type_name(s.getType()));
    if (!(v >= lo && v <= hi)) {
      auto num = [](double d) {
        std::string t = std::to_string(d);
        t.erase(t.find_last_not_of('0') + 1);
        if (t.back() == '.') t.pop_back();
        return t;
      };
      fail(s, num(v) + " is out of range " + num(lo) + ".." + num(hi));
    }
    return v;
  }

  // A path's `impairment` group: every key optional, absent ones 0 (queue_ms: 50 with a rate).
  Impairment impairment_of(const Setting& g) {
    expect_type(g, Setting::TypeGroup);
    check_keys(g, {"delay_ms", "jitter_ms", "loss_pct", "rate", "queue_ms", "direction"});
    Impairment im;
    path::ImpairParams& p = im.params;
    constexpr double kMaxMs = path::kImpairMaxDelayUs / 1000.0;
    auto us = [&](const char* key, double lo) {
      return uint32_t(std::llround(number_of(g[key], lo, kMaxMs) * 1000));
    };
    if (g.exists("delay_ms")) p.delay_us = us("delay_ms", 0);
    if (g.exists("jitter_ms")) p.jitter_us = us("jitter_ms", 0);
    if (g.exists("loss_pct"))
      p.loss_ppm = uint32_t(std::llround(number_of(g["loss_pct"], 0, 100) * 10000));
    if (g.exists("rate")) {
      const Setting& r = g["rate"];
      if (r.getType() == Setting::TypeString && std::string_view(r.c_str()) == "auto")
        fail(r, "an impairment's rate is the link it emulates: bit/s, not \"auto\"");
      p.rate_Bps = rate_of(r) / 8;
    }
    if (g.exists("queue_ms")) {
      if (!p.rate_Bps) fail(g["queue_ms"], "queue_ms is the queue of a rate: give the rate too");
      p.queue_us = us("queue_ms", 1);
    } else if (p.rate_Bps) {
      p.queue_us = path::kImpairDefaultQueueUs;
    }
    im.dirs = 3;
    if (g.exists("direction")) {
      const std::string d = string_of(g["direction"]);
      if (d == "tx") im.dirs = 1;
      else if (d == "rx") im.dirs = 2;
      else if (d != "both") fail(g["direction"], "must be \"both\", \"tx\" or \"rx\", not " + quote(d));
    }
    if (!p.active()) im.dirs = 0;
    return im;
  }

  // A rate in bit/s: an integer, or a string of a decimal number with an optional SI suffix
  // k/K (10^3), M (10^6), G (10^9): "800k", "50M", "2.5G". 0 = unlimited; "auto" = kAutoRate.
  uint64_t rate_of(const Setting& s) {
    const std::string range = " is out of range 64k..400G bit/s (0 = unlimited)";
    if (s.getType() == Setting::TypeString && std::string_view(s.c_str()) == "auto") {
      if (!auto_rate_) auto_rate_ = &s;
      return kAutoRate;
    }
    if (s.getType() == Setting::TypeInt || s.getType() == Setting::TypeInt64) {
      long long v = s.getType() == Setting::TypeInt64 ? static_cast<long long>(s)
                                                      : static_cast<long long>(static_cast<int>(s));
      if (v == 0) return 0;
      if (v < 0 || uint64_t(v) < kMinRate || uint64_t(v) > kMaxRate)
        fail(s, std::to_string(v) + range);
      return uint64_t(v);
    }
    if (s.getType() != Setting::TypeString)
      fail(s, std::string("expected an integer (bit/s) or a string such as \"50M\", got ") +
                  type_name(s.getType()));
    std::string t = s.c_str();
    auto bad = [&]() {
      fail(s, quote(t) +
                  " is not a rate (bit/s: an integer, or a number with suffix k, M or G, such as"
                  " \"800k\", \"50M\", \"2.5G\"; or \"auto\")");
    };
    std::string_view v = t;
    uint64_t mult = 1;
    if (!v.empty()) {
      switch (v.back()) {
        case 'k':
        case 'K': mult = 1'000; break;
        case 'M': mult = 1'000'000; break;
        case 'G': mult = 1'000'000'000; break;
        default: break;
      }
      if (mult != 1) v.remove_suffix(1);
    }
    size_t dot = v.find('.');
    std::string_view ip = v.substr(0, dot);
    std::string_view fp = dot == std::string_view::npos ? std::string_view() : v.substr(dot + 1);
    auto digits = [](std::string_view d) {
      return std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (ip.empty() || ip.size() > 12 || !digits(ip)) bad();
    if (dot != std::string_view::npos && (fp.empty() || fp.size() > 9 || !digits(fp))) bad();
    uint64_t whole = 0;
    for (char c : ip) whole = whole * 10 + uint64_t(c - '0');
    uint64_t frac = 0, scale = 1;
    for (char c : fp) {
      frac = frac * 10 + uint64_t(c - '0');
      scale *= 10;
    }
    if (whole > kMaxRate * 10 / mult) fail(s, quote(t) + range);  // and no overflow below
    if ((frac * mult) % scale != 0) fail(s, quote(t) + " is not a whole number of bit/s");
    uint64_t bps = whole * mult + frac * mult / scale;
    if (bps == 0) return 0;
    if (bps < kMinRate || bps > kMaxRate)
      fail(s, quote(t) + " (" + std::to_string(bps) + " bit/s)" + range);
    return bps;
  }

  void check_off_link(const Setting& s, net::Ipv4 a, const char* what) const {
    for (const Interface* o : all_)
      if (o->address.contains(a))
        fail(s, net::to_string(a) + " is inside the prefix " +
                    net::to_string(network_prefix(o->address)) + " of interface " + o->name +
                    "; " + what + " must not be on any link");
  }

  // --- tunnel --------------------------------------------------------------------------------

  void parse_gateway_tunnel(const Setting& t) {
    check_keys(t, {"port"}, {"id", "address", "server", "key"}, {"ports"});
    const Setting& id = need(t, "id", Setting::TypeInt);
    expect_type(id, Setting::TypeInt);
    if (id.getType() == Setting::TypeInt && static_cast<int>(id) == 0)
      fail(id, "0 is reserved; a tunnel id is 1..4294967295");
    cfg_.tunnel.id = uint32_t(int_of(id, 1, 4294967295LL));

    const Setting& a = need(t, "address", Setting::TypeString);
    cfg_.tunnel.address = host_address(a);
    check_off_link(a, cfg_.tunnel.address, "the tunnel address");

    const Setting& s = need(t, "server", Setting::TypeString);
    std::string st = s.c_str();
    auto ep = net::parse_endpoint(st);
    if (!ep) fail(s, quote(st) + " is not an address and UDP port (a.b.c.d:port)");
    if (!unicast(ep->addr)) fail(s, quote(st) + " is not a unicast host address");
    if (cfg_.lan.address.contains(ep->addr))
      fail(s, net::to_string(ep->addr) + " is inside the LAN prefix " +
                  net::to_string(network_prefix(cfg_.lan.address)));
    for (const Interface* o : all_)
      if (o->address.addr == ep->addr)
        fail(s, net::to_string(ep->addr) + " is the address of interface " + o->name);
    cfg_.tunnel.server = *ep;
    // Every path must be able to reach the server: on-link or through its next hop.
    for (size_t k = 0; k < cfg_.paths.size(); ++k) {
      const Interface& i = cfg_.paths[k].iface;
      if (!i.next_hop && !i.address.contains(ep->addr))
        fail(root_of(t)["paths"][int(k)],
             "no next_hop, and the server " + net::to_string(ep->addr) +
                 " is not on-link for " + net::to_string(i.address));
    }

    cfg_.tunnel.key = key_of(need(t, "key", Setting::TypeString));
    opt_int(t, "port", 1, 65535, &cfg_.tunnel.port);
  }

  // A tunnel's pre-shared key: 64 hex digits (32 random bytes), the same on both appliances.
  tunnel::Key key_of(const Setting& s) {
    expect_type(s, Setting::TypeString);
    auto k = tunnel::parse_key(s.c_str());
    if (!k)
      fail(s, "expected 64 hex digits (32 random bytes, e.g. from `openssl rand -hex 32`), got " +
                  std::to_string(std::strlen(s.c_str())) + " characters");
    return *k;
  }

  static const Setting& root_of(const Setting& s) {
    const Setting* p = &s;
    while (!p->isRoot()) p = &p->getParent();
    return *p;
  }

  void parse_server_tunnel(const Setting& root) {
    const Setting* t = find(root, "tunnel", Setting::TypeGroup);
    if (!t) return;
    check_keys(*t, {"port"}, {"id", "address", "server", "key"}, {"ports"});
    opt_int(*t, "port", 1, 65535, &cfg_.tunnel.port);
    const Setting* l = find_list(*t, "ports");
    if (!l) return;
    size_t n = size_t(l->getLength());
    if (n > kMaxTunnelPorts)
      fail((*l)[int(kMaxTunnelPorts)],
           "too many tunnel ports (at most " + std::to_string(kMaxTunnelPorts) + ")");
    cfg_.tunnel_ports.reserve(n);  // all_ points into it
    for (size_t k = 0; k < n; ++k) {
      cfg_.tunnel_ports.push_back(parse_iface((*l)[int(k)], ""));
      all_.push_back(&cfg_.tunnel_ports.back());
    }
  }

  void parse_gateways(const Setting& root) {
    const Setting& l = need(root, "gateways", Setting::TypeList);
    if (l.getLength() == 0) fail(l, "at least one gateway is required");
    for (const Setting& g : l) {
      expect_type(g, Setting::TypeGroup);
      check_keys(g, {"id", "address", "key"});
      Peer p;
      p.line = int(g.getSourceLine());
      const Setting& id = need(g, "id", Setting::TypeInt);
      if (id.getType() == Setting::TypeInt && static_cast<int>(id) == 0)
        fail(id, "0 is reserved; a tunnel id is 1..4294967295");
      p.tunnel_id = uint32_t(int_of(id, 1, 4294967295LL));
      const Setting& a = need(g, "address", Setting::TypeString);
      p.tunnel_address = host_address(a);
      for (const Peer& o : cfg_.peers) {
        if (o.tunnel_id == p.tunnel_id)
          fail(id, "duplicate gateway id " + std::to_string(p.tunnel_id) + " (also on line " +
                       std::to_string(o.line) + ")");
        if (o.tunnel_address == p.tunnel_address)
          fail(a, "duplicate gateway address " + net::to_string(p.tunnel_address) +
                      " (also on line " + std::to_string(o.line) + ")");
      }
      check_off_link(a, p.tunnel_address, "a gateway's tunnel address");
      p.key = key_of(need(g, "key", Setting::TypeString));
      cfg_.peers.push_back(std::move(p));
    }
  }

  // --- nat -----------------------------------------------------------------------------------

  void parse_port_range(const Setting& s) {
    std::string v = string_of(s);
    auto dash = v.find('-');
    auto number = [](std::string_view d, long* out) {
      if (d.empty() || d.size() > 5) return false;
      long n = 0;
      for (char c : d) {
        if (c < '0' || c > '9') return false;
        n = n * 10 + (c - '0');
      }
      *out = n;
      return true;
    };
    long a = 0, b = 0;
    if (dash == std::string::npos || !number(std::string_view(v).substr(0, dash), &a) ||
        !number(std::string_view(v).substr(dash + 1), &b))
      fail(s, quote(v) + " is not a port range FIRST-LAST");
    if (a < 1024 || b > 65535 || a > b)
      fail(s, quote(v) + ": need 1024 <= FIRST <= LAST <= 65535");
    if (b - a + 1 < 64) fail(s, quote(v) + " has fewer than 64 ports");
    cfg_.nat.port_first = uint16_t(a);
    cfg_.nat.port_last = uint16_t(b);
  }

  void parse_timeouts(const Setting& t) {
    check_keys(t, {"tcp_established", "tcp_transitory", "udp", "icmp"});
    nat::Timeouts& to = cfg_.nat.timeouts;
    opt_int(t, "tcp_established", 1, 86400, &to.tcp_established_s);
    opt_int(t, "tcp_transitory", 1, 86400, &to.tcp_transitory_s);
    opt_int(t, "udp", 1, 86400, &to.udp_s);
    opt_int(t, "icmp", 1, 86400, &to.icmp_s);
    if (to.tcp_established_s < to.tcp_transitory_s) {
      const Setting& at = t.exists("tcp_established") ? t["tcp_established"] : t["tcp_transitory"];
      fail(at, "tcp_established (" + std::to_string(to.tcp_established_s) +
                   ") must be >= tcp_transitory (" + std::to_string(to.tcp_transitory_s) + ")");
    }
  }

  void parse_forward(const Setting& g) {
    expect_type(g, Setting::TypeGroup);
    check_keys(g, {"proto", "port", "to"});
    PortForwardRule r;
    r.line = int(g.getSourceLine());
    const Setting& pr = need(g, "proto", Setting::TypeString);
    std::string proto = pr.c_str();
    if (proto == "tcp") {
      r.fwd.proto = net::kProtoTcp;
    } else if (proto == "udp") {
      r.fwd.proto = net::kProtoUdp;
    } else {
      fail(pr, "must be \"tcp\" or \"udp\", not " + quote(proto));
    }
    const Setting& port = need(g, "port", Setting::TypeInt);
    r.fwd.ext_port = uint16_t(int_of(port, 1, 65535));
    if (r.fwd.proto == net::kProtoUdp && r.fwd.ext_port == cfg_.tunnel.port)
      fail(port, "udp port " + std::to_string(r.fwd.ext_port) +
                     " is the tunnel's UDP port and cannot be forwarded");
    const Setting& to = need(g, "to", Setting::TypeString);
    std::string tt = to.c_str();
    auto ep = net::parse_endpoint(tt);
    if (!ep) fail(to, quote(tt) + " is not an address and port (a.b.c.d:port)");
    if (gw()) {
      const net::Prefix& lan = cfg_.lan.address;
      if (!lan.contains(ep->addr))
        fail(to, net::to_string(ep->addr) + " is not inside the LAN prefix " +
                     net::to_string(network_prefix(lan)));
      if (ep->addr == lan.addr)
        fail(to, net::to_string(ep->addr) + " is the gateway's own LAN address");
      if (ep->addr == network_of(lan) || ep->addr == broadcast_of(lan))
        fail(to, net::to_string(ep->addr) + " is the network or broadcast address of the LAN");
    } else {
      bool known = std::any_of(cfg_.peers.begin(), cfg_.peers.end(),
                               [&](const Peer& p) { return p.tunnel_address == ep->addr; });
      if (!known)
        fail(to, net::to_string(ep->addr) +
                     " is not the tunnel address of any configured gateway");
    }
    r.fwd.to_addr = ep->addr;
    r.fwd.to_port = ep->port;
    for (const PortForwardRule& o : cfg_.nat.port_forwards) {
      if (o.fwd.proto != r.fwd.proto) continue;
      if (o.fwd.ext_port == r.fwd.ext_port)
        fail(port, "duplicate forward of " + proto + " port " + std::to_string(r.fwd.ext_port) +
                       " (also on line " + std::to_string(o.line) + ")");
      if (o.fwd.to_addr == r.fwd.to_addr && o.fwd.to_port == r.fwd.to_port)
        fail(to, "duplicate forward target " + proto + " " + net::to_string(*ep) +
                     " (also on line " + std::to_string(o.line) + ")");
    }
    cfg_.nat.port_forwards.push_back(r);
  }

  void parse_nat(const Setting& n) {
    check_keys(n, {"port_range", "max_sessions", "timeouts", "port_forwards"});
    if (n.exists("port_range")) parse_port_range(n["port_range"]);
    opt_int(n, "max_sessions", 1024, 16777216, &cfg_.nat.max_sessions);
    if (const Setting* t = find(n, "timeouts", Setting::TypeGroup)) parse_timeouts(*t);
    if (const Setting* l = find_list(n, "port_forwards"))
      for (const Setting& g : *l) parse_forward(g);
  }

  // --- arp, dataplane, control ---------------------------------------------------------------

  void parse_arp(const Setting& l) {
    for (const Setting& g : l) {
      expect_type(g, Setting::TypeGroup);
      check_keys(g, {"address", "mac"});
      StaticArp e;
      e.line = int(g.getSourceLine());
      const Setting& a = need(g, "address", Setting::TypeString);
      e.address = host_address(a);
      bool on_link = false;
      for (const Interface* o : all_) {
        if (!o->address.contains(e.address)) continue;
        if (e.address == o->address.addr)
          fail(a, net::to_string(e.address) + " is the address of interface " + o->name);
        if (e.address == network_of(o->address) || e.address == broadcast_of(o->address))
          fail(a, net::to_string(e.address) + " is the network or broadcast address of " +
                      net::to_string(network_prefix(o->address)));
        on_link = true;
      }
      if (!on_link)
        fail(a, net::to_string(e.address) + " is not on-link for any interface");
      for (const StaticArp& o : cfg_.static_arp)
        if (o.address == e.address)
          fail(a, "duplicate entry for " + net::to_string(e.address) + " (also on line " +
                      std::to_string(o.line) + ")");
      const Setting& m = need(g, "mac", Setting::TypeString);
      std::string mt = m.c_str();
      auto mac = net::parse_mac(mt);
      if (!mac) fail(m, quote(mt) + " is not a MAC address (xx:xx:xx:xx:xx:xx)");
      if (mac->is_zero() || (mac->b[0] & 1))
        fail(m, quote(mt) + " is not a unicast MAC address");
      e.mac = *mac;
      cfg_.static_arp.push_back(e);
    }
  }

  void parse_desc(const Setting& d, const char* key, uint16_t* out) {
    if (!d.exists(key)) return;
    const Setting& s = d[key];
    long long v = int_of(s, 64, 16384);
    if ((v & (v - 1)) != 0) fail(s, std::to_string(v) + " is not a power of two");
    *out = uint16_t(v);
  }

  void parse_dataplane(const Setting& d) {
    check_keys(d, {"burst", "idle_sleep_us", "mbufs", "rx_desc", "tx_desc", "arp_hold",
                   "icmp_errors_per_s"});
    Dataplane& dp = cfg_.dataplane;
    opt_int(d, "burst", 1, 64, &dp.burst);
    opt_int(d, "idle_sleep_us", 0, 100000, &dp.idle_sleep_us);
    opt_int(d, "mbufs", 1023, 4194304, &dp.mbufs);
    parse_desc(d, "rx_desc", &dp.rx_desc);
    parse_desc(d, "tx_desc", &dp.tx_desc);
    opt_int(d, "arp_hold", 0, 256, &dp.arp_hold);
    opt_int(d, "icmp_errors_per_s", 0, 1000000, &dp.icmp_errors_per_s);
  }

  void parse_control(const Setting& c) {
    check_keys(c, {"socket", "name", "publish_interval_ms", "capture_dir"});
    if (c.exists("capture_dir")) {
      const Setting& d = c["capture_dir"];
      std::string v = string_of(d);
      if (v.empty() || v[0] != '/') fail(d, "must be an absolute path");
      if (v.size() > 200) fail(d, "path is longer than 200 bytes");
      if (("/" + v + "/").find("/../") != std::string::npos) fail(d, "must not contain \"..\"");
      while (v.size() > 1 && v.back() == '/') v.pop_back();
      cfg_.control.capture_dir = v;
    }
    opt_int(c, "publish_interval_ms", 10, 1000, &cfg_.control.publish_interval_ms);
    if (c.exists("name")) {
      const Setting& n = c["name"];
      std::string v = string_of(n);
      if (v.empty() || v.size() > 31) fail(n, "must be 1 to 31 characters");
      for (char ch : v)
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.')
          fail(n, "may hold only letters, digits, '-', '_' and '.' (it names /dev/shm/mpf-NAME)");
      cfg_.control.name = v;
    }
    if (!c.exists("socket")) return;
    const Setting& s = c["socket"];
    std::string v = string_of(s);
    if (v.empty()) fail(s, "must not be empty");
    if (v.size() > kMaxSunPath)
      fail(s, "path is longer than " + std::to_string(kMaxSunPath) + " bytes");
    cfg_.control.socket = v;
  }

  // --- multipath, policy ----------------------------------------------------------------------

  Mode mode_of(const Setting& s) const {
    std::string v = string_of(s);
    for (const ModeName& m : kModes)
      if (v == m.name) return m.mode;
    std::string all;
    for (const ModeName& m : kModes) all += std::string(all.empty() ? "" : ", ") + quote(m.name);
    fail(s, "must be one of " + all + ", not " + quote(v));
  }

  // A path name: an index into path_profiles (gateway: its paths; server: its `paths`).
  int path_of(const Setting& s) const {
    std::string v = string_of(s);
    for (size_t k = 0; k < cfg_.path_profiles.size(); ++k)
      if (cfg_.path_profiles[k].name == v) return int(k);
    std::string all;
    for (const PathProfile& p : cfg_.path_profiles) all += (all.empty() ? "" : ", ") + p.name;
    fail(s, quote(v) + " is not a path (" + (gw() ? "paths" : "the server's paths") + ": " +
                all + ")");
  }

  // `mode` and `path` of group g (the multipath group or a rule): pinned needs a path, the
  // other modes take none. `mode_required`: a rule must say its mode.
  void parse_mode_path(const Setting& g, bool mode_required, Mode* mode, int* path) const {
    const Setting* m = mode_required ? &need(g, "mode", Setting::TypeString)
                                     : find(g, "mode", Setting::TypeString);
    if (m) *mode = mode_of(*m);
    const Setting* p = find(g, "path", Setting::TypeString);
    if (*mode == Mode::pinned) {
      if (!p) fail(*m, "mode \"pinned\" needs a path (path = \"name\";)");
      *path = path_of(*p);
    } else if (p) {
      fail(*p, std::string("path is only used with mode \"pinned\" (mode here: ") +
                   quote(mode_name(*mode)) + ")");
    }
  }

  void parse_multipath(const Setting& g) {
    check_keys(g, {"mode", "path", "streams", "probe_interval_ms", "dead_after_ms", "up_after",
                   "reorder_max_ms", "max_queue_ms", "retransmit", "retransmit_budget",
                   "equalize", "fast_lane", "rate_control", "queue_target_ms",
                   "idle_probe_interval_ms", "idle_after_ms", "progress_interval_ms",
                   "expedite_resends", "prompt_acks"});
    Multipath& mp = cfg_.multipath;
    parse_mode_path(g, false, &mp.mode, &mp.path);
    opt_int(g, "streams", 1, 256, &mp.streams);
    opt_int(g, "probe_interval_ms", 5, 1000, &mp.probe_interval_ms);
    opt_int(g, "dead_after_ms", 20, 10000, &mp.dead_after_ms);
    opt_int(g, "up_after", 1, 100, &mp.up_after);
    opt_int(g, "reorder_max_ms", 0, 2000, &mp.reorder_max_ms);
    opt_int(g, "max_queue_ms", 1, 1000, &mp.max_queue_ms);
    if (const Setting* r = find(g, "retransmit", Setting::TypeBoolean)) mp.retransmit = bool(*r);
    if (const Setting* e = find(g, "equalize", Setting::TypeBoolean)) mp.equalize = bool(*e);
    if (const Setting* f = find(g, "fast_lane", Setting::TypeBoolean)) mp.fast_lane = bool(*f);
    if (const Setting* x = find(g, "expedite_resends", Setting::TypeString)) {
      const std::string v = x->c_str();
      if (v == "off") mp.expedite_resends = Multipath::Expedite::off;
      else if (v == "failover") mp.expedite_resends = Multipath::Expedite::failover;
      else if (v == "always") mp.expedite_resends = Multipath::Expedite::always;
      else fail(*x, "must be \"failover\", \"always\" or \"off\", not " + quote(v));
    }
    if (const Setting* x = find(g, "prompt_acks", Setting::TypeBoolean))
      mp.prompt_acks = bool(*x);
    if (const Setting* r = find(g, "rate_control", Setting::TypeBoolean))
      mp.rate_control = bool(*r);
    opt_int(g, "queue_target_ms", 1, 100, &mp.queue_target_ms);
    opt_int(g, "retransmit_budget", 0, 100, &mp.retransmit_budget_pct);
    opt_int(g, "idle_probe_interval_ms", 0, path::kMaxProbeIntervalMs, &mp.idle_probe_interval_ms);
    opt_int(g, "idle_after_ms", 100, 600000, &mp.idle_after_ms);
    opt_int(g, "progress_interval_ms", 0, 1000, &mp.progress_interval_ms);
    if (mp.idle_probe_interval_ms != 0 && mp.idle_probe_interval_ms < mp.probe_interval_ms) {
      const Setting& at = g.exists("idle_probe_interval_ms") ? g["idle_probe_interval_ms"]
                                                             : g["probe_interval_ms"];
      fail(at, "idle_probe_interval_ms (" + std::to_string(mp.idle_probe_interval_ms) +
                   ") must be 0 (off) or >= probe_interval_ms (" +
                   std::to_string(mp.probe_interval_ms) + ")");
    }
    if (mp.dead_after_ms < 2 * mp.probe_interval_ms) {
      const Setting& at = g.exists("dead_after_ms") ? g["dead_after_ms"] : g["probe_interval_ms"];
      fail(at, "dead_after_ms (" + std::to_string(mp.dead_after_ms) +
                   ") must be >= 2 * probe_interval_ms (" +
                   std::to_string(mp.probe_interval_ms) + ")");
    }
  }

  // "53", "1000-2000" (or an integer): an inclusive port range.
  void port_range_of(const Setting& s, uint16_t* lo, uint16_t* hi) const {
    if (s.getType() == Setting::TypeInt || s.getType() == Setting::TypeInt64) {
      *lo = *hi = uint16_t(int_of(s, 0, 65535));
      return;
    }
    if (s.getType() != Setting::TypeString)
      fail(s, std::string("expected a string (\"53\" or \"1000-2000\"), got ") +
                  type_name(s.getType()));
    std::string v = s.c_str();
    auto number = [](std::string_view d, long* out) {
      if (d.empty() || d.size() > 5) return false;
      long n = 0;
      for (char c : d) {
        if (c < '0' || c > '9') return false;
        n = n * 10 + (c - '0');
      }
      *out = n;
      return true;
    };
    long a = 0, b = 0;
    size_t dash = v.find('-');
    bool ok = dash == std::string::npos
                  ? number(v, &a)
                  : number(std::string_view(v).substr(0, dash), &a) &&
                        number(std::string_view(v).substr(dash + 1), &b);
    if (!ok) fail(s, quote(v) + " is not a port or port range (\"53\" or \"1000-2000\")");
    if (dash == std::string::npos) b = a;
    if (a > 65535 || b > 65535) fail(s, quote(v) + ": ports are 0..65535");
    if (a > b) fail(s, quote(v) + ": need FIRST <= LAST");
    *lo = uint16_t(a);
    *hi = uint16_t(b);
  }

  // 0..63, or a standard name: ef, af11..af43, cs0..cs7.
  int16_t dscp_of(const Setting& s) const {
    if (s.getType() == Setting::TypeInt || s.getType() == Setting::TypeInt64)
      return int16_t(int_of(s, 0, 63));
    if (s.getType() != Setting::TypeString)
      fail(s, std::string("expected an integer 0..63 or a name (\"ef\", \"af41\", \"cs1\"), got ") +
                  type_name(s.getType()));
    std::string v = s.c_str();
    if (v == "ef") return 46;
    if (v.size() == 4 && v[0] == 'a' && v[1] == 'f' && v[2] >= '1' && v[2] <= '4' &&
        v[3] >= '1' && v[3] <= '3')
      return int16_t(8 * (v[2] - '0') + 2 * (v[3] - '0'));
    if (v.size() == 3 && v[0] == 'c' && v[1] == 's' && v[2] >= '0' && v[2] <= '7')
      return int16_t(8 * (v[2] - '0'));
    fail(s, quote(v) + " is not a DSCP value (0..63, or ef, af11..af43, cs0..cs7)");
  }

  PolicyMatch parse_match(const Setting& g) const {
    check_keys(g, {"proto", "src_port", "dst_port", "dst", "dscp"});
    PolicyMatch m;
    if (const Setting* p = find(g, "proto", Setting::TypeString)) {
      std::string v = p->c_str();
      if (v == "tcp") {
        m.proto = net::kProtoTcp;
      } else if (v == "udp") {
        m.proto = net::kProtoUdp;
      } else if (v == "icmp") {
        m.proto = net::kProtoIcmp;
      } else {
        fail(*p, "must be \"tcp\", \"udp\" or \"icmp\", not " + quote(v));
      }
    }
    for (const char* key : {"src_port", "dst_port"}) {
      if (!g.exists(key)) continue;
      const Setting& s = g[key];
      if (m.proto != net::kProtoTcp && m.proto != net::kProtoUdp)
        fail(s, std::string(key) + " needs proto tcp or udp");
      bool src = std::string_view(key) == "src_port";
      port_range_of(s, src ? &m.src_lo : &m.dst_lo, src ? &m.src_hi : &m.dst_hi);
    }
    if (const Setting* d = find(g, "dst", Setting::TypeString)) {
      std::string v = d->c_str();
      auto pre = net::parse_prefix(v);
      if (!pre) fail(*d, quote(v) + " is not a prefix (a.b.c.d/len, len 0..32)");
      if (pre->addr != network_of(*pre))
        fail(*d, quote(v) + " has host bits set (the prefix is " +
                     net::to_string(network_prefix(*pre)) + ")");
      m.dst = *pre;
    }
    if (g.exists("dscp")) m.dscp = dscp_of(g["dscp"]);
    return m;
  }

  // Whether every packet b matches is matched by a as well.
  static bool covers(const PolicyMatch& a, const PolicyMatch& b) {
    return (a.proto == 0 || a.proto == b.proto) && a.src_lo <= b.src_lo &&
           b.src_hi <= a.src_hi && a.dst_lo <= b.dst_lo && b.dst_hi <= a.dst_hi &&
           a.dst.len <= b.dst.len && a.dst.contains(b.dst.addr) &&
           (a.dscp < 0 || a.dscp == b.dscp);
  }

  void parse_policy(const Setting& l) {
    size_t n = size_t(l.getLength());
    if (n > kMaxPolicyRules)
      fail(l[int(kMaxPolicyRules)],
           "too many rules (at most " + std::to_string(kMaxPolicyRules) + ")");
    for (size_t k = 0; k < n; ++k) {
      const Setting& g = l[int(k)];
      expect_type(g, Setting::TypeGroup);
      check_keys(g, {"match", "mode", "path"});
      PolicyRule r;
      r.line = int(g.getSourceLine());
      if (const Setting* m = find(g, "match", Setting::TypeGroup)) r.match = parse_match(*m);
      parse_mode_path(g, true, &r.mode, &r.path);
      for (size_t j = 0; j < cfg_.policy.size(); ++j)
        if (covers(cfg_.policy[j].match, r.match))
          fail(g, "never used: policy.[" + std::to_string(j) + "] (line " +
                      std::to_string(cfg_.policy[j].line) +
                      ") matches every packet this rule matches (first match wins)");
      cfg_.policy.push_back(r);
    }
  }

  void derive_inner_mtu() {
    // The links that carry tunnel frames: the gateway's paths; the server's tunnel ports and its
    // WAN port (frames may arrive there too).
    unsigned m = 9000;
    if (gw()) {
      for (const Path& p : cfg_.paths) m = std::min<unsigned>(m, p.iface.mtu);
    } else {
      m = std::min<unsigned>(m, cfg_.wan.mtu);
      for (const Interface& i : cfg_.tunnel_ports) m = std::min<unsigned>(m, i.mtu);
    }
    // What a compact frame adds (most of them); mtu_check() keeps the rest 11 bytes shorter.
    cfg_.tunnel.inner_mtu = uint16_t(m - tunnel::kCompactOverhead);
  }

  std::string file_;
  Config cfg_;
  const Setting* auto_rate_ = nullptr;  // the first max_rate = "auto" (checked against rate_control)
  std::vector<const Interface*> all_;  // interfaces parsed so far
};

// libconfig 1.5 reads a plain integer literal with atoi()/strtoul() and keeps its low 32 bits:
// 3000000000 becomes -1294967296 and 4294975376 becomes 8080, silently. Integers that need more
// than 32 bits must carry the L suffix; this finds the ones that do not. The text has parsed, so
// only strings, comments, names and numbers need telling apart.
void check_integer_literals(const std::string& file, const std::string& text) {
  auto alpha = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  auto word = [&](char c) { return alpha(c) || digit(c) || c == '_' || c == '*' || c == '-'; };
  int line = 1;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    char c = text[i];
    if (c == '\n') {
      ++line;
      ++i;
    } else if (c == '#' || (c == '/' && i + 1 < n && text[i + 1] == '/')) {
      while (i < n && text[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < n && text[i + 1] == '*') {
      i += 2;
      while (i < n && !(text[i] == '*' && i + 1 < n && text[i + 1] == '/')) line += text[i++] == '\n';
      i += 2;
    } else if (c == '"') {
      ++i;
      while (i < n && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < n) ++i;
        line += text[i++] == '\n';
      }
      ++i;
    } else if (alpha(c) || c == '_' || c == '*') {
      while (i < n && word(text[i])) ++i;  // a setting name, true, false
    } else if (digit(c) || ((c == '-' || c == '+') && i + 1 < n && digit(text[i + 1]))) {
      size_t start = i;
      if (!digit(c)) ++i;
      bool hex = i + 1 < n && text[i] == '0' && (text[i + 1] == 'x' || text[i + 1] == 'X');
      while (i < n) {
        char d = text[i];
        if (alpha(d) || digit(d) || d == '.') {
          ++i;
        } else if ((d == '+' || d == '-') && !hex && (text[i - 1] == 'e' || text[i - 1] == 'E')) {
          ++i;
        } else {
          break;
        }
      }
      std::string tok = text.substr(start, i - start);
      if (tok.find('.') != std::string::npos) continue;                 // float
      if (!hex && tok.find_first_of("eE") != std::string::npos) continue;  // float
      if (tok.back() == 'L' || tok.back() == 'l') continue;              // 64-bit integer
      bool negative = tok[0] == '-';
      size_t p = (tok[0] == '-' || tok[0] == '+') ? 1 : 0;
      if (hex) p += 2;
      unsigned long long v = 0;
      bool big = false;
      for (; p < tok.size(); ++p) {
        int dv = digit(tok[p]) ? tok[p] - '0' : std::tolower(static_cast<unsigned char>(tok[p])) - 'a' + 10;
        v = v * (hex ? 16 : 10) + unsigned(dv);
        if (v > 0xffffffffull) big = true;
      }
      unsigned long long limit = hex ? 0x7fffffffull : (negative ? 2147483648ull : 2147483647ull);
      if (big || v > limit)
        throw ConfigError(file, line,
                          "integer " + tok + " does not fit in 32 bits; write " + tok + "L");
    } else {
      ++i;
    }
  }
}

}  // namespace

const char* mode_name(Mode m) {
  for (const ModeName& n : kModes)
    if (n.mode == m) return n.name;
  return "?";
}

ConfigError::ConfigError(const std::string& f, int l, const std::string& reason)
    : std::runtime_error(format_error(f, l, reason)), file(f), line(l) {}

std::vector<const Interface*> Config::interfaces() const {
  std::vector<const Interface*> out;
  if (role == Role::gateway) {
    out.push_back(&lan);
    for (const Path& p : paths) out.push_back(&p.iface);
  } else {
    out.push_back(&wan);
    for (const Interface& i : tunnel_ports) out.push_back(&i);
  }
  return out;
}

Config load(const std::string& path) {
  // libconfig reports an unreadable file without the reason: read it here.
  auto cannot_read = [&](int err) {
    return ConfigError(path, 0, std::string("cannot read: ") + std::strerror(err));
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw cannot_read(errno);
  std::string text;
  struct stat st {};
  int err = 0;
  if (::fstat(fd, &st) != 0) {
    err = errno;
  } else if (S_ISDIR(st.st_mode)) {
    err = EISDIR;
  } else {
    char buf[8192];
    for (;;) {
      ssize_t r = ::read(fd, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) err = errno;
      if (r <= 0) break;
      text.append(buf, size_t(r));
    }
  }
  ::close(fd);
  if (err != 0) throw cannot_read(err);
  return load_text(text, path);
}

Config load_text(const std::string& text, const std::string& file_name) {
  libconfig::Config lc;
  try {
    lc.readString(text);
  } catch (const libconfig::ParseException& e) {
    const char* f = e.getFile();
    throw ConfigError(f && *f ? std::string(f) : file_name, e.getLine(), e.getError());
  }
  check_integer_literals(file_name, text);
  try {
    return Loader(file_name).run(lc.getRoot());
  } catch (const libconfig::ConfigException& e) {
    // Not expected: every access is checked first. Keep the contract anyway.
    throw ConfigError(file_name, 0, std::string("internal error: ") + e.what());
  }
}

void check_ports(const Config& cfg, const std::vector<std::string>& eal_ports) {
  for (const Interface* i : cfg.interfaces()) {
    if (std::find(eal_ports.begin(), eal_ports.end(), i->port) != eal_ports.end()) continue;
    std::string have;
    for (const std::string& p : eal_ports) have += (have.empty() ? "" : ", ") + p;
    if (have.empty()) have = "none";
    throw ConfigError(cfg.file, i->port_line > 0 ? i->port_line : i->line,
                      "port " + quote(i->port) + " is not an EAL device (EAL has: " + have + ")");
  }
}

}  // namespace mpf::config
