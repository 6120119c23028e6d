// Single-writer counters: the owning lcore adds with a plain load+store (no locked RMW); readers
// on other threads load them relaxed and sum over lcores. 64-bit aligned loads never tear on
// the targets we support.
//
// Built with -Dcounters=false (meson_options.txt), MPF_NO_COUNTERS makes bump() a no-op: a
// measurement build for what the counters cost on the fast path (tools/bench/bench.py dataplane
// --stats-cost). Everything counted stays zero then, including the per-path frame/byte counts
// that probes report to the peer, so that build is for benchmarks only.
#pragma once
#include <cstdint>

namespace mpf {

#ifdef MPF_NO_COUNTERS
inline constexpr bool kCountersEnabled = false;
inline void bump([[maybe_unused]] uint64_t& c, [[maybe_unused]] uint64_t n = 1) {}
#else
inline constexpr bool kCountersEnabled = true;
inline void bump(uint64_t& c, uint64_t n = 1) {
  __atomic_store_n(&c, __atomic_load_n(&c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}
#endif
inline uint64_t read_counter(const uint64_t& c) { return __atomic_load_n(&c, __ATOMIC_RELAXED); }

}  // namespace mpf
