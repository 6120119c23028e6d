#include "sched/scheduler.hpp"

#include <stdexcept>
#include <string>

namespace mpf::sched {

Scheduler::Scheduler(unsigned n_paths) : n_(n_paths) {
  if (n_paths < 1 || n_paths > kMaxPaths)
    throw std::invalid_argument("scheduler: 1.." + std::to_string(kMaxPaths) + " paths, not " +
                                std::to_string(n_paths));
}

uint64_t Scheduler::drain_us(const PathView& v, uint32_t bytes) {
  if (v.rate_Bps == 0) return 0;
  constexpr uint64_t kMaxBacklog = uint64_t(1) << 40;  // * 1e6 stays below 2^64
  uint64_t backlog = v.queued_bytes + bytes;
  if (backlog > kMaxBacklog || backlog < v.queued_bytes) backlog = kMaxBacklog;
  return backlog * 1000000 / v.rate_Bps;
}

uint32_t Scheduler::aggregate(const PathView* v, uint32_t bytes, bool equalized) const {
  unsigned best = n_;
  uint64_t best_cost = 0;
  for (unsigned i = 0; i < n_; ++i) {
    if (!v[i].up) continue;
    // Equalized: every path delivers at the slowest one's delay plus its drain time.
    const uint64_t cost = equalized ? drain_us(v[i], bytes) : expected_delivery_us(v[i], bytes);
    if (best == n_ || cost < best_cost) {
      best = i;
      best_cost = cost;
    }
  }
  return best == n_ ? 0 : uint32_t(1) << best;
}

uint32_t Scheduler::weighted(const PathView* v, uint32_t bytes, bool equalized) {
  uint32_t set = 0;
  int64_t total = 0;
  for (unsigned i = 0; i < n_; ++i)
    if (v[i].up && v[i].weight > 0) {
      set |= uint32_t(1) << i;
      total += v[i].weight;
    }
  if (set == 0) return aggregate(v, bytes, equalized);
  if (set != wrr_set_) {  // a path came or went: start the rotation afresh
    wrr_cur_.fill(0);
    wrr_set_ = set;
  }
  unsigned best = n_;
  for (unsigned i = 0; i < n_; ++i) {
    if (!(set >> i & 1)) continue;
    wrr_cur_[i] += v[i].weight;
    if (best == n_ || wrr_cur_[i] > wrr_cur_[best]) best = i;
  }
  wrr_cur_[best] -= total;
  return uint32_t(1) << best;
}

uint32_t Scheduler::pick(const Action& a, const PathView* v, uint32_t bytes, bool equalized) {
  switch (a.mode) {
    case Mode::aggregate:
      return aggregate(v, bytes, equalized);
    case Mode::weighted:
      return weighted(v, bytes, equalized);
    case Mode::active_backup:
      for (unsigned i = 0; i < n_; ++i)
        if (v[i].up) return uint32_t(1) << i;
      return 0;
    case Mode::lowest_rtt: {
      unsigned best = n_;
      for (unsigned i = 0; i < n_; ++i)
        if (v[i].up && (best == n_ || v[i].owd_us < v[best].owd_us)) best = i;
      return best == n_ ? 0 : uint32_t(1) << best;
    }
    case Mode::redundant: {
      uint32_t m = 0;
      for (unsigned i = 0; i < n_; ++i)
        if (v[i].up) m |= uint32_t(1) << i;
      return m;
    }
    case Mode::pinned:
      if (a.path >= 0 && unsigned(a.path) < n_ && v[unsigned(a.path)].up)
        return uint32_t(1) << unsigned(a.path);
      return aggregate(v, bytes, equalized);
  }
  return aggregate(v, bytes, equalized);
}

}  // namespace mpf::sched
