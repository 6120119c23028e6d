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
// - A decrease starts from D, but from no less than 90% of the most that arrived over the last
//   100 ms: a standing queue keeps the path busy, so a sample far lower is a lull in the
//   reports (a loss burst, a late probe), and cutting to it left the rate at its floor (seen
//   on the test bed when a wire's delay program restarted mid-transfer).
// - After a decrease from D the next one waits one loop time (an RTT and a probe interval):
//   until then the samples still show the old rate. A queue we did not cause (a delayed probe,
//   cross traffic) does not drain when we slow down, so this bounds how fast it can pull the
//   rate down: 10% per loop at most.
// - A queue we feed keeps the path busy and drains when we send below what it carries: by
//   (1 - rate / D) of the time passed, D taken when the queue stood. One that does not (a base delay that grew: a route change, a handover to a farther
//   cell; a busy host that handles probes late; cross traffic holding the queue) is not ours,
//   and slowing down further only starves the path. So while the queue stands, the controller
//   adds up the drain its rate should have caused; once that is 4 targets or more and the
//   queue has gone down by less than a quarter of it (counted from when the first decrease
//   shows in the samples, one loop after it), what stands becomes an offset: the queue
//   is measured above it from then on (from its highest point, the samples lag). The offset
//   follows the queue down at once (it is never more than the smallest recent sample), fades
//   with a time constant of 10 s (so a queue we build on top of it is found again; a lasting
//   foreign one is judged again), and the far end's 10 s minimum absorbs a lasting one.
// - A path we hardly send on (less than 1/8 of the rate) holds no queue of ours: a queue of
//   more than the target above the offset that shows there is the path's base delay, which
//   grew (a route change, a handover to a farther cell) while the far end's minimum still
//   remembers the old one. It becomes the offset at once; otherwise the next transfer would
//   be cut to what it carries in its first round trips and climb back for seconds.
// - Never below a quarter of the most that arrived in the last 10 s: a bound for whatever the
//   rule above misses. A capacity that fell by more moves the bound down as the window passes.
// - A path we do not fill (we sent less than 80% of the rate since the last sample) and that
//   has no queue says nothing about its capacity: its rate stays. With a queue (cross traffic,
//   or the samples still show when we filled it) D is only our own load, so the rate shrinks
//   from where it is, by e * kGainPerS per second; so it does with D unknown.
// - Capacity discovery (start_Bps set: max_rate "auto"): the rule above grows a rate by about
//   a quarter per second, too slow to find a link from nothing. So the controller starts in a
//   startup phase: a path we fill with less than half the target queued gets kStartupGain x
//   what arrives (TCP's slow start, BBR's startup: the rate doubles per loop time while the
//   link has room). Only a queue of the target that we build ends it (half the target would
//   be a radio link's jitter: the test bed's WiFi, 4 +-2 ms one way, shows 2-4 ms): we fill our
//   rate, or send kExcess x what arrives while that is at least kNearShare of our rate (the
//   inner TCP fills the link while our rate is above it). Filling our rate while what arrives
//   is below kNearShare of it, the queue must stand a loop time first (that figure may lag:
//   the path was hardly used a round trip ago). A queue that shows while we send what arrives
//   ends nothing (jitter, a late probe, a trickle of ACKs: what arrives then is our load). The
//   samples lag by a loop, so by the end up to a loop's worth of excess is queued: on leaving
//   startup the rate drops to kDrainShare of what arrives (the link's rate, as a queue stands)
//   until that queue is gone, then the rule above takes over. The floor is 8000 B/s. Later,
//   kProbeAfter samples in a row that we fill with the queue under the target start a probe:
//   the same phase with kProbeGain (a quarter more than arrives: it overshoots the link by
//   that at most) and a drain to kProbeDrainShare. A path that left startup early (a small
//   load and a jittery probe) or whose link got faster so climbs by a quarter per loop time.
//
// Owned by the main lcore; fixed size, no allocation. Rates in bytes per second.
#pragma once
#include <cstdint>

