// ARP (RFC 826) for Ethernet/IPv4.
#include "net/arp.hpp"

#include <cstring>

#include "net/bytes.hpp"
#include "net/protocol.hpp"

namespace mpf::net {

namespace {
constexpr uint16_t kHtypeEthernet = 1;
}

Drop parse_arp(const uint8_t* arp, uint32_t len, ArpMessage* out) {
  if (len < kArpLen) return Drop::arp_malformed;
  if (load16(arp) != kHtypeEthernet || load16(arp + 2) != kEtherTypeIpv4 || arp[4] != 6 ||
      arp[5] != 4)
    return Drop::arp_malformed;
  const uint16_t op = load16(arp + 6);
  if (op != kArpRequest && op != kArpReply) return Drop::arp_malformed;
  out->op = op;
  std::memcpy(out->sender_mac.b.data(), arp + 8, 6);
  out->sender_ip = load32(arp + 14);
  std::memcpy(out->target_mac.b.data(), arp + 18, 6);
  out->target_ip = load32(arp + 24);
  return Drop::none;
}

void write_arp(uint8_t* arp, uint16_t op, const Mac& sender_mac, Ipv4 sender_ip,
               const Mac& target_mac, Ipv4 target_ip) {
  store16(arp, kHtypeEthernet);
  store16(arp + 2, kEtherTypeIpv4);
  arp[4] = 6;
  arp[5] = 4;
  store16(arp + 6, op);
  std::memcpy(arp + 8, sender_mac.b.data(), 6);
  store32(arp + 14, sender_ip);
  std::memcpy(arp + 18, target_mac.b.data(), 6);
  store32(arp + 24, target_ip);
}

void write_eth(uint8_t* eth, const Mac& dst, const Mac& src, uint16_t ethertype) {
  std::memcpy(eth, dst.b.data(), 6);
  std::memcpy(eth + 6, src.b.data(), 6);
  store16(eth + 12, ethertype);
}

}  // namespace mpf::net
