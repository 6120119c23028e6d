#include "app.hpp"

#include <cstring>

namespace mpf::dp {

LearnedPath::Value LearnedPath::read() const {
  for (;;) {
    uint32_t s = __atomic_load_n(&seq, __ATOMIC_ACQUIRE);
    if (s & 1) continue;
    uint64_t a = __atomic_load_n(&addr, __ATOMIC_RELAXED);
    uint64_t m = __atomic_load_n(&mac, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&seq, __ATOMIC_RELAXED) != s) continue;
    Value v;
    v.valid = a >> 63;
    v.port_index = uint8_t(a >> 48);
    v.udp_port = uint16_t(a >> 32);
    v.ip = uint32_t(a);
    std::memcpy(v.mac.b.data(), &m, 6);
    return v;
  }
}

void LearnedPath::write(const Value& v) {
  uint64_t a = (v.valid ? 1ull << 63 : 0) | uint64_t(v.port_index) << 48 |
               uint64_t(v.udp_port) << 32 | v.ip;
  uint64_t m = 0;
  std::memcpy(&m, v.mac.b.data(), 6);
  __atomic_store_n(&seq, seq + 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  __atomic_store_n(&addr, a, __ATOMIC_RELAXED);
  __atomic_store_n(&mac, m, __ATOMIC_RELAXED);
  __atomic_store_n(&seq, seq + 1, __ATOMIC_RELEASE);
}

PathPub::Value PathPub::read() const {
  for (;;) {
    uint32_t s = __atomic_load_n(&seq, __ATOMIC_ACQUIRE);
    if (s & 1) continue;
    uint64_t a = __atomic_load_n(&w0, __ATOMIC_RELAXED);
    uint64_t r = __atomic_load_n(&rate_Bps, __ATOMIC_RELAXED);
    uint32_t wt = __atomic_load_n(&weight, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&seq, __ATOMIC_RELAXED) != s) continue;
    Value v;
    v.up = a >> 63;
    v.rttvar_us = uint32_t(a >> 32) & 0x7fffffffu;
    v.owd_us = uint32_t(a);
    v.rate_Bps = r;
    v.weight = wt;
    return v;
  }
}

void PathPub::write(const Value& v) {
  uint64_t a = (v.up ? 1ull << 63 : 0) | uint64_t(v.rttvar_us & 0x7fffffffu) << 32 | v.owd_us;
  __atomic_store_n(&seq, seq + 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  __atomic_store_n(&w0, a, __ATOMIC_RELAXED);
  __atomic_store_n(&rate_Bps, v.rate_Bps, __ATOMIC_RELAXED);
  __atomic_store_n(&weight, v.weight, __ATOMIC_RELAXED);
  __atomic_store_n(&seq, seq + 1, __ATOMIC_RELEASE);
}

// Peers are few (tens); a linear scan over a contiguous array beats hashing at that size.
const PeerState* App::peer_by_id(uint32_t id, uint16_t* index) const {
  for (size_t i = 0; i < peers.size(); i++)
    if (peers[i].tunnel_id == id) {
      *index = uint16_t(i);
      return &peers[i];
    }
  return nullptr;
}

const PeerState* App::peer_by_addr(net::Ipv4 addr) const {
  for (const PeerState& p : peers)
    if (p.tunnel_addr == addr) return &p;
  return nullptr;
}

bool App::is_local(net::Ipv4 addr) const {
  for (const Port& p : ports)
    if (p.iface->address.addr == addr) return true;
  return gateway && addr == cfg.tunnel.address;
}

}  // namespace mpf::dp
