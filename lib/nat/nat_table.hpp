// The NAT engine both appliances run (DESIGN.md 4): one NatTable per worker lcore, owned and
// touched by that lcore only (rte_hash without concurrency flags, no locks).
//
// Behaviour: endpoint-independent mapping for UDP and TCP (RFC 4787 / RFC 5382: one external
// port per inside address:port while any session uses it), endpoint-independent filtering for
// UDP, TCP state tracking with separate established/transitory timeouts, ICMP echo ids
// translated like ports, ICMP errors translated with their quoted packet (RFC 5508), static port
// forwards (DNAT) translated statelessly, checksums updated incrementally (RFC 1624).
// Sessions sit in LRU lists per timeout class; expiry pops idle heads, no scavenger thread.
// Each session counts the packets and bytes it translates each way; scan() lists sessions a
// bounded slice at a time, for flow listings taken by the owning lcore between bursts.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "nat/session_info.hpp"
#include "net/addr.hpp"
#include "net/ipv4_packet.hpp"
#include "stats/drop_reason.hpp"

namespace mpf::nat {

struct Timeouts {
  uint32_t tcp_established_s = 7440;  // RFC 5382: >= 2 h 4 min
  uint32_t tcp_transitory_s = 240;    // RFC 5382: 4 min
  uint32_t udp_s = 300;               // RFC 4787: >= 2 min, 5 min recommended
  uint32_t icmp_s = 60;               // RFC 5508: >= 60 s
};

struct PortForward {
  uint8_t proto = 0;        // net::kProtoTcp or net::kProtoUdp
  uint16_t ext_port = 0;    // on the table's external address
  net::Ipv4 to_addr = 0;    // inside address
  uint16_t to_port = 0;     // inside port
};

// Static port forwards, built once at start-up and then only read (by every lcore).
class PortForwards {
 public:
  PortForwards() = default;
  explicit PortForwards(std::vector<PortForward> forwards);
  const PortForward* by_external(uint8_t proto, uint16_t ext_port) const;
  const PortForward* by_internal(uint8_t proto, net::Ipv4 addr, uint16_t port) const;
  bool empty() const { return forwards_.empty(); }
  const std::vector<PortForward>& all() const { return forwards_; }

 private:
  std::vector<PortForward> forwards_;
  // Built by the constructor (index 0 TCP, 1 UDP): forwards_ index + 1 per external port (0 =
  // none, the first forward of a duplicate wins); a bitmap of target ports; forwards_ indexes
  // sorted by (proto, to_port, to_addr) for by_internal.
  std::vector<uint32_t> by_ext_[2];
  std::vector<uint64_t> to_ports_[2];
  std::vector<uint32_t> by_int_;
};

struct TableParams {
  std::string name;                  // unique per process (rte_hash names are global)
  int socket_id = 0;                 // NUMA socket for the tables
  net::Ipv4 external_ip = 0;
  uint16_t port_first = 1024;        // this lcore's share of ports and ICMP ids
  uint16_t port_last = 65535;
  uint32_t max_sessions = 65536;
  Timeouts timeouts;
  const PortForwards* forwards = nullptr;  // forwarded ports are never allocated dynamically
};

// Single-writer counters (see stats/counter.hpp), read by telemetry from other threads.
struct TableStats {
  uint64_t created = 0;
  uint64_t expired = 0;
  uint64_t forwarded_in = 0;   // packets translated by a port forward, outside -> inside
  uint64_t forwarded_out = 0;  // inside -> outside
  uint64_t icmp_errors = 0;    // ICMP errors translated
  uint64_t active = 0;         // sessions in the table now
};

class NatTable {
 public:
  // nullptr with *error set when the tables cannot be created.
  static std::unique_ptr<NatTable> create(const TableParams& params, std::string* error);
  ~NatTable();
  NatTable(const NatTable&) = delete;
  NatTable& operator=(const NatTable&) = delete;

  // A packet from the inside going out: its source becomes external_ip and a port of this
  // table's share (or the forward's port). Rewrites addresses, ports/ids and checksums in place
  // and updates p's fields to match. Drop::none on success; else the packet is untouched.
  // A packet translated by a session counts in its packets_out/bytes_out (p.total_len);
  // forwarded packets and ICMP errors count in no session.
  Drop inside_to_outside(net::Ipv4Packet& p, uint64_t now_ms);

  // A packet from outside addressed to external_ip: its destination becomes the inside
  // address/port of the session or forward. Same contract as inside_to_outside (counting in
  // packets_in/bytes_in).
  Drop outside_to_inside(net::Ipv4Packet& p, uint64_t now_ms);

  // Removes up to `budget` sessions whose timeout has passed. Returns how many.
  unsigned expire(uint64_t now_ms, unsigned budget);

  // Visits the sessions stored in slots [*cursor, *cursor + budget) of the session pool (fewer
  // at its end), calling fn(info, ctx) for each live one whose timeout has not passed at now_ms
  // (a session expire() would remove is not listed). Advances *cursor past the slots visited
  // and wraps it to 0 after the last slot: a pass over the whole table is done when *cursor is
  // 0 again. A cursor beyond the pool restarts at 0. Returns the number of slots visited
  // (<= budget; each costs one cache line read, plus one for a live session).
  // Between calls the table may change: a session alive for a whole pass is visited exactly
  // once in it; one created or freed during the pass may or may not be. Owning lcore only; fn
  // must not call into this table. No allocation.
  using SessionVisitor = void (*)(const SessionInfo& info, void* ctx);
  uint32_t scan(uint32_t* cursor, uint32_t budget, uint64_t now_ms, SessionVisitor fn,
                void* ctx) const;
  // The same with any callable f(const SessionInfo&), called directly (no std::function).
  template <class F>
  uint32_t scan(uint32_t* cursor, uint32_t budget, uint64_t now_ms, F&& f) const {
    using Fn = std::remove_reference_t<F>;
    return scan(
        cursor, budget, now_ms,
        [](const SessionInfo& info, void* ctx) { (*static_cast<Fn*>(ctx))(info); },
        const_cast<void*>(static_cast<const void*>(&f)));
  }

  const TableStats& stats() const;
  const TableParams& params() const;

  struct Impl;

 private:
  explicit NatTable(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The port that names the session of a packet arriving from outside: TCP/UDP destination port,
// ICMP echo reply id, or the quoted source port/id of an ICMP error. The dataplane uses it with
// PortPartition::owner to find the lcore that owns the session. False when there is none.
bool outside_key_port(const net::Ipv4Packet& p, uint16_t* port);

}  // namespace mpf::nat
