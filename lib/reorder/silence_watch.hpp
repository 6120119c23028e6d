// Notices a path that stops bringing data frames: the receiver's first sign that it died.
//
// A frame held after a gap waits its hold time (hold_time.hpp): enough for reordering and one
// loss-recovery round, not for the sender to notice a dead path and resend what it carried
// (its progress-report stall, docs/multipath.md "Failover"). Giving up those gaps hands the
// inner TCP a window of holes that the failover resends fill a few tens of ms later, as
// "late" frames: the TCP sender retransmits the window and may time out (measured on `asym`
// when 5G died: ~400 late frames, ~700 TCP retransmissions, RTOs in 2 of 4 runs). So while a
// path that was bringing data is silent far beyond its usual gap between frames, hold
// timeouts wait for the time the peer's failover takes to start, and then for as long as the
// window's gaps keep filling (its head moves): a round trip of a fast path resent over a slow
// one takes a while (5G's 250 frames over a 20 Mbit/s WiFi: 150 ms), and the resends come
// oldest first, so the receiver delivers in order all along. A gap that stops filling (its
// frame was lost for good) is given up as before once the head stands still.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>

namespace mpf::reorder {

template <unsigned kPaths>
class SilenceWatch {
 public:
  // A path silent this long, or kGaps x its usual gap if longer, is taken as possibly dead.
  static constexpr uint64_t kMinSilenceUs = 3000;
  static constexpr uint64_t kGaps = 8;
  // Gaps longer than this count as this long (a path back after a pause is not "sparse").
  static constexpr uint64_t kGapCapUs = 20'000;
  // A window's gaps "keep filling" while its head moved within this long.
  static constexpr uint64_t kFillingUs = 10'000;

  // A data frame arrived on `path` (< kPaths) at now_us (frames of one burst share a time).
  void note(unsigned path, uint64_t now_us) {
    Path& p = paths_[path];
    if (p.last_us) {
      const uint64_t gap = std::min(now_us - p.last_us, kGapCapUs);
      p.gap_us = uint32_t((7 * uint64_t(p.gap_us) + gap) / 8);
    }
    p.last_us = now_us;
    p.waited = false;
  }

  // When the silence on `path` began to look like a death (UINT64_MAX: never had data).
  uint64_t suspect_since_us(unsigned path) const {
    const Path& p = paths_[path];
    if (!p.last_us) return UINT64_MAX;
    return p.last_us + std::max(kMinSilenceUs, kGaps * uint64_t(p.gap_us));
  }

  // True when some path of the first n is suspect (silent) and either in the first
  // wait_us(path) of its silence (0: nothing to wait for), or within cap_us of it while the
  // window's head moved since the silence began and within kFillingUs (head_moved_us: when
  // the caller saw it move): hold timeouts should wait now. *first_wait is set when that
  // silence had not made anyone wait before (one count per silence).
  template <typename WaitUs>
  bool waiting(unsigned n, uint64_t now_us, WaitUs&& wait_us, uint64_t cap_us,
               uint64_t head_moved_us, bool* first_wait) {
    for (unsigned k = 0; k < n && k < kPaths; k++) {
      const uint64_t since = suspect_since_us(k);
      if (now_us <= since) continue;
      const uint64_t wait = wait_us(k);
      if (wait == 0) continue;
      const uint64_t silent = now_us - since;
      const bool filling = head_moved_us > since && now_us - head_moved_us <= kFillingUs;
      if (silent > wait && !(filling && silent <= cap_us)) continue;
      if (!paths_[k].waited) *first_wait = true;
      paths_[k].waited = true;
      return true;
    }
    return false;
  }

  uint32_t gap_us(unsigned path) const { return paths_[path].gap_us; }

 private:
  struct Path {
    uint64_t last_us = 0;
    uint32_t gap_us = 0;   // smoothed gap between frames (1/8 gain)
    bool waited = false;   // this silence already made hold timeouts wait
  };
  std::array<Path, kPaths> paths_{};
};

}  // namespace mpf::reorder
