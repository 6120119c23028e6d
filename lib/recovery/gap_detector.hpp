// Loss detection on one path's path_seq sequence (docs/multipath.md, "Streams and sequence
// numbers"): one GapDetector per (peer, sender worker, path), owned by the RX worker of that path.
//
// path_seq counts every frame a sender worker puts on a path, so a hole in it is loss on that
// path (or path-level reordering, which the late fill reveals). Serial number arithmetic
// (RFC 1982), so the sequence wraps at 2^32 freely.
//
//   - The first frame (and the first after reset()) synchronises: in_order.
//   - highest + 1: in_order.
//   - highest + d, 2 <= d <= kMaxJump: gap {first_missing = highest + 1, count = d - 1}.
//   - more than kMaxJump ahead: resync (an outage or a restart, not a loss to repair): the
//     detector restarts from this frame and reports nothing missing.
//   - behind the highest: late_fill when it is a path_seq this detector reported missing and
//     has not seen since (the frame was reordered, not lost); duplicate_or_old otherwise
//     (a second copy, or older than the kWindow path_seqs remembered, or from before the sync).
//     kOldRunResync frames in a row more than kWindow behind resynchronise to the last of them
//     (the sender restarted with the same epoch: its numbers went back to 0).
//
// Which path_seqs were reported missing is kept exactly, as a bitmap over the last kWindow
// path_seqs (256 bytes), rather than as a list of ranges: a late fill is recognised however the
// gaps fall, and a second copy of a late frame is a duplicate, not a second fill.
//
// observe() is allocation-free and O(1) except for a gap, which clears count bits. The counters
// are single-writer (stats/counter.hpp): other threads may read them with read_counter().
#pragma once
#include <array>
#include <cstdint>

namespace mpf::recovery {

struct GapStats {
  uint64_t received = 0;       // every observe() call
  uint64_t gaps = 0;           // gap results
  uint64_t missing_total = 0;  // sum of their counts
  uint64_t late_fills = 0;     // reported missing, then arrived (missing_total - late_fills = lost)
  uint64_t resyncs = 0;        // jumps ahead beyond kMaxJump, and runs of far-old frames
  uint64_t duplicates = 0;     // duplicate_or_old results
};

struct GapResult {
  enum class Kind : uint8_t {
    in_order,          // the next one, or the first one
    gap,               // first_missing, count: path_seqs skipped just now
    late_fill,         // a path_seq reported missing arrived after all
    duplicate_or_old,  // seen before, or too old to tell
    resync,            // the detector restarted at this path_seq; nothing is reported missing
  };
  Kind kind = Kind::in_order;
  uint32_t first_missing = 0;  // gap only
  uint32_t count = 0;          // gap only: 1..kMaxJump - 1
};

class GapDetector {
 public:
  static constexpr uint32_t kMaxJump = 1024;   // further ahead than this is a resync
  static constexpr uint32_t kWindow = 2048;    // path_seqs behind the highest remembered
  static constexpr uint32_t kOldRunResync = 16;
  static_assert(kWindow > kMaxJump && (kWindow & (kWindow - 1)) == 0);

  GapResult observe(uint32_t path_seq);

  // Forget everything (the peer's epoch changed): the next frame synchronises. Keeps the stats.
  void reset() { synced_ = false; old_run_ = 0; }

  bool synced() const { return synced_; }
  uint32_t highest() const { return highest_; }  // meaningful when synced()
  const GapStats& stats() const { return stats_; }

 private:
  static constexpr uint32_t kWords = kWindow / 64;
  bool seen(uint32_t seq) const { return bits_[(seq / 64) % kWords] >> (seq % 64) & 1; }
  void mark(uint32_t seq) { bits_[(seq / 64) % kWords] |= uint64_t(1) << (seq % 64); }
  void clear_range(uint32_t first, uint32_t count);
  void sync(uint32_t seq);

  // Bit (seq % kWindow) is 0 exactly when seq, within kWindow behind highest_, was reported
  // missing and has not arrived; everything else (received, or before the sync) is 1.
  std::array<uint64_t, kWords> bits_{};
  uint32_t highest_ = 0;
  uint32_t old_run_ = 0;  // consecutive frames more than kWindow behind
  bool synced_ = false;
  GapStats stats_;
};

}  // namespace mpf::recovery
