// Validation and parsing of an IPv4 packet held contiguously in memory. Nothing here knows mbufs:
// the dataplane hands in a pointer to the IPv4 header and the bytes available after it.
#pragma once
#include <cstdint>

#include "net/addr.hpp"
#include "stats/drop_reason.hpp"

namespace mpf::net {

struct Ipv4Packet {
  uint8_t* ip = nullptr;     // IPv4 header
  uint16_t hdr_len = 0;      // ihl * 4
  uint16_t total_len = 0;    // from the header; callers trim link padding to this
  uint8_t proto = 0;
  uint8_t ttl = 0;
  bool dont_fragment = false;
  Ipv4 src = 0, dst = 0;
  uint8_t* l4 = nullptr;     // first byte after the IPv4 header
  uint16_t l4_len = 0;       // total_len - hdr_len
  // TCP/UDP ports; for ICMP echo request/reply sport = dport = identifier; else 0.
  uint16_t sport = 0, dport = 0;
  uint8_t icmp_type = 0, icmp_code = 0;  // ICMP only
};

// Checks version, IHL, header checksum, total length (<= avail), refuses fragments, and for
// TCP/UDP/ICMP checks that the L4 header fits. Fills *out on Drop::none. Other protocols parse
// with ports 0 (the caller decides whether to carry them).
Drop parse_ipv4(uint8_t* ip, uint32_t avail, Ipv4Packet* out);

// Recomputes the IPv4 header checksum in place.
void ipv4_set_checksum(uint8_t* ip);

// Decrements TTL with an incremental checksum update. Returns false (packet untouched) when the
// TTL is <= 1 and the packet must not be forwarded.
bool ipv4_decrement_ttl(uint8_t* ip);

}  // namespace mpf::net
