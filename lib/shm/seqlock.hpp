// A sequence lock for one writer and any number of readers that never block the writer:
// the writer makes the sequence odd, writes, makes it even again; a reader copies and retries
// while the sequence was odd or moved. Used across processes on shared memory, so only
// lock-free atomics on plain words (no std::atomic objects in the shared layout).
#pragma once
#include <atomic>
#include <cstdint>
#include <cstring>

namespace mpf::shm {

inline void seq_write_begin(uint64_t* seq) {
  uint64_t s = __atomic_load_n(seq, __ATOMIC_RELAXED);
  __atomic_store_n(seq, s + 1, __ATOMIC_RELAXED);
  std::atomic_thread_fence(std::memory_order_release);
}

inline void seq_write_end(uint64_t* seq) {
  uint64_t s = __atomic_load_n(seq, __ATOMIC_RELAXED);
  __atomic_store_n(seq, s + 1, __ATOMIC_RELEASE);
}

// Copies n bytes from src (guarded by *seq) into dst. Returns false when no consistent copy was
// had within `tries` attempts (the writer is mid-update each time, or died mid-update).
inline bool seq_read(const uint64_t* seq, void* dst, const void* src, size_t n,
                     unsigned tries = 1000) {
  for (unsigned i = 0; i < tries; i++) {
    uint64_t s1 = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
    if (s1 & 1) continue;
    std::memcpy(dst, src, n);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (__atomic_load_n(seq, __ATOMIC_RELAXED) == s1) return true;
  }
  return false;
}

}  // namespace mpf::shm
