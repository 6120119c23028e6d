// ICMP messages the appliance originates: echo replies and errors (time exceeded,
// fragmentation needed). Built in place in the packet's own buffer: no allocation.
#pragma once
#include <cstdint>

#include "net/addr.hpp"
#include "net/ipv4_packet.hpp"

namespace mpf::net {

// Bytes an ICMP error needs in front of the offending packet's IPv4 header.
constexpr unsigned kIcmpErrorPrefix = 28;  // new IPv4 header + ICMP header

// Turns a parsed echo request addressed to us into the echo reply, in place (addresses swapped,
// TTL 64, checksums fixed). Length unchanged.
void make_echo_reply(Ipv4Packet& p);

struct Built {
  uint8_t* ip;   // start of the new IPv4 packet
  uint16_t len;  // its total length
};

// Builds an ICMP error about the packet at p.ip (already validated), quoting its header and as
// much payload as keeps the error within 576 bytes (RFC 1812 4.3.2.3). The new packet starts
// 28 bytes before p.ip (the caller guarantees that headroom) and goes from `from` to p.src with
// TTL 64. `next_hop_mtu` fills the field of a fragmentation-needed message (else 0).
Built build_icmp_error(const Ipv4Packet& p, uint8_t type, uint8_t code, uint16_t next_hop_mtu,
                       Ipv4 from);

// RFC 1812 4.3.2.7: false when no ICMP error may be sent about p (p is itself an ICMP error,
// or its source is zero, loopback, multicast or broadcast, or its destination multicast or
// limited broadcast). Directed broadcasts are the caller's to refuse (it knows its subnets).
bool icmp_error_allowed(const Ipv4Packet& p);

// When p is a TCP SYN with an MSS option above `mss`, lowers it to `mss` and fixes the TCP
// checksum incrementally. Returns true when it changed the packet.
bool clamp_tcp_mss(Ipv4Packet& p, uint16_t mss);

}  // namespace mpf::net
