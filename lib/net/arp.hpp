// ARP (RFC 826) for Ethernet/IPv4: parsing and in-place replies, request building.
#pragma once
#include <cstdint>

#include "net/addr.hpp"
#include "stats/drop_reason.hpp"

namespace mpf::net {

constexpr unsigned kArpLen = 28;  // Ethernet/IPv4 ARP body
constexpr uint16_t kArpRequest = 1, kArpReply = 2;

struct ArpMessage {
  uint16_t op = 0;
  Mac sender_mac;
  Ipv4 sender_ip = 0;
  Mac target_mac;
  Ipv4 target_ip = 0;
};

// arp points after the Ethernet header. Drop::arp_malformed unless htype 1, ptype 0x0800,
// hlen 6, plen 4, op request or reply.
Drop parse_arp(const uint8_t* arp, uint32_t len, ArpMessage* out);

// Writes an ARP body (28 bytes) at arp.
void write_arp(uint8_t* arp, uint16_t op, const Mac& sender_mac, Ipv4 sender_ip,
               const Mac& target_mac, Ipv4 target_ip);

// Writes an Ethernet header (14 bytes) at eth.
void write_eth(uint8_t* eth, const Mac& dst, const Mac& src, uint16_t ethertype);

}  // namespace mpf::net
