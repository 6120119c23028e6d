// How often the gateway probes its paths, and how much silence makes a path dead, while the
// tunnel carries traffic and while it is idle (docs/multipath.md, "Idle probing").
//
// Probes every 25 ms on every path, with their replies, cost about 7 KB/s per path: over a
// gigabyte a day on a metered 5G link for a site that sends nothing. Fast detection only
// matters while there is traffic to lose, so an idle tunnel probes slowly (still often enough
// to keep carrier NAT mappings open) and the first data frame brings the fast rate back.
#pragma once
#include <algorithm>
#include <cstdint>

namespace mpf::path {

// The longest probe interval a gateway may use (multipath.idle_probe_interval_ms) or announce:
// a larger announcement counts as this, so no probe can keep a dead path up for longer.
constexpr uint32_t kMaxProbeIntervalMs = 60000;

// The silence after which a path probed every interval_ms is dead: as many probe intervals as
// dead_after_ms is of probe_interval_ms (the configured pair), never less than dead_after_ms.
// interval_ms 0 (not given) or at most probe_interval_ms: dead_after_ms itself.
constexpr uint32_t scaled_dead_after_ms(uint32_t dead_after_ms, uint32_t probe_interval_ms,
                                        uint32_t interval_ms) {
  if (probe_interval_ms == 0 || interval_ms <= probe_interval_ms) return dead_after_ms;
  const uint64_t d = uint64_t(dead_after_ms) * interval_ms / probe_interval_ms;
  return uint32_t(std::min<uint64_t>(d, UINT32_MAX));
}

// The gateway's probe interval: fast_ms while data moved in the last idle_after_ms (start-up
// counts as data, so paths come up at the fast rate), idle_ms once it has not. idle_ms 0 or
// not above fast_ms: always fast_ms.
class ProbeCadence {
 public:
  ProbeCadence(uint32_t fast_ms, uint32_t idle_ms, uint32_t idle_after_ms, uint64_t start_ms)
      : fast_ms_(fast_ms), idle_ms_(idle_ms > fast_ms ? idle_ms : fast_ms),
        idle_after_ms_(idle_after_ms), last_activity_ms_(start_ms) {}

  // Data moved at now_ms (a data frame sent or received). True when that ends an idle period:
  // the caller should probe at once, at the fast interval.
  bool activity(uint64_t now_ms) {
    const bool was_idle = idle(now_ms);
    last_activity_ms_ = std::max(last_activity_ms_, now_ms);
    return was_idle;
  }
  bool idle(uint64_t now_ms) const {
    return idle_ms_ != fast_ms_ && now_ms >= last_activity_ms_ + idle_after_ms_;
  }
  uint32_t interval_ms(uint64_t now_ms) const { return idle(now_ms) ? idle_ms_ : fast_ms_; }

 private:
  uint32_t fast_ms_, idle_ms_, idle_after_ms_;
  uint64_t last_activity_ms_;
};

}  // namespace mpf::path
