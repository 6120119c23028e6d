// External ports (and ICMP query ids) split into equal shares, one per worker lcore, so the
// owner of a returning packet is known from its destination port alone (DESIGN.md 3).
#pragma once
#include <cstdint>

namespace mpf::nat {

struct PortPartition {
  uint16_t first = 1024;
  uint16_t last = 65535;
  unsigned shares = 1;

  unsigned share_size() const { return (unsigned(last) - first + 1) / shares; }
  uint16_t share_first(unsigned i) const { return uint16_t(first + i * share_size()); }
  uint16_t share_last(unsigned i) const {
    return i + 1 == shares ? last : uint16_t(share_first(i) + share_size() - 1);
  }
  // Owning share of an external port, or `shares` when the port is outside the range.
  unsigned owner(uint16_t port) const {
    if (port < first || port > last) return shares;
    unsigned i = (unsigned(port) - first) / share_size();
    return i < shares ? i : shares - 1;
  }
};

}  // namespace mpf::nat
