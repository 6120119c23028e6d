// One-way queueing delay of the frames one end sends on a path, measured where they arrive
// (docs/protocol.md 3.4): d = arrival clock - sender's 32-bit timestamp. The two clocks have an
// unknown offset, the same in every sample, so d minus its minimum over the last window is the
// delay this frame met above the fastest one: queueing. Clock drift between the appliances
// (tens of ppm) moves the minimum by well under a millisecond over a 10 s window.
//
// d is kept unwrapped (summed differences of 32-bit values), so the timestamps' wrap and any
// offset are harmless. Fixed size, no allocation.
#pragma once
#include <cstdint>

#include "path/windowed_min.hpp"

namespace mpf::path {

class OneWayQueue {
 public:
  explicit OneWayQueue(uint64_t window_us = 10'000'000) : min_(window_us) {}

  // A frame stamped sender_ts_us (the sender's clock, low 32 bits) arrived at now_us (ours).
  // Returns its queueing delay in microseconds (0 for the first sample).
  uint32_t sample(uint32_t sender_ts_us, uint64_t now_us) {
    const uint32_t d = uint32_t(now_us) - sender_ts_us;
    if (!started_) {
      started_ = true;
      acc_ = 0;
    } else {
      acc_ += int32_t(d - last_d_);
    }
    last_d_ = d;
    const int64_t m = min_.add(acc_, now_us);
    const int64_t q = acc_ - m;
    last_ = q > int64_t(UINT32_MAX) ? UINT32_MAX : uint32_t(q);
    return last_;
  }
  uint32_t last_us() const { return last_; }

 private:
  WindowedMin<int64_t> min_;
  bool started_ = false;
  uint32_t last_d_ = 0;
  int64_t acc_ = 0;
  uint32_t last_ = 0;
};

}  // namespace mpf::path
