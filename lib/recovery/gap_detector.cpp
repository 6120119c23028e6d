// Per-path loss detection on path_seq (gap_detector.hpp).
#include "recovery/gap_detector.hpp"

#include "stats/counter.hpp"

namespace mpf::recovery {

void GapDetector::sync(uint32_t seq) {
  bits_.fill(~uint64_t(0));  // nothing before the sync point counts as missing
  highest_ = seq;
  old_run_ = 0;
  synced_ = true;
}

// Clears the bits of [first, first + count), count < kWindow, with whole words where possible.
void GapDetector::clear_range(uint32_t first, uint32_t count) {
  while (count > 0) {
    const uint32_t bit = first % 64;
    const uint32_t n = count < 64 - bit ? count : 64 - bit;
    const uint64_t m = n == 64 ? ~uint64_t(0) : ((uint64_t(1) << n) - 1) << bit;
    bits_[(first / 64) % kWords] &= ~m;
    first += n;
    count -= n;
  }
}

GapResult GapDetector::observe(uint32_t seq) {
  bump(stats_.received);
  GapResult r;
  if (!synced_) {
    sync(seq);
    return r;  // in_order
  }
  const uint32_t ahead = seq - highest_;  // modulo 2^32
  if (ahead != 0 && ahead < 0x80000000u) {
    old_run_ = 0;
    if (ahead > kMaxJump) {
      sync(seq);
      bump(stats_.resyncs);
      r.kind = GapResult::Kind::resync;
      return r;
    }
    if (ahead > 1) {
      r.kind = GapResult::Kind::gap;
      r.first_missing = highest_ + 1;
      r.count = ahead - 1;
      clear_range(r.first_missing, r.count);
      bump(stats_.gaps);
      bump(stats_.missing_total, r.count);
    }
    mark(seq);
    highest_ = seq;
    return r;
  }
  const uint32_t behind = highest_ - seq;  // 0 = the highest itself again
  if (behind < kWindow) {
    old_run_ = 0;
    if (!seen(seq)) {
      mark(seq);
      bump(stats_.late_fills);
      r.kind = GapResult::Kind::late_fill;
      return r;
    }
  } else if (++old_run_ >= kOldRunResync) {
    sync(seq);
    bump(stats_.resyncs);
    r.kind = GapResult::Kind::resync;
    return r;
  }
  bump(stats_.duplicates);
  r.kind = GapResult::Kind::duplicate_or_old;
  return r;
}

}  // namespace mpf::recovery
