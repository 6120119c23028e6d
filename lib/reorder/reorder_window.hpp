// The receive window of one (peer, stream) (docs/multipath.md, "Receiver"): puts the frames of a
// stream back in stream_seq order, holds a frame after a gap until the gap fills or the frame's
// hold time ends, removes duplicates, and refuses frames too old to judge (replay protection).
// One window per (peer, stream) keeps a loss on one stream from stalling the flows of the
// others (a single global buffer stalls everything: MLVPN #64).
//
// It runs per packet on the worker lcore that owns the stream: no allocation after the
// constructor, no exceptions, no locks, O(1) amortised per frame. Items are opaque non-null
// pointers (mbufs in the dataplane); the window hands them to a `deliver(void* item)` callback
// (a template parameter, so it inlines). The callback must not call back into the window.
//
// Semantics. Sequence numbers compare by serial arithmetic modulo 2^32 (RFC 1982): `a` is
// after `b` when int32_t(a - b) > 0. `head` is the next sequence number expected in order.
//
//  - Unsynchronised start: a new window (or one reset() without an argument) takes the first
//    frame it sees as the head. reset(next_seq) starts synchronised at next_seq (new epoch: 0).
//  - seq == head: delivered at once, then every consecutive held frame after it, in order.
//    Verdict `deliver`.
//  - head < seq < head + capacity: held with deadline now_us + hold_us. Verdict `held`; the
//    window owns the item until it delivers it. If that seq is already held: `duplicate` (the
//    held copy stays; the caller frees the new one).
//  - seq >= head + capacity: the window advances to seq - capacity + 1 first, delivering the
//    held frames it passes in order and skipping the missing ones (each skipped run of missing
//    seqs counts one `overflow_skips`), then treats the frame as above (usually `held`, `deliver`
//    when everything before it was there).
//  - seq < head, within the history (head - seq <= history(), at least 2 x capacity):
//    already delivered -> `duplicate`; skipped by a timeout or an overflow and never seen ->
//    delivered at once, verdict `late` (frames are never dropped for being late), and
//    remembered as seen so a later copy is a `duplicate`. Seqs before the first frame of an
//    unsynchronised start count as skipped: they are delivered `late` too.
//  - seq < head beyond the history (up to 2^31 behind): `stale`, the caller drops and counts it.
//    (A frame 2^31 or more ahead is "behind" by serial arithmetic and so `stale` as well.)
//  - expire(now_us): deadlines are served in arrival order. While the earliest-arrived held
//    frame's deadline has passed (deadline <= now_us), the head advances to it: held frames
//    before it are delivered, the missing seqs are skipped (one `hold_timeouts` per skipped
//    run; they stay "never seen", so a copy arriving later is `late`), then it and every
//    consecutive held frame after it are delivered. With a constant hold_us that releases every
//    frame by its own deadline; when hold_us shrinks between pushes, a later frame with an
//    earlier deadline waits for the earlier arrivals' (at most the largest hold in use).
//    push() never releases by time: a gap that fills before expire() runs is not a loss.
//  - next_deadline_us(): the deadline expire() acts on next, UINT64_MAX when nothing is held.
//  - flush(): delivers everything held, in order, skipping gaps (new epoch, shutdown); the
//    head ends after the last held frame. reset() then forgets the history; it does not
//    deliver, so flush first: items still held at reset() are forgotten, not freed.
//
// Ownership after push(): `deliver`, `late` -> already passed to the callback; `held` -> the
// window's until it passes it to a later callback; `duplicate`, `stale` -> still the caller's.
//
// Memory: 16 bytes per slot + 4 bytes x 2 x capacity for the arrival queue + history / 4 bytes
// (capacity 1024: 24.5 KiB).
#pragma once
#include <cstdint>
#include <memory>

#include "stats/counter.hpp"

