// IPv4 -> MAC cache shared by all lcores. One writer (the main lcore, which runs ARP) and any
// number of readers (workers, per packet): each slot is a seqlock, so readers never block, never
// write, and never see a torn entry. Two candidate slots per address; a collision evicts the
// older dynamic entry (static entries from the config are never evicted), and the worst case is
// an extra ARP round trip.
#pragma once
#include <cstdint>
#include <cstring>

#include "net/addr.hpp"

namespace mpf::arp {

class NeighborCache {
 public:
  static constexpr unsigned kSlots = 1024;  // power of two

  // Any thread. True and *mac set when ip is known.
  bool lookup(net::Ipv4 ip, net::Mac* mac) const {
    for (unsigned h : {slot1(ip), slot2(ip)}) {
      const Slot& s = slots_[h];
      for (;;) {
        uint32_t seq = __atomic_load_n(&s.seq, __ATOMIC_ACQUIRE);
        if (seq & 1) continue;  // writer mid-update: it finishes in a few ns
        uint64_t key = __atomic_load_n(&s.key, __ATOMIC_RELAXED);
        uint64_t m = __atomic_load_n(&s.mac, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&s.seq, __ATOMIC_RELAXED) != seq) continue;
        if ((key & (kValid | 0xffffffffull)) == (kValid | ip)) {
          std::memcpy(mac->b.data(), &m, 6);
          return true;
        }
        break;
      }
    }
    return false;
  }

  // Writer thread only. Returns false when both candidate slots hold static entries.
  bool update(net::Ipv4 ip, const net::Mac& mac, bool is_static = false) {
    unsigned a = slot1(ip), b = slot2(ip);
    unsigned pick;
    if (matches(a, ip)) pick = a;
    else if (matches(b, ip)) pick = b;
    else if (!used(a)) pick = a;
    else if (!used(b)) pick = b;
    else if (!is_static_slot(a)) pick = a;
    else if (!is_static_slot(b)) pick = b;
    else return false;
    if (is_static_slot(pick) && !is_static) return true;  // config wins over ARP
    write(pick, ip, mac, is_static);
    return true;
  }

  // Writer thread only.
  void remove(net::Ipv4 ip) {
    for (unsigned h : {slot1(ip), slot2(ip)})
      if (matches(h, ip) && !is_static_slot(h)) write_raw(h, 0, 0);
  }

 private:
  static constexpr uint64_t kValid = 1ull << 32;
  static constexpr uint64_t kStatic = 1ull << 33;
  struct alignas(32) Slot {
    uint32_t seq = 0;
    uint64_t key = 0;  // kValid | kStatic | ip
    uint64_t mac = 0;
  };

  static unsigned slot1(net::Ipv4 ip) { return (ip * 2654435761u) >> 22 & (kSlots - 1); }
  static unsigned slot2(net::Ipv4 ip) { return ((ip ^ 0x5bd1e995u) * 0x9e3779b1u) >> 22 & (kSlots - 1); }
  bool used(unsigned h) const { return slots_[h].key & kValid; }
  bool is_static_slot(unsigned h) const { return slots_[h].key & kStatic; }
  bool matches(unsigned h, net::Ipv4 ip) const {
    return used(h) && uint32_t(slots_[h].key) == ip;
  }
  void write(unsigned h, net::Ipv4 ip, const net::Mac& mac, bool is_static) {
    uint64_t m = 0;
    std::memcpy(&m, mac.b.data(), 6);
    write_raw(h, kValid | (is_static ? kStatic : 0) | ip, m);
  }
  void write_raw(unsigned h, uint64_t key, uint64_t mac) {
    Slot& s = slots_[h];
    __atomic_store_n(&s.seq, s.seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&s.key, key, __ATOMIC_RELAXED);
    __atomic_store_n(&s.mac, mac, __ATOMIC_RELAXED);
    __atomic_store_n(&s.seq, s.seq + 1, __ATOMIC_RELEASE);
  }

  Slot slots_[kSlots];
};

}  // namespace mpf::arp
