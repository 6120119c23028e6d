// Every reason the dataplane drops a packet, with a stable name. lib/ functions return a Drop
// (Drop::none when the packet goes on); the dataplane counts each reason per lcore.
#pragma once
#include <cstdint>

namespace mpf {

#define MPF_DROP_REASONS(X)                                                                     \
  X(none, "not a drop")                                                                         \
  X(eth_truncated, "frame shorter than an Ethernet header")                                     \
  X(eth_unsupported, "ethertype neither IPv4 nor ARP (IPv6, VLAN, ...)")                        \
  X(eth_not_for_us, "destination MAC neither ours nor broadcast")                               \
  X(multi_segment, "multi-segment mbuf (jumbo frames are not supported yet)")                   \
  X(arp_malformed, "ARP packet that is not Ethernet/IPv4 request or reply")                     \
  X(arp_not_for_us, "ARP for an address that is not ours")                                      \
  X(ipv4_truncated, "IPv4 header or total length beyond the frame")                             \
  X(ipv4_bad_version, "IP version field is not 4")                                              \
  X(ipv4_bad_ihl, "IPv4 header length below 20 bytes")                                          \
  X(ipv4_bad_checksum, "IPv4 header checksum wrong")                                            \
  X(ipv4_bad_length, "IPv4 total length smaller than its header")                               \
  X(ipv4_fragment, "IPv4 fragment (not reassembled yet)")                                       \
  X(ipv4_bad_source, "source address is ours, broadcast, multicast or loopback")                \
  X(ttl_exceeded, "TTL ran out here (ICMP time exceeded sent when allowed)")                    \
  X(l4_truncated, "TCP/UDP/ICMP header beyond the IPv4 payload")                                \
  X(l4_unsupported, "IP protocol the NAT cannot translate")                                     \
  X(icmp_unsupported, "ICMP type the NAT does not translate")                                   \
  X(icmp_bad_inner, "ICMP error whose embedded packet is unusable")                             \
  X(no_route, "destination not reachable from this port")                                       \
  X(local_unhandled, "packet for an appliance address that nothing here serves")                \
  X(nat_no_session, "packet from outside with no NAT session or port forward")                  \
  X(nat_ports_exhausted, "no free external port/id left in this lcore's share")                 \
  X(nat_table_full, "NAT session table full")                                                   \
  X(too_big, "packet larger than the tunnel MTU (ICMP fragmentation needed sent if DF)")        \
  X(tunnel_truncated, "tunnel frame shorter than its headers")                                  \
  X(tunnel_bad_version, "tunnel header version unknown")                                        \
  X(tunnel_bad_type, "tunnel frame type unknown")                                               \
  X(tunnel_bad_length, "tunnel header fields inconsistent with the frame length")               \
  X(tunnel_unknown_id, "tunnel id not configured here")                                         \
  X(tunnel_bad_path, "tunnel path id not configured, or the frame on another path's port")                     \
  X(tunnel_bad_inner, "inner packet not valid IPv4, or its length not the frame's payload")     \
  X(tunnel_spoofed_inner, "inner source/destination not the tunnel's own address")              \
  X(tunnel_bad_tag, "tunnel frame whose authentication tag does not verify")                    \
  X(tunnel_unknown_session, "tunnel frame of a peer session not announced (yet) by a probe/reply") \
  X(tunnel_stale_session, "announced peer session older than the one in use (replay)")          \
  X(tunnel_replayed, "probe, reply or feedback frame not newer than one already verified")      \
  X(tunnel_session_limited, "new peer session to check, over the rate of one per ms per lcore")  \
  X(tunnel_no_path, "no path to the peer is up")                                               \
  X(shaper_queue_full, "path queue longer than multipath.max_queue_ms (AQM drop)")             \
  X(impaired_loss, "lost by the operator's path impairment (path.set impairment loss)")        \
  X(impaired_queue_full, "over the queue of the operator's path impairment rate")              \
  X(impaired_line_full, "path impairment holding as many frames as it can (mbufs / 8 / lcores)") \
  X(duplicate, "frame already delivered (redundant copy, retransmit, replay)")                 \
  X(stale, "frame older than the receive window (replay or extremely late)")                   \
  X(feedback_bad, "feedback entry naming a sender lcore or path we do not have")               \
  X(arp_unresolved, "next hop unresolved and its hold queue full")                              \
  X(handoff_ring_full, "ring to the owner lcore full")                                          \
  X(slowpath_ring_full, "ring to the main lcore full")                                          \
  X(tx_full, "TX queue did not take the packet")                                                \
  X(mbuf_exhausted, "no mbuf, or no headroom in one, for a generated or encapsulated packet")

enum class Drop : uint8_t {
#define MPF_X(name, text) name,
  MPF_DROP_REASONS(MPF_X)
#undef MPF_X
  count_
};

constexpr unsigned kDropReasons = unsigned(Drop::count_);

const char* drop_name(Drop d);         // "ipv4_bad_checksum"
const char* drop_description(Drop d);  // one line for humans

}  // namespace mpf