namespace mpf::reorder {

enum class Verdict : uint8_t {
  deliver,    // was the head: delivered now, with the held frames that follow it
  held,       // after a gap: the window holds it
  late,       // behind the head, skipped and never seen before: delivered now
  duplicate,  // already delivered or already held: not taken
  stale,      // behind the head by more than the history: not taken
};

const char* verdict_name(Verdict v);
// True when the window took the item (delivered it or holds it); false: the caller frees it.
constexpr bool taken(Verdict v) {
  return v == Verdict::deliver || v == Verdict::held || v == Verdict::late;
}

// Single-writer counters (as stats/counter.hpp): the owning lcore writes them with relaxed
// stores, telemetry reads them relaxed from other threads.
struct Stats {
  uint64_t delivered_in_order = 0;    // pushed as the head and delivered at once
  uint64_t delivered_after_hold = 0;  // held, then delivered (gap filled, expire, overflow, flush)
  uint64_t held_now = 0;              // frames held at this moment
  uint64_t hold_timeouts = 0;         // runs of missing seqs given up by expire()
  uint64_t overflow_skips = 0;        // runs of missing seqs given up to fit a frame too far ahead
  uint64_t skipped_seqs = 0;          // missing seqs given up (expire, overflow, flush), one each
  uint64_t late = 0;                  // delivered behind the head (skipped, then it came)
  uint64_t duplicates = 0;            // refused: that seq was delivered or is held
  uint64_t stale = 0;                 // refused: behind the head by more than the history
  uint64_t max_hold_depth = 0;        // the most frames held at once
};

class ReorderWindow {
 public:
  static constexpr uint32_t kMinCapacity = 2;
  static constexpr uint32_t kMaxCapacity = 1u << 20;
  static constexpr uint32_t kMaxHistory = 1u << 30;

  // capacity: frames the window spans ahead of the head, rounded up to a power of two within
  // [kMinCapacity, kMaxCapacity]. history: seqs behind the head remembered as seen or not,
  // rounded up to a power of two, at least 2 x capacity and 64 (0: 2 x capacity).
  explicit ReorderWindow(uint32_t capacity, uint32_t history = 0);
  ReorderWindow(ReorderWindow&&) noexcept = default;
  ReorderWindow& operator=(ReorderWindow&&) noexcept = default;

  template <class Deliver>
  [[gnu::always_inline]] Verdict push(uint32_t seq, void* item, uint64_t now_us,
                                      uint32_t hold_us, Deliver&& deliver) {
    // The common case inline: the head, nothing held.
    if (seq == head_ && held_ == 0 && synced_) [[likely]] {
      pass_delivered();
      add(stats_.delivered_in_order);
      deliver(item);
      return Verdict::deliver;
    }
    return push_slow(seq, item, now_us, hold_us, deliver);
  }

  // Releases what the passed deadlines allow; returns the number of items delivered.
  template <class Deliver>
  unsigned expire(uint64_t now_us, Deliver&& deliver);

  uint64_t next_deadline_us() const {
    return q_rd_ == q_wr_ ? UINT64_MAX : slots_[queue_[q_rd_ & q_mask_] & mask_].deadline;
  }

  // Delivers everything held, in order; returns the number of items delivered.
  template <class Deliver>
  unsigned flush(Deliver&& deliver);

  void reset(uint32_t next_seq);  // synchronised at next_seq, history forgotten
  void reset();                   // unsynchronised: the next frame sets the head

  const Stats& stats() const { return stats_; }
  uint32_t capacity() const { return capacity_; }
  uint32_t history() const { return history_; }
  bool synchronised() const { return synced_; }
  uint32_t head() const { return head_; }  // meaningful once synchronised
  uint32_t held() const { return held_; }
  uint32_t queued() const { return q_wr_ - q_rd_; }  // arrival-queue entries, < 2 x capacity

 private:
  struct Slot {
    void* item = nullptr;  // nullptr: empty
    uint64_t deadline = 0;
  };

