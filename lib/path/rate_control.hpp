// Per-path rate control (docs/multipath.md, "Rate control"): the rate one appliance's shaper
// sends at on one path, so that the queue builds in mpf (where the fast lane, the AQM and the
// scheduler act on it) and not in the modem or the radio network, while the link stays busy.
//
// `max_rate` is the ceiling: the controller never sends faster. Below it, the rate follows two
// figures the far end reports in probes and replies (docs/protocol.md 3.4): the one-way
// queueing delay q its frames meet on the path, and what it receives (delivered, D). With the
// error e = (target - q) / target, clamped to [-kMaxDrain, 1]:
//   rate = D * (1 + k * e),  k = kUp when e > 0, else kDown.
// While a queue stands in the network, D is the path's capacity; so the rate sits just above it
// while the queue is below the target (it grows as D follows) and just below it (by up to 10%
// for a queue of 6 targets and more) while the queue is above. In equilibrium the network holds
// about `target_us` of our frames: the bottleneck never idles between our packets, and the RTT
// grows by that much only.
// - Below the target the rate only grows: a path is slowed by its queue, never by a lull.
// - Above it, only a queue we feed slows the path: we sent at least 1/8 of the rate and half of
//   what arrived since the last sample. When a transfer ends, its queue drains and what
//   arrives falls towards nothing while the samples still show the queue: that must not
//   leave the path at its floor for the next transfer.
// - After a decrease from D the next one waits one loop time (an RTT and a probe interval):
//   until then the samples still show the old rate. A queue we did not cause (a delayed probe,
//   cross traffic) does not drain when we slow down, so this bounds how fast it can pull the
//   rate down: 10% per loop at most.
// - Never below a quarter of the most that arrived in the last 10 s. A base delay that grows
//   (a route change, a handover to a farther cell) reads as queueing until the far end's 10 s
//   minimum forgets the old one, and does not drain either: it may cut the rate to that
//   bound, not starve the path. A capacity that fell by more moves the bound down as the
//   window passes.
// - A path we do not fill (we sent less than 80% of the rate since the last sample) and that
//   has no queue says nothing about its capacity: its rate stays. With a queue (cross traffic,
//   or the samples still show when we filled it) D is only our own load, so the rate shrinks
//   from where it is, by e * kGainPerS per second; so it does with D unknown.
//
// Owned by the main lcore; fixed size, no allocation. Rates in bytes per second.
#pragma once
#include <cstdint>

#include "path/windowed_min.hpp"

namespace mpf::path {

struct RateParams {
  uint64_t ceiling_Bps = 0;       // max_rate / 8; must be > 0
  uint32_t target_us = 5000;      // multipath.queue_target_ms
  uint32_t interval_us = 25000;   // the expected time between samples (the probe interval)
};

class RateController {
 public:
  static constexpr double kUp = 0.05, kDown = 0.02, kMaxDrain = 5;
  static constexpr double kGainPerS = 0.5;
  static constexpr double kBusyShare = 0.8;
  static constexpr unsigned kQueueSamples = 3;
  static constexpr double kFeedShare = 0.125;
  static constexpr double kPeakShare = 0.25;

  // Starts at the ceiling. Throws std::invalid_argument on a zero ceiling.
  explicit RateController(const RateParams& p);

  // One sample: queue_us as the far end measured it; delivered_Bps what the far end receives on
  // the path (0 = unknown); sent_Bps what we sent on it since the last sample; loop_us how long
  // a change of our rate takes to show in the samples (about an RTT and a probe interval).
  // Returns the rate.
  uint64_t update(uint32_t queue_us, uint64_t delivered_Bps, uint64_t sent_Bps, uint32_t loop_us,
                  uint64_t now_us);

  // The operator changed max_rate: the rate is clamped to it (0 is ignored).
  void set_ceiling(uint64_t ceiling_Bps);

  uint64_t rate_Bps() const { return uint64_t(rate_ + 0.5); }
  uint64_t ceiling_Bps() const { return ceiling_; }
  // The lowest rate: 1/64 of the ceiling, 8000 B/s (64 kbit/s) at least.
  uint64_t floor_Bps() const;
  // Samples whose queue was above twice the target (the path was draining).
  uint64_t drains() const { return drains_; }

 private:
  void clamp();

  RateParams p_;
  uint64_t ceiling_;
  double rate_;
  uint64_t last_us_ = 0;
  uint64_t hold_until_us_ = 0;
  bool started_ = false;
  uint64_t drains_ = 0;
  WindowedMin<int64_t> neg_peak_{10'000'000};  // -(delivered): its minimum is the peak
  uint32_t recent_q_[kQueueSamples] = {};
  uint64_t n_samples_ = 0;
};

}  // namespace mpf::path
