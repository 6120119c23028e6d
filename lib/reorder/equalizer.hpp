// Delay equalisation (docs/multipath.md, "Receiver"): frames the sender marked (kFlagEqualize:
// modes that split a flow over paths) are delivered no earlier than the slowest up path
// would have brought them. A flow spread over a 4 ms and a 15 ms path otherwise shows its end
// hosts a minimum RTT of the fast path while most of its data needs the slow one: BBR sizes
// its window from that minimum (and keeps it 10 s after the fast path dies), and every
// congestion control sees RTT samples jump between the paths.
//
// Per frame, on arrival over path p:
//   d      = receiver clock - the frame's sender timestamp (an unknown clock offset included)
//   base_p = the smallest d seen on p in the last 5..10 s (the path's delay without queueing,
//            plus the same offset)
//   excess = d - base_p: how long this frame queued (in the sender's shaper, in the network)
//   spread = max over up paths of owd - owd_p (one-way delays from probe RTTs)
//   hold   = clamp(spread - excess, 0, cap)
// so a frame that queued on the fast path as long as the slow path is slower is not held at
// all (the aggregate scheduler balances paths that way under load), and on an idle fast path
// it is held by the whole spread. The offset cancels: only differences of d on one path are
// used. No allocation, no locks; one BaseDelay per (receiving lcore, peer, path).
//
// "Up paths" in the spread includes a path that went down less than kDownPathMemoryUs ago,
// at its last one-way delay: the end hosts keep the delay they had through a short outage of
// the slow path, so when it comes back nothing changes for them. Without that, a BBR flow
// that ran on the fast path alone learns its small minimum RTT, and when the slow path
// returns equalisation raises its RTT at once: BBR stays window-limited on that stale minimum
// until it expires (measured: 5G back on `asym`, the flow aggregating again only after 6 s).
#pragma once
#include <cstdint>

namespace mpf::reorder {

// Three times BBR's 10 s minimum-RTT window: long enough to bridge a radio outage, short
// enough that flows get the lower delay of the remaining paths when the path stays away.
constexpr uint64_t kDownPathMemoryUs = 30'000'000;

// Whether a path's one-way delay sets the equalisation floor: it is up, or it went down at
// down_since_us (0: never went down since it was last up, or never up) less than
// kDownPathMemoryUs before now_us.
constexpr bool sets_floor(bool up, uint64_t down_since_us, uint64_t now_us) {
  return up || (down_since_us != 0 && now_us - down_since_us < kDownPathMemoryUs);
}

class BaseDelay {
 public:
  static constexpr uint64_t kBucketUs = 5'000'000;  // the minimum covers the last 5..10 s

  // Takes the sample d (microseconds, offset included) at now_us; returns the base: the
  // smallest sample of this bucket and the previous one (this one included).
  int32_t observe(int32_t d, uint64_t now_us) {
    if (!started_ || now_us - bucket_start_ >= kBucketUs) {
      // Rotate; a gap longer than two buckets forgets everything.
      const bool adjacent = started_ && now_us - bucket_start_ < 2 * kBucketUs;
      prev_ = adjacent && have_cur_ ? cur_ : 0;
      have_prev_ = adjacent && have_cur_;
      have_cur_ = false;
      bucket_start_ = now_us;
      started_ = true;
    }
    if (!have_cur_ || d < cur_) cur_ = d;
    have_cur_ = true;
    return have_prev_ && prev_ < cur_ ? prev_ : cur_;
  }

 private:
  uint64_t bucket_start_ = 0;
  int32_t cur_ = 0;
  int32_t prev_ = 0;
  bool started_ = false;
  bool have_cur_ = false;
  bool have_prev_ = false;
};

// The hold for one frame (see the header comment); 0 when it should go at once.
constexpr uint32_t equalize_hold_us(uint32_t spread_us, int32_t d, int32_t base, uint32_t cap_us) {
  const int64_t excess = d > base ? int64_t(d) - base : 0;
  const int64_t h = int64_t(spread_us) - excess;
  if (h <= 0) return 0;
  return h > int64_t(cap_us) ? cap_us : uint32_t(h);
}

}  // namespace mpf::reorder