  // The helpers of the per-frame paths are forced inline: a large caller (a worker's burst
  // loop) must not end up calling them out of line.
  [[gnu::always_inline]] static void add(uint64_t& c, uint64_t n = 1) { bump(c, n); }
  [[gnu::always_inline]] Slot& slot(uint32_t seq) { return slots_[seq & mask_]; }

  // The history bitmap holds one "skipped, not seen since" bit per seq, 2 x history() bits so
  // a word is cleared when the head enters it (a delivered frame then costs no bitmap write)
  // while the words of the last history() seqs stay intact.
  [[gnu::always_inline]] uint64_t& word(uint32_t seq) {
    return bits_[(seq >> 6) & word_mask_];
  }
  [[gnu::always_inline]] bool skipped(uint32_t seq) const {
    return (bits_[(seq >> 6) & word_mask_] >> (seq & 63)) & 1;
  }
  [[gnu::always_inline]] void mark_seen(uint32_t seq) {
    word(seq) &= ~(uint64_t(1) << (seq & 63));
  }
  // Clears the bits from the head to the end of its word.
  [[gnu::always_inline]] void enter_word() { word(head_) &= (uint64_t(1) << (head_ & 63)) - 1; }
  // The head was delivered: step past it.
  [[gnu::always_inline]] void pass_delivered() {
    if ((++head_ & 63) == 0) word(head_) = 0;
  }
  // The head is given up: remember it as not seen, step past it.
  [[gnu::always_inline]] void pass_skipped() {
    word(head_) |= uint64_t(1) << (head_ & 63);
    if ((++head_ & 63) == 0) word(head_) = 0;
  }
  void skip_to(uint32_t target);  // pass_skipped() up to target, in bulk
  // A held frame's queue entry is live while its seq is ahead of the head and its slot full
  // (only one seq ahead of the head maps to a slot).
  [[gnu::always_inline]] bool queued_live(uint32_t seq) const {
    return seq - head_ - 1 < capacity_ - 1 && slots_[seq & mask_].item != nullptr;
  }
  [[gnu::always_inline]] void set_held(uint32_t n) {
    held_ = n;
    __atomic_store_n(&stats_.held_now, uint64_t(n), __ATOMIC_RELAXED);
  }
  // Drops delivered frames from the front of the arrival queue (empties it with nothing held),
  // so its front is always the earliest-arrived frame still held.
  [[gnu::always_inline]] void tidy_queue() {
    if (held_ == 0) {
      q_rd_ = q_wr_ = 0;
      return;
    }
    while (!queued_live(queue_[q_rd_ & q_mask_])) ++q_rd_;
  }

  template <class Deliver>
  Verdict push_slow(uint32_t seq, void* item, uint64_t now_us, uint32_t hold_us,
                    Deliver& deliver);
  // Delivers the held frame at the head and the consecutive ones after it.
  template <class Deliver>
  unsigned drain(Deliver& deliver);
  // Moves the head up to `target` (not past it), delivering the held frames before it and
  // skipping the missing ones; counts each skipped run in *runs.
  template <class Deliver>
  unsigned advance_to(uint32_t target, uint64_t* runs, Deliver& deliver);

