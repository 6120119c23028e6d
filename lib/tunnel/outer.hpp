// The outer Ethernet/IPv4/UDP headers of a tunnel frame.
#pragma once
#include <cstdint>

#include "net/addr.hpp"

namespace mpf::tunnel {

constexpr unsigned kOuterLen = 14 + 20 + 8;  // Ethernet + IPv4 + UDP

struct OuterAddrs {
  net::Mac src_mac, dst_mac;
  net::Ipv4 src_ip = 0, dst_ip = 0;
  uint16_t src_port = 0, dst_port = 0;
};

// Writes Ethernet, IPv4 (DF set, TTL 64, checksum computed) and UDP (checksum 0, as RFC 768
// allows for IPv4; the mpf header is integrity-checked by its own tag) headers at out, for a UDP
// payload of payload_len bytes.
void write_outer(uint8_t* out, const OuterAddrs& a, uint16_t payload_len, uint16_t ip_id);

}  // namespace mpf::tunnel
