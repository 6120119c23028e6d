// Static port forwards: O(1) lookup by external port, a bitmap plus a binary search by target.
#include <algorithm>
#include <utility>

#include "nat/nat_table.hpp"
#include "net/protocol.hpp"

namespace mpf::nat {

namespace {

// 0 for TCP, 1 for UDP, -1 for anything a port forward cannot name.
inline int proto_slot(uint8_t proto) {
  return proto == net::kProtoTcp ? 0 : proto == net::kProtoUdp ? 1 : -1;
}

}  // namespace

PortForwards::PortForwards(std::vector<PortForward> forwards) : forwards_(std::move(forwards)) {
  for (int i = 0; i < 2; ++i) {
    by_ext_[i].assign(65536, 0);
    to_ports_[i].assign(65536 / 64, 0);
  }
  for (uint32_t i = 0; i < forwards_.size(); ++i) {
    const PortForward& f = forwards_[i];
    int s = proto_slot(f.proto);
    if (s < 0) continue;
    if (by_ext_[s][f.ext_port] == 0) by_ext_[s][f.ext_port] = i + 1;
    to_ports_[s][f.to_port >> 6] |= uint64_t(1) << (f.to_port & 63);
    by_int_.push_back(i);
  }
  std::stable_sort(by_int_.begin(), by_int_.end(), [this](uint32_t a, uint32_t b) {
    const PortForward& x = forwards_[a];
    const PortForward& y = forwards_[b];
    if (x.proto != y.proto) return x.proto < y.proto;
    if (x.to_port != y.to_port) return x.to_port < y.to_port;
    return x.to_addr < y.to_addr;
  });
}

const PortForward* PortForwards::by_external(uint8_t proto, uint16_t ext_port) const {
  int s = proto_slot(proto);
  if (s < 0 || by_ext_[s].empty()) return nullptr;
  uint32_t i = by_ext_[s][ext_port];
  return i == 0 ? nullptr : &forwards_[i - 1];
}

const PortForward* PortForwards::by_internal(uint8_t proto, net::Ipv4 addr, uint16_t port) const {
  int s = proto_slot(proto);
  if (s < 0 || to_ports_[s].empty()) return nullptr;
  if (!(to_ports_[s][port >> 6] >> (port & 63) & 1)) return nullptr;
  // Rare path: some forward targets this port; find (proto, port, addr) among the sorted ones.
  auto it = std::lower_bound(by_int_.begin(), by_int_.end(), 0u, [&](uint32_t a, uint32_t) {
    const PortForward& x = forwards_[a];
    if (x.proto != proto) return x.proto < proto;
    if (x.to_port != port) return x.to_port < port;
    return x.to_addr < addr;
  });
  if (it == by_int_.end()) return nullptr;
  const PortForward& f = forwards_[*it];
  return f.proto == proto && f.to_port == port && f.to_addr == addr ? &f : nullptr;
}

}  // namespace mpf::nat
