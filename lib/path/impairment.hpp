// A path impairment stage (docs/multipath.md, "Impairment"): what a radio link does to the
// frames of one direction of one path, emulated inside the appliance for labs without a wire
// namespace and for failure injection from mpfctl. Like VPP's nsim: a delay line ordered by
// release time, random loss, and optionally a bottleneck rate with a tail-drop queue.
//
// The model, per frame of `bytes` arriving at t:
//   loss:     dropped with probability loss_ppm / 1e6 (1e6: the path is cut);
//   rate:     it starts serialising when the link is free, at max(t, link_free); a frame that
//             would wait longer than queue_us for that is dropped (the bottleneck's queue is
//             full); link_free moves on by bytes / rate;
//   delay:    it is released delay_us + a uniform 0..jitter_us after its serialisation ends,
//             but never before the frame ahead of it (jitter does not reorder, as on a radio
//             link whose delay varies).
//
// Per packet: no allocation (the line is sized in the constructor), no locks, no syscalls.
// Single owner (the lcore that sends or receives the frames). Items are opaque non-null
// pointers (mbufs in the dataplane).
#pragma once
#include <cstdint>

#include "reorder/delay_line.hpp"

namespace mpf::path {

struct ImpairParams {
  uint32_t delay_us = 0;   // added one-way delay
  uint32_t jitter_us = 0;  // plus uniformly 0..jitter_us
  uint32_t loss_ppm = 0;   // random loss, parts per million; 1'000'000 drops everything
  uint32_t queue_us = 0;   // with rate_Bps: the bottleneck queue, as waiting time
  uint64_t rate_Bps = 0;   // bottleneck rate in bytes/s; 0 = none
  bool active() const { return delay_us || jitter_us || loss_ppm || rate_Bps; }
  bool operator==(const ImpairParams&) const = default;
};

// Limits the control plane and the configuration enforce.
constexpr uint32_t kImpairMaxDelayUs = 10'000'000;  // 10 s: delay, jitter and queue each
constexpr uint32_t kImpairDefaultQueueUs = 50'000;  // a radio bottleneck's queue (the test bed's)

enum class ImpairVerdict : uint8_t {
  held,        // in the line; release() hands it out when due
  lost,        // random loss: the caller frees it
  queue_full,  // the bottleneck queue is over queue_us: the caller frees it
  line_full,   // the line holds `capacity` frames already: the caller frees it
};

class ImpairStage {
 public:
  // capacity: frames it can hold at once (rounded up to a power of two).
  explicit ImpairStage(uint32_t capacity) : line_(capacity) {}

  // Frames admitted from now on follow p; those held keep their release times.
  void set(const ImpairParams& p) { p_ = p; }
  const ImpairParams& params() const { return p_; }
  // Whether frames must go through the stage: it impairs, or it still holds frames (a frame
  // that bypassed them would overtake them).
  bool in_use() const { return p_.active() || !line_.empty(); }
  bool empty() const { return line_.empty(); }
  uint32_t held() const { return line_.size(); }
  uint32_t capacity() const { return line_.capacity(); }

  // Admits item (a frame of `bytes`) at now_ns; rnd: 64 random bits (the low half decides
  // loss, the high half the jitter). On anything but `held` the item stays the caller's.
  ImpairVerdict admit(void* item, uint32_t bytes, uint64_t now_ns, uint64_t rnd);

  // Hands out, in order, every frame whose release time has come; returns how many.
  template <class Out>
  unsigned release(uint64_t now_ns, Out&& out) {
    return line_.release(uint32_t(now_ns / 1000), out);
  }
  // Removes the front frame whatever its time (shutdown); nullptr when empty.
  void* pop() { return line_.pop(); }

 private:
  ImpairParams p_;
  reorder::DelayLine line_;
  uint64_t link_free_ns_ = 0;     // when the emulated bottleneck finishes what it has
  uint64_t last_release_ns_ = 0;  // of the newest frame in the line
};

}  // namespace mpf::path