#include "path/windowed_min.hpp"

namespace mpf::path {

struct RateParams {
  uint64_t ceiling_Bps = 0;       // max_rate / 8; must be > 0
  // 0: start at the ceiling (an operator's max_rate, the link's nominal rate). Otherwise the
  // capacity is unknown (max_rate "auto": the ceiling is only a bound) and the controller
  // starts here, in a startup phase: a path we fill doubles its rate from what arrives, per
  // sample, until we build a queue (see above).
  uint64_t start_Bps = 0;
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
  static constexpr double kOffsetFadeUs = 10'000'000;
  static constexpr uint64_t kCarriedUs = 100'000;
  static constexpr double kLullShare = 0.9;
  // A standing queue is judged once it should have drained this many targets (at most ~2 of
  // them may not show yet: the samples lag by up to a loop).
  static constexpr double kJudgeTargets = 4;
  static constexpr double kStartupGain = 2;
  static constexpr double kDrainShare = 0.75;
  static constexpr double kExcess = 1.1;  // sending this much more than arrives builds a queue
  static constexpr double kNearShare = 0.5;  // what arrives, of our rate, for a queue to be ours
  // Probing again after startup: kProbeAfter samples in a row filled, the queue under the
  // target.
  static constexpr unsigned kProbeAfter = 12;
  static constexpr double kProbeGain = 1.25, kProbeDrainShare = 0.9;

  // Starts at the ceiling, or at start_Bps (at most the ceiling) in startup. Throws
  // std::invalid_argument on a zero ceiling.
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
  // The lowest rate: 1/64 of the ceiling, 8000 B/s (64 kbit/s) at least; 8000 B/s when
  // discovering (start_Bps set).
  uint64_t floor_Bps() const;
  // Still in the startup phase (capacity discovery, no queue seen yet), or probing again.
  bool starting() const { return startup_; }
  // Times a discovering path went back to probing (kProbeAfter samples filled, no queue).
  uint64_t probes() const { return probes_; }
  // What arrived when the last startup or probe ended: the link's rate then (0: none yet).
  uint64_t found_Bps() const { return found_Bps_; }
  // Samples whose queue was above twice the target (the path was draining).
  uint64_t drains() const { return drains_; }
  // The standing delay judged not ours (see above), microseconds; 0 = none.
  uint32_t offset_us() const { return offset_us_; }
  // Times a standing queue was judged not ours.
  uint64_t foreign_queues() const { return foreign_; }

 private:
  void clamp();

  RateParams p_;
  uint64_t ceiling_;
  double rate_;
  uint64_t last_us_ = 0;
  uint64_t hold_until_us_ = 0;
  bool started_ = false;
  bool startup_ = false;
  bool probing_ = false;           // the startup is a probe again (kProbeGain)
  unsigned room_samples_ = 0;
  uint64_t probes_ = 0;
  uint64_t found_Bps_ = 0;
  uint64_t suspect_since_us_ = 0;  // startup: a queue with what arrives far below our rate
  uint64_t drains_ = 0;
  WindowedMin<int64_t> neg_peak_{10'000'000};  // -(delivered): its minimum is the peak
  WindowedMin<int64_t> neg_carried_{kCarriedUs};  // the same over the last kCarriedUs
  uint32_t recent_q_[kQueueSamples] = {};
  uint64_t n_samples_ = 0;
  // A standing queue episode: the queue (above the offset) when it began and the drain our
  // rate should have caused since, in microseconds of queue.
  uint64_t watch_from_us_ = 0;  // after a decrease: when it shows in the samples
  bool episode_ = false;
  uint32_t episode_q0_us_ = 0;
  double episode_D_ = 0;  // what the path carried when the episode began
  double expected_drain_us_ = 0;
  uint32_t offset_us_ = 0;
  uint64_t foreign_ = 0;
};

}  // namespace mpf::path
