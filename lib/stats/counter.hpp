// Single-writer counters: the owning lcore adds with a plain load+store (no locked RMW); readers
// on other threads load them relaxed and sum over lcores. 64-bit aligned loads never tear on
// the targets we support.
#pragma once
#include <cstdint>

namespace mpf {

inline void bump(uint64_t& c, uint64_t n = 1) {
  __atomic_store_n(&c, __atomic_load_n(&c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}
inline uint64_t read_counter(const uint64_t& c) { return __atomic_load_n(&c, __ATOMIC_RELAXED); }

}  // namespace mpf