  uint32_t capacity_;
  uint32_t mask_;
  uint32_t history_;
  uint32_t word_mask_;
  uint32_t q_mask_;
  uint32_t head_ = 0;
  uint32_t held_ = 0;
  uint32_t q_rd_ = 0;  // arrival queue: seqs of held frames in push order, read/write counters
  uint32_t q_wr_ = 0;
  bool synced_ = false;
  std::unique_ptr<Slot[]> slots_;        // capacity_, indexed by seq & mask_
  std::unique_ptr<uint64_t[]> bits_;     // 2 x history_ bits, see skipped()
  std::unique_ptr<uint32_t[]> queue_;    // 2 x capacity_: never more live + stale entries
  Stats stats_;
};

// ---- implementation (templates) ----

template <class Deliver>
inline unsigned ReorderWindow::drain(Deliver& deliver) {
  unsigned n = 0;
  while (held_ != 0) {
    Slot& s = slot(head_);
    if (s.item == nullptr) break;
    void* item = s.item;
    s.item = nullptr;
    pass_delivered();
    set_held(held_ - 1);
    add(stats_.delivered_after_hold);
    ++n;
    deliver(item);
  }
  tidy_queue();
  return n;
}

template <class Deliver>
inline unsigned ReorderWindow::advance_to(uint32_t target, uint64_t* runs, Deliver& deliver) {
  unsigned n = 0;
  bool in_gap = false;
  while (head_ != target) {
    if (held_ == 0) {  // nothing more to deliver: skip the rest at once
      add(stats_.skipped_seqs, target - head_);
      if (!in_gap) add(*runs);
      skip_to(target);
      break;
    }
    Slot& s = slot(head_);
    if (s.item != nullptr) {
      void* item = s.item;
      s.item = nullptr;
      pass_delivered();
      set_held(held_ - 1);
      add(stats_.delivered_after_hold);
      ++n;
      in_gap = false;
      deliver(item);
    } else {
      pass_skipped();
      add(stats_.skipped_seqs);
      if (!in_gap) add(*runs);
      in_gap = true;
    }
  }
  return n;
}

template <class Deliver>
inline Verdict ReorderWindow::push_slow(uint32_t seq, void* item, uint64_t now_us,
                                        uint32_t hold_us, Deliver& deliver) {
  if (!synced_) {
    synced_ = true;
    head_ = seq;
    enter_word();
  }
  uint32_t ahead = seq - head_;
  if (int32_t(ahead) < 0) {  // behind the head
    if (head_ - seq > history_) {
      add(stats_.stale);
      return Verdict::stale;
    }
    if (!skipped(seq)) {
      add(stats_.duplicates);
      return Verdict::duplicate;
    }
    mark_seen(seq);
    add(stats_.late);
    deliver(item);
    return Verdict::late;
  }
  if (ahead >= capacity_) {  // too far ahead: make room
    advance_to(seq - capacity_ + 1, &stats_.overflow_skips, deliver);
    drain(deliver);
    ahead = seq - head_;
  }
  if (ahead == 0) {
    pass_delivered();
    add(stats_.delivered_in_order);
    deliver(item);
    if (held_ != 0) drain(deliver);
    return Verdict::deliver;
  }
  Slot& s = slot(seq);
  if (s.item != nullptr) {
    add(stats_.duplicates);
    return Verdict::duplicate;
  }
  s.item = item;
  s.deadline = now_us + hold_us;
  queue_[q_wr_++ & q_mask_] = seq;
  set_held(held_ + 1);
  if (held_ > stats_.max_hold_depth)
    __atomic_store_n(&stats_.max_hold_depth, uint64_t(held_), __ATOMIC_RELAXED);
  return Verdict::held;
}

template <class Deliver>
inline unsigned ReorderWindow::expire(uint64_t now_us, Deliver&& deliver) {
  unsigned n = 0;
  while (q_rd_ != q_wr_) {
    uint32_t seq = queue_[q_rd_ & q_mask_];  // live: tidy_queue() keeps the front so
    if (slot(seq).deadline > now_us) break;
    n += advance_to(seq, &stats_.hold_timeouts, deliver);
    n += drain(deliver);
  }
  return n;
}

template <class Deliver>
inline unsigned ReorderWindow::flush(Deliver&& deliver) {
  unsigned n = 0;
  while (held_ != 0) {  // ends just after the last held frame
    Slot& s = slot(head_);
    if (s.item != nullptr) {
      void* item = s.item;
      s.item = nullptr;
      pass_delivered();
      set_held(held_ - 1);
      add(stats_.delivered_after_hold);
      ++n;
      deliver(item);
    } else {
      pass_skipped();
      add(stats_.skipped_seqs);
    }
  }
  tidy_queue();
  return n;
}

}  // namespace mpf::reorder
