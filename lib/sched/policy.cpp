#include "sched/policy.hpp"

#include <stdexcept>
#include <string>

#include "net/protocol.hpp"

namespace mpf::sched {

namespace {

struct ModeName {
  Mode mode;
  const char* name;
};
constexpr ModeName kModes[] = {
    {Mode::aggregate, "aggregate"},   {Mode::weighted, "weighted"},
    {Mode::active_backup, "active-backup"}, {Mode::lowest_rtt, "lowest-rtt"},
    {Mode::redundant, "redundant"},   {Mode::pinned, "pinned"},
};

void check_action(const Action& a, const std::string& what) {
  bool known = false;
  for (const ModeName& m : kModes) known |= m.mode == a.mode;
  if (!known) throw std::invalid_argument(what + ": unknown mode");
  if (a.mode == Mode::pinned && (a.path < 0 || unsigned(a.path) >= kMaxPaths))
    throw std::invalid_argument(what + ": pinned needs a path id 0.." +
                                std::to_string(kMaxPaths - 1));
}

}  // namespace

const char* to_string(Mode m) {
  for (const ModeName& x : kModes)
    if (x.mode == m) return x.name;
  return "?";
}

std::optional<Mode> parse_mode(std::string_view s) {
  for (const ModeName& x : kModes)
    if (s == x.name) return x.mode;
  return std::nullopt;
}

Policy::Policy(std::vector<Rule> rules, Action default_action)
    : rules_(std::move(rules)), default_(default_action) {
  check_action(default_, "policy default");
  compiled_.reserve(rules_.size());
  for (size_t i = 0; i < rules_.size(); ++i) {
    const Match& m = rules_[i].match;
    const std::string what = "policy rule " + std::to_string(i);
    check_action(rules_[i].action, what);
    if (m.src_lo > m.src_hi || m.dst_lo > m.dst_hi)
      throw std::invalid_argument(what + ": port range with lo > hi");
    if (m.dscp < -1 || m.dscp > 63) throw std::invalid_argument(what + ": dscp must be -1..63");
    if (m.dst.len > 32) throw std::invalid_argument(what + ": prefix length > 32");
    const bool ports = m.src_lo != 0 || m.src_hi != 65535 || m.dst_lo != 0 || m.dst_hi != 65535;
    if (ports && m.proto != 0 && m.proto != net::kProtoTcp && m.proto != net::kProtoUdp)
      throw std::invalid_argument(what + ": port ranges need protocol tcp, udp or any");
    Compiled c{};
    c.dst_mask = m.dst.mask();
    c.dst_addr = m.dst.addr & c.dst_mask;
    c.src_lo = m.src_lo;
    c.src_hi = m.src_hi;
    c.dst_lo = m.dst_lo;
    c.dst_hi = m.dst_hi;
    c.proto = m.proto;
    c.dscp = int8_t(m.dscp);
    c.ports = ports;
    c.action = rules_[i].action;
    compiled_.push_back(c);
  }
}

size_t Policy::match_index(const net::Ipv4Packet& p) const {
  const int8_t dscp = int8_t(p.ip[1] >> 2);
  const bool has_ports = p.proto == net::kProtoTcp || p.proto == net::kProtoUdp;
  const size_t n = compiled_.size();
  const Compiled* r = compiled_.data();
  for (size_t i = 0; i < n; ++i, ++r) {
    if (r->proto != 0 && r->proto != p.proto) continue;
    if ((p.dst & r->dst_mask) != r->dst_addr) continue;
    if (r->dscp >= 0 && r->dscp != dscp) continue;
    if (r->ports) {
      if (!has_ports) continue;
      if (p.sport < r->src_lo || p.sport > r->src_hi) continue;
      if (p.dport < r->dst_lo || p.dport > r->dst_hi) continue;
    }
    return i;
  }
  return n;
}

const Action& Policy::classify(const net::Ipv4Packet& p) const {
  const size_t i = match_index(p);
  return i < compiled_.size() ? compiled_[i].action : default_;
}

}  // namespace mpf::sched
