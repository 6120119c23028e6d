// What a NAT session looks like from outside the table: a copy made by NatTable::scan for flow
// listings (mpfctl flows). Header-only and free of DPDK so that the control side can name the
// TCP states the same way the dataplane computes them.
#pragma once
#include <cstdint>

#include "net/addr.hpp"

namespace mpf::nat {

// TCP state of a session as listings show it (shm::Flow::tcp_state). Derived from the flags the
// table tracks for its timeouts, so it says what the NAT saw, not a full RFC 793 state.
enum class TcpState : uint8_t {
  none = 0,         // not TCP
  opening = 1,      // not yet acknowledged both ways (handshake, or a half-open attempt)
  established = 2,  // ACK seen both ways, no FIN
  closing = 3,      // FIN seen one way
  closed = 4,       // FIN seen both ways; kept for the transitory timeout
  reset = 5,        // RST seen; kept briefly (at most 10 s)
};

constexpr const char* tcp_state_name(uint8_t s) {
  switch (TcpState(s)) {
    case TcpState::none: return "-";
    case TcpState::opening: return "opening";
    case TcpState::established: return "established";
    case TcpState::closing: return "closing";
    case TcpState::closed: return "closed";
    case TcpState::reset: return "reset";
  }
  return "?";
}

struct SessionInfo {
  uint8_t proto = 0;      // net::kProtoTcp, kProtoUdp or kProtoIcmp
  uint8_t tcp_state = 0;  // TcpState
  net::Ipv4 inside_ip = 0, remote_ip = 0, external_ip = 0;  // host order
  // ICMP echo: the inside id in inside_port, the translated id in external_port, remote_port 0.
  uint16_t inside_port = 0, remote_port = 0, external_port = 0;
  uint64_t created_ms = 0, last_ms = 0;  // the table's clock (the now_ms its callers pass)
  // out = inside -> outside, in = outside -> inside; bytes are IPv4 total lengths. Only packets
  // translated by the session count: not ICMP errors that quote it.
  uint64_t packets_out = 0, bytes_out = 0, packets_in = 0, bytes_in = 0;

  uint64_t bytes() const { return bytes_out + bytes_in; }
};

}  // namespace mpf::nat
