// The delivery side of delay equalisation (docs/multipath.md, "Receiver"): a FIFO of frames
// that leave the reorder window in order but may not be delivered before their release time.
// Frames keep their order: one that is due waits behind an earlier one that is not (a stream
// never reorders), so release times need not be monotonic.
//
// Per packet on the lcore that owns the window: no allocation after the constructor, no locks.
// Items are opaque non-null pointers (mbufs in the dataplane). Times are 32-bit microsecond
// clocks compared by serial arithmetic (wraps every ~71 minutes; holds are milliseconds).
#pragma once
#include <cstdint>
#include <memory>

namespace mpf::reorder {

// True when `release_us` has come at `now_us` (32-bit clocks, serial arithmetic).
constexpr bool due(uint32_t release_us, uint32_t now_us) { return int32_t(release_us - now_us) <= 0; }

class DelayLine {
 public:
  // capacity: frames it can hold, rounded up to a power of two, at least 2.
  explicit DelayLine(uint32_t capacity) {
    uint32_t c = 2;
    while (c < capacity && c < (1u << 24)) c <<= 1;
    mask_ = c - 1;
    slots_ = std::make_unique<Slot[]>(c);
  }

  bool empty() const { return rd_ == wr_; }
  bool full() const { return wr_ - rd_ > mask_; }
  uint32_t size() const { return wr_ - rd_; }
  uint32_t capacity() const { return mask_ + 1; }
  // The release time of the frame at the front; meaningful when !empty().
  uint32_t front_release() const { return slots_[rd_ & mask_].release_us; }

  // Appends; false (nothing done) when full.
  bool push(void* item, uint32_t release_us) {
    if (full()) return false;
    slots_[wr_++ & mask_] = Slot{item, release_us};
    return true;
  }
  // Removes and returns the front item (nullptr when empty).
  void* pop() {
    if (empty()) return nullptr;
    return slots_[rd_++ & mask_].item;
  }
  // Delivers, in order, every front frame whose release time has come; returns how many.
  template <class Deliver>
  unsigned release(uint32_t now_us, Deliver&& deliver) {
    unsigned n = 0;
    while (!empty() && due(front_release(), now_us)) {
      deliver(pop());
      ++n;
    }
    return n;
  }

 private:
  struct Slot {
    void* item = nullptr;
    uint32_t release_us = 0;
  };
  uint32_t mask_ = 0;
  uint32_t rd_ = 0;
  uint32_t wr_ = 0;
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace mpf::reorder
