// Choosing which sessions a flow listing shows (mpfctl flows): the operator's filter, the
// largest N by bytes, and the row written to shared memory. Pure and allocation-free after
// construction, so a worker lcore can run it between bursts (dataplane/flow_dump.hpp).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "nat/session_info.hpp"
#include "shm/layout.hpp"

namespace mpf::nat {

// True when s passes f: proto 0 or equal; prefix_len 0, or addr/prefix_len (prefix lengths
// above 32 count as 32) contains the inside, remote or external address; port 0, or equal to
// the inside, remote or external port (ICMP: the echo ids).
bool matches(const shm::FlowFilter& f, const SessionInfo& s);

// The n sessions with the most bytes (out + in) among those offered, n <= the capacity given
// at construction. A min-heap: offer() is O(log n) and O(1) for a session smaller than all n
// kept. Among equal byte counts, which ones are kept is unspecified.
class TopN {
 public:
  explicit TopN(uint32_t capacity);  // allocates here, never afterwards
  // Empties the set and keeps at most n (clamped to the capacity) from now on.
  void reset(uint32_t n);
  void offer(const SessionInfo& s);
  uint32_t size() const { return size_; }
  // Sorts what is kept, most bytes first, and returns it. Afterwards offer() must not be called
  // until reset().
  std::span<const SessionInfo> sorted();

 private:
  std::vector<SessionInfo> heap_;  // capacity entries; [0, size_) in use
  uint32_t size_ = 0;
  uint32_t limit_ = 0;
};

// The shared-memory row for s at now_ms (same clock as the table): idle_ms = now - last,
// age_s = (now - created) / 1000, each saturating at UINT32_MAX; addresses host order.
shm::Flow to_flow(const SessionInfo& s, uint64_t now_ms);

}  // namespace mpf::nat
