// Per-packet path choice (docs/multipath.md, "Scheduling"). One Scheduler per sending worker,
// used by that worker only; pick() neither allocates nor locks, and costs one pass over at most
// kMaxPaths views (aggregate: one 64-bit division per up path with a known rate; ~15 ns of CPU
// time for 4 paths measured on a shared EPYC vCPU).
#pragma once
#include <array>
#include <cstdint>

#include "sched/policy.hpp"

namespace mpf::sched {

// What the worker knows about one path when it sends a packet: the main lcore's published
// health plus the worker's own shaper backlog.
struct PathView {
  bool up = false;
  uint32_t owd_us = 0;        // one-way delay estimate: srtt / 2
  // Rate at which `queued_bytes` drains, i.e. this worker's shaper rate on the path (the path
  // rate divided among the workers). 0 = unknown: treated as infinitely fast.
  uint64_t rate_Bps = 0;
  uint64_t queued_bytes = 0;  // the worker's own shaper backlog on this path
  uint16_t weight = 1;        // `weighted` mode; 0 = not used by that mode
};

class Scheduler {
 public:
  // n_paths 1..kMaxPaths; throws std::invalid_argument otherwise.
  explicit Scheduler(unsigned n_paths);

  // Bitmask of the paths to send this packet of `bytes` on (bit i = path i; several bits only
  // for `redundant`); 0 when no path is up. `views` has n_paths() entries.
  //  aggregate      the up path with the smallest expected_delivery_us(); ties -> lower index.
  //                 equalized (the receiver holds the frame until the slowest up path would
  //                 have delivered it, minus the queueing it saw: reorder/equalizer.hpp): every
  //                 path then delivers at that floor plus its drain time, so the cost is the
  //                 drain time (queued + bytes) / rate alone (rate 0: 0), ties -> lower index.
  //                 The traffic spreads by rate at any load, instead of piling on the fastest
  //                 path until its queue makes up the delay difference: the slow path is in
  //                 use from a flow's first packets (the delay its end hosts measure is the one
  //                 they will live with) and at once when it comes back
  //  weighted       smooth weighted round robin over the up paths with weight > 0 (restarted
  //                 whenever that set changes); none -> aggregate
  //  active_backup  the first up path by index
  //  lowest_rtt     the up path with the smallest owd_us; ties -> lower index
  //  redundant      every up path
  //  pinned         action.path when it is up, else aggregate over the up paths
  uint32_t pick(const Action& a, const PathView* views, uint32_t bytes, bool equalized = false);

  // (queued_bytes + bytes) / rate_Bps in microseconds (rate 0: 0). Backlogs are capped at 2^40
  // bytes so the product cannot overflow.
  static uint64_t drain_us(const PathView& v, uint32_t bytes);
  // owd_us + drain_us().
  static uint64_t expected_delivery_us(const PathView& v, uint32_t bytes) {
    return v.owd_us + drain_us(v, bytes);
  }

  unsigned n_paths() const { return n_; }

 private:
  uint32_t aggregate(const PathView* v, uint32_t bytes, bool equalized) const;
  uint32_t weighted(const PathView* v, uint32_t bytes, bool equalized);

  unsigned n_;
  uint32_t wrr_set_ = 0;                      // the paths the round robin state belongs to
  std::array<int64_t, kMaxPaths> wrr_cur_{};  // nginx's current_weight
};

}  // namespace mpf::sched
