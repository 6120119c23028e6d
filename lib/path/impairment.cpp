#include "path/impairment.hpp"

#include <algorithm>

namespace mpf::path {

ImpairVerdict ImpairStage::admit(void* item, uint32_t bytes, uint64_t now_ns, uint64_t rnd) {
  // Loss first: a lost frame takes no room in the bottleneck (it was lost on the radio).
  if (p_.loss_ppm && uint64_t(uint32_t(rnd)) * 1'000'000 < uint64_t(p_.loss_ppm) << 32)
    return ImpairVerdict::lost;
  if (line_.full()) return ImpairVerdict::line_full;
  uint64_t leave_ns = now_ns;
  if (p_.rate_Bps) {
    const uint64_t start = std::max(now_ns, link_free_ns_);
    if (start - now_ns > uint64_t(p_.queue_us) * 1000) return ImpairVerdict::queue_full;
    leave_ns = start + uint64_t(bytes) * 1'000'000'000 / p_.rate_Bps;
    link_free_ns_ = leave_ns;
  }
  uint64_t release = leave_ns + uint64_t(p_.delay_us) * 1000;
  if (p_.jitter_us) release += (uint64_t(uint32_t(rnd >> 32)) * p_.jitter_us >> 32) * 1000;
  // Never ahead of the frame before it: the line is a FIFO and a stream must not reorder.
  if (!line_.empty()) release = std::max(release, last_release_ns_);
  last_release_ns_ = release;
  line_.push(item, uint32_t(release / 1000));
  return ImpairVerdict::held;
}

}  // namespace mpf::path
