// `flows`: the workers each list their top sessions matching the filter (mailbox Op::flows);
// once the main lcore answers, every worker's slot holds its list for this request, and the
// lists are merged here, largest first.
#include <algorithm>
#include <vector>

#include "api.hpp"
#include "args.hpp"
#include "net/addr.hpp"
#include "region_view.hpp"
#include "shm/seqlock.hpp"

namespace mpf::control {

namespace {

struct Ranked {
  shm::Flow f;
  unsigned slot;
  uint64_t bytes() const { return f.bytes_out + f.bytes_in; }
};

json flow_json(const Ranked& x) {
  const shm::Flow& f = x.f;
  return {{"lcore_slot", x.slot},
          {"proto", proto_name(f.proto)},
          {"tcp_state", f.tcp_state},
          {"inside_ip", net::to_string(f.inside_ip)},
          {"inside_port", f.inside_port},
          {"external_ip", net::to_string(f.external_ip)},
          {"external_port", f.external_port},
          {"remote_ip", net::to_string(f.remote_ip)},
          {"remote_port", f.remote_port},
          {"packets_out", f.packets_out},
          {"bytes_out", f.bytes_out},
          {"packets_in", f.packets_in},
          {"bytes_in", f.bytes_in},
          {"bytes", x.bytes()},
          {"idle_ms", f.idle_ms},
          {"age_s", f.age_s}};
}

json merge_flows(const shm::Region& r, uint32_t top) {
  uint64_t gen = __atomic_load_n(&r.flow_gen, __ATOMIC_ACQUIRE);
  auto slot = std::make_unique<shm::FlowSlot>();
  std::vector<Ranked> all;
  uint64_t matched = 0, scanned = 0;
  unsigned answered = 0, missing = 0;
  for (unsigned i = 0; i < lcore_count(r); i++) {
    if (r.lcores[i].role == shm::LcoreRole::main) continue;  // no NAT table, no list
    if (!seq_read_patiently(&r.flows[i].seq, slot.get(), &r.flows[i], sizeof(shm::FlowSlot)) ||
        gen == 0 || slot->done_gen != gen) {
      missing++;
      continue;
    }
    answered++;
    matched += slot->matched;
    scanned += slot->scanned;
    for (uint32_t k = 0; k < std::min(slot->n, shm::kFlowsPerLcore); k++)
      all.push_back({slot->flows[k], i});
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const Ranked& a, const Ranked& b) { return a.bytes() > b.bytes(); });
  if (all.size() > top) all.resize(top);
  json flows = json::array();
  for (const Ranked& x : all) flows.push_back(flow_json(x));
  return json{{"flows", flows},
              {"matched", matched},
              {"scanned", scanned},
              {"lcores_answered", answered},
              {"lcores_missing", missing}};
}

}  // namespace

Outcome cmd_flows(const ApiContext& ctx, const json& args) {
  Args a(args);
  MailboxJob job;
  job.req.op = shm::Op::flows;
  shm::FlowsArgs& f = job.req.flows;
  f.top = uint32_t(a.integer("top", 1, shm::kFlowsPerLcore).value_or(20));
  if (auto p = a.one_of("proto", {"tcp", "udp", "icmp"}))
    f.filter.proto = *p == "tcp" ? 6 : *p == "udp" ? 17 : 1;
  if (auto s = a.string("addr")) {
    std::optional<net::Prefix> pre;
    if (s->find('/') == std::string::npos) {
      if (auto ip = net::parse_ipv4(*s)) pre = net::Prefix{*ip, 32};
    } else {
      pre = net::parse_prefix(*s);
    }
    if (!pre) throw ApiError("bad_request", "\"addr\" must be a.b.c.d or a.b.c.d/len, not \"" + *s + "\"");
    f.filter.addr = pre->addr & pre->mask();
    f.filter.prefix_len = pre->len;
    if (pre->len == 0) f.filter.addr = 0;  // /0: any address
  }
  f.filter.port = uint16_t(a.integer("port", 1, 65535).value_or(0));
  a.done();
  need_region(ctx);
  uint32_t top = f.top;
  job.finish = [top](const shm::Region& r, const shm::Response&) {
    json j = merge_flows(r, top);
    j["top"] = top;
    return j;
  };
  return job;
}

}  // namespace mpf::control
