// How long a reorder window holds a frame after a gap (docs/multipath.md, "Receiver"): the
// spread of the one-way delays between the fastest and the slowest path that is up, plus a
// jitter margin of 2 x the largest rttvar, within [min_us, cap_us]:
//
//   clamp(max_owd - min_owd + 2 * max_rttvar [+ recovery], min_us, cap_us)
//
// With loss recovery on (the sender resends frames the receiver reports missing), a gap that
// is a loss fills one recovery round after it is seen: the report crosses the fastest path,
// the resend comes back over it (fast lane, no queue). Holding that much longer, recovery =
// 2 * min_owd + kRecoverySlackUs, turns a lost frame into a late-but-ordered one instead of a
// gap the inner TCP reads as congestion. It costs only when a gap never fills.
//
// With one path up that is 2 x its rttvar (at least min_us). With none up it is cap_us: nothing
// is measured, so the window waits as long as the configuration allows. When min_us > cap_us
// the cap wins. Only differences of the one-way delays matter, so any common clock offset in
// them cancels. Usage: clear(), add_path() for each up path, hold_us().
#pragma once
#include <cstdint>

namespace mpf::reorder {

class HoldTime {
 public:
  // Reporting a gap waits for the end of the receiver's pass, the resend for the sender's.
  static constexpr uint32_t kRecoverySlackUs = 1000;

  constexpr HoldTime(uint32_t min_us, uint32_t cap_us, bool recovery = false)
      : min_us_(min_us), cap_us_(cap_us), recovery_(recovery) {}

  constexpr void clear() {
    paths_ = 0;
    min_owd_ = max_owd_ = max_rttvar_ = 0;
  }
  // One path that is up: its smoothed one-way delay and its rttvar, in microseconds.
  constexpr void add_path(uint32_t owd_us, uint32_t rttvar_us) {
    if (paths_ == 0 || owd_us < min_owd_) min_owd_ = owd_us;
    if (paths_ == 0 || owd_us > max_owd_) max_owd_ = owd_us;
    if (paths_ == 0 || rttvar_us > max_rttvar_) max_rttvar_ = rttvar_us;
    ++paths_;
  }
  constexpr uint32_t hold_us() const {
    if (paths_ == 0) return cap_us_;
    const uint64_t extra = recovery_ ? 2 * uint64_t(min_owd_) + kRecoverySlackUs : 0;
    return compute(max_owd_, min_owd_, max_rttvar_, min_us_, cap_us_, extra);
  }
  constexpr unsigned paths() const { return paths_; }

  static constexpr uint32_t compute(uint32_t max_owd_us, uint32_t min_owd_us,
                                    uint32_t max_rttvar_us, uint32_t min_us, uint32_t cap_us,
                                    uint64_t extra_us = 0) {
    uint64_t spread = max_owd_us > min_owd_us ? uint64_t(max_owd_us - min_owd_us) : 0;
    uint64_t h = spread + 2 * uint64_t(max_rttvar_us) + extra_us;
    if (h < min_us) h = min_us;
    if (h > cap_us) h = cap_us;
    return uint32_t(h);
  }

 private:
  uint32_t min_us_;
  uint32_t cap_us_;
  bool recovery_ = false;
  unsigned paths_ = 0;
  uint32_t min_owd_ = 0;
  uint32_t max_owd_ = 0;
  uint32_t max_rttvar_ = 0;
};

}  // namespace mpf::reorder
